r"""Anchors: the reference boxes that a region proposal network regresses from.

A feature map of H x W cells, each cell ``feat_stride`` pixels of the image,
carries A anchors per cell (3 scales x 3 ratios = 9 in Faster R-CNN,
arXiv:1506.01497; *Object Detection: Faster R-CNN*), so the RPN scores H·W·A
boxes: a 38 x 50 map gives 1 x 9 x 38 x 50 = 17100 anchors
(*Detection – 3 stages*, §C2). Anchor coordinates are image pixels,
``(x_min, y_min, x_max, y_max)`` (see :mod:`bboxcore.boxes`).

The conventions, stated once and used by every function here:

* **ratio** = height / width (``ratio = 2`` is a tall box, twice as high as wide);
* **centre**: the anchors of cell (y, x) are centred on the *centre of that
  cell*, ``((x + 1/2) s, (y + 1/2) s)`` for stride s (when ``base_size`` = s);
* **order**: ``grid_anchors(base, s, (H, W)).reshape(H, W, A, 4)[y, x, a]`` is
  base anchor ``a`` shifted to cell (y, x), i.e. row ``(y W + x) A + a``; an
  RPN head's ``(A·4, H, W)`` output ``.transpose(1, 2, 0).reshape(-1, 4)``
  lines up with it row by row.

Also here: the feature-pyramid (FPN) anchors, SSD's prior boxes, YOLOv2's
k-means dimension clusters and the receptive-field recurrence of *Object Detection: Faster R-CNN*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore._checks import (
    as_boxes,
    as_float_array,
    as_image_size,
    check_finite,
    check_rng,
    positive,
    positive_vector,
)
from bboxcore.iou import pairwise_iou_unchecked

__all__ = [
    "FPN_SIZES",
    "FPN_STRIDES",
    "VGG16_LAYERS",
    "ZF_LAYERS",
    "generate_anchor_base",
    "grid_anchors",
    "inside_image",
    "kmeans_anchors",
    "pyramid_anchors",
    "receptive_field",
    "ssd_prior_boxes",
]

#: FPN levels P2..P6: strides in pixels and anchor sides, areas 32²..512²
#: (*Detection – 3 stages*, §G3).
FPN_STRIDES = (4, 8, 16, 32, 64)
FPN_SIZES = (32, 64, 128, 256, 512)

#: (ksize, stride) of ZF-net up to conv5, then the RPN's 3x3 sliding window
#: (*Object Detection: Faster R-CNN*).
#: conv1 7x7/2, pool1 3x3/2, conv2 5x5/2, pool2 3x3/2, conv3-5 3x3/1, RPN 3x3/1.
ZF_LAYERS = ((7, 2), (3, 2), (5, 2), (3, 2), (3, 1), (3, 1), (3, 1), (3, 1))
# fmt: off
#: (ksize, stride) of VGG-16 up to conv5_3 (2x2 max-pools), then the RPN's 3x3 window.
VGG16_LAYERS = (
    (3, 1), (3, 1), (2, 2),           # conv1_1, conv1_2, pool1
    (3, 1), (3, 1), (2, 2),           # conv2_x, pool2
    (3, 1), (3, 1), (3, 1), (2, 2),   # conv3_x, pool3
    (3, 1), (3, 1), (3, 1), (2, 2),   # conv4_x, pool4
    (3, 1), (3, 1), (3, 1),           # conv5_x
    (3, 1),                           # the RPN's 3x3 window
)
# fmt: on


# --------------------------------------------------------------------------- one cell
def generate_anchor_base(
    base_size: float = 16,
    ratios: Sequence[float] = (0.5, 1, 2),
    scales: Sequence[float] = (8, 16, 32),
) -> np.ndarray:
    r"""The A = len(ratios)·len(scales) anchors of one cell, centred on that cell.

    For ratio r (= height / width) and scale s, the anchor has [1]_ (Sec. 3.1.1)

    .. math::
        h = b\,s\sqrt{r},\qquad w = b\,s / \sqrt{r},\qquad
        w h = (b s)^2,\qquad h / w = r

    with b = ``base_size``: the defaults give areas 128², 256², 512² and ratios
    1:2, 1:1, 2:1 (*Object Detection: Faster R-CNN*). Every anchor is centred on ``(b/2, b/2)``, the
    centre of the cell ``[0, b] x [0, b]``.

    Parameters
    ----------
    base_size : float
        Side of one cell in pixels; normally the feature stride (16 for VGG-16).
    ratios : sequence of float
        Aspect ratios height / width, positive.
    scales : sequence of float
        Anchor sides in units of ``base_size``, positive.

    Returns
    -------
    anchor_base : ndarray, shape (A, 4), float64
        ``(x_min, y_min, x_max, y_max)`` in pixels; row ``a = i * len(scales) + j``
        has ``ratios[i]`` and ``scales[j]`` (ratio-major, as chainercv).

    Raises
    ------
    ValueError
        If ``base_size`` or an entry of ``ratios``/``scales`` is not a positive
        finite number, or a sequence is empty.

    Notes
    -----
    Other well-known implementations differ in two ways; read their anchors
    with care:

    * **py-faster-rcnn** (``generate_anchors.py``) uses inclusive pixels (width
      = x_max - x_min + 1), centres on (7.5, 7.5) and *rounds* widths and
      heights to integers, so the areas are only near (b s)²: its first anchor
      is (-84, -40, 99, 55), 184 x 96 = 17664 px² instead of 128² = 16384.
    * **torchvision** ``AnchorGenerator`` and **Detectron2** centre the anchors
      of cell (y, x) on ``(x s, y s)`` (offset 0, the cell's corner, not its
      centre); torchvision also rounds to integers. Both use ratio = h / w too.

    Here (as in chainercv) the centre is ``b/2`` (offset 1/2 cell) and nothing
    is rounded, so the areas and ratios hold exactly.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.

    Examples
    --------
    >>> generate_anchor_base(16, ratios=(0.5, 1, 2), scales=(1,))
    array([[-3.3137085 ,  2.34314575, 19.3137085 , 13.65685425],
           [ 0.        ,  0.        , 16.        , 16.        ],
           [ 2.34314575, -3.3137085 , 13.65685425, 19.3137085 ]])
    >>> generate_anchor_base().shape
    (9, 4)
    """
    b = positive(base_size, "base_size")
    r = positive_vector(ratios, "ratios")
    s = positive_vector(scales, "scales")
    h = b * s[None, :] * np.sqrt(r)[:, None]  # (n_ratios, 1) x (1, n_scales) -> (n_r, n_s)
    w = b * s[None, :] / np.sqrt(r)[:, None]
    h, w = h.reshape(-1), w.reshape(-1)  # ratio-major: a = i * n_scales + j
    centre = 0.5 * b
    return np.stack([centre - 0.5 * w, centre - 0.5 * h, centre + 0.5 * w, centre + 0.5 * h], 1)


# --------------------------------------------------------------------------- the grid
def _feat_size(feat_size, name: str = "feat_size") -> tuple[int, int]:
    try:
        hf, wf = (int(v) for v in feat_size)
        ok = all(float(v) == int(v) for v in feat_size)
    except (TypeError, ValueError):
        hf, wf, ok = -1, -1, False
    if not ok or hf < 0 or wf < 0:
        raise ValueError(f"{name} must be (H, W), two integers >= 0 (cells); got {feat_size!r}")
    return hf, wf


def grid_anchors(anchor_base, feat_stride: float, feat_size: tuple[int, int]) -> np.ndarray:
    r"""Shift the base anchors to every cell of an H x W feature map.

    The anchors of cell (y, x) are the base anchors moved by
    :math:`(x s, y s)` for stride s: with :func:`generate_anchor_base`
    (``base_size = s``) they are centred on :math:`((x + \tfrac12) s, (y + \tfrac12) s)`.
    A 38 x 50 map gives 1 x 9 x 38 x 50 = 17100 anchors (*Detection – 3 stages*, §C2); a
    512 x 256 image at stride 32 gives 16 x 8 x 9
    (*Train/Test/Eval/Loss pipeline of a Faster R-CNN*).

    Parameters
    ----------
    anchor_base : array_like, shape (A, 4)
        Anchors of the cell at the origin, pixels, e.g. from :func:`generate_anchor_base`.
    feat_stride : float
        Pixels per feature-map cell, positive.
    feat_size : (H, W)
        Feature-map height and width in cells, integers >= 0.

    Returns
    -------
    anchor : ndarray, shape (H * W * A, 4)
        Same floating dtype as ``anchor_base``. Row ``(y * W + x) * A + a`` is
        base anchor ``a`` shifted to cell (y, x), so
        ``anchor.reshape(H, W, A, 4)[y, x, a]`` lines up with channel
        ``4 a + k`` of an RPN head's ``(A * 4, H, W)`` output at (y, x), i.e.
        with ``rpn_loc.transpose(1, 2, 0).reshape(-1, 4)``.

    Raises
    ------
    ValueError
        If ``anchor_base`` is not valid (A, 4) boxes, ``feat_stride`` is not
        positive or ``feat_size`` is not two integers >= 0.

    Examples
    --------
    >>> base = np.array([[0., 0., 16., 16.]])
    >>> grid_anchors(base, 16, (2, 3))
    array([[ 0.,  0., 16., 16.],
           [16.,  0., 32., 16.],
           [32.,  0., 48., 16.],
           [ 0., 16., 16., 32.],
           [16., 16., 32., 32.],
           [32., 16., 48., 32.]])
    """
    base = as_boxes(anchor_base, "anchor_base")
    stride = positive(feat_stride, "feat_stride")
    hf, wf = _feat_size(feat_size)
    return _shift(base, stride, stride, hf, wf)


def _shift(base: np.ndarray, stride_y: float, stride_x: float, hf: int, wf: int) -> np.ndarray:
    """Base anchors (A, 4) moved by (x stride_x, y stride_y) for every cell: (H W A, 4)."""
    shift_x = np.arange(wf, dtype=base.dtype) * base.dtype.type(stride_x)  # (W,)
    shift_y = np.arange(hf, dtype=base.dtype) * base.dtype.type(stride_y)  # (H,)
    anchor = np.empty((hf, wf, base.shape[0], 4), dtype=base.dtype)  # (H, W, A, 4)
    anchor[..., 0::2] = base[:, 0::2] + shift_x[None, :, None, None]  # x columns move with x
    anchor[..., 1::2] = base[:, 1::2] + shift_y[:, None, None, None]  # y columns move with y
    return anchor.reshape(-1, 4)


def inside_image(anchor, img_size: tuple[float, float]) -> np.ndarray:
    r"""Indices of the anchors that lie entirely inside the image.

    An anchor is inside when :math:`x_{min} \ge 0,\ y_{min} \ge 0,\
    x_{max} \le W,\ y_{max} \le H` (touching the border counts as inside).
    Faster R-CNN trains the RPN on these only (*The losses of Faster R-CNN*).
    *Object Detection: Faster R-CNN* quotes ~20k anchors and ~6k inside for a
    1000 x 600 image; with a 38 x 63 map the exact
    figures are 21546 and 8044 (17100 and 5834 for 800 x 600).

    Parameters
    ----------
    anchor : array_like, shape (S, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    img_size : (H, W)
        Image height and width in pixels.

    Returns
    -------
    index : ndarray, shape (K,), int64
        Increasing indices into ``anchor``.

    Raises
    ------
    ValueError
        If ``anchor`` is not valid (S, 4) boxes or ``img_size`` is not two
        positive numbers.

    Examples
    --------
    >>> inside_image([[0, 0, 10, 10], [-1, 0, 5, 5], [5, 5, 20, 10]], (10, 20))
    array([0, 2])
    """
    a = as_boxes(anchor, "anchor")
    h, w = as_image_size(img_size)
    h, w = np.float64(h), np.float64(w)  # compare in float64: a huge H must not overflow float32
    inside = (a[:, 0] >= 0) & (a[:, 1] >= 0) & (a[:, 2] <= w) & (a[:, 3] <= h)
    return np.flatnonzero(inside).astype(np.int64)


def pyramid_anchors(
    feat_sizes: Sequence[tuple[int, int]],
    strides: Sequence[float] = FPN_STRIDES,
    sizes: Sequence[float] = FPN_SIZES,
    ratios: Sequence[float] = (0.5, 1, 2),
) -> list[np.ndarray]:
    r"""Anchors of a feature pyramid: one size per level, every ratio at each.

    FPN [2]_ (Sec. 4.1; *Detection – 3 stages*, §G3) puts anchors of area :math:`32^2,
    64^2, \dots, 512^2` on P2..P6 (strides 4..64) with ratios 1:2, 1:1, 2:1:
    15 anchor shapes in total, 3 per level. Level l is
    ``grid_anchors(generate_anchor_base(strides[l], ratios, (sizes[l] / strides[l],)), ...)``.

    Parameters
    ----------
    feat_sizes : sequence of (H_l, W_l)
        Feature-map size of each level, in cells.
    strides : sequence of float
        Stride of each level in pixels (default :data:`FPN_STRIDES`).
    sizes : sequence of float
        Anchor side (square root of the area) of each level in pixels
        (default :data:`FPN_SIZES`).
    ratios : sequence of float
        Aspect ratios height / width, shared by all levels.

    Returns
    -------
    anchors : list of ndarray, shape (H_l * W_l * len(ratios), 4), float64
        One array per level, each in the order of :func:`grid_anchors`;
        ``np.concatenate(anchors)`` gives the flat list of a shared head.

    Raises
    ------
    ValueError
        If the three sequences differ in length or hold invalid values.

    References
    ----------
    .. [2] T.-Y. Lin, P. Dollár, R. Girshick, K. He, B. Hariharan, S. Belongie.
       "Feature Pyramid Networks for Object Detection." CVPR 2017, arXiv:1612.03144.

    Examples
    --------
    >>> levels = pyramid_anchors([(200, 304), (100, 152), (50, 76), (25, 38), (13, 19)])
    >>> [len(a) for a in levels]
    [182400, 45600, 11400, 2850, 741]
    """
    if not (len(feat_sizes) == len(strides) == len(sizes)):
        raise ValueError(
            f"feat_sizes, strides and sizes must have one entry per level; got lengths "
            f"{len(feat_sizes)}, {len(strides)}, {len(sizes)}"
        )
    out = []
    for feat_size, stride, size in zip(feat_sizes, strides, sizes):
        stride = positive(stride, "strides")
        size = positive(size, "sizes")
        base = generate_anchor_base(stride, ratios, (size / stride,))
        out.append(grid_anchors(base, stride, feat_size))
    return out


def ssd_prior_boxes(
    img_size: tuple[float, float],
    feat_sizes: Sequence[tuple[int, int]],
    aspect_ratios: Sequence[Sequence[float]],
    s_min: float = 0.2,
    s_max: float = 0.9,
) -> np.ndarray:
    r"""SSD's default ("prior") boxes for m feature maps, in image pixels.

    Map k = 1..m has the scale [3]_ (Eq. 4)
    :math:`s_k = s_{min} + \frac{s_{max} - s_{min}}{m - 1}(k - 1)`, and for each
    aspect ratio a the box :math:`w = s_k \sqrt{a},\ h = s_k / \sqrt{a}`
    (fractions of the image width and height), plus one extra square box of
    scale :math:`\sqrt{s_k s_{k+1}}`. Centres are the cell centres
    :math:`((j + \tfrac12) / |f_k|, (i + \tfrac12) / |f_k|)`, the convention of
    :func:`grid_anchors`.

    Parameters
    ----------
    img_size : (H, W)
        Image height and width in pixels.
    feat_sizes : sequence of (H_k, W_k)
        The m feature-map sizes in cells, m >= 2.
    aspect_ratios : sequence of sequence of float
        For each map, the ratios a > 1 **in SSD's convention a = width / height**
        (the inverse of :func:`generate_anchor_base`); each adds a and 1/a.
    s_min, s_max : float
        Scales of the first and last map, fractions of the image (0.2, 0.9).

    Returns
    -------
    prior : ndarray, shape (P, 4), float64
        ``(x_min, y_min, x_max, y_max)`` in pixels, not clipped. Maps in order;
        within map k, row ``(i W_k + j) A_k + a`` as in :func:`grid_anchors`,
        with the boxes of a cell ordered a = 1 (s_k), a = 1 (s'_k), then
        a, 1/a for each ratio. :math:`A_k = 2 + 2\,|\text{ratios}_k|`.

    Raises
    ------
    ValueError
        If fewer than two maps are given, the lengths differ, or a value is
        not positive (``s_min <= s_max`` required).

    Notes
    -----
    :math:`s_{m+1}` for the last extra box extends Eq. 4 to k = m + 1.

    References
    ----------
    .. [3] W. Liu et al. "SSD: Single Shot MultiBox Detector." ECCV 2016,
       arXiv:1512.02325.

    Examples
    --------
    SSD300's six maps give its 8732 boxes:

    >>> fs = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
    >>> ar = [(2,), (2, 3), (2, 3), (2, 3), (2,), (2,)]
    >>> ssd_prior_boxes((300, 300), fs, ar).shape
    (8732, 4)
    """
    h_img, w_img = as_image_size(img_size)
    m = len(feat_sizes)
    if m < 2 or len(aspect_ratios) != m:
        raise ValueError(
            f"feat_sizes must hold m >= 2 maps and aspect_ratios one entry per map; got "
            f"{m} and {len(aspect_ratios)}"
        )
    s_min, s_max = positive(s_min, "s_min"), positive(s_max, "s_max")
    if s_min > s_max:
        raise ValueError(f"s_min must be <= s_max; got {s_min} > {s_max}")
    scale = s_min + (s_max - s_min) / (m - 1) * np.arange(m + 1)  # s_1 .. s_{m+1}, Eq. 4
    out = []
    for k, (feat_size, ratios) in enumerate(zip(feat_sizes, aspect_ratios)):
        hf, wf = _feat_size(feat_size, "feat_sizes")
        s_k, s_extra = scale[k], np.sqrt(scale[k] * scale[k + 1])
        wh = [(s_k, s_k), (s_extra, s_extra)]  # (w, h) as fractions of the image
        for a in positive_vector(ratios, "aspect_ratios") if len(ratios) else ():
            wh += [(s_k * np.sqrt(a), s_k / np.sqrt(a)), (s_k / np.sqrt(a), s_k * np.sqrt(a))]
        w, h = np.array(wh).T * np.array([[w_img], [h_img]])  # fractions -> pixels
        stride_x, stride_y = w_img / max(wf, 1), h_img / max(hf, 1)
        cx, cy = 0.5 * stride_x, 0.5 * stride_y  # centre of cell (0, 0)
        base = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], 1)
        out.append(_shift(base, stride_y, stride_x, hf, wf))
    return np.concatenate(out)


# --------------------------------------------------------------------------- YOLOv2 clusters
def _wh_iou(wh: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """IoU of (w, h) pairs aligned at the origin, i.e. of boxes (0, 0, w, h): (N, k)."""
    box = np.concatenate([np.zeros_like(wh), wh], 1)  # (N, 4): (0, 0, w, h)
    box_c = np.concatenate([np.zeros_like(centroid), centroid], 1)  # (k, 4)
    return pairwise_iou_unchecked(box, box_c)


def kmeans_anchors(
    wh, k: int, rng: np.random.Generator, n_iter: int = 100
) -> tuple[np.ndarray, float]:
    r"""YOLOv2's dimension clusters: k-means on box shapes with d = 1 - IoU.

    Boxes are compared by shape only, as if their top-left corners coincided
    [4]_ (Sec. 2, "Dimension Clusters"; *Detection – 3 stages*, §F2.1):

    .. math::
        d(\text{box}, \text{centroid}) = 1 - \mathrm{IoU}(\text{box}, \text{centroid}),\qquad
        \mathrm{IoU} = \frac{\min(w, w_c)\min(h, h_c)}{w h + w_c h_c - \min(w, w_c)\min(h, h_c)}

    so that large boxes do not dominate as they would under the Euclidean
    distance. Lloyd iterations assign each box to its nearest centroid and
    move each centroid to the mean (w, h) of its boxes.

    Parameters
    ----------
    wh : array_like, shape (N, 2)
        Widths and heights of the training boxes (pixels, or fractions of the
        image as in YOLOv2), positive.
    k : int
        Number of clusters, 1 <= k <= N.
    rng : numpy.random.Generator
        Source of the k-means++ seeding.
    n_iter : int, default 100
        Maximum number of Lloyd iterations per added centroid.

    Returns
    -------
    anchors : ndarray, shape (k, 2)
        Cluster centroids (w, h), sorted by area (equal areas by width), same
        floating dtype as ``wh``.
    mean_iou : float
        :math:`\frac1N \sum_i \max_c \mathrm{IoU}(\text{box}_i, c)`, the "Avg IoU"
        that YOLOv2 reports (61.0 for k = 5 on VOC 2007).

    Raises
    ------
    TypeError
        If ``rng`` is not a Generator or ``wh`` is not numeric.
    ValueError
        If ``wh`` is not (N, 2) positive finite values (with a finite area) or
        ``k``/``n_iter`` are out of range.

    Notes
    -----
    Seeding is k-means++ [5]_ grown one centroid at a time: the (j+1)-th seed is
    drawn with probability proportional to :math:`d^2` to the *converged*
    j centroids, then all j + 1 are refined. The best state seen is kept (a
    later one replaces it only with a strictly higher mean IoU), so
    with the same seed ``mean_iou`` never decreases with k (the curve of
    YOLOv2's Fig. 2). The mean update does not minimise 1 - IoU exactly, so
    an iteration may lower the mean IoU; that is why the best state is kept.
    A cluster that loses all its boxes keeps its centroid.

    References
    ----------
    .. [4] J. Redmon, A. Farhadi. "YOLO9000: Better, Faster, Stronger." CVPR
       2017, arXiv:1612.08242.
    .. [5] D. Arthur, S. Vassilvitskii. "k-means++: The Advantages of Careful
       Seeding." SODA 2007.

    Examples
    --------
    Tall and wide boxes, two clusters:

    >>> wh = np.array([[9, 20], [10, 20], [11, 20], [40, 9], [40, 10], [40, 11]])
    >>> anchors, mean_iou = kmeans_anchors(wh, 2, np.random.default_rng(0))
    >>> anchors
    array([[10., 20.],
           [40., 10.]])
    >>> round(mean_iou, 3)
    0.936
    """
    wh = as_float_array(wh, "wh")
    if wh.ndim != 2 or wh.shape[1] != 2:
        raise ValueError(f"wh must have shape (N, 2) of widths and heights; got {wh.shape}")
    check_finite(wh, "wh")
    if (wh <= 0).any():
        raise ValueError(f"wh must be positive; got {wh[(wh <= 0).any(1)][0].tolist()}")
    n = wh.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, N={n}]; got {k!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be an integer >= 0; got {n_iter!r}")
    rng = check_rng(rng)
    dtype, wh = wh.dtype, wh.astype(np.float64)  # cluster in float64, return in wh's dtype
    with np.errstate(over="ignore"):
        too_large = ~np.isfinite(4 * wh[:, 0] * wh[:, 1])  # areas and their unions must be finite
    if too_large.any():
        i = int(np.flatnonzero(too_large)[0])
        raise ValueError(f"wh row {i} is too large: w * h overflows float64; got {wh[i].tolist()}")
    centroid = wh[rng.integers(n)][None, :].copy()  # k-means++: the first seed is uniform
    best_iou = _wh_iou(wh, centroid).max(1)
    for j in range(1, k + 1):
        if j > 1:  # add one seed with P ∝ d², d = 1 - IoU to the nearest centroid
            d2 = (1.0 - best_iou) ** 2
            p = d2 / d2.sum() if d2.sum() > 0 else None  # all boxes on a centroid: uniform
            centroid = np.concatenate([centroid, wh[rng.choice(n, p=p)][None, :]])
        centroid, best_iou = _lloyd(wh, centroid, n_iter)
    order = np.lexsort((centroid[:, 0], centroid.prod(1)))  # by area, then by width
    return centroid[order].astype(dtype), float(best_iou.mean())


def _lloyd(wh: np.ndarray, centroid: np.ndarray, n_iter: int):
    """Lloyd iterations under d = 1 - IoU; the best (centroid, per-box max IoU) seen."""
    iou = _wh_iou(wh, centroid)  # (N, k)
    assign = iou.argmax(1)
    best = (centroid, iou[np.arange(len(wh)), assign])
    for _ in range(n_iter):
        count = np.bincount(assign, minlength=len(centroid))
        new = centroid.copy()
        filled = count > 0  # NOTE: an empty cluster keeps its centroid
        for c in range(2):
            new[filled, c] = np.bincount(assign, wh[:, c], len(centroid))[filled] / count[filled]
        iou = _wh_iou(wh, new)
        new_assign = iou.argmax(1)
        best_iou = iou[np.arange(len(wh)), new_assign]
        if best_iou.mean() > best[1].mean():
            best = (new, best_iou)
        if np.array_equal(new_assign, assign):
            break
        centroid, assign = new, new_assign
    return best


# --------------------------------------------------------------------------- receptive field
def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    r"""Receptive field, in input pixels, of one cell of the last layer.

    Walking back from the last layer (F = 1 cell) to the input, *Object Detection: Faster R-CNN*:

    .. math::
        F(i) = (F(i + 1) - 1) \times \mathrm{stride}_i + \mathrm{ksize}_i

    ZF-net's conv5 seen through the RPN's 3 x 3 window covers 171 pixels,
    VGG-16's 228 (:data:`ZF_LAYERS`, :data:`VGG16_LAYERS`). Padding does not
    change the size, only where the field sits.

    Parameters
    ----------
    layers : sequence of (ksize, stride)
        Convolutions and poolings from the input to the output, integers >= 1.

    Returns
    -------
    int
        The receptive field side in pixels (1 for no layers).

    Raises
    ------
    ValueError
        If a layer is not a pair of integers >= 1.

    Examples
    --------
    >>> receptive_field(ZF_LAYERS), receptive_field(VGG16_LAYERS)
    (171, 228)
    >>> receptive_field([(3, 1), (3, 1)])  # two 3x3 convs see 5x5
    5
    """
    layers = list(layers)
    field = 1
    for i, layer in enumerate(reversed(layers)):
        try:
            ksize, stride = layer
            ok = all(isinstance(v, (int, np.integer)) and v >= 1 for v in (ksize, stride))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"layers must be (ksize, stride) pairs of integers >= 1; "
                f"got {layer!r} at position {len(layers) - 1 - i}"
            )
        field = (field - 1) * int(stride) + int(ksize)
    return field
