r"""Tensor: a NumPy array that remembers how it was made, so it can be differentiated.

Reverse-mode automatic differentiation in one page, in the spirit of
micrograd [1]_ but on arrays instead of scalars. Every operation below returns a
new :class:`Tensor` holding

* its value ``data`` (a NumPy array),
* its parents (the tensors it was computed from), and
* a ``backward`` closure that, given ``dout = dL/d(out)``, returns ``dL/d(parent)``
  for each parent — the *local* chain rule, written right beside the forward.

:meth:`Tensor.backward` sorts the graph topologically and calls each closure once,
from the loss back to the leaves, adding up the gradients that reach a tensor
along different paths (the multivariate chain rule
:math:`\partial L / \partial x = \sum_k \partial L / \partial y_k \cdot \partial y_k / \partial x`).

Broadcasting: an operand of shape (1, C) added to one of shape (N, C) is copied
N times, so its gradient is the *sum* of the N gradients. The engine does that
"un-broadcasting" once, in :func:`unbroadcast`, for every op.

Dtype: float32 by default (speed); float64 tensors stay float64 (gradient checks).
A plain number or array mixed with a Tensor takes the Tensor's dtype.

NaN: the ops do not scan their arrays for NaN or inf (that would cost a pass over
every activation); the losses of :mod:`bboxcore.losses`, where every graph ends,
reject non-finite inputs with a ``ValueError``, so a NaN never trains silently.

References
----------
.. [1] A. Karpathy. micrograd, ``micrograd/engine.py``. https://github.com/karpathy/micrograd
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

__all__ = ["DEFAULT_DTYPE", "Tensor", "is_grad_enabled", "no_grad", "unbroadcast"]

#: The dtype of tensors built from Python numbers, lists and integer arrays.
DEFAULT_DTYPE = np.float32

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether new operations record their graph (False inside :func:`no_grad`).

    Returns
    -------
    enabled : bool
        True by default; False inside a :func:`no_grad` block, and True again
        once the outermost block has exited (blocks may nest).

    Examples
    --------
    >>> is_grad_enabled()
    True
    >>> with no_grad():
    ...     inside = is_grad_enabled()
    >>> inside, is_grad_enabled()
    (False, True)
    """
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager (or decorator) in which operations build no graph.

    Use it for evaluation and for parameter updates: nothing is remembered, so
    memory is freed as soon as a value is no longer used.

    Examples
    --------
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Parameters
    ----------
    grad : ndarray
        Gradient with respect to a broadcast result.
    shape : tuple of int
        Shape of the operand before broadcasting.

    Returns
    -------
    ndarray, shape ``shape``

    Examples
    --------
    >>> unbroadcast(np.ones((2, 3)), (1, 3))
    array([[2., 2., 2.]])
    >>> unbroadcast(np.ones((2, 3)), ()).shape
    ()
    """
    # NOTE: broadcasting copies one value into many outputs; the gradient of a copy is
    # the SUM of the gradients of the copies (leading axes added by broadcasting, then
    # axes of length 1 that were stretched).
    if grad.ndim > len(shape):
        grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.asarray(grad).reshape(shape)


def _as_data(x, dtype=None) -> np.ndarray:
    """A floating array from ``x`` (Tensor, array, list or number)."""
    if isinstance(x, Tensor):
        return x.data
    if dtype is None and not isinstance(x, (np.ndarray, np.generic)):
        dtype = DEFAULT_DTYPE  # Python numbers and lists: float32, like PyTorch
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot make a Tensor from {type(x).__name__}: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor data must be real numbers; got dtype {arr.dtype}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(DEFAULT_DTYPE)
    return arr


class Tensor:
    """An n-dimensional array with a gradient.

    Parameters
    ----------
    data : array_like
        The value; copied. Floating arrays keep their dtype (float16 becomes
        float32); numbers, lists and integer arrays become :data:`DEFAULT_DTYPE`.
    requires_grad : bool
        Whether :meth:`backward` should compute ``grad`` for this tensor.

    Attributes
    ----------
    data : ndarray
        The value.
    grad : ndarray or None
        ``dL/d(data)`` after :meth:`backward`, same shape and dtype as ``data``;
        None until a gradient arrives.
    requires_grad : bool

    Raises
    ------
    TypeError
        If ``data`` is not numeric.

    Examples
    --------
    >>> a = Tensor([2.0, 3.0], requires_grad=True)
    >>> b = Tensor([4.0, 5.0], requires_grad=True)
    >>> loss = (a * b + a).sum()
    >>> loss.backward()
    >>> a.grad, b.grad  # d/da = b + 1, d/db = a
    (array([5., 6.], dtype=float32), array([2., 3.], dtype=float32))
    """

    # ndarray (op) Tensor must call Tensor's reflected method (e.g. __rmul__) rather
    # than treat the Tensor as an object array; NumPy ufuncs refuse Tensors outright.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False) -> None:
        self.data = np.array(_as_data(data), copy=True)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None
        self._op = ""

    @staticmethod
    def from_op(data, parents: tuple[Tensor, ...], backward: Callable | None, op: str) -> Tensor:
        """The result of an operation: how every op (and any new one) builds its output.

        Parameters
        ----------
        data : ndarray
            The forward value (not copied).
        parents : tuple of Tensor
            The inputs the value was computed from.
        backward : callable
            ``backward(dout) -> sequence`` with one gradient (or None) per parent, each
            of the parent's shape or of the broadcast shape the parent was stretched
            to (the engine sums it back). It must not modify ``dout``.
        op : str
            A name, shown by ``repr``.

        Returns
        -------
        Tensor
            Remembers ``parents`` and ``backward`` only if some parent requires a
            gradient and :func:`no_grad` is not active.
        """
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._op = np.asarray(data), None, op
        out.requires_grad = _grad_enabled and any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
        return out

    def _lift(self, other) -> Tensor:
        """``other`` as a Tensor; plain numbers and arrays take this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        return Tensor.from_op(np.asarray(_as_data(other), dtype=self.data.dtype), (), None, "const")

    # ------------------------------------------------------------------ the engine
    def backward(self, grad=None) -> None:
        """Compute ``dself/dx`` for every tensor ``x`` this one depends on; add it to ``x.grad``.

        Parameters
        ----------
        grad : array_like, optional
            ``dL/dself``; defaults to 1 for a one-element tensor (a loss).

        Raises
        ------
        RuntimeError
            If this tensor does not require a gradient.
        ValueError
            If ``grad`` is missing for a tensor of more than one element, or has
            the wrong shape.

        Notes
        -----
        Leaves (tensors made by the user, parameters) *accumulate*: call
        ``zero_grad()`` between steps. Interior tensors keep the gradient of the
        latest call in ``.grad`` (handy for inspecting a network), reset each call.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"grad must be given for a non-scalar tensor; shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = np.array(grad, dtype=self.data.dtype)  # a copy: .grad never aliases the input
        if grad.shape != self.shape:
            raise ValueError(f"grad must have shape {self.shape}; got {grad.shape}")
        order = self._topological_order()
        for node in order:  # interior gradients start from zero on every call
            if node._backward is not None:
                node.grad = None
        self._accumulate(grad)
        # Visit each node after every node that uses it (reverse topological order),
        # so its grad is complete before it is passed on to its parents.
        for node in reversed(order):
            if node._backward is None or node.grad is None:
                continue
            for parent, dparent in zip(node._parents, node._backward(node.grad)):
                if dparent is not None and parent.requires_grad:
                    parent._accumulate(dparent)

    def _topological_order(self) -> list[Tensor]:
        """Every tensor needing a gradient that ``self`` depends on, parents before children."""
        order: list[Tensor] = []
        seen: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in seen)
        return order

    def _accumulate(self, grad: np.ndarray) -> None:
        """``self.grad += grad`` after un-broadcasting (never in place: arrays may be shared)."""
        grad = unbroadcast(np.asarray(grad), self.data.shape).astype(self.data.dtype, copy=False)
        if self.grad is None:
            # a leaf (parameter) owns its grad, so that optimisers may change it in place
            self.grad = grad.copy() if self._backward is None else grad
        else:
            self.grad = self.grad + grad

    # ------------------------------------------------------------------ plumbing
    shape = property(lambda self: self.data.shape, doc="Shape of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="Number of axes.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="Dtype of ``data``.")

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = f", requires_grad=True, op={self._op!r}" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, threshold=20)}, dtype={self.dtype}{grad})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def numpy(self) -> np.ndarray:
        """The value (not a copy: do not write into it)."""
        return self.data

    def detach(self) -> Tensor:
        """The same value, cut from the graph: no gradient flows through the result."""
        return Tensor.from_op(self.data, (), None, "detach")

    def astype(self, dtype) -> Tensor:
        """Cast to ``dtype``; the gradient is cast back."""
        dtype = np.dtype(dtype)
        source = self.data.dtype
        return Tensor.from_op(
            self.data.astype(dtype), (self,), lambda d: (d.astype(source),), "cast"
        )

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other) -> Tensor:
        other = self._lift(other)
        # d(a + b)/da = 1, d(a + b)/db = 1
        return Tensor.from_op(self.data + other.data, (self, other), lambda d: (d, d), "add")

    def __sub__(self, other) -> Tensor:
        other = self._lift(other)
        return Tensor.from_op(self.data - other.data, (self, other), lambda d: (d, -d), "sub")

    def __mul__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        # d(a b)/da = b, d(a b)/db = a
        return Tensor.from_op(a * b, (self, other), lambda d: (d * b, d * a), "mul")

    def __truediv__(self, other) -> Tensor:
        other = self._lift(other)
        a, b = self.data, other.data
        out = a / b

        def backward(d):
            # d(a / b)/da = 1 / b,  d(a / b)/db = -a / b^2 = -out / b
            return d / b, -d * out / b

        return Tensor.from_op(out, (self, other), backward, "div")

    def __neg__(self) -> Tensor:
        return Tensor.from_op(-self.data, (self,), lambda d: (-d,), "neg")

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("only a constant exponent is supported: x ** float")
        a, p = self.data, float(exponent)
        # d(a^p)/da = p a^(p - 1)
        return Tensor.from_op(a**p, (self,), lambda d: (d * p * a ** (p - 1),), "pow")

    def __radd__(self, other) -> Tensor:
        return self._lift(other) + self

    def __rsub__(self, other) -> Tensor:
        return self._lift(other) - self

    def __rmul__(self, other) -> Tensor:
        return self._lift(other) * self

    def __rtruediv__(self, other) -> Tensor:
        return self._lift(other) / self

    def __rmatmul__(self, other) -> Tensor:
        return self._lift(other) @ self

    def __matmul__(self, other) -> Tensor:
        other = self._lift(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(
                f"matmul needs at least 1-D operands; got {self.shape} @ {other.shape}"
            )
        if self.ndim == 1 or other.ndim == 1:  # vectors: as (1, K) rows / (K, 1) columns
            a = self.reshape(1, -1) if self.ndim == 1 else self
            b = other.reshape(-1, 1) if other.ndim == 1 else other
            return (a @ b).reshape(np.matmul(self.data, other.data).shape)
        a, b = self.data, other.data

        def backward(d):
            # C = A B  =>  dA = dC B^T,  dB = A^T dC.  A batch axis that broadcast
            # (a shared weight) is summed by the engine.
            da = d @ np.swapaxes(b, -1, -2) if self.requires_grad else None
            db = np.swapaxes(a, -1, -2) @ d if other.requires_grad else None
            return da, db

        return Tensor.from_op(a @ b, (self, other), backward, "matmul")

    # ------------------------------------------------------------------ element-wise
    def exp(self) -> Tensor:
        """:math:`e^x`; derivative :math:`e^x`."""
        out = np.exp(self.data)
        return Tensor.from_op(out, (self,), lambda d: (d * out,), "exp")

    def log(self) -> Tensor:
        """Natural logarithm; derivative :math:`1 / x`."""
        a = self.data
        return Tensor.from_op(np.log(a), (self,), lambda d: (d / a,), "log")

    def relu(self) -> Tensor:
        """:math:`\\max(x, 0)`."""
        a = self.data
        # NOTE: ReLU has a kink at 0; we use the sub-gradient 0 there (as PyTorch does).
        return Tensor.from_op(np.maximum(a, 0), (self,), lambda d: (d * (a > 0),), "relu")

    def sigmoid(self) -> Tensor:
        """:math:`\\sigma(x) = 1 / (1 + e^{-x})`; derivative :math:`\\sigma (1 - \\sigma)`."""
        # exp(-log(1 + e^-x)) never overflows, unlike 1 / (1 + exp(-x)) for very negative x
        out = np.exp(-np.logaddexp(0, -self.data)).astype(self.dtype, copy=False)
        return Tensor.from_op(out, (self,), lambda d: (d * out * (1 - out),), "sigmoid")

    def tanh(self) -> Tensor:
        """:math:`\\tanh x`; derivative :math:`1 - \\tanh^2 x`."""
        out = np.tanh(self.data)
        return Tensor.from_op(out, (self,), lambda d: (d * (1 - out * out),), "tanh")

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all when None); each input gets the gradient of its sum."""
        shape = self.shape
        out = self.data.sum(axis=axis, keepdims=keepdims)
        # every summand has derivative 1: spread dout back over the summed axes
        return Tensor.from_op(out, (self,), lambda d: (_spread(d, shape, axis, keepdims),), "sum")

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``; each input gets ``dout / count``."""
        count = int(np.prod([self.shape[k] for k in _normalize_axes(axis, self.ndim)]))
        return self.sum(axis=axis, keepdims=keepdims) / max(count, 1)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; the gradient goes to the maximal entries."""
        a = self.data
        top = a.max(axis=axis, keepdims=True)
        out = top if keepdims else a.max(axis=axis)

        def backward(d):
            # NOTE: ties -- when several entries share the maximum they split the
            # gradient equally (a valid sub-gradient; PyTorch's amax does the same).
            winners = a == top
            share = winners / winners.sum(axis=axis, keepdims=True)
            return (_spread(d, a.shape, axis, keepdims) * share,)

        return Tensor.from_op(out, (self,), backward, "max")

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape) -> Tensor:
        """Same values, new shape (``-1`` allowed); the gradient is reshaped back."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], Sequence) else shape
        old = self.shape
        return Tensor.from_op(
            self.data.reshape(shape), (self,), lambda d: (d.reshape(old),), "reshape"
        )

    def transpose(self, *axes) -> Tensor:
        """Permute axes (reverse them when none are given); the gradient is permuted back."""
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], Sequence) else axes
        axes = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))
        out = self.data.transpose(axes)
        return Tensor.from_op(out, (self,), lambda d: (d.transpose(inverse),), "transpose")

    T = property(lambda self: self.transpose(), doc="All axes reversed.")

    def __getitem__(self, index) -> Tensor:
        if isinstance(index, Tensor):
            raise TypeError("index a Tensor with ints, slices or integer/boolean arrays")
        a = self.data

        def backward(d):
            # Forward is a gather, out = a[index]; its adjoint is a scatter-add of dout.
            da = np.zeros_like(a)
            if _is_basic_index(index):
                da[index] = d  # slices and ints never select an element twice
            else:
                # NOTE: an integer-array index may pick the same element twice; each pick
                # adds its gradient, so we must use np.add.at, not assignment.
                np.add.at(da, index, d)
            return (da,)

        return Tensor.from_op(a[index], (self,), backward, "getitem")


def _normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(int(k) % ndim for k in axes)


def _spread(d: np.ndarray, shape: tuple[int, ...], axis, keepdims: bool) -> np.ndarray:
    """Broadcast the gradient of a reduction back over the reduced axes of ``shape``."""
    if not keepdims:
        d = np.expand_dims(d, _normalize_axes(axis, len(shape)))
    return np.broadcast_to(d, shape)


def _is_basic_index(index) -> bool:
    """True for ints, slices, None and Ellipsis (NumPy "basic" indexing)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in items)
