"""The grading engine: run an assignment's checks on a submission and build the report.

An :class:`Assignment` lists its :class:`Check` s (each a few fixed or seeded
random :class:`Case` s, or a hypothesis search), knows how to judge the
student's answer on a case against the reference (computed here, in the
grader's process) and how to explain a failure. :func:`grade` starts one
:class:`~bboxcore.grading.worker.Worker` for the file, runs every check in
order, then picks the smallest failing case — the hypothesis search's shrunk
example, or a failing case reduced by deleting elements — as the counterexample,
and asks the assignment for a hint.

Time limits: each call has ``timeout`` seconds; the whole grade has
``total_timeout``; after :data:`MAX_TIMEOUTS` timed-out calls the remaining
checks are skipped (an infinite loop would otherwise cost ``timeout`` per call).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bboxcore.grading.report import CheckResult, Counterexample, Report
from bboxcore.grading.worker import Outcome, Worker

__all__ = ["MAX_TIMEOUTS", "Assignment", "Case", "Check", "Failure", "failure_hint", "grade_with"]

#: Timed-out calls after which the remaining checks are skipped.
MAX_TIMEOUTS = 2
#: Worker deaths (``os._exit``, signals) after which the remaining checks are skipped.
MAX_DEATHS = 5
#: Student calls the hypothesis search may spend, per requested example (shrinking included).
CALLS_PER_EXAMPLE = 8
#: Student calls spent reducing a failing fixed case by deleting elements.
REDUCE_CALLS = 300
#: CPU seconds a worker may use beyond the total time limit (Python and NumPy start-up).
CPU_MARGIN_SECONDS = 30
#: Cases with more rows than this are shown in JSON by their shape only.
CASE_ROWS = 100


@dataclass(frozen=True)
class Case:
    """One input for the student's function: positional ``args`` and a short ``note``."""

    args: tuple
    note: str = ""


@dataclass
class Failure:
    """Why an answer is wrong.

    Attributes
    ----------
    message : str
        One line for the report.
    kind : str
        ``'wrong'`` (a wrong answer), ``'type'``, ``'raised'``, ``'timeout'``,
        ``'died'``, ``'mutated'``, ``'not_loaded'``.
    details : dict
        Assignment-specific facts for the counterexample (e.g. the deciding pair).
    """

    message: str
    kind: str = "wrong"
    details: dict = field(default_factory=dict)


@dataclass
class Check:
    """One named check.

    Attributes
    ----------
    name, description : str
    cases : callable, optional
        ``cases(rng) -> iterable of Case``; the check passes when every case does.
    judge : callable, optional
        ``judge(case, outcome) -> Failure or None``; default: the assignment's
        :meth:`Assignment.judge`.
    search : bool
        A hypothesis search over :meth:`Assignment.strategy` instead of ``cases``.
    timeout : float, optional
        Per-call time limit of this check (default: the grade's).
    """

    name: str
    description: str
    cases: Callable[[np.random.Generator], Iterable[Case]] | None = None
    judge: Callable[[Case, Outcome], Failure | None] | None = None
    search: bool = False
    timeout: float | None = None


class Assignment:
    """Base class of an assignment: subclasses fill in the contract and the checks."""

    #: Sub-command name and default function name.
    name = ""
    function = ""
    #: The signature as the student writes it.
    signature = ""
    #: Paragraph shown by ``bboxcore grade --help`` and in the docs.
    contract = ""

    def checks(self) -> list[Check]:
        raise NotImplementedError

    def arg_names(self) -> list[str]:
        """The argument names of :attr:`signature`, in order."""
        inside = self.signature.split("(", 1)[1].rsplit(")", 1)[0]
        return [p.split("=")[0].strip() for p in inside.split(",")]

    def judge_value(self, case: Case, value) -> Failure | None:
        """Judge a returned value (the call ran fine); None when it is acceptable."""
        raise NotImplementedError

    def strategy(self):
        """Hypothesis strategy of small :class:`Case` s for the search."""
        raise NotImplementedError

    def size(self, case: Case) -> int:
        """How big a case is (the counterexample is the smallest failing one)."""
        return len(case.args[0])

    def smaller(self, case: Case) -> Iterator[Case]:
        """Cases with one element less, to reduce a failing case."""
        return iter(())

    def describe(self, case: Case, value, failure: Failure) -> tuple[list[str], dict]:
        """Counterexample lines for the text report and the same as plain data."""
        raise NotImplementedError

    def hint(self, failures: list[tuple[Case, Outcome, Failure]]) -> str:
        """One line naming the likely bug, from the failing cases (the counterexample first)."""
        case, out, failure = failures[0]
        return failure_hint(case, out, failure, self.signature)

    # -------------------------------------------------------------- generic judging
    def judge(self, case: Case, out: Outcome) -> Failure | None:
        """Judge any outcome: errors and time-outs first, then :meth:`judge_value`."""
        if out.status == "ok":
            return self.judge_value(case, out.value)
        where = f" on {case.note}" if case.note else ""
        if out.status == "raised":
            return Failure(f"raised {out.error}{where}", "raised", {"traceback": out.traceback})
        if out.status == "timeout":
            return Failure(f"did not return within the time limit{where}", "timeout")
        if out.status == "not_loaded":
            return Failure(f"could not be called: {out.error}", "not_loaded")
        return Failure(f"{out.error}{where}", "died")

    def judge_inputs(self, case: Case, out: Outcome) -> Failure | None:
        """Fail when an input array was modified in place (for the ``inputs_unchanged`` check)."""
        if out.status != "ok":
            return self.judge(case, out)
        changed = [n for n, c in zip(self.arg_names(), out.changed) if c]
        if changed:
            return Failure(f"modified its input {', '.join(changed)} in place", "mutated")
        return None


def failure_hint(case: Case, out: Outcome, failure: Failure, signature: str) -> str:
    """The hint for a failure that is not a wrong answer (import error, crash, time-out...).

    The default of :meth:`Assignment.hint`, and what the assignments fall back
    on when the counterexample is not a wrong answer: wrong answers get their
    hint from the assignment's own bug catalogue.

    Parameters
    ----------
    case : Case
        The failing input (its ``note`` and whether an argument is empty are
        used).
    out : Outcome
        What the call did; ``out.error`` (``"Type: message"``) is read.
    failure : Failure
        The judge's verdict; ``failure.kind`` selects the hint:
        ``'not_loaded'``, ``'timeout'``, ``'died'``, ``'raised'`` or
        ``'mutated'``.
    signature : str
        The function as the student writes it, e.g.
        ``"nms(boxes, scores, iou_thresh)"``; its name goes into the hints.

    Returns
    -------
    hint : str
        One line for the report; ``''`` for the kinds it has nothing to say
        about (``'wrong'``, ``'type'``).

    Examples
    --------
    >>> from bboxcore.grading.worker import Outcome
    >>> case = Case((np.zeros((0, 4)), np.zeros(0), 0.5), "no boxes")
    >>> out = Outcome("raised", error="IndexError: index 0 is out of bounds")
    >>> print(failure_hint(case, out, Failure("raised", "raised"), "nms(boxes, scores, t)"))
    it raised IndexError on empty input: with nothing to process, return an empty
    result (test the length first).
    >>> out = Outcome("not_loaded", error="the file defines no function named 'nms'; ...")
    >>> failure_hint(Case(()), out, Failure("", "not_loaded"), "nms(boxes, scores, t)")
    'name your function `nms` (or pass --function NAME).'
    """
    kind, err = failure.kind, out.error
    function = signature.split("(", 1)[0]
    if kind == "not_loaded":
        if err.startswith("SystemExit"):
            return (
                "the file calls sys.exit() (or exit()/quit()) when it is imported: remove it, "
                'or move your test code under `if __name__ == "__main__":`.'
            )
        if err.startswith("SyntaxError") or err.startswith("IndentationError"):
            return f"fix the syntax error first ({err})."
        if err.startswith("ModuleNotFoundError"):
            return f"the file imports a module that is not installed ({err}); use NumPy only."
        if "defines no function" in err:
            return f"name your function `{function}` (or pass --function NAME)."
        return f"importing the file failed ({err}): run `python yourfile.py` to see why."
    if kind == "timeout":
        return (
            f"it did not return within the time limit on {case.note or 'a small input'}: an "
            "infinite loop? Check that every pass of the loop removes at least the taken item."
        )
    if kind == "died":
        return (
            "the Python process running your function exited: do not call sys.exit(), "
            "os._exit() or quit() in it, and check for runaway recursion or memory use."
        )
    if kind == "raised":
        where = f" on {case.note}" if case.note else ""
        if err.startswith("TypeError") and "argument" in err:
            return f"the grader calls {signature}: check your function's parameters."
        if "MemoryError" in err:
            return f"it ran out of memory{where}: avoid building arrays bigger than needed."
        if any(len(a) == 0 for a in case.args if isinstance(a, np.ndarray)):
            return (
                f"it raised {err.split(':')[0]} on empty input: with nothing to process, "
                "return an empty result (test the length first)."
            )
        return f"it raised {err}{where}; the traceback of the call is in --json."
    if kind == "mutated":
        return (
            f"it {failure.message}: work on copies (np.argsort, .copy()) instead of sorting "
            "or overwriting the caller's arrays."
        )
    return ""


#: Tie-break of equally small counterexamples: higher is shown last.
_RANDOM_FIRST = {"hypothesis search": 1, "check random_cases": 2, "check large_input": 2}


class _Stop(Exception):
    """Raised inside the hypothesis search to abandon it (time-out, time budget)."""


def _search(a: Assignment, worker: Worker, seed: int, examples: int, deadline: float):
    """Hypothesis search for a failing case; returns the shrunk ``(case, outcome, failure)``."""
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import HypothesisException, NoSuchExample

    budget = [examples * CALLS_PER_EXAMPLE]
    last: list = []

    def fails(case: Case) -> bool:
        if budget[0] <= 0 or time.monotonic() > deadline:
            raise _Stop  # out of budget: keep the smallest failure found so far
        budget[0] -= 1
        out = worker.call(*case.args)
        failure = a.judge(case, out)
        if failure is not None:
            last[:] = [(case, out, failure)]
        if out.status == "timeout":
            raise _Stop
        return failure is not None

    config = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    try:
        find(a.strategy(), fails, settings=config, random=random.Random(seed))
    except (NoSuchExample, _Stop, HypothesisException):
        pass
    return last[0] if last else None


def _reduce(a: Assignment, worker: Worker, found, deadline: float):
    """Delete elements of a failing case while it keeps failing the same way."""
    case, out, failure = found
    calls = REDUCE_CALLS
    progress = True
    while progress and calls > 0 and time.monotonic() < deadline:
        progress = False
        for smaller in a.smaller(case):
            calls -= 1
            o = worker.call(*smaller.args)
            f = a.judge(smaller, o)
            if f is not None and f.kind == failure.kind:
                case, out, failure, progress = smaller, o, f, True
                break
            if calls <= 0:
                break
    return case, out, failure


def grade_with(
    a: Assignment,
    path: str,
    *,
    function: str | None = None,
    timeout: float = 10.0,
    total_timeout: float = 300.0,
    memory_mb: int = 2048,
    seed: int = 0,
    examples: int = 200,
) -> Report:
    """Grade the submission ``path`` on assignment ``a``; see :func:`bboxcore.grading.grade`.

    The engine behind :func:`bboxcore.grading.grade`, which validates the
    arguments and then calls this with ``ASSIGNMENTS[name]``. Call it directly
    to grade against an :class:`Assignment` instance of your own.

    Parameters
    ----------
    a : Assignment
        The assignment: its checks, judge, counterexample and hint.
    path : str
        The submission, a ``.py`` file; it is imported only in the worker
        process, never here.
    function : str, optional
        The function's name in the file (default: ``a.function``).
    timeout : float
        Seconds allowed per call of the student's function.
    total_timeout : float
        Seconds allowed for the whole grade; the checks still to run after it
        are reported as skipped.
    memory_mb : int
        Address-space limit of the worker process, in MiB.
    seed : int
        Seed of the random cases and of the hypothesis search.
    examples : int
        Examples of the hypothesis search (its call budget is
        :data:`CALLS_PER_EXAMPLE` times this).

    Returns
    -------
    Report
        One :class:`~bboxcore.grading.report.CheckResult` per check, ``'loads'``
        first; when a check failed, the smallest counterexample and a hint.

    Raises
    ------
    OSError
        If the worker process cannot be started. Nothing that the student's
        code does raises here: errors, time-outs and crashes become failed
        checks. Unlike :func:`bboxcore.grading.grade`, the limits are not
        validated.

    Examples
    --------
    An IoU with the old "+1" pixel convention fails, and the hint names the bug:

    >>> import pathlib, tempfile
    >>> from bboxcore.grading.iou import IouAssignment
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.py"
    >>> _ = path.write_text('''
    ... import numpy as np
    ... def my_iou(boxes1, boxes2):
    ...     a, b = np.asarray(boxes1, float), np.asarray(boxes2, float)
    ...     lt = np.maximum(a[:, None, :2], b[None, :, :2])
    ...     rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    ...     inter = np.prod(np.clip(rb - lt + 1, 0, None), axis=2)
    ...     area = lambda x: (x[:, 2] - x[:, 0] + 1) * (x[:, 3] - x[:, 1] + 1)
    ...     return inter / (area(a)[:, None] + area(b)[None, :] - inter)
    ... ''')
    >>> report = grade_with(IouAssignment(), str(path), function="my_iou", examples=10)
    >>> report.passed, report.checks[0].name, report.checks[0].passed
    (False, 'loads', True)
    >>> print(report.hint)
    you add 1 to widths and heights (the old pixel convention); here width = x_max -
    x_min, so touching boxes have IoU 0.
    """
    function = function or a.function
    report = Report(a.name, path, function, seed)
    start = time.monotonic()
    deadline = start + total_timeout
    checks = a.checks()
    failures: list[tuple[Case, Outcome, Failure]] = []
    found_by: dict[int, str] = {}
    cpu_seconds = int(total_timeout) + CPU_MARGIN_SECONDS
    with Worker(
        path, function, timeout=timeout, memory_mb=memory_mb, cpu_seconds=cpu_seconds
    ) as worker:
        loaded = worker.start()
        report.load_error = worker.load_error
        signature = a.signature.replace(a.function, function, 1)
        desc = f"the file imports without error and defines {signature}"
        report.checks.append(
            CheckResult(
                "loads", desc, loaded, message=worker.load_error, seconds=time.monotonic() - start
            )
        )
        stop_reason = "" if loaded else "not run: the file did not load"
        for check in checks:
            t0 = time.monotonic()
            if not stop_reason and t0 > deadline:
                stop_reason = f"not run: the total time limit ({total_timeout:g} s) was used up"
            if stop_reason:
                report.checks.append(
                    CheckResult(check.name, check.description, False, True, stop_reason)
                )
                continue
            rng = np.random.default_rng([seed, len(report.checks)])
            result, bad = _run_check(a, worker, check, rng, seed, examples, deadline)
            result.seconds = time.monotonic() - t0
            report.checks.append(result)
            if bad is not None:
                found_by[len(failures)] = (
                    "hypothesis search" if check.search else f"check {check.name}"
                )
                failures.append(bad)
            timeouts = sum(f.kind == "timeout" for _, _, f in failures)
            if timeouts >= MAX_TIMEOUTS:
                stop_reason = f"not run: the function timed out {timeouts} times"
            elif worker.restarts >= MAX_DEATHS:
                stop_reason = f"not run: the worker process died {worker.restarts} times"
        if failures:
            # the smallest failing case; on equal sizes a hand-built case, then the search's
            # shrunk one, then a random one (their numbers are the least readable)
            order = sorted(
                range(len(failures)),
                key=lambda k: (a.size(failures[k][0]), _RANDOM_FIRST.get(found_by[k], 0), k),
            )
            best, how = order[0], found_by[order[0]]
            kind = failures[best][2].kind
            if kind not in ("timeout", "not_loaded") and a.size(failures[best][0]) > 4:
                reduced = _reduce(a, worker, failures[best], deadline)
                if a.size(reduced[0]) < a.size(failures[best][0]):
                    failures[best], how = reduced, how + ", reduced"
            case, out, failure = failures[best]
            if failure.kind != "not_loaded":
                lines, data = a.describe(case, out.value, failure)
                report.counterexample = Counterexample(lines, data, how)
            ranked = [failures[best]] + [failures[k] for k in order if k != best]
            report.hint = a.hint(ranked)
        elif not loaded:
            report.hint = a.hint(
                [
                    (
                        Case(()),
                        Outcome("not_loaded", error=worker.load_error),
                        Failure(worker.load_error, "not_loaded"),
                    )
                ]
            )
        report.output = worker.output
    return report


def _run_check(a, worker, check: Check, rng, seed, examples, deadline):
    judge = check.judge or a.judge
    if check.search:
        found = _search(a, worker, seed, examples, deadline)
        if found is None:
            return CheckResult(check.name, check.description, True), None
        case, out, failure = found
        return CheckResult(
            check.name, check.description, False, message=failure.message, case=_case_data(a, case)
        ), found
    for case in check.cases(rng):
        if time.monotonic() > deadline:
            return CheckResult(
                check.name,
                check.description,
                False,
                True,
                "not run: the total time limit was used up",
            ), None
        out = worker.call(*case.args, timeout=check.timeout)
        failure = judge(case, out)
        if failure is not None:
            msg = failure.message
            return CheckResult(
                check.name, check.description, False, message=msg, case=_case_data(a, case)
            ), (case, out, failure)
    return CheckResult(check.name, check.description, True), None


def _case_data(a: Assignment, case: Case) -> dict:
    """The case as plain data for JSON; arrays of more than CASE_ROWS rows only by shape."""
    data = {}
    for n, v in zip(a.arg_names(), case.args):
        if isinstance(v, np.ndarray):
            v = v.tolist() if len(v) <= CASE_ROWS else f"array of shape {v.shape}"
        data[n] = v
    return data | {"note": case.note}
