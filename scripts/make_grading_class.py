"""Generate a class of submissions, as students hand them in, to measure ``bboxcore grade``.

``--assignment`` (default ``nms``; any assignment of :data:`bboxcore.grading.ASSIGNMENTS`)
chooses the class. Its submissions are drawn from that assignment's samples in
``tests/grading/submissions``: its correct styles and its catalogue of mistakes (the files of
``mistakes/`` each name the catalogued mistake they make, ``expect: <key>``), each handed in
one of four ways, in turn:

* ``<student>.py``: a plain file;
* ``<student>.ipynb``: the assignment notebook filled in: a setup cell with
  magics and shell lines, the function in a ``%%writefile`` cell, a test call,
  and the grader cell (all of which the grader drops);
* ``<student>/``: a folder with the function in ``<assignment>.py`` and a README;
* ``<student>.zip``: a zip of such a folder.

``--zip`` also writes the whole class as one zip file. Run::

    .venv/bin/python scripts/make_grading_class.py /tmp/class --students 300 --zip /tmp/class.zip
    nice -n 0 .venv/bin/bboxcore grade nms /tmp/class --jobs 2 --csv /tmp/grades.csv

    .venv/bin/python scripts/make_grading_class.py /tmp/iou-class --assignment iou --students 40
    .venv/bin/bboxcore grade iou /tmp/iou-class --jobs 2 --csv /tmp/iou-grades.csv

The class is the same for the same ``--assignment``, ``--students`` and ``--seed`` (the NMS
class of a seed is the one this script generated before it took ``--assignment``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

SUBMISSIONS = Path(__file__).resolve().parent.parent / "tests" / "grading" / "submissions"
#: Samples left out: they hang on purpose (each costs two time-outs) or target the worker tests.
LEFT_OUT = ("bug_infinite_loop.py", "hostile_misc.py")
#: The ways a student hands in: file, notebook, folder, zip.
KINDS = ("py", "ipynb", "folder", "zip")
#: File-name prefix -> assignment, for the samples of ``tests/grading/submissions``; a sample
#: with none of these prefixes is an NMS sample (the first assignment had no prefix).
SAMPLE_PREFIX = {
    "anchor_labels": "anchor_labels",
    "bbox2loc": "bbox2loc",
    "iou": "iou",
    "iou_loss_grad": "iou_loss_grad",
    "loc2bbox": "loc2bbox",
    "roi_align": "roi_align",
    "smooth_l1": "smooth_l1",
    "soft": "soft_nms",
}
#: The same for ``mistakes/`` (as in tests/grading/test_grading_mistakes.py).
MISTAKE_PREFIX = {
    "anchors": "anchor_labels",
    "b2l": "bbox2loc",
    "iou": "iou",
    "iouloss": "iou_loss_grad",
    "l2b": "loc2bbox",
    "nms": "nms",
    "roi": "roi_align",
    "soft": "soft_nms",
}


#: How the notebook and the README name an assignment (its own name when not listed).
TITLES = {"nms": "NMS"}
#: The notebook's test call (dropped by the grader); ``help(<function>)`` when not listed.
TEST_CALLS = {
    "nms": "import numpy as np\nboxes = np.array([[0, 0, 2, 2], [0, 0, 2, 1.9]], float)\n"
    "print(nms(boxes, np.array([0.9, 0.8]), 0.5))",
}


def assignments() -> dict:
    """:data:`bboxcore.grading.ASSIGNMENTS` (imported when needed: ``--help`` stays fast)."""
    from bboxcore.grading import ASSIGNMENTS

    return ASSIGNMENTS


def owner(path: Path, prefixes: dict[str, str], default: str | None) -> str | None:
    """The assignment a sample belongs to, by the longest prefix of its file name."""
    matches = [p for p in prefixes if path.name.startswith(p + "_")]
    return prefixes[max(matches, key=len)] if matches else default


def samples(assignment: str = "nms") -> list[Path]:
    """The sample submissions of ``assignment`` (correct and buggy), sorted.

    Raises ValueError for an unknown assignment.
    """
    if assignment not in assignments():
        raise ValueError(
            f"assignment must be one of {', '.join(assignments())}; got {assignment!r}"
        )
    define = re.compile(rf"^def {assignments()[assignment].function}\(", re.M)
    found = [
        p for p in sorted(SUBMISSIONS.glob("*.py")) if owner(p, SAMPLE_PREFIX, "nms") == assignment
    ]
    found += [
        p
        for p in sorted((SUBMISSIONS / "mistakes").glob("*.py"))
        if owner(p, MISTAKE_PREFIX, None) == assignment
    ]
    return [p for p in found if p.name not in LEFT_OUT and define.search(p.read_text())]


def expected_mistake(path: Path) -> str:
    """The catalogued mistake a sample makes (``expect: <key>`` in its text), or ''."""
    match = re.search(r"expect: (\w+)", path.read_text())
    return match.group(1) if match else ""


def notebook(source: str, assignment: str = "nms") -> str:
    """The assignment notebook filled in with ``source`` (nbformat 4 JSON)."""
    import nbformat

    function = assignments()[assignment].function
    title = TITLES.get(assignment, assignment)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Assignment: {title}\n\nMy answer."),
        nbformat.v4.new_code_cell(
            "%matplotlib inline\n!pip install -q numpy\nimport tempfile\nfrom pathlib import Path\n"
            f'SUBMISSION = Path(tempfile.gettempdir()) / "my_{assignment}.py"\nprint(SUBMISSION)'
        ),
        nbformat.v4.new_code_cell("%%writefile {SUBMISSION}\n" + source),
        nbformat.v4.new_code_cell(TEST_CALLS.get(assignment, f"help({function})")),
        nbformat.v4.new_code_cell(
            "from bboxcore.grading import grade\n\n"
            f'report = grade("{assignment}", str(SUBMISSION), examples=50, seed=0)\n'
            "print(report.to_text())"
        ),
    ]
    return nbformat.writes(nb)


def make_class(folder: Path, students: int, seed: int, assignment: str = "nms") -> dict[str, int]:
    """Write ``students`` submissions of ``assignment`` into ``folder`` (replaced).

    Returns how many of each kind (``py``, ``ipynb``, ``folder``, ``zip``).
    """
    rng = random.Random(seed)
    pool = samples(assignment)
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
            (folder / f"{name}.ipynb").write_text(notebook(source, assignment))
        else:
            title = TITLES.get(assignment, assignment)
            inner = {f"{assignment}.py": source, "README.md": f"{name}'s {title}\n"}
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
    p.add_argument(
        "--assignment",
        default="nms",
        help="the assignment whose samples the class hands in (default: nms): "
        "nms, iou, bbox2loc, loc2bbox, soft_nms, smooth_l1, anchor_labels, roi_align, "
        "iou_loss_grad",
    )
    p.add_argument("--students", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--zip", type=Path, help="also write the class as one zip file")
    args = p.parse_args(argv)
    if args.assignment not in assignments():
        p.error(f"--assignment must be one of {', '.join(assignments())}; got {args.assignment!r}")
    if args.students < 1:
        p.error(f"--students must be >= 1; got {args.students}")
    counts = make_class(args.folder, args.students, args.seed, args.assignment)
    if args.zip:
        with zipfile.ZipFile(args.zip, "w", zipfile.ZIP_DEFLATED) as z:
            for root, _, files in os.walk(args.folder):
                for f in sorted(files):
                    full = Path(root) / f
                    z.write(full, Path(args.folder.name) / full.relative_to(args.folder))
    pool = samples(args.assignment)
    summary = {
        "class": str(args.folder),
        "assignment": args.assignment,
        "samples": len(pool),
        "catalogued_mistakes": sum(expected_mistake(p) not in ("", "none") for p in pool),
    }
    print(json.dumps({**summary, "students": args.students, **counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
