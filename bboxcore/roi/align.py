r"""RoI Align and RoI Pool: fixed-size features for boxes of any size, forward and backward.

Conventions shared by every RoI op (this module and :mod:`bboxcore.prroi`):

* ``features`` is ``ndarray, shape (N, C, H, W)``: N images, C channels, an
  H x W feature map whose cell (y, x) covers the image pixels
  ``[x / s, (x + 1) / s) x [y / s, (y + 1) / s)`` for ``spatial_scale`` s =
  1 / stride (1/16 for VGG16's conv5).
* ``rois`` is ``ndarray, shape (R, 5)``: ``(batch_index, x_min, y_min, x_max,
  y_max)``, the box in **image pixels** (the bboxcore box convention) and the
  index of its image in ``features``.
* ``output_size`` is ``(ph, pw)`` (or one int for a square); outputs are
  ``(R, C, ph, pw)``, bin (i, j) being row i, column j of the RoI's grid.
* Each backward takes the upstream gradient ``dout`` (R, C, ph, pw) and returns
  ``dfeatures`` (N, C, H, W), the sum over every RoI and bin that read a cell.

RoI Align (and PrRoI Pooling) are **separable**: the value of bin (i, j) is
:math:`\sum_{y,x} A^y_{r,i,y}\,F_{n_r,c,y,x}\,A^x_{r,j,x}`, where the row
weights :math:`A^y` (R, ph, H) depend only on the RoI's vertical extent and the
column weights :math:`A^x` (R, pw, W) only on its horizontal one (a bilinear
weight is a product of a weight in y and one in x). So the forward is two
matrix products per image and the backward their transpose,
:math:`dF = \sum_r A^{y\top}_r\, dY_r\, A^x_r` — exactly the sum "to the four
neighbours with the bilinear weights" of seed 002, B*, done by BLAS.

References
----------
.. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.
.. [2] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import as_boxes, as_float_array, check_finite
from bboxcore.roi_sampling import (
    NO_ARGMAX,
    _align_matrices,
    _apply_separable,
    _apply_separable_backward,
    _pool_bins,
    _pool_block,
    _window_max_levels,
)

__all__ = ["ROI_BLOCK_BUDGET", "roi_align", "roi_align_backward", "roi_pool", "roi_pool_backward"]

#: Maximum number of elements of one block of temporaries in :func:`roi_pool`
#: (RoIs are processed in blocks so that memory stays bounded on big maps).
ROI_BLOCK_BUDGET = 1 << 22


# --------------------------------------------------------------------------- validation
def _output_size(output_size) -> tuple[int, int]:
    size = (output_size, output_size) if np.ndim(output_size) == 0 else tuple(output_size)
    ok = len(size) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in size
    )
    if not ok:
        raise ValueError(f"output_size must be a positive int or (ph, pw); got {output_size!r}")
    return int(size[0]), int(size[1])


def _spatial_scale(spatial_scale) -> float:
    s = float(spatial_scale)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"spatial_scale must be a finite number > 0 (1 / stride); got {s}")
    return s


def _features_shape(shape) -> tuple[int, int, int, int]:
    try:
        n, c, h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"features_shape must be (N, C, H, W); got {shape!r}") from None
    if min(n, c, h, w) < 0:
        raise ValueError(f"features_shape must be (N, C, H, W) of sizes >= 0; got {shape!r}")
    return n, c, h, w


def _check_rois(rois, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate (R, 5) rois; return the batch indices (R,) int64 and boxes (R, 4) float64."""
    r = as_boxes(rois, "rois", ncols=5).astype(np.float64, copy=False)
    idx = r[:, 0]
    bad = (idx != np.round(idx)) | (idx < 0) | (idx >= n_images)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"rois[:, 0] must be an integer batch index in [0, {n_images}) (N = {n_images}); "
            f"got {idx[i]} at row {i}"
        )
    return idx.astype(np.int64), r[:, 1:]


def _check_features(features) -> np.ndarray:
    f = as_float_array(features, "features")
    if f.ndim != 4:
        raise ValueError(f"features must have shape (N, C, H, W); got {f.shape}")
    check_finite(f, "features")
    return f


def _check_dout(dout, shape: tuple) -> np.ndarray:
    d = as_float_array(dout, "dout")
    if d.shape != shape:
        raise ValueError(f"dout must have shape (R, C, ph, pw) = {shape}; got {d.shape}")
    check_finite(d, "dout")
    return d


def _sampling_ratio(sampling_ratio) -> int:
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int | np.integer):
        raise TypeError(f"sampling_ratio must be an int; got {sampling_ratio!r}")
    return int(sampling_ratio)


# --------------------------------------------------------------------------- RoI Align
def roi_align(
    features,
    rois,
    output_size,
    spatial_scale: float,
    sampling_ratio: int = -1,
    aligned: bool = True,
) -> np.ndarray:
    r"""RoI Align: average of bilinearly interpolated samples in each bin, with no rounding.

    Each RoI is mapped to the feature map by ``spatial_scale`` and cut into
    ``ph x pw`` equal bins; bin (i, j) is the mean of a ``g_h x g_w`` grid of
    regularly spaced sample points, each read by bilinear interpolation of the
    four surrounding cells (seed 002, B*) [1]_:

    .. math::
        y_{r,c,i,j} = \frac{1}{g_h g_w}\sum_{k,l} \sum_{y,x}
            \max(0, 1 - |p^y_{ik} - y|)\,\max(0, 1 - |p^x_{jl} - x|)\,F_{n_r,c,y,x}

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps; float32 stays float32.
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : int or (int, int)
        ``(ph, pw)``, e.g. 7 for Faster R-CNN's head.
    spatial_scale : float
        Feature cells per image pixel, 1 / stride (e.g. 1/16).
    sampling_ratio : int, default -1
        Samples per bin along each axis; ``<= 0`` is adaptive,
        :math:`g = \lceil \text{roi size} / \text{bins} \rceil` per RoI (about one
        sample per cell, Detectron2's default).
    aligned : bool, default True
        Shift the box by -0.5 cell (see Notes). False reproduces the original
        Mask R-CNN op, which also stretches RoIs smaller than 1 x 1 cell to 1 x 1.

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        Same dtype as ``features``. R = 0 gives shape (0, C, ph, pw).

    Raises
    ------
    TypeError
        If an input is not numeric or ``sampling_ratio`` is not an int.
    ValueError
        If ``features`` is not (N, C, H, W) or not finite, ``rois`` is not
        (R, 5), not finite, inverted, or has a bad batch index, or
        ``output_size`` / ``spatial_scale`` is invalid.

    Notes
    -----
    **The half-pixel issue.** In continuous coordinates cell x covers
    ``[x, x + 1)`` and its value sits at its centre ``x + 0.5``. A point u of the
    scaled box therefore lies at interpolation position ``u - 0.5``;
    ``aligned=True`` subtracts that half cell, ``aligned=False`` forgets it and
    reads every sample half a cell down and to the right, a bias that matters
    for small RoIs [2]_. Samples more than one cell outside the map read 0;
    samples in the last half cell read the border cell.

    The op is linear in ``features``; its backward (:func:`roi_align_backward`)
    sends each output gradient to the four neighbours of every sample with
    the same bilinear weights:
    :math:`\partial L/\partial F_{y,x} = \sum_{r,i,j} A^y_{r,i,y} A^x_{r,j,x}\,
    \partial L/\partial y_{r,i,j}`.

    References
    ----------
    .. [1] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
       arXiv:1703.06870.
    .. [2] Y. Wu, A. Kirillov, F. Massa, W.-Y. Lo, R. Girshick. "Detectron2."
       2019 (``ROIAlign(aligned=True)``), https://github.com/facebookresearch/detectron2.

    Examples
    --------
    >>> f = np.arange(16.0).reshape(1, 1, 4, 4)  # value 4y + x at cell (y, x)
    >>> roi_align(f, [[0, 0, 0, 4, 4]], 2, 1.0)  # whole map: bin centres 0.5 and 2.5
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    >>> roi_align(f, [[0, 1, 1, 2, 2]], 1, 1.0)  # the single cell (1, 1), read at its centre
    array([[[[5.]]]])
    >>> roi_align(f, [[0, 1, 1, 2, 2]], 1, 1.0, aligned=False)  # read at (1.5, 1.5) instead
    array([[[[7.5]]]])
    """
    f = _check_features(features)
    batch, boxes = _check_rois(rois, f.shape[0])
    out_hw = _output_size(output_size)
    ratio = _sampling_ratio(sampling_ratio)
    ay, ax = _align_matrices(
        boxes, out_hw, f.shape[2:], _spatial_scale(spatial_scale), ratio, bool(aligned)
    )
    return _apply_separable(f, batch, ay.astype(f.dtype), ax.astype(f.dtype))


def roi_align_backward(
    dout,
    rois,
    features_shape,
    output_size,
    spatial_scale: float,
    sampling_ratio: int = -1,
    aligned: bool = True,
) -> np.ndarray:
    r"""Gradient of :func:`roi_align` w.r.t. the features, given the upstream ``dout``.

    .. math::
        \frac{\partial L}{\partial F_{n,c,y,x}} = \sum_{r: n_r = n} \sum_{i,j}
            A^y_{r,i,y}\, \frac{\partial L}{\partial y_{r,c,i,j}}\, A^x_{r,j,x}

    (seed 002, B*: each bin's gradient goes to the neighbours of its samples,
    weighted by :math:`(1 - \Delta h)(1 - \Delta w)`). RoI Align is linear in
    the features, so this is exact; no gradient flows to ``rois``.

    Parameters
    ----------
    dout : ndarray, shape (R, C, ph, pw), float
        Upstream gradient w.r.t. the output of :func:`roi_align`.
    rois, output_size, spatial_scale, sampling_ratio, aligned
        Exactly as passed to :func:`roi_align`.
    features_shape : tuple (N, C, H, W)
        Shape of the features of the forward pass.

    Returns
    -------
    dfeatures : ndarray, shape (N, C, H, W)
        Same dtype as ``dout``; zero on cells no sample touched.

    Raises
    ------
    TypeError, ValueError
        As :func:`roi_align`, or if ``dout`` is not (R, C, ph, pw) or not finite.

    Examples
    --------
    >>> roi_align_backward(np.ones((1, 1, 1, 1)), [[0, 0.5, 0.5, 1.5, 1.5]], (1, 1, 2, 2), 1, 1.0)
    array([[[[0.25, 0.25],
             [0.25, 0.25]]]])
    """
    shape = _features_shape(features_shape)
    batch, boxes = _check_rois(rois, shape[0])
    ph, pw = _output_size(output_size)
    d = _check_dout(dout, (len(batch), shape[1], ph, pw))
    ratio = _sampling_ratio(sampling_ratio)
    ay, ax = _align_matrices(
        boxes, (ph, pw), shape[2:], _spatial_scale(spatial_scale), ratio, bool(aligned)
    )
    return _apply_separable_backward(d, batch, ay.astype(d.dtype), ax.astype(d.dtype), shape)


# --------------------------------------------------------------------------- RoI Pool
def roi_pool(features, rois, output_size, spatial_scale: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Fast R-CNN's RoI max pooling, with its two quantisations, and the argmax for the backward.

    The RoI is snapped to whole cells, cut into ``ph x pw`` bins whose edges are
    snapped again, and each bin keeps its maximum (seed 002, B3) [1]_:

    .. math::
        x_0 = \mathrm{round}(s\,x_{min}),\ x_1 = \mathrm{round}(s\,x_{max}),\
        L_x = \max(x_1 - x_0 + 1, 1),\quad
        \text{bin } j = \left[x_0 + \left\lfloor \tfrac{j L_x}{pw} \right\rfloor,\
            x_0 + \left\lceil \tfrac{(j + 1) L_x}{pw} \right\rceil\right)

    (likewise in y), clipped to the map; :math:`y_{r,c,i,j} = \max` of the cells
    of bin (i, j). These are the "quantised 2 times" of seed 002, B*: the RoI
    corners move by up to half a cell (8 px at stride 16) and the bin edges by up
    to one more, which RoI Align removes.

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps.
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : int or (int, int)
        ``(ph, pw)``, e.g. 7 for VGG16's fc6.
    spatial_scale : float
        1 / stride, e.g. 1/16.

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        The maxima, same dtype as ``features``; 0 for an empty bin (an RoI
        outside the map).
    argmax : ndarray of int64, shape (R, C, ph, pw)
        Flat index ``y * W + x`` of the maximum within its (H, W) channel map;
        -1 for an empty bin. Pass it to :func:`roi_pool_backward`.

    Raises
    ------
    TypeError, ValueError
        As :func:`roi_align`.

    Notes
    -----
    Rounding is C's (halves away from zero) and the "+1" makes a RoI cover the
    cells of both its rounded corners, as in Caffe's and torchvision's op. Bin
    edges are computed in exact integer arithmetic. Ties keep the first maximum
    in row-major order (the top-most row, then the left-most column).

    References
    ----------
    .. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> f = np.arange(64.0).reshape(1, 1, 8, 8)  # value 8y + x
    >>> out, argmax = roi_pool(f, [[0, 0, 3, 6, 7]], 2, 1.0)  # cells x 0..6, y 3..7
    >>> out  # bins: x [0, 4) | [3, 7), y [3, 6) | [5, 8)
    array([[[[43., 46.],
             [59., 62.]]]])
    >>> argmax
    array([[[[43, 46],
             [59, 62]]]])
    """
    f = _check_features(features)
    batch, boxes = _check_rois(rois, f.shape[0])
    out_hw = _output_size(output_size)
    n_img, c, h, w = f.shape
    r = len(batch)
    output = np.zeros((r, c, *out_hw), dtype=f.dtype)
    argmax = np.full((r, c, *out_hw), NO_ARGMAX, dtype=np.int64)
    if r == 0 or h == 0 or w == 0 or c == 0:
        return output, argmax
    (y0, y1), (x0, x1) = _pool_bins(boxes, out_hw, (h, w), _spatial_scale(spatial_scale))
    vals, args = _window_max_levels(f, int((x1 - x0).max()))
    per_roi = 8 * out_hw[0] * out_hw[1] * c  # the (Rb, ph, pw, C) temporaries
    block = max(1, ROI_BLOCK_BUDGET // per_roi)
    for a in range(0, r, block):
        sl = slice(a, a + block)
        value, flat = _pool_block(
            vals, args, batch[sl], (y0[sl], y1[sl]), (x0[sl], x1[sl]), f.shape
        )
        output[sl] = value.transpose(0, 3, 1, 2)  # (Rb, ph, pw, C) -> (Rb, C, ph, pw)
        argmax[sl] = flat.transpose(0, 3, 1, 2)
    return output, argmax


def roi_pool_backward(dout, argmax, rois, features_shape) -> np.ndarray:
    r"""Gradient of :func:`roi_pool` w.r.t. the features: each bin's gradient goes to its argmax.

    .. math::
        \frac{\partial L}{\partial x_i} = \sum_r \sum_j [i = i^*(r, j)]
            \frac{\partial L}{\partial y_{r,j}}

    (seed 002, B*): one cell per bin receives the gradient, and a cell that is
    the maximum of several bins (of one or several RoIs) receives their sum.

    Parameters
    ----------
    dout : ndarray, shape (R, C, ph, pw), float
        Upstream gradient w.r.t. the output of :func:`roi_pool`.
    argmax : ndarray of int, shape (R, C, ph, pw)
        The second output of :func:`roi_pool` (-1 = empty bin, no gradient).
    rois : array_like, shape (R, 5)
        As passed to :func:`roi_pool` (only the batch indices are used).
    features_shape : tuple (N, C, H, W)
        Shape of the features of the forward pass.

    Returns
    -------
    dfeatures : ndarray, shape (N, C, H, W)
        Same dtype as ``dout``.

    Raises
    ------
    TypeError
        If an input is not numeric, or ``argmax`` is not an integer array.
    ValueError
        If the shapes disagree, ``dout`` is not finite or an argmax is out of
        ``[-1, H*W)``.

    Notes
    -----
    NOTE: max is not differentiable at a tie; the whole gradient goes to the
    cell the forward pass chose (the first maximum in row-major order), the
    sub-gradient every framework uses.

    Examples
    --------
    >>> f = np.array([[[[1.0, 5.0], [2.0, 0.0]]]])
    >>> out, argmax = roi_pool(f, [[0, 0, 0, 1, 1], [0, 0, 0, 1, 1]], 1, 1.0)
    >>> roi_pool_backward(np.array([1.0, 2.0]).reshape(2, 1, 1, 1), argmax, [[0, 0, 0, 1, 1]] * 2,
    ...                   f.shape)
    array([[[[0., 3.],
             [0., 0.]]]])
    """
    n_img, c, h, w = _features_shape(features_shape)
    batch, _ = _check_rois(rois, n_img)
    arg = np.asarray(argmax)
    if arg.dtype.kind not in "iu":
        raise TypeError(f"argmax must be an integer array; got dtype {arg.dtype}")
    if arg.ndim != 4 or arg.shape[:2] != (len(batch), c):
        raise ValueError(
            f"argmax must have shape (R, C, ph, pw) = ({len(batch)}, {c}, ph, pw); got {arg.shape}"
        )
    d = _check_dout(dout, arg.shape)
    if arg.size and (arg.min() < NO_ARGMAX or arg.max() >= h * w):
        raise ValueError(
            f"argmax must be in [-1, H*W) = [-1, {h * w}); got [{arg.min()}, {arg.max()}]"
        )
    keep = arg >= 0
    plane = batch[:, None, None, None] * c + np.arange(c)[:, None, None]  # (R, C, 1, 1)
    flat = (plane * (h * w) + arg)[keep]
    dfeatures = np.bincount(flat, d[keep], minlength=n_img * c * h * w)
    return dfeatures.reshape(n_img, c, h, w).astype(d.dtype, copy=False)
