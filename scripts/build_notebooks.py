"""Write the course notebooks ``notebooks/NN_topic.ipynb`` from their readable sources.

Each notebook has a source in ``scripts/notebooks/NN_topic.py`` in jupytext's
"percent" format (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell),
which reviews and diffs like ordinary Python. The committed artefact is the .ipynb,
written here with **no outputs** (``make test`` executes every notebook with nbmake, and
the documentation site renders the committed cells without executing them).

Usage::

    .venv/bin/python scripts/build_notebooks.py            # all notebooks
    .venv/bin/python scripts/build_notebooks.py 01 02      # those whose name starts so
    .venv/bin/python scripts/build_notebooks.py --check    # fail if an .ipynb is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "notebooks"
TARGET = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def build(source: Path) -> str:
    """The .ipynb text of one source: no outputs, no execution counts, stable metadata."""
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(nb.cells):
        cell.metadata = {}
        cell.id = f"c{i:02d}"  # stable ids keep the diffs small
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", nargs="*", help="only the notebooks whose name starts so")
    parser.add_argument("--check", action="store_true", help="fail if an .ipynb is out of date")
    args = parser.parse_args(argv)
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if args.prefix:
        sources = [s for s in sources if s.name.startswith(tuple(args.prefix))]
    stale = []
    for source in sources:
        target = TARGET / f"{source.stem}.ipynb"
        text = build(source)
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run scripts/build_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
