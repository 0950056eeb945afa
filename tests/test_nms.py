"""Tests of bboxcore.nms: greedy NMS against its definition, its reference, and a per-class loop.

The definition (Detection – 3 stages, §A3.b): sort by score; take the top box; remove the
boxes whose IoU with it is above the threshold; repeat. bboxcore makes it
exact: "above" is strictly greater, equal scores rank the lower index first,
and the IoU is box_iou's arithmetic in the boxes' dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bboxcore._nms_fast as nms_fast
from bboxcore.iou import aligned_iou_unchecked, box_iou, pairwise_iou_unchecked
from bboxcore.nms import batched_nms, nms, nms_reference
from bboxcore.tools.synthetic import clustered_boxes as bench_clustered_boxes
from bboxcore.tools.synthetic import random_boxes
from tests.strategies import anything_boxes, box_pair_with_iou, boxes, nms_problems


def rank_of(scores, keep):
    """Position of each index of ``keep`` in the ranking (decreasing score, then index)."""
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, float)))
    rank = np.empty(len(scores), np.int64)
    rank[order] = np.arange(len(scores))
    return rank[keep]


def above(iou, t):
    """``iou > t`` compared in the IoU's dtype, as bboxcore.nms compares."""
    return iou > np.asarray(t, dtype=iou.dtype)


def per_class_loop(boxes_, scores, labels, t):
    """The obviously correct class-aware NMS: one NMS per label, merged by score then index."""
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.extend(idx[nms_reference(boxes_[idx], scores[idx], t)].tolist())
    keep = np.array(keep, dtype=np.int64)
    return keep[np.lexsort((keep, -np.asarray(scores, float)[keep]))]


# --------------------------------------------------------------------------- worked numbers
def test_nms_slide_example():
    # Detection – 3 stages, §A3.b: sort by score, take the top one, remove those with higher IoU,
    # repeat.
    b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [21, 20, 31, 30]], float)
    s = np.array([0.9, 0.8, 0.7, 0.95])
    iou = (9 * 10) / (100 + 100 - 9 * 10)  # = 9/11 for both overlapping pairs
    assert box_iou(b[:1], b[1:2])[0, 0] == pytest.approx(iou)
    np.testing.assert_array_equal(nms(b, s, 0.8), [3, 0])  # 9/11 > 0.8: both pairs collapse
    np.testing.assert_array_equal(nms(b, s, 0.85), [3, 0, 1, 2])  # 9/11 <= 0.85: all stay
    np.testing.assert_array_equal(nms(b, s, iou), [3, 0, 1, 2])  # IoU == t is not "above"


def test_nms_empty_input_gives_empty_int64():
    for dtype in (np.float32, np.float64):
        keep = nms(np.zeros((0, 4), dtype), np.zeros(0), 0.5)
        assert keep.shape == (0,) and keep.dtype == np.int64
    assert nms_reference(np.zeros((0, 4)), [], 0.5).dtype == np.int64
    assert batched_nms(np.zeros((0, 4)), [], np.zeros(0, int), 0.5).shape == (0,)


def test_nms_with_max_output_of_no_box_gives_empty_int64():
    # max_output only caps the kept boxes: with none to keep (no box, or none above
    # score_thresh) the result is still empty
    b, s = np.array([[0.0, 0, 4, 4], [1, 0, 5, 4]]), [0.3, 0.2]
    for bb, scores, kw in (
        (np.zeros((0, 4)), np.zeros(0), {}),
        (b, s, {"score_thresh": 0.5}),
    ):
        keep = nms(bb, scores, 0.5, max_output=3, **kw)
        assert keep.shape == (0,) and keep.dtype == np.int64
        labels = np.zeros(len(scores), int)
        assert batched_nms(bb, scores, labels, 0.5, max_output=3, **kw).shape == (0,)


def test_nms_zero_area_boxes_never_suppress_nor_are_suppressed():
    b = np.array([[5, 5, 5, 9], [5, 5, 5, 9], [0, 0, 10, 10], [2, 2, 2, 2]], np.float32)
    np.testing.assert_array_equal(nms(b, [4, 3, 2, 1], 0.0), [0, 1, 2, 3])


def test_nms_ties_rank_lower_index_first():
    b = np.tile([[0.0, 0.0, 4.0, 4.0]], (4, 1))
    np.testing.assert_array_equal(nms(b, [0.5, 0.7, 0.7, 0.7], 0.5), [1])
    np.testing.assert_array_equal(nms(b, [-0.0, 0.0, -0.0, 0.0], 1.0), [0, 1, 2, 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w_inner", [1, 3, 7])
def test_nms_iou_exactly_at_thresh_is_kept_in_every_dtype(dtype, w_inner):
    # IoU = w_inner / 10 exactly (intersection and union are exact); the threshold is compared
    # in the boxes' dtype, so float32(0.3) > 0.3 does not make 0.3 "above" 0.3.
    b = np.array([[0, 0, 10, 1], [0, 0, w_inner, 1]], dtype)
    t = w_inner / 10
    np.testing.assert_array_equal(nms(b, [2, 1], t), [0, 1])
    np.testing.assert_array_equal(nms_reference(b, [2, 1], t), [0, 1])
    below = float(np.nextafter(dtype(t), dtype(0)))  # one step below, in the boxes' dtype
    np.testing.assert_array_equal(nms(b, [2, 1], below), [0])
    np.testing.assert_array_equal(nms_reference(b, [2, 1], below), [0])


def test_nms_score_thresh_and_max_output():
    rng = np.random.default_rng(0)
    b, s = random_boxes(rng, 300, side=(20, 200)), rng.random(300)
    full = nms(b, s, 0.5)
    np.testing.assert_array_equal(nms(b, s, 0.5, score_thresh=0.4), full[s[full] > 0.4])
    np.testing.assert_array_equal(nms(b, s, 0.5, max_output=7), full[:7])
    assert nms(b, s, 0.5, max_output=0).shape == (0,)
    np.testing.assert_array_equal(nms(b, s, 0.5, max_output=10**6), full)
    # Compared in the scores' dtype, as `scores > 0.1` is in NumPy: a float32 0.1 is not above.
    one = np.array([[0, 0, 1, 1]], np.float32), np.array([0.1], np.float32)
    assert nms(*one, 0.5, score_thresh=0.1).size == 0
    np.testing.assert_array_equal(nms(*one, 0.5, score_thresh=0.0999999), [0])


def test_nms_does_not_modify_its_inputs():
    rng = np.random.default_rng(1)
    b, s = random_boxes(rng, 50), rng.random(50)
    b0, s0 = b.copy(), s.copy()
    nms(b, s, 0.3)
    batched_nms(b, s, np.arange(50) % 3, 0.3)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(s, s0)


def test_iou_paths_are_bit_identical():
    # The fast path's aligned IoU and the reference's pairwise IoU must be the same arithmetic.
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        a, b = random_boxes(rng, 500, dtype=dtype), random_boxes(rng, 500, dtype=dtype)
        pairwise = pairwise_iou_unchecked(a, b)
        i, j = rng.integers(0, 500, 2000), rng.integers(0, 500, 2000)
        np.testing.assert_array_equal(aligned_iou_unchecked(a[i], b[j]), pairwise[i, j])


# --------------------------------------------------------------------------- properties
@given(nms_problems())
def test_nms_keep_is_a_subset_of_the_input(problem):
    b, s, t = problem
    keep = nms(b, s, t)
    assert keep.dtype == np.int64 and keep.ndim == 1
    assert len(np.unique(keep)) == len(keep)
    assert ((keep >= 0) & (keep < len(b))).all()


@given(nms_problems())
def test_nms_keep_sorted_by_decreasing_score(problem):
    b, s, t = problem
    keep = nms(b, s, t)
    assert (np.diff(rank_of(s, keep)) > 0).all()  # decreasing score, ties by increasing index


@given(nms_problems())
def test_nms_keeps_no_pair_above_thresh(problem):
    b, s, t = problem
    keep = nms(b, s, t)
    iou = box_iou(b[keep], b[keep])
    np.fill_diagonal(iou, 0)
    assert not above(iou, t).any()


@given(nms_problems())
def test_nms_every_dropped_box_overlaps_a_higher_ranked_kept_box(problem):
    b, s, t = problem
    keep = nms(b, s, t)
    dropped = np.setdiff1d(np.arange(len(b)), keep)
    iou = box_iou(b[dropped], b[keep])  # (D, K)
    higher = rank_of(s, keep)[None, :] < rank_of(s, dropped)[:, None]  # (D, K)
    assert (above(iou, t) & higher).any(axis=1).all()


@given(nms_problems())
def test_nms_is_idempotent(problem):
    b, s, t = problem
    keep = nms(b, s, t)
    np.testing.assert_array_equal(nms(b[keep], s[keep], t), np.arange(len(keep)))


@given(nms_problems())
def test_nms_thresh_one_keeps_every_box(problem):
    b, s, _ = problem
    np.testing.assert_array_equal(nms(b, s, 1.0), np.lexsort((np.arange(len(s)), -s)))


@given(nms_problems())
def test_nms_thresh_zero_keeps_pairwise_non_overlapping_boxes(problem):
    b, s, _ = problem
    keep = nms(b, s, 0.0)
    iou = box_iou(b[keep], b[keep])
    np.fill_diagonal(iou, 0)
    assert (iou == 0).all()


@given(nms_problems(), st.randoms(use_true_random=False))
def test_nms_permutation_of_input_permutes_indices(problem, random):
    b, _, t = problem
    s = np.arange(len(b), dtype=float)[::-1] / max(1, len(b))  # distinct scores
    perm = np.array(random.sample(range(len(b)), len(b)), dtype=np.int64)
    keep_perm = nms(b[perm], s[perm], t)
    np.testing.assert_array_equal(perm[keep_perm], nms(b, s, t))


@given(nms_problems(max_size=40), st.sampled_from([1, 2, 3, 8, 128]))
def test_nms_fast_path_equals_reference(problem, block):
    b, s, t = problem
    saved = nms_fast.NMS_BLOCK
    nms_fast.NMS_BLOCK = block  # small blocks: many block boundaries on small inputs
    try:
        keep = nms(b, s, t)
    finally:
        nms_fast.NMS_BLOCK = saved
    np.testing.assert_array_equal(keep, nms_reference(b, s, t))


@given(box_pair_with_iou(), st.sampled_from([np.float32, np.float64]), st.integers(-1, 1))
def test_nms_fast_path_equals_reference_at_the_threshold(pair, dtype, step):
    # A pair built with IoU exactly t in exact arithmetic: rounding decides, in both paths alike.
    a, b, iou = pair
    both = np.concatenate([a, b, b, a]).astype(dtype)
    t = float(np.nextafter(iou, [0.0, iou, 1.0][step + 1])) if step else iou
    if 0 <= t <= 1:
        s = np.array([0.5, 0.9, 0.9, 0.5])
        np.testing.assert_array_equal(nms(both, s, t), nms_reference(both, s, t))


@pytest.mark.parametrize("kind", ["uniform", "clustered"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_fast_path_equals_reference_on_proposal_sized_inputs(kind, dtype):
    # The bench's inputs, 1500 boxes: many rows of the spatial index and many blocks.
    rng = np.random.default_rng(3)
    for t in (0.0, 0.3, 0.7, 0.95):
        if kind == "uniform":
            b = random_boxes(rng, 1500, dtype=dtype)
        else:
            b = bench_clustered_boxes(rng, 1500, dtype=dtype)
        s = rng.random(1500).astype(dtype)
        np.testing.assert_array_equal(nms(b, s, t), nms_reference(b, s, t))


@pytest.mark.parametrize("block", [2, 128])
def test_nms_fast_path_equals_reference_with_thresholds_on_computed_ious(block, monkeypatch):
    # Thresholds equal to a computed IoU of the input, or one float step away: the spatial
    # index must widen its windows by the IoU's rounding error, or it misses such pairs
    # (small blocks send most pairs through the index rather than the in-block IoU matrix).
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", block)
    rng = np.random.default_rng(5)
    for trial in range(60):
        dtype = (np.float32, np.float64)[trial % 2]
        n = int(rng.integers(50, 300))
        if trial % 3 == 0:  # small integer grid: many equal IoUs like 1/3, 2/3
            xy = rng.integers(0, 8, (n, 2))
            b = np.concatenate([xy, xy + rng.integers(0, 5, (n, 2))], axis=1)
        elif trial % 3 == 1:
            b = bench_clustered_boxes(rng, n, n_centres=5, img_size=(100, 100))
        else:
            b = random_boxes(rng, n, img_size=(100, 100), side=(1, 30))
        b = b.astype(dtype)
        s = rng.integers(0, 4, n) / 3  # ties too
        iou = box_iou(b, b)[np.triu_indices(n, 1)]
        v = float(rng.choice(iou[(iou > 0) & (iou < 1)]))
        for t in (v, np.nextafter(v, 0), np.nextafter(v, 1), np.nextafter(np.float32(v), 0)):
            np.testing.assert_array_equal(nms(b, s, float(t)), nms_reference(b, s, float(t)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_fast_path_equals_reference_on_the_tightest_pairs(dtype, monkeypatch):
    # Box j inside box i, flush with one side and sharing the other extent: IoU = w_j / w_i is
    # exactly the bound IoU <= iw / w that the spatial index relies on, so x_min(j) - x_min(i)
    # sits exactly on the edge of the index's window. With one box per block, every pair
    # goes through the index; the threshold is the computed IoU or one float step below.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    for w_i in range(2, 9):
        for w_j in range(1, w_i):
            for big, small in (
                ([0, 0, w_i, 1], [w_i - w_j, 0, w_i, 1]),  # flush right
                ([0, 0, 1, w_i], [0, w_i - w_j, 1, w_i]),  # flush bottom
                ([5, 0, 5 + w_i, 1], [5, 0, 5 + w_j, 1]),  # flush left
            ):
                for b in (np.array([big, small], dtype), np.array([small, big], dtype)):
                    v = float(box_iou(b[:1], b[1:])[0, 0])
                    for t in (v, float(np.nextafter(dtype(v), dtype(0)))):
                        assert np.array_equal(nms(b, [1, 0], t), nms_reference(b, [1, 0], t))


def test_nms_fast_path_equals_reference_when_rounding_lifts_the_iou_above_thresh(monkeypatch):
    # Float32 rounding near the threshold: for these flush pairs the computed (float32) IoU is
    # above t while the exact IoU of the very same coordinates is not. The reference suppresses
    # (it only knows the computed IoU); the spatial index, which reasons with exact geometry,
    # must widen its windows enough to see the pair too.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    rng = np.random.default_rng(6)
    n_lifted = 0
    for _ in range(300):
        w, h = rng.uniform(1, 1000), rng.uniform(0.5, 3)
        x, y = rng.uniform(0, w / 2), rng.uniform(0, 1000)
        b = np.array([[0, y, w, y + h], [x, y, w, y + h]], np.float32)  # flush right, same rows
        c = b.astype(np.float64)  # the exact IoU: w - x and h are exact in float64
        exact = (c[0, 2] - c[1, 0]) / (c[0, 2] - c[0, 0])
        n_lifted += _suppressed_when_lifted(b, exact)
    assert n_lifted > 10


def _suppressed_when_lifted(b: np.ndarray, bound: float) -> bool:
    """With t one float32 step below the computed IoU of the pair ``b``, when t >= ``bound``
    (a bound on the exact IoU, so rounding lifted the computed one): both NMS suppress the
    second box. Returns whether the pair was lifted."""
    t = float(np.nextafter(box_iou(b[:1], b[1:])[0, 0], np.float32(0)))
    if t < bound:
        return False
    np.testing.assert_array_equal(nms(b, [1, 0], t), [0])
    np.testing.assert_array_equal(nms_reference(b, [1, 0], t), [0])
    return True


def test_nms_fast_path_equals_reference_when_a_subnormal_intersection_lifts_the_iou(monkeypatch):
    # Float32 flush pairs whose intersection (about 3e-43) is subnormal: there the rounding
    # error of a product is absolute (IEEE 754 gradual underflow), up to half of 1.4e-45, so
    # the computed IoU can exceed the exact one by far more than the index's relative slack.
    # The reference suppresses on the computed IoU; the index must fall back to the windows
    # of any overlap whenever an area is below tiny / eps (about 1e-31 in float32).
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    rng = np.random.default_rng(7)
    n_lifted = 0
    for _ in range(200):
        h = np.float32(rng.uniform(1, 4) * 2.0**-66)
        w_a = np.float32(rng.uniform(1, 4) * 2.0**-60)
        w_b = np.float32(w_a * rng.uniform(2e-6, 2e-5))
        b = np.array([[0, 0, w_a, h], [w_a - w_b, 0, w_a, h]], np.float32)  # flush right
        c = b.astype(np.float64)
        exact = (c[1, 2] - c[1, 0]) / (c[0, 2] - c[0, 0])  # IoU <= iw / w_A, the x window
        # beyond any relative slack of the index
        n_lifted += _suppressed_when_lifted(b, max(exact * (1 + 1e-3), 1e-6))
    assert n_lifted > 10


def test_nms_fast_path_equals_reference_on_boxes_at_negative_coordinates(monkeypatch):
    # The index's widths, heights, areas, rows and windows are differences of coordinates:
    # boxes left of and above the origin (partly or wholly) must give the reference's result.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 8)
    rng = np.random.default_rng(8)
    for dtype in (np.float32, np.float64):
        for sx, sy in ((-500.0, -300.0), (-250.0, -150.0)):
            b = np.concatenate(
                [
                    random_boxes(rng, 150, img_size=(300, 500), side=(4, 80)),
                    bench_clustered_boxes(rng, 150, n_centres=10, img_size=(300, 500)),
                ]
            )
            b = (b + np.array([sx, sy, sx, sy])).astype(dtype)
            s = rng.random(len(b))
            for t in (0.3, 0.5, 0.7):
                np.testing.assert_array_equal(nms(b, s, t), nms_reference(b, s, t))


def test_nms_a_box_centred_on_the_origin_suppresses_and_is_suppressed_across_blocks(monkeypatch):
    # x_min = -x_max: a box whose x_min + x_max is 0 has an area like any other. With one
    # box per block, every suppression below goes from one block to a later one.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    centred, near = [-5.0, 0, 5, 10], [-5.0, 0, 5, 9]  # IoU 0.9
    for dtype in (np.float32, np.float64):
        for first, second in ((centred, near), (near, centred), (centred, centred)):
            b = np.array([first, second, [20, 20, 30, 30]], dtype)
            np.testing.assert_array_equal(nms(b, [3, 2, 1], 0.5), [0, 2])
            np.testing.assert_array_equal(nms_reference(b, [3, 2, 1], 0.5), [0, 2])


def test_nms_at_threshold_zero_an_overlap_of_one_float_step_suppresses_across_blocks(monkeypatch):
    # At t = 0 any positive overlap suppresses (IoU > 0). The index reaches that far and a
    # little further (a pad of 1e-12 of the largest coordinate absorbs its own rounding): a
    # box overlapping by one float64 step, left or right of the kept box, is suppressed.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    left, right = [0.0, 0, np.nextafter(1.0, 2.0), 1], [1.0, 0, 2, 1]  # overlap 2^-52 wide
    for kept, later in ((right, left), (left, right)):
        b = np.array([kept, later, [5.0, 5, 6, 6]])
        np.testing.assert_array_equal(nms_reference(b, [3, 2, 1], 0.0), [0, 2])
        np.testing.assert_array_equal(nms(b, [3, 2, 1], 0.0), [0, 2])


def test_nms_boxes_far_smaller_than_their_coordinates_suppress_across_blocks(monkeypatch):
    # Heights of 1e-10 at y = 1000: below the index's pad (1e-12 of the largest coordinate,
    # 1e-9 here), which must then keep the two boxes in neighbouring rows. IoU = 1/3.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    b = np.array([[0.0, 1000, 1, 1000 + 1e-10], [0.0, 1000 + 5e-11, 1, 1000 + 1.5e-10]])
    assert 0.33 < box_iou(b[:1], b[1:])[0, 0] < 0.34
    for t in (0.0, 0.3):
        np.testing.assert_array_equal(nms_reference(b, [2, 1], t), [0])
        np.testing.assert_array_equal(nms(b, [2, 1], t), [0])


@pytest.mark.parametrize("spread", [True, False])
def test_batched_nms_never_lets_a_label_reach_another_far_from_where_rows_start(
    monkeypatch, spread
):
    # The index numbers its cells (label, area band, row) consecutively. A (label 0) and B
    # (label 1) overlap (IoU 0.94) in an area band whose rows are 4x taller than those of
    # the band above it (a tall box C below sets them). Far from the first row, the row
    # numbers of the two bands drift apart by about 16 000 at y = 109 400: as many cells as a
    # label's, so only rows kept inside their band (capped, counted from the smallest y_min)
    # keep A's windows in its own label. Spread: C and the fillers at y = 0 (rows capped at
    # 4096); not spread: every box near y, far from y = 0.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    for y in np.arange(109380.0, 109460.0):
        low = 0.0 if spread else y
        a, b = [0.0, y, 10, y + 10], [0.3, y, 10.3, y + 10]
        c = [1000.0, low - 30, 1001.225, low + 10]  # area 49, 40 tall: the band below
        fillers = [[2000.0 + 30 * i, low, 2021.0 + 30 * i, low + 10] for i in range(40)]
        boxes_ = np.array([a, b, c, *fillers])  # fillers: area 210, the band above
        labels = np.r_[0, 1, np.zeros(41, int)]
        scores = np.linspace(1.0, 0.5, len(boxes_))
        keep = batched_nms(boxes_, scores, labels, 0.5)
        np.testing.assert_array_equal(keep, np.arange(len(boxes_)), err_msg=f"y = {y}")


def test_nms_fast_path_equals_reference_when_a_tight_pair_straddles_a_cell_edge(monkeypatch):
    # The index cuts y_min into rows and log-area into bands, starting at the smallest value
    # of the input; a small third "ruler" box, overlapping neither, moves that start, so that
    # some position puts a cell edge right between the two boxes of a tight pair (IoU = t + ulp).
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 1)
    big, small = [0.0, 10.0, 4.0, 17.0], [0.0, 12.0, 4.0, 17.0]  # flush bottom: IoU = 5 / 7
    # Steps of 1/2000 of a row (about 2 px) or 1/3000 of a band (log(7/5) in log-area): finer
    # than the index's safety margin of 1/1000, which this test is here to guard.
    rulers = [[50.0, 10.0 - d, 50.5, 10.5 - d] for d in np.linspace(0.0, 2.1, 4200)]
    rulers += [[0.0, 0.0, a, 1.0] for a in np.exp(np.linspace(-5.0, -4.65, 3500))]
    t = float(np.nextafter(np.float32(5 / 7), np.float32(0)))  # a float32 step below the IoU
    expected = nms_reference(np.array([big, small, rulers[0]], np.float32), [2, 1, 0], t)
    np.testing.assert_array_equal(expected, [0, 2])  # small is suppressed, the ruler stays
    for ruler in rulers:
        keep = nms(np.array([big, small, ruler], np.float32), [2, 1, 0], t)
        assert np.array_equal(keep, expected), ruler


def test_nms_fast_path_equals_reference_on_degenerate_layouts():
    n = 300
    w = np.geomspace(1, 1e4, n)
    layouts = {
        "identical": np.tile([[0.0, 0.0, 10.0, 10.0]], (n, 1)),
        "nested at a corner": np.stack([0 * w, 0 * w, w, w], 1),
        "chain": np.stack([np.arange(n), 0 * w, np.arange(n) + 10.0, 0 * w + 10], 1),
        "tiny": np.stack(
            [np.arange(n) * 1e-30, 0 * w, (np.arange(n) + 3) * 1e-30, 0 * w + 1e-30], 1
        ),
        "subnormal areas": np.stack([np.arange(n), 0 * w, np.arange(n) + 3, 0 * w + 2], 1) * 3e-18,
        "huge and far": np.stack([w * 1e200, 0 * w, w * 1e200 + 1, 0 * w + 1], 1),
        "all zero": np.zeros((n, 4)),
        "float64 limit": np.stack([0 * w, -8.985e307 + w, 1e-300 + 0 * w, 8.985e307 + w], 1),
    }
    rng = np.random.default_rng(4)
    for name, b in layouts.items():
        for dtype in (np.float32, np.float64):
            with np.errstate(over="ignore"):
                bb = b.astype(dtype)  # "huge and far" overflows float32: skipped below
            if not np.isfinite(bb).all():
                continue
            for t in (0.0, 1e-7, 0.5, 0.999):
                s = rng.random(n)
                assert np.array_equal(nms(bb, s, t), nms_reference(bb, s, t)), (name, dtype, t)


def test_nms_fast_path_equals_reference_where_the_index_arithmetic_would_overflow():
    # Beyond 1e150 the spatial index puts every box in one cell: its rows count y_min from the
    # smallest y_min, and here that offset overflows float64 for the B boxes (about 2e308)
    # though not for the A boxes. Pairs (A, B) of equal width, B shifted down by 3 % of the
    # height (IoU about 0.94), widths 100x apart (one pair per area band), plus one box far up.
    w = np.geomspace(1e-290, 1.0, 150)
    a = np.stack([0 * w, 0 * w + 9.6e306, w, 0 * w + 1.96e307], 1)
    b = np.concatenate([a, a + [0.0, 3e305, 0.0, 3e305], [[0.0, -1.7e308, 1.0, -1.6e308]]])
    s = np.r_[np.linspace(1.0, 0.6, 150), np.linspace(0.5, 0.1, 150), 0.05]
    with np.errstate(over="ignore"):
        assert np.isinf(b[150, 1] - b[-1, 1]) and np.isfinite(b[0, 1] - b[-1, 1])
    for t in (0.3, 0.5, 0.7):
        expected = nms_reference(b, s, t)
        np.testing.assert_array_equal(expected, np.r_[0:150, 300])  # every B suppressed
        np.testing.assert_array_equal(nms(b, s, t), expected)


# --------------------------------------------------------------------------- batched
@given(nms_problems(), st.integers(1, 3), st.data())
def test_batched_nms_equals_per_class_loop(problem, n_label, data):
    b, s, t = problem
    labels = data.draw(st.lists(st.integers(0, n_label), min_size=len(b), max_size=len(b)))
    labels = np.array(labels, dtype=np.int64)
    np.testing.assert_array_equal(batched_nms(b, s, labels, t), per_class_loop(b, s, labels, t))


@pytest.mark.parametrize("n_label", [1, 2, 3, 5])
def test_batched_nms_beyond_one_block_equals_per_class_loop(n_label, monkeypatch):
    # Small blocks: the spatial index, with each label in its own bands, finds the pairs.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 8)
    rng = np.random.default_rng(10 + n_label)
    for dtype in (np.float32, np.float64):
        b = bench_clustered_boxes(rng, 200, n_centres=8, img_size=(200, 200), dtype=dtype)
        s = rng.random(len(b))
        labels = rng.integers(0, n_label, len(b)) * 7  # sparse label ids
        for t in (0.3, 0.6):
            expected = per_class_loop(b, s, labels, t)
            np.testing.assert_array_equal(batched_nms(b, s, labels, t), expected)


@pytest.mark.parametrize("n_label", [4, 5, 7, 9, 13])
def test_batched_nms_keeps_copies_of_a_box_under_other_labels(n_label, monkeypatch):
    # Every box three times, under three different labels: copies (IoU 1) of another label
    # never suppress each other, however many labels share the spatial index's cells.
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", 4)
    rng = np.random.default_rng(12 + n_label)
    b = np.repeat(random_boxes(rng, 40, img_size=(100, 100), side=(2, 40)), 3, axis=0)
    labels = np.arange(len(b)) % n_label
    s = rng.random(len(b))
    for t in (0.3, 0.6):
        expected = per_class_loop(b, s, labels, t)
        np.testing.assert_array_equal(batched_nms(b, s, labels, t), expected)


def test_batched_nms_windows_of_a_label_do_not_run_into_the_next_label():
    # The spatial index sorts the boxes by (label, band, row, x); the candidates of a kept box
    # are runs of that order. 128 kept label-0 boxes and one later label-0 box at the very
    # start of the order, then 200 label-1 copies of one kept box: each run must end where
    # its cell ends, not reach into the copies of the other label (IoU 1, never suppressed).
    grid = [
        [20.0 * i, 20.0 * j, 20.0 * i + 10, 20.0 * j + 10]
        for j in range(1, 9)
        for i in range(1, 17)
    ]
    b = np.array(grid + [[0.0, 0.0, 10.0, 10.0]] + [grid[60]] * 200)
    labels = np.r_[np.zeros(129, np.int64), np.ones(200, np.int64)]
    s = np.linspace(1.0, 0.1, len(b))
    assert len(b) > nms_fast.NMS_BLOCK  # a second block: the spatial index is used
    expected = per_class_loop(b, s, labels, 0.5)
    assert len(expected) == 130  # the 129 label-0 boxes and one copy of label 1
    np.testing.assert_array_equal(batched_nms(b, s, labels, 0.5), expected)


def test_batched_nms_keeps_a_copy_under_another_label_far_from_the_origin():
    # The spatial index numbers cells by (label, area band, row); each band cuts y into rows
    # of its own height (here 0.5 and 50: a tall box in the top band), counted from the
    # smallest y_min. A kept box A (label 0) and its copy (label 1, last), 150 label-0 boxes
    # beside A, all at y = y0: for no y0 may A's cells meet a cell of label 1.
    a = [0.0, 0.0, 2.9, 1.0]  # area 2.9: the middle band, between area 1 and area 6
    others = [[10.0 * i, 0.0, 10.0 * i + 2.9, 1.0] for i in range(1, 150)]
    others += [[-10.0, 0.0, -9.0, 1.0], [-20.0, 0.0, -19.94, 100.0]]  # areas 1 and 6
    labels = np.r_[np.zeros(152, np.int64), 1]
    s = np.linspace(1.0, 0.1, 153)
    for y0 in np.arange(6200.0, 6240.0, 0.25):
        b = np.array([a, *others, a]) + [0.0, y0, 0.0, y0]
        expected = per_class_loop(b, s, labels, 0.5)
        assert expected[-1] == 152  # the copy under label 1 is kept
        np.testing.assert_array_equal(batched_nms(b, s, labels, 0.5), expected, err_msg=str(y0))


@given(nms_problems())
def test_batched_nms_with_one_label_is_nms(problem):
    b, s, t = problem
    np.testing.assert_array_equal(batched_nms(b, s, np.zeros(len(b), np.uint8), t), nms(b, s, t))


@given(boxes(0, 25), st.data())
def test_batched_nms_equals_offset_trick_when_offsets_are_exact(b, data):
    # Integer float64 coordinates: shifting by label * (max + 1) is exact, so the one-call trick
    # (shift, then plain NMS) and batched_nms agree.
    b = np.round(b)
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(b), max_size=len(b))))
    s = np.linspace(1, 0, len(b))
    shifted = b + (labels * (np.abs(b).max(initial=0) * 2 + 1))[:, None]
    np.testing.assert_array_equal(batched_nms(b, s, labels, 0.4), nms(shifted, s, 0.4))


def test_offset_trick_changes_float32_iou():
    # Why batched_nms does not shift boxes: in float32 the shift rounds the coordinates.
    a = np.array([[0.1, 0.2, 10.3, 10.7]], np.float32)
    b = np.array([[1.7, 0.3, 11.9, 10.6]], np.float32)
    offset = np.float32(12345.0)
    assert box_iou(a + offset, b + offset)[0, 0] != box_iou(a, b)[0, 0]


# --------------------------------------------------------------------------- errors
def test_nms_rejects_bad_thresholds():
    b, s = np.array([[0, 0, 1, 1]]), [1.0]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="iou_thresh must be in"):
            nms(b, s, bad)
        with pytest.raises(ValueError, match="iou_thresh must be in"):
            nms_reference(b, s, bad)
    with pytest.raises(TypeError, match="iou_thresh must be a real number"):
        nms(b, s, "0.5")
    with pytest.raises(ValueError, match="score_thresh must not be NaN"):
        nms(b, s, 0.5, score_thresh=float("nan"))
    with pytest.raises(TypeError, match="score_thresh must be a real number"):
        nms(b, s, 0.5, score_thresh=[0.1])
    with pytest.raises(ValueError, match="max_output must be a non-negative integer"):
        nms(b, s, 0.5, max_output=-1)
    with pytest.raises(TypeError, match="max_output must be a non-negative integer"):
        nms(b, s, 0.5, max_output=2.0)


def test_nms_rejects_bad_boxes_and_scores():
    with pytest.raises(ValueError, match="scores must not be NaN; got NaN at index 1"):
        nms([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5, np.nan], 0.5)
    with pytest.raises(ValueError, match=r"scores must have shape \(R,\) = \(2,\)"):
        nms([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5], 0.5)
    with pytest.raises(TypeError, match="scores must be a real numeric array"):
        nms([[0, 0, 1, 1]], ["a"], 0.5)
    with pytest.raises(ValueError, match=r"boxes must have shape \(R, 4\)"):
        nms([[0, 0, 1]], [0.5], 0.5)
    with pytest.raises(ValueError, match="boxes has an inverted box"):
        nms([[2, 0, 1, 1]], [0.5], 0.5)
    with pytest.raises(ValueError, match="boxes must be finite"):
        nms([[0, 0, np.inf, 1]], [0.5], 0.5)
    with pytest.raises(ValueError, match="the union of two such boxes overflows float32"):
        nms(np.array([[0, 0, 2e19, 1e19]], np.float32), [0.5], 0.5)


def test_batched_nms_rejects_bad_labels():
    b, s = np.array([[0, 0, 1, 1], [0, 0, 2, 2]]), [0.5, 0.4]
    with pytest.raises(ValueError, match=r"labels must have shape \(R,\) = \(2,\)"):
        batched_nms(b, s, [1], 0.5)
    with pytest.raises(TypeError, match="labels must be an integer array"):
        batched_nms(b, s, [1.0, 2.0], 0.5)


@given(
    anything_boxes(),
    st.lists(st.floats(allow_nan=True), max_size=7),
    st.floats(-0.5, 1.5) | st.just(float("nan")),
    st.sampled_from([nms, nms_reference]),
)
def test_nms_fuzz_returns_documented_result_or_raises(b, s, t, fn):
    try:
        keep = fn(b, s, t)
    except (ValueError, TypeError):
        return
    assert keep.dtype == np.int64 and keep.ndim == 1
    assert 0 <= t <= 1 and len(s) == len(b) and not np.isnan(s).any()
    np.testing.assert_array_equal(keep, nms_reference(b, s, t))
