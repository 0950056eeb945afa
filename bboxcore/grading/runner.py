"""The grading engine: run an assignment's checks on a submission and build the report.

An :class:`Assignment` lists its :class:`Check` s (each a few fixed or seeded
random :class:`Case` s, or a hypothesis search), knows how to judge the
student's answer on a case against the reference (computed here, in the
grader's process) and how to explain a failure. :func:`grade_with` starts one
:class:`~bboxcore.grading.worker.Worker` for the file, runs every check in
order, then picks the smallest failing case — the hypothesis search's shrunk
example, or a failing case shrunk by delta debugging over its rows and then by
simpler values — as the counterexample, and asks the assignment for a hint.

Hints: every answer the student gave on a small case is kept as evidence; a
catalogued mistake is named only when its variant reproduces all of them
(:meth:`Assignment.matching_bug`), otherwise the hint says that no catalogued
mistake matches and names the first failing check (:func:`no_match_hint`).

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

__all__ = [
    "MAX_TIMEOUTS",
    "Assignment",
    "Case",
    "Check",
    "Failure",
    "failure_hint",
    "forbidden_hint",
    "grade_with",
    "no_match_hint",
]

#: Timed-out calls after which the remaining checks are skipped.
MAX_TIMEOUTS = 2
#: Worker deaths (``os._exit``, signals) after which the remaining checks are skipped.
MAX_DEATHS = 5
#: Student calls the hypothesis search may spend, per requested example (shrinking included).
CALLS_PER_EXAMPLE = 8
#: Student calls spent shrinking a failing case (delta debugging, then simpler values).
REDUCE_CALLS = 300
#: Counterexample lines at most in the text report (the full case is in the JSON report).
REPORT_LINES = 40
#: Rows at most of a case in the JSON report.
JSON_ROWS = 1000
#: CPU seconds a worker may use beyond the total time limit (Python and NumPy start-up).
CPU_MARGIN_SECONDS = 30
#: Cases with more rows than this are shown in JSON by their shape only.
CASE_ROWS = 100
#: Answers kept as evidence for the hint (cases of at most HINT_MAX_ROWS rows), per grade.
EVIDENCE_LIMIT = 200
#: Cases bigger than this (in rows) are not replayed through the bug variants.
HINT_MAX_ROWS = 64
#: Extra student calls allowed to tell apart bugs that all reproduce the answers so far.
PROBE_CALLS = 40
#: Seed of those probe cases (fixed: the same submission gets the same hint at every --seed).
PROBE_SEED = 12345


@dataclass(frozen=True)
class Case:
    """One input for the student's function: positional ``args`` and a short ``note``.

    Parameters
    ----------
    args : tuple
        The positional arguments, in the order of the assignment's signature
        (arrays as ndarrays).
    note : str
        What the case is, for the report (e.g. ``'2 boxes, iou_thresh=0.5'``).

    Examples
    --------
    >>> case = Case((np.array([[0., 0., 2., 2.]]), np.array([0.9]), 0.5), "one box")
    >>> len(case.args), case.note
    (3, 'one box')
    """

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
    check : str
        The name of the check that failed (set by the runner).
    check_index : int
        That check's position in the report (set by the runner).

    Examples
    --------
    >>> f = Failure("box 1 was removed", details={"removed": 1})
    >>> f.kind, f.check
    ('wrong', '')
    """

    message: str
    kind: str = "wrong"
    details: dict = field(default_factory=dict)
    #: The check that found it, and that check's position in the report (set by the runner).
    check: str = ""
    check_index: int = -1


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

    Examples
    --------
    >>> def one_box(rng):
    ...     yield Case((np.array([[0., 0., 2., 2.]]), np.array([0.9]), 0.5), "one box")
    >>> check = Check("single_box", "one box is always kept", one_box)
    >>> [c.note for c in check.cases(np.random.default_rng(0))], check.search
    (['one box'], False)
    """

    name: str
    description: str
    cases: Callable[[np.random.Generator], Iterable[Case]] | None = None
    judge: Callable[[Case, Outcome], Failure | None] | None = None
    search: bool = False
    timeout: float | None = None


class Assignment:
    """Base class of an assignment: subclasses fill in the contract and the checks.

    A subclass sets :attr:`name`, :attr:`function`, :attr:`signature`,
    :attr:`contract` and :attr:`bug_hints`, and implements :meth:`checks`,
    :meth:`judge_value`, :meth:`strategy` and :meth:`describe` (and, for
    specific hints, :meth:`reproduces`). The grader (:func:`grade_with`) calls
    the student's function on each check's cases, judges each outcome with
    :meth:`judge`, shrinks the first failing case with :meth:`units`,
    :meth:`subset` and :meth:`simplify`, and asks :meth:`hint` for one line.

    Examples
    --------
    >>> from bboxcore.grading import ASSIGNMENTS
    >>> a = ASSIGNMENTS["nms"]
    >>> isinstance(a, Assignment), a.function, a.signature
    (True, 'nms', 'nms(boxes, scores, iou_thresh)')
    """

    #: Sub-command name and default function name.
    name = ""
    function = ""
    #: The signature as the student writes it.
    signature = ""
    #: Paragraph shown by ``bboxcore grade --help`` and in the docs.
    contract = ""

    def checks(self) -> list[Check]:
        """The checks, in the order they are run and reported (``loads`` comes first, apart).

        Returns
        -------
        list of Check

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> [c.name for c in ASSIGNMENTS["iou"].checks()][:3]
        ['returns_array', 'inputs_unchanged', 'empty_input']
        """
        raise NotImplementedError

    def arg_names(self) -> list[str]:
        """The argument names of :attr:`signature`, in order.

        Returns
        -------
        list of str

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["soft_nms"].arg_names()
        ['boxes', 'scores', 'iou_thresh', 'sigma', 'score_thresh', 'method']
        """
        inside = self.signature.split("(", 1)[1].rsplit(")", 1)[0]
        return [p.split("=")[0].strip() for p in inside.split(",")]

    def judge_value(self, case: Case, value) -> Failure | None:
        """Judge a returned value (the call ran fine); None when it is acceptable.

        Parameters
        ----------
        case : Case
            The input.
        value : object
            The decoded return value (see :class:`~bboxcore.grading.worker.Outcome`).

        Returns
        -------
        Failure or None

        Examples
        --------
        IoU(box 0, box 1) = 50 / 100 is not above 0.5, so box 1 must be kept:

        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 5.]]), np.array([0.9, 0.8]), 0.5))
        >>> ASSIGNMENTS["nms"].judge_value(case, np.array([0, 1])) is None
        True
        >>> ASSIGNMENTS["nms"].judge_value(case, np.array([0])).details["removed"]
        1
        """
        raise NotImplementedError

    def strategy(self):
        """Hypothesis strategy of small :class:`Case` s for the search.

        Returns
        -------
        hypothesis.strategies.SearchStrategy

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5, database=None)
        ... @given(ASSIGNMENTS["iou"].strategy())
        ... def check(case):
        ...     assert isinstance(case, Case) and len(case.args) == 2
        >>> check()
        """
        raise NotImplementedError

    def size(self, case: Case) -> int:
        """How big a case is (the counterexample is the smallest failing one).

        Parameters
        ----------
        case : Case

        Returns
        -------
        int
            By default the rows of the first argument.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["nms"].size(Case((np.zeros((3, 4)), np.zeros(3), 0.5)))
        3
        """
        return len(case.args[0])

    #: True when every array argument has the same rows (row i of each goes together).
    aligned = True
    #: Decimals tried, in order, when shrinking the values of a counterexample.
    SHRINK_DECIMALS = (0, 1, 2)

    def units(self, case: Case) -> list[tuple[int, int]]:
        """The rows of a case that shrinking may delete, as ``(argument, row)`` pairs.

        Aligned assignments delete row i of every array at once (argument -1).

        Parameters
        ----------
        case : Case

        Returns
        -------
        list of (int, int)
            ``(argument index or -1, row)``.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = Case((np.zeros((2, 4)), np.zeros(2), 0.5))
        >>> ASSIGNMENTS["nms"].units(case)  # boxes and scores go together
        [(-1, 0), (-1, 1)]
        >>> ASSIGNMENTS["iou"].units(Case((np.zeros((2, 4)), np.zeros((1, 4)))))
        [(0, 0), (0, 1), (1, 0)]
        """
        arrays = [k for k, v in enumerate(case.args) if isinstance(v, np.ndarray) and v.ndim]
        if not arrays:
            return []
        if self.aligned:
            return [(-1, i) for i in range(len(case.args[arrays[0]]))]
        return [(k, i) for k in arrays for i in range(len(case.args[k]))]

    def subset(self, case: Case, units: list[tuple[int, int]]) -> Case:
        """The case restricted to ``units`` (from :meth:`units`).

        Parameters
        ----------
        case : Case
        units : list of (int, int)
            The rows to keep, as :meth:`units` lists them.

        Returns
        -------
        Case
            With a new note (:meth:`note`); ``case`` is not modified.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = Case((np.array([[0, 0, 1, 1], [5, 5, 6, 6.]]), np.array([0.9, 0.8]), 0.5))
        >>> small = ASSIGNMENTS["nms"].subset(case, [(-1, 1)])
        >>> small.args[0].tolist(), small.args[1].tolist()
        ([[5.0, 5.0, 6.0, 6.0]], [0.8])
        """
        args = list(case.args)
        for k, v in enumerate(args):
            if isinstance(v, np.ndarray) and v.ndim:
                rows = [i for j, i in units if j in (-1, k)]
                args[k] = v[np.array(rows, dtype=np.int64)]
        return Case(tuple(args), self.note(tuple(args)))

    def note(self, args: tuple) -> str:
        """The short description of a case built by shrinking.

        Parameters
        ----------
        args : tuple
            The case's arguments.

        Returns
        -------
        str
            ``''`` by default.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["nms"].note((np.zeros((2, 4)), np.zeros(2), 0.5))
        '2 boxes, iou_thresh=0.5'
        """
        return ""

    def valid(self, case: Case) -> bool:
        """Whether a shrunk case is still within the contract (default: boxes well formed).

        Parameters
        ----------
        case : Case

        Returns
        -------
        bool
            By default: when the first argument is an (R, 4) array, every box
            has ``x_max >= x_min`` and ``y_max >= y_min``.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["nms"]
        >>> a.valid(Case((np.array([[0, 0, 1, 1.]]), np.ones(1), 0.5)))
        True
        >>> a.valid(Case((np.array([[2, 0, 1, 1.]]), np.ones(1), 0.5)))
        False
        """
        boxes = case.args[0] if case.args else None
        if isinstance(boxes, np.ndarray) and boxes.ndim == 2 and boxes.shape[1] == 4:
            return bool((boxes[:, 2:] >= boxes[:, :2]).all())
        return True

    def simplify(self, case: Case) -> Iterator[Case]:
        """Simpler variants of a case: one row of one array rounded to fewer decimals.

        Parameters
        ----------
        case : Case

        Yields
        ------
        Case
            ``case`` with one row of one floating array rounded to the fewest
            of :attr:`SHRINK_DECIMALS` decimals that changes it.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = Case((np.array([[0, 0, 2.25, 2]]), np.array([0.9]), 0.5))
        >>> for c in ASSIGNMENTS["nms"].simplify(case):
        ...     print(c.args[0].tolist(), c.args[1].tolist())
        [[0.0, 0.0, 2.0, 2.0]] [0.9]
        [[0.0, 0.0, 2.25, 2.0]] [1.0]
        """
        for k, v in enumerate(case.args):
            if not (isinstance(v, np.ndarray) and v.ndim and v.dtype.kind == "f"):
                continue
            for i in range(len(v)):
                for d in self.SHRINK_DECIMALS:
                    row = np.round(v[i], d)
                    if not np.array_equal(row, v[i]):
                        w = v.copy()
                        w[i] = row
                        yield Case(case.args[:k] + (w,) + case.args[k + 1 :], case.note)
                        break

    def describe(self, case: Case, value, failure: Failure) -> tuple[list[str], dict]:
        """Counterexample lines for the text report and the same as plain data.

        Parameters
        ----------
        case : Case
            The (shrunk) counterexample.
        value : object
            The student's answer on it.
        failure : Failure
            What :meth:`judge` said about it.

        Returns
        -------
        lines : list of str
        data : dict
            For the JSON report.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["nms"]
        >>> case = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 5.]]), np.array([0.9, 0.8]), 0.5))
        >>> lines, data = a.describe(case, np.array([0]), a.judge_value(case, np.array([0])))
        >>> [line for line in lines if line.startswith(("your answer", "expected"))]
        ['your answer: [0]', 'expected:    [0, 1]']
        """
        raise NotImplementedError

    # -------------------------------------------------------------- hints
    #: name -> hint: the catalogue of usual mistakes (subclasses fill it in).
    bug_hints: dict[str, str] = {}

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        """Does the variant ``bug`` give the student's answer ``value`` on ``case``?

        None when ``value`` cannot be compared (e.g. not readable as an answer).

        Parameters
        ----------
        bug : str
            A key of :attr:`bug_hints`.
        case : Case
        value : object
            The student's answer.

        Returns
        -------
        bool or None
            None in the base class (no catalogue).

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 5.]]), np.array([0.9, 0.8]), 0.5))
        >>> ASSIGNMENTS["nms"].reproduces("greater_equal", case, np.array([0]))  # IoU = 0.5
        True
        """
        return None

    def type_hint(self, failure: Failure) -> str:
        """The hint for an answer of the wrong type or shape (``failure.kind == 'type'``).

        Parameters
        ----------
        failure : Failure

        Returns
        -------
        str
            ``''`` when the assignment has nothing better than the failure's message.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["nms"].type_hint(Failure("returned a mask", "type"))
        'return a list (or 1-D integer array) of indices into the input boxes.'
        """
        return ""

    def probe_case(self, rng: np.random.Generator, k: int) -> Case | None:
        """A small random case to tell apart bugs that all reproduce the answers so far.

        Parameters
        ----------
        rng : numpy.random.Generator
            Seeded with :data:`PROBE_SEED`.
        k : int
            The probe's number, from 0 (up to :data:`PROBE_CALLS`).

        Returns
        -------
        Case or None
            None when the assignment does not probe (the base class) or has no
            more probes.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["nms"].probe_case(np.random.default_rng(PROBE_SEED), 0).note
        '2 boxes, iou_thresh=0.5 (probe)'
        """
        return None

    def matching_bug(self, wrong, evidence=(), probe=None) -> str:
        """The catalogued bug that reproduces every answer, or ``''``.

        Parameters
        ----------
        wrong : list of (Case, Outcome)
            Wrong answers (the counterexample first); the bug must give each of them.
        evidence : sequence of (Case, Outcome)
            Every other answer recorded while grading (right ones included): the
            bug must give them too, so that a bug that merely agrees on one
            small counterexample is not named.
        probe : callable, optional
            ``probe(case) -> Outcome`` calls the student's function (None: no
            time left; probing stops, as it does after a time-out). When several
            bugs reproduce everything, up to :data:`PROBE_CALLS` small random cases
            (:meth:`probe_case`) are tried to tell them apart.

        Returns
        -------
        str
            A key of :attr:`bug_hints` (the first in catalogue order among those
            left), or ``''``.

        Examples
        --------
        Removing a box whose IoU is exactly the threshold (0.5), while keeping
        one at IoU 0.4, is what ``>=`` in place of ``>`` does:

        >>> from bboxcore.grading import ASSIGNMENTS
        >>> from bboxcore.grading.worker import Outcome
        >>> scores = np.array([0.9, 0.8])
        >>> at = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 5.]]), scores, 0.5))
        >>> below = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 4.]]), scores, 0.5))
        >>> ASSIGNMENTS["nms"].matching_bug(
        ...     [(at, Outcome("ok", np.array([0])))], [(below, Outcome("ok", np.array([0, 1])))]
        ... )
        'greater_equal'
        """
        candidates = []
        for bug in self.bug_hints:
            results = [self.reproduces(bug, c, o.value) for c, o in wrong]
            if all(r is not False for r in results) and any(results):
                if all(self.reproduces(bug, c, o.value) is not False for c, o in evidence):
                    candidates.append(bug)
        if len(candidates) > 1 and probe is not None:
            rng = np.random.default_rng(PROBE_SEED)
            for k in range(PROBE_CALLS):
                case = self.probe_case(rng, k)
                if case is None:
                    break
                out = probe(case)
                if out is None or out.status in ("timeout", "died", "not_loaded"):
                    break  # out of time, or the function misbehaves: no more probes
                if out.status != "ok":
                    continue
                left = [b for b in candidates if self.reproduces(b, case, out.value) is not False]
                candidates = left
                if len(candidates) <= 1:
                    break
        return candidates[0] if candidates else ""

    def hint(self, failures: list[tuple[Case, Outcome, Failure]], evidence=(), probe=None) -> str:
        """One line naming the likely bug, from the failing cases (the counterexample first).

        A catalogued mistake is named only when its variant reproduces the
        student's answers on every failing case and on the recorded
        ``evidence``; otherwise the hint says so and points at the first failing
        check. Crashes, time-outs, wrong types and mutated inputs get their own hints.

        Parameters
        ----------
        failures : list of (Case, Outcome, Failure)
            The failing cases, the counterexample first.
        evidence : sequence of (Case, Outcome)
            Every other recorded answer (see :meth:`matching_bug`).
        probe : callable, optional
            Calls the student's function on a probe case (see :meth:`matching_bug`).

        Returns
        -------
        str

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> from bboxcore.grading.worker import Outcome
        >>> a = ASSIGNMENTS["nms"]
        >>> case = Case((np.array([[0, 0, 10, 10], [0, 0, 10, 5.]]), np.array([0.9, 0.8]), 0.5))
        >>> out = Outcome("ok", np.array([0]))
        >>> print(a.hint([(case, out, a.judge(case, out))]))  # doctest: +NORMALIZE_WHITESPACE
        you suppress when IoU >= iou_thresh; the convention is strictly greater: a box whose
        IoU equals iou_thresh is kept (use `iou > iou_thresh`).
        """
        case, out, failure = failures[0]
        if failure.kind == "type":  # a catalogued mistake may explain it (duplicates, shape)
            typed = [
                (c, o)
                for c, o, f in failures
                if f.kind in ("type", "wrong") and self.size(c) <= HINT_MAX_ROWS
            ]
            bug = self.matching_bug(typed, evidence, probe)
            return self.bug_hints[bug] if bug else self.type_hint(failure) or f"{failure.message}."
        if failure.kind not in ("wrong", "mutated"):
            return failure_hint(case, out, failure, self.signature)
        wrong = [
            (c, o) for c, o, f in failures if f.kind == "wrong" and self.size(c) <= HINT_MAX_ROWS
        ]
        bug = self.matching_bug(wrong, evidence, probe) if wrong else ""
        if bug:
            return self.bug_hints[bug]
        for c, o, f in failures:
            if f.kind == "mutated":
                return failure_hint(c, o, f, self.signature)
        first = min((f for _, _, f in failures), key=lambda f: f.check_index)
        return no_match_hint(first)

    # -------------------------------------------------------------- generic judging
    def judge(self, case: Case, out: Outcome) -> Failure | None:
        """Judge any outcome: errors and time-outs first, then :meth:`judge_value`.

        Parameters
        ----------
        case : Case
        out : Outcome
            What the call did.

        Returns
        -------
        Failure or None

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> from bboxcore.grading.worker import Outcome
        >>> case = Case((np.zeros((0, 4)), np.zeros(0), 0.5), "no boxes")
        >>> ASSIGNMENTS["nms"].judge(case, Outcome("raised", error="IndexError: index 0")).message
        'raised IndexError: index 0 on no boxes'
        """
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
        """Fail when an input array was modified in place (for the ``inputs_unchanged`` check).

        Parameters
        ----------
        case : Case
        out : Outcome
            Its ``changed`` flags say which arguments the call modified.

        Returns
        -------
        Failure or None
            Of kind ``'mutated'``, naming the arguments; :meth:`judge` decides
            when the call did not return.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> from bboxcore.grading.worker import Outcome
        >>> case = Case((np.zeros((1, 4)), np.ones(1), 0.5))
        >>> out = Outcome("ok", np.array([0]), changed=(False, True, False))
        >>> ASSIGNMENTS["nms"].judge_inputs(case, out).message
        'modified its input scores in place'
        """
        if out.status != "ok":
            return self.judge(case, out)
        changed = [n for n, c in zip(self.arg_names(), out.changed) if c]
        if changed:
            return Failure(f"modified its input {', '.join(changed)} in place", "mutated")
        return None


def no_match_hint(failure: Failure) -> str:
    """The hint when no catalogued mistake reproduces the student's answers.

    Parameters
    ----------
    failure : Failure
        The first failing check's failure; its ``check`` and ``message`` are
        quoted.

    Returns
    -------
    str

    Examples
    --------
    >>> print(no_match_hint(Failure("box 1 was removed", check="exact_threshold")))
    no catalogued mistake reproduces your answers: start from the first failing check,
    exact_threshold (box 1 was removed), and work through its counterexample by hand.
    """
    where = f"the first failing check, {failure.check} ({failure.message})"
    if not failure.check:
        where = f"the counterexample ({failure.message})"
    return (
        f"no catalogued mistake reproduces your answers: start from {where}, and work through "
        "its counterexample by hand."
    )


def forbidden_hint(packages: list[str], function: str) -> str:
    """The hint for a submission that imports a finished implementation.

    Parameters
    ----------
    packages : list of str
        The forbidden top-level packages the file imports.
    function : str
        The function the student had to write.

    Returns
    -------
    str

    Examples
    --------
    >>> forbidden_hint(["bboxcore"], "nms")
    'the file imports bboxcore, which holds a finished nms: write nms yourself with NumPy.'
    """
    return (
        f"the file imports {', '.join(packages)}, which holds a finished {function}: write "
        f"{function} yourself with NumPy."
    )


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
        if "may not import" in err:
            return f"it imports a finished implementation ({err}); write {function} yourself."
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


def _record(a: Assignment, evidence: dict | None, case: Case, out: Outcome) -> None:
    """Keep a small answered case as evidence for the hint (each distinct case once)."""
    if (
        evidence is not None
        and out.status == "ok"
        and len(evidence) < EVIDENCE_LIMIT
        and a.size(case) <= HINT_MAX_ROWS
    ):
        key = tuple(v.tobytes() if isinstance(v, np.ndarray) else v for v in case.args)
        evidence.setdefault(key, (case, out))


def _search(
    a: Assignment, worker: Worker, seed: int, examples: int, deadline: float, evidence=None
):
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
        _record(a, evidence, case, out)
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


class _Budget:
    """Student calls left for shrinking a counterexample, and the time limit."""

    def __init__(self, calls: int, deadline: float) -> None:
        self.calls, self.deadline = calls, deadline

    def take(self) -> bool:
        if self.calls <= 0 or time.monotonic() > self.deadline:
            return False
        self.calls -= 1
        return True


def _ddmin(units: list, fails: Callable[[list], bool], budget: _Budget) -> list:
    """Delta debugging (Zeller and Hildebrandt 2002): a small sub-list of ``units`` that fails.

    Tries ever finer chunks of ``units`` and their complements, keeping any that
    still ``fails``; a case whose failure hangs on one row of 10 000 is reduced
    to that row in about 2 log2(10 000) = 27 calls.
    """
    n = 2
    while len(units) >= 2:
        size = -(-len(units) // n)
        chunks = [units[i : i + size] for i in range(0, len(units), size)]
        for k, chunk in enumerate(chunks):
            if not budget.take():
                return units
            if fails(chunk):
                units, n = chunk, 2
                break
            rest = [u for c in chunks[:k] + chunks[k + 1 :] for u in c]
            if len(chunks) > 2:
                if not budget.take():
                    return units
                if fails(rest):
                    units, n = rest, max(n - 1, 2)
                    break
        else:
            if n >= len(units):
                break
            n = min(len(units), 2 * n)
    return units


def _reduce(a: Assignment, worker: Worker, found, deadline: float):
    """Shrink a failing case: delta debugging over its rows, then simpler values.

    The case keeps failing the same way (same ``Failure.kind``) at every step.
    """
    case, out, failure = found
    budget = _Budget(REDUCE_CALLS, deadline)
    best = [(case, out, failure)]

    def fails(candidate: Case) -> bool:
        if not a.valid(candidate):
            return False
        o = worker.call(*candidate.args)
        try:
            f = a.judge(candidate, o)
        except (ValueError, ArithmeticError):  # outside what the reference accepts
            return False
        if f is not None and f.kind == failure.kind:
            f.check, f.check_index = failure.check, failure.check_index
            best[0] = (candidate, o, f)
            return True
        return False

    units = a.units(case)
    if len(units) > 1:
        kept = _ddmin(units, lambda u: fails(a.subset(case, u)), budget)
        if len(kept) < len(units) and best[0][0] is case:  # re-run the kept subset once
            fails(a.subset(case, kept))
    # then hypothesis-style shrinking of the values: round, one row at a time
    progress = True
    while progress:
        progress = False
        for simpler in a.simplify(best[0][0]):
            if not budget.take():
                return best[0]
            if fails(simpler):
                progress = True
                break
    return best[0]


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
    worker_factory: Callable[..., Worker] | None = None,
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
    worker_factory : callable, optional
        Builds the object that calls the student's function, with the
        signature of :class:`~bboxcore.grading.worker.Worker` (the default).
        :class:`~bboxcore.grading.worker.InProcessWorker` runs it in this
        process instead: much faster, no isolation (tests, trusted code).

    Returns
    -------
    Report
        One :class:`~bboxcore.grading.report.CheckResult` per check, ``'loads'``
        first; when a check failed, the smallest counterexample (shrunk: delta
        debugging over the rows of the failing case, then simpler values) and
        a hint. A file that imports a finished implementation (bboxcore,
        torchvision...: :data:`~bboxcore.grading.worker.FORBIDDEN_IMPORTS`)
        fails ``'loads'``, even when it catches the refused import.

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
    evidence: dict[tuple, tuple[Case, Outcome]] = {}
    found_by: dict[int, str] = {}
    cpu_seconds = int(total_timeout) + CPU_MARGIN_SECONDS
    make = worker_factory or Worker
    with make(
        path, function, timeout=timeout, memory_mb=memory_mb, cpu_seconds=cpu_seconds
    ) as worker:
        loaded = worker.start()
        report.load_error = worker.load_error
        signature = a.signature.replace(a.function, function, 1)
        desc = f"the file imports without error and defines {signature}"
        message = worker.load_error
        if loaded and worker.forbidden:
            message = _forbidden_message(worker.forbidden)
        report.checks.append(
            CheckResult(
                "loads",
                desc,
                loaded and not worker.forbidden,
                message=message,
                seconds=time.monotonic() - start,
            )
        )
        stop_reason = "" if loaded else "not run: the file did not load"
        if loaded and worker.forbidden:
            stop_reason = f"not run: the file imports {', '.join(worker.forbidden)}"
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
            result, bad = _run_check(a, worker, check, rng, seed, examples, deadline, evidence)
            result.seconds = time.monotonic() - t0
            if bad is not None:
                bad[2].check, bad[2].check_index = check.name, len(report.checks)
                found_by[len(failures)] = (
                    "hypothesis search" if check.search else f"check {check.name}"
                )
                failures.append(bad)
            report.checks.append(result)
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
            original = failures[best][0]
            kind = failures[best][2].kind
            if kind not in ("timeout", "not_loaded") and a.size(original) > 4:
                reduced = _reduce(a, worker, failures[best], deadline)
                if a.size(reduced[0]) < a.size(original) or reduced[0] is not original:
                    failures[best], how = reduced, how + ", shrunk"
            case, out, failure = failures[best]
            if failure.kind != "not_loaded":
                lines, data = a.describe(case, out.value, failure)
                lines = _cap_lines(lines)
                if failures[best][0] is not original:
                    data = data | {"original_case": _case_data(a, original, JSON_ROWS)}
                report.counterexample = Counterexample(lines, data, how)
            ranked = [failures[best]] + [failures[k] for k in order if k != best]
            answers = list(evidence.values())

            def probe(c: Case) -> Outcome | None:
                return worker.call(*c.args) if time.monotonic() < deadline else None

            report.hint = a.hint(ranked, answers, probe)
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
        if worker.forbidden:  # tried to import the reference: whatever else happened, it fails
            report.checks[0] = CheckResult(
                "loads", desc, False, message=_forbidden_message(worker.forbidden)
            )
            report.hint = forbidden_hint(worker.forbidden, function)
        report.output = worker.output
    return report


def _forbidden_message(packages: list[str]) -> str:
    return (
        f"the file imports {', '.join(packages)}: a submission may not use a finished "
        "implementation (the import was refused)"
    )


def _cap_lines(lines: list[str]) -> list[str]:
    """At most REPORT_LINES counterexample lines in the text report (all of it is in JSON)."""
    if len(lines) <= REPORT_LINES:
        return lines
    cut = len(lines) - REPORT_LINES + 1
    return lines[: REPORT_LINES - 1] + [f"... ({cut} more lines in the --json report)"]


def _run_check(a, worker, check: Check, rng, seed, examples, deadline, evidence=None):
    judge = check.judge or a.judge
    if check.search:
        found = _search(a, worker, seed, examples, deadline, evidence)
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
        _record(a, evidence, case, out)
        failure = judge(case, out)
        if failure is not None:
            msg = failure.message
            return CheckResult(
                check.name, check.description, False, message=msg, case=_case_data(a, case)
            ), (case, out, failure)
    return CheckResult(check.name, check.description, True), None


def _case_data(a: Assignment, case: Case, rows: int = CASE_ROWS) -> dict:
    """The case as plain data for JSON; arrays of more than ``rows`` rows cut to ``rows``."""
    data = {}
    for n, v in zip(a.arg_names(), case.args):
        if isinstance(v, np.ndarray):
            if len(v) > rows:
                data[n + "_rows"] = len(v)
                v = v[:rows]
            v = v.tolist()
        data[n] = v
    return data | {"note": case.note}
