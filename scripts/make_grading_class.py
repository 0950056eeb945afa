"""Generate a class of NMS submissions, as students hand them in, to measure ``bboxcore grade``.

The submissions are the sample ones of ``tests/grading/submissions`` (correct
styles and catalogued mistakes), each handed in one of four ways, in turn:

* ``<student>.py``: a plain file;
* ``<student>.ipynb``: the assignment notebook filled in: a setup cell with
  magics and shell lines, the function in a ``%%writefile`` cell, a test call,
  and the grader cell (all of which the grader drops);
* ``<student>/``: a folder with the function in ``nms.py`` and a README;
* ``<student>.zip``: a zip of such a folder.

``--zip`` also writes the whole class as one zip file. Run::

    .venv/bin/python scripts/make_grading_class.py /tmp/class --students 300 --zip /tmp/class.zip
    nice -n 0 .venv/bin/bboxcore grade nms /tmp/class --jobs 2 --csv /tmp/grades.csv

The class is the same for the same ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import zipfile
from pathlib import Path

SUBMISSIONS = Path(__file__).resolve().parent.parent / "tests" / "grading" / "submissions"
#: Samples left out: they hang on purpose (each costs two time-outs) or target the worker tests.
LEFT_OUT = ("bug_infinite_loop.py", "hostile_misc.py")
#: The ways a student hands in: file, notebook, folder, zip.
KINDS = ("py", "ipynb", "folder", "zip")


def samples() -> list[Path]:
    """The NMS sample submissions (correct and buggy), sorted."""
    found = sorted(SUBMISSIONS.glob("*.py")) + sorted((SUBMISSIONS / "mistakes").glob("nms_*.py"))
    return [p for p in found if p.name not in LEFT_OUT and "def nms(" in p.read_text()]


def notebook(source: str) -> str:
    """The assignment notebook filled in with ``source`` (nbformat 4 JSON)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Assignment: NMS\n\nMy answer."),
        nbformat.v4.new_code_cell(
            "%matplotlib inline\n!pip install -q numpy\nimport tempfile\nfrom pathlib import Path\n"
            'SUBMISSION = Path(tempfile.gettempdir()) / "my_nms.py"\nprint(SUBMISSION)'
        ),
        nbformat.v4.new_code_cell("%%writefile {SUBMISSION}\n" + source),
        nbformat.v4.new_code_cell(
            "import numpy as np\nboxes = np.array([[0, 0, 2, 2], [0, 0, 2, 1.9]], float)\n"
            "print(nms(boxes, np.array([0.9, 0.8]), 0.5))"
        ),
        nbformat.v4.new_code_cell(
            "from bboxcore.grading import grade\n\n"
            'report = grade("nms", str(SUBMISSION), examples=50, seed=0)\n'
            "print(report.to_text())"
        ),
    ]
    return nbformat.writes(nb)


def make_class(folder: Path, students: int, seed: int) -> dict[str, int]:
    """Write ``students`` submissions into ``folder``; returns how many of each kind."""
    rng = random.Random(seed)
    pool = samples()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    counts = dict.fromkeys(KINDS, 0)
    for k in range(students):
        name = f"student{k:03d}"
        source = rng.choice(pool).read_text()
        kind = KINDS[k % len(KINDS)]
        counts[kind] += 1
        if kind == "py":
            (folder / f"{name}.py").write_text(source)
        elif kind == "ipynb":
            (folder / f"{name}.ipynb").write_text(notebook(source))
        else:
            inner = {"nms.py": source, "README.md": f"{name}'s NMS\n"}
            if kind == "folder":
                (folder / name).mkdir()
                for fname, text in inner.items():
                    (folder / name / fname).write_text(text)
            else:
                with zipfile.ZipFile(folder / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                    for fname, text in inner.items():
                        z.writestr(f"{name}/{fname}", text)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path, help="the class folder to write (replaced)")
    p.add_argument("--students", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--zip", type=Path, help="also write the class as one zip file")
    args = p.parse_args(argv)
    counts = make_class(args.folder, args.students, args.seed)
    if args.zip:
        with zipfile.ZipFile(args.zip, "w", zipfile.ZIP_DEFLATED) as z:
            for root, _, files in os.walk(args.folder):
                for f in sorted(files):
                    full = Path(root) / f
                    z.write(full, Path(args.folder.name) / full.relative_to(args.folder))
    print(json.dumps({"class": str(args.folder), "students": args.students, **counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
