r"""Element-wise activations of the one-stage detectors: sigmoid, leaky ReLU, softplus, log-sigmoid.

Each forward sits beside its local chain rule, as in :mod:`bboxcore.nn.tensor`. The
exponentials are written so that they never overflow for any finite input:

.. math::
    \mathrm{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|}),\qquad
    \log\sigma(x) = -\mathrm{softplus}(-x).

:func:`relu` and :func:`leaky_relu` can work *in place* (``inplace=True``) on the
output of an op whose backward does not read that output (:data:`INPLACE_SAFE_OPS`:
convolutions and normalisations keep their own inputs); anywhere else they silently
fall back to a new array. The caller promises that nothing else reads the input
afterwards — as with PyTorch's ``inplace=True`` — which holds in a
:class:`~bboxcore.nn.modules.Sequential` stack.
"""

from __future__ import annotations

import numpy as np

from bboxcore.nn.tensor import Tensor

__all__ = [
    "INPLACE_SAFE_OPS",
    "LEAKY_RELU_SLOPE",
    "leaky_relu",
    "log_sigmoid",
    "relu",
    "sigmoid",
    "softplus",
]

#: Default slope of :func:`leaky_relu` for x < 0 (PyTorch's; YOLOv2/v3 use 0.1).
LEAKY_RELU_SLOPE = 0.01
#: Ops whose output an in-place activation may overwrite: their backward never reads it.
INPLACE_SAFE_OPS = frozenset({"conv2d", "conv_transpose2d", "batch_norm", "group_norm"})


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _can_overwrite(x: Tensor) -> bool:
    """True if ``x.data`` may be overwritten: an interior node made by an op of
    :data:`INPLACE_SAFE_OPS` (a leaf's data belongs to the user)."""
    return x._op in INPLACE_SAFE_OPS and x.data.flags.writeable


def relu(x, inplace: bool = False) -> Tensor:
    r""":math:`\max(x, 0)` element-wise.

    Parameters
    ----------
    x : Tensor, any shape
    inplace : bool
        Overwrite ``x.data`` when that is safe (see the module docstring); otherwise
        ignored.

    Returns
    -------
    Tensor, same shape and dtype as ``x``

    Notes
    -----
    :math:`\partial y / \partial x = [x > 0]`. The mask is read from the output
    (:math:`y > 0 \iff x > 0`), so the input need not survive an in-place call.

    Examples
    --------
    >>> relu(Tensor([-1.0, 0.0, 2.0])).data
    array([0., 0., 2.], dtype=float32)
    """
    x = _tensor(x)
    if inplace and _can_overwrite(x):
        out = np.maximum(x.data, 0, out=x.data)
    else:
        out = np.maximum(x.data, 0)
    # NOTE: ReLU has a kink at 0; we use the sub-gradient 0 there (as PyTorch does).
    return Tensor.from_op(out, (x,), lambda d: (d * (out > 0),), "relu")


def leaky_relu(x, negative_slope: float = LEAKY_RELU_SLOPE, inplace: bool = False) -> Tensor:
    r"""Leaky ReLU: :math:`y = x` for :math:`x > 0`, :math:`y = a x` otherwise.

    Parameters
    ----------
    x : Tensor, any shape
    negative_slope : float
        a, in [0, 1) (YOLOv2 and v3 use 0.1).
    inplace : bool
        Overwrite ``x.data`` when that is safe (see the module docstring).

    Returns
    -------
    Tensor, same shape and dtype as ``x``

    Raises
    ------
    ValueError
        If ``negative_slope`` is not in [0, 1) (the sign of x must survive, so that the
        backward pass can read it from the output).

    Notes
    -----
    :math:`\partial y / \partial x = 1` for :math:`x > 0` and :math:`a` otherwise.

    Examples
    --------
    >>> x = Tensor([-2.0, 3.0], requires_grad=True)
    >>> y = leaky_relu(x, 0.1)
    >>> y.data
    array([-0.2,  3. ], dtype=float32)
    >>> y.sum().backward()
    >>> x.grad
    array([0.1, 1. ], dtype=float32)
    """
    if not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must be in [0, 1); got {negative_slope!r}")
    x = _tensor(x)
    slope = np.asarray(negative_slope, dtype=x.dtype)
    if inplace and _can_overwrite(x):
        out = x.data
        np.multiply(out, slope, out=out, where=out < 0)
    else:
        out = np.where(x.data > 0, x.data, x.data * slope)

    def backward(d):
        # NOTE: kink at 0; the sub-gradient there is a (PyTorch's choice). y > 0 iff x > 0.
        return (np.where(out > 0, d, d * slope),)

    return Tensor.from_op(out, (x,), backward, "leaky_relu")


def sigmoid(x) -> Tensor:
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, never overflowing.

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, same shape and dtype as ``x``, values in [0, 1]

    Notes
    -----
    :math:`\sigma' = \sigma (1 - \sigma)`. Computed as
    :math:`\exp(-\mathrm{softplus}(-x))` (:meth:`Tensor.sigmoid`).

    Examples
    --------
    >>> sigmoid(Tensor([0.0, 1000.0, -1000.0])).data
    array([0.5, 1. , 0. ], dtype=float32)
    """
    return _tensor(x).sigmoid()


def softplus(x) -> Tensor:
    r"""Softplus :math:`\log(1 + e^{x})`, a smooth ReLU, stable for every finite x.

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, same shape and dtype as ``x``

    Notes
    -----
    Forward :math:`\max(x, 0) + \log(1 + e^{-|x|})` (the exponent is never positive);
    :math:`\partial y / \partial x = \sigma(x)`.

    Examples
    --------
    >>> softplus(Tensor([0.0, 100.0, -20.0])).data  # log 2, x, about e^x
    array([6.9314718e-01, 1.0000000e+02, 2.0611537e-09], dtype=float32)
    """
    x = _tensor(x)
    a = x.data
    out = (np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))).astype(a.dtype, copy=False)
    # d softplus / dx = e^x / (1 + e^x) = sigma(x)
    return Tensor.from_op(out, (x,), lambda d: (d * _sigmoid(a),), "softplus")


def log_sigmoid(x) -> Tensor:
    r""":math:`\log \sigma(x) = -\mathrm{softplus}(-x)`, finite for every finite x.

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, same shape and dtype as ``x``, values <= 0

    Notes
    -----
    :math:`\partial y / \partial x = 1 - \sigma(x) = \sigma(-x)`. The log of
    :func:`sigmoid` would give -inf (and a NaN gradient) below x of about -100 in
    float32; this form gives x.

    Examples
    --------
    >>> log_sigmoid(Tensor([0.0, -200.0])).data
    array([  -0.6931472, -200.       ], dtype=float32)
    """
    x = _tensor(x)
    a = x.data
    out = (np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))).astype(a.dtype, copy=False)
    # d/dx (-softplus(-x)) = sigma(-x)
    return Tensor.from_op(out, (x,), lambda d: (d * _sigmoid(-a),), "log_sigmoid")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """sigma(a) as an array of a's dtype, without overflow."""
    return np.exp(-np.logaddexp(0, -a)).astype(a.dtype, copy=False)
