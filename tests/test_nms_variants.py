"""Tests of bboxcore.nms_variants: Soft-NMS against the deck's pseudo-code, and heatmap peaks.

Soft-NMS (Detection – 3 stages, §A*; Bodla et al. 2017): select the highest score M, move
it to D, multiply every remaining score by f(IoU(M, b_i)), repeat. Heatmap
peaks (Detection – 3 stages, §M): CenterNet keeps the cells equal to their 3x3 max-pool.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.iou import box_iou
from bboxcore.nms import nms
from bboxcore.nms_variants import heatmap_peaks, soft_nms
from tests.strategies import anything_boxes, nms_problems

TINY_SIGMA = float(np.nextafter(0.0, 1.0))  # sigma -> 0: any IoU^2 / sigma overflows to inf


def soft_nms_loop(boxes, scores, nt, sigma, score_thresh, method):
    """The deck's pseudo-code, one box at a time, in Python floats and lists."""
    S = {i: float(v) for i, v in enumerate(scores)}  # float64 scores in these tests
    B = [i for i in S if S[i] > score_thresh]
    D, D_scores = [], []
    while B:
        m = max(B, key=lambda i: (S[i], -i))  # m <- argmax S (ties: lower index)
        D.append(m)  # D <- D u M
        D_scores.append(S[m])
        B.remove(m)  # B <- B - M
        for i in list(B):
            iou_in_dtype = box_iou(boxes[m : m + 1], boxes[i : i + 1])[0, 0]
            above = iou_in_dtype > np.asarray(nt, iou_in_dtype.dtype)  # as bboxcore.nms compares
            iou = float(iou_in_dtype)
            if method == "linear":
                f = 1.0 - iou if above else 1.0
            elif method == "gaussian":
                f = float(np.exp(np.array([-(iou * iou) / sigma]))[0])  # numpy's exp, not libm's
            else:
                f = 0.0 if above else 1.0
            S[i] *= f  # s_i <- s_i f(iou(M, b_i))
            if S[i] <= score_thresh:
                B.remove(i)
    return np.array(D, dtype=np.int64), np.array(D_scores)


soft_params = st.tuples(
    st.sampled_from(["linear", "gaussian", "hard"]),
    st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    st.sampled_from([0.05, 0.5, 2.0]),
    st.sampled_from([0.0, 0.001, 0.3]),
)


# --------------------------------------------------------------------------- Soft-NMS, numbers
def test_soft_nms_linear_hand_computed():
    # Detection – 3 stages, §A*: f = 1 - IoU above N_t. IoU(0, 1) = 50 / 150, IoU(0, 2) = 0, IoU(1,
    # 2) = 0.
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [30, 30, 40, 40]], float)
    keep, s = soft_nms(b, [0.9, 0.8, 0.7], iou_thresh=0.3, method="linear")
    np.testing.assert_array_equal(keep, [0, 2, 1])
    np.testing.assert_allclose(s, [0.9, 0.7, 0.8 * (1 - 50 / 150)], rtol=1e-15)
    keep, s = soft_nms(b, [0.9, 0.8, 0.7], iou_thresh=0.4, method="linear")  # 1/3 <= N_t
    np.testing.assert_array_equal(keep, [0, 1, 2])
    np.testing.assert_allclose(s, [0.9, 0.8, 0.7], rtol=0)


def test_soft_nms_gaussian_hand_computed():
    # f = exp(-IoU^2 / sigma) for every remaining box; the chain decays twice.
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10]], float)
    keep, s = soft_nms(b, [0.9, 0.85, 0.8], sigma=0.5, method="gaussian")
    third = math.exp(-((1 / 3) ** 2) / 0.5)
    s1 = 0.85 * third  # IoU(0, 1) = 1/3
    s2 = 0.8 * 1.0  # IoU(0, 2) = 0 (touching)
    assert s2 > s1  # box 2 is selected next, then decays box 1 again by IoU(2, 1) = 1/3
    np.testing.assert_array_equal(keep, [0, 2, 1])
    np.testing.assert_allclose(s, [0.9, s2, s1 * third], rtol=1e-12)


def test_soft_nms_drops_a_box_at_or_below_score_thresh():
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    keep, s = soft_nms(b, [0.9, 0.8, 0.001], method="linear")  # IoU 1 sends box 1 to 0
    np.testing.assert_array_equal(keep, [0])  # and 0.001 is not above score_thresh 0.001
    np.testing.assert_array_equal(s, [0.9])


def test_soft_nms_linear_with_nt_zero_decays_every_overlap():
    # With N_t = 0 every box that overlaps M at all is rescored by 1 - IoU.
    b = np.array([[0, 0, 10, 10], [9, 0, 19, 10], [10, 0, 20, 10]], float)
    keep, s = soft_nms(b, [0.9, 0.8, 0.7], iou_thresh=0.0, method="linear")
    iou01 = 10 / 190  # a 1-px sliver: any overlap counts
    np.testing.assert_array_equal(keep, [0, 1, 2])
    np.testing.assert_allclose(s, [0.9, 0.8 * (1 - iou01), 0.7 * (1 - 90 / 110)], rtol=1e-12)


def test_soft_nms_keeps_input_dtype_of_scores_and_empty_input():
    keep, s = soft_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert keep.dtype == np.int64 and keep.shape == (0,)
    assert s.dtype == np.float32 and s.shape == (0,)
    _, s = soft_nms([[0, 0, 1, 1]], np.array([0.5], np.float32))
    assert s.dtype == np.float32


# --------------------------------------------------------------------------- Soft-NMS, properties
@given(nms_problems(max_size=20), soft_params)
def test_soft_nms_matches_seed_pseudocode(problem, params):
    b, s, _ = problem
    method, nt, sigma, thresh = params
    keep, decayed = soft_nms(b, s, nt, sigma, thresh, method)
    ref_keep, ref_scores = soft_nms_loop(b, s, nt, sigma, thresh, method)
    np.testing.assert_array_equal(keep, ref_keep)
    np.testing.assert_array_equal(decayed, ref_scores)


@given(nms_problems(), st.sampled_from([0.0, 0.001, 0.5]))
def test_soft_nms_hard_equals_nms(problem, thresh):
    b, s, t = problem
    keep, decayed = soft_nms(b, s, iou_thresh=t, score_thresh=thresh, method="hard")
    np.testing.assert_array_equal(keep, nms(b, s, t, score_thresh=thresh))
    np.testing.assert_array_equal(decayed, s[keep])


@given(nms_problems(), soft_params)
def test_soft_nms_scores_never_increase(problem, params):
    b, s, _ = problem
    method, nt, sigma, thresh = params
    keep, decayed = soft_nms(b, s, nt, sigma, thresh, method)
    assert len(np.unique(keep)) == len(keep)
    assert (decayed <= s[keep]).all() and (decayed > thresh).all()
    assert (np.diff(decayed) <= 0).all()  # each selection is the max of non-increasing scores


@given(nms_problems())
def test_soft_nms_gaussian_sigma_to_zero_is_hard_nms_at_zero(problem):
    # sigma -> 0: exp(-IoU^2 / sigma) -> 0 for any IoU > 0, 1 for IoU = 0.
    b, s, _ = problem
    keep, decayed = soft_nms(b, s, sigma=TINY_SIGMA, method="gaussian")
    np.testing.assert_array_equal(keep, nms(b, s, 0.0, score_thresh=0.001))
    np.testing.assert_array_equal(decayed, s[keep])


@given(nms_problems())
def test_soft_nms_gaussian_sigma_to_infinity_changes_nothing(problem):
    b, s, _ = problem
    keep, decayed = soft_nms(b, s, sigma=1e300, score_thresh=-1.0, method="gaussian")
    np.testing.assert_array_equal(keep, np.lexsort((np.arange(len(s)), -s)))
    np.testing.assert_array_equal(decayed, s[keep])


@given(nms_problems(), st.sampled_from([0.0, 0.001]))
def test_soft_nms_linear_nt_zero_spares_boxes_that_overlap_no_selected_box(problem, thresh):
    b, s, _ = problem
    keep, decayed = soft_nms(b, s, iou_thresh=0.0, score_thresh=thresh, method="linear")
    for pos, i in enumerate(keep):
        if not (box_iou(b[i : i + 1], b[keep[:pos]]) > 0).any():
            assert decayed[pos] == s[i]


# --------------------------------------------------------------------------- Soft-NMS, errors
def test_soft_nms_rejects_bad_input():
    b = np.array([[0, 0, 1, 1], [0, 0, 2, 2]])
    with pytest.raises(ValueError, match="scores must be finite and >= 0 for soft_nms; got -0.5"):
        soft_nms(b, [0.5, -0.5])
    with pytest.raises(ValueError, match="scores must be finite and >= 0 for soft_nms; got inf"):
        soft_nms(b, [np.inf, 0.5])
    with pytest.raises(ValueError, match="scores must not be NaN"):
        soft_nms(b, [np.nan, 0.5])
    for sigma in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
            soft_nms(b, [0.5, 0.4], sigma=sigma)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0; got nan"):
        soft_nms(b, [0.5, 0.4], sigma=np.nan)
    with pytest.raises(ValueError, match="method must be one of"):
        soft_nms(b, [0.5, 0.4], method="soft")
    with pytest.raises(ValueError, match="iou_thresh must be in"):
        soft_nms(b, [0.5, 0.4], iou_thresh=1.5)
    with pytest.raises(ValueError, match="score_thresh must not be NaN"):
        soft_nms(b, [0.5, 0.4], score_thresh=np.nan)
    with pytest.raises(ValueError, match=r"boxes must have shape \(R, 4\)"):
        soft_nms([[0, 0, 1]], [0.5])


def test_soft_nms_does_not_modify_its_inputs():
    b = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], float)
    s = np.array([0.9, 0.8])
    soft_nms(b, s, method="gaussian")
    np.testing.assert_array_equal(s, [0.9, 0.8])
    np.testing.assert_array_equal(b, [[0, 0, 10, 10], [1, 1, 11, 11]])


@given(
    anything_boxes(),
    st.lists(st.floats(allow_nan=True), max_size=7),
    st.sampled_from(["linear", "gaussian", "hard"]),
)
def test_soft_nms_fuzz_returns_documented_result_or_raises(b, s, method):
    try:
        keep, decayed = soft_nms(b, s, method=method)
    except (ValueError, TypeError):
        return
    assert keep.dtype == np.int64 and keep.shape == decayed.shape
    assert (np.asarray(s)[keep] >= decayed).all() and (decayed > 0.001).all()


# --------------------------------------------------------------------------- heatmap peaks
def peaks_loop(heat, k, kernel):
    """Every cell compared with its in-image neighbours, then sorted by (-score, c, y, x)."""
    C, H, W = heat.shape
    r = kernel // 2
    found = []
    for c in range(C):
        for y in range(H):
            for x in range(W):
                hood = heat[c, max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
                if heat[c, y, x] == hood.max():
                    found.append((-float(heat[c, y, x]), c, y, x))
    found.sort()
    top = found[:k]
    return (
        np.array([-f[0] for f in top]),
        *(np.array([f[i] for f in top], dtype=np.int64) for i in (1, 2, 3)),
    )


def test_heatmap_peaks_centernet_example():
    # Detection – 3 stages, §M: "+3x3 max pool -> remove NMS": two objects of class 1, one of class
    # 0.
    heat = np.full((2, 5, 6), 0.01)
    heat[1, 1, 1], heat[1, 1, 2], heat[1, 3, 4], heat[0, 4, 0] = 0.9, 0.6, 0.8, 0.3
    scores, cls, ys, xs = heatmap_peaks(heat, k=3)
    np.testing.assert_array_equal(scores, [0.9, 0.8, 0.3])  # (1, 1, 2) = 0.6 is no peak
    np.testing.assert_array_equal(cls, [1, 1, 0])
    np.testing.assert_array_equal(ys, [1, 3, 4])
    np.testing.assert_array_equal(xs, [1, 4, 0])


def test_heatmap_peaks_plateau_and_ties():
    heat = np.zeros((1, 3, 6))
    heat[0, 1, 1] = heat[0, 1, 2] = 0.5  # a plateau of two equal neighbours: both are peaks
    scores, cls, ys, xs = heatmap_peaks(heat, k=3)
    np.testing.assert_array_equal(scores, [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(ys, [1, 1, 0])  # ties by (c, y, x): the first zero peak,
    np.testing.assert_array_equal(xs, [1, 2, 4])  # (0, 4), is the first cell not next to 0.5
    assert cls.dtype == ys.dtype == xs.dtype == np.int64


def test_heatmap_peaks_returns_fewer_than_k_when_there_are_fewer_peaks():
    heat = np.arange(12, dtype=np.float32).reshape(1, 3, 4)  # one peak: the last cell
    scores, cls, ys, xs = heatmap_peaks(heat, k=5)
    np.testing.assert_array_equal(scores, [11])
    assert scores.dtype == np.float32
    assert heatmap_peaks(heat, k=0)[0].shape == (0,)
    assert heatmap_peaks(np.zeros((2, 0, 3)), k=4)[1].shape == (0,)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=3, max_dims=3, max_side=6),
        elements=st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(-2, 2)),
    ),
    st.integers(0, 30),
    st.sampled_from([1, 3, 5]),
)
def test_heatmap_peaks_matches_loop_reference(heat, k, kernel):
    got = heatmap_peaks(heat, k, kernel)
    for a, b in zip(got, peaks_loop(heat, k, kernel)):
        np.testing.assert_array_equal(a, b)


def test_heatmap_peaks_rejects_bad_input():
    with pytest.raises(ValueError, match=r"heatmap must have shape \(C, H, W\); got \(3, 4\)"):
        heatmap_peaks(np.zeros((3, 4)), k=1)
    with pytest.raises(ValueError, match="heatmap must be finite"):
        heatmap_peaks(np.full((1, 2, 2), np.nan), k=1)
    with pytest.raises(TypeError, match="heatmap must be a real numeric array"):
        heatmap_peaks(np.full((1, 2, 2), "a"), k=1)
    with pytest.raises(ValueError, match="k must be a non-negative integer; got -1"):
        heatmap_peaks(np.zeros((1, 2, 2)), k=-1)
    with pytest.raises(TypeError, match="k must be a non-negative integer; got float 1.5"):
        heatmap_peaks(np.zeros((1, 2, 2)), k=1.5)
    for kernel in (0, 2, -3):
        with pytest.raises(ValueError, match="kernel must be a positive (odd )?integer"):
            heatmap_peaks(np.zeros((1, 2, 2)), k=1, kernel=kernel)


@given(
    hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.int64]),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
        elements=st.integers(-5, 5),
    ),
    st.integers(-2, 5),
    st.integers(-1, 4),
)
def test_heatmap_peaks_fuzz_returns_documented_result_or_raises(heat, k, kernel):
    try:
        scores, cls, ys, xs = heatmap_peaks(heat, k, kernel)
    except (ValueError, TypeError):
        return
    assert scores.shape == cls.shape == ys.shape == xs.shape and len(scores) <= k
    np.testing.assert_array_equal(scores, heat[cls, ys, xs])
