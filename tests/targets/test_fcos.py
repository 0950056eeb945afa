"""FCOS's locations, targets and centre-ness against the paper's equations.

Sources: Z. Tian, C. Shen, H. Chen, T. He, "FCOS: Fully Convolutional One-Stage Object
Detection", ICCV 2019, arXiv:1904.01355 (Sec. 3.1: locations (floor(s/2) + xs, floor(s/2) + ys),
targets l* = x - x0, t* = y - y0, r* = x1 - x, b* = y1 - y, a location in several boxes takes
the smallest; Sec. 3.2: max(l*, t*, r*, b*) in [m_{i-1}, m_i]; Eq. 3: centre-ness); the
journal version arXiv:2006.09214 (centre sampling, radius 1.5 strides); the course deck
*Detection – 3 stages*, §N (FCOS).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.targets.fcos import (
    FCOS_SIZE_RANGES,
    centerness,
    fcos_decode,
    fcos_locations,
    fcos_targets,
)
from tests.strategies import boxes_in_image

IMG = (64.0, 64.0)
FEATS, STRIDES = [(8, 8), (4, 4), (2, 2)], (8, 16, 32)
RANGES = ((0.0, 16.0), (16.0, 32.0), (32.0, math.inf))

distances = hnp.arrays(np.float64, (5, 4), elements=st.floats(0.01, 100.0))


# --------------------------------------------------------------------------- locations
@given(st.integers(0, 6), st.integers(0, 6), st.integers(1, 40))
def test_fcos_locations_are_floor_half_stride_plus_x_stride(h, w, s):
    # Sec. 3.1 / §N: (floor(s/2) + x s, floor(s/2) + y s), row y * W + x
    loc = fcos_locations((h, w), s)
    assert loc.shape == (h * w, 2)
    for y in range(h):
        for x in range(w):
            assert tuple(loc[y * w + x]) == (s // 2 + x * s, s // 2 + y * s)


def test_fcos_locations_rejects_bad_input():
    with pytest.raises(ValueError, match="stride"):
        fcos_locations((2, 2), 0)
    with pytest.raises(TypeError, match="stride"):
        fcos_locations((2, 2), 8.5)
    with pytest.raises(ValueError, match="feat_size"):
        fcos_locations((2, 2, 2), 8)


# --------------------------------------------------------------------------- centre-ness
@given(distances)
def test_centerness_is_the_square_root_of_the_two_ratios(d):
    # Eq. 3 / §N, written out row by row
    want = [math.sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)) for l, t, r, b in d.tolist()]
    np.testing.assert_allclose(centerness(d), want, rtol=1e-12)


@given(distances, st.floats(0.01, 100.0))
def test_centerness_in_unit_interval_symmetric_and_scale_free(d, k):
    c = centerness(d)
    assert ((c >= 0) & (c <= 1 + 1e-12)).all()
    np.testing.assert_allclose(centerness(d[:, [2, 3, 0, 1]]), c, rtol=1e-12)  # l <-> r, t <-> b
    np.testing.assert_allclose(centerness(k * d), c, rtol=1e-9)


@given(st.floats(0.01, 100.0), st.floats(0.01, 100.0), st.floats(0.01, 0.99))
def test_centerness_one_at_the_centre_and_falls_towards_a_side(w, h, u):
    # centre of a w x h box: l = r, t = b -> 1; moving towards the left side lowers it
    assert centerness([[w, h, w, h]])[0] == pytest.approx(1.0)
    a, b = sorted((u, (1 + u) / 2))  # two points left of the centre, a nearer the side
    ca = centerness([[a * w, h, (2 - a) * w, h]])[0]
    cb = centerness([[b * w, h, (2 - b) * w, h]])[0]
    assert ca <= cb <= 1.0


def test_centerness_worked_numbers_and_bad_input():
    np.testing.assert_allclose(
        centerness([[1.0, 3.0, 4.0, 3.0], [0.0, 0.0, 0.0, 0.0]]), [math.sqrt(1 / 4), 0.0]
    )
    assert centerness(np.zeros((0, 4), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match=">= 0"):
        centerness([[1.0, -1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"\(P, 4\)"):
        centerness([1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="ltrb"):
        centerness([[1.0, np.nan, 1.0, 1.0]])


# --------------------------------------------------------------------------- targets
def _reference(gt, labels, radius=None):
    """Sec. 3.1-3.2 location by location, box by box (the obviously correct loop)."""
    out_class, out_index, out_ltrb = [], [], []
    for (lo, hi), s, (fh, fw) in zip(RANGES, STRIDES, FEATS):
        for y in range(fh):
            for x in range(fw):
                px, py = s // 2 + x * s, s // 2 + y * s
                best, best_area = -1, math.inf
                for j, (x0, y0, x1, y1) in enumerate(gt.tolist()):
                    d = (px - x0, py - y0, x1 - px, y1 - py)
                    if radius is None:
                        inside = min(d) > 0
                    else:
                        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, radius * s
                        inside = max(cx - r, x0) < px < min(cx + r, x1) and max(
                            cy - r, y0
                        ) < py < min(cy + r, y1)
                    area = (x1 - x0) * (y1 - y0)
                    if inside and lo <= max(d) <= hi and area < best_area:
                        best, best_area = j, area
                out_index.append(best)
                out_class.append(labels[best] if best >= 0 else -1)
                if best >= 0:
                    x0, y0, x1, y1 = gt[best]
                    out_ltrb.append([(px - x0) / s, (py - y0) / s, (x1 - px) / s, (y1 - py) / s])
                else:
                    out_ltrb.append([0.0] * 4)
    return np.array(out_class), np.array(out_index), np.array(out_ltrb)


@given(
    boxes_in_image(img_size=IMG, min_size=0, max_size=5, min_side=2.0),
    st.sampled_from([None, 1.5, 0.7]),
)
def test_fcos_targets_match_the_rules_location_by_location(gt, radius):
    labels = np.arange(len(gt)) % 4
    t = fcos_targets(gt, labels, FEATS, STRIDES, RANGES, center_sampling_radius=radius)
    want_class, want_index, want_ltrb = _reference(gt, labels, radius)
    np.testing.assert_array_equal(t.gt_class, want_class)
    np.testing.assert_array_equal(t.gt_index, want_index)
    np.testing.assert_allclose(t.ltrb, want_ltrb, atol=1e-12)
    fg = t.gt_class >= 0
    np.testing.assert_allclose(t.centerness[fg], centerness(want_ltrb[fg]))
    assert (t.centerness[~fg] == 0).all()


@given(boxes_in_image(img_size=IMG, min_size=1, max_size=5, min_side=2.0))
def test_fcos_targets_decode_back_to_the_assigned_box(gt):
    t = fcos_targets(gt, np.zeros(len(gt), np.int64), FEATS, STRIDES, RANGES)
    fg = t.gt_class >= 0
    box = fcos_decode(t.locations[fg], t.ltrb[fg], t.stride[fg])
    np.testing.assert_allclose(box, gt[t.gt_index[fg]], atol=1e-9)


@given(boxes_in_image(img_size=IMG, min_size=1, max_size=5, min_side=2.0))
def test_fcos_centre_sampling_keeps_a_subset_near_the_centre(gt):
    # the journal version's centre sampling only removes locations, those farther than
    # 1.5 strides from the box centre
    full = fcos_targets(gt, np.zeros(len(gt), np.int64), FEATS, STRIDES, RANGES)
    centre = fcos_targets(
        gt, np.zeros(len(gt), np.int64), FEATS, STRIDES, RANGES, center_sampling_radius=1.5
    )
    fg = centre.gt_class >= 0
    assert (full.gt_class[fg] >= 0).all()
    box = gt[centre.gt_index[fg]]
    cxy = (box[:, :2] + box[:, 2:]) / 2
    assert (np.abs(centre.locations[fg] - cxy) < 1.5 * centre.stride[fg, None]).all()


def test_fcos_targets_smallest_box_wins_and_levels_split_by_size():
    # a small box inside a large one: their common locations go to the small box;
    # the large box (max distance > 16 px) only lives on P4/P5
    gt = np.array([[0.0, 0, 64, 64], [16.0, 16, 32, 32]])
    t = fcos_targets(gt, [5, 2], FEATS, STRIDES, RANGES)
    p3 = slice(0, 64)
    assert set(t.gt_class[p3][t.gt_class[p3] >= 0]) == {2}
    assert (t.gt_index[64:][t.gt_class[64:] >= 0] == 0).all()
    # P3 location (x, y) = (20, 20) is in the small box: l* = 4 px, r* = 12 px
    np.testing.assert_allclose(t.ltrb[2 * 8 + 2], np.array([4.0, 4.0, 12.0, 12.0]) / 8)


def test_fcos_targets_paper_ranges_and_empty_input():
    assert FCOS_SIZE_RANGES[0] == (0.0, 64.0) and FCOS_SIZE_RANGES[-1][1] == math.inf
    t = fcos_targets(np.zeros((0, 4), np.float32), [], [(4, 4)], (8,), ((0.0, 64.0),))
    assert (t.gt_class == -1).all() and t.ltrb.dtype == np.float32 and t.ltrb.shape == (16, 4)
    t = fcos_targets(np.array([[0.0, 0, 20, 20]], np.float32), [1], [(4, 4)], (8,), RANGES[:1])
    assert t.ltrb.dtype == np.float32 and t.centerness.dtype == np.float32


def test_fcos_targets_rejects_bad_input():
    gt = np.array([[0.0, 0, 20, 20]])
    with pytest.raises(ValueError, match="one entry per level"):
        fcos_targets(gt, [1], FEATS, STRIDES, RANGES[:2])
    with pytest.raises(ValueError, match="lower <= upper"):
        fcos_targets(gt, [1], [(2, 2)], (8,), ((64.0, 0.0),))
    with pytest.raises(ValueError, match="center_sampling_radius"):
        fcos_targets(gt, [1], FEATS, STRIDES, RANGES, center_sampling_radius=0.0)
    with pytest.raises(ValueError, match="gt_label must have shape"):
        fcos_targets(gt, [1, 2], FEATS, STRIDES, RANGES)
    with pytest.raises(ValueError, match="gt_bbox"):
        fcos_targets(np.array([[5.0, 0, 1, 1]]), [1], FEATS, STRIDES, RANGES)


def test_fcos_decode_inverts_and_checks_shapes():
    np.testing.assert_allclose(
        fcos_decode([[12.0, 4.0]], [[1.0, 0.5, 0.5, 2.0]], 8), [[4, 0, 16, 20]]
    )
    with pytest.raises(ValueError, match="same P"):
        fcos_decode([[1.0, 1.0]], np.zeros((2, 4)), 8)


# --------------------------------------------------------------------------- edges (mutation)
def test_fcos_locations_are_float64_pixels():
    # Returns: float64 (x, y) in pixels, for odd and even strides alike
    for s in (1, 7, 8):
        assert fcos_locations((2, 3), s).dtype == np.float64


def test_centerness_is_exactly_zero_where_a_pair_is_all_zero():
    # Eq. 3: min(l, r) / max(l, r) with l = r = 0 (a point on a degenerate side) is taken as
    # 0, so the centre-ness is 0, exactly and without a warning, whatever the other pair
    d = np.array(
        [[0.0, 1.0, 0.0, 3.0], [2.0, 0.0, 5.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 4.0, 0.0, 4.0]] * 4
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = centerness(d)
    np.testing.assert_array_equal(c, np.tile([0.0, 0.0, 1.0, 0.0], 4))


def _one_location(box, size_range, radius=None):
    """The target of the single location (4, 4) of a 1 x 1 map of stride 8."""
    t = fcos_targets(
        np.array([box]), [3], [(1, 1)], (8,), (size_range,), center_sampling_radius=radius
    )
    return int(t.gt_class[0])


def test_fcos_a_single_location_is_assigned():
    # P = 1 is an ordinary map: the location (4, 4) inside (0, 0, 16, 16) is foreground
    assert _one_location([0.0, 0.0, 16.0, 16.0], (0.0, math.inf)) == 3


def test_fcos_size_range_is_inclusive_at_both_ends():
    # Sec. 3.2: a location is negative "if max(l*, t*, r*, b*) > m_i or < m_{i-1}", so
    # m_{i-1} <= max <= m_i is positive at both ends (also the reference code's >= and <=).
    # The location (4, 4) in (0, 0, 4 + m, 8) has l* = t* = b* = 4 and r* = m.
    for m in (12.0, 20.0):
        box = [0.0, 0.0, 4.0 + m, 8.0]
        assert _one_location(box, (m, 2 * m)) == 3  # max = m_{i-1}
        assert _one_location(box, (m / 2, m)) == 3  # max = m_i
        assert _one_location(box, (np.nextafter(m, np.inf), 2 * m)) == -1
        assert _one_location(box, (m / 2, np.nextafter(m, 0))) == -1
    # the paper's ranges share their ends: max = 64 px is positive on P3 and on P4
    t = fcos_targets(np.array([[4.0, 4.0, 72.0, 12.0]]), [0], [(1, 1), (1, 1)], (8, 8),
                     FCOS_SIZE_RANGES[:2])  # fmt: skip
    np.testing.assert_array_equal(t.gt_class, [-1, -1])  # (4, 4) lies on the box's corner
    t = fcos_targets(np.array([[0.0, 0.0, 68.0, 8.0]]), [0], [(1, 1), (1, 1)], (8, 8),
                     FCOS_SIZE_RANGES[:2])  # fmt: skip
    np.testing.assert_array_equal(t.gt_class, [0, 0])  # r* = 64 on both levels


def test_fcos_location_on_the_box_border_is_background():
    # Sec. 3.1: foreground only if the location "falls into" the box: min(l*, t*, r*, b*) > 0
    # (the reference code's `reg_targets.min(dim=2)[0] > 0`); l* = 0 or b* = 0 is outside
    assert _one_location([4.0, 0.0, 20.0, 16.0], (0.0, math.inf)) == -1  # l* = 0
    assert _one_location([0.0, 0.0, 16.0, 4.0], (0.0, math.inf)) == -1  # b* = 0
    assert _one_location([3.99, 0.0, 20.0, 16.0], (0.0, math.inf)) == 3


def test_fcos_centre_sampling_square_is_open():
    # arXiv:2006.09214 Sec. 3.4 / the reference code (get_sample_region): a location is a
    # positive if it lies strictly inside the square of half-side ρ s around the box centre,
    # clipped to the box (`center_bbox.min(-1)[0] > 0`). Box (0, 0, 64, 64), ρ = 1.5, s = 8:
    # the square is (20, 44)^2; the locations 20 and 44 lie on its sides, so only
    # x, y in {28, 36} are positive.
    t = fcos_targets(np.array([[0.0, 0.0, 64.0, 64.0]]), [1], [(8, 8)], (8,), ((0.0, math.inf),),
                     center_sampling_radius=1.5)  # fmt: skip
    fg = t.locations[t.gt_class == 1]
    assert sorted(map(tuple, fg.tolist())) == [(28, 28), (28, 36), (36, 28), (36, 36)]
    # the square clipped to a small box (4, 4, 20, 20): (0, 24) -> (4, 20): only (12, 12)
    t = fcos_targets(np.array([[4.0, 4.0, 20.0, 20.0]]), [1], [(3, 3)], (8,), ((0.0, math.inf),),
                     center_sampling_radius=1.5)  # fmt: skip
    assert t.locations[t.gt_class == 1].tolist() == [[12.0, 12.0]]


def test_fcos_targets_without_levels_or_boxes_keep_their_layout():
    # no level: P = 0, every field empty with its documented shape
    t = fcos_targets(np.array([[0.0, 0.0, 8.0, 8.0]]), [0], [], (), ())
    shapes = [a.shape for a in (t.gt_class, t.ltrb, t.centerness, t.gt_index, t.locations)]
    assert shapes == [(0,), (0, 4), (0,), (0,), (0, 2)] and t.stride.shape == (0,)
    # no box: all background, but the locations and strides are those of the levels
    for gt in (np.zeros((0, 4)), np.zeros((0, 4), np.float32)):
        t = fcos_targets(gt, [], FEATS, STRIDES, RANGES)
        want = np.concatenate([fcos_locations(f, s) for f, s in zip(FEATS, STRIDES)])
        np.testing.assert_array_equal(t.locations, want)
        np.testing.assert_array_equal(t.stride, np.repeat(STRIDES, [64, 16, 4]))
        assert t.centerness.dtype == t.ltrb.dtype == gt.dtype and (t.centerness == 0).all()
    t = fcos_targets(np.array([[0.0, 0.0, 20.0, 20.0]]), [1], FEATS, STRIDES, RANGES)
    assert t.stride.dtype == np.float64 and t.locations.dtype == np.float64


def test_fcos_size_ranges_are_numeric_pairs_with_lower_at_most_upper():
    gt = np.array([[0.0, 0.0, 20.0, 20.0]])
    # lower = upper is valid: (4, 4), (12, 4) and (4, 12) have max(l*, t*, r*, b*) = 16 px
    t = fcos_targets(gt, [1], [(4, 4)], (8,), ((16.0, 16.0),))
    assert t.locations[t.gt_class == 1].tolist() == [[4.0, 4.0], [12.0, 4.0], [4.0, 12.0]]
    for bad in (((0.0, 16.0, 32.0, 64.0),), ((0.0, None),), ((np.nan, 1.0),)):
        with pytest.raises(ValueError, match="size_ranges must be"):
            fcos_targets(gt, [1], [(4, 4)], (8,), bad)


def test_fcos_decode_checks_shapes_and_names_the_bad_argument():
    loc, d = np.array([[4.0, 4.0]]), np.array([[0.5, 0.5, 1.5, 2.5]])
    for bad_loc in (np.array([4.0, 4.0]), np.zeros((1, 2, 2)), np.zeros((1, 3))):
        with pytest.raises(ValueError, match="locations must be"):
            fcos_decode(bad_loc, d, 8)
    for bad_d in (np.zeros(4), np.zeros((1, 5)), np.zeros((1, 3))):
        with pytest.raises(ValueError, match="locations must be"):
            fcos_decode(loc, bad_d, 8)
    with pytest.raises(ValueError, match="locations must be finite"):
        fcos_decode([[np.nan, 4.0]], d, 8)
    with pytest.raises(ValueError, match="ltrb must be finite"):
        fcos_decode(loc, [[0.5, np.inf, 1.5, 2.5]], 8)
    with pytest.raises(ValueError, match="stride must be finite"):
        fcos_decode(loc, d, np.nan)


def test_fcos_decode_is_computed_in_float64_and_rounded_once():
    # float32 (l, t, r, b) give float32 boxes, x + r s computed in float64 (the locations'
    # precision) and rounded once: with x = 2^24, r = 1 + 2^-23 and a float32 stride
    # s = 1 - 2^-24, r s = 1 + 2^-24 - 2^-47 is just above the tie 2^24 + 1 of float32, so
    # x + r s rounds up to 2^24 + 2 (r s rounded to float32 first would be 1, and the tie
    # 2^24 + 1 would round to even, 2^24)
    x, r, s = 2.0**24, np.float32(1 + 2.0**-23), np.float32(1 - 2.0**-24)
    d = np.array([[0.0, 0.0, r, 0.0]], np.float32)
    box = fcos_decode([[x, 0.0]], d, np.array([s]))
    assert box.dtype == np.float32
    assert box[0, 2] == np.float32(2.0**24 + 2)
    want = np.concatenate(
        [[[x, 0.0]] - d[:, :2] * np.float64(s), [[x, 0.0]] + d[:, 2:] * np.float64(s)], 1
    )
    np.testing.assert_array_equal(box, want.astype(np.float32))
