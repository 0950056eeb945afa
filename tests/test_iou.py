"""Tests of bboxcore.iou: IoU, GIoU, DIoU, CIoU against their equations and a loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bboxcore.iou as iou_mod
from bboxcore.iou import (
    aligned_iou_unchecked,
    box_iou,
    box_iou_aligned,
    box_iou_reference,
    complete_box_iou,
    complete_box_iou_aligned,
    distance_box_iou,
    distance_box_iou_aligned,
    generalized_box_iou,
    generalized_box_iou_aligned,
)
from tests.strategies import anything_boxes, box_pair_with_iou, box_pairs, boxes

PAIRWISE = [box_iou, generalized_box_iou, distance_box_iou, complete_box_iou]
ALIGNED = [
    box_iou_aligned,
    generalized_box_iou_aligned,
    distance_box_iou_aligned,
    complete_box_iou_aligned,
]


def iou_loop(a, b):
    """The obviously correct reference: one pair at a time, in Python floats."""
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(np.asarray(a, float).tolist()):
        for j, q in enumerate(np.asarray(b, float).tolist()):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def giou_loop(p, q):
    iou = iou_loop([p], [q])[0, 0]
    c = (max(p[2], q[2]) - min(p[0], q[0])) * (max(p[3], q[3]) - min(p[1], q[1]))
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1])
    union -= iou_loop([p], [q])[0, 0] * 0  # union recomputed below for clarity
    iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    union -= iw * ih
    return iou - (c - union) / c if c > 0 else iou


# --------------------------------------------------------------------------- hand arithmetic
def test_iou_by_hand():
    # chainercv style: expected values written as their arithmetic
    a = [[0, 0, 8, 8], [0, 0, 4, 4]]
    b = [[3, 3, 10, 10], [4, 4, 8, 8]]
    expected = [
        [(5 * 5) / (8 * 8 + 7 * 7 - 5 * 5), (4 * 4) / (8 * 8)],
        [(1 * 1) / (4 * 4 + 7 * 7 - 1 * 1), 0.0],
    ]
    np.testing.assert_allclose(box_iou(a, b), expected, rtol=1e-15)


def test_giou_diou_ciou_by_hand():
    a, b = [[0, 0, 2, 2]], [[3, 0, 5, 2]]  # disjoint: IoU 0, C = 5 x 2, U = 8
    np.testing.assert_allclose(generalized_box_iou(a, b), [[0 - (10 - 8) / 10]])
    # centres (1, 1) and (4, 1): rho^2 = 9, c^2 = 5^2 + 2^2
    np.testing.assert_allclose(distance_box_iou(a, b), [[-9 / 29]])
    # same aspect ratio: v = 0, so CIoU = DIoU
    np.testing.assert_allclose(complete_box_iou(a, b), [[-9 / 29]])
    # aspect term: (0,0,2,2) vs (0,0,2,1): IoU 1/2, rho^2/c^2 = 0.25/8
    v = 4 / math.pi**2 * (math.atan(2) - math.atan(1)) ** 2
    alpha = v / (0.5 + v)
    np.testing.assert_allclose(
        complete_box_iou([[0, 0, 2, 2]], [[0, 0, 2, 1]]), [[0.5 - 0.25 / 8 - alpha * v]]
    )


# --------------------------------------------------------------------------- properties
@given(boxes(max_size=8), boxes(max_size=8))
def test_iou_symmetric_in_unit_interval(a, b):
    m = box_iou(a, b)
    assert m.shape == (len(a), len(b))
    assert ((m >= 0) & (m <= 1)).all()
    np.testing.assert_array_equal(m, box_iou(b, a).T)


@given(boxes(max_size=10, allow_degenerate=False))
def test_iou_of_a_box_with_itself_is_one(a):
    np.testing.assert_array_equal(box_iou_aligned(a, a), np.ones(len(a)))


@given(boxes(max_size=10))
def test_zero_area_boxes_have_iou_zero_never_nan(a):
    degenerate = a.copy()
    degenerate[:, 2] = degenerate[:, 0]
    m = box_iou(degenerate, np.concatenate([a, degenerate]))
    assert not np.isnan(m).any()
    assert (m == 0).all()


@given(box_pairs(max_size=8), st.floats(-500, 500), st.floats(-500, 500), st.floats(0.1, 10))
def test_iou_invariant_to_translating_and_scaling_both(pair, dx, dy, s):
    a, b = pair
    t = np.array([dx, dy, dx, dy])
    np.testing.assert_allclose(box_iou(a * s + t, b * s + t), box_iou(a, b), atol=1e-6)


@given(box_pairs(max_size=8))
def test_iou_aligned_equals_diagonal_of_pairwise(pair):
    a, b = pair
    for pw, al in zip(PAIRWISE, ALIGNED, strict=True):
        np.testing.assert_allclose(al(a, b), np.diagonal(pw(a, b)), rtol=1e-12, atol=1e-12)


@given(boxes(max_size=30), boxes(max_size=30))
def test_iou_equals_the_loop_reference(a, b):
    np.testing.assert_allclose(box_iou(a, b), iou_loop(a, b), rtol=1e-12, atol=1e-15)


@given(
    st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dt: st.tuples(boxes(max_size=30, dtype=dt), boxes(max_size=30, dtype=dt))
    ),
    st.integers(1, 64),
)
def test_fast_iou_equals_the_broadcasting_reference_bit_for_bit(pair, budget):
    """The blocked kernel of box_iou performs the reference formula's operations, in order."""
    a, b = pair
    expected = box_iou_reference(a, b)
    assert expected.dtype == a.dtype
    old = iou_mod.IOU_BLOCK_BUDGET
    iou_mod.IOU_BLOCK_BUDGET = budget  # many block boundaries on small inputs
    try:
        np.testing.assert_array_equal(box_iou(a, b), expected)
    finally:
        iou_mod.IOU_BLOCK_BUDGET = old
    np.testing.assert_array_equal(
        box_iou_aligned(a[: len(b)], b[: len(a)]), np.diagonal(expected).copy()
    )


@given(boxes(max_size=30), boxes(max_size=30))
def test_broadcasting_reference_equals_the_loop_reference(a, b):
    np.testing.assert_allclose(box_iou_reference(a, b), iou_loop(a, b), rtol=1e-12, atol=1e-15)


def test_broadcasting_reference_by_hand_and_validation():
    a = [[0, 0, 4, 2]]
    b = [[2, 0, 6, 2], [0, 0, 4, 2], [4, 0, 5, 2]]  # half overlap, identical, touching
    np.testing.assert_array_equal(box_iou_reference(a, b), [[4 / (8 + 8 - 4), 1.0, 0.0]])
    assert box_iou_reference(np.zeros((0, 4)), b).shape == (0, 3)
    with pytest.raises(ValueError, match=r"boxes2 must have shape \(R, 4\)"):
        box_iou_reference(a, [[0, 0, 1]])
    # the engine on validated arrays broadcasts like the formula
    aa, bb = np.array(a, float), np.array(b, float)
    np.testing.assert_array_equal(aligned_iou_unchecked(aa, bb), box_iou_reference(a, b)[0])


@given(boxes(max_size=40), boxes(max_size=40), st.integers(1, 64))
def test_blocked_iou_equals_unblocked(a, b, budget):
    whole = box_iou(a, b)
    old = iou_mod.IOU_BLOCK_BUDGET
    iou_mod.IOU_BLOCK_BUDGET = budget
    try:
        np.testing.assert_array_equal(box_iou(a, b), whole)
        np.testing.assert_allclose(generalized_box_iou(a, b), generalized_box_iou(a[:, :], b))
    finally:
        iou_mod.IOU_BLOCK_BUDGET = old


@given(box_pair_with_iou())
def test_constructed_pair_has_the_requested_iou(pair):
    a, b, iou = pair
    np.testing.assert_allclose(box_iou(a, b), [[iou]], rtol=1e-9)


@given(box_pairs(max_size=8))
def test_giou_in_minus_one_one_and_at_most_iou(pair):
    a, b = pair
    g, i = generalized_box_iou(a, b), box_iou(a, b)
    assert ((g >= -1 - 1e-12) & (g <= 1 + 1e-12)).all()
    assert (g <= i + 1e-12).all()
    ref = [[giou_loop(p, q) for q in b.tolist()] for p in a.tolist()]
    np.testing.assert_allclose(g, np.array(ref).reshape(g.shape), atol=1e-9)


@given(box_pairs(max_size=8))
def test_diou_ciou_bounds_and_order(pair):
    a, b = pair
    d, c, i = distance_box_iou(a, b), complete_box_iou(a, b), box_iou(a, b)
    assert (d <= i + 1e-12).all() and (d > -1 - 1e-12).all()
    assert (c <= d + 1e-12).all() and (c >= -1.5 - 1e-12).all()


@given(st.floats(1, 100), st.floats(1, 100), st.floats(0.05, 0.95), st.floats(-500, 500))
def test_diou_ciou_equal_iou_for_concentric_equal_aspect_boxes(w, h, s, c):
    outer = np.array([[c - w, c - h, c + w, c + h]])
    inner = np.array([[c - s * w, c - s * h, c + s * w, c + s * h]])
    i = box_iou(outer, inner)
    np.testing.assert_allclose(distance_box_iou(outer, inner), i, atol=1e-12)
    np.testing.assert_allclose(complete_box_iou(outer, inner), i, atol=1e-9)


@pytest.mark.parametrize("fn", PAIRWISE + ALIGNED)
def test_float32_in_float32_out_and_mixed_gives_float64(fn):
    a = np.array([[0, 0, 2, 2]], np.float32)
    assert fn(a, a).dtype == np.float32
    assert fn(a, a.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("fn", PAIRWISE)
def test_pairwise_empty_inputs(fn):
    assert fn(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert fn(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)


@pytest.mark.parametrize("fn", ALIGNED)
def test_aligned_validation(fn):
    assert fn(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)
    with pytest.raises(ValueError, match="same length R"):
        fn(np.zeros((1, 4)), np.zeros((2, 4)))


@pytest.mark.parametrize("fn", PAIRWISE + ALIGNED)
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((1, 3)), r"boxes1 must have shape \(R, 4\)"),
        ([[0, 0, np.nan, 1]], "boxes1 must be finite"),
        ([[2, 0, 1, 1]], "boxes1 has an inverted box"),
        (np.array([[-3e38, 0, 3e38, 3e38]], np.float32), "boxes1 row 0 is too large"),
    ],
)
def test_invalid_boxes_raise(fn, bad, match):
    with pytest.raises(ValueError, match=match):
        fn(bad, np.asarray(bad, np.float32) if "large" in match else [[0, 0, 1, 1]])


@given(anything_boxes(), anything_boxes())
def test_fuzz_iou_family_returns_documented_result_or_raises(a, b):
    a0, b0 = a.copy(), b.copy()
    for fn in PAIRWISE + ALIGNED:
        try:
            out = fn(a, b)
        except (ValueError, TypeError):
            continue
        assert not np.isnan(out).any()
        assert (out <= 1).all() and (out >= -1.5).all()
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
