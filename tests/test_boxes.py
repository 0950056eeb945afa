"""Tests of bboxcore.boxes: the convention, conversions, area, clipping, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.boxes import (
    BOX_FORMATS,
    as_boxes,
    as_image_size,
    box_area,
    box_convert,
    clip_boxes,
    cxcywh_to_xyxy,
    remove_small_boxes,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
    xyxy_to_xywh,
    xyxy_to_yxyx,
    yxyx_to_xyxy,
)
from tests.strategies import anything_boxes, boxes

PUBLIC_ONE_ARG = [box_area, xyxy_to_xywh, xyxy_to_cxcywh, xyxy_to_yxyx, yxyx_to_xyxy]


# --------------------------------------------------------------------------- convention
def test_width_is_xmax_minus_xmin_without_plus_one():
    # DESIGN: continuous coordinates, width = x_max - x_min, no "+1"
    assert box_area([[0, 0, 10, 5]]).tolist() == [10 * 5]
    assert box_area([[3, 3, 3, 8]]).tolist() == [0.0]


@given(boxes(dtype=np.float64))
def test_every_format_round_trips_through_xyxy(b):
    for fmt in BOX_FORMATS:
        back = box_convert(box_convert(b, "xyxy", fmt), fmt, "xyxy")
        np.testing.assert_allclose(back, b, rtol=1e-12, atol=1e-9)


def test_conversions_by_hand():
    b = np.array([[1.0, 2.0, 11.0, 7.0]])
    np.testing.assert_array_equal(xyxy_to_xywh(b), [[1, 2, 10, 5]])
    np.testing.assert_array_equal(xyxy_to_cxcywh(b), [[6, 4.5, 10, 5]])
    np.testing.assert_array_equal(xyxy_to_yxyx(b), [[2, 1, 7, 11]])
    np.testing.assert_array_equal(xywh_to_xyxy([[1, 2, 10, 5]]), b)
    np.testing.assert_array_equal(cxcywh_to_xyxy([[6, 4.5, 10, 5]]), b)
    np.testing.assert_array_equal(yxyx_to_xyxy([[2, 1, 7, 11]]), b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_conversion_keeps_float_dtype_and_never_aliases(dtype, fmt):
    b = np.array([[1, 2, 11, 7]], dtype=dtype)
    before = b.copy()
    out = box_convert(b, "xyxy", fmt)
    assert out.dtype == dtype
    assert not np.shares_memory(out, b)
    np.testing.assert_array_equal(b, before)


def test_integer_and_list_inputs_become_float64():
    assert box_area([[0, 0, 2, 2]]).dtype == np.float64
    assert box_area(np.array([[0, 0, 2, 2]], np.int32)).dtype == np.float64
    assert box_area(np.array([[0, 0, 2, 2]], np.float16)).dtype == np.float32


@pytest.mark.parametrize("fn", PUBLIC_ONE_ARG + [lambda b: clip_boxes(b, (10, 10))])
def test_empty_input_gives_empty_output(fn):
    out = fn(np.zeros((0, 4), np.float32))
    assert out.shape[0] == 0
    assert out.dtype == np.float32


# --------------------------------------------------------------------------- clip / filter
@given(boxes(), st.floats(1, 3000), st.floats(1, 3000))
def test_clip_boxes_lies_inside_image_and_keeps_inside_boxes(b, h, w):
    out = clip_boxes(b, (h, w))
    assert (out[:, 0::2] >= 0).all() and (out[:, 0::2] <= w).all()
    assert (out[:, 1::2] >= 0).all() and (out[:, 1::2] <= h).all()
    assert (out[:, 2:] >= out[:, :2]).all()
    inside = (b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 2] <= w) & (b[:, 3] <= h)
    np.testing.assert_array_equal(out[inside], b[inside])


def test_remove_small_boxes_keeps_sides_at_least_min_size():
    b = [[0, 0, 10, 10], [0, 0, 3, 20], [0, 0, 5, 5], [1, 1, 1, 1]]
    assert remove_small_boxes(b, 5).tolist() == [0, 2]
    assert remove_small_boxes(b, 0).tolist() == [0, 1, 2, 3]
    assert remove_small_boxes(np.zeros((0, 4)), 1).dtype == np.int64


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((3, 5)), r"boxes must have shape \(R, 4\); got \(3, 5\)"),
        (np.zeros(4), r"must have shape \(R, 4\); got \(4,\)"),
        ([[0, 0, np.nan, 1]], "must be finite"),
        ([[0, 0, np.inf, 1]], "must be finite"),
        ([[5, 0, 1, 1]], "inverted box"),
        ([[0, 5, 1, 1]], "inverted box"),
    ],
)
def test_invalid_boxes_raise_value_error_naming_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        box_area(bad)


def test_non_numeric_boxes_raise_type_error():
    with pytest.raises(TypeError, match="boxes must be a real numeric array"):
        box_area([["a", "b", "c", "d"]])
    with pytest.raises(TypeError, match="boxes must be a real numeric array"):
        box_area([[0, 0, 1], [0, 0, 1, 1]])
    with pytest.raises(TypeError, match="dtype complex"):
        box_area(np.zeros((1, 4), complex))


def test_area_overflow_is_an_error_not_inf():
    with pytest.raises(ValueError, match="overflows float32"):
        box_area(np.array([[-3e38, -3e38, 3e38, 3e38]], np.float32))


@pytest.mark.parametrize(
    ("bad", "match"),
    [((0, 10), "two positive numbers"), ((10,), "two positive"), ((np.nan, 3), "positive")],
)
def test_invalid_image_size(bad, match):
    with pytest.raises(ValueError, match=match):
        as_image_size(bad)
    with pytest.raises(ValueError, match=match):
        clip_boxes([[0, 0, 1, 1]], bad)


def test_invalid_formats_and_min_size():
    with pytest.raises(ValueError, match="in_fmt must be one of"):
        box_convert([[0, 0, 1, 1]], "xy", "xyxy")
    with pytest.raises(ValueError, match="out_fmt must be one of"):
        box_convert([[0, 0, 1, 1]], "xyxy", "whxy")
    with pytest.raises(ValueError, match="min_size must be a finite number >= 0"):
        remove_small_boxes([[0, 0, 1, 1]], -1)
    with pytest.raises(ValueError, match="negative width or height"):
        xywh_to_xyxy([[0, 0, -1, 1]])


def test_as_boxes_allow_inverted():
    assert as_boxes([[5, 0, 1, 1]], allow_inverted=True).shape == (1, 4)


@given(anything_boxes())
def test_fuzz_every_function_returns_or_raises_documented_error(arr):
    before = arr.copy()
    fns = PUBLIC_ONE_ARG + [
        lambda b: clip_boxes(b, (100, 100)),
        lambda b: box_convert(b, "cxcywh", "xywh"),
        xywh_to_xyxy,
        cxcywh_to_xyxy,
    ]
    for fn in fns:
        try:
            out = fn(arr)
        except (ValueError, TypeError):
            continue
        assert np.isfinite(out).all()
        assert out.shape[0] == arr.shape[0]
    try:
        keep = remove_small_boxes(arr, 1)
    except (ValueError, TypeError):
        keep = np.arange(0)
    assert keep.dtype == np.int64 and ((keep >= 0) & (keep < max(1, len(arr)))).all()
    np.testing.assert_array_equal(arr, before)
