r"""Pascal VOC average precision: per-class precision/recall, AP and mAP.

The metric of the VOC challenge [1]_ (course deck *Detection – 3 stages*,
§IV.P "Evaluation: mAP & Recall"), as its devkit (``VOCevaldet.m``) computes
it, for one class:

1. Take every detection of the class over all images, sorted by decreasing
   score. **Ties** keep the input order: image order first, then the order
   within ``pred[i]`` (a stable sort; the devkit's MATLAB ``sort`` is stable
   too, NumPy's default quicksort used by some Python ports is not).
2. For each detection, find the ground-truth box of the same image and class
   with the largest IoU (among *all* of them, difficult or already matched;
   on equal IoU the first in ``gt[i]`` order). If that IoU is at least
   ``iou_thresh``: the detection is **ignored** (neither TP nor FP) when that
   box is ``difficult``; a **TP** when the box is not yet matched (it becomes
   matched); an **FP** when it is (a duplicate). If the IoU is below the
   threshold, or the image has no box of the class: an **FP**.
3. With :math:`n_{pos}` the number of non-difficult boxes of the class and
   TP(k), FP(k) the counts among the first k non-ignored detections:

   .. math::
       \mathrm{recall}(k) = \frac{TP(k)}{n_{pos}}, \qquad
       \mathrm{precision}(k) = \frac{TP(k)}{TP(k) + FP(k)}

4. AP is the area under the interpolated precision
   :math:`p_{interp}(r) = \max_{r' \ge r} p(r')` (see :func:`average_precision`),
   and mAP the mean AP over the classes that have at least one non-difficult box.

Because the best box is chosen before checking whether it is free, a
detection whose best box is taken counts as an FP even if another free box
overlaps it enough — the devkit's rule (COCO's differs, see
:func:`bboxcore.eval.coco_ap`).

The "+1 pixel" convention. The devkit measures a box's width as
``x_max - x_min + 1`` (inclusive integer pixels). ``plus_one=True`` adds 1 to
``x_max`` and ``y_max`` of every box before the IoU so that numbers match
published VOC results; the default is bboxcore's continuous convention.

References
----------
.. [1] M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn, A. Zisserman.
   "The Pascal Visual Object Classes (VOC) Challenge." IJCV 88(2), 2010.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bboxcore.eval.inputs import (
    flatten_detections,
    flatten_ground_truth,
    group_pairs,
    max_per_run,
)
from bboxcore.iou import box_iou_aligned

__all__ = ["METRICS", "VOCResult", "average_precision", "voc_ap"]

METRICS = ("all_point", "11_point")
#: Recall thresholds of the VOC2007 11-point metric, computed as k / 10 so that a
#: recall of exactly 3/10 reaches 0.3 (``np.arange(0, 1.1, 0.1)`` gives 0.30000000000000004).
ELEVEN_POINTS = np.arange(11) / 10


def average_precision(precision, recall, *, metric: str = "all_point") -> float:
    r"""Area under a precision-recall curve, VOC-style.

    ``'all_point'`` (VOC2010 and later) integrates the interpolated precision
    :math:`p_{interp}(r) = \max_{r' \ge r} p(r')` exactly, over every
    recall step:

    .. math::
        AP = \sum_k (r_{k+1} - r_k)\, p_{interp}(r_{k+1})

    ``'11_point'`` (VOC2007) averages it at 11 recall levels [1]_:

    .. math::
        AP = \frac{1}{11} \sum_{t \in \{0, 0.1, \dots, 1\}} p_{interp}(t)

    with :math:`p_{interp}(t) = 0` when no point reaches recall t.

    Parameters
    ----------
    precision, recall : array_like, shape (N,)
        The curve, one point per ranked detection (recall non-decreasing).
    metric : {'all_point', '11_point'}

    Returns
    -------
    float
        AP in [0, 1]; 0 for an empty curve.

    Raises
    ------
    ValueError
        If the shapes differ, a value is outside [0, 1] or NaN, recall
        decreases, or ``metric`` is unknown.

    References
    ----------
    .. [1] M. Everingham et al. "The Pascal Visual Object Classes (VOC)
       Challenge." IJCV 88(2), 2010, Sec. 4.2.

    Examples
    --------
    >>> p, r = [1.0, 0.5, 2 / 3], [0.5, 0.5, 1.0]
    >>> average_precision(p, r)  # 0.5 * 1 + 0.5 * 2/3
    0.8333333333333333
    >>> round(average_precision(p, r, metric="11_point"), 12)  # (6 * 1 + 5 * 2/3) / 11
    0.848484848485
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}")
    prec = np.asarray(precision, dtype=np.float64)
    rec = np.asarray(recall, dtype=np.float64)
    if prec.ndim != 1 or prec.shape != rec.shape:
        raise ValueError(
            f"precision and recall must have the same shape (N,); got {prec.shape} and {rec.shape}"
        )
    for name, v in (("precision", prec), ("recall", rec)):
        if v.size and not (np.all(v >= 0) and np.all(v <= 1)):  # also rejects NaN
            raise ValueError(f"{name} must be in [0, 1] (no NaN)")
    if rec.size > 1 and np.any(np.diff(rec) < 0):
        raise ValueError("recall must be non-decreasing along the ranked detections")
    if rec.size == 0:
        return 0.0
    if metric == "11_point":
        # p_interp(t) = max precision at recall >= t, 0 if no point reaches t.
        reach = rec[None, :] >= ELEVEN_POINTS[:, None]  # (11, N)
        best = np.where(reach, prec[None, :], 0.0).max(axis=1)
        return float(best.mean())
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # p_interp: running max from the right
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


@dataclass
class VOCResult:
    """What :func:`voc_ap` returns.

    Attributes
    ----------
    ap : ndarray, shape (K,)
        AP of each class; NaN for a class without non-difficult boxes.
    map : float
        Mean of the non-NaN APs (NaN if every class is NaN).
    precision, recall : list of ndarray
        The curve of each class, one point per non-ignored detection in rank order.
    n_pos : ndarray, shape (K,), int64
        Non-difficult ground-truth boxes per class.
    iou_thresh : float
    metric : str
    """

    ap: np.ndarray
    map: float
    precision: list = field(repr=False)
    recall: list = field(repr=False)
    n_pos: np.ndarray = field(repr=False)
    iou_thresh: float = 0.5
    metric: str = "all_point"

    def summary(self, class_names: Sequence[str] | None = None) -> str:
        """A table of AP per class and the mAP, as text."""
        names = class_names or [str(k) for k in range(len(self.ap))]
        lines = [f"VOC AP@{self.iou_thresh:g} ({self.metric})"]
        lines += [
            f"  {names[k]:<16} {self.ap[k]:.4f}  (n_pos {self.n_pos[k]})"
            for k in range(len(self.ap))
        ]
        lines.append(f"  {'mAP':<16} {self.map:.4f}")
        return "\n".join(lines)


def voc_ap(
    pred: Sequence,
    gt: Sequence,
    *,
    iou_thresh: float = 0.5,
    metric: str = "all_point",
    plus_one: bool = False,
    n_class: int | None = None,
) -> VOCResult:
    """Pascal VOC per-class AP and mAP of detections against ground truth.

    The matching rules, the tie order and the "+1" convention are in the
    module docstring (:mod:`bboxcore.eval.voc`).

    Parameters
    ----------
    pred : sequence, one entry per image
        Detections with ``bbox`` (R, 4), ``label`` (R,), ``score`` (R,)
        (e.g. :class:`~bboxcore.data.sample.Detection`).
    gt : sequence, one entry per image
        Ground truth with ``bbox``, ``label`` and optionally ``difficult``
        (e.g. :class:`~bboxcore.data.sample.Annotation` or ``Sample``).
    iou_thresh : float in (0, 1]
        A detection matches a box when their IoU is at least this.
    metric : {'all_point', '11_point'}
        VOC2010+ all-point or VOC2007 11-point AP (:func:`average_precision`).
    plus_one : bool
        Measure boxes as the devkit does (width = x_max - x_min + 1).
    n_class : int, optional
        Number of classes K; one more than the largest label seen when omitted.

    Returns
    -------
    VOCResult
        ``ap`` (K,), ``map``, per-class ``precision``/``recall`` curves, ``n_pos``.

    Raises
    ------
    ValueError, TypeError
        If the lengths differ, an entry is malformed, a label is ``>= n_class``,
        or an option is out of range.

    Examples
    --------
    >>> gt = [{"bbox": [[0, 0, 10, 10]], "label": [0]}]
    >>> pred = [{"bbox": [[0, 0, 10, 10], [0, 0, 10, 9]], "label": [0, 0], "score": [0.9, 0.8]}]
    >>> r = voc_ap(pred, gt)  # TP, then a duplicate (FP)
    >>> r.ap, r.precision[0], r.recall[0]
    (array([1.]), array([1. , 0.5]), array([1., 1.]))
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}")
    if not 0 < float(iou_thresh) <= 1:
        raise ValueError(f"iou_thresh must be in (0, 1]; got {iou_thresh}")
    g = flatten_ground_truth(gt)
    d = flatten_detections(pred, len(gt))
    n_seen = int(max(g.label.max(initial=-1), d.label.max(initial=-1))) + 1
    k_class = n_seen if n_class is None else int(n_class)
    if n_seen > k_class:
        raise ValueError(f"labels must be < n_class = {k_class}; got label {n_seen - 1}")

    # Group = (image, class); ground truth sorted by group (stable: keeps gt[i] order).
    g_group = g.image * k_class + g.label
    g_order = np.argsort(g_group, kind="stable")
    g_box, g_diff = g.bbox[g_order], g.difficult[g_order]
    n_group = len(gt) * k_class
    g_count = np.bincount(g_group, minlength=n_group)
    g_start = np.cumsum(g_count) - g_count

    # Best box of each detection: max IoU over its group, ties -> first box.
    pair_det, pair_gt = group_pairs(d.image * k_class + d.label, g_start, g_count)
    shift = np.array([0.0, 0.0, 1.0, 1.0]) if plus_one else np.zeros(4)
    iou = box_iou_aligned(d.bbox[pair_det] + shift, g_box[pair_gt] + shift)
    ovmax = max_per_run(iou, g_count[d.image * k_class + d.label], empty=-np.inf)
    at_max = np.flatnonzero(iou == ovmax[pair_det])
    first_det, first = np.unique(pair_det[at_max], return_index=True)
    best = np.full(len(d.score), -1, dtype=np.int64)
    best[first_det] = pair_gt[at_max[first]]
    best[ovmax < iou_thresh] = -1  # no box overlaps enough: FP

    # Rank order: by class, then decreasing score; stable, so ties keep the input order.
    order = np.lexsort((-d.score, d.label))
    best, label = best[order], d.label[order]
    ignored = np.zeros(len(best), dtype=bool)
    ignored[best >= 0] = g_diff[best[best >= 0]]
    candidate = (best >= 0) & ~ignored
    # NOTE: TP = the first candidate (in rank order) of its box; later ones are duplicates.
    tp = np.zeros(len(best), dtype=bool)
    _, first_hit = np.unique(best[candidate], return_index=True)
    tp[np.flatnonzero(candidate)[first_hit]] = True
    keep = ~ignored
    n_pos = np.bincount(g.label[~g.difficult], minlength=k_class).astype(np.int64)
    ap = np.full(k_class, np.nan)
    precision, recall = [], []
    for k in range(k_class):
        hit = tp[keep & (label == k)]
        tp_sum = np.cumsum(hit, dtype=np.int32)  # int32: exact, and fast on booleans
        fp_sum = np.cumsum(~hit, dtype=np.int32)
        prec = tp_sum / np.maximum(tp_sum + fp_sum, 1)
        rec = tp_sum / n_pos[k] if n_pos[k] else np.full(len(hit), np.nan)
        precision.append(prec)
        recall.append(rec)
        if n_pos[k]:
            ap[k] = average_precision(prec, rec, metric=metric)
    valid = ~np.isnan(ap)
    mean = float(ap[valid].mean()) if valid.any() else float("nan")
    return VOCResult(ap, mean, precision, recall, n_pos, float(iou_thresh), metric)
