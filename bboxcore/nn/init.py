r"""Weight initialisers, each drawing from an explicit ``rng``.

All of them fill a Tensor (or an array) **in place** and return it, like
PyTorch's ``nn.init.*_`` functions (the trailing underscore says "in place").

* :func:`kaiming_normal_` — He et al. [1]_: :math:`W \sim \mathcal N(0, 2 / \text{fan\_in})`
  keeps the variance of the activations constant through ReLU layers; the
  default of :class:`~bboxcore.nn.modules.Conv2d` and :class:`~bboxcore.nn.modules.Linear`.
* :func:`normal_` — :math:`\mathcal N(0, 0.01^2)` is what the Faster R-CNN heads use [2]_
  (``normal_(layer.weight, rng, std=0.001)`` for the box regressor).
* :func:`zeros_`, :func:`constant_` — biases.

References
----------
.. [1] K. He, X. Zhang, S. Ren, J. Sun. "Delving Deep into Rectifiers: Surpassing
   Human-Level Performance on ImageNet Classification." ICCV 2015, arXiv:1502.01852.
.. [2] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time Object
   Detection with Region Proposal Networks." NeurIPS 2015, arXiv:1506.01497.
"""

from __future__ import annotations

import math

import numpy as np

from bboxcore._checks import check_rng
from bboxcore.nn.tensor import Tensor

__all__ = ["HEAD_STD", "constant_", "fan_in_and_out", "kaiming_normal_", "normal_", "zeros_"]

HEAD_STD = 0.01  # std of the Faster R-CNN RPN and classifier heads' Gaussian init [2]_
RELU_GAIN = math.sqrt(2.0)  # ReLU zeroes half the inputs, halving the variance [1]_


def _data(tensor) -> np.ndarray:
    arr = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise TypeError(f"tensor must be a floating Tensor or ndarray; got {type(tensor).__name__}")
    return arr


def fan_in_and_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """Inputs and outputs feeding one unit, for a weight of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` for a linear layer, ``(F, C, kh, kw)`` for a convolution.

    Returns
    -------
    (fan_in, fan_out) : (int, int)
        ``in * receptive field`` and ``out * receptive field``.

    Raises
    ------
    ValueError
        If ``shape`` has fewer than 2 axes.

    Examples
    --------
    >>> fan_in_and_out((64, 3, 3, 3))
    (27, 576)
    """
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 axes (out, in, ...); got {shape}")
    field = math.prod(shape[2:])
    return shape[1] * field, shape[0] * field


def kaiming_normal_(
    tensor, rng: np.random.Generator, *, mode: str = "fan_in", gain: float = RELU_GAIN
):
    r"""Fill with :math:`\mathcal N(0, \text{gain}^2 / \text{fan})` (He et al. [1]_, Eq. 10).

    Parameters
    ----------
    tensor : Tensor or ndarray, at least 2-D
    rng : numpy.random.Generator
    mode : {'fan_in', 'fan_out'}
        Preserve the variance of the forward (fan_in) or the backward (fan_out) pass.
    gain : float
        :math:`\sqrt 2` for ReLU.

    Returns
    -------
    The same ``tensor``, filled.

    Raises
    ------
    ValueError
        If ``mode`` is unknown or the tensor has fewer than 2 axes.
    TypeError
        If ``tensor`` is not floating or ``rng`` is not a Generator.

    Examples
    --------
    >>> w = kaiming_normal_(np.empty((256, 128), np.float32), np.random.default_rng(0))
    >>> bool(abs(w.std() - np.sqrt(2 / 128)) < 0.005)
    True
    """
    arr = _data(tensor)
    check_rng(rng)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out'; got {mode!r}")
    fan_in, fan_out = fan_in_and_out(arr.shape)
    std = gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    arr[...] = rng.standard_normal(arr.shape) * std
    return tensor


def normal_(tensor, rng: np.random.Generator, *, mean: float = 0.0, std: float = HEAD_STD):
    """Fill with :math:`\\mathcal N(\\text{mean}, \\text{std}^2)` (std 0.01: Faster R-CNN heads).

    Parameters
    ----------
    tensor : Tensor or ndarray
    rng : numpy.random.Generator
    mean, std : float

    Returns
    -------
    The same ``tensor``, filled.

    Raises
    ------
    TypeError
        If ``tensor`` is not floating or ``rng`` is not a Generator.
    ValueError
        If ``std`` is negative.

    Examples
    --------
    >>> w = normal_(np.empty(10000), np.random.default_rng(0))
    >>> round(float(w.std()), 3)
    0.01
    """
    arr = _data(tensor)
    check_rng(rng)
    if std < 0:
        raise ValueError(f"std must be >= 0; got {std}")
    arr[...] = rng.normal(mean, std, size=arr.shape)
    return tensor


def constant_(tensor, value: float):
    """Fill with ``value``.

    Parameters
    ----------
    tensor : Tensor or ndarray
    value : float

    Returns
    -------
    The same ``tensor``, filled.

    Examples
    --------
    >>> constant_(np.empty(3), 0.5)
    array([0.5, 0.5, 0.5])
    """
    _data(tensor)[...] = value
    return tensor


def zeros_(tensor):
    """Fill with zeros.

    Parameters
    ----------
    tensor : Tensor or ndarray

    Returns
    -------
    The same ``tensor``, filled.

    Examples
    --------
    >>> zeros_(np.ones(2))
    array([0., 0.])
    """
    return constant_(tensor, 0.0)
