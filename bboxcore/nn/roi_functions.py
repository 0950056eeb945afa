"""The RoI ops as differentiable functions of a feature Tensor.

Forward and backward live in :mod:`bboxcore.roi` and :mod:`bboxcore.prroi`
(tested against the course deck *Detection – 3 stages*, §B); here each pair
becomes one graph node. The features get the gradient; the RoIs come from the
proposal layer and are constants, except for Precise RoI Pooling, whose box
gradient flows to ``rois`` when they are a Tensor that requires it. Import these
from :mod:`bboxcore.nn.functional`.
"""

from __future__ import annotations

from bboxcore import prroi, roi
from bboxcore.nn.tensor import Tensor

__all__ = ["prroi_pool", "roi_align", "roi_pool"]


def _constant(x):
    """RoIs: an array without gradient."""
    return x.data if isinstance(x, Tensor) else x


def roi_align(
    features,
    rois,
    output_size,
    spatial_scale: float,
    sampling_ratio: int = -1,
    aligned: bool = True,
) -> Tensor:
    """RoI Align of a feature Tensor (:func:`bboxcore.roi.roi_align`).

    Parameters
    ----------
    features : Tensor, shape (N, C, H, W)
    rois : ndarray, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels; no gradient.
    output_size, spatial_scale, sampling_ratio, aligned
        As :func:`bboxcore.roi.roi_align`.

    Returns
    -------
    Tensor, shape (R, C, ph, pw)
        Backward: :func:`bboxcore.roi.roi_align_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.roi.roi_align`.

    Examples
    --------
    >>> f = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    >>> roi_align(f, np.array([[0, 0, 0, 4, 4]]), 2, 1.0).sum().backward()
    >>> float(f.grad.sum())  # 4 bins, each a weighted mean: total weight 4
    4.0
    """
    features = features if isinstance(features, Tensor) else Tensor(features)
    rois = _constant(rois)
    geometry = (output_size, spatial_scale, sampling_ratio, aligned)
    out = roi.roi_align(features.data, rois, *geometry)
    shape = features.shape
    # linear in the features: dF = sum_r Ay_r^T dY_r Ax_r (*Detection – 3 stages*, §B)
    return Tensor.from_op(
        out,
        (features,),
        lambda d: (roi.roi_align_backward(d, rois, shape, *geometry),),
        "roi_align",
    )


def roi_pool(features, rois, output_size, spatial_scale: float) -> Tensor:
    """Fast R-CNN's RoI max pooling of a feature Tensor (:func:`bboxcore.roi.roi_pool`).

    Parameters
    ----------
    features : Tensor, shape (N, C, H, W)
    rois : ndarray, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels; no gradient.
    output_size, spatial_scale
        As :func:`bboxcore.roi.roi_pool`.

    Returns
    -------
    Tensor, shape (R, C, ph, pw)
        Backward: :func:`bboxcore.roi.roi_pool_backward` (each bin's gradient to its
        argmax; NOTE: at a tie, the first maximum in row-major order takes it all).

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.roi.roi_pool`.

    Examples
    --------
    >>> f = Tensor([[[[1.0, 5.0], [2.0, 0.0]]]], requires_grad=True)
    >>> roi_pool(f, np.array([[0, 0, 0, 1, 1]]), 1, 1.0).sum().backward()
    >>> f.grad[0, 0]
    array([[0., 1.],
           [0., 0.]], dtype=float32)
    """
    features = features if isinstance(features, Tensor) else Tensor(features)
    rois = _constant(rois)
    out, argmax = roi.roi_pool(features.data, rois, output_size, spatial_scale)
    shape = features.shape
    return Tensor.from_op(
        out, (features,), lambda d: (roi.roi_pool_backward(d, argmax, rois, shape),), "roi_pool"
    )


def prroi_pool(features, rois, output_size, spatial_scale: float) -> Tensor:
    """Precise RoI Pooling (:func:`bboxcore.prroi.prroi_pool`), differentiable in the boxes too.

    Parameters
    ----------
    features : Tensor, shape (N, C, H, W)
    rois : ndarray or Tensor, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels. A Tensor
        with ``requires_grad`` receives the box gradient (0 in the batch column).
    output_size, spatial_scale
        As :func:`bboxcore.prroi.prroi_pool`.

    Returns
    -------
    Tensor, shape (R, C, ph, pw)
        Backward: :func:`bboxcore.prroi.prroi_pool_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.prroi.prroi_pool`.

    Examples
    --------
    >>> f = Tensor([[[[0.0, 1.0], [2.0, 3.0]]]], requires_grad=True)
    >>> box = Tensor([[0, 0, 0, 1, 1]], requires_grad=True)
    >>> prroi_pool(f, box, 1, 1.0).sum().backward()
    >>> box.grad  # growing x_max takes in brighter cells: +0.5
    array([[0. , 0.5, 1. , 0.5, 1. ]], dtype=float32)
    """
    features = features if isinstance(features, Tensor) else Tensor(features)
    box_tensor = rois if isinstance(rois, Tensor) else None
    rois = _constant(rois)
    out = prroi.prroi_pool(features.data, rois, output_size, spatial_scale)
    parents = (features,) if box_tensor is None else (features, box_tensor)

    def backward(d):
        # the integral over each bin: d/dF by linearity, d/d(edges) by Leibniz's rule
        return prroi.prroi_pool_backward(d, features.data, rois, output_size, spatial_scale)

    return Tensor.from_op(out, parents, backward, "prroi_pool")
