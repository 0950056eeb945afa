"""Slow, obviously correct loop versions of the RoI ops: the yardstick of tests and bench.

Each function loops over RoIs, bins, samples and cells exactly as the paper (or
the reference CUDA/C++ kernel) describes, vectorised only over channels. They
take already valid inputs (no checks) and are hundreds of times slower than
:mod:`bboxcore.roi.pool`, :mod:`bboxcore.roi.align` and :mod:`bboxcore.roi.prroi`;
use them to test and to teach.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["prroi_pool_reference", "roi_align_reference", "roi_pool_reference"]


def _bilinear(fmap: np.ndarray, y: float, x: float) -> np.ndarray:
    """Bilinear read of ``fmap`` (C, H, W) at (y, x) with the border rules of RoI Align."""
    _, h, w = fmap.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return np.zeros(fmap.shape[0])  # the sample is off the map
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_low = y_high = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_low = x_high = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (
        hy * hx * fmap[:, y_low, x_low]
        + hy * lx * fmap[:, y_low, x_high]
        + ly * hx * fmap[:, y_high, x_low]
        + ly * lx * fmap[:, y_high, x_high]
    )


def roi_align_reference(
    features, rois, output_size, spatial_scale, sampling_ratio=-1, aligned=True
):
    r"""RoI Align by loops over RoIs, bins and sample points (see :func:`bboxcore.roi.roi_align`).

    Bin (i, j) of RoI r is the mean of a ``g_h x g_w`` grid of sample points,
    each read by bilinear interpolation of its four neighbouring cells [1]_:

    .. math::
        y_{r,c,i,j} = \frac{1}{g_h g_w}\sum_{k,l} \sum_{y,x}
            \max(0, 1 - |p^y_{ik} - y|)\,\max(0, 1 - |p^x_{jl} - x|)\,F_{n_r,c,y,x}

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps (must be an ndarray: its dtype is the output's).
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : (int, int)
        ``(ph, pw)``, the number of bins along y and x (a pair: an int is not
        accepted here).
    spatial_scale : float
        Feature cells per image pixel, 1 / stride (e.g. 1/16).
    sampling_ratio : int, default -1
        Samples per bin along each axis; ``<= 0``: :math:`\lceil` RoI size in
        cells / bins :math:`\rceil` per RoI and axis.
    aligned : bool, default True
        Shift the scaled box by -0.5 cell (cell centres at ``x + 0.5``); False
        is the original Mask R-CNN op, which also stretches RoIs to at least
        1 x 1 cell.

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        Same dtype as ``features``.

    Raises
    ------
    IndexError
        If a batch index is N or more. Nothing is validated: the inputs are
        assumed valid (a negative batch index counts from the end, as in
        NumPy); :func:`bboxcore.roi.roi_align` is the checked op.

    Notes
    -----
    The border rules are those of the reference kernel: a sample more than one
    cell outside the map reads 0, one in the last half cell reads the border
    cell. Loops in Python over RoIs, bins and samples, vectorised only over
    channels: hundreds of times slower than :func:`bboxcore.roi.roi_align`.

    References
    ----------
    .. [1] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
       arXiv:1703.06870.

    Examples
    --------
    >>> f = np.arange(16.0).reshape(1, 1, 4, 4)  # value 4y + x at cell centre (x + .5, y + .5)
    >>> roi_align_reference(f, np.array([[0, 0, 0, 4, 4]]), (2, 2), 1.0)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    >>> from bboxcore.roi import roi_align
    >>> f = np.random.default_rng(0).normal(size=(1, 3, 6, 7))
    >>> rois = np.array([[0, 0.5, 1.0, 9.0, 7.5], [0, 3.0, 2.0, 4.0, 11.0]])
    >>> np.allclose(roi_align_reference(f, rois, (2, 3), 0.5), roi_align(f, rois, (2, 3), 0.5))
    True
    """
    ph, pw = output_size
    out = np.zeros((len(rois), features.shape[1], ph, pw))
    offset = 0.5 if aligned else 0.0
    for r, (n, x1, y1, x2, y2) in enumerate(np.asarray(rois, np.float64).tolist()):
        x1, y1 = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w = x2 * spatial_scale - offset - x1
        roi_h = y2 * spatial_scale - offset - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / ph, roi_w / pw
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw)
        count = max(grid_h * grid_w, 1)
        for i in range(ph):
            for j in range(pw):
                acc = np.zeros(features.shape[1])
                for iy in range(grid_h):
                    y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                        acc += _bilinear(features[int(n)], y, x)
                out[r, :, i, j] = acc / count
    return out.astype(features.dtype)


def _round_c(v: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def roi_pool_reference(features, rois, output_size, spatial_scale):
    r"""RoI Pool by loops over RoIs, bins and cells; see :func:`bboxcore.roi.roi_pool`.

    The RoI is rounded to whole cells, cut into ``ph x pw`` bins whose edges
    are rounded again, and each bin keeps its maximum [1]_:

    .. math::
        x_0 = \mathrm{round}(s\,x_{min}),\ L_x = \max(\mathrm{round}(s\,x_{max}) - x_0 + 1, 1),
        \quad \text{bin } j = \left[x_0 + \left\lfloor \tfrac{j L_x}{pw} \right\rfloor,\
            x_0 + \left\lceil \tfrac{(j + 1) L_x}{pw} \right\rceil\right)

    (likewise in y), clipped to the map.

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps (must be an ndarray: its dtype is the output's).
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : (int, int)
        ``(ph, pw)``, the number of bins along y and x (a pair: an int is not
        accepted here).
    spatial_scale : float
        Feature cells per image pixel, 1 / stride (e.g. 1/16).

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        The maxima, same dtype as ``features``; 0 for an empty bin.
    argmax : ndarray, shape (R, C, ph, pw), int64
        Flat index ``y * W + x`` of each maximum in its channel map; -1 for an
        empty bin.

    Raises
    ------
    IndexError
        If a batch index is N or more. Nothing is validated: the inputs are
        assumed valid (a negative batch index counts from the end, as in
        NumPy); :func:`bboxcore.roi.roi_pool` is the checked op.

    Notes
    -----
    Rounding is C's (halves away from zero); bin edges use exact integer
    arithmetic; ties keep the first maximum in row-major order. Loops in
    Python over RoIs, bins, channels and cells.

    References
    ----------
    .. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> f = np.arange(64.0).reshape(1, 1, 8, 8)  # value 8y + x
    >>> out, argmax = roi_pool_reference(f, np.array([[0, 0, 3, 6, 7]]), (2, 2), 1.0)
    >>> out  # cells x 0..6, y 3..7; bins x [0, 4) | [3, 7), y [3, 6) | [5, 8)
    array([[[[43., 46.],
             [59., 62.]]]])
    >>> argmax  # 8y + x of each maximum, here equal to the value
    array([[[[43, 46],
             [59, 62]]]])
    """
    ph, pw = output_size
    _, c, h, w = features.shape
    out = np.zeros((len(rois), c, ph, pw))
    argmax = np.full((len(rois), c, ph, pw), -1, dtype=np.int64)
    for r, (n, x1, y1, x2, y2) in enumerate(np.asarray(rois, np.float64).tolist()):
        xs, ys = _round_c(x1 * spatial_scale), _round_c(y1 * spatial_scale)
        xe, ye = _round_c(x2 * spatial_scale), _round_c(y2 * spatial_scale)
        roi_w, roi_h = max(xe - xs + 1, 1), max(ye - ys + 1, 1)
        for i in range(ph):
            # floor(i * L / ph) and ceil((i + 1) * L / ph) in exact integer arithmetic
            h0 = min(max(i * roi_h // ph + ys, 0), h)
            h1 = min(max(-(-(i + 1) * roi_h // ph) + ys, 0), h)
            for j in range(pw):
                w0 = min(max(j * roi_w // pw + xs, 0), w)
                w1 = min(max(-(-(j + 1) * roi_w // pw) + xs, 0), w)
                if h1 <= h0 or w1 <= w0:
                    continue  # empty bin: 0, argmax -1
                for ch in range(c):
                    best, best_idx = -math.inf, -1
                    for y in range(h0, h1):
                        for x in range(w0, w1):
                            if features[int(n), ch, y, x] > best:
                                best, best_idx = features[int(n), ch, y, x], y * w + x
                    out[r, ch, i, j], argmax[r, ch, i, j] = best, best_idx
    return out.astype(features.dtype), argmax


def _hat_integral(a: float, b: float, i: int) -> float:
    """Integral of max(0, 1 - |t - i|) over [a, b], one linear piece at a time (by its midpoint)."""
    total = 0.0
    for lo, hi, value in ((i - 1, i, lambda t: t - (i - 1)), (i, i + 1, lambda t: (i + 1) - t)):
        s, e = max(a, lo), min(b, hi)
        if e > s:
            total += (e - s) * value((s + e) / 2)
    return total


def prroi_pool_reference(features, rois, output_size, spatial_scale):
    r"""PrRoI Pooling by loops over RoIs, bins and cells; see :func:`bboxcore.prroi.prroi_pool`.

    Each bin is the exact mean of the bilinearly interpolated map over its
    area, IoU-Net [1]_ (Eq. 2-3):

    .. math::
        \mathrm{PrPool}(\text{bin}, F) = \frac{\int_{y_1}^{y_2}\int_{x_1}^{x_2} f(x, y)\,dx\,dy}
            {(x_2 - x_1)(y_2 - y_1)},\quad
        f(x, y) = \sum_{i,j} \max(0, 1 - |x - i|)\,\max(0, 1 - |y - j|)\,w_{ij}

    with cell (y, x) at the integer point (x, y) of the scaled box (no
    half-cell shift, as in the reference implementation).

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps (must be an ndarray: its dtype is the output's).
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : (int, int)
        ``(ph, pw)``, the number of bins along y and x (a pair: an int is not
        accepted here).
    spatial_scale : float
        Feature cells per image pixel, 1 / stride (e.g. 1/16).

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        Same dtype as ``features``; 0 for every bin of an RoI of zero width or
        height.

    Raises
    ------
    IndexError
        If a batch index is N or more. Nothing is validated: the inputs are
        assumed valid (a negative batch index counts from the end, as in
        NumPy); :func:`bboxcore.prroi.prroi_pool` is the checked op.

    Notes
    -----
    The double integral is computed as the product of one integral of the hat
    per axis, each summed over every cell of the map and integrated piece by
    linear piece (exact); loops in Python over RoIs, bins and cells.

    References
    ----------
    .. [1] B. Jiang, R. Luo, J. Mao, T. Xiao, Y. Jiang. "Acquisition of
       Localization Confidence for Accurate Object Detection." ECCV 2018,
       arXiv:1807.11590.

    Examples
    --------
    >>> f = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])  # f(x, y) = x + 2y between the cells
    >>> prroi_pool_reference(f, np.array([[0, 0, 0, 1, 1]]), (1, 1), 1.0)  # mean over [0, 1]^2
    array([[[[1.5]]]])
    >>> prroi_pool_reference(f, np.array([[0, 0, 0, 0.5, 1]]), (1, 1), 1.0)  # mean x = 0.25
    array([[[[1.25]]]])
    """
    ph, pw = output_size
    _, c, h, w = features.shape
    out = np.zeros((len(rois), c, ph, pw))
    for r, (n, x1, y1, x2, y2) in enumerate(np.asarray(rois, np.float64).tolist()):
        x1, y1, x2, y2 = (v * spatial_scale for v in (x1, y1, x2, y2))
        bw, bh = (x2 - x1) / pw, (y2 - y1) / ph
        if bw <= 0 or bh <= 0:
            continue
        for i in range(ph):
            for j in range(pw):
                ya, xa = y1 + i * bh, x1 + j * bw
                acc = np.zeros(c)
                for y in range(h):  # each axis's integral over its own length: no underflow
                    wy = _hat_integral(ya, ya + bh, y) / bh
                    for x in range(w):
                        wx = _hat_integral(xa, xa + bw, x) / bw
                        acc += wy * wx * features[int(n), :, y, x]
                out[r, :, i, j] = acc
    return out.astype(features.dtype)
