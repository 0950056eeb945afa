"""docs/comparison.md in step with the code: the recipes table and the outputs it glues."""

from __future__ import annotations

import re
from pathlib import Path

from bboxcore.models.registry import MODELS
from bboxcore.tools.compare import DATASETS, RECIPES

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "comparison.md"
NOTEBOOK = ROOT / "scripts" / "notebooks" / "14_one_stage_vs_two_stage.py"


def _recipes_table(text: str) -> dict[tuple[str, str], str]:
    """{(detector, data set): cell} of the page's table headed `| detector | mnist-det | ...`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| detector | mnist-det"))
    head = [c.strip() for c in lines[start].strip("|").split("|")]
    cells = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = [c.strip().strip("`") for c in line.strip("|").split("|")]
        cells.update({(row[0], d): cell for d, cell in zip(head[1:], row[1:])})
    return cells


def _recipe(model: str, dataset: str) -> str:
    """The page's cell: the detector's train_defaults, then any option compare adds."""
    own = MODELS[model].train_defaults(dataset)
    cell = ", ".join(f"{k} {v}" for k, v in own.items()) or "data set defaults"
    extra = RECIPES.get((model, dataset), ())
    return cell + (f"; compare adds {' '.join(extra)}" if extra else "")


def test_the_recipes_table_is_train_defaults_and_compare_recipes():
    table = _recipes_table(PAGE.read_text(encoding="utf-8"))
    assert table == {(m, d): _recipe(m, d) for m in MODELS for d in DATASETS}


def test_every_glued_output_of_the_page_is_glued_by_notebook_14():
    page = PAGE.read_text(encoding="utf-8")
    wanted = set(re.findall(r"^```\{glue\} (\w+)\n:doc: notebooks/14_", page, flags=re.M))
    glued = set(re.findall(r'glue\("(\w+)"', NOTEBOOK.read_text(encoding="utf-8")))
    assert wanted, "the page glues nothing from notebook 14"
    assert wanted <= glued, f"not glued by the notebook: {sorted(wanted - glued)}"
