r"""The NMS assignment (*Detection – 3 stages*, "Q. NMS (Your Assignment)") and its judge.

The contract
------------
The student's file defines ``nms(boxes, scores, iou_thresh)``: ``boxes`` is an
(N, 4) float array of ``(x_min, y_min, x_max, y_max)``, ``scores`` an (N,)
array, ``iou_thresh`` a float in [0, 1]. It returns the indices (into the input)
of the kept boxes in decreasing score order, as a list or a 1-D integer array.
A box is suppressed when its IoU with a kept, higher-ranked box is **greater**
than ``iou_thresh`` (*Detection – 3 stages*, §A3.b: sort by score; take the first; remove
those overlapping it; repeat).

Fairness: an answer is accepted when it is what greedy NMS returns for *some*
order of the exactly-equal scores, and for *some* decision on the pairs whose
IoU is within :data:`IOU_TOL` of the threshold (float32 and float64 may round
them either way) or undefined (two zero-area boxes: 0 / 0). A pair whose IoU
equals the threshold exactly, and that every float computation gets exactly
(e.g. IoU = 2/4 at 0.5), is decided: kept.

How: an ordered answer K is a greedy NMS result iff (a) no two boxes of K
overlap by more than the threshold, and (b) every box outside K overlaps by
more than the threshold some box of K whose score is at least its own. The
judge walks the boxes by rank and reports the first box where (a) or (b) fails.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from bboxcore.boxes import box_area
from bboxcore.grading._common import INDEX_MAX, SHOW_ROWS, U32, short
from bboxcore.grading.iou.tolerance import iou_error_bound
from bboxcore.grading.nms import cases
from bboxcore.grading.nms.bugs import NMS_BUGS, reproduces_nms
from bboxcore.grading.nms.contract import NMS_CONTRACT, NMS_SIGNATURE
from bboxcore.grading.runner import Assignment, Case, Check, Failure
from bboxcore.grading.worker import Opaque
from bboxcore.iou import box_iou
from bboxcore.nms import nms

__all__ = ["IOU_TOL", "NmsAssignment", "as_keep", "nms_decisions", "nms_failure"]

#: IoUs within this distance of the threshold may be decided either way (float32
#: rounding of an IoU in [0, 1] is ~6e-8; this leaves room for a few operations).
IOU_TOL = 1e-6
#: The float32 error bound of an IoU is only computed for pairs this close to the threshold
#: (it reaches this size only for boxes far smaller than the float32 spacing of their corners).
FAR_FROM_THRESH = 1e-2
#: Failing cases larger than this are not replayed through the bug variants (pure Python).
HINT_MAX_BOXES = 64


# --------------------------------------------------------------------------- the answer
def as_keep(value) -> tuple[np.ndarray | None, str]:
    """The student's answer as int64 indices, or ``(None, what is wrong with it)``.

    Integral floats are accepted here (the ``index_type`` check fails them).

    Parameters
    ----------
    value : object
        What the student's ``nms`` returned, as decoded by the worker: an
        ndarray for anything array-like of numbers (a list of ints arrives as
        an int64 array), None, or an :class:`~bboxcore.grading.worker.Opaque`
        for anything else.

    Returns
    -------
    keep : ndarray, shape (K,), int64, or None
        The returned indices, not yet checked for range, duplicates or order;
        None when ``value`` cannot be read as indices.
    problem : str
        ``''`` when ``keep`` is set, else one line for the report saying what
        was returned instead (None, a boolean mask, boxes, a 2-D array,
        non-integer values, another type).

    Examples
    --------
    >>> as_keep(np.array([2, 0]))
    (array([2, 0]), '')
    >>> as_keep(np.zeros((2, 4)))[1]
    'returned an array of shape (2, 4): boxes, not indices (return i, not boxes[i])'
    """
    if value is None:
        return None, "returned None (is the return statement missing?)"
    if isinstance(value, Opaque):
        return None, f"returned {value!r}, not a list of indices"
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return None, "returned a boolean mask; return the indices of the kept boxes instead"
    if arr.ndim == 2 and arr.shape[1] == 4:
        return (
            None,
            f"returned an array of shape {arr.shape}: boxes, not indices (return i, not boxes[i])",
        )
    if arr.ndim != 1:
        return None, f"returned an array of shape {arr.shape}; expected a 1-D list of indices"
    if (
        arr.size
        and arr.dtype.kind == "f"
        and not ((np.abs(arr) < INDEX_MAX).all() and (arr == np.round(arr)).all())
    ):
        return None, f"returned non-integer values {short(arr)}; expected indices"
    return arr.astype(np.int64), ""


# --------------------------------------------------------------------------- exact IoU
def _exact_terms(a, b) -> tuple[Fraction, Fraction, list[Fraction]]:
    """Intersection, union and every intermediate of two boxes, exactly (floats as fractions)."""
    ax1, ay1, ax2, ay2 = (Fraction(float(v)) for v in a)
    bx1, by1, bx2, by2 = (Fraction(float(v)) for v in b)
    iw = max(Fraction(0), min(ax2, bx2) - max(ax1, bx1))
    ih = max(Fraction(0), min(ay2, by2) - max(ay1, by1))
    area_a, area_b = (ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1)
    inter = iw * ih
    union = area_a + area_b - inter
    terms = [ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, ax2 - ax1, ay2 - ay1, bx2 - bx1, by2 - by1]
    return inter, union, terms + [iw, ih, area_a, area_b, area_a + area_b, inter, union]


def _float32_exact(x: Fraction) -> bool:
    return Fraction(float(np.float32(float(x)))) == x


def _exactly_not_over(a, b, t: float) -> bool:
    """True when IoU(a, b) == t exactly and every float computation of it gives exactly t."""
    inter, union, terms = _exact_terms(a, b)
    if union == 0 or inter / union != Fraction(t):
        return False
    if inter == 0 or inter == union:  # 0 and 1 come out exact in any float arithmetic
        return True
    return _float32_exact(Fraction(t)) and all(_float32_exact(v) for v in terms)


def nms_decisions(boxes: np.ndarray, iou_thresh: float):
    """Which pairs must suppress each other, and which may go either way.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels; converted to float64.
        Zero-area boxes are allowed.
    iou_thresh : float
        The NMS threshold: a pair with IoU strictly above it suppresses.

    Returns
    -------
    iou : ndarray, shape (N, N), float64
        Pairwise IoU, :func:`bboxcore.iou.box_iou` (0 for a zero-area box).
    over : ndarray, shape (N, N), bool
        IoU > iou_thresh (the reference decision); False for a pair that sits
        exactly at the threshold in every float arithmetic.
    either : ndarray, shape (N, N), bool
        Either decision is accepted: IoU within IOU_TOL, or within the float32
        error bound of the IoU (:func:`~bboxcore.grading.iou.tolerance.iou_error_bound`)
        if that is larger, of the threshold (unless exactly at it in every float
        arithmetic), or both boxes of zero area.

    Examples
    --------
    >>> b = np.array([[0., 0., 3., 1.], [1., 0., 4., 1.], [0., 0., 0., 0.], [1., 1., 1., 1.]])
    >>> iou, over, either = nms_decisions(b, 0.5)
    >>> float(iou[0, 1]), bool(over[0, 1]), bool(either[0, 1]), bool(either[2, 3])
    (0.5, False, False, True)
    """
    b = np.asarray(boxes, dtype=np.float64)
    iou = box_iou(b, b)
    over = iou > iou_thresh
    gap = np.abs(iou - iou_thresh)
    either = gap <= IOU_TOL
    maybe = (gap <= FAR_FROM_THRESH) & ~either  # only these can be within a larger bound...
    sides = (b[:, 2:] - b[:, :2]).ravel()
    sides = sides[sides > 0]
    if sides.size and 64 * U32 * np.abs(b).max() / sides.min() > FAR_FROM_THRESH:
        maybe = ~either  # ... unless some box is tiny for its coordinates: check every pair
    if maybe.any():
        rows = np.flatnonzero(maybe.any(axis=1))
        sub = np.ix_(rows, rows)
        either[sub] |= gap[sub] <= iou_error_bound(b[rows], b[rows])
    for i, j in zip(*np.nonzero(np.triu(either, 1))):
        if _exactly_not_over(b[i], b[j], iou_thresh):
            either[i, j] = either[j, i] = False
            over[i, j] = over[j, i] = False
    zero = box_area(b) == 0
    either |= zero[:, None] & zero[None, :]  # 0 / 0: undefined
    return iou, over, either


# --------------------------------------------------------------------------- the judge
def _iou_text(boxes, i: int, j: int) -> str:
    inter, union, _ = _exact_terms(boxes[i], boxes[j])
    if union == 0:
        return f"IoU(box {i}, box {j}) = 0 / 0 (both have zero area)"
    value = float(inter / union)
    return f"IoU(box {i}, box {j}) = {float(inter):g} / {float(union):g} = {value:.6g}"


def nms_failure(
    boxes, scores, iou_thresh: float, keep: np.ndarray, decisions=None
) -> Failure | None:
    """None if ``keep`` is an acceptable NMS answer, else the first thing wrong with it.

    Parameters
    ----------
    boxes : ndarray, shape (N, 4)
    scores : ndarray, shape (N,)
    iou_thresh : float
    keep : ndarray, shape (K,), int
        The student's answer.
    decisions : tuple, optional
        ``nms_decisions(boxes, iou_thresh)``, if already computed.

    Returns
    -------
    Failure or None
        ``details`` holds the deciding ``pair`` (i, j) and its ``iou`` when there is one.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 4., 1.], [1., 0., 5., 1.]])  # IoU = 3 / 5
    >>> print(nms_failure(boxes, np.array([0.9, 0.8]), 0.5, np.array([0, 1])).message)
    boxes 0 and 1 are both kept, but IoU(box 0, box 1) = 3 / 5 = 0.6 > iou_thresh = 0.5
    >>> nms_failure(boxes, np.array([0.8, 0.8]), 0.5, np.array([1])) is None  # a tie
    True
    """
    n = len(scores)
    t = float(iou_thresh)
    bad = keep[(keep < 0) | (keep >= n)]
    if bad.size:
        return Failure(f"index {int(bad[0])} is out of range for {n} boxes", "type")
    uniq, counts = np.unique(keep, return_counts=True)
    if (counts > 1).any():
        return Failure(f"index {int(uniq[counts > 1][0])} appears more than once", "type")
    s = np.asarray(scores, dtype=np.float64)
    drops = np.flatnonzero(s[keep][1:] > s[keep][:-1])
    if drops.size:
        p = int(drops[0])
        i, j = int(keep[p]), int(keep[p + 1])
        return Failure(
            f"box {j} (score {s[j]:g}) comes after box {i} (score {s[i]:g}): the kept "
            "indices must be in decreasing score order",
            details={"order": (i, j)},
        )
    iou, over, either = decisions if decisions is not None else nms_decisions(boxes, t)
    kept = np.zeros(n, dtype=bool)
    kept[keep] = True
    position = np.full(n, n, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    # Walk by rank: higher score first; within equal scores the kept boxes first, in the
    # student's order (the tie order that makes the answer greedy, if there is one).
    rank = np.lexsort((np.arange(n), position, ~kept, -s))
    seen_kept: list[int] = []
    for j in rank.tolist():
        if kept[j]:
            bad_i = [i for i in seen_kept if over[i, j] and not either[i, j]]
            if bad_i:
                i = bad_i[0]
                return Failure(
                    f"boxes {i} and {j} are both kept, but {_iou_text(boxes, i, j)} "
                    f"> iou_thresh = {t:g}",
                    details={"pair": (i, j), "iou": float(iou[i, j])},
                )
            seen_kept.append(j)
            continue
        higher = [i for i in seen_kept if s[i] >= s[j]]
        if not any(over[i, j] or either[i, j] for i in higher):
            msg = (
                f"box {j} was removed, but no kept box with a higher score overlaps it "
                f"by more than iou_thresh = {t:g}"
            )
            details: dict = {"removed": j}
            if higher:
                i = max(higher, key=lambda k: iou[k, j])
                msg += f" (the largest is {_iou_text(boxes, i, j)})"
                details |= {"pair": (i, j), "iou": float(iou[i, j])}
            return Failure(msg, details=details)
    return None


class NmsAssignment(Assignment):
    """Traditional (greedy) NMS, graded against :func:`bboxcore.nms.nms`.

    Examples
    --------
    >>> a = NmsAssignment()
    >>> a.name, a.signature
    ('nms', 'nms(boxes, scores, iou_thresh)')
    """

    name = "nms"
    function = "nms"
    signature = NMS_SIGNATURE
    contract = NMS_CONTRACT

    def checks(self) -> list[Check]:
        return cases.nms_checks(self)

    def judge_value(self, case: Case, value) -> Failure | None:
        keep, problem = as_keep(value)
        if keep is None:
            return Failure(problem, "type")
        last = getattr(self, "_last", None)  # the decisions of the last case judged
        if last is None or last[0] is not case:
            self._last = (case, nms_decisions(case.args[0], case.args[2]))
        return nms_failure(*case.args, keep, self._last[1])

    def judge_returns_indices(self, case: Case, out) -> Failure | None:
        """Only the kind of answer: indices, not boxes, a mask, None...

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
        >>> from bboxcore.grading.runner import Case
        >>> from bboxcore.grading.worker import Outcome
        >>> a = NmsAssignment()
        >>> case = Case((np.array([[0, 0, 10, 10], [20, 20, 30, 30.]]), np.array([0.9, 0.8]), 0.5))
        >>> a.judge_returns_indices(case, Outcome("ok", np.array([True, True]))).message
        'returned a boolean mask; return the indices of the kept boxes instead'
        >>> a.judge_returns_indices(case, Outcome("ok", np.array([0, 1]))) is None
        True
        """
        if out.status != "ok":
            return self.judge(case, out)
        problem = as_keep(out.value)[1]
        return Failure(problem, "type") if problem else None

    def judge_index_type(self, case: Case, out) -> Failure | None:
        """A list or 1-D integer array of distinct indices in [0, N).

        Parameters
        ----------
        case : Case
        out : Outcome
            The call's outcome; one that did not return is judged by :meth:`judge`.

        Returns
        -------
        Failure or None
            A ``'type'`` failure for floats, repeated or out-of-range indices.

        Examples
        --------
        >>> from bboxcore.grading.runner import Case
        >>> from bboxcore.grading.worker import Outcome
        >>> a = NmsAssignment()
        >>> case = Case((np.array([[0, 0, 10, 10], [20, 20, 30, 30.]]), np.array([0.9, 0.8]), 0.5))
        >>> a.judge_index_type(case, Outcome("ok", np.array([0.0, 1.0]))).message
        'returned floats [0, 1]; indices must be integers'
        >>> a.judge_index_type(case, Outcome("ok", np.array([0, 5]))).message
        'index 5 is out of range for 2 boxes'
        """
        if out.status != "ok":
            return self.judge(case, out)
        keep, problem = as_keep(out.value)
        if keep is None:
            return Failure(problem, "type")
        arr = np.asarray(out.value)
        if arr.size and arr.dtype.kind == "f":
            return Failure(
                f"returned floats {short(arr)}; indices must be integers",
                "type",
            )
        n = len(case.args[1])
        f = nms_failure(*case.args, keep)
        if f is not None and f.kind == "type":
            return f
        if keep.size > n:
            return Failure(f"returned {keep.size} indices for {n} boxes", "type")
        return None

    def strategy(self):
        return cases.nms_search_cases()

    def note(self, args: tuple) -> str:
        return f"{len(args[1])} boxes, iou_thresh={args[2]:g}"

    def describe(self, case: Case, value, failure: Failure):
        boxes, scores, t = case.args
        lines = ["boxes (x_min, y_min, x_max, y_max) and scores:"]
        lines += [
            f"  {i}: [{', '.join(f'{v:g}' for v in boxes[i])}]  score {scores[i]:g}"
            for i in range(min(len(scores), SHOW_ROWS))
        ] or ["  (no boxes: shape (0, 4))"]
        if len(scores) > SHOW_ROWS:
            lines.append(f"  ... ({len(scores) - SHOW_ROWS} more boxes: all of them in --json)")
        expected = nms(boxes, scores, t)
        keep, _ = as_keep(value) if failure.kind in ("wrong", "type") else (None, "")
        got = short(keep, 32) if keep is not None else self._got_text(value, failure)
        lines += [
            f"iou_thresh: {t:g}",
            f"your answer: {got}",
            f"expected:    {short(expected, 32)}",
        ]
        if len(np.unique(scores)) < len(scores):
            lines.append("             (boxes with equal scores may come in any order)")
        pair = failure.details.get("pair")
        if pair is not None:
            lines.append(f"deciding pair: {_iou_text(boxes, *pair)} vs iou_thresh = {t:g}")
        lines.append(f"why: {failure.message}")
        data = {
            "boxes": boxes.tolist(),
            "scores": scores.tolist(),
            "iou_thresh": t,
            "got": keep.tolist() if keep is not None else got,
            "expected": expected.tolist(),
            "pair": list(pair) if pair is not None else None,
            "pair_iou": failure.details.get("iou"),
            "why": failure.message,
        }
        return lines, data

    @staticmethod
    def _got_text(value, failure: Failure) -> str:
        if failure.kind in ("raised", "timeout", "died", "mutated"):
            return failure.message
        return repr(value)

    bug_hints = NMS_BUGS

    def type_hint(self, failure: Failure) -> str:
        return next((h for key, h in _TYPE_HINTS.items() if key in failure.message), "")

    def probe_case(self, rng: np.random.Generator, k: int) -> Case:
        t = cases.RANDOM_THRESHOLDS[k % len(cases.RANDOM_THRESHOLDS)]
        return cases.random_case(rng, 2 + k % 7, t, "probe")

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        """Does the variant ``bug`` return the student's indices (ties in the student's order)?"""
        keep, _ = as_keep(value)
        if keep is None or len(case.args[1]) > HINT_MAX_BOXES:
            return None
        return reproduces_nms(bug, *case.args, keep)


#: Hints for answers that are not indices, keyed by a phrase of the failure message.
_TYPE_HINTS = {
    "returned None": "your function returns None: is `return keep` missing, or indented "
    "inside the loop?",
    "boolean mask": "return the indices of the kept boxes (np.flatnonzero(mask) turns a mask "
    "into indices), in decreasing score order.",
    "boxes, not indices": "return the indices of the kept boxes (keep.append(i)), not the "
    "boxes themselves (boxes[i]).",
    "floats": "indices must be integers: build a list of int, or use np.array(keep, dtype=int).",
    "out of range": "return indices into the input boxes, between 0 and N - 1.",
    "more than once": "each kept box appears once: remove the taken box from the candidates "
    "before the next pass.",
    "": "return a list (or 1-D integer array) of indices into the input boxes.",
}
