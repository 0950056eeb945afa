"""Operations that take several tensors: concatenate, stack, element-wise maximum.

Each forward sits beside its backward, as in :mod:`bboxcore.nn.tensor`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore.nn.tensor import Tensor

__all__ = ["concatenate", "maximum", "stack"]


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; the gradient is split back into pieces.

    Parameters
    ----------
    tensors : sequence of Tensor
        Same shape except along ``axis``.
    axis : int

    Returns
    -------
    Tensor

    Raises
    ------
    ValueError
        If ``tensors`` is empty or the shapes do not fit (NumPy's message).

    Examples
    --------
    >>> a, b = Tensor([1.0], requires_grad=True), Tensor([2.0, 3.0], requires_grad=True)
    >>> y = concatenate([a, b])
    >>> (y * Tensor([1.0, 2.0, 3.0])).sum().backward()
    >>> b.grad
    array([2., 3.], dtype=float32)
    """
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor; got an empty sequence")
    tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    out = np.concatenate([t.data for t in tensors], axis=axis)
    ends = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    # each input owns a contiguous block of the output, so it gets that block of dout
    return Tensor.from_op(out, tensors, lambda d: np.split(d, ends, axis=axis), "concatenate")


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis; the gradient is unstacked.

    Parameters
    ----------
    tensors : sequence of Tensor
        All the same shape.
    axis : int

    Returns
    -------
    Tensor

    Raises
    ------
    ValueError
        If ``tensors`` is empty or the shapes differ (NumPy's message).

    Examples
    --------
    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1).shape
    (2, 2)
    """
    if len(tensors) == 0:
        raise ValueError("stack needs at least one tensor; got an empty sequence")
    tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    out = np.stack([t.data for t in tensors], axis=axis)
    n = len(tensors)
    return Tensor.from_op(
        out, tensors, lambda d: [np.take(d, k, axis=axis) for k in range(n)], "stack"
    )


def maximum(a, b) -> Tensor:
    """Element-wise maximum of two tensors (broadcasting); the larger one gets the gradient.

    Parameters
    ----------
    a, b : Tensor or array_like

    Returns
    -------
    Tensor

    Examples
    --------
    >>> a = Tensor([1.0, 5.0, 2.0], requires_grad=True)
    >>> maximum(a, Tensor([3.0, 3.0, 2.0])).sum().backward()
    >>> a.grad  # 0 where b won, 1 where a won, 1/2 at the tie
    array([0. , 1. , 0.5], dtype=float32)
    """
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = a._lift(b)
    x, y = a.data, b.data

    def backward(d):
        # NOTE: at a tie (x == y) max is not differentiable; we split the gradient half
        # and half, a valid sub-gradient that keeps maximum(x, x) = x exact (1/2 + 1/2).
        wins_a = ((x > y) + 0.5 * (x == y)).astype(d.dtype)
        return d * wins_a, d * (1 - wins_a)

    return Tensor.from_op(np.maximum(x, y), (a, b), backward, "maximum")
