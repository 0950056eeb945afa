"""The grade report: one result per check, the smallest counterexample, a hint.

Rendered as text for the terminal (:meth:`Report.to_text`), as a dict for
``--json`` (:meth:`Report.to_dict`), as JUnit XML for course autograders and
CI systems (:func:`to_junit`), and as CSV rows for a whole class
(:func:`to_csv`). The text depends only on the submission, the options and the
seed (it has no timings), so the same seed gives the same report; JSON and
JUnit add each check's wall time.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["CheckResult", "Counterexample", "Report", "to_csv", "to_junit"]

#: Status words of the text report.
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass
class CheckResult:
    """The verdict of one check.

    Attributes
    ----------
    name : str
        Short name, e.g. ``'exact_threshold'``.
    description : str
        What passing it means, one line.
    passed : bool
    skipped : bool
        Not run (the file did not load, or the time limits were used up); counts as failed.
    message : str
        Why it failed, one line ('' when it passed).
    case : dict or None
        The input on which it failed, as plain lists (for JSON).
    seconds : float
        Wall time spent in the check (JSON and JUnit only).

    Examples
    --------
    >>> r = CheckResult("exact_threshold", "IoU = iou_thresh is kept", False,
    ...                 message="box 1 was removed")
    >>> r.status, r.skipped
    ('FAIL', False)
    """

    name: str
    description: str
    passed: bool
    skipped: bool = False
    message: str = ""
    case: dict | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``'PASS'``, ``'FAIL'`` or ``'SKIP'`` (a skipped check counts as failed).

        Examples
        --------
        >>> [CheckResult("a", "", p, s).status for p, s in ((True, False), (False, True))]
        ['PASS', 'SKIP']
        """
        return SKIP if self.skipped else PASS if self.passed else FAIL


@dataclass
class Counterexample:
    """The smallest input found on which the submission goes wrong.

    Attributes
    ----------
    lines : list of str
        The input, the student's answer, the expected answer and the deciding
        detail (e.g. the IoU of the pair that decides it), ready to print.
    data : dict
        The same as plain data, for JSON.
    found_by : str
        ``'hypothesis search'``, ``'check <name>'`` or ``'check <name>, reduced'``.

    Examples
    --------
    >>> c = Counterexample(["your answer: [0]", "expected:    [0, 1]"], {"answer": [0]},
    ...                    "check exact_threshold")
    >>> c.found_by
    'check exact_threshold'
    """

    lines: list[str]
    data: dict
    found_by: str


@dataclass
class Report:
    """Everything ``bboxcore grade`` says about one submission.

    Attributes
    ----------
    assignment, path, function : str
    seed : int
    checks : list of CheckResult
    counterexample : Counterexample or None
    hint : str
        One line: the likely bug and its fix ('' when everything passed).
    output : str
        What the submission printed, truncated.
    load_error : str
        Why the file could not be imported ('' if it could).
    student : str
        The student's name when graded as part of a class ('' otherwise).

    Examples
    --------
    >>> r = Report("nms", "alice.py", "nms", 0, [CheckResult("loads", "imports", True),
    ...            CheckResult("single_box", "one box is kept", False, message="returned []")],
    ...            hint="one box is always kept.")
    >>> r.score, r.total, r.passed
    (1, 2, False)
    """

    assignment: str
    path: str
    function: str
    seed: int
    checks: list[CheckResult] = field(default_factory=list)
    counterexample: Counterexample | None = None
    hint: str = ""
    output: str = ""
    load_error: str = ""
    student: str = ""

    @property
    def score(self) -> int:
        """Number of checks passed.

        Examples
        --------
        >>> Report("iou", "a.py", "iou", 0, [CheckResult("loads", "", True)]).score
        1
        """
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        """Number of checks, ``loads`` included.

        Examples
        --------
        >>> Report("iou", "a.py", "iou", 0, [CheckResult("loads", "", False)]).total
        1
        """
        return len(self.checks)

    @property
    def passed(self) -> bool:
        """True when every check passed (the exit status is then 0).

        Examples
        --------
        >>> Report("iou", "a.py", "iou", 0).passed  # no check: not passed
        False
        """
        return self.total > 0 and self.score == self.total

    def to_text(self) -> str:
        """The terminal report.

        Returns
        -------
        str
            The checks with their status, the score, then (when there are) the
            load error, the smallest counterexample, the hint and what the
            submission printed; ends with a newline.

        Examples
        --------
        >>> r = Report("nms", "alice.py", "nms", 0, [CheckResult("loads", "imports", True),
        ...            CheckResult("single_box", "one box is kept", False, message="returned []")],
        ...            hint="one box is always kept.")
        >>> print(r.to_text(), end="")
        bboxcore grade nms alice.py  (function nms, seed 0)
        <BLANKLINE>
          PASS  loads       imports
          FAIL  single_box  one box is kept
                            -> returned []
        <BLANKLINE>
        Score: 1/2 checks passed
        <BLANKLINE>
        Hint: one box is always kept.
        """
        out = [
            f"bboxcore grade {self.assignment} {self.path}"
            f"  (function {self.function}, seed {self.seed})",
            "",
        ]
        width = max(len(c.name) for c in self.checks) if self.checks else 0
        for c in self.checks:
            out.append(f"  {c.status}  {c.name:<{width}}  {c.description}")
            if c.message:
                out.append(f"        {' ' * width}  -> {c.message}")
        out += ["", f"Score: {self.score}/{self.total} checks passed"]
        if self.load_error:
            out += ["", "The file could not be loaded:", f"  {self.load_error}"]
        if self.counterexample is not None:
            out += ["", f"Smallest counterexample ({self.counterexample.found_by}):"]
            out += [f"  {line}" for line in self.counterexample.lines]
        if self.hint:
            out += ["", f"Hint: {self.hint}"]
        if self.output.strip():
            out += ["", "Output of your code (truncated):"]
            out += [f"  | {line}" for line in self.output.rstrip().splitlines()[:40]]
        if self.passed:
            out += ["", "All checks passed."]
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict:
        """Plain data for ``--json``.

        Returns
        -------
        dict
            JSON-serialisable: the report's fields, ``score``, ``total``,
            ``passed``, one dict per check and the counterexample's data with
            its ``found_by``.

        Examples
        --------
        >>> import json
        >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "imports", True)])
        >>> d = json.loads(json.dumps(r.to_dict()))
        >>> d["passed"], d["checks"][0]["status"], d["counterexample"]
        (True, 'PASS', None)
        """
        return {
            "assignment": self.assignment,
            "path": self.path,
            "student": self.student,
            "function": self.function,
            "seed": self.seed,
            "score": self.score,
            "total": self.total,
            "passed": self.passed,
            "load_error": self.load_error,
            "checks": [
                {
                    "name": c.name,
                    "description": c.description,
                    "status": c.status,
                    "passed": c.passed,
                    "message": c.message,
                    "case": c.case,
                    "seconds": round(c.seconds, 4),
                }
                for c in self.checks
            ],
            "counterexample": None
            if self.counterexample is None
            else dict(self.counterexample.data, found_by=self.counterexample.found_by),
            "hint": self.hint,
            "output": self.output,
        }


def to_junit(reports: Sequence[Report]) -> str:
    """JUnit XML with one ``<testsuite>`` per submission and one ``<testcase>`` per check.

    Parameters
    ----------
    reports : sequence of Report

    Returns
    -------
    str
        The XML document; failed checks carry a ``<failure>`` with the message,
        the counterexample and the hint, skipped ones a ``<skipped>``.

    Examples
    --------
    >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "imports", True)])
    >>> root = ET.fromstring(to_junit([r]))
    >>> root.get("tests"), root.get("failures"), root.find("testsuite/testcase").get("name")
    ('1', '0', 'loads')
    """
    root = ET.Element("testsuites")
    n_tests = n_fail = n_skip = 0
    classnames = _classnames([r.path for r in reports])
    for r, classname in zip(reports, classnames):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"bboxcore grade {r.assignment} {r.path}",
            tests=str(r.total),
            failures=str(sum(c.status == FAIL for c in r.checks)),
            skipped=str(sum(c.skipped for c in r.checks)),
            time=f"{sum(c.seconds for c in r.checks):.3f}",
        )
        detail = []
        if r.counterexample is not None:
            detail += ["Smallest counterexample:"] + r.counterexample.lines
        if r.hint:
            detail.append(f"Hint: {r.hint}")
        for c in r.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"grade.{r.assignment}.{classname}",
                name=c.name,
                time=f"{c.seconds:.3f}",
            )
            if c.skipped:
                ET.SubElement(case, "skipped", message=c.message)
            elif not c.passed:
                fail = ET.SubElement(case, "failure", message=c.message, type=c.name)
                fail.text = "\n".join([c.description, c.message, *detail])
        if r.output:
            ET.SubElement(suite, "system-out").text = r.output
        n_tests += r.total
        n_fail += sum(c.status == FAIL for c in r.checks)
        n_skip += sum(c.skipped for c in r.checks)
    root.set("tests", str(n_tests))
    root.set("failures", str(n_fail))
    root.set("skipped", str(n_skip))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _classnames(paths: Sequence[str]) -> list[str]:
    """One JUnit class name per submission, unique: the path's folders become packages.

    ``alice/nms.py`` -> ``alice.nms``, ``bob/nms.py`` -> ``bob.nms``; the folders
    the paths share are left out, other characters become ``_``, and a name
    still taken gets a ``_2``, ``_3``... suffix.

    Examples
    --------
    >>> _classnames(["class/alice/nms.py", "class/bob/nms.py", "class/bob/nms.py"])
    ['alice.nms', 'bob.nms', 'bob.nms_2']
    """
    parts = [
        [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")] for path in paths
    ]
    common = 0
    if len(parts) > 1:
        while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
            common += 1
    else:
        common = max(len(parts[0]) - 1, 0) if parts else 0
    names, seen = [], set()
    for p in parts:
        items = list(p[common:])
        items[-1] = items[-1].removesuffix(".py")
        name = ".".join(re.sub(r"[^A-Za-z0-9_]", "_", x) for x in items) or "submission"
        unique, k = name, 1
        while unique in seen:
            k += 1
            unique = f"{name}_{k}"
        seen.add(unique)
        names.append(unique)
    return names


def to_csv(reports: Sequence[Report]) -> str:
    """One CSV row per submission: path, score, total, passed, one 0/1 column per check, hint.

    Parameters
    ----------
    reports : sequence of Report
        Reports of the same assignment (the check columns come from the first).

    Returns
    -------
    str

    Examples
    --------
    >>> r = Report("nms", "a.py", "nms", 0, [CheckResult("loads", "imports", True)])
    >>> print(to_csv([r]), end="")
    path,assignment,score,total,passed,loads,hint
    a.py,nms,1,1,1,1,
    """
    names = [c.name for c in reports[0].checks] if reports else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "assignment", "score", "total", "passed", *names, "hint"])
    for r in reports:
        by_name = {c.name: int(c.passed) for c in r.checks}
        hint = r.hint or r.load_error
        writer.writerow(
            [r.path, r.assignment, r.score, r.total, int(r.passed)]
            + [by_name.get(n, "") for n in names]
            + [hint]
        )
    return buf.getvalue()
