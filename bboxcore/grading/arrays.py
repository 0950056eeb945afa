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

from bboxcore.grading._common import fmt
from bboxcore.grading.runner import Assignment, Case, Check, Failure, failure_hint
from bboxcore.grading.worker import Opaque

__all__ = ["ArrayAssignment"]

#: Failing cases bigger than this (in rows) are not replayed through the bug variants.
HINT_MAX_ROWS = 64


class ArrayAssignment(Assignment):
    """An assignment whose answer is one float array, compared with ``reference``."""

    rtol = 1e-5
    atol = 1e-6
    #: True when every argument has the same number of rows R (row i goes with row i).
    aligned = True
    #: name -> (variant(*args) -> ndarray, hint): the usual bugs.
    bugs: dict[str, tuple[Callable, str]] = {}

    def reference(self, *args) -> np.ndarray:
        raise NotImplementedError

    def nan_ok(self, *args) -> np.ndarray | None:
        """Entries where NaN is an acceptable answer (an undefined 0 / 0), or None."""
        return None

    def edge_checks(self) -> list[Check]:
        """The assignment's own edge cases, between the common checks."""
        return []

    def random_case(self, rng: np.random.Generator, n: int) -> Case:
        raise NotImplementedError

    #: (check description, rows) of the large input.
    large = ("", 0)

    # ------------------------------------------------------------------ checks
    def checks(self) -> list[Check]:
        def basic(rng):
            yield self.random_case(rng, 3)

        def empty(rng):
            yield from self.empty_cases()

        def randoms(rng):
            for n in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89):
                yield self.random_case(rng, n)

        def large(rng):
            yield self.random_case(rng, self.large[1])

        shape = (
            "an array of the expected shape (not a list of rows of another length, not transposed)"
        )
        return [
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
                "random_cases", "seeded random cases of growing size against the reference", randoms
            ),
            Check("search", "hypothesis search over small cases", search=True),
            Check("large_input", self.large[0], large),
        ]

    def empty_cases(self) -> Iterator[Case]:
        yield self.random_case(np.random.default_rng(0), 0)

    # ------------------------------------------------------------------ judging
    def _as_array(self, value) -> tuple[np.ndarray | None, str]:
        if value is None:
            return None, "returned None (is the return statement missing?)"
        if isinstance(value, Opaque):
            return None, f"returned {value!r}, not an array of numbers"
        return np.asarray(value, dtype=np.float64), ""

    def judge_shape(self, case: Case, out) -> Failure | None:
        """Only the type and shape of the answer."""
        if out.status != "ok":
            return self.judge(case, out)
        arr, problem = self._as_array(out.value)
        if arr is None:
            return Failure(problem, "type")
        expected = self.reference(*case.args)
        if arr.shape != expected.shape:
            return Failure(self._shape_message(arr.shape, expected.shape), "type")
        return None

    @staticmethod
    def _shape_message(got, expected) -> str:
        msg = f"returned shape {got}; expected {expected}"
        if len(got) == 2 and got == expected[::-1] and got != expected:
            msg += " (transposed?)"
        return msg

    def judge_value(self, case: Case, value) -> Failure | None:
        arr, problem = self._as_array(value)
        if arr is None:
            return Failure(problem, "type")
        expected = self.reference(*case.args)
        if arr.shape != expected.shape:
            return Failure(self._shape_message(arr.shape, expected.shape), "type")
        with np.errstate(invalid="ignore"):
            bad = ~np.isclose(arr, expected, rtol=self.rtol, atol=self.atol)
        nan_ok = self.nan_ok(*case.args)
        if nan_ok is not None:
            bad &= ~(np.isnan(arr) & nan_ok)
        if not bad.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Failure(
            f"{self.entry_name(idx)} = {fmt(arr[idx])}, expected {fmt(expected[idx])}",
            details={"index": idx, "got": float(arr[idx]), "expected": float(expected[idx])},
        )

    def entry_name(self, idx: tuple) -> str:
        return f"entry {list(idx)}"

    # ------------------------------------------------------------------ counterexamples
    def size(self, case: Case) -> int:
        return sum(len(a) for a in case.args if isinstance(a, np.ndarray))

    def smaller(self, case: Case) -> Iterator[Case]:
        arrays = [k for k, a in enumerate(case.args) if isinstance(a, np.ndarray)]
        if self.aligned:
            for i in range(len(case.args[arrays[0]])):
                args = [
                    np.delete(a, i, axis=0) if k in arrays else a for k, a in enumerate(case.args)
                ]
                yield Case(tuple(args), "")
            return
        for k in arrays:
            for i in range(len(case.args[k])):
                args = list(case.args)
                args[k] = np.delete(args[k], i, axis=0)
                yield Case(tuple(args), "")

    def describe(self, case: Case, value, failure: Failure):
        names = self.arg_names()
        lines = []
        for name, a in zip(names, case.args):
            lines.append(f"{name}:")
            lines += [f"  {i}: [{', '.join(fmt(v) for v in row)}]" for i, row in enumerate(a)] or [
                "  (no rows: shape (0, 4))"
            ]
        expected = self.reference(*case.args)
        arr = self._as_array(value)[0] if failure.kind in ("wrong", "type") else None
        got = np.array2string(arr, precision=6) if arr is not None else failure.message
        lines += [f"your answer: {got}", f"expected:    {np.array2string(expected, precision=6)}"]
        lines.append(f"why: {failure.message}")
        data = {n: a.tolist() for n, a in zip(names, case.args)} | {
            "got": arr.tolist() if arr is not None else got,
            "expected": expected.tolist(),
            "why": failure.message,
            "index": failure.details.get("index"),
        }
        return lines, data

    def hint(self, failures) -> str:
        case, out, failure = failures[0]
        if failure.kind == "type":
            if "transposed" in failure.message:
                return "the answer is transposed: boxes1 along the rows, boxes2 along the columns."
            return f"return a NumPy array of the expected shape; yours {failure.message}."
        if failure.kind != "wrong":
            return failure_hint(case, out, failure, self.signature)
        answers = [
            (c.args, np.asarray(o.value, dtype=np.float64))
            for c, o, f in failures
            if f.kind == "wrong" and self.size(c) <= HINT_MAX_ROWS
        ]
        for variant, hint in self.bugs.values():
            if answers and all(self._matches(variant, args, got) for args, got in answers):
                return hint
        return "no usual bug matches: recompute the first wrong entry by hand from the formula."

    def _matches(self, variant, args, got) -> bool:
        with np.errstate(all="ignore"):
            want = np.asarray(variant(*args), dtype=np.float64)
            return want.shape == got.shape and bool(
                np.allclose(want, got, rtol=self.rtol, atol=self.atol, equal_nan=True)
            )
