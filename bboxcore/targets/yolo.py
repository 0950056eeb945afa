r"""YOLO's box coding and target assignment: v1's grid cells, v2/v3's anchor offsets.

Three papers, one idea: the cell of the S×S grid (or of a feature map of
stride s) that holds an object's centre is responsible for it.

* **YOLOv1** [1]_: each cell predicts B boxes ``(x, y, w, h)`` — ``(x, y)``
  the centre relative to the cell, ``(w, h)`` relative to the image — a
  confidence each, and C class probabilities: an ``(S, S, 5B + C)`` output.
  :func:`yolov1_targets` marks the responsible cells; which of their B
  predictors is responsible (the highest IoU) is decided by the loss,
  :func:`bboxcore.losses.yolov1_loss`, because it depends on the prediction.
* **YOLOv2** [2]_ (Sec. 2, "Direct location prediction"): offsets from an
  anchor ``(p_w, p_h)`` (the k-means "dimension clusters",
  :func:`bboxcore.anchors.kmeans_anchors`) at cell ``(c_x, c_y)``:
  :func:`yolo_decode` and its inverse :func:`yolo_encode`.
* **YOLOv3** [3]_ (Sec. 2.1, 2.3): nine anchors, three per scale; a GT box goes
  to the one anchor of nine with the best shape IoU, at the cell of its
  centre on that anchor's scale; predictions that overlap a GT by more than
  the ignore threshold get no no-object loss: :func:`yolov3_targets` on the
  flat layout of :func:`yolo_grid`.

They are plain NumPy without gradient: target assignment takes part in the
forward pass only. Boxes are ``(x_min, y_min, x_max, y_max)`` in image pixels
(see :mod:`bboxcore.boxes`); image sizes are ``(H, W)``.

References
----------
.. [1] J. Redmon, S. Divvala, R. Girshick, A. Farhadi. "You Only Look Once:
   Unified, Real-Time Object Detection." CVPR 2016, arXiv:1506.02640.
.. [2] J. Redmon, A. Farhadi. "YOLO9000: Better, Faster, Stronger." CVPR 2017,
   arXiv:1612.08242.
.. [3] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
   arXiv:1804.02767, 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bboxcore._checks import count, unit_interval
from bboxcore.boxes import as_boxes, as_float_array, as_image_size, check_finite
from bboxcore.iou import box_iou
from bboxcore.targets.faster_rcnn import IGNORE, NEGATIVE, POSITIVE

__all__ = [
    "LOGIT_CLIP",
    "YOLO_T_CLIP",
    "YoloGrid",
    "Yolov1Targets",
    "Yolov3Targets",
    "yolo_decode",
    "yolo_encode",
    "yolo_grid",
    "yolov1_decode",
    "yolov1_targets",
    "yolov3_targets",
]

#: A centre exactly on a cell border has t_x = ±inf; :func:`yolo_encode` clips
#: the fraction to [LOGIT_CLIP, 1 - LOGIT_CLIP] first (``|t_x| <= 13.8``).
LOGIT_CLIP = 1e-6
#: ``t_w`` and ``t_h`` are clipped at this value before ``exp`` in :func:`yolo_decode`
#: so that an untrained head cannot overflow (e^10 ≈ 22026 anchor widths).
YOLO_T_CLIP = 10.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{-z}) without overflow: e^{-|z|} is always <= 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _as_last(x, name: str, k: int) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim == 0 or arr.shape[-1] != k:
        raise ValueError(f"{name} must have shape (..., {k}); got {arr.shape}")
    check_finite(arr, name)
    return arr


def _as_anchors(anchors, name: str = "anchors") -> np.ndarray:
    a = _as_last(anchors, name, 2)
    if (a <= 0).any():
        raise ValueError(f"{name} (p_w, p_h) must be positive; got min {a.min()}")
    return a


def _as_stride(stride) -> np.ndarray:
    s = as_float_array(stride, "stride")
    check_finite(s, "stride")
    if (s <= 0).any():
        raise ValueError(f"stride must be positive; got {s.min() if s.size else s}")
    return s


def _as_scale_xy(scale_xy) -> float:
    """α >= 1 of YOLOv4's grid-sensitive decoding, as a float."""
    if isinstance(scale_xy, bool) or not isinstance(
        scale_xy, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"scale_xy must be a number >= 1; got {type(scale_xy).__name__}")
    if not (np.isfinite(scale_xy) and scale_xy >= 1):
        raise ValueError(f"scale_xy must be a finite number >= 1; got {scale_xy}")
    return float(scale_xy)


def _broadcast(*arrays_and_names):
    try:
        return np.broadcast_shapes(*(a.shape[:-1] for a, _ in arrays_and_names))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for a, n in arrays_and_names)
        raise ValueError(f"the leading dimensions must broadcast; got {shapes}") from None


# --------------------------------------------------------------------------- v2/v3 coding
def yolo_decode(loc, cells, anchors, stride=1.0, *, scale_xy=1.0) -> np.ndarray:
    r"""Decode YOLOv2/v3 offsets into boxes: σ keeps the centre in its cell, exp scales the anchor.

    A prediction ``(t_x, t_y, t_w, t_h)`` at cell ``(c_x, c_y)`` with anchor
    ``(p_w, p_h)`` is the box [2]_ (Sec. 2, "Direct location prediction";
    *Detection – 3 stages*, §F2.2):

    .. math::
        b_x = \sigma(t_x) + c_x,\quad b_y = \sigma(t_y) + c_y,\quad
        b_w = p_w e^{t_w},\quad b_h = p_h e^{t_h}

    in grid units (``stride=1``, anchors in cells), or in pixels when
    ``stride`` is the feature map's stride s: :math:`(b_x s, b_y s)` with the
    anchors given in pixels. The objectness σ(t_o) is decoded by the caller.

    YOLOv4's grid-sensitive form [4]_ (Sec. 3.4, "Eliminate grid sensitivity")
    stretches σ by a factor α = ``scale_xy`` > 1 about the cell's middle,
    :math:`b_x = \alpha\sigma(t_x) - \frac{\alpha - 1}2 + c_x`, so that a
    centre on a cell border needs no infinite ``t_x``; α = 2 reaches half a
    cell into each neighbour (:func:`yolov3_targets`' ``neighbour_cells``).

    Parameters
    ----------
    loc : array_like, shape (..., 4), float
        Offsets ``(t_x, t_y, t_w, t_h)``.
    cells : array_like, shape (..., 2)
        Cell indices ``(c_x, c_y)`` (column, row), broadcast against ``loc``.
    anchors : array_like, shape (..., 2)
        Anchor sizes ``(p_w, p_h)`` > 0 (pixels, or cells with ``stride=1``).
    stride : float or array_like, shape (..., 1), default 1.0
        Pixels per cell, > 0.
    scale_xy : float >= 1, default 1.0
        α; 1 is YOLOv2/v3's decoding.

    Returns
    -------
    bbox : ndarray, shape (broadcast ..., 4)
        ``(x_min, y_min, x_max, y_max)``: pixels (grid units for ``stride=1``).

    Raises
    ------
    ValueError
        If a last dimension is wrong, the leading ones do not broadcast, values
        are not finite, anchors or stride are not positive, or ``scale_xy`` < 1.
    TypeError
        If ``scale_xy`` is not a number.

    Notes
    -----
    Unlike Faster R-CNN's :func:`~bboxcore.encoding.loc2bbox`, whose
    ``t_x`` moves the centre anywhere, σ(t_x) ∈ (0, 1): the centre cannot
    leave the cell that predicts it, which made YOLOv2's early training stable.
    ``t_w``, ``t_h`` are clipped at ``YOLO_T_CLIP`` before ``exp``.

    References
    ----------
    .. [2] J. Redmon, A. Farhadi. "YOLO9000: Better, Faster, Stronger." CVPR
       2017, arXiv:1612.08242.
    .. [4] A. Bochkovskiy, C.-Y. Wang, H.-Y. M. Liao. "YOLOv4: Optimal Speed and
       Accuracy of Object Detection." arXiv:2004.10934, 2020.

    Examples
    --------
    >>> yolo_decode([0., 0., 0., 0.], [3, 1], [2., 1.])  # centre (3.5, 1.5), 2 x 1 cells
    array([2.5, 1. , 4.5, 2. ])
    >>> yolo_decode([0., 0., np.log(2), 0.], [3, 1], [16., 8.], stride=8.)  # pixels
    array([12.,  8., 44., 16.])
    >>> yolo_decode([-50., 50., 0., 0.], [3, 1], [2., 1.], scale_xy=2.)  # x -> 3 - 0.5, y -> 2.5
    array([1.5, 2. , 3.5, 3. ])
    """
    loc = _as_last(loc, "loc", 4)
    cells = _as_last(cells, "cells", 2)
    anchors = _as_anchors(anchors)
    stride = _as_stride(stride)
    alpha = _as_scale_xy(scale_xy)
    _broadcast((loc, "loc"), (cells, "cells"), (anchors, "anchors"))
    dtype = loc.dtype
    s = stride if stride.ndim == 0 else stride[..., 0]
    shift = (alpha - 1) / 2
    # b_x = α σ(t_x) - (α - 1) / 2 + c_x (α = 1: σ(t_x) + c_x), times the stride
    cx = (alpha * _sigmoid(loc[..., 0]) - shift + cells[..., 0]) * s
    cy = (alpha * _sigmoid(loc[..., 1]) - shift + cells[..., 1]) * s
    tw = np.minimum(loc[..., 2], YOLO_T_CLIP)
    th = np.minimum(loc[..., 3], YOLO_T_CLIP)
    w = anchors[..., 0] * np.exp(tw)  # b_w = p_w e^{t_w}
    h = anchors[..., 1] * np.exp(th)
    out = np.stack(np.broadcast_arrays(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), axis=-1)
    return out.astype(dtype, copy=False)


def yolo_encode(bbox, cells, anchors, stride=1.0, *, scale_xy=1.0) -> np.ndarray:
    r"""The inverse of :func:`yolo_decode`: the offsets that turn an anchor at a cell into a box.

    .. math::
        t_x = \sigma^{-1}(b_x / s - c_x),\quad t_y = \sigma^{-1}(b_y / s - c_y),\quad
        t_w = \log(b_w / p_w),\quad t_h = \log(b_h / p_h)

    with :math:`\sigma^{-1}(u) = \log\frac{u}{1-u}` [2]_ (Sec. 2; *Detection –
    3 stages*, §F2.2, "x_f = x - i, w_f = log(w / anchors[0])"). YOLOv3's loss
    uses the fraction :math:`b_x / s - c_x` itself as the target of
    :math:`\sigma(t_x)` (:func:`yolov3_targets`). With α = ``scale_xy``
    (:func:`yolo_decode`) the fraction f becomes :math:`u = (f + \frac{\alpha -
    1}2) / \alpha` before :math:`\sigma^{-1}`.

    Parameters
    ----------
    bbox : array_like, shape (..., 4), float
        Boxes ``(x_min, y_min, x_max, y_max)`` with positive width and height.
    cells : array_like, shape (..., 2)
        ``(c_x, c_y)``; the box centre must lie in the cell, i.e.
        :math:`b_x / s - c_x \in [0, 1]` up to rounding (a tolerance of 1e-9, 1e-5
        for float32 boxes, both ends included); with α, in
        :math:`[-\frac{\alpha - 1}2, \frac{\alpha + 1}2]`.
    anchors : array_like, shape (..., 2)
        ``(p_w, p_h)`` > 0.
    stride : float or array_like, shape (..., 1), default 1.0
        As in :func:`yolo_decode`.
    scale_xy : float >= 1, default 1.0
        α of :func:`yolo_decode`.

    Returns
    -------
    loc : ndarray, shape (broadcast ..., 4)
        ``(t_x, t_y, t_w, t_h)``, same floating dtype as ``bbox``.

    Raises
    ------
    ValueError
        As :func:`yolo_decode`; also if a box has zero width or height, or its
        centre lies outside its cell (its reach, with α).
    TypeError
        If ``scale_xy`` is not a number.

    Notes
    -----
    A centre on a cell border (fraction 0 or 1) would give an infinite
    ``t_x``; the fraction is clipped to ``[LOGIT_CLIP, 1 - LOGIT_CLIP]``.

    Examples
    --------
    >>> yolo_encode([2.5, 1., 4.5, 2.], [3, 1], [2., 1.])
    array([0., 0., 0., 0.])
    >>> loc = np.array([0.3, -1.2, 0.5, -0.25])
    >>> box = yolo_decode(loc, [4, 7], [10., 20.], stride=16.)
    >>> np.allclose(yolo_encode(box, [4, 7], [10., 20.], stride=16.), loc)
    True
    """
    bbox = _as_last(bbox, "bbox", 4)
    cells = _as_last(cells, "cells", 2)
    anchors = _as_anchors(anchors)
    stride = _as_stride(stride)
    alpha = _as_scale_xy(scale_xy)
    _broadcast((bbox, "bbox"), (cells, "cells"), (anchors, "anchors"))
    s = stride if stride.ndim == 0 else stride[..., 0]
    w = bbox[..., 2] - bbox[..., 0]
    h = bbox[..., 3] - bbox[..., 1]
    if (w <= 0).any() or (h <= 0).any():
        raise ValueError("bbox must have positive width and height to be encoded")
    shift = (alpha - 1) / 2
    # the centre's place in its cell, in [0, 1]; u = (f + (α - 1) / 2) / α (α = 1: f itself)
    fx = ((bbox[..., 0] + w / 2) / s - cells[..., 0] + shift) / alpha
    fy = ((bbox[..., 1] + h / 2) / s - cells[..., 1] + shift) / alpha
    tol = 1e-5 if bbox.dtype == np.float32 else 1e-9
    outside = (fx < -tol) | (fx > 1 + tol) | (fy < -tol) | (fy > 1 + tol)
    if np.any(outside):
        raise ValueError(
            f"every bbox centre must lie in its cell ({-shift:g} <= b_x / s - c_x <= "
            f"{1 + shift:g}, same for y); got fractions (f + {shift:g}) / {alpha:g} in "
            f"x [{np.min(fx)}, {np.max(fx)}], y [{np.min(fy)}, {np.max(fy)}]"
        )
    fx = np.clip(fx, LOGIT_CLIP, 1 - LOGIT_CLIP)
    fy = np.clip(fy, LOGIT_CLIP, 1 - LOGIT_CLIP)
    loc = np.stack(
        np.broadcast_arrays(
            np.log(fx) - np.log1p(-fx),  # σ^{-1}(u) = log(u / (1 - u))
            np.log(fy) - np.log1p(-fy),
            np.log(w / anchors[..., 0]),
            np.log(h / anchors[..., 1]),
        ),
        axis=-1,
    )
    return loc.astype(bbox.dtype, copy=False)


class YoloGrid(NamedTuple):
    """The flat layout of a YOLOv3 output: every (scale, row, column, anchor), in that order.

    Attributes
    ----------
    cells : ndarray, shape (M, 2), float64
        ``(c_x, c_y)`` of each prediction on its own scale.
    anchors : ndarray, shape (M, 2)
        ``(p_w, p_h)`` of each prediction, pixels.
    stride : ndarray, shape (M, 1)
        Pixels per cell of each prediction's scale.
    feat_sizes : list of (H_l, W_l)
        The feature map sizes, one per scale: ``ceil(H / s_l), ceil(W / s_l)``.
    """

    cells: np.ndarray
    anchors: np.ndarray
    stride: np.ndarray
    feat_sizes: list


def yolo_grid(img_size: Sequence[float], anchors, strides: Sequence[int]) -> YoloGrid:
    r"""Cells, anchors and strides of every prediction of a multi-scale YOLO, flattened.

    The anchors (sorted by area, e.g. from :func:`~bboxcore.anchors.kmeans_anchors`)
    are split into ``len(strides)`` equal groups: the smallest group goes to the
    finest scale [3]_ (Sec. 2.3; *Detection – 3 stages*, §G1.2: "/8 → small
    anchors ... /32 → large anchors"). Scale ``l`` has a
    ``ceil(H / s_l) × ceil(W / s_l)`` map (a stride-2, padding-1 convolution
    maps n to ceil(n / 2)) and A = len(anchors) / len(strides) anchors per cell;
    M = Σ_l H_l W_l A.

    Parameters
    ----------
    img_size : (H, W)
        Image size in pixels.
    anchors : array_like, shape (L·A, 2)
        ``(p_w, p_h)`` in pixels, sorted by area.
    strides : sequence of int
        One stride per scale, increasing (YOLOv3: 8, 16, 32).

    Returns
    -------
    YoloGrid
        Flat ``cells``, ``anchors`` and ``stride``, row-major per scale, anchor last.

    Raises
    ------
    ValueError
        If ``len(anchors)`` is not a multiple of ``len(strides)``, the strides
        are not positive and increasing, or the anchors not positive.

    References
    ----------
    .. [3] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
       arXiv:1804.02767, 2018.

    Examples
    --------
    >>> g = yolo_grid((64, 64), np.arange(1., 19.).reshape(9, 2), (8, 16, 32))
    >>> g.feat_sizes, g.cells.shape  # (8·8 + 4·4 + 2·2) cells × 3 anchors
    ([(8, 8), (4, 4), (2, 2)], (252, 2))
    >>> g.cells[:4].tolist()  # three anchors at cell (0, 0), then cell (1, 0)
    [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    >>> g.anchors[:4].tolist()
    [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [1.0, 2.0]]
    """
    h, w = as_image_size(img_size)
    a = _as_anchors(anchors)
    if a.ndim != 2:
        raise ValueError(f"anchors must have shape (L*A, 2); got {a.shape}")
    strides = [int(s) for s in strides]
    n_scale = len(strides)
    if n_scale == 0 or any(s <= 0 for s in strides) or sorted(set(strides)) != strides:
        raise ValueError(f"strides must be positive and increasing; got {strides}")
    if len(a) % n_scale:
        raise ValueError(
            f"anchors must split evenly over the {n_scale} scales; got {len(a)} anchors"
        )
    n_anchor = len(a) // n_scale
    cells, anchor_rows, stride_rows, sizes = [], [], [], []
    for level, s in enumerate(strides):
        fh, fw = int(np.ceil(h / s)), int(np.ceil(w / s))
        sizes.append((fh, fw))
        cy, cx = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")  # (fh, fw) each
        xy = np.stack([cx, cy], axis=-1).reshape(-1, 1, 2)  # (fh*fw, 1, 2), row-major
        cells.append(np.broadcast_to(xy, (fh * fw, n_anchor, 2)).reshape(-1, 2))
        group = a[level * n_anchor : (level + 1) * n_anchor]  # (A, 2)
        anchor_rows.append(np.broadcast_to(group, (fh * fw, n_anchor, 2)).reshape(-1, 2))
        stride_rows.append(np.full((fh * fw * n_anchor, 1), float(s)))
    return YoloGrid(
        np.concatenate(cells).astype(np.float64),
        np.concatenate(anchor_rows),
        np.concatenate(stride_rows),
        sizes,
    )


# --------------------------------------------------------------------------- v1
class Yolov1Targets(NamedTuple):
    """Dense YOLOv1 targets of one image on an S×S grid.

    Attributes
    ----------
    obj_mask : ndarray, shape (S, S), bool
        :math:`\\mathbb{1}_i^{obj}`: the cell (row, column) holds an object's centre.
    box : ndarray, shape (S, S, 4)
        ``(x̂, ŷ, ŵ, ĥ)``: the centre relative to the cell, in [0, 1], and the
        size relative to the image; 0 where ``obj_mask`` is False.
    cls : ndarray, shape (S, S, C)
        :math:`\\hat p_i(c)`: one-hot class of the responsible object.
    """

    obj_mask: np.ndarray
    box: np.ndarray
    cls: np.ndarray


def _check_labels(label, n: int, n_class: int) -> np.ndarray:
    lab = np.asarray(label)
    if lab.shape != (n,):
        raise ValueError(f"label must have shape ({n},) to match bbox; got {lab.shape}")
    if n and (lab.dtype.kind not in "iu" or lab.min() < 0 or lab.max() >= n_class):
        raise ValueError(
            f"label must be integers in [0, n_class={n_class}); got {lab.dtype} "
            f"in [{lab.min()}, {lab.max()}]"
        )
    return lab.astype(np.int64)


def _centre_cells(b: np.ndarray, h: float, w: float, gh: int, gw: int):
    """Centres (R, 2) in image fractions and the (row, col) of the cell holding each."""
    cx = (b[:, 0] + b[:, 2]) / 2 / w
    cy = (b[:, 1] + b[:, 3]) / 2 / h
    # NOTE: a centre on the right/bottom border (fraction 1) belongs to the last cell.
    col = np.clip(np.floor(cx * gw), 0, gw - 1).astype(np.int64)
    row = np.clip(np.floor(cy * gh), 0, gh - 1).astype(np.int64)
    return cx, cy, row, col


def yolov1_targets(bbox, label, img_size: Sequence[float], grid_size: int, n_class: int):
    r"""YOLOv1's targets: the cell holding each object's centre, its box and its class.

    The image is divided into an S×S grid; "if the center of an object falls
    into a grid cell, that grid cell is responsible for detecting that
    object" [1]_ (Sec. 2; *Detection – 3 stages*, §E1). Its box target is the
    centre relative to the cell and the size relative to the image:

    .. math::
        \hat x = S\,\frac{x_c}{W} - \lfloor S\,\tfrac{x_c}{W} \rfloor,\quad
        \hat y = S\,\frac{y_c}{H} - \lfloor S\,\tfrac{y_c}{H} \rfloor,\quad
        \hat w = \frac{w}{W},\quad \hat h = \frac{h}{H}

    Parameters
    ----------
    bbox : array_like, shape (R, 4)
        Ground-truth boxes in pixels, inside the image.
    label : array_like, shape (R,), int
        Classes in ``[0, n_class)``.
    img_size : (H, W)
        Image size in pixels.
    grid_size : int
        S >= 1 (the paper: 7 for 448-px images).
    n_class : int
        C >= 1.

    Returns
    -------
    Yolov1Targets
        ``obj_mask (S, S)``, ``box (S, S, 4)``, ``cls (S, S, C)`` in ``bbox``'s
        floating dtype.

    Raises
    ------
    ValueError
        If the boxes or labels are malformed, or ``grid_size``/``n_class`` < 1.

    Notes
    -----
    A cell predicts one object (*Detection – 3 stages*, §E3: "1 cell 1 obj").
    When several centres fall into the same cell, the box of largest area wins
    (the later one in ``bbox`` on a tie; the smaller ones are lost, YOLOv1's known
    weakness on crowds). A zero-area box gets no cell. A centre on the right or
    bottom border of the image belongs to the last cell; one outside the image (a
    box cut by the image border) goes to the nearest border cell, its
    :math:`(\hat x, \hat y)` then outside [0, 1]. Which of the B predictors of a
    cell is responsible is chosen by :func:`~bboxcore.losses.yolov1_loss`: the
    one whose prediction has the highest IoU with the truth.

    References
    ----------
    .. [1] J. Redmon, S. Divvala, R. Girshick, A. Farhadi. "You Only Look Once:
       Unified, Real-Time Object Detection." CVPR 2016, arXiv:1506.02640.

    Examples
    --------
    A 20×10 box centred at (50, 25) in a 100×100 image on a 4×4 grid (25-px
    cells): cell (row 1, col 2), centre (0, 0) in the cell, size (0.2, 0.1).

    >>> t = yolov1_targets([[40., 20., 60., 30.]], [3], (100, 100), 4, 5)
    >>> np.argwhere(t.obj_mask).tolist(), t.box[1, 2].tolist(), t.cls[1, 2].tolist()
    ([[1, 2]], [0.0, 0.0, 0.2, 0.1], [0.0, 0.0, 0.0, 1.0, 0.0])
    """
    b = as_boxes(bbox, "bbox")
    h, w = as_image_size(img_size)
    s = count(grid_size, "grid_size", minimum=1)
    n_class = count(n_class, "n_class", minimum=1)
    lab = _check_labels(label, len(b), n_class)
    obj = np.zeros((s, s), bool)
    box = np.zeros((s, s, 4), b.dtype)
    cls = np.zeros((s, s, n_class), b.dtype)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    cx, cy, row, col = _centre_cells(b, h, w, s, s)
    for i in np.argsort(area, kind="stable"):  # larger boxes overwrite smaller ones
        if area[i] <= 0:
            continue
        r, c = row[i], col[i]
        obj[r, c] = True
        box[r, c] = (cx[i] * s - c, cy[i] * s - r, (b[i, 2] - b[i, 0]) / w, (b[i, 3] - b[i, 1]) / h)
        cls[r, c] = 0
        cls[r, c, lab[i]] = 1
    return Yolov1Targets(obj, box, cls)


def yolov1_decode(pred, img_size: Sequence[float], n_box: int = 2):
    r"""YOLOv1's boxes and class-specific confidences from its ``(S, S, 5B + C)`` output.

    Each predictor j of cell (row i_y, column i_x) gives the box centred at
    :math:`((i_x + x)/S \cdot W,\ (i_y + y)/S \cdot H)` of size
    :math:`(w W, h H)`, and the score of class c is [1]_ (Eq. 2;
    *Detection – 3 stages*, §E2.2, "Test"):

    .. math::
        \Pr(\text{class}_c \mid \text{object}) \cdot C_j

    Per-class NMS follows (:func:`~bboxcore.nms.batched_nms`).

    Parameters
    ----------
    pred : array_like, shape (S, S, 5B + C), float
        One image's output: for each predictor ``(x, y, w, h, C)``, then the C
        class probabilities.
    img_size : (H, W)
        Image size in pixels.
    n_box : int, default 2
        B.

    Returns
    -------
    bbox : ndarray, shape (S·S·B, 4)
        Boxes in pixels (row-major cells, predictor last); negative sizes are
        taken as 0.
    score : ndarray, shape (S·S·B, C)
        Class-specific confidences.

    Raises
    ------
    ValueError
        If ``pred`` is not (S, S, 5B + C) with C >= 1.

    Examples
    --------
    >>> pred = np.zeros((2, 2, 5 + 1)); pred[1, 0] = [0.5, 0.5, 0.5, 0.25, 0.8, 1.0]
    >>> bbox, score = yolov1_decode(pred, (100, 100), n_box=1)
    >>> bbox[2].tolist(), score[2].tolist()
    ([0.0, 62.5, 50.0, 87.5], [0.8])
    """
    p = as_float_array(pred, "pred")
    n_box = count(n_box, "n_box", minimum=1)
    if p.ndim != 3 or p.shape[0] != p.shape[1] or p.shape[2] <= 5 * n_box:
        raise ValueError(f"pred must have shape (S, S, 5*{n_box} + C) with C >= 1; got {p.shape}")
    check_finite(p, "pred")
    h, w = as_image_size(img_size)
    s = p.shape[0]
    boxes = p[..., : 5 * n_box].reshape(s, s, n_box, 5)  # (S, S, B, 5)
    rows, cols = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")  # (S, S)
    cx = (cols[..., None] + boxes[..., 0]) / s * w  # (S, S, B)
    cy = (rows[..., None] + boxes[..., 1]) / s * h
    bw = np.maximum(boxes[..., 2], 0) * w
    bh = np.maximum(boxes[..., 3], 0) * h
    bbox = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=-1)
    score = p[:, :, None, 5 * n_box :] * boxes[..., 4:5]  # Pr(c | obj) · C: (S, S, B, C)
    return bbox.reshape(-1, 4).astype(p.dtype, copy=False), score.reshape(s * s * n_box, -1)


# --------------------------------------------------------------------------- v3
class Yolov3Targets(NamedTuple):
    r"""Flat YOLOv3 targets of one image, in the order of :func:`yolo_grid`.

    Attributes
    ----------
    obj : ndarray, shape (M,), int8
        1 = responsible for a GT box, 0 = no object, -1 = ignored (no objectness loss).
    loc : ndarray, shape (M, 4)
        ``(x̂, ŷ, t̂_w, t̂_h)`` for positives: the targets of σ(t_x), σ(t_y) — the
        centre's fraction in its cell, or :math:`(f + \frac{\alpha - 1}2) / \alpha`
        with ``scale_xy`` α — and the log size ratios; 0 elsewhere.
    box_weight : ndarray, shape (M,)
        ``2 - ŵ ĥ`` (sizes relative to the image) for positives, 0 elsewhere.
    cls : ndarray, shape (M, C)
        Multi-label class targets (one-hot per GT) for positives.
    """

    obj: np.ndarray
    loc: np.ndarray
    box_weight: np.ndarray
    cls: np.ndarray


def _shape_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(R, A) IoU of sizes with centres aligned: min(w)min(h) / (wh + w_a h_a - min(w)min(h))."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(
        wh[:, None, 1], anchors[None, :, 1]
    )  # (R, 1) vs (1, A) -> (R, A)
    union = (wh[:, 0] * wh[:, 1])[:, None] + (anchors[:, 0] * anchors[:, 1])[None] - inter
    return inter / union


def yolov3_targets(
    bbox,
    label,
    img_size: Sequence[float],
    anchors,
    strides: Sequence[int],
    n_class: int,
    *,
    pred_bbox=None,
    ignore_thresh: float = 0.5,
    anchor_iou_thresh: float | None = None,
    scale_xy: float = 1.0,
    neighbour_cells: bool = False,
) -> Yolov3Targets:
    r"""YOLOv3's targets: one anchor of nine per GT box, at its centre's cell on the anchor's scale.

    For each GT box [3]_ (Sec. 2.1, 2.3; *Detection – 3 stages*, §G1.2):

    1. the anchor with the best shape IoU (centres aligned, as in k-means),
       :math:`a^* = \arg\max_a \frac{\min(w, p_w)\min(h, p_h)}{wh + p_w p_h -
       \min(w, p_w)\min(h, p_h)}`, fixes the scale l (the anchor's group);
    2. the cell ``(⌊x_c / s_l⌋, ⌊y_c / s_l⌋)`` of that scale is responsible:
       objectness target 1, box target :math:`(\hat x, \hat y) = (x_c/s_l - c_x,\
       y_c/s_l - c_y)` for σ(t_x), σ(t_y) and :math:`\hat t_w = \log(w / p_w)`,
       :math:`\hat t_h = \log(h / p_h)`, class target 1 for its class
       (logistic, multi-label: *Detection – 3 stages*, §G1.3);
    3. every other prediction is a no-object example (target 0), except
       that "if the bounding box prior is not the best but does overlap a ground
       truth object by more than some threshold we ignore the prediction"
       (threshold 0.5): with ``pred_bbox`` given, a prediction whose decoded
       box has IoU > ``ignore_thresh`` with any GT is ignored (-1).

    Parameters
    ----------
    bbox : array_like, shape (R, 4)
        Ground-truth boxes in pixels, inside the image.
    label : array_like, shape (R,), int
        Classes in ``[0, n_class)``.
    img_size : (H, W)
        Image size in pixels.
    anchors : array_like, shape (L·A, 2)
        Anchor sizes in pixels, sorted by area (see :func:`yolo_grid`).
    strides : sequence of int
        One per scale, increasing.
    n_class : int
        C >= 1.
    pred_bbox : array_like, shape (M, 4), optional
        The image's decoded predictions (:func:`yolo_decode` on the flat grid),
        used only for the ignore rule; None ignores nothing.
    ignore_thresh : float in [0, 1], default 0.5
        The paper's ignore threshold.
    anchor_iou_thresh : float in [0, 1], optional
        None (the paper): one anchor per GT box. A number: **also** every other
        anchor whose shape IoU with the box exceeds it is responsible, at the
        cell of the centre on its own scale — the ``iou_thresh`` of AlexeyAB's
        darknet (YOLOv4's configs use 0.213). More positives per object give
        the class scores more to learn from.
    scale_xy : float >= 1, default 1.0
        α of the grid-sensitive decoding (:func:`yolo_decode`): the target of
        σ(t_x) is :math:`(\hat x + \frac{\alpha - 1}2) / \alpha`.
    neighbour_cells : bool, default False
        Also make responsible, with the same anchor, the two neighbouring cells
        nearest to the centre: left or right (the side of the half of the cell
        that holds it), above or below (needs ``scale_xy >= 2``, so that a cell
        reaches half a cell into its neighbours). Three cells per object and
        anchor, not one: the neighbours of the centre cell, which see the same
        object, are no longer no-object examples. This is the assignment of the
        YOLOv4 authors' Scaled-YOLOv4 (Wang, Bochkovskiy & Liao, CVPR 2021,
        arXiv:2011.08036) code, taken from Ultralytics YOLOv5 (software, no
        paper), with their α = 2. A centre cell's target wins over a neighbour's.

    Returns
    -------
    Yolov3Targets
        ``obj (M,)``, ``loc (M, 4)``, ``box_weight (M,)``, ``cls (M, C)``.

    Raises
    ------
    ValueError
        If an input is malformed, ``pred_bbox`` is not (M, 4) for this grid,
        ``ignore_thresh`` is outside [0, 1], ``scale_xy`` < 1, or
        ``neighbour_cells`` with ``scale_xy`` < 2.

    Notes
    -----
    ``box_weight = 2 - ŵĥ`` (sizes as fractions of the image) is the reference
    code's scale of the box loss (darknet ``src/yolo_layer.c``), not written in
    the paper: small boxes weigh up to twice as much as boxes that fill the
    image. If two GT boxes pick the same anchor at the same cell, the later
    one in ``bbox`` wins, as in darknet. Zero-area boxes are skipped.

    References
    ----------
    .. [3] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
       arXiv:1804.02767, 2018.

    Examples
    --------
    A 20-px square centred at (30, 30) in a 64-px image, square anchors of
    8, 16, ..., 72 px: shape IoU 20²/24² = 0.69 with the 24-px anchor beats
    16²/20² = 0.64, so anchor 2, the largest of scale 0 (stride 8), at cell
    (3, 3) with centre fraction 30/8 - 3 = 0.75, t_w = log(20/24), weight 2 - (20/64)².

    >>> anchors = np.array([[s, s] for s in (8., 16., 24., 32., 40., 48., 56., 64., 72.)])
    >>> t = yolov3_targets([[20., 20., 40., 40.]], [0], (64, 64), anchors, (8, 16, 32), 1)
    >>> k = int(np.flatnonzero(t.obj == 1)[0]); k == (3 * 8 + 3) * 3 + 2
    True
    >>> t.loc[k].round(4).tolist(), round(float(t.box_weight[k]), 4)
    ([0.75, 0.75, -0.1823, -0.1823], 1.9023)

    With the neighbours (α = 2): the centre cell's target is (0.75 + 0.5) / 2,
    and cells (4, 3) and (3, 4) are responsible too, with fraction -0.25.

    >>> t = yolov3_targets([[20., 20., 40., 40.]], [0], (64, 64), anchors, (8, 16, 32), 1,
    ...                    scale_xy=2.0, neighbour_cells=True)
    >>> [divmod(int(j) // 3, 8)[::-1] for j in np.flatnonzero(t.obj == 1)]  # (c_x, c_y)
    [(3, 3), (4, 3), (3, 4)]
    >>> t.loc[t.obj == 1, :2].tolist()
    [[0.625, 0.625], [0.125, 0.625], [0.625, 0.125]]
    """
    b = as_boxes(bbox, "bbox")
    h, w = as_image_size(img_size)
    n_class = count(n_class, "n_class", minimum=1)
    lab = _check_labels(label, len(b), n_class)
    grid = yolo_grid((h, w), anchors, strides)
    a = _as_anchors(anchors).astype(np.float64)
    thresh = unit_interval(ignore_thresh, "ignore_thresh")
    alpha = _as_scale_xy(scale_xy)
    if not isinstance(neighbour_cells, (bool, np.bool_)):
        raise TypeError(f"neighbour_cells must be a bool; got {type(neighbour_cells).__name__}")
    if neighbour_cells and alpha < 2:
        raise ValueError(
            f"neighbour_cells needs scale_xy >= 2 (a cell must reach half a cell into its "
            f"neighbours); got scale_xy = {alpha:g}"
        )
    shift = (alpha - 1) / 2
    m = len(grid.cells)
    n_anchor = len(a) // len(grid.feat_sizes)
    obj = np.full(m, NEGATIVE, np.int8)
    loc = np.zeros((m, 4), b.dtype)
    weight = np.zeros(m, b.dtype)
    cls = np.zeros((m, n_class), b.dtype)
    if pred_bbox is not None:
        p = as_boxes(pred_bbox, "pred_bbox", allow_inverted=True)
        if p.shape != (m, 4):
            raise ValueError(f"pred_bbox must have shape ({m}, 4) for this grid; got {p.shape}")
        if len(b):
            p = np.concatenate([p[:, :2], np.maximum(p[:, 2:], p[:, :2])], axis=1)
            best = box_iou(p, b).max(axis=1)  # (M,)
            obj[best > thresh] = IGNORE
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    valid = (bw > 0) & (bh > 0)
    if not valid.any():
        return Yolov3Targets(obj, loc, weight, cls)
    wh = np.stack([bw, bh], axis=1).astype(np.float64)
    shape_iou = _shape_iou(np.where(valid[:, None], wh, 1.0), a)  # (R, L·A)
    best_anchor = shape_iou.argmax(axis=1)  # (R,)
    responsible = np.arange(len(a)) == best_anchor[:, None]  # (R, L·A): one anchor each
    if anchor_iou_thresh is not None:
        responsible |= shape_iou > unit_interval(anchor_iou_thresh, "anchor_iou_thresh")
    offsets = np.cumsum([0] + [fh * fw * n_anchor for fh, fw in grid.feat_sizes])
    # the neighbours first, so that a centre cell's target overwrites a neighbour's
    for neighbours in (True, False) if neighbour_cells else (False,):
        for i in np.flatnonzero(valid):
            for anchor in np.flatnonzero(responsible[i]):
                level, k = divmod(int(anchor), n_anchor)
                s = float(strides[level])
                fh, fw = grid.feat_sizes[level]
                xc, yc = (b[i, 0] + b[i, 2]) / 2 / s, (b[i, 1] + b[i, 3]) / 2 / s
                cx, cy = min(int(np.floor(xc)), fw - 1), min(int(np.floor(yc)), fh - 1)
                cells = [(cx, cy)]
                if neighbours:  # the nearer of left/right and of above/below, inside the map
                    nx, ny = cx + (1 if xc - cx >= 0.5 else -1), cy + (1 if yc - cy >= 0.5 else -1)
                    cells = [(x, y) for x, y in ((nx, cy), (cx, ny)) if 0 <= x < fw and 0 <= y < fh]
                for x, y in cells:
                    j = offsets[level] + (y * fw + x) * n_anchor + k
                    obj[j] = POSITIVE
                    # σ(t_x)'s target (x̂ + (α - 1) / 2) / α, x̂ = x_c / s - c_x; log(w / p_w)
                    loc[j] = ((xc - x + shift) / alpha, (yc - y + shift) / alpha,
                              np.log(wh[i, 0] / a[anchor, 0]),
                              np.log(wh[i, 1] / a[anchor, 1]))  # fmt: skip
                    weight[j] = 2.0 - (wh[i, 0] / w) * (wh[i, 1] / h)
                    cls[j] = 0
                    cls[j, lab[i]] = 1
    return Yolov3Targets(obj, loc, weight, cls)
