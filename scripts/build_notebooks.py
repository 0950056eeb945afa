"""Write the course notebooks ``notebooks/NN_topic.ipynb`` from their readable sources, executed.

Each notebook has a source in ``scripts/notebooks/NN_topic.py`` in jupytext's
"percent" format (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell),
which reviews and diffs like ordinary Python. The committed artefact is the .ipynb,
written here **with its outputs**: every notebook is executed top to bottom (nbclient,
from ``notebooks/``, one thread per BLAS) so that the documentation site shows the
figures and printed values without executing anything at build time.

Alt text: a code cell whose header carries ``alt="..."``, as in
``# %% alt="IoU of two boxes as a heat map"``, gets it as MyST-NB's cell option
``mystnb: {image: {alt: ...}}`` (the ``alt`` attribute of its images on the site) and in
the metadata of its image outputs (``output.metadata["image/png"]["alt"]``, read by
nbconvert and JupyterLab). One text per cell: draw one figure per cell.

Usage::

    .venv/bin/python scripts/build_notebooks.py            # all notebooks, executed
    .venv/bin/python scripts/build_notebooks.py 01 02      # those whose name starts so
    .venv/bin/python scripts/build_notebooks.py --check    # fail if an .ipynb is stale

``--check`` (run by ``make test``) fails when a committed notebook's cells differ from its
source, when a code cell has not been executed or raised, or when an image has no alt text.
(``make test`` also executes every notebook with nbmake, so a notebook that no longer
runs against the current library fails there.)
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat

from bboxcore.atomic import atomic_write

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "notebooks"
TARGET = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook of one source: no outputs, no execution counts, stable metadata."""
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        alt = cell.metadata.get("alt")
        cell.metadata = {"mystnb": {"image": {"alt": alt}}} if alt else {}
        cell.id = f"c{i:02d}"  # stable ids keep the diffs small
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def _alt_text(cell) -> str | None:
    return cell.metadata.get("mystnb", {}).get("image", {}).get("alt")


def _image_outputs(cell) -> list:
    return [o for o in cell.get("outputs", []) if set(o.get("data", {})) & set(IMAGE_TYPES)]


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run the notebook in ``notebooks/`` and attach each code cell's alt text to its images."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(TARGET)}},
    )
    client.execute()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}  # stable
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = _alt_text(cell)
        for output in _image_outputs(cell) if text else []:
            for mime in set(output.data) & set(IMAGE_TYPES):
                output.metadata.setdefault(mime, {})["alt"] = text
    return nb


def _without_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def problems(committed: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """Why a committed notebook is not in step with its source (empty if it is)."""
    found = []
    if nbformat.writes(_without_outputs(committed)) != nbformat.writes(fresh):
        found.append("cells differ from the source")
    for i, cell in enumerate(committed.cells):
        if cell.cell_type != "code":
            continue
        if cell.execution_count is None:
            found.append(f"cell {i} not executed")
        if any(o.get("output_type") == "error" for o in cell.outputs):
            found.append(f"cell {i} raised")
        if _image_outputs(cell) and not _alt_text(cell):
            found.append(f'cell {i}: image without alt text (header `# %% alt="..."`)')
    return found


def write_atomic(path: Path, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


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
        fresh = build(source)
        if args.check:
            if not target.exists():
                stale.append(f"{target.name}: missing")
                continue
            committed = nbformat.read(target, as_version=4)
            stale += [f"{target.name}: {p}" for p in problems(committed, fresh)]
            continue
        start = time.perf_counter()
        executed = execute(fresh)
        write_atomic(target, nbformat.writes(executed) + "\n")
        took = time.perf_counter() - start
        print(f"wrote {target.relative_to(ROOT)} (executed in {took:.0f} s)", flush=True)
    if stale:
        print(
            "notebooks out of step with scripts/notebooks/ (run scripts/build_notebooks.py "
            "[NN]):\n  " + "\n  ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
