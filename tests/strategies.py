"""Hypothesis strategies shared by the tests.

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels. Coordinates are drawn
from a bounded range of "pixel-like" values so that properties that hold in
exact arithmetic also hold to a tight tolerance in floating point; the fuzz
strategies (``anything_boxes``) go everywhere else: NaN, inf, huge values,
inverted and zero-area boxes, wrong shapes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

COORD_MAX = 2000.0  # image coordinates stay within [-COORD_MAX, COORD_MAX]

# --------------------------------------------------------------------------- boxes
coords = st.floats(-COORD_MAX, COORD_MAX, allow_nan=False, allow_infinity=False, width=32)
sides = st.floats(0.0, COORD_MAX / 2, allow_nan=False, allow_infinity=False, width=32)
positive_sides = st.floats(0.5, COORD_MAX / 2, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def boxes(draw, min_size=0, max_size=20, dtype=np.float64, allow_degenerate=True):
    """(R, 4) valid boxes; zero-area ones included unless ``allow_degenerate=False``."""
    n = draw(st.integers(min_size, max_size))
    side = sides if allow_degenerate else positive_sides
    xy = draw(hnp.arrays(np.float64, (n, 2), elements=coords))
    wh = draw(hnp.arrays(np.float64, (n, 2), elements=side))
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


@st.composite
def box_pairs(draw, max_size=20, dtype=np.float64, allow_degenerate=True):
    """Two (R, 4) arrays of valid boxes of the same length R."""
    n = draw(st.integers(0, max_size))
    a = draw(boxes(n, n, dtype, allow_degenerate))
    b = draw(boxes(n, n, dtype, allow_degenerate))
    return a, b


@st.composite
def box_pair_with_iou(draw, iou=None):
    """Two axis-aligned boxes of the same height whose IoU is ``iou`` (drawn if None).

    Box A is ``(0, 0, w, h)``; B is A shifted right by ``d``, so the
    intersection is ``(w - d) h`` and IoU = (w - d) / (w + d); solving gives
    d = w (1 - IoU) / (1 + IoU).
    """
    if iou is None:
        iou = draw(st.floats(0.01, 1.0))
    w = draw(st.floats(1.0, 500.0))
    h = draw(st.floats(1.0, 500.0))
    d = w * (1 - iou) / (1 + iou)
    a = np.array([[0.0, 0.0, w, h]])
    return a, a + np.array([[d, 0.0, d, 0.0]]), iou


# --------------------------------------------------------------------------- fuzz
special_floats32 = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 1e-30])
special_floats64 = st.one_of(special_floats32, st.sampled_from([1e300, -1e300, 1e-300]))


@st.composite
def anything_boxes(draw, max_rows=6):
    """Arrays that may or may not be valid boxes: any shape, NaN, inf, huge, inverted."""
    shape = draw(
        st.one_of(
            st.tuples(st.integers(0, max_rows), st.just(4)),
            st.tuples(st.integers(0, max_rows), st.integers(0, 6)),
            st.tuples(st.integers(0, 5)),
            st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 4)),
        )
    )
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    if dtype is np.int64:
        elements = st.integers(-(10**6), 10**6)
    elif dtype is np.float32:
        elements = st.one_of(st.floats(-1e4, 1e4, width=32), special_floats32)
    else:
        elements = st.one_of(st.floats(-1e4, 1e4, width=32), special_floats64)
    with np.errstate(over="ignore", invalid="ignore"):
        return draw(hnp.arrays(dtype, shape, elements=elements))
