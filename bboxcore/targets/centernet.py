r"""CenterNet's targets and decoding: objects as the peaks of Gaussian heatmaps [1]_.

An object is one point, the centre ``p`` of its box. At output stride R the
network predicts, on a (H/R) x (W/R) grid of cells,

* a heatmap per class, trained towards Gaussian bumps of peak 1 at
  :math:`\tilde p = \lfloor p / R \rfloor` (:func:`centernet_targets`), whose
  width comes from the object's size through CornerNet's radius
  (:func:`gaussian_radius`);
* the box size ``(w, h)`` and the sub-pixel offset :math:`p / R - \tilde p`,
  read only at the centre cells.

Decoding (:func:`centernet_decode`) keeps the cells that are the maximum of
their 3 x 3 neighbourhood ("instead of NMS"), and reads the size and offset
there. The course deck *Detection – 3 stages*, §M (CenterNet), has the same
equations. Like every target creator of :mod:`bboxcore.targets`, this is
plain NumPy without gradient.

Notation: C classes, M objects of one image, (H_o, W_o) the output grid
(cells), R the output stride in pixels. Sizes and offsets are in cells
(output-grid units), as in the reference code; multiply by R for pixels.

References
----------
.. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
   arXiv:1904.07850, 2019.
.. [2] H. Law, J. Deng. "CornerNet: Detecting Objects as Paired Keypoints."
   ECCV 2018, arXiv:1808.01244.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from bboxcore._checks import as_boxes, as_float_array, check_finite, count, real
from bboxcore.nms_variants import heatmap_peaks

__all__ = [
    "CenterNetRegionTargets",
    "CenterNetTargets",
    "centernet_decode",
    "centernet_region_targets",
    "centernet_targets",
    "gaussian_radius",
]


def _check_min_overlap(min_overlap) -> float:
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, numbers.Real):
        raise TypeError(f"min_overlap must be a number in (0, 1]; got {min_overlap!r}")
    o = float(min_overlap)
    if not 0 < o <= 1:
        raise ValueError(f"min_overlap must be in (0, 1]; got {min_overlap}")
    return o


# --------------------------------------------------------------------------- radius
def gaussian_radius(height, width, min_overlap: float = 0.7):
    r"""CornerNet's radius: how far the corners of a box may move and keep IoU >= ``min_overlap``.

    A box of size w x h whose two corners each move by at most r (in x and in
    y) keeps an IoU of at least o = ``min_overlap`` with the original if r is
    at most the smallest of three radii, one per way the corners can move
    (CornerNet [2]_, Sec. 3.2; CenterNet [1]_ sizes its Gaussians with it).
    Each case is a quadratic in r whose relevant root is written out:

    1. one corner in, one out — the box *translated* by (r, r), same size:

       .. math::
           \frac{(w - r)(h - r)}{2wh - (w - r)(h - r)} = o
           \iff r^2 - (w + h)\,r + \frac{1 - o}{1 + o}\,wh = 0,\quad
           r_1 = \frac{(w + h) - \sqrt{(w + h)^2 - 4\frac{1 - o}{1 + o}wh}}{2}

    2. both corners in — the box *shrunk* by r on every side:

       .. math::
           \frac{(w - 2r)(h - 2r)}{wh} = o
           \iff 4r^2 - 2(w + h)\,r + (1 - o)\,wh = 0,\quad
           r_2 = \frac{2(w + h) - \sqrt{4(w + h)^2 - 16(1 - o)wh}}{8}

    3. both corners out — the box *grown* by r on every side:

       .. math::
           \frac{wh}{(w + 2r)(h + 2r)} = o
           \iff 4o\,r^2 + 2o(w + h)\,r - (1 - o)\,wh = 0,\quad
           r_3 = \frac{-2o(w + h) + \sqrt{4o^2(w + h)^2 + 16o(1 - o)wh}}{8o}

    and :math:`r = \min(r_1, r_2, r_3)`. Cases 1 and 2 take the smaller root
    (the larger one moves a corner past the other); case 3 the positive one.
    Case 2, the shrunk box, is the one that binds for every shape we tried
    (e.g. 0.817 vs 0.925 and 0.976 for a 10 x 10 box at o = 0.7).

    Parameters
    ----------
    height, width : float or array_like, >= 0
        Box sides, in any unit (CenterNet: output cells); broadcast together.
    min_overlap : float in (0, 1], default 0.7
        The IoU o that the moved box must keep (CornerNet and CenterNet: 0.7).

    Returns
    -------
    radius : float or ndarray
        In the unit of the sides; a float for scalar sides, else float64 of
        the broadcast shape. 0 for an empty box or ``min_overlap = 1``.

    Raises
    ------
    TypeError
        If a side is not numeric or ``min_overlap`` is not a number.
    ValueError
        If a side is negative or not finite, the sides do not broadcast, or
        ``min_overlap`` is outside (0, 1].

    Notes
    -----
    The reference code of CornerNet (until its fix, commit 3e71377) and of
    CenterNet (``src/lib/utils/image.py``) computes every root as
    :math:`(b + \sqrt{b^2 - 4ac}) / 2`: the larger root of cases 1 and 2, and
    all three without the division by 2a. For a square of side s at
    o = 0.7 that gives min(1.91 s, 3.67 s, 0.273 s) = 0.273 s instead of the
    intended 0.082 s: Gaussians 3.3 times wider than the paper describes
    (CornerNet issue #37: "a bug [...] we reduced penalty on more negative
    locations within a wider radius than intended"). Here the roots are the
    paper's; callers that want wider Gaussians lower ``min_overlap`` (or
    raise the ``min_radius`` of :func:`centernet_targets`). The roots are
    computed in the cancellation-free form :math:`r = 2c / (b + \sqrt{b^2 - 4ac})`.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.
    .. [2] H. Law, J. Deng. "CornerNet: Detecting Objects as Paired Keypoints."
       ECCV 2018, arXiv:1808.01244.

    Examples
    --------
    >>> r = gaussian_radius(10.0, 10.0)  # case 2 binds: (10 - 2r)^2 / 100 = 0.7
    >>> round(r, 4), round((10 - 2 * r) ** 2 / 100, 4)
    (0.8167, 0.7)
    >>> gaussian_radius([4.0, 40.0], 8.0, min_overlap=0.5).round(3)  # h = 4 and 40, w = 8
    array([0.764, 1.802])
    """
    o = _check_min_overlap(min_overlap)
    h = as_float_array(height, "height", dtype=np.float64)
    w = as_float_array(width, "width", dtype=np.float64)
    for arr, name in ((h, "height"), (w, "width")):
        check_finite(arr, name)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} must be >= 0; got {arr.min()}")
    try:
        h, w = np.broadcast_arrays(h, w)
    except ValueError:
        raise ValueError(
            f"height and width must broadcast together; got shapes {h.shape} and {w.shape}"
        ) from None
    s, p = h + w, h * w  # the quadratics only depend on w + h and wh
    with np.errstate(divide="ignore", invalid="ignore"):
        # case 1: r^2 - s r + c1 = 0, smaller root 2 c1 / (s + sqrt(s^2 - 4 c1))
        c1 = (1 - o) / (1 + o) * p
        r1 = 2 * c1 / (s + np.sqrt(np.maximum(s * s - 4 * c1, 0)))
        # case 2: 4 r^2 - 2 s r + c2 = 0, smaller root 2 c2 / (2 s + sqrt(4 s^2 - 16 c2))
        c2 = (1 - o) * p
        r2 = 2 * c2 / (2 * s + np.sqrt(np.maximum(4 * s * s - 16 * c2, 0)))
        # case 3: 4o r^2 + 2o s r - c2 = 0, positive root 2 c2 / (2o s + sqrt(4o^2 s^2 + 16o c2))
        r3 = 2 * c2 / (2 * o * s + np.sqrt(4 * o * o * s * s + 16 * o * c2))
    radius = np.where(s > 0, np.minimum(np.minimum(r1, r2), r3), 0.0)
    return float(radius) if radius.ndim == 0 else radius


# --------------------------------------------------------------------------- targets
class CenterNetTargets(NamedTuple):
    """The dense and per-object targets of one image (see :func:`centernet_targets`)."""

    #: (C, H_o, W_o): Gaussian bumps of peak 1 at the centre cells, element-wise max.
    heatmap: np.ndarray
    #: (M, 2): box size (w, h) in cells, per object.
    size: np.ndarray
    #: (M, 2): sub-pixel offset p / R - floor(p / R) of the centre, in cells.
    offset: np.ndarray
    #: (M,) int64: flat index y * W_o + x of the centre cell.
    index: np.ndarray
    #: (M,) bool: objects that received targets (False for an empty box).
    mask: np.ndarray


def _splat(heat: np.ndarray, cx: int, cy: int, radius: int) -> None:
    """Max a Gaussian of sigma (2 radius + 1) / 6, cut at |dx|, |dy| <= radius, into ``heat``."""
    sigma = (2 * radius + 1) / 6  # CornerNet's sigma: a third of the radius (plus half a cell)
    height, width = heat.shape
    y0, y1 = max(cy - radius, 0), min(cy + radius + 1, height)
    x0, x1 = max(cx - radius, 0), min(cx + radius + 1, width)
    dy = np.arange(y0, y1)[:, None] - cy  # (h, 1)
    dx = np.arange(x0, x1)[None, :] - cx  # (1, w)
    bump = np.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))  # (h, w), exactly 1 at the centre
    np.maximum(heat[y0:y1, x0:x1], bump, out=heat[y0:y1, x0:x1])


def _output_size(output_size) -> tuple[int, int]:
    """(H_o, W_o) as two ints >= 1, or the error naming ``output_size``."""
    try:
        h_out, w_out = (count(v, "output_size", minimum=1) for v in output_size)
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"output_size must be (H_o, W_o), two integers >= 1; got {output_size!r}"
        ) from None
    return h_out, w_out


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype; got {dtype}")
    return dtype


def _centre_cells(boxes: np.ndarray, r_stride: int, h_out: int, w_out: int):
    """(w, h) / R, the centre p / R and its cell p~ = floor(p / R), each (M, 2), in cells."""
    wh = (boxes[:, 2:] - boxes[:, :2]) / r_stride
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / r_stride
    cell = np.floor(centre).astype(np.int64)
    cell[:, 0] = np.clip(cell[:, 0], 0, w_out - 1)  # a centre on the far border stays on the grid
    cell[:, 1] = np.clip(cell[:, 1], 0, h_out - 1)
    return wh, centre, cell


def centernet_targets(
    bbox,
    label,
    n_class: int,
    output_size,
    stride: int = 4,
    *,
    min_overlap: float = 0.7,
    min_radius: int = 0,
    dtype=np.float32,
) -> CenterNetTargets:
    r"""The heatmap, size, offset, index and mask targets of CenterNet for one image.

    Each box of class c with centre p (pixels) puts a Gaussian of peak 1 on
    heatmap c at the centre cell :math:`\tilde p = \lfloor p / R \rfloor`
    ([1]_, Sec. 3; *Detection – 3 stages*, §M), and bumps of one class are
    combined by element-wise maximum:

    .. math::
        Y_{xyc} = \max_{k : c_k = c}
            \exp\left(-\frac{(x - \tilde p_{k,x})^2 + (y - \tilde p_{k,y})^2}
            {2\sigma_k^2}\right),\qquad
        \sigma_k = \frac{2 r_k + 1}{6},\quad
        r_k = \max(\lfloor \mathrm{radius}(h_k / R, w_k / R) \rfloor, r_{min})

    (radius of :func:`gaussian_radius`; the bump is cut at
    :math:`|x - \tilde p_x|, |y - \tilde p_y| \le r_k`, as in the reference
    code). The regression targets of object k, read at its centre cell only:

    .. math::
        s_k = \left(\frac{x_{max} - x_{min}}{R}, \frac{y_{max} - y_{min}}{R}\right),
        \qquad o_k = \frac{p_k}{R} - \tilde p_k \in [0, 1)^2

    Parameters
    ----------
    bbox : array_like, shape (M, 4)
        Ground-truth boxes ``(x_min, y_min, x_max, y_max)`` in image pixels.
    label : array_like, shape (M,), int
        Their classes, 0 .. C-1.
    n_class : int
        C, the number of heatmaps.
    output_size : tuple of 2 int
        (H_o, W_o), the size of the network's output grid (e.g. H/R, W/R).
    stride : int, default 4
        R, pixels per output cell (4 in the paper).
    min_overlap : float in (0, 1], default 0.7
        Passed to :func:`gaussian_radius`.
    min_radius : int, default 0
        Lower bound of the integer radius r_k (0: a box smaller than ~6 cells
        gets a one-cell bump, see Notes).
    dtype : floating dtype, default float32
        Of ``heatmap``, ``size`` and ``offset``.

    Returns
    -------
    CenterNetTargets
        ``heatmap`` (C, H_o, W_o), ``size`` (M, 2) and ``offset`` (M, 2) in
        cells, ``index`` (M,) int64 flat cell index :math:`\tilde p_y W_o +
        \tilde p_x`, ``mask`` (M,) bool. Rows follow the input boxes. A box
        with zero width or height gets ``mask`` False, zero size and offset,
        and no bump; M = 0 gives an all-zero heatmap.

    Raises
    ------
    TypeError
        If an input is not numeric or a count is not an integer.
    ValueError
        If ``bbox`` is not (M, 4) or has an inverted box, ``label`` is not
        (M,) integers in [0, C), or a size, stride or radius is out of range.

    Notes
    -----
    A centre outside the grid is clipped to the border cell (its offset then
    leaves [0, 1)). Two objects of one class whose centres fall into the same
    cell share one peak: :func:`centernet_decode` can return only one of them
    (the paper counts < 0.1 % of COCO objects so merged at R = 4).

    With the radius as the paper intends (see :func:`gaussian_radius`), a box
    of s x s cells gets r = 0.082 s at o = 0.7, so small objects (s < 12
    cells) get r = 0 and a one-cell target. The reference code's radius is
    3.3x larger; ``min_radius`` or a lower ``min_overlap`` widen the bumps.
    The code also zeroes bump values below float eps, which is not done here.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> t = centernet_targets([[4., 8., 36., 40.]], [1], n_class=2, output_size=(16, 16))
    >>> t.index, t.size, t.offset  # centre (20, 24) px -> cell (5, 6), 8 x 8 cells
    (array([101]), array([[8., 8.]], dtype=float32), array([[0., 0.]], dtype=float32))
    >>> t.heatmap[1, 6, 4:7]  # r = floor(0.65) = 0: a one-cell bump
    array([0., 1., 0.], dtype=float32)
    >>> t = centernet_targets([[4., 8., 36., 40.]], [1], 2, (16, 16), min_radius=1)
    >>> t.heatmap[1, 6, 4:7].round(3)  # sigma = 1 / 2
    array([0.135, 1.   , 0.135], dtype=float32)
    """
    c = count(n_class, "n_class", minimum=1)
    r_stride = count(stride, "stride", minimum=1)
    r_min = count(min_radius, "min_radius")
    h_out, w_out = _output_size(output_size)
    boxes = as_boxes(bbox, "bbox", dtype=np.float64)
    lab = np.asarray(label)
    if lab.shape == (0,):  # an empty list (float64 in NumPy) holds no non-integer label
        lab = lab.astype(np.int64)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"label must be an integer array; got dtype {lab.dtype}")
    if lab.shape != (boxes.shape[0],):
        raise ValueError(f"label must have shape (M,) = ({boxes.shape[0]},); got {lab.shape}")
    if lab.size and (lab.min() < 0 or lab.max() >= c):
        raise ValueError(
            f"label must be in [0, n_class = {c}); got values {lab.min()}..{lab.max()}"
        )
    dtype = _float_dtype(dtype)

    m = boxes.shape[0]
    wh, centre, cell = _centre_cells(boxes, r_stride, h_out, w_out)
    mask = (wh > 0).all(axis=1)  # (M,)
    radius = np.floor(gaussian_radius(wh[:, 1], wh[:, 0], min_overlap)).astype(np.int64)
    radius = np.maximum(radius, r_min)  # (M,)

    heatmap = np.zeros((c, h_out, w_out), np.float64)
    for k in np.flatnonzero(mask):
        _splat(heatmap[lab[k]], int(cell[k, 0]), int(cell[k, 1]), int(radius[k]))
    keep = mask[:, None]
    return CenterNetTargets(
        heatmap=heatmap.astype(dtype),
        size=np.where(keep, wh, 0).astype(dtype).reshape(m, 2),
        offset=np.where(keep, centre - cell, 0).astype(dtype).reshape(m, 2),
        index=(cell[:, 1] * w_out + cell[:, 0]).astype(np.int64),
        mask=mask,
    )


class CenterNetRegionTargets(NamedTuple):
    """Size and offset targets around each centre (see :func:`centernet_region_targets`)."""

    #: (S, 2): box size (w, h) in cells, per sample.
    size: np.ndarray
    #: (S, 2): p / R - q, from the sample's cell q to its object's centre, in cells.
    offset: np.ndarray
    #: (S,) int64: flat index y * W_o + x of the sample's cell q.
    index: np.ndarray
    #: (S,) int64: the row of ``bbox`` the sample regresses.
    object: np.ndarray


def centernet_region_targets(
    bbox, output_size, stride: int = 4, *, radius: int = 1, dtype=np.float32
) -> CenterNetRegionTargets:
    r"""Size and offset targets at the cells around each centre, not only at the centre cell.

    CenterNet [1]_ (Sec. 3) trains the size and offset of object k at its
    centre cell :math:`\tilde p_k` only: one regression sample per object.
    TTFNet [3]_ (Sec. 3.3) shows that this makes CenterNet slow to train and
    takes every cell of the object's Gaussian area as a sample. Here, in
    CenterNet's own parametrisation, a cell q regresses object k when

    .. math::
        \lVert q - \tilde p_k \rVert_\infty \le r
        \quad\text{and}\quad q + \tfrac12 \in \text{box}_k / R,

    with the targets

    .. math::
        s_q = \left(\frac{w_k}{R}, \frac{h_k}{R}\right), \qquad
        o_q = \frac{p_k}{R} - q,

    so that :math:`q + o_q = p_k / R` from any sample: a heatmap peak one
    cell off the centre still decodes to the object's centre
    (:func:`centernet_decode` is unchanged). The centre cell of every object
    is always a sample, with the targets of :func:`centernet_targets` (two
    objects whose centres share a cell both keep it, as there); a cell that
    is no object's centre but lies in several regions regresses the object
    whose centre is nearest to the cell's centre (the first one on a tie).

    Parameters
    ----------
    bbox : array_like, shape (M, 4)
        Ground-truth boxes ``(x_min, y_min, x_max, y_max)`` in image pixels.
    output_size : tuple of 2 int
        (H_o, W_o), the output grid in cells.
    stride : int, default 4
        R, pixels per output cell.
    radius : int, default 1
        r, in cells (1: the 3 x 3 cells around the centre cell; 0: the centre
        cell alone, which is CenterNet).
    dtype : floating dtype, default float32
        Of ``size`` and ``offset``.

    Returns
    -------
    CenterNetRegionTargets
        ``size`` (S, 2) and ``offset`` (S, 2) in cells, ``index`` (S,) and
        ``object`` (S,) int64. The centre cells come first, in the order of
        the boxes; then the other samples by cell index. Boxes with zero
        width or height get no sample; S = 0 for no box.

    Raises
    ------
    TypeError
        If an input is not numeric or a count is not an integer.
    ValueError
        If ``bbox`` is not (M, 4) or has an inverted box, or a size, stride
        or radius is out of range.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.
    .. [3] Z. Liu, T. Zheng, G. Xu, Z. Yang, H. Liu, D. Cai.
       "Training-Time-Friendly Network for Real-Time Object Detection."
       AAAI 2020, arXiv:1909.00700.

    Examples
    --------
    >>> t = centernet_region_targets([[4., 8., 36., 40.]], (16, 16))  # centre (20, 24) px
    >>> t.index[:4], t.offset[:4]  # cell (5, 6) first, then its neighbours by index
    (array([101,  84,  85,  86]), array([[ 0.,  0.],
           [ 1.,  1.],
           [ 0.,  1.],
           [-1.,  1.]], dtype=float32))
    >>> len(t.index), bool((t.size == 8).all())  # 3 x 3 cells, all of the 8 x 8-cell box
    (9, True)
    """
    r_stride = count(stride, "stride", minimum=1)
    r = count(radius, "radius")
    h_out, w_out = _output_size(output_size)
    boxes = as_boxes(bbox, "bbox", dtype=np.float64)
    dtype = _float_dtype(dtype)

    wh, centre, cell = _centre_cells(boxes, r_stride, h_out, w_out)
    valid = np.flatnonzero((wh > 0).all(axis=1))
    home = cell[valid, 1] * w_out + cell[valid, 0]  # (V,) the centre cells, always samples

    # the other cells of each region: inside the grid, centre inside the box, no one's centre
    d = np.arange(-r, r + 1)
    dx, dy = (a.ravel() for a in np.meshgrid(d, d))  # (D,) offsets, (0, 0) among them
    qx = cell[valid, 0, None] + dx  # (V, D)
    qy = cell[valid, 1, None] + dy
    lo, hi = boxes[valid, None, :2] / r_stride, boxes[valid, None, 2:] / r_stride
    ok = (dx != 0) | (dy != 0)
    ok = ok & (qx >= 0) & (qx < w_out) & (qy >= 0) & (qy < h_out)
    ok &= (qx + 0.5 >= lo[..., 0]) & (qx + 0.5 <= hi[..., 0])
    ok &= (qy + 0.5 >= lo[..., 1]) & (qy + 0.5 <= hi[..., 1])
    ok &= ~np.isin(qy * w_out + qx, home)
    obj = np.broadcast_to(valid[:, None], qx.shape)[ok]
    q = (qy * w_out + qx)[ok]
    dist = ((centre[obj] - np.stack([qx[ok], qy[ok]], 1) - 0.5) ** 2).sum(1)
    order = np.lexsort((obj, dist, q))  # by cell, then the nearest centre, then the first box
    q, obj = q[order], obj[order]
    first = np.ones(len(q), bool)
    first[1:] = q[1:] != q[:-1]
    q, obj = q[first], obj[first]

    index = np.concatenate([home, q]).astype(np.int64)
    owner = np.concatenate([valid, obj]).astype(np.int64)
    qxy = np.stack([index % w_out, index // w_out], axis=1)
    return CenterNetRegionTargets(
        size=wh[owner].astype(dtype).reshape(-1, 2),
        offset=(centre[owner] - qxy).astype(dtype).reshape(-1, 2),
        index=index,
        object=owner,
    )


# --------------------------------------------------------------------------- decoding
def centernet_decode(
    heatmap, size, offset, stride: int = 4, k: int = 100, score_thresh: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""CenterNet's detections of one image: heatmap peaks, read size and offset there; no NMS.

    The peaks are the cells equal to the maximum of their 3 x 3 neighbourhood
    (:func:`bboxcore.heatmap_peaks`, the max-pool "instead of NMS"), the k
    best over all classes ([1]_, Sec. 4; *Detection – 3 stages*, §M). A peak
    at cell :math:`(\hat x, \hat y)` with offset :math:`(\delta\hat x,
    \delta\hat y)` and size :math:`(\hat w, \hat h)` gives the box

    .. math::
        R \cdot \left(\hat x + \delta\hat x - \tfrac{\hat w}{2},\;
                      \hat y + \delta\hat y - \tfrac{\hat h}{2},\;
                      \hat x + \delta\hat x + \tfrac{\hat w}{2},\;
                      \hat y + \delta\hat y + \tfrac{\hat h}{2}\right)

    Parameters
    ----------
    heatmap : array_like, shape (C, H_o, W_o)
        Per-class centre scores in [0, 1] (the sigmoid of the network's output).
    size : array_like, shape (2, H_o, W_o)
        Predicted (w, h) in cells.
    offset : array_like, shape (2, H_o, W_o)
        Predicted sub-pixel offset (dx, dy) in cells.
    stride : int, default 4
        R, pixels per cell.
    k : int, default 100
        At most this many detections (the paper: 100).
    score_thresh : float, optional
        Drop peaks whose score is not above it (default: keep all k).

    Returns
    -------
    bbox : ndarray, shape (K, 4)
        ``(x_min, y_min, x_max, y_max)`` in image pixels; float32 when
        ``heatmap``, ``size`` and ``offset`` are all float32, else float64.
    label : ndarray, shape (K,), int64
        Class of each peak.
    score : ndarray, shape (K,)
        Peak score, decreasing.

    Raises
    ------
    TypeError
        If an input is not numeric or ``stride``/``k`` is not an integer.
    ValueError
        If the shapes do not match or a value is NaN/inf.

    Notes
    -----
    Collisions: two objects of one class whose centres fall into one cell
    have a single peak, and so a single box; two objects of one class whose
    cells are neighbours produce two peaks only if their scores differ in a
    way that keeps both local maxima — the 3 x 3 max-pool keeps the higher of
    two adjacent peaks (equal scores are both kept). Objects of different
    classes never suppress each other, but share the size and offset of
    their cell.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> heat = np.zeros((1, 8, 8)); heat[0, 2, 3] = 0.9; heat[0, 2, 4] = 0.5
    >>> size = np.full((2, 8, 8), 2.0); offset = np.full((2, 8, 8), 0.5)
    >>> bbox, label, score = centernet_decode(heat, size, offset, k=1)
    >>> bbox, label, score  # centre (3.5, 2.5) cells, 2 x 2 cells, times R = 4
    (array([[10.,  6., 18., 14.]]), array([0]), array([0.9]))
    """
    heat = as_float_array(heatmap, "heatmap")
    if heat.ndim != 3:
        raise ValueError(f"heatmap must have shape (C, H_o, W_o); got {heat.shape}")
    grid = heat.shape[1:]
    maps = []
    for arr, name in ((size, "size"), (offset, "offset")):
        a = as_float_array(arr, name)
        if a.shape != (2, *grid):
            raise ValueError(f"{name} must have shape (2, {grid[0]}, {grid[1]}); got {a.shape}")
        check_finite(a, name)
        maps.append(a)
    r_stride = count(stride, "stride", minimum=1)
    scores, label, ys, xs = heatmap_peaks(heat, count(k, "k"))
    if score_thresh is not None:
        keep = scores > real(score_thresh, "score_thresh")
        scores, label, ys, xs = scores[keep], label[keep], ys[keep], xs[keep]
    wh = maps[0][:, ys, xs].T  # (K, 2)
    centre = np.stack([xs, ys], axis=1) + maps[1][:, ys, xs].T  # (K, 2): p / R
    dtype = np.result_type(heat.dtype, maps[0].dtype, maps[1].dtype)
    bbox = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1) * r_stride  # (K, 4)
    return bbox.astype(dtype, copy=False), label, scores
