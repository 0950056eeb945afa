"""Operations that take several tensors or an index: concatenate, stack, element-wise maximum,
take_along_axis (gather); and the clipped exponential of box decoders.

Each forward sits beside its backward, as in :mod:`bboxcore.nn.tensor`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore.nn.tensor import Tensor

__all__ = ["clipped_exp", "concatenate", "gather", "maximum", "stack", "take_along_axis"]


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


def clipped_exp(x, max_value: float) -> Tensor:
    r"""exp(min(x, max_value)): the positive sizes of a box decoder, safe from overflow.

    .. math::
        y = e^{\min(x, m)},\qquad
        \frac{\partial y}{\partial x} = e^{x}\,[x < m]

    FCOS's distances :math:`s\,e^{x}` and YOLOv2/v3's :math:`p_w e^{t_w}`
    (Redmon & Farhadi, arXiv:1612.08242, Sec. "Direct location prediction")
    use it: an untrained head's outputs cannot overflow float32.

    Parameters
    ----------
    x : Tensor or array_like
    max_value : float
        m; above it the output is :math:`e^m` and the gradient 0 (the min's flat side).

    Returns
    -------
    Tensor
        Same shape as ``x``.

    Raises
    ------
    ValueError
        If ``max_value`` is not a finite number.

    Examples
    --------
    >>> x = Tensor([0.0, 1.0, 20.0], requires_grad=True)
    >>> y = clipped_exp(x, 10.0)
    >>> y.sum().backward()
    >>> bool(np.isclose(y.data[2], np.exp(10.0))), x.grad.tolist()[::2]  # flat above 10
    (True, [1.0, 0.0])
    """
    if not np.isfinite(max_value):
        raise ValueError(f"max_value must be a finite number; got {max_value}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    out = np.exp(np.minimum(x.data, max_value))
    # d exp(x) / dx = exp(x) below the clip; NOTE: 0 above it (the min's flat side)
    return Tensor.from_op(out, (x,), lambda d: (d * out * (x.data < max_value),), "clipped_exp")


def take_along_axis(x, indices, axis: int) -> Tensor:
    """Pick entries of ``x`` along ``axis`` by an integer array, as ``np.take_along_axis``.

    The dense heads' gather: e.g. the score of each anchor's assigned class,
    ``take_along_axis(scores (N, S, K), label[..., None] (N, S, 1), axis=2)``, or the
    top-k locations of a heatmap.

    Parameters
    ----------
    x : Tensor
    indices : array_like of int
        Same number of axes as ``x``; broadcasts against it on every axis but ``axis``;
        values in ``[-x.shape[axis], x.shape[axis])``.
    axis : int

    Returns
    -------
    Tensor, the broadcast shape of ``indices``
        ``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``.

    Raises
    ------
    TypeError
        If ``indices`` is not an integer array.
    ValueError
        If the number of axes differs, ``axis`` is out of range, or an index is out of
        bounds.

    Notes
    -----
    A gather; its adjoint is a scatter-add: ``dx`` gets ``dout`` added at every picked
    position (``np.add.at``), so an entry picked twice gets both gradients.

    Examples
    --------
    >>> scores = Tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], requires_grad=True)
    >>> picked = take_along_axis(scores, np.array([[1], [0]]), axis=1)
    >>> picked.data.ravel()
    array([0.7, 0.5], dtype=float32)
    >>> picked.sum().backward()
    >>> scores.grad
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must be an integer array; got dtype {indices.dtype}")
    if indices.ndim != x.ndim:
        raise ValueError(f"indices must have {x.ndim} axes like x; got shape {indices.shape}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim}); got {axis}")
    axis = axis % x.ndim
    size = x.shape[axis]
    if indices.size and (indices.min() < -size or indices.max() >= size):
        raise ValueError(f"indices must be in [{-size}, {size}) along axis {axis}")
    out = np.take_along_axis(x.data, indices, axis=axis)
    shape = x.shape

    def backward(d):
        # out = x[..., idx, ...] (a gather)  =>  dx = scatter-add of dout at idx
        dx = np.zeros(shape, dtype=d.dtype)
        # positions on the other axes; an axis of length 1 in x was broadcast: always 0
        index = list(np.ix_(*(np.arange(k) * (n != 1) for k, n in zip(d.shape, shape))))
        index[axis] = np.broadcast_to(indices, d.shape)
        # NOTE: an index may repeat; np.add.at adds each pick, assignment would not
        np.add.at(dx, tuple(index), d)
        return (dx,)

    return Tensor.from_op(out, (x,), backward, "take_along_axis")


#: The same op under PyTorch's name (``torch.gather`` has the same semantics).
gather = take_along_axis
