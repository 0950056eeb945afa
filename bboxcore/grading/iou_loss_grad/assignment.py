r"""The IoU-loss gradient assignment, graded against :func:`bboxcore.losses.iou_loss_backward`.

Contract: :data:`bboxcore.grading.iou_loss_grad.contract.IOU_LOSS_GRAD_CONTRACT`;
bugs: :mod:`bboxcore.grading.iou_loss_grad.bugs`. The hand derivation of the FCOS
slide (*Detection – 3 stages*, §N; UnitBox [1]_, Eq. 1-3): with
:math:`X = (x_t + x_b)(x_l + x_r)`, :math:`I = I_h I_w`, :math:`U = X + \tilde X - I`,

.. math::
    \frac{\partial(-\ln \tfrac IU)}{\partial x} = \frac1U\frac{\partial X}{\partial x}
        - \frac{U + I}{U I}\frac{\partial I}{\partial x}

Fairness: :math:`\min(x_t, \tilde x_t)` has a kink where the predicted side
equals the target's; the slide passes the intersection's gradient only where
:math:`x_t < \tilde x_t`, and ``<=`` (the other one-sided derivative) is as
right, so at such a side (equal, or equal after float32 rounding) both are
accepted, entry by entry. Each entry is accepted within
:data:`~bboxcore.grading._common.BOUND_FACTOR` times its float32 error bound.

References
----------
.. [1] J. Yu, Y. Jiang, Z. Wang, Z. Cao, T. Huang. "UnitBox: An Advanced
   Object Detection Network." ACM MM 2016, arXiv:1608.01471.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import BOUND_FACTOR, SHOW_ROWS, U32, fmt
from bboxcore.grading.arrays import MATCH_FACTOR, MATCH_RTOL, ArrayAssignment
from bboxcore.grading.iou_loss_grad.bugs import IOU_LOSS_GRAD_BUGS, buggy_iou_loss_grad
from bboxcore.grading.iou_loss_grad.contract import (
    IOU_LOSS_GRAD_CONTRACT,
    IOU_LOSS_GRAD_SIGNATURE,
)
from bboxcore.grading.runner import HINT_MAX_ROWS, Case, Check, Failure
from bboxcore.losses import iou_loss_backward

__all__ = ["IouLossGradAssignment", "ties"]

#: Float32 operations on the longest path of each of the two terms (sums of sides, X, the
#: mins, I_h, I_w, I, U, the quotients, the difference), each off by U32 of its result.
OPS = 12
SIDES = ("l", "t", "r", "b")


def _case(pred, target, what: str = "") -> Case:
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(target, dtype=np.float64).reshape(-1, 4)
    return Case((p, t), f"{len(p)} rows" + (f" ({what})" if what else ""))


def ties(pred, target) -> np.ndarray:
    """Sides where the prediction equals the target, or may after float32 rounding.

    Parameters
    ----------
    pred, target : array_like, shape (R, 4)
        Distances ``(l, t, r, b)``.

    Returns
    -------
    ndarray, shape (R, 4), bool
        True where both one-sided derivatives of min() are accepted.

    Examples
    --------
    >>> ties([[1.0, 2.0, 3.0, 4.0]], [[1.0, 2.5, 3.0 + 1e-9, 1.0]]).tolist()
    [[True, False, True, False]]
    """
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    return np.abs(p - t) <= 2 * U32 * (np.abs(p) + np.abs(t))


def _worked(rng):
    # Detection - 3 stages, N: X = 2 * 2 = 4, X~ = 2 * 4 = 8, I = 2 * 2 = 4, U = 8
    yield _case([[1, 1, 1, 1]], [[1, 1, 3, 1]], "the slide's numbers: U = 8, I = 4")
    # no side equal: X = 3 * 4 = 12, X~ = 3 * 4 = 12, I_h = 1 + 1, I_w = 1 + 2, I = 6, U = 18
    yield _case([[1, 2, 3, 1]], [[2, 1, 2, 2]], "X = 12, X~ = 12, I = 6, U = 18")


def _inside(rng):
    # every predicted side shorter: I = X, U = X~, the loss is ln X~ - ln X: grad = -dX / X
    yield _case([[1, 1, 1, 1], [0.5, 2, 1.5, 1]], [[2, 3, 4, 2], [1, 3, 2, 2]], "inside")


def _outside(rng):
    # every predicted side longer: I = X~, U = X, the loss is ln X - ln X~: grad = dX / X
    yield _case([[2, 3, 4, 2], [1, 3, 2, 2]], [[1, 1, 1, 1], [0.5, 2, 1.5, 1]], "outside")


def _perfect(rng):
    # pred = target: every side at the kink of min(); both one-sided gradients are accepted
    yield _case([[1, 2, 3, 4], [5, 5, 5, 5]], [[1, 2, 3, 4], [5, 5, 5, 5]], "pred = target")


def _scale(rng):
    # the loss is scale invariant, so the gradient scales as 1 / s: FCOS's levels, s = 1 to 512
    p, t = np.array([[1, 2, 3, 1]], float), np.array([[2, 1, 2, 2]], float)
    s = np.array([1, 8, 64, 512], float)[:, None]
    yield _case(p * s, t * s, "one shape at 1, 8, 64 and 512 px: grad times s is the same")


class IouLossGradAssignment(ArrayAssignment):
    """The gradient of UnitBox's IoU loss -ln IoU w.r.t. the predicted (l, t, r, b).

    Examples
    --------
    >>> IouLossGradAssignment().signature
    'iou_loss_grad(pred_ltrb, target_ltrb)'
    """

    name = "iou_loss_grad"
    function = "iou_loss_grad"
    signature = IOU_LOSS_GRAD_SIGNATURE
    contract = IOU_LOSS_GRAD_CONTRACT
    large = ("100 000 rows within the time limit", 100_000)
    bugs = IOU_LOSS_GRAD_BUGS

    def reference(self, pred_ltrb, target_ltrb) -> np.ndarray:
        return iou_loss_backward(1.0, pred_ltrb, target_ltrb, reduction="none")

    def error_bound(self, pred_ltrb, target_ltrb) -> np.ndarray:
        """Per entry: OPS float32 roundings of each of the two terms' magnitudes.

        Every intermediate is a sum or product of positive numbers except
        :math:`U = X + \\tilde X - I` (and :math:`U \\ge \\max(X, \\tilde X, I)`, so its
        error stays within :math:`3u U`): each term is off by a few ulps of itself.
        """
        p = np.asarray(pred_ltrb, np.float64)
        t = np.asarray(target_ltrb, np.float64)
        pl, pt, pr, pb = p.T
        tl, tt, tr, tb = t.T
        x_pred = (pt + pb) * (pl + pr)
        i_h = np.minimum(pt, tt) + np.minimum(pb, tb)
        i_w = np.minimum(pl, tl) + np.minimum(pr, tr)
        inter = i_h * i_w
        union = x_pred + (tt + tb) * (tl + tr) - inter
        d_x = np.stack([pt + pb, pl + pr, pt + pb, pl + pr], axis=1)
        d_i = np.stack([i_h, i_w, i_h, i_w], axis=1)  # the largest the I term can be
        with np.errstate(divide="ignore", invalid="ignore"):
            term_x = d_x / union[:, None]
            term_i = ((union + inter) / (union * inter))[:, None] * d_i
        return OPS * U32 * (term_x + term_i)

    def _either(self, case: Case):
        """The reference, its ``<=`` twin and the accepted error (kept for the last case)."""
        last = getattr(self, "_last2", None)
        if last is None or last[0] is not case:
            p, t = case.args
            bound = BOUND_FACTOR * self.error_bound(p, t) + self.REFERENCE_ATOL
            tie = ties(p, t)
            ref = self.reference(p, t)
            other = np.where(tie, buggy_iou_loss_grad(p, t, le=True), ref)
            self._last2 = (case, ref, other, bound)
        return self._last2[1:]

    def judge_value(self, case: Case, value) -> Failure | None:
        arr, problem = self._as_array(value)
        if arr is None:
            return Failure(problem, "type")
        expected, other, bound = self._either(case)
        if arr.shape != expected.shape:
            return self._shape_failure(arr.shape, expected.shape)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(arr - expected) <= bound) & ~(np.abs(arr - other) <= bound)
        if not bad.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        also = ""
        if other[idx] != expected[idx]:
            also = f" or {fmt(other[idx])} (pred = target on that side: min() has a kink)"
        return Failure(
            f"{self.entry_name(idx)} = {fmt(arr[idx])}, expected {fmt(expected[idx])}{also} "
            f"(float32 rounding allows {float(bound[idx]):.2g})",
            details={"index": idx, "got": float(arr[idx]), "expected": float(expected[idx])},
        )

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        got, _ = self._as_array(value)
        if got is None or self.size(case) > HINT_MAX_ROWS:
            return None
        p, t = case.args
        with np.errstate(all="ignore"):
            want = np.asarray(self.bugs[bug][0](p, t), dtype=np.float64)
            other = np.where(ties(p, t), buggy_iou_loss_grad(p, t, bug, le=True), want)
        if want.shape != got.shape:
            return False
        tol = MATCH_FACTOR * self.error_bound(p, t)
        with np.errstate(invalid="ignore"):
            close = np.abs(want - got) <= tol + MATCH_RTOL * np.abs(want)
            close |= np.abs(other - got) <= tol + MATCH_RTOL * np.abs(other)
        return bool(close.all())

    def entry_name(self, idx: tuple) -> str:
        if len(idx) == 2 and idx[1] < 4:
            return f"grad[{idx[0]}] d/d{SIDES[idx[1]]}"
        return f"entry {list(idx)}"

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        if len(got) <= 1:
            return (
                f"return the gradient, one row (dL/dl, dL/dt, dL/dr, dL/db) per row of "
                f"pred_ltrb: shape {expected}; yours has shape {got} (the loss, or a sum?)."
            )
        return f"return the (R, 4) gradient, here of shape {expected}; yours has shape {got}."

    DESCRIPTIONS = {
        "returns_array": "returns the (R, 4) gradient, one row per row of pred_ltrb",
        "empty_input": "no rows (R = 0) gives an empty (0, 4) array",
        "random_cases": "seeded random cases of growing size against the reference: sides "
        "on a 1/4 grid, anywhere, up to 2000 px (FCOS's top level) and below 1 px",
    }

    def edge_checks(self) -> list[Check]:
        return [
            Check("worked_values", "the slide's numbers (U = 8, I = 4) and one more", _worked),
            Check("pred_inside", "every predicted side shorter: grad = -dX/dx / X", _inside),
            Check("pred_outside", "every predicted side longer: grad = dX/dx / X", _outside),
            Check(
                "perfect_prediction",
                "pred = target: either one-sided gradient of min() is accepted",
                _perfect,
            ),
            Check("scale", "the same shape at 1 to 512 px: the gradient scales as 1/s", _scale),
        ]

    def empty_cases(self):
        yield _case(np.zeros((0, 4)), np.zeros((0, 4)), "R = 0")

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        if regime == "mixed":
            parts = [self.random_case(rng, n // 4 + 1, r) for r in ("grid", "offgrid", "far")]
            p = np.concatenate([c.args[0] for c in parts])[:n]
            t = np.concatenate([c.args[1] for c in parts])[:n]
            return _case(p, t, "random, mixed")
        if regime == "grid":
            p = rng.integers(1, 33, (n, 4)) / 4.0
            t = np.where(rng.random((n, 4)) < 0.2, p, rng.integers(1, 33, (n, 4)) / 4.0)
        else:
            lo, hi = {"offgrid": (0.5, 20.0), "far": (50.0, 2000.0), "tiny": (0.01, 1.0)}[regime]
            p = np.exp(rng.uniform(np.log(lo), np.log(hi), (n, 4)))
            t = p * np.exp(rng.uniform(-0.7, 0.7, (n, 4)))
        return _case(p, t, f"random, {regime}")

    def valid(self, case: Case) -> bool:
        return all(bool((a > 0).all()) for a in case.args)

    def describe(self, case: Case, value, failure: Failure):
        p, t = case.args
        index = failure.details.get("index")
        rows = list(range(min(len(p), SHOW_ROWS)))
        if index is not None and index[0] not in rows:
            rows.append(index[0])
        lines = ["rows: pred_ltrb (l, t, r, b) | target_ltrb"]
        for i in rows:
            lines.append(
                f"  {i}: [{', '.join(fmt(v) for v in p[i])}] | [{', '.join(fmt(v) for v in t[i])}]"
            )
        if len(p) > len(rows):
            lines.append(f"  ... ({len(p) - len(rows)} more rows: all of them in --json)")
        expected = self.reference(p, t)
        arr = self._as_array(value)[0] if failure.kind in ("wrong", "type") else None
        if arr is not None and arr.shape == expected.shape and index is not None:
            i = index[0]
            pl, pt, pr, pb = p[i]
            tl, tt, tr, tb = t[i]
            x, xt = (pt + pb) * (pl + pr), (tt + tb) * (tl + tr)
            ih = min(pt, tt) + min(pb, tb)
            iw = min(pl, tl) + min(pr, tr)
            lines += [
                f"row {i}: X = {fmt(x)}, X~ = {fmt(xt)}, I_h = {fmt(ih)}, I_w = {fmt(iw)}, "
                f"I = {fmt(ih * iw)}, U = {fmt(x + xt - ih * iw)}",
                f"your answer, row {i}: {np.array2string(arr[i], precision=6)}",
                f"expected,    row {i}: {np.array2string(expected[i], precision=6)}",
            ]
        else:
            lines.append(f"your answer: {failure.message}")
        lines.append(f"why: {failure.message}")
        data = {
            "pred_ltrb": p.tolist(),
            "target_ltrb": t.tolist(),
            "got": arr.tolist() if arr is not None else failure.message,
            "expected": expected.tolist(),
            "why": failure.message,
            "index": index,
        }
        return lines, data

    def strategy(self):
        from hypothesis import strategies as st

        side = st.integers(1, 8)
        row = st.tuples(*[side] * 8)
        return st.lists(row, min_size=1, max_size=3).map(
            lambda rows: _case(
                np.array(rows, float)[:, :4] / 2.0, np.array(rows, float)[:, 4:] / 2.0
            )
        )
