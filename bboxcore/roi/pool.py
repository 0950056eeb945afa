r"""RoI Pool (Fast R-CNN): max over quantised bins, forward and backward.

Conventions: see :mod:`bboxcore.roi`.

References
----------
.. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import positive
from bboxcore.roi._inputs import (
    _check_dout,
    _check_features,
    _check_rois,
    _features_shape,
    _output_size,
)
from bboxcore.roi._sampling import NO_ARGMAX, _pool_bins, _pool_block, _window_max_levels

__all__ = ["NO_ARGMAX", "ROI_BLOCK_BUDGET", "roi_pool", "roi_pool_backward"]

#: Maximum number of elements of one block of temporaries in :func:`roi_pool`
#: (RoIs are processed in blocks so that memory stays bounded on big maps).
ROI_BLOCK_BUDGET = 1 << 22


# --------------------------------------------------------------------------- RoI Pool
def roi_pool(features, rois, output_size, spatial_scale: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Fast R-CNN's RoI max pooling, with its two quantisations, and the argmax for the backward.

    The RoI is snapped to whole cells, cut into ``ph x pw`` bins whose edges are
    snapped again, and each bin keeps its maximum (*Detection – 3 stages*, §B3) [1]_:

    .. math::
        x_0 = \mathrm{round}(s\,x_{min}),\ x_1 = \mathrm{round}(s\,x_{max}),\
        L_x = \max(x_1 - x_0 + 1, 1),\quad
        \text{bin } j = \left[x_0 + \left\lfloor \tfrac{j L_x}{pw} \right\rfloor,\
            x_0 + \left\lceil \tfrac{(j + 1) L_x}{pw} \right\rceil\right)

    (likewise in y), clipped to the map; :math:`y_{r,c,i,j} = \max` of the cells
    of bin (i, j). These are the "quantised 2 times" of *Detection – 3 stages*, §B*: the RoI
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
    (y0, y1), (x0, x1) = _pool_bins(boxes, out_hw, (h, w), positive(spatial_scale, "spatial_scale"))
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

    (*Detection – 3 stages*, §B*): one cell per bin receives the gradient, and a cell that is
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
