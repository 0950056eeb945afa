"""Tests of bboxcore.encoding against the slide equations.

Course material: Object Detection – BBOX Regression; Detection – 3 stages, §C2.2.1; The losses
of Faster R-CNN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.encoding import LOC_CLIP, LOC_NORMALIZE_STD, bbox2loc, loc2bbox
from tests.strategies import anything_boxes, boxes

finite_offsets = st.floats(-5, 5, allow_nan=False)


def positive_boxes(n):
    return boxes(n, n, np.float64, allow_degenerate=False)


@st.composite
def src_dst(draw, max_size=12):
    n = draw(st.integers(0, max_size))
    return draw(positive_boxes(n)), draw(positive_boxes(n))


def within_clip(src, dst):
    """True when no dst side is more than 1000/16 times its src side (the LOC_CLIP bound)."""
    ratio = (dst[:, 2:] - dst[:, :2]) / (src[:, 2:] - src[:, :2])
    return bool((np.log(ratio) < LOC_CLIP).all())


# --------------------------------------------------------------------------- the slide's numbers
def test_bbox2loc_matches_the_slide_equations_by_hand():
    # Object Detection – BBOX Regression: t_x = (G_x - P_x) / P_w, t_y = (G_y - P_y) / P_h, t_w =
    # log(G_w / P_w), ...
    p = np.array([[10.0, 20.0, 30.0, 60.0]])  # centre (20, 40), size (20, 40)
    g = np.array([[15.0, 10.0, 55.0, 30.0]])  # centre (35, 20), size (40, 20)
    expected = [(35 - 20) / 20, (20 - 40) / 40, math.log(40 / 20), math.log(20 / 40)]
    np.testing.assert_allclose(bbox2loc(p, g), [expected], rtol=1e-15)


def test_loc2bbox_matches_the_slide_decoding_by_hand():
    # Object Detection – BBOX Regression: G^_x = P_w d_x + P_x, G^_w = P_w exp(d_w)
    p = np.array([[10.0, 20.0, 30.0, 60.0]])
    d = np.array([[0.5, -0.25, math.log(3), 0.0]])
    cx, cy, w, h = 20 * 0.5 + 20, 40 * -0.25 + 40, 20 * 3, 40
    np.testing.assert_allclose(
        loc2bbox(p, d), [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], atol=1e-12
    )


def test_normalised_offsets_by_hand():
    # The losses of Faster R-CNN: gt_roi_loc = (gt_roi_loc - mean) / std with std (0.1, 0.1, 0.2,
    # 0.2)
    p = np.array([[0.0, 0.0, 10.0, 10.0]])
    g = np.array([[1.0, 0.0, 11.0, 20.0]])
    raw = bbox2loc(p, g)
    np.testing.assert_allclose(raw, [[0.1, 0.5, 0.0, math.log(2)]])
    np.testing.assert_allclose(
        bbox2loc(p, g, mean=(0, 0.5, 0, 0), std=LOC_NORMALIZE_STD),
        [[1.0, 0.0, 0.0, math.log(2) / 0.2]],
    )


# --------------------------------------------------------------------------- properties
@given(src_dst())
def test_loc2bbox_inverts_bbox2loc(pair):
    src, dst = pair
    assume(within_clip(src, dst))
    np.testing.assert_allclose(loc2bbox(src, bbox2loc(src, dst)), dst, rtol=1e-9, atol=1e-6)


@given(src_dst())
def test_loc2bbox_inverts_normalised_bbox2loc(pair):
    src, dst = pair
    assume(within_clip(src, dst))
    mean, std = (0.1, -0.2, 0.05, 0.0), LOC_NORMALIZE_STD
    loc = bbox2loc(src, dst, mean=mean, std=std)
    np.testing.assert_allclose(loc2bbox(src, loc, mean=mean, std=std), dst, rtol=1e-9, atol=1e-6)


@given(src_dst(), st.floats(-1000, 1000), st.floats(-1000, 1000), st.floats(0.01, 100))
def test_offsets_invariant_to_translating_and_scaling_the_pair(pair, dx, dy, s):
    # Object Detection – BBOX Regression: dividing by P_w, P_h makes t independent of where the pair
    # is and of its scale
    src, dst = pair
    shift = np.array([dx, dy, dx, dy])
    np.testing.assert_allclose(
        bbox2loc(src * s + shift, dst * s + shift), bbox2loc(src, dst), rtol=1e-6, atol=1e-6
    )


@given(positive_boxes(5), hnp.arrays(np.float64, (5, 4), elements=st.floats(-1e6, 1e6)))
def test_decoded_widths_are_never_negative_and_clip_keeps_exp_finite(src, loc):
    # Object Detection – BBOX Regression: exp(d_w) P_w > 0 whatever the regressor predicts; the clip
    # bounds the growth
    try:
        out = loc2bbox(src, loc)
    except ValueError as err:  # only huge t_x / t_y can overflow the centre
        assert "overflows" in str(err)
        assume(False)
    wh = out[:, 2:] - out[:, :2]
    assert (wh >= 0).all() and np.isfinite(out).all()
    assert (wh <= (src[:, 2:] - src[:, :2]) * 62.5 * (1 + 1e-12)).all()


@given(positive_boxes(4), hnp.arrays(np.float64, (4, 4), elements=finite_offsets))
def test_decoded_widths_are_positive_for_bounded_offsets(src, loc):
    out = loc2bbox(src, loc)
    assert (out[:, 2:] > out[:, :2]).all()


@given(positive_boxes(3), hnp.arrays(np.float64, (3, 12), elements=finite_offsets))
def test_class_specific_offsets_decode_each_class_like_a_single_one(src, loc):
    out = loc2bbox(src, loc)
    assert out.shape == (3, 12)
    for k in range(3):
        np.testing.assert_array_equal(
            out[:, 4 * k : 4 * k + 4], loc2bbox(src, loc[:, 4 * k : 4 * k + 4])
        )


def test_clip_value_is_log_1000_over_16():
    assert LOC_CLIP == pytest.approx(math.log(1000 / 16))
    big = loc2bbox([[0, 0, 16, 16]], [[0, 0, 50, 50]])
    np.testing.assert_allclose(big[0, 2] - big[0, 0], 1000)
    with pytest.raises(ValueError, match="overflows"):
        loc2bbox([[0, 0, 16, 16]], [[0, 0, 1000, 0]], loc_clip=None)


# --------------------------------------------------------------------------- dtypes and edges
@pytest.mark.parametrize(
    ("d1", "d2", "out"), [("f4", "f4", "f4"), ("f4", "f8", "f8"), ("i8", "f4", "f8")]
)
def test_dtype_policy(d1, d2, out):
    a = np.array([[0, 0, 10, 10]], d1)
    b = np.array([[1, 1, 12, 9]], d2)
    assert bbox2loc(a, b).dtype == np.dtype(out)
    assert loc2bbox(a, bbox2loc(a, b).astype(d2)).dtype == np.dtype(out)


def test_empty_inputs_give_empty_outputs():
    assert bbox2loc(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)
    assert loc2bbox(np.zeros((0, 4), np.float32), np.zeros((0, 8), np.float32)).shape == (0, 8)


def test_inputs_are_never_modified_nor_aliased():
    src = np.array([[0.0, 0.0, 10.0, 10.0]])
    loc = np.array([[0.0, 0.0, 100.0, 1.0]])
    s0, l0 = src.copy(), loc.copy()
    out = loc2bbox(src, loc, std=LOC_NORMALIZE_STD)
    np.testing.assert_array_equal(src, s0)
    np.testing.assert_array_equal(loc, l0)
    assert not np.shares_memory(out, loc)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bbox2loc([[0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 2, 2]]), "same number of boxes R"),
        (lambda: bbox2loc([[0, 0, 0, 1]], [[0, 0, 1, 1]]), "src_bbox must have positive"),
        (lambda: bbox2loc([[0, 0, 1, 1]], [[0, 0, 1, 0]]), "dst_bbox must have positive"),
        (lambda: bbox2loc([[0, 0, 1, 1]], [[0, 0, 1, np.nan]]), "dst_bbox must be finite"),
        (lambda: bbox2loc([[1, 0, 0, 1]], [[0, 0, 1, 1]]), "src_bbox has an inverted box"),
        (
            lambda: bbox2loc([[0, 0, 1, 1]], [[0, 0, 1, 1]], std=(0.1, 0.1, 0, 0.2)),
            "std must be pos",
        ),
        (
            lambda: bbox2loc([[0, 0, 1, 1]], [[0, 0, 1, 1]], mean=(0, 0)),
            r"mean must have shape \(4,\)",
        ),
        (
            lambda: loc2bbox([[0, 0, 1, 1]], [[0, 0, 1]]),
            r"loc must have shape \(R, 4\) or \(R, 4K\)",
        ),
        (lambda: loc2bbox([[0, 0, 1, 1]], np.zeros((2, 4))), "one row per src_bbox row"),
        (lambda: loc2bbox([[0, 0, 1, 1]], [[0, 0, np.inf, 0]]), "loc must be finite"),
        (lambda: loc2bbox([[0, 0, 1, 1]], [[0, 0, 0, 0]], loc_clip=np.nan), "loc_clip must be"),
        (lambda: loc2bbox([[0, 0, 0, 0]], [[0, 0, 0, 0]]), "positive, finite width"),
    ],
)
def test_invalid_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(anything_boxes(), anything_boxes())
def test_fuzz_encoding_returns_finite_or_raises(a, b):
    a0, b0 = a.copy(), b.copy()
    for fn in (bbox2loc, loc2bbox):
        try:
            out = fn(a, b)
        except (ValueError, TypeError):
            continue
        assert np.isfinite(out).all()
        assert out.ndim == 2 and out.shape[0] == len(a) and out.shape[1] % 4 == 0
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
