"""The argument checks shared by every package of bboxcore (private: import, do not re-export).

Validation happens once, at the public boundary (see the design notes). Each
check here returns the value converted to a plain Python type, or raises
``TypeError`` (wrong kind of value) / ``ValueError`` (right kind, bad value)
with a message that names the argument, the expected and the received value.
This is the only private module that other packages may import from.

Scalars
    :func:`real` (any real number but NaN), :func:`positive` (finite, > 0),
    :func:`non_negative` (finite, >= 0), :func:`unit_interval` (in [0, 1]),
    :func:`positive_vector` (a non-empty sequence of positive numbers),
    :func:`count` (an integer >= a minimum, optionally ``None``),
    :func:`finite_scalar` (a 0-d array or number, finite, e.g. an upstream gradient).
Randomness
    :func:`check_rng` (an explicit ``numpy.random.Generator``).
Arrays and boxes (re-exported, documented, by :mod:`bboxcore.boxes`)
    :func:`as_float_array` (the dtype policy), :func:`check_finite`, :func:`as_boxes`
    (the box convention), :func:`as_image_size`, :func:`result_float_dtype`,
    :func:`checked_area` (area without overflow), :func:`scored_boxes` (NMS inputs).
Comparisons
    :func:`in_dtype` (a threshold rounded to an array's dtype, so that comparing
    with it is comparing in that dtype).
"""

from __future__ import annotations

import numbers

import numpy as np


# --------------------------------------------------------------------------- scalars
def _real_number(value, name: str, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    return float(value)


def real(value, name: str) -> float:
    """A real number, not NaN (infinities allowed), as a Python float.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> real(-np.inf, "score_thresh")
    -inf
    """
    v = _real_number(value, name, "a real number")
    if np.isnan(v):
        raise ValueError(f"{name} must not be NaN; got {value!r}")
    return v


def positive(value, name: str) -> float:
    """A finite real number > 0, as a Python float.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> positive(3, "sigma")
    3.0
    """
    v = _real_number(value, name, "a finite number > 0")
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return v


def non_negative(value, name: str) -> float:
    """A finite real number >= 0, as a Python float.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> non_negative(0, "min_size")
    0.0
    """
    v = _real_number(value, name, "a finite number >= 0")
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return v


def unit_interval(value, name: str) -> float:
    """A real number in [0, 1] (a fraction, a probability, an IoU threshold), as a float.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> unit_interval(0.7, "pos_iou_thresh")
    0.7
    """
    v = _real_number(value, name, "a real number in [0, 1]")
    if not 0.0 <= v <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return v


def count(value, name: str, *, minimum: int = 0, allow_none: bool = False) -> int | None:
    """An integer >= ``minimum`` (a size, a number of samples), as a Python int.

    ``None`` passes through when ``allow_none``. A float, even ``2.0``, is a
    ``TypeError``: counts are integers.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.
    minimum : int, optional
        The smallest allowed value (default 0).
    allow_none : bool, optional
        Whether ``None`` passes through (default False).

    Examples
    --------
    >>> count(np.int64(256), "n_sample", minimum=1)
    256
    >>> count(None, "max_output", allow_none=True) is None
    True
    """
    if value is None and allow_none:
        return None
    if minimum == 0:
        expected = "a non-negative integer"
    elif minimum == 1:
        expected = "a positive integer"
    else:
        expected = f"an integer >= {minimum}"
    if allow_none:
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return int(value)


def positive_vector(x, name: str) -> np.ndarray:
    """A non-empty sequence of finite numbers > 0 (ratios, scales), as a flat float64 array.

    Parameters
    ----------
    x : array_like
        The sequence to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> positive_vector((0.5, 1, 2), "ratios")
    array([0.5, 1. , 2. ])
    """
    arr = as_float_array(x, name, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers; got {x!r}")
    return arr


def finite_scalar(value, name: str) -> float:
    """A finite number or 0-d array (e.g. the upstream gradient of a scalar loss), as a float.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, used in the error message.

    Examples
    --------
    >>> finite_scalar(np.float32(1.0), "dloc_loss")
    1.0
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.ndim != 0 or not np.isfinite(arr):
        raise ValueError(f"{name} must be a finite scalar; got {value!r}")
    return float(arr)


# --------------------------------------------------------------------------- randomness
def check_rng(rng) -> np.random.Generator:
    """``rng`` itself if it is a ``numpy.random.Generator``, else ``TypeError``.

    bboxcore never draws from NumPy's global random state: every random choice
    takes an explicit generator, so that a seed reproduces a run.

    Parameters
    ----------
    rng : object
        Should be a ``numpy.random.Generator``.

    Examples
    --------
    >>> bool(check_rng(np.random.default_rng(0)).integers(10) < 10)
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
            f"got {type(rng).__name__}"
        )
    return rng


# --------------------------------------------------------------------------- comparisons
def in_dtype(value: float, dtype) -> np.float64:
    """``value`` rounded to ``dtype`` (float32 or float64), as an exact float64.

    Comparing an array of that dtype with the result is comparing in that dtype
    (``iou > thresh`` with a float32 IoU compares with the float32 threshold).

    Parameters
    ----------
    value : float
        A threshold.
    dtype : dtype
        The floating dtype of the array it will be compared with.

    Examples
    --------
    >>> float(in_dtype(0.7, np.float32))
    0.699999988079071
    """
    with np.errstate(over="ignore"):  # 1e300 -> inf in float32: still "above every score"
        return np.float64(np.asarray(value, dtype=dtype))


# --------------------------------------------------------------------------- arrays and boxes
def as_float_array(x, name: str, *, dtype=None) -> np.ndarray:
    """Turn ``x`` into a floating ndarray following the design's dtype policy.

    Parameters
    ----------
    x : array_like
        Any numeric array or nested list.
    name : str
        The argument's name, for error messages.
    dtype : dtype, optional
        Force this dtype instead of the policy.

    Returns
    -------
    ndarray
        Floating arrays keep their dtype (float16 is promoted to float32, too
        coarse for box arithmetic); integers, booleans and lists become
        float64. The result may be ``x`` itself: never write into it.

    Raises
    ------
    TypeError
        If ``x`` is ragged or not real numeric (strings, objects, complex).

    Examples
    --------
    >>> as_float_array([1, 2], "scores").dtype
    dtype('float64')
    >>> as_float_array(np.ones(2, np.float32), "scores").dtype
    dtype('float32')
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged lists
        raise TypeError(
            f"{name} must be a real numeric array; got a ragged {type(x).__name__}: {err}"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False) if arr.dtype.itemsize < 4 else arr
    return arr.astype(np.float64)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` and the first bad entry if ``arr`` has NaN/inf.

    Parameters
    ----------
    arr : ndarray
        A numeric array of any shape.
    name : str
        The argument's name, for the message.

    Raises
    ------
    ValueError
        If any entry is NaN or infinite.

    Examples
    --------
    >>> check_finite(np.array([1.0, np.nan]), "scores")
    Traceback (most recent call last):
    ...
    ValueError: scores must be finite (no NaN or inf); got nan at index (1,)
    """
    if arr.size and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = f"at index {tuple(int(i) for i in bad)}"
        raise ValueError(f"{name} must be finite (no NaN or inf); got {arr[tuple(bad)]} {where}")


def as_boxes(
    boxes, name: str = "boxes", *, allow_inverted: bool = False, dtype=None, ncols: int = 4
) -> np.ndarray:
    """Validate an array of boxes and return it as a floating ndarray.

    This is the one validation helper that every public function taking boxes
    calls at its boundary, so that all of them fail the same way.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    name : str
        The argument's name, used in error messages.
    allow_inverted : bool
        Accept boxes with ``x_max < x_min`` or ``y_max < y_min``.
    dtype : dtype, optional
        Force this floating dtype instead of the design's dtype policy.
    ncols : int
        Expected number of columns (4 for boxes; 5 for ``(batch_index, box)`` rois).

    Returns
    -------
    boxes : ndarray, shape (R, 4), float
        The validated boxes; float32 and float64 input keep their dtype,
        anything else becomes float64. It may be the input itself: never
        write into it.

    Raises
    ------
    TypeError
        If ``boxes`` is not a real numeric array.
    ValueError
        If it is not shaped (R, 4), holds NaN or inf, or (unless
        ``allow_inverted``) has a box with ``x_max < x_min`` or
        ``y_max < y_min``.

    Examples
    --------
    >>> as_boxes([[0, 0, 10, 5]])
    array([[ 0.,  0., 10.,  5.]])
    >>> as_boxes(np.zeros((0, 4), np.float32)).dtype
    dtype('float32')
    >>> as_boxes([[10, 0, 0, 5]], "gt_bbox")
    Traceback (most recent call last):
    ...
    ValueError: gt_bbox has an inverted box (x_max < x_min or y_max < y_min) at row 0: ...
    """
    arr = as_float_array(boxes, name, dtype=dtype)
    if arr.shape == (0,):  # ``[]``: an image without objects
        arr = arr.reshape(0, ncols)
    if arr.ndim != 2 or arr.shape[1] != ncols:
        letters = "(R, 4)" if ncols == 4 else f"(R, {ncols})"
        raise ValueError(f"{name} must have shape {letters}; got {arr.shape}")
    check_finite(arr, name)
    if not allow_inverted and arr.shape[0]:
        c = ncols - 4
        inverted = (arr[:, c + 2] < arr[:, c]) | (arr[:, c + 3] < arr[:, c + 1])
        if inverted.any():
            i = int(np.flatnonzero(inverted)[0])
            raise ValueError(
                f"{name} has an inverted box (x_max < x_min or y_max < y_min) at row {i}: "
                f"{[float(v) for v in arr[i]]}"
            )
    return arr


def as_image_size(img_size, name: str = "img_size") -> tuple[float, float]:
    """Validate an image size ``(H, W)`` in pixels and return it as two floats.

    Parameters
    ----------
    img_size : tuple of 2 numbers
        Height and width, both positive and finite.

    Returns
    -------
    (H, W) : tuple of float

    Raises
    ------
    ValueError
        If it does not have exactly two positive finite entries.

    Examples
    --------
    >>> as_image_size((600, 1000))
    (600.0, 1000.0)
    """
    try:
        h, w = (float(v) for v in img_size)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (H, W), two positive numbers; got {img_size!r}") from None
    if not (np.isfinite(h) and np.isfinite(w) and h > 0 and w > 0):
        raise ValueError(f"{name} must be (H, W), two positive numbers; got {img_size!r}")
    return h, w


def result_float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype that several validated arrays combine to (float32 only if all are).

    Parameters
    ----------
    *arrays : ndarray
        Floating arrays.

    Returns
    -------
    numpy.dtype

    Examples
    --------
    >>> result_float_dtype(np.ones(1, np.float32), np.ones(1, np.float32))
    dtype('float32')
    >>> result_float_dtype(np.ones(1, np.float32), np.ones(1))
    dtype('float64')
    """
    return np.result_type(*[a.dtype for a in arrays], np.float32)


def checked_area(b: np.ndarray, name: str) -> np.ndarray:
    """Area (R,) of boxes already validated by :func:`as_boxes`; ``ValueError`` if it overflows.

    Parameters
    ----------
    b : ndarray, shape (R, 4), float
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, from :func:`as_boxes`.
    name : str
        Their argument name, used in the error message.

    Returns
    -------
    ndarray, shape (R,)
        ``(x_max - x_min) * (y_max - y_min)``, square pixels.

    Examples
    --------
    >>> checked_area(np.array([[0.0, 0.0, 2.0, 3.0]]), "boxes")
    array([6.])
    """
    with np.errstate(over="ignore"):
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    if area.size and not np.isfinite(area).all():
        i = int(np.flatnonzero(~np.isfinite(area))[0])
        raise ValueError(
            f"{name} row {i} is too large: its area overflows {b.dtype} "
            f"(box {[float(v) for v in b[i]]}); use float64 or smaller coordinates"
        )
    return area


def scored_boxes(boxes, scores) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``boxes`` (R, 4) and ``scores`` (R,), floating, whose pairwise unions stay finite.

    The input checks of every NMS (:func:`bboxcore.nms`, :func:`bboxcore.soft_nms`).

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    scores : array_like, shape (R,)
        Their scores, not NaN.

    Returns
    -------
    boxes, scores : ndarray
        Floating copies, shapes (R, 4) and (R,).

    Examples
    --------
    >>> b, s = scored_boxes([[0, 0, 1, 1]], [0.5])
    >>> b.shape, s.tolist()
    ((1, 4), [0.5])
    """
    b = as_boxes(boxes, "boxes")
    area = checked_area(b, "boxes")
    with np.errstate(over="ignore"):
        too_big = area.size > 0 and not np.isfinite(area.max() + area.max())
    if too_big:  # the union |A| + |B| - I of two such boxes would overflow
        i = int(np.argmax(area))
        raise ValueError(
            f"boxes row {i} is too large: the union of two such boxes overflows {b.dtype} "
            f"(box {[float(v) for v in b[i]]}); use float64 or smaller coordinates"
        )
    s = as_float_array(scores, "scores")
    if s.shape != (b.shape[0],):
        raise ValueError(
            f"scores must have shape (R,) = ({b.shape[0]},) matching boxes; got {s.shape}"
        )
    if np.isnan(s).any():
        raise ValueError(
            f"scores must not be NaN; got NaN at index {np.flatnonzero(np.isnan(s))[0]}"
        )
    return b, s
