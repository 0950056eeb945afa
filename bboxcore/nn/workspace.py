"""A cache of large scratch arrays, so that every training step does not allocate them anew.

The im2col columns of a convolution are the largest arrays of a training step (C kh kw
times the input: 28 MiB for the 16 -> 32 layer of the NEON backbone) and have the same
shapes in every step. Freshly allocated, such an array costs a page fault per 4 KiB on
its first write, about as much time as filling it; taken from this cache it costs
nothing. :func:`~bboxcore.nn.conv.conv2d` takes its columns here (:func:`take`) and
gives them back when its graph is freed (a ``weakref.finalize`` on its backward
closure): all of them are alive at once during a step anyway, so the cache holds
between steps what a step holds at its peak. A cached array is never handed out twice
at the same time.

Temporaries that live inside one call of an op's forward or backward (conv2d's column
gradients, batch norm's product, max-pooling's pairs) share one :func:`scratch` buffer
instead, as large as the largest of them: one array, not one per layer, on top of what
the step needs.

:func:`clear` empties the cache (e.g. before measuring peak memory);
:func:`cached_bytes` says how much it holds.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = [
    "MAX_CACHED_BYTES",
    "cached_bytes",
    "clear",
    "give",
    "release_with",
    "scratch",
    "take",
]

#: The cache keeps at most this many bytes; larger or extra arrays are simply freed.
MAX_CACHED_BYTES = 512 * 2**20

_free: dict[tuple, list[np.ndarray]] = {}
_total = 0
_scratch: np.ndarray | None = None


def take(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``, cached or new.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array.
    dtype : dtype
        Its dtype (anything ``np.dtype`` accepts).

    Returns
    -------
    ndarray
        Its content is arbitrary (like ``np.empty``).

    Examples
    --------
    >>> a = take((2, 3), np.float32)
    >>> give(a)
    >>> take((2, 3), np.float32) is a
    True
    >>> clear()
    """
    global _total
    key = (tuple(shape), np.dtype(dtype).str)
    stack = _free.get(key)
    if stack:
        array = stack.pop()
        _total -= array.nbytes
        return array
    return np.empty(shape, dtype)


def give(array: np.ndarray) -> None:
    """Return an array obtained from :func:`take`; the caller must not use it any more.

    Kept for the next :func:`take` of the same shape and dtype unless the
    cache would then hold more than :data:`MAX_CACHED_BYTES`.

    Parameters
    ----------
    array : ndarray
        From :func:`take`, C-contiguous.

    Returns
    -------
    None

    Examples
    --------
    >>> clear()
    >>> give(take((4, 4), np.float64))
    >>> cached_bytes()
    128
    >>> clear()
    """
    global _total
    if _total + array.nbytes > MAX_CACHED_BYTES:
        return
    _free.setdefault((array.shape, array.dtype.str), []).append(array)
    _total += array.nbytes


def scratch(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A view of the one shared scratch buffer: valid until the next call of :func:`scratch`.

    For a temporary used inside one call of an op's forward or backward only (op calls
    never nest, and no op returns a view of it). The buffer grows to the largest request
    and is kept.

    Parameters
    ----------
    shape : tuple of int
        Shape of the view.
    dtype : dtype
        Its dtype (anything ``np.dtype`` accepts).

    Returns
    -------
    ndarray
        C-contiguous, uninitialised.

    Examples
    --------
    >>> a = scratch((2, 3), np.float32)
    >>> b = scratch((3,), np.float64)  # a now holds garbage: b shares its memory
    >>> np.shares_memory(a, b)
    True
    >>> clear()
    """
    global _scratch
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if _scratch is None or _scratch.nbytes < nbytes:
        _scratch = np.empty(max(nbytes, 1), np.uint8)
    return _scratch[:nbytes].view(dtype).reshape(shape)


def release_with(owner: object, array: np.ndarray) -> None:
    """:func:`give` ``array`` back when ``owner`` (e.g. a backward closure) is garbage.

    Parameters
    ----------
    owner : object
        Any weak-referenceable object whose lifetime bounds the array's use.
    array : ndarray
        From :func:`take`.

    Returns
    -------
    None

    Examples
    --------
    >>> import gc
    >>> clear()
    >>> class Closure:  # stands for a backward closure
    ...     pass
    >>> owner, a = Closure(), take((8,), np.float32)
    >>> release_with(owner, a)
    >>> cached_bytes()
    0
    >>> del owner; _ = gc.collect()
    >>> cached_bytes(), take((8,), np.float32) is a
    (32, True)
    >>> clear()
    """
    weakref.finalize(owner, give, array)


def clear() -> None:
    """Forget every cached array (their memory is freed when nothing else holds them).

    Examples
    --------
    >>> give(take((2, 2), np.float32)); _ = scratch((3,), np.uint8)
    >>> clear(); cached_bytes()
    0
    """
    global _total, _scratch
    _free.clear()
    _total = 0
    _scratch = None


def cached_bytes() -> int:
    """Bytes currently held by the cache (the arrays of :func:`take` and the scratch buffer).

    Examples
    --------
    >>> clear(); cached_bytes()
    0
    """
    return _total + (0 if _scratch is None else _scratch.nbytes)
