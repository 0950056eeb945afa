"""Assignments whose answer is an array compared entry by entry: IoU, bbox2loc, loc2bbox.

:class:`ArrayAssignment` holds what they share: the answer must have the
reference's shape and match it within ``rtol``/``atol`` (float32 is fine); a
wrong answer is explained by its first wrong entry, and the hint comes from the
buggy variant (``bugs``) that reproduces the student's answers. Subclasses give
the reference, the edge cases, the random cases and the search strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from bboxcore.grading._common import REGIMES, SHOW_ROWS, fmt
from bboxcore.grading.runner import HINT_MAX_ROWS, Assignment, Case, Check, Failure
from bboxcore.grading.worker import Opaque

__all__ = ["ArrayAssignment"]

#: A bug variant reproduces an answer within this many times the float32 error bound ...
MATCH_FACTOR = 4.0
#: ... plus this relative slack (the variant's own intermediates differ from the reference's).
MATCH_RTOL = 1e-4


class ArrayAssignment(Assignment):
    """An assignment whose answer is one float array, compared with ``reference``.

    Subclasses implement :meth:`reference`, :meth:`error_bound`,
    :meth:`random_case` and the search strategy, and fill in :attr:`bugs`,
    :attr:`large` and :meth:`edge_checks` (and :attr:`DESCRIPTIONS` to word
    the common checks their own way).

    Examples
    --------
    >>> from bboxcore.grading import ASSIGNMENTS
    >>> sorted(n for n, a in ASSIGNMENTS.items() if isinstance(a, ArrayAssignment))
    ['anchor_labels', 'bbox2loc', 'iou', 'iou_loss_grad', 'loc2bbox', 'roi_align', 'smooth_l1']
    """

    #: Added to the float32 error bound (the float64 reference's own rounding).
    REFERENCE_ATOL = 1e-12
    #: True when every argument has the same number of rows R (row i goes with row i).
    aligned = True
    #: name -> (variant(*args) -> ndarray, hint): the usual bugs.
    bugs: dict[str, tuple[Callable, str]] = {}
    #: check name -> description: the common checks' descriptions in the assignment's words.
    DESCRIPTIONS: dict[str, str] = {}

    def reference(self, *args) -> np.ndarray:
        """The right answer, in float64, from bboxcore's own implementation.

        Parameters
        ----------
        *args
            A case's arguments, in the order of the signature.

        Returns
        -------
        ndarray, float64

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> a.reference(boxes1, boxes2).round(6).tolist()
        [[0.333333, 1.0]]
        """
        raise NotImplementedError

    def error_bound(self, *args) -> np.ndarray:
        """The largest error of a correct float32 answer, per entry (a forward error analysis).

        Parameters
        ----------
        *args
            A case's arguments.

        Returns
        -------
        ndarray, float64
            The shape of :meth:`reference`'s answer; the judge adds
            :attr:`REFERENCE_ATOL`.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> bound = a.error_bound(boxes1, boxes2)
        >>> bound.shape, bool((bound > 0).all() and (bound < 1e-5).all())
        ((1, 2), True)
        """
        raise NotImplementedError

    def nan_ok(self, *args) -> np.ndarray | None:
        """Entries where NaN is an acceptable answer (an undefined 0 / 0), or None.

        Parameters
        ----------
        *args
            A case's arguments.

        Returns
        -------
        ndarray of bool or None
            The shape of the answer; None (the default) when NaN is never right.

        Examples
        --------
        The IoU of two zero-area boxes at the same place is 0 / 0:

        >>> from bboxcore.grading import ASSIGNMENTS
        >>> point = np.array([[1, 1, 1, 1.]])
        >>> ASSIGNMENTS["iou"].nan_ok(point, point).tolist()
        [[True]]
        """
        return None

    def edge_checks(self) -> list[Check]:
        """The assignment's own edge cases, between the common checks.

        Returns
        -------
        list of Check
            Run after ``empty_input`` and before ``random_cases``; none by default.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> [c.name for c in ASSIGNMENTS["iou"].edge_checks()][:3]
        ['identical_boxes', 'touching_edges', 'contained_box']
        """
        return []

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        """n random rows of the kind ``regime`` (a member of REGIMES, or ``'mixed'``).

        Parameters
        ----------
        rng : numpy.random.Generator
            The check's seeded generator.
        n : int
            Rows (0 for the empty case).
        regime : str
            ``'grid'`` (the 1/4-pixel grid), another member of
            :data:`bboxcore.grading._common.REGIMES`, or ``'mixed'``.

        Returns
        -------
        Case

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> case = ASSIGNMENTS["iou"].random_case(np.random.default_rng(0), 3)
        >>> case.note, [x.shape for x in case.args]
        ('3 x 2 boxes (random, grid)', [(3, 4), (2, 4)])
        """
        raise NotImplementedError

    #: (check description, rows) of the large input.
    large = ("", 0)

    # ------------------------------------------------------------------ checks
    def checks(self) -> list[Check]:
        """The common checks around :meth:`edge_checks`, in the order they are run.

        ``returns_array``, ``inputs_unchanged``, ``empty_input``, the edge checks,
        then ``random_cases``, ``search`` and ``large_input``; a description in
        :attr:`DESCRIPTIONS` replaces the common one of its check.

        Returns
        -------
        list of Check

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> names = [c.name for c in ASSIGNMENTS["bbox2loc"].checks()]
        >>> names[:3]
        ['returns_array', 'inputs_unchanged', 'empty_input']
        >>> names[-3:]
        ['random_cases', 'search', 'large_input']
        """

        def basic(rng):
            yield self.random_case(rng, 3)

        def empty(rng):
            yield from self.empty_cases()

        def randoms(rng):
            for k, n in enumerate((1, 2, 3, 5, 8, 13, 21, 34, 55, 89)):
                yield self.random_case(rng, n, REGIMES[k % len(REGIMES)])

        def large(rng):
            yield self.random_case(rng, self.large[1], "mixed")

        shape = (
            "an array of the expected shape (not a list of rows of another length, not transposed)"
        )
        checks = [
            Check("returns_array", shape, basic, self.judge_shape),
            Check(
                "inputs_unchanged",
                "the input arrays are not modified in place",
                basic,
                self.judge_inputs,
            ),
            Check("empty_input", "no boxes (R = 0) gives an empty array of the right shape", empty),
            *self.edge_checks(),
            Check(
                "random_cases",
                "seeded random cases of growing size against the reference: on the 1/4-pixel "
                "grid, anywhere, far from the origin (up to 4000 px) and below 1 px",
                randoms,
            ),
            Check("search", "hypothesis search over small cases", search=True),
            Check("large_input", self.large[0], large),
        ]
        for c in checks:
            c.description = self.DESCRIPTIONS.get(c.name, c.description)
        return checks

    def empty_cases(self) -> Iterator[Case]:
        """The cases of the ``empty_input`` check: by default one random case of 0 rows.

        Yields
        ------
        Case

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> [[x.shape for x in c.args] for c in ASSIGNMENTS["bbox2loc"].empty_cases()]
        [[(0, 4), (0, 4)]]
        """
        yield self.random_case(np.random.default_rng(0), 0)

    # ------------------------------------------------------------------ judging
    def _as_array(self, value) -> tuple[np.ndarray | None, str]:
        if value is None:
            return None, "returned None (is the return statement missing?)"
        if isinstance(value, Opaque):
            return None, f"returned {value!r}, not an array of numbers"
        return np.asarray(value, dtype=np.float64), ""

    def judge_shape(self, case: Case, out) -> Failure | None:
        """Only the type and shape of the answer.

        Parameters
        ----------
        case : Case
        out : Outcome
            The call's outcome; one that did not return is judged by :meth:`judge`.

        Returns
        -------
        Failure or None
            A ``'type'`` failure naming the shapes (and "transposed?" when the
            answer is the transpose of the expected shape).

        Examples
        --------
        >>> from bboxcore.grading.worker import Outcome
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> a.judge_shape(Case((boxes1, boxes2)), Outcome("ok", np.zeros((2, 1)))).message
        'returned shape (2, 1); expected (1, 2) (transposed?)'
        """
        if out.status != "ok":
            return self.judge(case, out)
        arr, problem = self._as_array(out.value)
        if arr is None:
            return Failure(problem, "type")
        expected = self.reference(*case.args)
        if arr.shape != expected.shape:
            return self._shape_failure(arr.shape, expected.shape)
        return None

    @staticmethod
    def _shape_failure(got, expected) -> Failure:
        msg = f"returned shape {got}; expected {expected}"
        if len(got) == 2 and got == expected[::-1] and got != expected:
            msg += " (transposed?)"
        details = {"shape": list(got), "expected_shape": list(expected)}
        return Failure(msg, "type", details=details)

    def _expected(self, case: Case) -> tuple[np.ndarray, np.ndarray]:
        """The reference answer and the accepted error of ``case`` (kept for the last case)."""
        last = getattr(self, "_last", None)
        if last is None or last[0] is not case:
            bound = self.error_bound(*case.args) + self.REFERENCE_ATOL
            self._last = (case, self.reference(*case.args), bound)
        return self._last[1], self._last[2]

    def judge_value(self, case: Case, value) -> Failure | None:
        """Right when every entry is within :meth:`error_bound` of :meth:`reference`.

        NaN is accepted where :meth:`nan_ok` says so; the failure names the
        first wrong entry.

        Parameters
        ----------
        case : Case
        value : object
            The student's answer.

        Returns
        -------
        Failure or None

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> case = Case((boxes1, boxes2))
        >>> a.judge_value(case, np.array([[1 / 3, 1]], np.float32)) is None  # float32 is fine
        True
        >>> a.judge_value(case, np.array([[0.5, 1]])).message
        'IoU(boxes1[0], boxes2[0]) = 0.5, expected 0.333333 (float32 rounding allows 2.1e-06)'
        """
        arr, problem = self._as_array(value)
        if arr is None:
            return Failure(problem, "type")
        expected, bound = self._expected(case)
        if arr.shape != expected.shape:
            return self._shape_failure(arr.shape, expected.shape)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(arr - expected) <= bound)
        nan_ok = self.nan_ok(*case.args)
        if nan_ok is not None:
            bad &= ~(np.isnan(arr) & nan_ok)
        if not bad.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Failure(
            f"{self.entry_name(idx)} = {fmt(arr[idx])}, expected {fmt(expected[idx])} "
            f"(float32 rounding allows {float(bound[idx]):.2g})",
            details={"index": idx, "got": float(arr[idx]), "expected": float(expected[idx])},
        )

    def entry_name(self, idx: tuple) -> str:
        """How a failure names the entry ``idx`` of the answer.

        Parameters
        ----------
        idx : tuple of int

        Returns
        -------
        str

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ArrayAssignment().entry_name((0, 1)), ASSIGNMENTS["iou"].entry_name((0, 1))
        ('entry [0, 1]', 'IoU(boxes1[0], boxes2[1])')
        """
        return f"entry {list(idx)}"

    # ------------------------------------------------------------------ counterexamples
    def size(self, case: Case) -> int:
        """Rows of all the array arguments together.

        Parameters
        ----------
        case : Case

        Returns
        -------
        int

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["iou"].size(Case((np.zeros((3, 4)), np.zeros((2, 4)))))
        5
        """
        return sum(len(a) for a in case.args if isinstance(a, np.ndarray))

    def describe(self, case: Case, value, failure: Failure):
        """The counterexample: the inputs (the wrong entry's rows always shown), answer, why.

        Parameters
        ----------
        case : Case
        value : object
            The student's answer.
        failure : Failure
            From :meth:`judge_value` (its ``details["index"]``, when there is one).

        Returns
        -------
        lines : list of str
        data : dict
            The arguments, ``got``, ``expected``, ``why`` and ``index``, as plain lists.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> case, answer = Case((boxes1, boxes2)), np.array([[0.5, 1]])
        >>> lines, data = a.describe(case, answer, a.judge_value(case, answer))
        >>> lines[-3:-1], data["index"]
        (['your answer: [[0.5 1. ]]', 'expected:    [[0.333333 1.      ]]'], (0, 0))
        """
        names = self.arg_names()
        index = failure.details.get("index")
        lines = []
        for k, (name, a) in enumerate(zip(names, case.args)):
            lines.append(f"{name}:")
            rows = list(range(min(len(a), SHOW_ROWS)))
            if index is not None and self._row_of(k, index) not in (None, *rows):
                rows.append(self._row_of(k, index))  # the wrong entry's row, always shown
            lines += [f"  {i}: [{', '.join(fmt(v) for v in a[i])}]" for i in rows] or [
                "  (no rows: shape (0, 4))"
            ]
            if len(a) > len(rows):
                lines.append(f"  ... ({len(a) - len(rows)} more rows: all of them in --json)")
        expected = self.reference(*case.args)
        arr = self._as_array(value)[0] if failure.kind in ("wrong", "type") else None
        if arr is not None and arr.shape == expected.shape and arr.size > 4 * SHOW_ROWS:
            i = index[0] if index is not None else 0  # a big answer: its wrong row only
            got = f"row {i}: {np.array2string(arr[i], precision=6)}"
            want = f"row {i}: {np.array2string(expected[i], precision=6)}"
        else:
            got = np.array2string(arr, precision=6) if arr is not None else failure.message
            want = np.array2string(expected, precision=6)
        lines += [f"your answer: {got}", f"expected:    {want}", f"why: {failure.message}"]
        data = {n: a.tolist() for n, a in zip(names, case.args)} | {
            "got": arr.tolist() if arr is not None else got,
            "expected": expected.tolist(),
            "why": failure.message,
            "index": index,
        }
        return lines, data

    def _row_of(self, k: int, index) -> int | None:
        """The row of argument k that the wrong entry ``index`` depends on."""
        if not index:
            return None
        if self.aligned:
            return index[0]
        return index[k] if k < len(index) else None

    # ------------------------------------------------------------------ hints
    def shape_hint(self, got: tuple, expected: tuple) -> str:
        """The hint for an answer of the wrong shape (assignments add their own cases).

        Parameters
        ----------
        got, expected : tuple of int
            The answer's shape and the reference's.

        Returns
        -------
        str

        Examples
        --------
        >>> ArrayAssignment().shape_hint((3,), (3, 4))
        'return a NumPy array of shape (3, 4); yours has shape (3,).'
        """
        return f"return a NumPy array of shape {expected}; yours has shape {got}."

    def type_hint(self, failure: Failure) -> str:
        """:meth:`shape_hint` for a wrong shape; otherwise ask for an array of numbers.

        Parameters
        ----------
        failure : Failure
            A ``'type'`` failure (with ``shape`` and ``expected_shape`` details
            when the shape was wrong).

        Returns
        -------
        str

        Examples
        --------
        >>> ArrayAssignment().type_hint(Failure("returned None", "type"))
        'return a NumPy array of numbers; yours returned None.'
        """
        got, expected = failure.details.get("shape"), failure.details.get("expected_shape")
        if got is not None:
            return self.shape_hint(tuple(got), tuple(expected))
        return f"return a NumPy array of numbers; yours {failure.message}."

    def probe_case(self, rng: np.random.Generator, k: int) -> Case:
        """A random case of 1 to 5 rows, on the grid or anywhere, to tell bugs apart.

        Parameters
        ----------
        rng : numpy.random.Generator
        k : int
            The probe's number.

        Returns
        -------
        Case

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> ASSIGNMENTS["iou"].probe_case(np.random.default_rng(0), 0).note
        '1 x 1 boxes (random, grid)'
        """
        return self.random_case(rng, 1 + k % 5, REGIMES[k % 2])

    @property
    def bug_hints(self) -> dict[str, str]:
        """name -> hint of :attr:`bugs`, in catalogue order.

        Examples
        --------
        >>> from bboxcore.grading import ASSIGNMENTS
        >>> list(ASSIGNMENTS["iou"].bug_hints)[:3]
        ['plus_one', 'plus_one_area', 'no_clip']
        """
        return {name: hint for name, (_, hint) in self.bugs.items()}

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        """Does the variant ``bug`` give ``value`` on ``case``, within float32 rounding?

        Parameters
        ----------
        bug : str
            A key of :attr:`bugs`.
        case : Case
        value : object
            The student's answer.

        Returns
        -------
        bool or None
            None when the answer is not an array or the case is bigger than
            :data:`~bboxcore.grading.runner.HINT_MAX_ROWS`.

        Examples
        --------
        Dividing by the first box's area instead of the union gives 50 / 100:

        >>> from bboxcore.grading import ASSIGNMENTS
        >>> a = ASSIGNMENTS["iou"]  # an ArrayAssignment
        >>> boxes1 = np.array([[0, 0, 10, 10.]])
        >>> boxes2 = np.array([[5, 0, 15, 10], [0, 0, 10, 10.]])  # IoU 50 / 150 and 1
        >>> a.reproduces("over_area1", Case((boxes1, boxes2)), np.array([[0.5, 1]]))
        True
        """
        got, _ = self._as_array(value)
        if got is None or self.size(case) > HINT_MAX_ROWS:
            return None
        with np.errstate(all="ignore"):
            want = np.asarray(self.bugs[bug][0](*case.args), dtype=np.float64)
        if want.shape != got.shape:
            return False
        # the variant in float64 vs the student's float32: allow the float32 rounding of both
        bound = self.error_bound(*case.args)
        if bound.shape != want.shape:  # e.g. a transposed answer
            bound = bound.T if bound.T.shape == want.shape else np.max(bound, initial=0.0)
        tol = MATCH_FACTOR * bound + MATCH_RTOL * np.abs(want)
        with np.errstate(invalid="ignore"):
            close = np.abs(want - got) <= tol
        close |= (want == got) | (np.isnan(want) & np.isnan(got))
        undefined = self.nan_ok(*case.args)  # 0 / 0: any answer the judge accepts there
        if undefined is not None and undefined.shape == close.shape:
            close |= undefined
        return bool(close.all())
