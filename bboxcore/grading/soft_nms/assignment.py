r"""The Soft-NMS assignment (*Detection – 3 stages*, §A*; Bodla et al. 2017), graded against
:func:`bboxcore.nms_variants.soft_nms`.

The judge replays the student's answer: at each step the box they took must
have the highest *current* score (near-ties within the float32 error bound may
go either way), the score they report for it must be its decayed score at that
moment, and the other scores are then decayed by :math:`f(\mathrm{IoU})` by
:func:`bboxcore.grading.soft_nms.bugs.decay` without a bug (Bodla et al.,
Eq. 2 and 3), the same function that the bug variants switch one term of. At
the end no box whose score is still above ``score_thresh`` may be missing.

Tolerance: alongside each score the replay carries the first-order float32
error bound of a correct implementation: the score's own rounding
(:math:`u|s|`, :math:`u = 2^{-24}`), then at each decay
:math:`e \leftarrow e f + s\, e_f + u s f`, with :math:`e_f` the bound of the
factor from the IoU's bound (:func:`~bboxcore.grading.iou.tolerance.iou_error_bound`):
:math:`e_{\mathrm{IoU}}` for the linear factor, :math:`f (2\,\mathrm{IoU}\,
e_{\mathrm{IoU}} / \sigma + u(\mathrm{IoU}^2/\sigma + 2))` for the Gaussian one;
:data:`~bboxcore.grading._common.BOUND_FACTOR` times it is accepted. Checks
use boxes of positive area and no pair whose IoU could be decided either way
at ``iou_thresh`` (see :func:`bboxcore.grading.nms.judge.nms_decisions`).
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import BOUND_FACTOR, INDEX_MAX, SHOW_ROWS, U32, short
from bboxcore.grading.iou.tolerance import iou_error_bound
from bboxcore.grading.runner import HINT_MAX_ROWS as HINT_MAX_BOXES
from bboxcore.grading.runner import Assignment, Case, Check, Failure
from bboxcore.grading.soft_nms import cases
from bboxcore.grading.soft_nms.bugs import SOFT_NMS_BUGS, buggy_soft_nms, decay
from bboxcore.grading.soft_nms.contract import SOFT_NMS_CONTRACT, SOFT_NMS_SIGNATURE
from bboxcore.grading.worker import Opaque
from bboxcore.iou import box_iou
from bboxcore.nms_variants import soft_nms

__all__ = ["SoftNmsAssignment", "as_pair", "soft_nms_failure"]

#: Relative tolerance of the current-score comparison that picks the next box.
PICK_TOL = 1e-6
#: Added to the float32 error bound of a score (the float64 replay's own rounding).
SCORE_ATOL = 1e-12
#: A bug variant reproduces a reported score within this relative tolerance.
SCORE_RTOL = 1e-5


def as_pair(value) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The student's ``(keep, kept_scores)``, or ``(None, None, what is wrong)``.

    Parameters
    ----------
    value : object
        What the student's ``soft_nms`` returned, as decoded by the worker: a
        pair of equal-length sequences of numbers arrives as one ``(2, K)``
        ndarray, a pair of different lengths as an
        :class:`~bboxcore.grading.worker.Opaque` holding its two items.

    Returns
    -------
    keep : ndarray, shape (K,), int64, or None
        The kept indices, not yet checked for range or order.
    kept : ndarray, shape (K,), float64, or None
        The score reported for each kept box.
    problem : str
        ``''`` when the pair could be read, else one line for the report (not a
        pair, not 1-D, lengths differ, non-integer indices).

    Examples
    --------
    >>> as_pair(np.array([[1., 0.], [0.9, 0.5]]))  # ([1, 0], [0.9, 0.5]) arrives as (2, K)
    (array([1, 0]), array([0.9, 0.5]), '')
    >>> as_pair(np.array([1, 0]))[2]
    'returned an array of shape (2,); expected a pair (keep, kept_scores)'
    """
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == 2:
        parts = [value[0], value[1]]  # two equal-length sequences arrive as one (2, K) array
    elif isinstance(value, Opaque) and len(value.items) == 2:
        parts = list(value.items)
    else:
        what = (
            f"{value!r}"
            if not isinstance(value, np.ndarray)
            else f"an array of shape {value.shape}"
        )
        return None, None, f"returned {what}; expected a pair (keep, kept_scores)"
    keep, kept = (np.asarray(p) if isinstance(p, np.ndarray) else None for p in parts)
    if keep is None or kept is None or keep.ndim != 1 or kept.ndim != 1:
        return None, None, "keep and kept_scores must both be 1-D lists or arrays"
    if len(keep) != len(kept):
        return None, None, f"keep has {len(keep)} entries but kept_scores {len(kept)}"
    integral = (np.abs(keep) < INDEX_MAX).all() and (keep == np.round(keep)).all()
    if keep.size and keep.dtype.kind not in "iu" and not integral:
        return None, None, f"keep holds non-integer values {short(keep)}"
    return keep.astype(np.int64), kept.astype(np.float64), ""


def _decay_error(iou, e_iou, f, method: str, iou_thresh: float, sigma: float) -> np.ndarray:
    """First-order float32 error bound of the decay factor f(IoU), given IoU's bound."""
    if method == "gaussian":  # d/dIoU exp(-IoU^2 / sigma) = -2 IoU / sigma f
        return f * (2 * iou * e_iou / sigma + U32 * (iou * iou / sigma + 2))
    return np.where(iou > iou_thresh, e_iou + U32, 0.0)  # 1 - IoU


def soft_nms_failure(boxes, scores, iou_thresh, sigma, score_thresh, method, keep, kept):
    """None if ``(keep, kept)`` is an acceptable Soft-NMS answer, else the first thing wrong.

    Parameters
    ----------
    boxes : ndarray, shape (N, 4)
    scores : ndarray, shape (N,)
    iou_thresh, sigma, score_thresh : float
    method : {'linear', 'gaussian'}
    keep : ndarray, shape (K,), int
        The student's indices, in the order taken.
    kept : ndarray, shape (K,), float
        The scores they report for them.

    Returns
    -------
    Failure or None

    Examples
    --------
    >>> boxes = np.array([[0., 0., 10., 10.], [5., 0., 15., 10.]])  # IoU 1/3
    >>> args = (boxes, np.array([0.9, 0.8]), 0.3, 0.5, 0.001, "linear")
    >>> soft_nms_failure(*args, np.array([0, 1]), np.array([0.9, 0.8 * 2 / 3])) is None
    True
    >>> print(soft_nms_failure(*args, np.array([0, 1]), np.array([0.9, 0.8])).message)
    box 1's score when taken is 0.533333; you returned 0.8 (float32 rounding allows 2.1e-06)
    """
    n = len(scores)
    bad = keep[(keep < 0) | (keep >= n)]
    if bad.size:
        return Failure(f"index {int(bad[0])} is out of range for {n} boxes", "type")
    uniq, counts = np.unique(keep, return_counts=True)
    if (counts > 1).any():
        return Failure(f"box {int(uniq[counts > 1][0])} is taken more than once", "type")
    iou = box_iou(boxes, boxes)
    e_iou = iou_error_bound(boxes, boxes, factor=1.0)  # first order; the factor comes last
    s = np.asarray(scores, dtype=np.float64).copy()
    e = U32 * np.abs(s)  # float32 rounding of each score, then carried through every decay
    st = float(score_thresh)

    def tol(i):  # accepted error of box i's current score
        return BOUND_FACTOR * e[i] + SCORE_ATOL

    alive = s > st + tol(slice(None))  # certainly still in the race
    optional = np.abs(s - st) <= tol(slice(None))  # at score_thresh within rounding: either way
    for p, k in enumerate(keep.tolist()):
        if not (alive[k] or optional[k]):
            return Failure(
                f"box {k} is kept, but its score had fallen to {s[k]:.6g} <= score_thresh = {st:g}",
                details={"box": k},
            )
        if alive.any():
            top = int(np.flatnonzero(alive)[np.argmax(s[alive])])
            slack = tol(k) + tol(top) + PICK_TOL * abs(s[top])
            if s[k] < s[top] - slack:
                return Failure(
                    f"step {p + 1} took box {k} (current score {s[k]:.6g}) while box {top} had "
                    f"a higher current score {s[top]:.6g}",
                    details={"pair": (top, k)},
                )
        if not abs(kept[p] - s[k]) <= tol(k):
            return Failure(
                f"box {k}'s score when taken is {s[k]:.6g}; you returned {kept[p]:.6g} "
                f"(float32 rounding allows {tol(k):.2g})",
                details={"box": k},
            )
        alive[k] = optional[k] = False
        live = np.flatnonzero(alive | optional)
        f = decay(iou[k, live], method, iou_thresh, sigma)  # s_i <- s_i f(IoU(M, b_i))
        e_f = _decay_error(iou[k, live], e_iou[k, live], f, method, iou_thresh, sigma)
        e[live] = e[live] * f + s[live] * e_f + U32 * s[live] * f
        s[live] *= f
        optional[:] = False
        alive[:] = False
        optional[live] = np.abs(s[live] - st) <= tol(live)
        alive[live] = s[live] > st + tol(live)
    if alive.any():
        j = int(np.flatnonzero(alive)[np.argmax(s[alive])])
        return Failure(
            f"box {j} is missing: its score is still {s[j]:.6g} > score_thresh = {st:g}",
            details={"box": j},
        )
    return None


class SoftNmsAssignment(Assignment):
    """Soft-NMS, linear and Gaussian.

    Examples
    --------
    >>> SoftNmsAssignment().arg_names()
    ['boxes', 'scores', 'iou_thresh', 'sigma', 'score_thresh', 'method']
    """

    name = "soft_nms"
    function = "soft_nms"
    signature = SOFT_NMS_SIGNATURE
    contract = SOFT_NMS_CONTRACT

    def checks(self) -> list[Check]:
        return cases.soft_nms_checks(self)

    def judge_value(self, case: Case, value) -> Failure | None:
        keep, kept, problem = as_pair(value)
        if keep is None:
            return Failure(problem, "type")
        return soft_nms_failure(*case.args, keep, kept)

    def judge_pair(self, case: Case, out) -> Failure | None:
        """Only the kind of answer: a pair ``(keep, kept_scores)`` (the ``returns_pair`` check).

        Parameters
        ----------
        case : Case
        out : Outcome
            The call's outcome; one that did not return is judged by :meth:`judge`.

        Returns
        -------
        Failure or None
            A ``'type'`` failure saying what was returned instead.

        Examples
        --------
        >>> from bboxcore.grading.worker import Outcome
        >>> a = SoftNmsAssignment()
        >>> case = Case((np.array([[0, 0, 10, 10.]]), np.array([0.9]), 0.3, 0.5, 0.001, "linear"))
        >>> a.judge_pair(case, Outcome("ok", np.array([0]))).message
        'returned an array of shape (1,); expected a pair (keep, kept_scores)'
        """
        if out.status != "ok":
            return self.judge(case, out)
        problem = as_pair(out.value)[2]
        return Failure(problem, "type") if problem else None

    def strategy(self):
        return cases.soft_nms_search_cases()

    def note(self, args: tuple) -> str:
        return f"{len(args[1])} boxes, {args[5]}"

    def valid(self, case: Case) -> bool:
        boxes, t = case.args[0], case.args[2]
        positive = bool((boxes[:, 2:] > boxes[:, :2]).all())
        return positive and cases.unambiguous(boxes, t)

    def describe(self, case: Case, value, failure: Failure):
        boxes, scores, t, sigma, st, method = case.args
        lines = ["boxes (x_min, y_min, x_max, y_max) and scores:"]
        lines += [
            f"  {i}: [{', '.join(f'{v:g}' for v in boxes[i])}]  score {scores[i]:g}"
            for i in range(min(len(scores), SHOW_ROWS))
        ] or ["  (no boxes: shape (0, 4))"]
        if len(scores) > SHOW_ROWS:
            lines.append(f"  ... ({len(scores) - SHOW_ROWS} more boxes: all of them in --json)")
        lines.append(f"method={method!r}, iou_thresh={t:g}, sigma={sigma:g}, score_thresh={st:g}")
        keep_ref, kept_ref = soft_nms(boxes, scores, t, sigma, st, method)
        keep, kept, _ = as_pair(value) if failure.kind in ("wrong", "type") else (None, None, "")
        if keep is not None:
            got = _pair_text(keep, kept)
        else:
            got = failure.message if failure.kind != "type" else repr(value)
        lines += [
            f"your answer: {got}",
            f"expected:    {_pair_text(keep_ref, kept_ref)}",
            f"why: {failure.message}",
        ]
        data = {
            "boxes": boxes.tolist(),
            "scores": scores.tolist(),
            "iou_thresh": t,
            "sigma": sigma,
            "score_thresh": st,
            "method": method,
            "got": [keep.tolist(), kept.tolist()] if keep is not None else got,
            "expected": [keep_ref.tolist(), kept_ref.tolist()],
            "why": failure.message,
        }
        return lines, data

    bug_hints = SOFT_NMS_BUGS

    def type_hint(self, failure: Failure) -> str:
        return (
            "return a pair (keep, kept_scores): the indices in the order they were taken "
            "and each one's score at that moment, e.g. `return keep, kept_scores`."
        )

    def probe_case(self, rng: np.random.Generator, k: int) -> Case:
        method = ("linear", "gaussian")[k % 2]
        return cases.random_soft_case(rng, 2 + k % 5, method, (0.3, 0.5)[k // 2 % 2])

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        keep, kept, _ = as_pair(value)
        if keep is None or len(case.args[1]) > HINT_MAX_BOXES:
            return None
        return _replays(bug, case, keep, kept)


def _pair_text(keep, kept) -> str:
    return f"keep {short(keep, 32)}, scores {np.array2string(np.asarray(kept), precision=6)}"


def _replays(bug: str, case: Case, keep, kept) -> bool:
    want_keep, want_kept = buggy_soft_nms(*case.args, bug)
    return list(want_keep) == keep.tolist() and np.allclose(
        want_kept, kept, rtol=SCORE_RTOL, atol=1e-6
    )
