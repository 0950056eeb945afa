"""The ``bboxcore grade`` sub-command: options, and grading one file or a whole class.

``bboxcore.cli`` registers :func:`declare` and :func:`run`. Importing this
module imports nothing heavy (the contracts only), so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from bboxcore.atomic import atomic_write
from bboxcore.grading.contracts import CONTRACTS, SIGNATURES

__all__ = ["check_outputs", "declare", "find_submissions", "run"]

_DESCRIPTION = """\
Grade a student's assignment: the file's function runs in a separate Python
process with time and memory limits, is compared with bboxcore's reference on
edge cases, seeded random cases and a hypothesis search, and the report shows
the smallest input on which it goes wrong, the expected answer and a hint.
Exit status: 0 if every check passed, 1 if one failed, 2 on a usage error.
"""

_EXAMPLES = """\
examples:
  bboxcore grade nms my_nms.py
  bboxcore grade nms my_nms.py --function non_max_suppression --seed 1
  bboxcore grade nms submissions/*.py --csv grades.csv --junit grades.xml
  bboxcore grade nms submissions/ --csv grades.csv   (every .py file below the folder)
"""

_TOLERANCE = """\
tolerances (iou, bbox2loc, loc2bbox, soft_nms scores, smooth_l1, roi_align,
iou_loss_grad): an answer is accepted when each entry is within 4 times the
first-order float32 error bound of the formula: the magnitudes of its
intermediates (coordinates, widths, areas, centres, exp(t)) times the float32
unit roundoff 2^-24, propagated through each operation. So float32 code
written in any usual way passes, tiny boxes far from the origin get the wider
bound float32 needs, and exact grid inputs a bound of a few float32 ulps.
"""


def _epilog() -> str:
    parts = ["assignments (the function each file must define):"]
    for name, contract in CONTRACTS.items():
        parts.append(f"  {SIGNATURES[name]}")
        parts += textwrap.wrap(contract, 76, initial_indent="      ", subsequent_indent="      ")
    parts.append(
        "  A file that imports bboxcore, torchvision, mmcv, mmdet or detectron2 fails\n"
        "  the 'loads' check (they hold finished implementations)."
    )
    return "\n".join(parts) + "\n\n" + _TOLERANCE + "\n" + _EXAMPLES


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text}")
    return value


def declare(p: argparse.ArgumentParser) -> None:
    """Declare the options of ``bboxcore grade`` on the sub-command's parser.

    Called by :mod:`bboxcore.cli` for the ``grade`` sub-command; the parsed
    namespace goes to :func:`run`. Sets the description, the epilog (every
    assignment's contract and usage examples) and the options: ``assignment``,
    one or more ``PATH``, ``--function``, ``--json``, ``--junit``, ``--csv``,
    ``--timeout`` (s, default 10), ``--total-timeout`` (s, default 300),
    ``--memory`` (MiB, default 2048), ``--seed`` (default 0), ``--examples``
    (default 100), ``--no-progress``, ``--jobs`` (default: the cores),
    ``--weights``, ``--gradescope``, ``--visibility`` and ``--report``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser to fill in (modified in place).

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser(prog="bboxcore grade")
    >>> declare(p)
    >>> args = p.parse_args(["nms", "mine.py", "--seed", "1"])
    >>> args.assignment, args.paths, args.seed, args.timeout, args.memory
    ('nms', ['mine.py'], 1, 10.0, 2048)
    """
    p.description = _DESCRIPTION
    p.epilog = _epilog()
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("assignment", choices=list(CONTRACTS), help="which assignment")
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="the submission(s): .py or .ipynb files, folders (one submission per file or "
        "per student sub-folder) or .zip files of those",
    )
    p.add_argument(
        "--function", metavar="NAME", help="the function's name (default: the assignment's)"
    )
    p.add_argument(
        "--json", metavar="FILE", help="also write the report(s) as JSON ('-' for stdout)"
    )
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML (for autograders and CI)")
    p.add_argument("--csv", metavar="FILE", help="also write one CSV row per submission")
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="time limit per call (default: 10)",
    )
    p.add_argument(
        "--total-timeout",
        type=_positive_float,
        default=300.0,
        metavar="SECONDS",
        help="time limit per submission (default: 300)",
    )
    p.add_argument(
        "--memory",
        type=_positive_int,
        default=2048,
        metavar="MB",
        help="memory limit (default: 2048)",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="seed of the random cases (default: 0)",
    )
    p.add_argument(
        "--examples",
        type=_positive_int,
        default=100,
        metavar="N",
        help="hypothesis search examples (default: 100)",
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar when grading several files"
    )
    p.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="submissions graded at once, each in its own worker process "
        "(default: the number of cores)",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="points per check, a JSON or TOML table of check name -> points "
        "('*': every other check; default 1 point each)",
    )
    p.add_argument(
        "--gradescope",
        metavar="FILE",
        help="write Gradescope's results.json for the one submission "
        "(a folder PATH is then one student's folder)",
    )
    p.add_argument(
        "--visibility",
        choices=["visible", "hidden", "after_due_date", "after_published"],
        default="visible",
        help="Gradescope visibility of the tests (default: visible)",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        help="write the teacher's report into DIR: index.html (histogram, checks failed and "
        "hints given most often, a link per student) and gradebook.csv",
    )


def _write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file (never half-written); '-': stdout."""
    if path == "-":
        sys.stdout.write(text)
        return
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before grading when a ``--json``/``--junit``/``--csv`` file cannot be written.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``bboxcore grade`` options; the attributes ``json``,
        ``junit``, ``csv``, ``gradescope`` (a file path, ``"-"`` or empty) and
        ``report`` (a folder) are checked when present.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        Naming the option and the path: its folder is missing or not writable,
        or the path is a folder or a read-only file.

    Examples
    --------
    >>> import argparse, os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_outputs(argparse.Namespace(json=os.path.join(d, "r.json"), csv="-"))
    ...     check_outputs(argparse.Namespace(junit=d))
    Traceback (most recent call last):
    ...
    ValueError: --junit: cannot write ...: it is a folder
    """
    for option in ("json", "junit", "csv", "gradescope"):
        path = getattr(args, option, None)
        if not path or path == "-":
            continue
        folder = os.path.dirname(os.path.abspath(path))
        problem = ""
        if os.path.isdir(path):
            problem = "it is a folder"
        elif not os.path.isdir(folder):
            problem = f"no such folder {folder}"
        elif not os.access(folder, os.W_OK | os.X_OK):
            problem = f"the folder {folder} is not writable"
        elif os.path.exists(path) and not os.access(path, os.W_OK):
            problem = "the file is not writable"
        if problem:
            raise ValueError(f"--{option}: cannot write {path}: {problem}")
    report = getattr(args, "report", None)
    if report:
        parent = os.path.dirname(os.path.abspath(report))
        if os.path.exists(report) and not os.path.isdir(report):
            raise ValueError(f"--report: {report} is a file, not a folder")
        if not os.path.isdir(parent):
            raise ValueError(f"--report: cannot write {report}: no such folder {parent}")
        if not os.access(report if os.path.isdir(report) else parent, os.W_OK | os.X_OK):
            raise ValueError(f"--report: cannot write {report}: the folder is not writable")


def find_submissions(paths: list[str]) -> list[str]:
    """The submission files: each ``.py`` PATH, and every ``.py`` file below each folder.

    Files below a folder come sorted by their path (hidden folders and
    ``__pycache__`` skipped), one submission per file: ``class/alice/nms.py``
    and ``class/bob/nms.py`` are two submissions.

    Parameters
    ----------
    paths : list of str
        Files and folders, as given on the command line.

    Returns
    -------
    list of str
        The ``.py`` files: each file of ``paths`` in its place, a folder's files
        sorted.

    Raises
    ------
    FileNotFoundError
        If a PATH does not exist, or a folder holds no ``.py`` file (naming it).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = pathlib.Path(tmp.name)
    >>> for name in ("bob/nms.py", "alice/nms.py", "alice/notes.txt"):
    ...     (d / name).parent.mkdir(exist_ok=True)
    ...     _ = (d / name).write_text("")
    >>> [pathlib.Path(p).relative_to(d).as_posix() for p in find_submissions([str(d)])]
    ['alice/nms.py', 'bob/nms.py']
    >>> tmp.cleanup()
    """
    found: list[str] = []
    missing: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            inside = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                inside += [os.path.join(root, f) for f in files if f.endswith(".py")]
            if not inside:
                raise FileNotFoundError(f"no .py file in the folder {path}")
            found += sorted(inside)
        elif os.path.isfile(path):
            found.append(path)
        else:
            missing.append(path)
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    return found


def run(args: argparse.Namespace) -> int:
    r"""Grade every PATH; print the report (one file) or one line per file (several).

    PATHs are read as students hand them in (.py, .ipynb, folders, .zip:
    :func:`bboxcore.grading.submissions.collect`). Each submission is graded by
    :func:`bboxcore.grading.grade` with the options of ``args``, ``--jobs`` at
    a time (:func:`bboxcore.grading.batch.grade_class`). One file: its full
    text report is printed. Several files: one ``PASS``/``FAIL`` line each
    (score and hint) and a summary, with a progress bar on a terminal.
    ``--json``, ``--junit``, ``--csv`` and ``--gradescope`` also write the
    reports to files (``'-'``: to stdout; ``--json -`` replaces the text
    report); ``--report DIR`` writes the teacher's report. The hypothesis
    cache goes to the temporary folder unless ``HYPOTHESIS_STORAGE_DIRECTORY`` is set,
    so the student's folder stays clean.

    Parameters
    ----------
    args : argparse.Namespace
        The options, parsed by a parser set up with :func:`declare`.

    Returns
    -------
    status : int
        The exit status: 0 when every check of every file passed, else 1.

    Raises
    ------
    FileNotFoundError
        If a PATH does not exist or a folder holds no submission (before
        anything is graded).
    ValueError
        If an output file or folder cannot be written or the ``--weights`` file
        is wrong (before anything is graded), a zip PATH is unsafe, a limit is
        not positive, or ``--gradescope`` is given several submissions.

    Examples
    --------
    An ``nms`` that keeps nothing fails (``--json`` also writes the report):

    >>> import argparse, contextlib, io, json, pathlib, tempfile
    >>> from unittest import mock
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "mine.py").write_text("def nms(boxes, scores, iou_thresh):\n    return []\n")
    >>> p = argparse.ArgumentParser(prog="bboxcore grade")
    >>> declare(p)
    >>> argv = ["nms", str(d / "mine.py"), "--examples", "5", "--json", str(d / "r.json")]
    >>> args = p.parse_args(argv)
    >>> with contextlib.redirect_stdout(io.StringIO()) as out, mock.patch.dict("os.environ"):
    ...     status = run(args)
    >>> report = json.loads((d / "r.json").read_text())
    >>> status, report["passed"], report["score"], report["total"]
    (1, False, 5, 16)
    >>> "Smallest counterexample (check single_box)" in out.getvalue()  # the text report
    True
    """
    import os
    import tempfile

    # hypothesis caches what it learns under ./.hypothesis by default: keep the
    # student's folder clean (a library caller keeps its own setting)
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY",
        os.path.join(tempfile.gettempdir(), "bboxcore-grade-hypothesis"),
    )
    from bboxcore.grading import ASSIGNMENTS, to_csv, to_junit
    from bboxcore.grading.batch import default_jobs, grade_class
    from bboxcore.grading.platforms import load_weights, points, to_gradescope
    from bboxcore.grading.submissions import collect

    assignment = ASSIGNMENTS[args.assignment]
    function = args.function or assignment.function
    gradescope = getattr(args, "gradescope", None)
    weights = None
    if getattr(args, "weights", None):
        weights = load_weights(args.weights, [c.name for c in _all_checks(assignment)])
    check_outputs(args)
    jobs = getattr(args, "jobs", None) or default_jobs()
    options = {
        "function": args.function,
        "timeout": args.timeout,
        "total_timeout": args.total_timeout,
        "memory_mb": args.memory,
        "seed": args.seed,
        "examples": args.examples,
    }
    with tempfile.TemporaryDirectory(prefix="bboxcore-grade-") as work:
        subs = collect(
            args.paths,
            work,
            function=function,
            assignment=args.assignment,
            single=bool(gradescope),
        )
        if gradescope and len(subs) != 1:
            names = ", ".join(s.path for s in subs[:5])
            raise ValueError(
                f"--gradescope grades one submission; the PATHs hold {len(subs)} ({names})"
            )
        many = len(subs) > 1 or any(os.path.isdir(p) for p in args.paths) and not gradescope
        bar = None
        if many and not args.no_progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=len(subs), desc=f"grading {args.assignment}", unit="submission")
        try:
            reports = grade_class(
                subs,
                args.assignment,
                options,
                jobs=jobs,
                progress=(lambda _: bar.update()) if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
    if args.json != "-":
        if many:
            width = max(len(r.path) for r in reports)
            for r in reports:
                verdict = "PASS" if r.passed else "FAIL"
                why = r.hint or r.load_error
                got, most = points(r, weights)
                score = f"{r.score:>2}/{r.total}" if weights is None else f"{got:g}/{most:g}"
                print(f"{verdict}  {r.path:<{width}}  {score}  {why}")
            print(
                f"\n{sum(r.passed for r in reports)}/{len(reports)} submissions passed every check"
            )
        else:
            print(reports[0].to_text(), end="")
            if weights is not None:
                got, most = points(reports[0], weights)
                print(f"Points: {got:g}/{most:g}")
    if args.json:
        data = [r.to_dict() for r in reports] if many else reports[0].to_dict()
        _write(args.json, json.dumps(data, indent=2) + "\n")
    if args.junit:
        _write(args.junit, to_junit(reports))
    if args.csv:
        _write(args.csv, to_csv(reports))
    if gradescope:
        result = to_gradescope(reports[0], weights, visibility=args.visibility)
        _write(gradescope, json.dumps(result, indent=2) + "\n")
    if getattr(args, "report", None):
        from bboxcore.grading.teacher import write_report

        index = write_report(reports, args.report, weights)
        print(f"teacher's report: {index}")
    return 0 if all(r.passed for r in reports) else 1


def _all_checks(assignment) -> list:
    """The assignment's checks as a report lists them: ``loads`` first."""
    from bboxcore.grading.runner import Check

    return [Check("loads", "the file imports")] + list(assignment.checks())
