r"""The smooth-L1 assignment (value and gradient), graded against :func:`bboxcore.losses.smooth_l1`.

Contract: :data:`bboxcore.grading.smooth_l1.contract.SMOOTH_L1_CONTRACT`; bugs:
:mod:`bboxcore.grading.smooth_l1.bugs`. Faster R-CNN's σ form (*Detection –
3 stages*, §B5; *Object Detection – BBOX Regression*):

.. math::
    \mathrm{smooth}_{L_1}(x) = \begin{cases} \tfrac12(\sigma x)^2 & |x| < 1/\sigma^2 \\
    |x| - 0.5/\sigma^2 & \text{otherwise}\end{cases},\qquad
    \frac{d}{dx} = \begin{cases} \sigma^2 x & |x| < 1/\sigma^2 \\
    \operatorname{sign}(x) & \text{otherwise}\end{cases}

The student returns ``(loss, grad)``; the grader compares them as the (N, 2)
array whose row i is ``(loss[i], grad[i])``. Fairness: both parts meet at
:math:`|x| = 1/\sigma^2` in value and slope, so ``<`` and ``<=`` give the same
answer, and an ``x`` that float32 rounding moves across the switch changes the
answer by less than the tolerance.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import SHOW_ROWS, fmt
from bboxcore.grading.arrays import ArrayAssignment
from bboxcore.grading.runner import Case, Check
from bboxcore.grading.smooth_l1.bugs import SMOOTH_L1_BUGS
from bboxcore.grading.smooth_l1.contract import SMOOTH_L1_CONTRACT, SMOOTH_L1_SIGNATURE
from bboxcore.losses import smooth_l1, smooth_l1_backward

__all__ = ["SmoothL1Assignment"]

#: float32 unit roundoff.
U32 = 2.0**-24
#: Float32 operations on the longest path of the formula (cast of x and sigma, sigma**2,
#: x * x, the products and the subtraction), each off by at most U32 of its result.
OPS = 8
#: The sigmas of the random cases: the slides' 1 (the head) and 3 (the RPN), and others.
SIGMAS = (1.0, 3.0, 2.0, 0.5)


def _case(x, sigma: float, what: str = "") -> Case:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return Case(
        (x, float(sigma)), f"{len(x)} residuals, sigma = {sigma:g}" + (f" ({what})" if what else "")
    )


def _worked(rng):
    # sigma = 1: 0.5 x^2 inside |x| < 1, |x| - 0.5 outside (Fast R-CNN, Eq. 3)
    yield _case([0.0, 0.5, -0.5, 1.0, 2.0, -3.0], 1.0, "Fast R-CNN's numbers")


def _rpn(rng):
    # sigma = 3: the switch is at 1/9; 0.5 * 9 * 0.05^2 = 0.01125, 0.2 - 0.5/9 = 0.1444...
    yield _case([0.05, -0.1, 0.2, -1.0, 2.0], 3.0, "the RPN's sigma = 3")


def _kink(rng):
    for sigma in (1.0, 2.0, 3.0):
        b = 1.0 / sigma**2
        yield _case([b, -b, 0.0], sigma, "exactly at |x| = 1/sigma^2: both parts agree")


def _small_sigma(rng):
    yield _case([1.0, -3.0, 5.0, -4.0], 0.5, "sigma = 0.5: the switch is at |x| = 4")


def _far(rng):
    yield _case([10.0, -10.0, 1000.0, -1000.0, 1e4], 3.0, "large residuals: the linear part")


class SmoothL1Assignment(ArrayAssignment):
    """Smooth-L1 loss and its gradient, element by element, in Faster R-CNN's σ form.

    Examples
    --------
    Column 0 the loss, column 1 the gradient (σ = 1): ``0.5 * x**2`` and ``x``
    where ``|x| < 1``, ``|x| - 0.5`` and ``sign(x)`` elsewhere.

    >>> SmoothL1Assignment().reference(np.array([0.5, 2.0]), 1.0).tolist()
    [[0.125, 0.5], [1.5, 1.0]]
    """

    name = "smooth_l1"
    function = "smooth_l1"
    signature = SMOOTH_L1_SIGNATURE
    contract = SMOOTH_L1_CONTRACT
    large = ("100 000 residuals within the time limit", 100_000)
    bugs = SMOOTH_L1_BUGS

    def reference(self, x, sigma) -> np.ndarray:
        loss = smooth_l1(x, sigma)
        grad = smooth_l1_backward(1.0, x, sigma)
        return np.stack([loss, grad], axis=-1).reshape(-1, 2)

    def error_bound(self, x, sigma) -> np.ndarray:
        """Per entry: OPS float32 roundings of the branch's magnitude, plus the switch's.

        An ``x`` that rounding moves across :math:`1/\\sigma^2` changes the loss by
        :math:`O(\\sigma^2\\,\\delta x^2)` and the gradient by :math:`\\sigma^2 \\delta x`,
        both within the bound of the branch there.
        """
        x = np.abs(np.asarray(x, dtype=np.float64))
        s2 = sigma * sigma
        inside = x < 1.0 / s2
        loss = np.where(inside, 0.5 * s2 * x * x, x + 0.5 / s2)
        grad = np.where(inside, s2 * x, 1.0)
        return (OPS * U32 * np.stack([loss, grad + U32], axis=-1)).reshape(-1, 2)

    def _as_array(self, value):
        arr, problem = super()._as_array(value)
        if arr is not None and arr.ndim == 2:
            arr = arr.T  # (loss, grad) -> row i is (loss[i], grad[i])
        return arr, problem

    def entry_name(self, idx: tuple) -> str:
        return f"{('loss', 'grad')[idx[1]]}[{idx[0]}]" if len(idx) == 2 else f"entry {idx}"

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        n = expected[0]
        if len(got) == 1:
            return (
                f"return two arrays, (loss, grad), each of shape ({n},): yours is one array of "
                f"shape {got} (the loss alone, or a sum?)."
            )
        return (
            f"return (loss, grad), two arrays of shape ({n},), element by element (no sum "
            f"or mean); yours reads as shape {got[::-1]}."
        )

    #: The common checks' descriptions, in this assignment's words.
    DESCRIPTIONS = {
        "returns_array": "returns (loss, grad): two arrays of shape (N,), not one, not a sum",
        "empty_input": "no residuals (N = 0) gives two empty arrays",
        "random_cases": "seeded random cases of growing size against the reference: residuals "
        "on a 1/4 grid, normal, up to about 4000 and below 0.01, sigma 0.5 to 3",
    }

    def edge_checks(self) -> list[Check]:
        return [
            Check(
                "worked_values",
                "sigma = 1, the slides' numbers: 0.5 x^2 inside |x| < 1, |x| - 0.5 outside",
                _worked,
            ),
            Check("rpn_sigma", "sigma = 3 (the RPN): the switch at |x| = 1/9", _rpn),
            Check("kink", "|x| exactly 1/sigma^2: value and slope continuous", _kink),
            Check("small_sigma", "sigma = 0.5: the switch at |x| = 4", _small_sigma),
            Check("large_residuals", "|x| up to 1e4: the linear part, gradient sign(x)", _far),
        ]

    def empty_cases(self):
        yield _case(np.zeros(0), 1.0, "N = 0")
        yield _case(np.zeros(0), 3.0, "N = 0")

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        if regime == "mixed":
            parts = [self.random_case(rng, n // 4 + 1, r) for r in ("grid", "offgrid", "far")]
            x = np.concatenate([p.args[0] for p in parts])[:n]
            return _case(x, 3.0, "random, mixed")
        sigma = float(SIGMAS[int(rng.integers(len(SIGMAS)))])
        if regime == "grid":
            x = rng.integers(-16, 17, n) / 4.0
        elif regime == "offgrid":
            x = rng.normal(0.0, 1.5 / sigma, n)
        elif regime == "far":
            x = rng.normal(0.0, 1000.0, n)
        else:  # tiny residuals: all in the quadratic part
            x = rng.normal(0.0, 1e-3, n)
        return _case(x, sigma, f"random, {regime}")

    def describe(self, case: Case, value, failure):
        x, sigma = case.args
        index = failure.details.get("index")
        rows = list(range(min(len(x), SHOW_ROWS)))
        if index is not None and index[0] not in rows:
            rows.append(index[0])
        lines = [f"sigma: {fmt(sigma)}  (the switch at |x| = 1/sigma^2 = {fmt(1 / sigma**2)})"]
        lines.append("x: " + (", ".join(f"[{i}] {fmt(x[i])}" for i in rows) or "(empty)"))
        if len(x) > len(rows):
            lines.append(f"   ... ({len(x) - len(rows)} more: all of them in --json)")
        expected = self.reference(x, sigma)
        arr = self._as_array(value)[0] if failure.kind in ("wrong", "type") else None
        if arr is not None and arr.shape == expected.shape and index is not None:
            i = index[0]
            lines += [
                f"your answer at x[{i}]: loss {fmt(arr[i, 0])}, grad {fmt(arr[i, 1])}",
                f"expected:          loss {fmt(expected[i, 0])}, grad {fmt(expected[i, 1])}",
            ]
        else:
            lines.append(f"your answer: {failure.message}")
        lines.append(f"why: {failure.message}")
        data = {
            "x": x.tolist(),
            "sigma": sigma,
            "got": arr.T.tolist() if arr is not None else failure.message,
            "expected": expected.T.tolist(),
            "why": failure.message,
            "index": index,
        }
        return lines, data

    def strategy(self):
        from hypothesis import strategies as st

        xs = st.lists(st.integers(-12, 12), min_size=1, max_size=4)
        return st.builds(
            lambda v, s: _case(np.array(v, dtype=np.float64) / 4.0, s),
            xs,
            st.sampled_from(SIGMAS),
        )
