r"""RetinaNet's anchors and anchor matching: dense IoU matching with an ignore band [1]_.

RetinaNet puts A = 9 anchors on every cell of every pyramid level (3 octave
scales :math:`2^0, 2^{1/3}, 2^{2/3}` times 3 ratios 1:2, 1:1, 2:1) and gives
*every* anchor a target — no sampling, unlike the RPN of Faster R-CNN. The
resulting imbalance (a few dozen foreground anchors against tens of
thousands of easy background ones) is what the focal loss is for
(*Detection – 3 stages*, §I).

* :func:`retinanet_anchors` — the anchors of each level, built from
  :func:`bboxcore.anchors.generate_anchor_base` and :func:`bboxcore.anchors.grid_anchors`;
* :func:`retinanet_targets` — IoU >= 0.5 foreground, < 0.4 background, in
  between ignored, plus each ground-truth box's best anchor; the class of
  the matched box and the offsets :math:`t = \mathrm{bbox2loc}(\text{anchor}, \text{gt})`.

Notation: S anchors (all levels concatenated), R ground-truth boxes of one
image, K classes (labels ``0 .. K-1``). Plain NumPy without gradient, like
every target creator of :mod:`bboxcore.targets`.

References
----------
.. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. "Focal Loss for
   Dense Object Detection." ICCV 2017, arXiv:1708.02002.
.. [2] T.-Y. Lin, P. Dollár, R. Girshick, K. He, B. Hariharan, S. Belongie.
   "Feature Pyramid Networks for Object Detection." CVPR 2017, arXiv:1612.03144.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bboxcore._checks import as_boxes, positive_vector, unit_interval
from bboxcore.anchors import generate_anchor_base, grid_anchors
from bboxcore.encoding import bbox2loc
from bboxcore.iou import box_iou
from bboxcore.targets.faster_rcnn import IGNORE, NEGATIVE, POSITIVE

__all__ = [
    "RETINANET_RATIOS",
    "RETINANET_SCALES",
    "RetinaNetTargets",
    "retinanet_anchors",
    "retinanet_targets",
]

#: Octave scales of the anchors of one level: :math:`2^0, 2^{1/3}, 2^{2/3}` [1]_ (Sec. 4).
RETINANET_SCALES = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
#: Aspect ratios height / width of the anchors [1]_ (Sec. 4), as FPN.
RETINANET_RATIOS = (0.5, 1.0, 2.0)


def retinanet_anchors(
    feat_sizes: Sequence[tuple[int, int]],
    strides: Sequence[float],
    sizes: Sequence[float],
    ratios: Sequence[float] = RETINANET_RATIOS,
    scales: Sequence[float] = RETINANET_SCALES,
) -> list[np.ndarray]:
    r"""The anchors of each pyramid level: ``len(ratios) * len(scales)`` shapes per cell.

    Level l has anchors of side :math:`a_l\,s` for each scale s (area
    :math:`(a_l s)^2`) and each ratio r = h / w [1]_ (Sec. 4): the paper uses
    :math:`a_l = 32 \dots 512` on P3..P7 (strides 8..128) and
    :math:`s \in \{2^0, 2^{1/3}, 2^{2/3}\}`, so that the 9 anchors of a level
    cover the octave up to the next level. Level l is
    ``grid_anchors(generate_anchor_base(strides[l], ratios, sizes[l] * scales / strides[l]),
    strides[l], feat_sizes[l])``: anchors centred on
    :math:`((x + \tfrac12) s_l, (y + \tfrac12) s_l)`.

    Parameters
    ----------
    feat_sizes : sequence of (H_l, W_l)
        Feature-map size of each level, in cells.
    strides : sequence of float
        Stride :math:`s_l` of each level, pixels per cell, positive.
    sizes : sequence of float
        Base anchor side :math:`a_l` of each level in pixels, positive.
    ratios : sequence of float, default RETINANET_RATIOS
        Aspect ratios height / width.
    scales : sequence of float, default RETINANET_SCALES
        Multipliers of the base side.

    Returns
    -------
    anchors : list of ndarray, shape (H_l * W_l * A, 4), float64
        One array per level, A = ``len(ratios) * len(scales)``, row
        ``(y * W_l + x) * A + a``: the order of a head's ``(A * C, H_l, W_l)``
        output transposed to ``(H_l, W_l, A, C)``.

    Raises
    ------
    ValueError
        If the sequences differ in length or hold non-positive values.

    Examples
    --------
    >>> levels = retinanet_anchors([(16, 16), (8, 8), (4, 4)], (8, 16, 32), (16, 32, 64))
    >>> [len(a) for a in levels]  # 9 anchors per cell
    [2304, 576, 144]
    >>> levels[0][1].round(2)  # h / w = 0.5, area (16 * 2^(1/3))^2, cell (0, 0)
    array([-10.25,  -3.13,  18.25,  11.13])
    """
    if not (len(feat_sizes) == len(strides) == len(sizes)):
        raise ValueError(
            f"feat_sizes, strides and sizes must have one entry per level; got lengths "
            f"{len(feat_sizes)}, {len(strides)}, {len(sizes)}"
        )
    scales_arr = positive_vector(scales, "scales")
    out = []
    for feat_size, stride, size in zip(feat_sizes, strides, sizes):
        stride_v = positive_vector([stride], "strides")[0]
        size_v = positive_vector([size], "sizes")[0]
        base = generate_anchor_base(stride_v, ratios, tuple(size_v * scales_arr / stride_v))
        out.append(grid_anchors(base, stride_v, feat_size))
    return out


class RetinaNetTargets(NamedTuple):
    """The targets of the S anchors of one image (see :func:`retinanet_targets`)."""

    #: (S,) int32: 1 foreground, 0 background, -1 ignored (the IoU band in between).
    label: np.ndarray
    #: (S,) int64: class 0..K-1 of the matched box for foreground anchors, -1 elsewhere.
    gt_class: np.ndarray
    #: (S, 4): offsets (t_x, t_y, t_w, t_h) to the matched box (foreground), 0 elsewhere.
    loc: np.ndarray
    #: (S,) int64: index of the matched ground-truth box (foreground), -1 elsewhere.
    gt_index: np.ndarray


def retinanet_targets(
    anchor,
    gt_bbox,
    gt_label,
    *,
    pos_iou_thresh: float = 0.5,
    neg_iou_thresh: float = 0.4,
    match_best_anchor: bool = True,
) -> RetinaNetTargets:
    r"""Assign every anchor to a ground-truth box, to background, or to neither.

    With :math:`\mathrm{IoU}_{ij}` the IoU of anchor i and box j and
    :math:`m_i = \max_j \mathrm{IoU}_{ij}` [1]_ (Sec. 4, "Training"):

    .. math::
        \mathrm{label}_i = \begin{cases}
            1 & m_i \ge 0.5 \quad (\text{foreground, matched to } \arg\max_j \mathrm{IoU}_{ij}) \\
            0 & m_i < 0.4 \quad (\text{background}) \\
            -1 & \text{otherwise (ignored by the loss)}
        \end{cases}

    and, if ``match_best_anchor``, each box j also makes foreground the
    anchors of its highest IoU :math:`\max_i \mathrm{IoU}_{ij} > 0` (ties
    included), matched to j — so that no object is left without an anchor.
    A foreground anchor learns the class of its box (one-hot over K sigmoid
    outputs; background anchors learn all zeros) and the offsets
    :math:`t = \mathrm{bbox2loc}(\text{anchor}, \text{gt})` (Faster R-CNN Eq. 2).

    Parameters
    ----------
    anchor : ndarray, shape (S, 4), float
        Anchors ``(x_min, y_min, x_max, y_max)`` in pixels, e.g.
        ``np.concatenate(retinanet_anchors(...))``; positive width and height.
    gt_bbox : ndarray, shape (R, 4)
        Ground-truth boxes in pixels (R = 0 allowed: all anchors background).
    gt_label : array_like of int, shape (R,)
        Their classes ``0 .. K-1``.
    pos_iou_thresh : float in [0, 1], default 0.5
        IoU from which an anchor is foreground.
    neg_iou_thresh : float in [0, pos_iou_thresh], default 0.4
        IoU below which an anchor is background.
    match_best_anchor : bool, default True
        Also make each box's best anchors foreground (see Notes).

    Returns
    -------
    RetinaNetTargets
        ``label`` (S,) int32, ``gt_class`` (S,) int64, ``loc`` (S, 4) in the
        floating dtype of ``anchor``, ``gt_index`` (S,) int64.

    Raises
    ------
    ValueError
        If the boxes are malformed, an anchor is empty, ``gt_label`` is not (R,)
        of integers >= 0, or the thresholds are out of order or outside [0, 1].
    TypeError
        If ``gt_label`` is not integer.

    Notes
    -----
    The paper states only the two thresholds. The best-anchor rule is that of
    its released code (Detectron's RetinaNet, and torchvision's
    ``allow_low_quality_matches=True``) and of the RPN (Faster R-CNN
    Sec. 3.1.2); a small or thin object whose best anchor overlaps it by
    less than 0.4 would otherwise be background everywhere. An anchor that is
    the best of two boxes goes to the one it overlaps most (the first one on
    a tie of IoU).

    Examples
    --------
    >>> anchor = np.array([[0., 0., 10., 10.], [5., 0., 15., 10.], [4., 0., 14., 10.],
    ...                    [30., 30., 40., 40.]])
    >>> t = retinanet_targets(anchor, np.array([[0., 0., 10., 10.]]), [3])
    >>> t.label  # IoU 1, 50 / 150, 60 / 140 (in the band: ignored) and 0
    array([ 1,  0, -1,  0], dtype=int32)
    >>> t.gt_class
    array([ 3, -1, -1, -1])
    >>> retinanet_targets(anchor[1:2], np.array([[0., 0., 10., 10.]]), [3]).label  # best anchor
    array([1], dtype=int32)
    """
    anchor = as_boxes(anchor, "anchor")
    if len(anchor) and ((anchor[:, 2:] - anchor[:, :2]) <= 0).any():
        raise ValueError("anchor must have positive width and height")
    gt_bbox = as_boxes(gt_bbox, "gt_bbox")
    gt_label = _as_labels(gt_label, len(gt_bbox))
    pos_iou_thresh = unit_interval(pos_iou_thresh, "pos_iou_thresh")
    neg_iou_thresh = unit_interval(neg_iou_thresh, "neg_iou_thresh")
    if neg_iou_thresh > pos_iou_thresh:
        raise ValueError(
            f"neg_iou_thresh must be <= pos_iou_thresh; got {neg_iou_thresh} > {pos_iou_thresh}"
        )
    n_anchor = len(anchor)
    label = np.full(n_anchor, NEGATIVE, np.int32)
    gt_index = np.full(n_anchor, -1, np.int64)
    loc = np.zeros((n_anchor, 4), anchor.dtype)
    if len(gt_bbox) == 0 or n_anchor == 0:
        return RetinaNetTargets(label, np.full(n_anchor, -1, np.int64), loc, gt_index)

    iou = box_iou(anchor, gt_bbox.astype(anchor.dtype, copy=False))  # (S, R)
    argmax = iou.argmax(axis=1)  # (S,) the box each anchor overlaps most
    max_iou = iou[np.arange(n_anchor), argmax]
    label[max_iou >= neg_iou_thresh] = IGNORE  # the band [0.4, 0.5)
    fg = max_iou >= pos_iou_thresh
    if match_best_anchor:
        best = iou.max(axis=0)  # (R,) each box's highest IoU
        is_best = (iou == best[None, :]) & (best[None, :] > 0)  # (S, R), ties included
        fg |= is_best.any(axis=1)
    label[fg] = POSITIVE
    gt_index[fg] = argmax[fg]
    gt_class = np.where(fg, gt_label[argmax], -1).astype(np.int64)
    loc[fg] = bbox2loc(anchor[fg], gt_bbox[argmax[fg]].astype(anchor.dtype, copy=False))
    return RetinaNetTargets(label, gt_class, loc, gt_index)


def _as_labels(gt_label, n: int) -> np.ndarray:
    """``gt_label`` as an (n,) int64 array of classes >= 0."""
    arr = np.asarray(gt_label)
    if arr.size == 0:
        arr = arr.reshape(0).astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"gt_label must hold integer classes; got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"gt_label must have shape ({n},), one per gt box; got {arr.shape}")
    if n and arr.min() < 0:
        raise ValueError(f"gt_label must hold classes >= 0; got {arr.min()}")
    return arr.astype(np.int64)
