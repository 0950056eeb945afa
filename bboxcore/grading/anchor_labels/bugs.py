r"""The usual mistakes of a student's anchor labelling, as runnable variants with their hints.

:func:`buggy_anchor_labels` is Faster R-CNN's AnchorTargetCreator labelling
without subsampling [1]_ (Sec. 3.1.2; *The losses of Faster R-CNN*) with one
mistake switched on. The mistakes are those of students' re-implementations of
``_create_label``: ``>`` for ``>=`` at the positive threshold or ``<=`` for
``<`` at the negative one, the "best anchor of each GT" rule forgotten, kept to
one anchor (``argmax``) or applied to a GT that overlaps nothing (every anchor
ties at 0), the negatives written after the positives (a GT's best anchor with a
low IoU turns negative), the best anchor looked up only among the anchor's own
best GT, the GT's best taken over all anchors before the outside ones are
dropped, outside anchors labelled like the others or as negatives, touching the
border counted as outside, ``img_size`` read as (W, H), the ignore band
forgotten (labels initialised to 0), py-faster-rcnn's "+1" IoU, the thresholds
hard-coded to 0.7 and 0.3, and a strict inside test against (W, H). Nothing
here decides whether an answer is right.

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading.iou.bugs import buggy_iou

__all__ = ["ANCHOR_LABELS_BUGS", "ANCHOR_LABELS_HINTS", "buggy_anchor_labels"]

#: name -> hint, in the order they are tried.
ANCHOR_LABELS_HINTS: dict[str, str] = {
    "pos_strict": "an anchor whose IoU equals pos_thresh is positive: the rule is IoU >= "
    "pos_thresh (yours is >).",
    "neg_inclusive": "an anchor whose largest IoU equals neg_thresh is not negative: "
    "negatives have IoU < neg_thresh (yours is <=); it is ignored (-1).",
    "no_gt_best": "each GT box's best anchor (the highest IoU with it) is positive even "
    "below pos_thresh: otherwise a GT box that no anchor overlaps by pos_thresh gets no "
    "positive anchor at all.",
    "gt_best_argmax_only": "every anchor tied at a GT box's highest IoU is positive "
    "(np.where(iou == iou.max(axis=0)), not iou.argmax(axis=0), which keeps only the first).",
    "neg_after_pos": "write the negatives first and the positives after: a GT box's best "
    "anchor is positive even when its IoU is below neg_thresh (yours is overwritten by 0).",
    "gt_best_own_gt_only": "an anchor is positive when it is the best anchor of *any* GT "
    "box, not only of the GT box it overlaps most: compare each column of the IoU matrix "
    "with that GT box's maximum.",
    "gt_best_all_anchors": "a GT box's best anchor is looked for among the inside anchors "
    "only: drop the outside anchors before taking the maximum over anchors.",
    "outside_labelled": "anchors not entirely inside the image are -1: label only the "
    "anchors with x_min >= 0, y_min >= 0, x_max <= W and y_max <= H.",
    "outside_negative": "anchors not entirely inside the image are ignored (-1), not negative (0).",
    "inside_strict": "an anchor touching the image border is inside: x_min >= 0 and x_max "
    "<= W (yours uses > and <).",
    "img_size_wh": "img_size is (H, W): the height first. x_max is compared with W = "
    "img_size[1], y_max with H = img_size[0].",
    "no_ignore": "anchors between neg_thresh and pos_thresh (and not a GT box's best) are "
    "ignored (-1), not negative: start from labels of -1 (np.full(S, -1)), not zeros.",
    "plus_one_iou": "the IoU uses the old '+1' pixel convention (x_max - x_min + 1); here "
    "width = x_max - x_min.",
    "gt_best_zero_iou": "a GT box that overlaps no inside anchor (its highest IoU is 0) has "
    "no best anchor: without that check every anchor ties at 0 and turns positive.",
    # Seen in public re-implementations found with the search tool (an AnchorTargetLayer
    # whose __init__ sets self.positive_thresh = 0.7 whatever it is passed; another that
    # keeps anchors with x_min > 0 and x_max < h); their repositories were not recorded.
    "thresholds_fixed": "use the pos_thresh and neg_thresh you are given: your labels "
    "follow 0.7 and 0.3 whatever the arguments say.",
    "inside_strict_hw": "two slips in the inside test: touching the border is inside (>= 0, "
    "<= W), and img_size is (H, W), so x_max is compared with W = img_size[1], not H.",
}


def buggy_anchor_labels(
    anchor, bbox, img_size, pos_thresh: float, neg_thresh: float, bug: str = ""
) -> np.ndarray:
    r"""The (S,) labels as the buggy variant ``bug`` computes them.

    Parameters
    ----------
    anchor : array_like, shape (S, 4)
    bbox : array_like, shape (R, 4)
        Anchors and ground-truth boxes ``(x_min, y_min, x_max, y_max)``; float64.
    img_size : (H, W)
    pos_thresh, neg_thresh : float
    bug : str
        ``''`` is the correct labelling; the other values are the keys of
        :data:`ANCHOR_LABELS_HINTS`. Any other string acts as ``''``.

    Returns
    -------
    ndarray, shape (S,), int64
        1 positive, 0 negative, -1 ignored.

    Notes
    -----
    With ``bug=''`` this is :class:`bboxcore.targets.faster_rcnn.AnchorTargetCreator`'s
    labelling before its subsampling (the grader's reference).

    Examples
    --------
    >>> anchor = np.array([[0., 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    >>> gt = np.array([[0., 0, 10, 10]])
    >>> buggy_anchor_labels(anchor, gt, (40, 40), 0.7, 0.3).tolist()
    [1, -1, 0]
    >>> buggy_anchor_labels(anchor, gt, (40, 40), 0.7, 0.3, "no_ignore").tolist()
    [1, 0, 0]
    """
    a = np.asarray(anchor, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    h, w = (img_size[1], img_size[0]) if bug in ("img_size_wh", "inside_strict_hw") else img_size
    if bug == "thresholds_fixed":
        pos_thresh, neg_thresh = 0.7, 0.3
    if bug in ("inside_strict", "inside_strict_hw"):
        inside = (a[:, 0] > 0) & (a[:, 1] > 0) & (a[:, 2] < w) & (a[:, 3] < h)
    else:
        inside = (a[:, 0] >= 0) & (a[:, 1] >= 0) & (a[:, 2] <= w) & (a[:, 3] <= h)
    if bug == "outside_labelled":
        inside = np.ones(len(a), dtype=bool)
    label = np.full(len(a), -1, dtype=np.int64)
    if bug == "outside_negative":
        label[~inside] = 0
    idx = np.flatnonzero(inside)
    start = 0 if bug == "no_ignore" else -1
    lab = np.full(len(idx), start, dtype=np.int64)
    if len(b) == 0:
        lab[:] = 0
    elif len(idx):
        with np.errstate(invalid="ignore", divide="ignore"):
            iou_all = np.nan_to_num(buggy_iou(a, b, "plus_one" if bug == "plus_one_iou" else ""))
        iou = iou_all[idx]
        max_iou = iou.max(axis=1)
        argmax = iou.argmax(axis=1)
        gt_max = (iou_all if bug == "gt_best_all_anchors" else iou).max(axis=0)
        positive_gt = np.ones_like(gt_max, dtype=bool) if bug == "gt_best_zero_iou" else gt_max > 0
        if bug == "gt_best_argmax_only":
            best = np.zeros(len(idx), dtype=bool)
            best[iou.argmax(axis=0)[positive_gt]] = True
        elif bug == "gt_best_own_gt_only":
            best = (max_iou == gt_max[argmax]) & positive_gt[argmax]
        else:
            best = ((iou == gt_max) & positive_gt).any(axis=1)
        neg = max_iou <= neg_thresh if bug == "neg_inclusive" else max_iou < neg_thresh
        pos = max_iou > pos_thresh if bug == "pos_strict" else max_iou >= pos_thresh
        if bug != "neg_after_pos":
            lab[neg] = 0
        if bug != "no_gt_best":
            lab[best] = 1
        lab[pos] = 1
        if bug == "neg_after_pos":
            lab[neg] = 0
    label[idx] = lab
    return label


#: name -> (variant(anchor, bbox, img_size, pos_thresh, neg_thresh) -> (S,), hint).
ANCHOR_LABELS_BUGS = {
    name: (lambda a, b, s, p, n, bug=name: buggy_anchor_labels(a, b, s, p, n, bug), hint)
    for name, hint in ANCHOR_LABELS_HINTS.items()
}
