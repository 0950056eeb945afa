r"""COCO average precision and recall: the twelve numbers of the official evaluation.

The COCO detection metric [1]_, computed as the official ``pycocotools``
``COCOeval`` does for ``iouType='bbox'``, but in vectorised NumPy. Settings
(the official defaults): IoU thresholds 0.50:0.05:0.95 (T = 10), recall
thresholds 0:0.01:1 (R = 101), at most 1, 10, 100 detections per image *and
class*, area ranges all / small (< 32²) / medium (32²-96²) / large (> 96²),
inclusive at both ends.

Matching, per image, class, area range and IoU threshold t: detections are
taken by decreasing score (ties: input order), at most 100; each takes, among
the boxes still free (crowd boxes are never used up), the one with the
largest IoU >= t (on equal IoU the *last* in order), preferring a regular box
over an ignored one (crowd, or area outside the range) whatever their IoUs.
A detection matched to an ignored box is ignored; an unmatched detection
whose own area is outside the range is ignored; any other unmatched one is
an FP. Unlike VOC, a detection whose best box is taken falls back to the next
best free box. The IoU with a crowd box is :math:`|D \cap G| / |D|`. Boxes
are used as given, also where they stick out of their image, as the official
code uses them (:func:`bboxcore.data.read_coco` clips only with ``clip=True``).

Accumulation, per class, area and max-detections m: the first m detections
of every image are ranked by score over all images (stable: ties in image
order, then in rank), and with :math:`n_{pos}` the non-ignored boxes

.. math::
    r(k) = \frac{TP(k)}{n_{pos}}, \quad
    p(k) = \frac{TP(k)}{TP(k) + FP(k) + \epsilon}, \quad
    p_{interp}(k) = \max_{k' \ge k} p(k')

(ε = ``np.spacing(1)``, as the official code). The precision at recall
threshold :math:`\rho` is :math:`p_{interp}` at the first k with
:math:`r(k) \ge \rho`, 0 if none; AP is the mean over the 101 thresholds, the
classes with :math:`n_{pos} > 0` and the IoU thresholds; AR the mean final
recall. A number with no class to average is -1, as in the official summary.

Vectorisation: the greedy loop runs once per rank position, over every
(image, class) group, IoU threshold and area range at once; only detections
that overlap some box by at least 0.5 enter it, the others are unmatched.

References
----------
.. [1] T.-Y. Lin et al. "Microsoft COCO: Common Objects in Context." ECCV
   2014, arXiv:1405.0312; the evaluation at https://cocodataset.org/#detection-eval
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from bboxcore.eval.coco_match import AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, match_detections
from bboxcore.eval.inputs import flatten_detections, flatten_ground_truth

__all__ = [
    "AREA_RANGES",
    "IOU_THRESHOLDS",
    "MAX_DETS",
    "RECALL_THRESHOLDS",
    "STAT_NAMES",
    "COCOResult",
    "coco_ap",
]

#: The 101 recall thresholds 0:0.01:1, built exactly as the official code does.
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
AREA_NAMES = ("all", "small", "medium", "large")
STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


@dataclass
class COCOResult:
    """What :func:`coco_ap` returns.

    Attributes
    ----------
    stats : ndarray, shape (12,)
        AP, AP50, AP75, AP small/medium/large, AR@1/10/100, AR small/medium/large
        — the official order (:data:`STAT_NAMES`); -1 where undefined.
    precision : ndarray, shape (T, R, K, A, M)
        Interpolated precision per IoU threshold, recall threshold, class,
        area range and max-detections; -1 for a class without boxes.
    recall : ndarray, shape (T, K, A, M)
        Final recall, -1 for a class without boxes.
    """

    stats: np.ndarray
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, float]:
        """``{'AP': ..., 'AP50': ..., ...}`` in the official order."""
        return dict(zip(STAT_NAMES, self.stats.tolist()))

    def summary(self) -> str:
        """The twelve lines that the official ``COCOeval.summarize()`` prints."""
        rows = [
            (1, "0.50:0.95", "all", 100),
            (1, "0.50", "all", 100),
            (1, "0.75", "all", 100),
            (1, "0.50:0.95", "small", 100),
            (1, "0.50:0.95", "medium", 100),
            (1, "0.50:0.95", "large", 100),
            (0, "0.50:0.95", "all", 1),
            (0, "0.50:0.95", "all", 10),
            (0, "0.50:0.95", "all", 100),
            (0, "0.50:0.95", "small", 100),
            (0, "0.50:0.95", "medium", 100),
            (0, "0.50:0.95", "large", 100),
        ]
        lines = []
        for (ap, iou, area, m), v in zip(rows, self.stats):
            name = "Average Precision  (AP)" if ap else "Average Recall     (AR)"
            lines.append(
                f" {name} @[ IoU={iou:<9} | area={area:>6s} | maxDets={m:>3d} ] = {v:0.3f}"
            )
        return "\n".join(lines)


def _resolve(pred, gt):
    """Accept COCO JSON paths as well as per-image sequences."""
    from bboxcore.data.coco import read_coco, read_coco_results
    from bboxcore.data.sample import AnnotationSet

    if isinstance(gt, str | os.PathLike):
        gt = read_coco(gt)
    if isinstance(pred, str | os.PathLike):
        if not isinstance(gt, AnnotationSet):
            raise TypeError(
                "pred is a COCO result file: gt must be a COCO JSON path or an "
                "AnnotationSet, to map image and category ids"
            )
        pred = read_coco_results(pred, gt)
    if isinstance(gt, AnnotationSet):
        gt = gt.annotations
    return pred, gt


def coco_ap(pred, gt) -> COCOResult:
    """The official COCO box-detection metric: 12 numbers of AP and AR.

    Parameters
    ----------
    pred : sequence, one entry per image, or str/Path
        Detections with ``bbox`` (R, 4) xyxy, ``label`` (R,), ``score`` (R,)
        (e.g. :class:`~bboxcore.data.sample.Detection`); or the path of a
        COCO result JSON file (then ``gt`` must be a COCO JSON path or an
        ``AnnotationSet`` with ``category_ids``).
    gt : sequence, one entry per image, or str/Path
        Ground truth with ``bbox``, ``label``, optional ``iscrowd`` and
        ``area`` (e.g. :class:`~bboxcore.data.sample.Annotation`); or a COCO
        ground-truth JSON path. ``difficult`` is not used.

    Returns
    -------
    COCOResult
        ``stats`` (12,) in the official order, ``precision`` (T, R, K, A, M),
        ``recall`` (T, K, A, M).

    Raises
    ------
    ValueError, TypeError
        If the lengths differ or an entry is malformed.
    bboxcore.data.sample.FormatError
        If a JSON file is malformed.

    Notes
    -----
    The rules are in the module docstring (:mod:`bboxcore.eval.coco`). Boxes
    pass through float32 (bboxcore's sample types), so an IoU or an area
    that lies exactly on a threshold may differ from the float64 official
    code in the last bit.

    Examples
    --------
    >>> gt = [{"bbox": [[0, 0, 10, 10]], "label": [0]}]
    >>> pred = [{"bbox": [[0, 0, 10, 8]], "label": [0], "score": [0.9]}]
    >>> r = coco_ap(pred, gt)  # IoU 0.8: a hit at 0.50..0.80, a miss at 0.85..0.95
    >>> print(f"{r.as_dict()['AP50']:.17f}")  # precision 1 / (1 + eps), as the official code
    0.99999999999999989
    >>> round(r.as_dict()["AP"], 6)
    0.7
    """
    pred, gt = _resolve(pred, gt)
    g = flatten_ground_truth(gt)
    d = flatten_detections(pred, len(gt))
    k_class = int(max(g.label.max(initial=-1), d.label.max(initial=-1))) + 1
    a_n, t_n, r_n, m_n = len(AREA_RANGES), len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), 3
    precision = -np.ones((t_n, r_n, k_class, a_n, m_n))
    recall = -np.ones((t_n, k_class, a_n, m_n))
    if k_class:
        mt = match_detections(d, g, k_class, len(gt))
        bounds = np.searchsorted(mt.label, np.arange(k_class + 1))  # ranked by class
        for k in range(k_class):
            part = slice(bounds[k], bounds[k + 1])  # class k, ranked over all images
            for mi, m in enumerate(MAX_DETS):
                sel = part if m >= MAX_DETS[-1] else np.flatnonzero(mt.rank[part] < m) + bounds[k]
                for a in range(a_n):
                    if mt.n_pos[a, k] == 0:
                        continue  # no box: stays -1, left out of the means
                    p, r = _curve(mt.matched[a][:, sel], mt.ignored[a][:, sel], mt.n_pos[a, k])
                    precision[:, :, k, a, mi] = p
                    recall[:, k, a, mi] = r
    return COCOResult(_summarize(precision, recall), precision, recall)


def _curve(matched, ignored, n_pos):
    """Interpolated precision at the 101 recall thresholds and final recall, per IoU threshold."""
    # NOTE: int32 counts (exact below 2**31 detections) cumsum ~10x faster than float64.
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.int32).astype(np.float64)  # (T, n)
    fp = np.cumsum(~(matched | ignored), axis=1, dtype=np.int32).astype(np.float64)
    t_n, n = tp.shape
    q = np.zeros((t_n, len(RECALL_THRESHOLDS)))
    if n == 0:
        return q, np.zeros(t_n)
    rc = tp / n_pos
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    for t in range(t_n):
        hit = np.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
        ok = hit < n
        q[t, ok] = pr[t, hit[ok]]
    return q, rc[:, -1]


def _mean_valid(x: np.ndarray) -> float:
    v = x[x > -1]
    return float(v.mean()) if v.size else -1.0


def _summarize(precision, recall) -> np.ndarray:
    last = len(MAX_DETS) - 1
    t50, t75 = 0, int(np.argmin(np.abs(IOU_THRESHOLDS - 0.75)))
    stats = [
        _mean_valid(precision[:, :, :, 0, last]),
        _mean_valid(precision[t50, :, :, 0, last]),
        _mean_valid(precision[t75, :, :, 0, last]),
        *(_mean_valid(precision[:, :, :, a, last]) for a in (1, 2, 3)),
        *(_mean_valid(recall[:, :, 0, m]) for m in range(len(MAX_DETS))),
        *(_mean_valid(recall[:, :, a, last]) for a in (1, 2, 3)),
    ]
    return np.array(stats)
