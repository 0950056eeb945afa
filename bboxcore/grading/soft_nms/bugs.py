"""The usual bugs of a student's Soft-NMS, as runnable variants, to name the likely one.

:func:`buggy_soft_nms` is the seed's pseudo-code loop with one bug switched on;
nothing here decides whether an answer is right (that is
:func:`bboxcore.grading.soft_nms.assignment.soft_nms_failure`, which follows
:func:`bboxcore.nms_variants.soft_nms`).
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading.iou.bugs import buggy_iou

__all__ = ["SOFT_NMS_BUGS", "buggy_soft_nms", "decay"]

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
    "thresh_initial_only": "score_thresh applies after every decay too: drop a box as soon "
    "as its decayed score is at or below it.",
    "linear_iou": "the linear penalty multiplies by 1 - IoU, not by IoU.",
    "gaussian_sigma_squared": "the Gaussian penalty is exp(-IoU^2 / sigma), with sigma "
    "itself (not sigma^2) in the denominator.",
    "gaussian_times_sigma": "the Gaussian penalty divides by sigma: exp(-IoU^2 / sigma), not "
    "exp(-IoU^2 * sigma).",
    "gaussian_thresholded": "the Gaussian penalty applies to every overlapping box, whatever "
    "its IoU: iou_thresh is used by the linear method only.",
    "plus_one": "width = x_max - x_min in the IoU, without the '+1' of the original Soft-NMS code.",
}


def decay(iou: np.ndarray, method: str, t: float, sigma: float, bug: str = "") -> np.ndarray:
    r"""The factor f(IoU) that multiplies a remaining box's score, with the bug ``bug`` switched on.

    Without a bug (``bug=''``) this is Soft-NMS's decay (Bodla et al. 2017,
    Eq. 2 and 3): linear :math:`f = 1 - \mathrm{IoU}` when IoU > ``t`` (else 1),
    Gaussian :math:`f = e^{-\mathrm{IoU}^2 / \sigma}`; the grader's judge uses it
    so, and each bug of :data:`SOFT_NMS_BUGS` is one switch away from it.

    Parameters
    ----------
    iou : ndarray
        IoUs of the taken box with the remaining ones, float64.
    method : {'linear', 'gaussian'}
    t, sigma : float
        ``iou_thresh`` and ``sigma`` of the contract.
    bug : str
        A key of :data:`SOFT_NMS_BUGS`, or ``''``.

    Returns
    -------
    ndarray
        The factor, same shape as ``iou``.

    Examples
    --------
    >>> decay(np.array([0.2, 0.5]), "linear", 0.3, 0.5)
    array([1. , 0.5])
    >>> decay(np.array([0.5]), "linear", 0.3, 0.5, bug="hard")
    array([0.])
    """
    if bug == "hard":
        return np.where(iou > t, 0.0, 1.0)
    if method == "gaussian":
        if bug == "gaussian_no_square":
            return np.exp(-iou / sigma)
        if bug == "gaussian_two_sigma":
            return np.exp(-(iou * iou) / (2 * sigma))
        if bug == "gaussian_sigma_squared":
            return np.exp(-(iou * iou) / (sigma * sigma))
        if bug == "gaussian_times_sigma":
            return np.exp(-(iou * iou) * sigma)
        if bug == "gaussian_thresholded":
            return np.where(iou > t, np.exp(-(iou * iou) / sigma), 1.0)
        with np.errstate(over="ignore"):
            return np.exp(-(iou * iou) / sigma)
    if bug == "linear_always":
        return 1.0 - iou
    if bug == "linear_iou":
        return np.where(iou > t, iou, 1.0)
    over = iou >= t if bug == "greater_equal" else iou > t
    return np.where(over, 1.0 - iou, 1.0)


def buggy_soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method, bug):
    r"""Soft-NMS with the bug ``bug`` (a key of :data:`SOFT_NMS_BUGS`); ties by lower index.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels; converted to float64.
    scores : array_like, shape (N,)
        Initial scores (not modified).
    iou_thresh : float
        Linear method: the decay applies when IoU > ``iou_thresh``.
    sigma : float
        Gaussian method: the width in :math:`e^{-\mathrm{IoU}^2 / \sigma}`.
    score_thresh : float
        A box whose current score is at or below it is dropped.
    method : {'linear', 'gaussian'}
        The decay :math:`f(\mathrm{IoU})` (any other string acts as ``'linear'``).
    bug : str
        A key of :data:`SOFT_NMS_BUGS`; any other string (e.g. ``''``) runs the
        loop without a bug.

    Returns
    -------
    keep : list of int
        Indices in the order the boxes are taken.
    kept_scores : list of float
        The score of each kept box when it was taken (its initial score under
        the ``'original_scores'`` bug).

    Notes
    -----
    Without a bug this is the Soft-NMS loop of Bodla et al. [1]_ (Algorithm 1)
    with :math:`s_i \leftarrow s_i f(\mathrm{IoU}(M, b_i))`,
    :math:`f = 1 - \mathrm{IoU}` above ``iou_thresh`` (linear) or
    :math:`e^{-\mathrm{IoU}^2 / \sigma}` (Gaussian). It is a slow copy kept
    only to name a student's bug; the reference is
    :func:`bboxcore.nms_variants.soft_nms`.

    References
    ----------
    .. [1] N. Bodla, B. Singh, R. Chellappa, L. S. Davis. "Soft-NMS -- Improving
       Object Detection With One Line of Code." ICCV 2017, arXiv:1704.04503.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 10., 10.], [5., 0., 15., 10.]])  # IoU 1/3
    >>> buggy_soft_nms(boxes, np.array([0.9, 0.8]), 0.3, 0.5, 0.001, "linear", "hard")
    ([0], [0.9])
    >>> keep, kept = buggy_soft_nms(boxes, np.array([0.9, 0.8]), 0.3, 0.5, 0.001, "linear", "")
    >>> keep, np.round(kept, 6).tolist()  # box 1 decays to 0.8 * (1 - 1/3)
    ([0, 1], [0.9, 0.533333])
    """
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64).copy()
    iou = buggy_iou(b, b, "plus_one" if bug == "plus_one" else "")
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
            s[rest] *= decay(iou[m, rest], method, iou_thresh, sigma, bug)
        if bug != "thresh_initial_only":
            remaining = [i for i in remaining if s[i] > floor]
    return keep, kept
