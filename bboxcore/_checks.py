"""The argument checks shared by every package of bboxcore (private: import, do not re-export).

Validation happens once, at the public boundary (see the design notes). Each
check here returns the value converted to a plain Python type, or raises
``TypeError`` (wrong kind of value) / ``ValueError`` (right kind, bad value)
with a message that names the argument, the expected and the received value.
This is the only private module that other packages may import from.

Scalars
    :func:`real` (any real number but NaN), :func:`positive` (finite, > 0),
    :func:`non_negative` (finite, >= 0), :func:`unit_interval` (in [0, 1]),
    :func:`count` (an integer >= a minimum, optionally ``None``),
    :func:`finite_scalar` (a 0-d array or number, finite, e.g. an upstream gradient).
Randomness
    :func:`check_rng` (an explicit ``numpy.random.Generator``).
Comparisons
    :func:`in_dtype` (a threshold rounded to an array's dtype, so that comparing
    with it is comparing in that dtype).
"""

from __future__ import annotations

import numbers

import numpy as np

from bboxcore.boxes import _area_checked as checked_area
from bboxcore.boxes import as_boxes, as_float_array


# --------------------------------------------------------------------------- scalars
def _real_number(value, name: str, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    return float(value)


def real(value, name: str) -> float:
    """A real number, not NaN (infinities allowed), as a Python float.

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

    Examples
    --------
    >>> positive(3, "sigma")
    3.0
    """
    v = _real_number(value, name, "a positive finite number")
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return v


def non_negative(value, name: str) -> float:
    """A finite real number >= 0, as a Python float.

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


def finite_scalar(value, name: str) -> float:
    """A finite number or 0-d array (e.g. the upstream gradient of a scalar loss), as a float.

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

    Examples
    --------
    >>> float(in_dtype(0.7, np.float32))
    0.699999988079071
    """
    with np.errstate(over="ignore"):  # 1e300 -> inf in float32: still "above every score"
        return np.float64(np.asarray(value, dtype=dtype))


# --------------------------------------------------------------------------- boxes
def scored_boxes(boxes, scores) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``boxes`` (R, 4) and ``scores`` (R,), floating, whose pairwise unions stay finite.

    The input checks of every NMS (:func:`bboxcore.nms`, :func:`bboxcore.soft_nms`).
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
