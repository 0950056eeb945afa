r"""FCOS's anchor-free targets: a location inside a box regresses its distances to the sides.

No anchors: a location of feature level i (stride s) stands for the image
point :math:`(\lfloor s/2 \rfloor + x s,\ \lfloor s/2 \rfloor + y s)`
(:func:`fcos_locations`), near the centre of its receptive field. A location
inside a ground-truth box is foreground and learns, in pixels,

.. math::
    l^* = x - x_0,\quad t^* = y - y_0,\quad r^* = x_1 - x,\quad b^* = y_1 - y

— but only on the level whose size range holds :math:`\max(l^*, t^*, r^*, b^*)`
(the paper: 0, 64, 128, 256, 512, ∞ on P3..P7), so each level sees objects of
one scale; a location inside several boxes takes the one of smallest area
(:func:`fcos_targets`). Locations far from the centre give poor boxes, which
the centre-ness :math:`\sqrt{\frac{\min(l^*, r^*)}{\max(l^*, r^*)}
\frac{\min(t^*, b^*)}{\max(t^*, b^*)}}` learns to score down (:func:`centerness`).
The course deck *Detection – 3 stages*, §N (FCOS) has the same equations.

Notation: P locations (all levels concatenated, level-major, row-major within
a level), R ground-truth boxes of one image, K classes (labels ``0 .. K-1``).
Plain NumPy without gradient, like every target creator of :mod:`bboxcore.targets`.

References
----------
.. [1] Z. Tian, C. Shen, H. Chen, T. He. "FCOS: Fully Convolutional One-Stage
   Object Detection." ICCV 2019, arXiv:1904.01355.
.. [2] Z. Tian, C. Shen, H. Chen, T. He. "FCOS: A Simple and Strong Anchor-free
   Object Detector." IEEE TPAMI 2022, arXiv:2006.09214 (centre sampling, GIoU,
   centre-ness on the regression branch, distances divided by the stride).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bboxcore._checks import as_boxes, as_float_array, check_finite, count, positive
from bboxcore.targets.retinanet import _as_labels

__all__ = [
    "CENTER_SAMPLING_RADIUS",
    "FCOS_SIZE_RANGES",
    "FCOS_STRIDES",
    "FcosTargets",
    "centerness",
    "fcos_decode",
    "fcos_locations",
    "fcos_targets",
]

#: Strides of P3..P7 [1]_ (Sec. 3.2).
FCOS_STRIDES = (8, 16, 32, 64, 128)
#: The paper's range of max(l*, t*, r*, b*) per level P3..P7, in pixels [1]_ (Sec. 3.2).
FCOS_SIZE_RANGES = ((0.0, 64.0), (64.0, 128.0), (128.0, 256.0), (256.0, 512.0), (512.0, math.inf))
#: Centre-sampling radius in strides of the improved FCOS [2]_ (Sec. 3.4 of the journal version).
CENTER_SAMPLING_RADIUS = 1.5


def fcos_locations(feat_size: tuple[int, int], stride: int) -> np.ndarray:
    r"""The image point :math:`(\lfloor s/2 \rfloor + x s, \lfloor s/2 \rfloor + y s)` of each cell.

    [1]_ (Sec. 3.1): "we can map it back onto the input image as
    :math:`(\lfloor s/2 \rfloor + xs, \lfloor s/2 \rfloor + ys)`, which is near the
    centre of the receptive field of the location (x, y)" (*Detection – 3 stages*, §N).
    For an even stride this is the cell centre :math:`((x + \tfrac12) s, (y + \tfrac12) s)`
    of :func:`bboxcore.anchors.grid_anchors`.

    Parameters
    ----------
    feat_size : (H, W)
        Feature-map height and width in cells, integers >= 0.
    stride : int
        Pixels per cell, >= 1.

    Returns
    -------
    locations : ndarray, shape (H * W, 2), float64
        ``(x, y)`` in pixels; row ``y * W + x``, the order of a head's
        ``(C, H, W)`` output transposed to ``(H, W, C)``.

    Raises
    ------
    TypeError, ValueError
        If ``feat_size`` is not two integers >= 0 or ``stride`` not an integer >= 1.

    Examples
    --------
    >>> fcos_locations((2, 3), 8)
    array([[ 4.,  4.],
           [12.,  4.],
           [20.,  4.],
           [ 4., 12.],
           [12., 12.],
           [20., 12.]])
    """
    if len(feat_size) != 2:
        raise ValueError(f"feat_size must be (H, W); got {feat_size!r}")
    h, w = count(feat_size[0], "feat_size[0]"), count(feat_size[1], "feat_size[1]")
    s = count(stride, "stride", minimum=1)
    xs = s // 2 + np.arange(w, dtype=np.float64) * s
    ys = s // 2 + np.arange(h, dtype=np.float64) * s
    gx, gy = np.meshgrid(xs, ys)  # (H, W) each, row-major
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def centerness(ltrb) -> np.ndarray:
    r"""FCOS's centre-ness: how central a point is in its box, from its (l, t, r, b).

    .. math::
        \mathrm{centerness}^* = \sqrt{\frac{\min(l, r)}{\max(l, r)}
            \cdot \frac{\min(t, b)}{\max(t, b)}}


    1 at the centre of the box, falling to 0 at its sides [1]_ (Eq. 3;
    *Detection – 3 stages*, §N). It is the target of the centre-ness branch
    (binary cross-entropy), and the square root slows the decay.

    Parameters
    ----------
    ltrb : array_like, shape (P, 4), float
        Distances ``(l, t, r, b)`` >= 0 from a point to the four sides, in any
        unit (the ratio is scale free).

    Returns
    -------
    centerness : ndarray, shape (P,)
        In [0, 1], floating dtype of ``ltrb``; 0 where a side distance pair is
        all zero (a point outside or on the border of its box).

    Raises
    ------
    TypeError
        If ``ltrb`` is not numeric.
    ValueError
        If ``ltrb`` is not (P, 4), not finite, or has a negative distance.

    Notes
    -----
    Only a target here (as in the paper): it carries no gradient. It is
    invariant to scaling all four distances and to swapping l with r or t
    with b.

    Examples
    --------
    >>> centerness([[2.0, 3.0, 2.0, 3.0], [1.0, 3.0, 4.0, 3.0], [0.0, 1.0, 5.0, 1.0]])
    array([1. , 0.5, 0. ])
    """
    d = as_float_array(ltrb, "ltrb")
    if d.ndim != 2 or d.shape[1] != 4:
        raise ValueError(f"ltrb must have shape (P, 4) of (l, t, r, b); got {d.shape}")
    check_finite(d, "ltrb")
    if d.size and d.min() < 0:
        raise ValueError(f"ltrb must hold distances >= 0; got {d.min()}")
    lr, tb = d[:, [0, 2]], d[:, [1, 3]]
    ratio_lr = _ratio(lr.min(axis=1), lr.max(axis=1))
    ratio_tb = _ratio(tb.min(axis=1), tb.max(axis=1))
    return np.sqrt(ratio_lr * ratio_tb)


def _ratio(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.divide(lo, hi, out=np.zeros_like(lo), where=hi > 0)


class FcosTargets(NamedTuple):
    """The targets of the P locations of one image (see :func:`fcos_targets`)."""

    #: (P,) int64: class 0..K-1 of the assigned box (foreground), -1 (background).
    gt_class: np.ndarray
    #: (P, 4): (l*, t*, r*, b*) / stride of the assigned box (foreground), 0 elsewhere.
    ltrb: np.ndarray
    #: (P,): centre-ness of (l*, t*, r*, b*) (foreground), 0 elsewhere.
    centerness: np.ndarray
    #: (P,) int64: index of the assigned ground-truth box, -1 for background.
    gt_index: np.ndarray
    #: (P, 2) float64: the image point (x, y) of each location, pixels.
    locations: np.ndarray
    #: (P,) float64: the stride of each location's level.
    stride: np.ndarray


def fcos_targets(
    gt_bbox,
    gt_label,
    feat_sizes: Sequence[tuple[int, int]],
    strides: Sequence[int] = FCOS_STRIDES,
    size_ranges: Sequence[tuple[float, float]] = FCOS_SIZE_RANGES,
    *,
    center_sampling_radius: float | None = None,
) -> FcosTargets:
    r"""FCOS's per-location class, (l, t, r, b) and centre-ness targets, all pyramid levels at once.

    A location (x, y) of level i (stride :math:`s_i`, size range
    :math:`[m_{i-1}, m_i]`) is **foreground** for box :math:`(x_0, y_0, x_1, y_1)`
    when [1]_ (Sec. 3.1-3.2; *Detection – 3 stages*, §N)

    1. it lies inside the box: :math:`\min(l^*, t^*, r^*, b^*) > 0` — or, with
       centre sampling of radius ρ [2]_, strictly inside the box's central square
       of half-side :math:`\rho s_i` around its centre (clipped to the box);
    2. its largest distance fits the level: :math:`m_{i-1} \le \max(l^*, t^*, r^*, b^*) \le m_i`.

    A location that is foreground for several boxes takes the one of
    **smallest area** (the first on a tie). It learns the class of that box,
    :math:`(l^*, t^*, r^*, b^*) / s_i` and :func:`centerness` of those
    distances; every other location is background (class -1).

    Parameters
    ----------
    gt_bbox : ndarray, shape (R, 4)
        Ground-truth boxes ``(x_min, y_min, x_max, y_max)`` in pixels (R = 0 allowed).
    gt_label : array_like of int, shape (R,)
        Their classes ``0 .. K-1``.
    feat_sizes : sequence of (H_i, W_i)
        Feature-map size of each level, in cells.
    strides : sequence of int, default FCOS_STRIDES
        Stride of each level in pixels (the paper: 8 .. 128 for P3..P7).
    size_ranges : sequence of (float, float), default FCOS_SIZE_RANGES
        :math:`(m_{i-1}, m_i)` of each level in pixels, lower <= upper; ``inf``
        allowed. Smaller images scale them down (e.g. 0 / 32 / 64 / ∞ on P3..P5
        of a 128 px image).
    center_sampling_radius : float > 0, optional
        ρ in strides (the improved FCOS: 1.5, :data:`CENTER_SAMPLING_RADIUS`);
        None (default) is the paper's rule 1, the whole box.

    Returns
    -------
    FcosTargets
        ``gt_class`` (P,) int64, ``ltrb`` (P, 4) and ``centerness`` (P,) in the
        floating dtype of ``gt_bbox``, ``gt_index`` (P,), ``locations`` (P, 2)
        and ``stride`` (P,). P = Σ H_i W_i, level by level.

    Raises
    ------
    ValueError
        If the boxes are malformed, ``gt_label`` is not (R,) of classes >= 0,
        the per-level sequences differ in length, a range is inverted or
        ``center_sampling_radius`` is not positive.
    TypeError
        If ``gt_label`` is not integer or a size is not an integer.

    Notes
    -----
    The reference code (``fcos_core/modeling/rpn/fcos/loss.py``) checks
    :math:`m_{i-1} \le \max \le m_i` with both ends included, as here; with
    centre sampling it keeps the range test on the distances to the whole
    box. The distances are divided by the stride as in the improved FCOS [2]_
    (the paper regresses :math:`\exp(s_i x)` with a learnt scale per level);
    the IoU loss and the centre-ness do not change under that scaling.

    Examples
    --------
    >>> t = fcos_targets(np.array([[0., 0., 16., 24.]]), [7], [(2, 2)], (8,), ((0., 64.),))
    >>> t.locations[:, 0], t.gt_class  # all four points are inside the box
    (array([ 4., 12.,  4., 12.]), array([7, 7, 7, 7]))
    >>> t.ltrb[0] * 8  # (4 - 0, 4 - 0, 16 - 4, 24 - 4)
    array([ 4.,  4., 12., 20.])
    >>> round(float(t.centerness[0]), 4)  # sqrt(4/12 * 4/20)
    0.2582
    """
    gt_bbox = as_boxes(gt_bbox, "gt_bbox")
    gt_label = _as_labels(gt_label, len(gt_bbox))
    if not (len(feat_sizes) == len(strides) == len(size_ranges)):
        raise ValueError(
            f"feat_sizes, strides and size_ranges must have one entry per level; got lengths "
            f"{len(feat_sizes)}, {len(strides)}, {len(size_ranges)}"
        )
    ranges = _check_ranges(size_ranges)
    radius = (
        None
        if center_sampling_radius is None
        else positive(center_sampling_radius, "center_sampling_radius")
    )
    per_level = [fcos_locations(f, s) for f, s in zip(feat_sizes, strides)]
    locations = np.concatenate(per_level) if per_level else np.zeros((0, 2))
    sizes = [len(p) for p in per_level]
    stride = np.repeat(np.asarray(strides, np.float64), sizes)  # (P,)
    lo, hi = (np.repeat(ranges[:, k], sizes) for k in (0, 1))  # (P,) each
    dtype = gt_bbox.dtype
    n_loc = len(locations)
    gt_class = np.full(n_loc, -1, np.int64)
    gt_index = np.full(n_loc, -1, np.int64)
    ltrb = np.zeros((n_loc, 4), dtype)
    if len(gt_bbox) == 0 or n_loc == 0:
        return FcosTargets(gt_class, ltrb, np.zeros(n_loc, dtype), gt_index, locations, stride)

    box = gt_bbox.astype(np.float64)
    x, y = locations[:, 0:1], locations[:, 1:2]  # (P, 1)
    dist = np.stack([x - box[:, 0], y - box[:, 1], box[:, 2] - x, box[:, 3] - y], axis=2)
    # dist: (P, R, 4) = (l*, t*, r*, b*) of every location to every box
    if radius is None:
        inside = dist.min(axis=2) > 0  # rule 1: inside the box
    else:  # rule 1 with centre sampling: inside the central square, clipped to the box
        cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2  # (R,)
        half = radius * stride[:, None]  # (P, 1)
        x0, y0 = np.maximum(cx - half, box[:, 0]), np.maximum(cy - half, box[:, 1])
        x1, y1 = np.minimum(cx + half, box[:, 2]), np.minimum(cy + half, box[:, 3])
        inside = (x > x0) & (y > y0) & (x < x1) & (y < y1)  # (P, R)
    max_dist = dist.max(axis=2)  # (P, R)
    in_range = (max_dist >= lo[:, None]) & (max_dist <= hi[:, None])  # rule 2
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])  # (R,)
    area_or_inf = np.where(inside & in_range, area[None, :], np.inf)  # (P, R)
    best = area_or_inf.argmin(axis=1)  # the smallest box (first on a tie)
    fg = np.isfinite(area_or_inf[np.arange(n_loc), best])
    gt_index[fg] = best[fg]
    gt_class[fg] = gt_label[best[fg]]
    ltrb[fg] = (dist[np.flatnonzero(fg), best[fg]] / stride[fg, None]).astype(dtype)
    ctr = np.zeros(n_loc, dtype)
    ctr[fg] = centerness(ltrb[fg])
    return FcosTargets(gt_class, ltrb, ctr, gt_index, locations, stride)


def fcos_decode(locations, ltrb, stride) -> np.ndarray:
    r"""Boxes from a location and its (l, t, r, b): the inverse of :func:`fcos_targets`' encoding.

    .. math::
        (x_0, y_0, x_1, y_1) = (x - l s,\ y - t s,\ x + r s,\ y + b s)

    Parameters
    ----------
    locations : array_like, shape (P, 2)
        Image points ``(x, y)`` in pixels (:func:`fcos_locations`).
    ltrb : array_like, shape (P, 4)
        Distances ``(l, t, r, b)`` in units of the stride.
    stride : float or array_like, shape (P,)
        Stride of each location's level, pixels.

    Returns
    -------
    bbox : ndarray, shape (P, 4)
        ``(x_min, y_min, x_max, y_max)`` in pixels, floating dtype of ``ltrb``;
        computed in float64 (the precision of the locations) and rounded once.

    Raises
    ------
    ValueError
        If the shapes do not match or a value is not finite.

    Examples
    --------
    >>> fcos_decode([[4.0, 4.0]], [[0.5, 0.5, 1.5, 2.5]], 8)
    array([[ 0.,  0., 16., 24.]])
    """
    loc = as_float_array(locations, "locations", dtype=np.float64)
    d = as_float_array(ltrb, "ltrb")
    s = np.broadcast_to(as_float_array(stride, "stride", dtype=np.float64), (len(d),))
    if loc.ndim != 2 or loc.shape[1] != 2 or d.ndim != 2 or d.shape[1] != 4 or len(loc) != len(d):
        raise ValueError(
            f"locations must be (P, 2) and ltrb (P, 4) with the same P; got {loc.shape}, {d.shape}"
        )
    for arr, name in ((loc, "locations"), (d, "ltrb"), (s, "stride")):
        check_finite(arr, name)
    px = d * s[:, None]
    out = np.concatenate([loc - px[:, :2], loc + px[:, 2:]], axis=1)
    return out.astype(d.dtype, copy=False)


def _check_ranges(size_ranges) -> np.ndarray:
    try:
        ranges = np.asarray(size_ranges, np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ValueError(f"size_ranges must be (lower, upper) pairs; got {size_ranges!r}") from None
    if len(ranges) != len(size_ranges) or np.isnan(ranges).any():
        raise ValueError(f"size_ranges must be (lower, upper) pairs; got {size_ranges!r}")
    if (ranges[:, 0] > ranges[:, 1]).any():
        raise ValueError(f"size_ranges must have lower <= upper; got {size_ranges!r}")
    return ranges
