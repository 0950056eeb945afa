r"""RoI Align (Mask R-CNN): bilinear samples averaged per bin, forward and backward.

Conventions: see :mod:`bboxcore.roi`.

RoI Align (and PrRoI Pooling) are **separable**: the value of bin (i, j) is
:math:`\sum_{y,x} A^y_{r,i,y}\,F_{n_r,c,y,x}\,A^x_{r,j,x}`, where the row
weights :math:`A^y` (R, ph, H) depend only on the RoI's vertical extent and the
column weights :math:`A^x` (R, pw, W) only on its horizontal one (a bilinear
weight is a product of a weight in y and one in x). So the forward is two
matrix products per image and the backward their transpose,
:math:`dF = \sum_r A^{y\top}_r\, dY_r\, A^x_r` — exactly the sum "to the four
neighbours with the bilinear weights" of *Detection – 3 stages*, §B*, done by BLAS.

References
----------
.. [2] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
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
    _sampling_ratio,
)
from bboxcore.roi._sampling import _align_matrices, _apply_separable, _apply_separable_backward

__all__ = ["roi_align", "roi_align_backward"]


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
    four surrounding cells (*Detection – 3 stages*, §B*) [1]_:

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
        boxes, out_hw, f.shape[2:], positive(spatial_scale, "spatial_scale"), ratio, bool(aligned)
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

    (*Detection – 3 stages*, §B*: each bin's gradient goes to the neighbours of its samples,
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
        boxes, (ph, pw), shape[2:], positive(spatial_scale, "spatial_scale"), ratio, bool(aligned)
    )
    return _apply_separable_backward(d, batch, ay.astype(d.dtype), ax.astype(d.dtype), shape)
