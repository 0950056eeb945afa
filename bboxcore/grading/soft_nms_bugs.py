"""The usual bugs of a student's Soft-NMS, as runnable variants, to name the likely one.

:func:`buggy_soft_nms` is the seed's pseudo-code loop with one bug switched on;
nothing here decides whether an answer is right (that is
:func:`bboxcore.grading.assign_soft_nms.soft_nms_failure`, which follows
:func:`bboxcore.nms_variants.soft_nms`).
"""

from __future__ import annotations

import numpy as np

from bboxcore.iou import box_iou

__all__ = ["SOFT_NMS_BUGS", "buggy_soft_nms"]

#: name -> hint, in the order in which they are tried.
SOFT_NMS_BUGS: dict[str, str] = {
    "hard": "that is hard NMS: Soft-NMS lowers the scores of the overlapping boxes "
    "(s * f(IoU)) instead of removing them.",
    "no_resort": "after each decay, take the box with the highest *current* score (argmax "
    "again), not the next one in the initial order.",
    "original_scores": "return each kept box's score at the moment it is taken (after its "
    "decays), not its original score.",
    "greater_equal": "decay only when IoU > iou_thresh (strictly); at IoU = iou_thresh the "
    "score stays as it is.",
    "linear_always": "the linear penalty 1 - IoU applies only when IoU > iou_thresh; below "
    "it the score is unchanged.",
    "gaussian_no_square": "the Gaussian penalty is exp(-IoU^2 / sigma): square the IoU.",
    "gaussian_two_sigma": "the Gaussian penalty is exp(-IoU^2 / sigma), without a factor 2.",
    "no_score_thresh": "drop a box as soon as its score is at or below score_thresh "
    "(its initial score included).",
}


def _factor(iou: np.ndarray, method: str, t: float, sigma: float, bug: str) -> np.ndarray:
    """The buggy f(IoU)."""
    if bug == "hard":
        return np.where(iou > t, 0.0, 1.0)
    if method == "gaussian":
        if bug == "gaussian_no_square":
            return np.exp(-iou / sigma)
        if bug == "gaussian_two_sigma":
            return np.exp(-(iou * iou) / (2 * sigma))
        return np.exp(-(iou * iou) / sigma)
    if bug == "linear_always":
        return 1.0 - iou
    over = iou >= t if bug == "greater_equal" else iou > t
    return np.where(over, 1.0 - iou, 1.0)


def buggy_soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method, bug):
    """Soft-NMS with the bug ``bug`` (a key of :data:`SOFT_NMS_BUGS`); ties by lower index.

    Returns
    -------
    keep : list of int
    kept_scores : list of float

    Examples
    --------
    >>> boxes = np.array([[0., 0., 10., 10.], [5., 0., 15., 10.]])  # IoU 1/3
    >>> buggy_soft_nms(boxes, np.array([0.9, 0.8]), 0.3, 0.5, 0.001, "linear", "hard")
    ([0], [0.9])
    """
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64).copy()
    iou = box_iou(b, b)
    floor = -np.inf if bug == "no_score_thresh" else score_thresh
    remaining = [i for i in range(len(s)) if s[i] > floor]
    initial = s.copy()
    keep, kept = [], []
    while remaining:
        if bug == "no_resort":
            m = max(remaining, key=lambda i: (initial[i], -i))
        else:
            m = max(remaining, key=lambda i: (s[i], -i))
        keep.append(int(m))
        kept.append(float(initial[m] if bug == "original_scores" else s[m]))
        remaining.remove(m)
        rest = np.array(remaining, dtype=np.int64)
        if rest.size:
            s[rest] *= _factor(iou[m, rest], method, iou_thresh, sigma, bug)
        remaining = [i for i in remaining if s[i] > floor]
    return keep, kept
