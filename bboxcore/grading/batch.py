"""Grading a whole class: one report per submission, in parallel, with a progress bar.

:func:`grade_submission` grades one :class:`~bboxcore.grading.submissions.Submission`
and names the student's file (not the generated or extracted one) in the
report; :func:`grade_class` grades a list of them with ``jobs`` grader
processes. Each submission still gets its own worker process with its own
limits (:mod:`bboxcore.grading.worker`), and the reports come back in the
order of the submissions, so ``jobs`` changes the wall time, never a report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from bboxcore.grading.report import CheckResult, Report
from bboxcore.grading.submissions import Submission

__all__ = ["default_jobs", "grade_class", "grade_submission"]


def default_jobs() -> int:
    """The number of cores this process may use (the default of ``--jobs``).

    Examples
    --------
    >>> default_jobs() >= 1
    True
    """
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS
        return max(os.cpu_count() or 1, 1)


def grade_submission(sub: Submission, assignment: str, options: dict) -> Report:
    """Grade one submission; the report names the file the student handed in.

    Parameters
    ----------
    sub : Submission
        The submission, as :func:`bboxcore.grading.submissions.collect` found it.
    assignment : str
        A key of :data:`bboxcore.grading.ASSIGNMENTS` (``"nms"``, ``"iou"``...).
    options : dict
        Keyword arguments of :func:`bboxcore.grading.grade` (``function``,
        ``timeout``, ``total_timeout``, ``memory_mb``, ``seed``, ``examples``).

    Returns
    -------
    Report
        With ``path`` = ``sub.path`` and ``student`` = ``sub.student``. A
        submission that cannot be graded at all (``sub.error``: a corrupt
        notebook or zip) gets a report whose ``loads`` check failed with that
        error and every other check skipped.

    Raises
    ------
    KeyError
        If ``assignment`` is not an assignment's name.

    Examples
    --------
    A submission that cannot be read is reported without starting a worker:

    >>> sub = Submission("class/bob.zip", "", "bob", error="bob.zip is not a zip file")
    >>> r = grade_submission(sub, "nms", {})
    >>> r.student, r.passed, r.checks[0].name, r.checks[0].passed
    ('bob', False, 'loads', False)
    """
    from bboxcore.grading import ASSIGNMENTS, grade

    a = ASSIGNMENTS[assignment]
    function = options.get("function") or a.function
    if sub.error:
        signature = a.signature.replace(a.function, function, 1)
        checks = [
            CheckResult(
                "loads",
                f"the file imports without error and defines {signature}",
                False,
                message=sub.error,
            )
        ]
        checks += [
            CheckResult(c.name, c.description, False, True, "not run: the file did not load")
            for c in a.checks()
        ]
        report = Report(assignment, sub.path, function, options.get("seed", 0), checks)
        report.load_error = sub.error
        report.hint = f"fix this first: {sub.error}"
    else:
        try:
            report = grade(assignment, sub.source, **options)
        except OSError as err:  # e.g. the file vanished or cannot be read: name it
            raise ValueError(f"grading {sub.path} failed: {err}") from err
        _rename(report, sub)
    report.student = sub.student
    return report


def _rename(report: Report, sub: Submission) -> None:
    """Say ``sub.path`` wherever the report says the generated/extracted ``sub.source``."""
    report.path = sub.path
    if sub.source == sub.path:
        return
    real = os.path.abspath(sub.source)
    cells = _cells(sub.source) if sub.path.endswith(".ipynb") else []
    names = "|".join(re.escape(n) for n in (real, sub.source, os.path.basename(sub.source)))
    located = re.compile(rf'({names})("?), line (\d+)')

    def where(m: re.Match) -> str:
        line = int(m.group(3))
        cell = next((k for first, k in reversed(cells) if first <= line), None)
        inside = f"cell {cell}" if cell is not None else f"line {line}"
        return f"{sub.path}{m.group(2)}, {inside}"

    def fix(text: str) -> str:
        if not text:
            return text
        text = located.sub(where, text)
        for name in (real, sub.source, os.path.basename(sub.source)):
            text = text.replace(name, sub.path)
        return text

    report.load_error = fix(report.load_error)
    report.hint = fix(report.hint)
    report.output = fix(report.output)
    for c in report.checks:
        c.message = fix(c.message)


def _cells(source: str) -> list[tuple[int, int]]:
    """``(first line, cell number)`` of each ``# cell N`` marker of a converted notebook."""
    try:
        with open(source, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [
        (k, int(m.group(1)))
        for k, line in enumerate(lines, 1)
        if (m := re.fullmatch(r"# cell (\d+)", line))
    ]


def _grade_one(args: tuple) -> Report:
    sub, assignment, options = args
    return grade_submission(sub, assignment, options)


def grade_class(
    subs: list[Submission],
    assignment: str,
    options: dict,
    *,
    jobs: int = 1,
    progress: Callable | None = None,
) -> list[Report]:
    """Grade every submission, ``jobs`` at a time; the reports in the order of ``subs``.

    Parameters
    ----------
    subs : list of Submission
        The submissions, as :func:`bboxcore.grading.submissions.collect` found them.
    assignment : str
        A key of :data:`bboxcore.grading.ASSIGNMENTS`.
    options : dict
        Keyword arguments of :func:`bboxcore.grading.grade`.
    jobs : int
        Grader processes (each starts one worker per submission it grades).
        1 grades in this process, one submission after another.
    progress : callable, optional
        Called once per finished submission, with its report (e.g. a tqdm
        bar's ``update``).

    Returns
    -------
    list of Report
        The same for every ``jobs``: each grade depends only on its
        submission, the assignment and the options.

    Raises
    ------
    KeyError
        If ``assignment`` is not an assignment's name.

    Examples
    --------
    >>> subs = [Submission(f"class/{s}.zip", "", s, error="corrupt zip") for s in ("ann", "bob")]
    >>> done = []
    >>> [r.student for r in grade_class(subs, "iou", {}, progress=done.append)], len(done)
    (['ann', 'bob'], 2)
    """
    if jobs <= 1 or len(subs) <= 1:
        reports = []
        for sub in subs:
            reports.append(grade_submission(sub, assignment, options))
            if progress:
                progress(reports[-1])
        return reports
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: the grader processes start clean (no copy of this process's threads or state)
    ctx = multiprocessing.get_context("spawn")
    results: list[Report | None] = [None] * len(subs)
    with ProcessPoolExecutor(max_workers=min(jobs, len(subs)), mp_context=ctx) as pool:
        futures = {
            pool.submit(_grade_one, (sub, assignment, options)): k for k, sub in enumerate(subs)
        }
        for future in as_completed(futures):
            k = futures[future]
            results[k] = future.result()
            if progress:
                progress(results[k])
    return results  # type: ignore[return-value]
