"""CenterNet's targets and decoding against their equations.

Sources: X. Zhou, D. Wang, P. Krähenbühl, "Objects as Points", arXiv:1904.07850 (Sec. 3,
Eqs. 1-3; Sec. 4 decoding); H. Law, J. Deng, "CornerNet", ECCV 2018, arXiv:1808.01244
(Sec. 3.2, the radius); the course deck *Detection – 3 stages*, §M (CenterNet).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.iou import box_iou
from bboxcore.targets.centernet import (
    CenterNetTargets,
    centernet_decode,
    centernet_region_targets,
    centernet_targets,
    gaussian_radius,
)
from tests.strategies import boxes_in_image

sides = st.floats(0.5, 500.0, allow_nan=False)
overlaps = st.floats(0.05, 0.99, allow_nan=False)


def _iou(a, b) -> float:
    return float(box_iou(np.array([a], np.float64), np.array([b], np.float64))[0, 0])


# --------------------------------------------------------------------------- gaussian_radius
def _three_cases(h, w, r):
    """CornerNet Sec. 3.2: the GT box (0, 0, w, h) translated, shrunk and grown by r."""
    gt = (0.0, 0.0, w, h)
    return gt, [(r, r, w + r, h + r), (r, r, w - r, h - r), (-r, -r, w + r, h + r)]


@given(sides, sides, overlaps)
def test_gaussian_radius_keeps_iou_in_the_three_cases_and_is_tight(h, w, o):
    # CornerNet Sec. 3.2: corners moved by r keep IoU >= o; the binding case has IoU = o
    r = gaussian_radius(h, w, o)
    gt, moved = _three_cases(h, w, r)
    ious = [_iou(gt, b) for b in moved]
    assert min(ious) >= o - 1e-9
    assert min(ious) == pytest.approx(o, rel=1e-9, abs=1e-12)  # tight in the case that binds


@given(sides, sides, overlaps, st.floats(1.001, 1.5))
def test_gaussian_radius_is_the_largest_safe_radius(h, w, o, factor):
    # a radius any larger breaks the IoU guarantee in the binding case
    gt, moved = _three_cases(h, w, factor * gaussian_radius(h, w, o))
    # a box shrunk past its own centre has vanished: IoU 0
    assert min(_iou(gt, b) if b[2] > b[0] and b[3] > b[1] else 0.0 for b in moved) < o


@given(sides, sides, overlaps, st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4))
def test_gaussian_radius_any_corner_move_within_r_keeps_iou(h, w, o, u):
    # CornerNet Sec. 3.2: "a pair of points within the radius" of the GT corners
    r = gaussian_radius(h, w, o)
    box = (u[0] * r, u[1] * r, w + u[2] * r, h + u[3] * r)
    assert _iou((0.0, 0.0, w, h), box) >= o - 1e-9


@given(sides, sides, overlaps, st.floats(0.1, 10.0))
def test_gaussian_radius_symmetric_and_scales_with_the_box(h, w, o, k):
    r = gaussian_radius(h, w, o)
    assert gaussian_radius(w, h, o) == pytest.approx(r, rel=1e-12)
    assert gaussian_radius(k * h, k * w, o) == pytest.approx(k * r, rel=1e-9)


@given(sides, sides, overlaps, overlaps)
def test_gaussian_radius_shrinks_as_the_overlap_grows(h, w, o1, o2):
    lo, hi = sorted((o1, o2))
    assert gaussian_radius(h, w, hi) <= gaussian_radius(h, w, lo) + 1e-12


def test_gaussian_radius_worked_numbers():
    # 10 x 10 box, o = 0.7: case 2, 4r^2 - 40r + 30 = 0 -> r = (40 - sqrt(1600 - 480)) / 8
    assert gaussian_radius(10.0, 10.0) == pytest.approx((40 - math.sqrt(1600 - 480)) / 8)
    # the reference code's radius for the same box is 2.73 (CornerNet issue #37): its IoU in
    # case 2 is (10 - 2 * 2.73)^2 / 100 = 0.21, far below 0.7
    assert (10 - 2 * 2.7332) ** 2 / 100 < 0.25
    # case 1 written out: translated box of a 4 x 8 box at o = 0.5
    s, p, o = 12.0, 32.0, 0.5
    r1 = (s - math.sqrt(s * s - 4 * (1 - o) / (1 + o) * p)) / 2
    assert gaussian_radius(4.0, 8.0, 0.5) <= r1
    assert gaussian_radius(4.0, 8.0, 0.5) == pytest.approx((24 - math.sqrt(576 - 256)) / 8)


def test_gaussian_radius_edge_cases_and_broadcasting():
    assert gaussian_radius(0.0, 0.0) == 0.0
    assert gaussian_radius(0.0, 5.0) == 0.0  # zero area: nothing may move
    assert gaussian_radius(7.0, 3.0, min_overlap=1.0) == 0.0
    out = gaussian_radius(np.array([[1.0], [2.0]]), np.array([1.0, 2.0, 3.0]))
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert isinstance(gaussian_radius(3, 4), float)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((-1.0, 2.0), {}, ValueError, "height must be >= 0"),
        ((1.0, np.nan), {}, ValueError, "width must be finite"),
        ((1.0, 2.0), {"min_overlap": 0.0}, ValueError, r"min_overlap must be in \(0, 1\]"),
        ((1.0, 2.0), {"min_overlap": 1.5}, ValueError, "min_overlap"),
        ((1.0, 2.0), {"min_overlap": "0.7"}, TypeError, "min_overlap must be a number"),
        (([1.0, 2.0], [1.0, 2.0, 3.0]), {}, ValueError, "must broadcast"),
        (("a", 2.0), {}, TypeError, "height"),
    ],
)
def test_gaussian_radius_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        gaussian_radius(*args, **kwargs)


# --------------------------------------------------------------------------- targets
IMG = (96.0, 128.0)  # (H, W) pixels
STRIDE = 4
GRID = (24, 32)  # (H / R, W / R)


@st.composite
def scenes(draw, max_size=6, n_class=3):
    bbox = draw(boxes_in_image(IMG, min_size=0, max_size=max_size, min_side=2.0))
    label = np.array(
        draw(st.lists(st.integers(0, n_class - 1), min_size=len(bbox), max_size=len(bbox))),
        np.int64,
    )
    return bbox, label


@given(scenes())
def test_targets_centre_cell_size_and_offset(scene):
    # Objects as Points Sec. 3: p~ = floor(p / R), offset p / R - p~, size (w, h) (in cells)
    bbox, label = scene
    t = centernet_targets(bbox, label, 3, GRID, STRIDE, dtype=np.float64)
    centre = (bbox[:, :2] + bbox[:, 2:]) / 2 / STRIDE
    cell = np.stack([t.index % GRID[1], t.index // GRID[1]], axis=1)
    np.testing.assert_allclose(cell + t.offset, centre, atol=1e-12)
    assert ((t.offset >= 0) & (t.offset < 1)).all()
    np.testing.assert_allclose(t.size, (bbox[:, 2:] - bbox[:, :2]) / STRIDE)
    assert t.mask.all() and t.index.dtype == np.int64


@given(scenes())
def test_targets_heatmap_is_one_exactly_at_the_centres(scene):
    # Eq. (heatmap) of Sec. 3: Y in [0, 1], the peak Y = 1 at p~ of each object of the class
    bbox, label = scene
    t = centernet_targets(bbox, label, 3, GRID, STRIDE)
    assert t.heatmap.shape == (3, *GRID) and t.heatmap.dtype == np.float32
    assert t.heatmap.min() >= 0 and t.heatmap.max() <= 1
    ones = set(zip(*np.nonzero(t.heatmap == 1)))
    expected = {(int(c), int(i // GRID[1]), int(i % GRID[1])) for c, i in zip(label, t.index)}
    assert ones == expected


@given(scenes(), st.integers(0, 3))
def test_targets_overlapping_gaussians_combine_by_elementwise_max(scene, min_radius):
    # the course deck, §M: "If overlap, take element-wise maximum" (not the sum)
    bbox, label = scene
    full = centernet_targets(bbox, label, 3, GRID, STRIDE, min_radius=min_radius).heatmap
    single = [
        centernet_targets(bbox[k : k + 1], label[k : k + 1], 3, GRID, STRIDE, min_radius=min_radius)
        for k in range(len(bbox))
    ]
    expected = np.max([s.heatmap for s in single], axis=0) if single else np.zeros_like(full)
    np.testing.assert_array_equal(full, expected)


@given(st.floats(8.0, 120.0), st.floats(8.0, 90.0), st.integers(0, 3))
def test_targets_gaussian_of_sigma_from_the_radius(w, h, min_radius):
    # Y = exp(-((x - p~x)^2 + (y - p~y)^2) / (2 sigma^2)), sigma = (2r + 1) / 6, cut at |d| <= r
    bbox = np.array([[64 - w / 2, 48 - h / 2, 64 + w / 2, 48 + h / 2]])
    t = centernet_targets(bbox, [0], 1, GRID, STRIDE, min_radius=min_radius, dtype=np.float64)
    r = max(int(np.floor(gaussian_radius(h / STRIDE, w / STRIDE))), min_radius)
    sigma = (2 * r + 1) / 6
    cy, cx = int(t.index[0] // GRID[1]), int(t.index[0] % GRID[1])
    yy, xx = np.mgrid[: GRID[0], : GRID[1]]
    expected = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    expected[(np.abs(xx - cx) > r) | (np.abs(yy - cy) > r)] = 0
    np.testing.assert_allclose(t.heatmap[0], expected, rtol=1e-12)


def test_targets_worked_example_and_degenerate_boxes():
    # a 32 x 32 px box (8 x 8 cells) centred at (20, 24) px -> cell (5, 6), offset 0
    t = centernet_targets(
        [[4.0, 8.0, 36.0, 40.0], [50.0, 10.0, 50.0, 30.0]], [1, 0], 2, (16, 16), dtype=np.float64
    )
    assert isinstance(t, CenterNetTargets)
    np.testing.assert_array_equal(t.mask, [True, False])  # zero width: no target
    assert t.index[0] == 6 * 16 + 5
    np.testing.assert_array_equal(t.size, [[8.0, 8.0], [0.0, 0.0]])
    assert t.heatmap[0].max() == 0 and t.heatmap[1].sum() == 1.0  # r = floor(0.65) = 0
    empty = centernet_targets(np.zeros((0, 4)), np.zeros(0, np.int64), 2, (4, 5))
    assert empty.heatmap.shape == (2, 4, 5) and not empty.heatmap.any()
    assert empty.size.shape == (0, 2) and empty.index.shape == (0,)
    # a centre on the far border is kept on the grid
    edge = centernet_targets([[60.0, 60.0, 64.0, 64.0]], [0], 1, (16, 16), dtype=np.float64)
    assert edge.index[0] == 15 * 16 + 15 and edge.offset.tolist() == [[0.5, 0.5]]


def test_targets_do_not_modify_inputs():
    bbox, label = np.array([[1.0, 2.0, 30.0, 40.0]]), np.array([0])
    before = bbox.copy()
    centernet_targets(bbox, label, 1, (16, 16))
    np.testing.assert_array_equal(bbox, before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bbox": [[0, 0, 1]]}, ValueError, r"bbox must have shape \(R, 4\)"),
        ({"bbox": [[5, 0, 1, 1]]}, ValueError, "inverted"),
        ({"label": [0, 1]}, ValueError, r"label must have shape \(M,\)"),
        ({"label": [2]}, ValueError, r"label must be in \[0, n_class"),
        ({"label": [0.5]}, TypeError, "label must be an integer array"),
        ({"n_class": 0}, ValueError, "n_class must be a positive integer"),
        ({"output_size": (4,)}, ValueError, "output_size must be"),
        ({"output_size": (4, 0)}, ValueError, "output_size must be"),
        ({"stride": 2.5}, TypeError, "stride must be a positive integer"),
        ({"min_radius": -1}, ValueError, "min_radius must be a non-negative integer"),
        ({"min_overlap": 0}, ValueError, "min_overlap"),
        ({"dtype": np.int32}, TypeError, "dtype must be a floating dtype"),
    ],
)
def test_targets_reject_bad_input(kwargs, error, match):
    args = {"bbox": [[0, 0, 8, 8]], "label": [0], "n_class": 2, "output_size": (4, 4)} | kwargs
    with pytest.raises(error, match=match):
        centernet_targets(**args)


# --------------------------------------------------------------------------- decoding
def _oracle_maps(t: CenterNetTargets, grid):
    """The size and offset maps a perfect network would predict: the targets at the centres."""
    size, offset = np.zeros((2, *grid)), np.zeros((2, *grid))
    ys, xs = t.index // grid[1], t.index % grid[1]
    size[:, ys, xs], offset[:, ys, xs] = t.size.T, t.offset.T
    return size, offset


@given(scenes(max_size=5))
def test_decode_inverts_the_targets(scene):
    # Sec. 4: box = (x^ + dx -+ w/2, y^ + dy -+ h/2) R recovers every object whose peak survives
    bbox, label = scene
    t = centernet_targets(bbox, label, 3, GRID, STRIDE, dtype=np.float64)
    keys = list(zip(label.tolist(), t.index.tolist()))
    cells = np.stack([t.index // GRID[1], t.index % GRID[1]], axis=1)
    near = [  # a same-class peak in its 3 x 3 neighbourhood, or any object in its cell
        any(
            j != i and np.abs(cells[i] - cells[j]).max() <= (1 if label[j] == label[i] else 0)
            for j in range(len(bbox))
        )
        for i in range(len(bbox))
    ]
    size, offset = _oracle_maps(t, GRID)
    out, out_label, score = centernet_decode(t.heatmap, size, offset, STRIDE, score_thresh=0.99)
    assert len(out) == len(set(keys))
    for i in range(len(bbox)):
        if not near[i]:  # alone in its 3 x 3 neighbourhood: decoded exactly
            hit = (out_label == label[i]) & np.isclose(out, bbox[i], atol=1e-9).all(axis=1)
            assert hit.sum() == 1
    assert np.all(score == 1.0)


def test_decode_two_objects_of_one_class_in_one_cell_collide():
    # Sec. 4 / Notes: centres in the same cell share one peak -> one detection
    bbox = np.array([[10.0, 10.0, 30.0, 30.0], [12.0, 12.0, 29.0, 31.0]])  # centres 20, 20.5 px
    same = centernet_targets(bbox, [1, 1], 2, (16, 16), dtype=np.float64)
    assert same.index[0] == same.index[1]
    size, offset = _oracle_maps(same, (16, 16))
    det, lab, _ = centernet_decode(same.heatmap, size, offset, score_thresh=0.5)
    assert len(det) == 1  # one object is lost, whatever the network does
    # different classes in that cell: two peaks, but one shared size and offset
    other = centernet_targets(bbox, [0, 1], 2, (16, 16), dtype=np.float64)
    size, offset = _oracle_maps(other, (16, 16))
    det, lab, _ = centernet_decode(other.heatmap, size, offset, score_thresh=0.5)
    assert sorted(lab.tolist()) == [0, 1] and np.array_equal(det[0], det[1])
    # one cell apart, one class: both peaks are 1 and both survive the 3 x 3 max-pool
    apart = np.array([[10.0, 10.0, 30.0, 30.0], [14.0, 10.0, 34.0, 30.0]])  # cells x = 5, 6
    t = centernet_targets(apart, [0, 0], 1, (16, 16), dtype=np.float64)
    size, offset = _oracle_maps(t, (16, 16))
    det, _, _ = centernet_decode(t.heatmap, size, offset, score_thresh=0.5)
    np.testing.assert_allclose(det[np.argsort(det[:, 0])], apart)
    # ...but a network whose peaks differ keeps only the higher one
    heat = t.heatmap.copy()
    heat[0, 5, 6] = 0.8
    det, _, score = centernet_decode(heat, size, offset, score_thresh=0.5)
    assert len(det) == 1 and score[0] == 1.0


def test_decode_top_k_threshold_and_shapes():
    rng = np.random.default_rng(0)
    heat = rng.random((3, 10, 12)).astype(np.float32)
    size = rng.random((2, 10, 12)).astype(np.float32)
    offset = rng.random((2, 10, 12)).astype(np.float32)
    bbox, label, score = centernet_decode(heat, size, offset, k=7)
    assert bbox.shape == (7, 4) and bbox.dtype == np.float32 and label.dtype == np.int64
    assert np.all(np.diff(score) <= 0)
    _, _, s = centernet_decode(heat, size, offset, k=100, score_thresh=0.9)
    assert (s > 0.9).all()
    empty = centernet_decode(heat, size, offset, k=0)
    assert empty[0].shape == (0, 4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"heatmap": np.zeros((4, 4))}, ValueError, r"heatmap must have shape \(C, H_o, W_o\)"),
        ({"size": np.zeros((2, 4, 5))}, ValueError, r"size must have shape \(2, 4, 4\)"),
        ({"offset": np.zeros((3, 4, 4))}, ValueError, "offset must have shape"),
        ({"offset": np.full((2, 4, 4), np.nan)}, ValueError, "offset must be finite"),
        ({"stride": 0}, ValueError, "stride must be a positive integer"),
        ({"k": 1.5}, TypeError, "k must be a non-negative integer"),
        ({"score_thresh": "x"}, TypeError, "score_thresh must be a real number"),
    ],
)
def test_decode_rejects_bad_input(kwargs, error, match):
    args = {"heatmap": np.zeros((1, 4, 4)), "size": np.zeros((2, 4, 4))}
    args |= {"offset": np.zeros((2, 4, 4))} | kwargs
    with pytest.raises(error, match=match):
        centernet_decode(**args)


# --------------------------------------------------------------------------- edges (mutation)
def test_decode_keeps_100_peaks_by_default():
    # Objects as Points Sec. 4: "the top 100 peaks"; a map of 150 isolated peaks gives 100
    heat = np.zeros((1, 30, 20))
    heat[0, ::2, ::2] = np.linspace(0.2, 0.9, 150).reshape(15, 10)  # 150 peaks, none adjacent
    size, offset = np.ones((2, 30, 20)), np.zeros((2, 30, 20))
    bbox, label, score = centernet_decode(heat, size, offset)
    assert len(bbox) == len(label) == len(score) == 100
    np.testing.assert_array_equal(score, np.sort(heat[0, ::2, ::2].ravel())[::-1][:100])


def test_decode_drops_a_peak_exactly_at_score_thresh():
    # "drop peaks whose score is not above it": a peak equal to the threshold is dropped
    heat = np.zeros((1, 5, 5))
    heat[0, 1, 1], heat[0, 3, 3] = 0.5, 0.75
    size, offset = np.ones((2, 5, 5)), np.zeros((2, 5, 5))
    _, _, score = centernet_decode(heat, size, offset, score_thresh=0.5)
    np.testing.assert_array_equal(score, [0.75])
    _, _, score = centernet_decode(heat, size, offset, score_thresh=np.nextafter(0.5, 0))
    np.testing.assert_array_equal(score, [0.75, 0.5])


@pytest.mark.parametrize("wide", ["heatmap", "size", "offset"])
def test_decode_boxes_are_float32_only_when_all_three_maps_are(wide):
    # the dtype policy: float32 stays float32, one float64 input makes the boxes float64
    rng = np.random.default_rng(0)
    maps = {
        "heatmap": rng.random((2, 6, 7)).astype(np.float32),
        "size": rng.random((2, 6, 7)).astype(np.float32),
        "offset": rng.random((2, 6, 7)).astype(np.float32),
    }
    assert centernet_decode(**maps, k=5)[0].dtype == np.float32
    maps[wide] = maps[wide].astype(np.float64)
    assert centernet_decode(**maps, k=5)[0].dtype == np.float64


@pytest.mark.parametrize("name", ["size", "offset"])
def test_decode_errors_name_a_non_numeric_map(name):
    args = {"heatmap": np.zeros((1, 4, 4)), "size": np.zeros((2, 4, 4))}
    args |= {"offset": np.zeros((2, 4, 4))} | {name: np.full((2, 4, 4), "a")}
    with pytest.raises(TypeError, match=f"{name} must be a real numeric array"):
        centernet_decode(**args)


def _gaussian_map(grid, cx, cy, r):
    """Sec. 3's bump of sigma (2r + 1) / 6 at cell (cx, cy), cut at |dx|, |dy| <= r."""
    sigma = (2 * r + 1) / 6
    yy, xx = np.mgrid[: grid[0], : grid[1]]
    out = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    out[(np.abs(xx - cx) > r) | (np.abs(yy - cy) > r)] = 0
    return out


@pytest.mark.parametrize("min_radius", [1, 3])
def test_targets_bumps_at_the_grid_corners_are_cut_by_the_grid(min_radius):
    # a bump on a border cell keeps its values inside the grid (H_o != W_o: rows and columns
    # are not interchangeable); small boxes get r = min_radius
    grid = (5, 7)
    bbox = [[0.0, 0.0, 4.0, 4.0], [24.0, 16.0, 28.0, 20.0]]  # centre cells (0, 0), (6, 4)
    t = centernet_targets(bbox, [0, 1], 2, grid, 4, min_radius=min_radius, dtype=np.float64)
    np.testing.assert_array_equal(t.index, [0, 4 * 7 + 6])
    np.testing.assert_allclose(t.heatmap[0], _gaussian_map(grid, 0, 0, min_radius), rtol=1e-12)
    np.testing.assert_allclose(t.heatmap[1], _gaussian_map(grid, 6, 4, min_radius), rtol=1e-12)


def test_targets_centres_off_the_grid_go_to_the_nearest_border_cell():
    # Notes: a centre outside the grid is clipped to the border cell, x to [0, W_o - 1] and
    # y to [0, H_o - 1]; the offset p / R - p~ then leaves [0, 1)
    grid = (6, 8)  # H_o = 6, W_o = 8
    bbox = [[-20.0, -12.0, 4.0, 4.0], [100.0, 70.0, 140.0, 90.0], [-8.0, 60.0, 0.0, 80.0]]
    t = centernet_targets(bbox, [0, 0, 0], 1, grid, 4, dtype=np.float64)
    # centres in cells (-2, -1), (30, 20), (-1, 17.5) -> cells (0, 0), (7, 5), (0, 5)
    np.testing.assert_array_equal(t.index, [0, 5 * 8 + 7, 5 * 8 + 0])
    np.testing.assert_array_equal(t.offset, [[-2.0, -1.0], [23.0, 15.0], [-1.0, 12.5]])
    np.testing.assert_array_equal(t.size, [[6.0, 4.0], [10.0, 5.0], [2.0, 5.0]])
    assert t.heatmap[0, 0, 0] == t.heatmap[0, 5, 7] == t.heatmap[0, 5, 0] == 1.0


def test_targets_of_an_empty_box_are_zero_and_labels_may_be_an_empty_list():
    # Returns: a box of zero width or height gets mask False, zero size AND zero offset
    t = centernet_targets([[50.0, 10.0, 50.0, 30.0], [9.0, 9.0, 21.0, 9.0]], [0, 0], 1, (8, 16))
    np.testing.assert_array_equal(t.mask, [False, False])
    np.testing.assert_array_equal(t.size, np.zeros((2, 2)))
    np.testing.assert_array_equal(t.offset, np.zeros((2, 2)))
    assert not t.heatmap.any()
    # M = 0 from plain lists: the empty label list is read as integers
    t = centernet_targets([], [], 2, (3, 4))
    assert t.heatmap.shape == (2, 3, 4) and not t.heatmap.any()
    assert t.size.shape == t.offset.shape == (0, 2) and t.index.dtype == np.int64
    # ...and an empty label list for boxes is a shape error, not a dtype error
    with pytest.raises(ValueError, match=r"label must have shape \(M,\) = \(1,\); got \(0,\)"):
        centernet_targets([[0.0, 0.0, 8.0, 8.0]], [], 1, (3, 4))


def test_targets_size_and_offset_have_the_requested_dtype():
    # dtype (default float32) is the dtype of heatmap, size and offset alike
    bbox, label = [[4.0, 8.0, 37.0, 41.0]], [0]
    t = centernet_targets(bbox, label, 1, (16, 16))
    assert t.heatmap.dtype == t.size.dtype == t.offset.dtype == np.float32
    np.testing.assert_array_equal(t.size, np.float32([[8.25, 8.25]]))
    t = centernet_targets(bbox, label, 1, (16, 16), dtype=np.float64)
    assert t.heatmap.dtype == t.size.dtype == t.offset.dtype == np.float64


def test_targets_do_not_depend_on_the_precision_of_the_boxes():
    # the targets are computed in float64 from the boxes' values: float32 boxes give the
    # targets of the same values in float64 (p / R and (w, h) / R are not rounded to float32)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (6, 2))
    bbox32 = np.concatenate([xy, xy + rng.uniform(1, 30, (6, 2))], axis=1).astype(np.float32)
    label = rng.integers(0, 2, 6)
    t32 = centernet_targets(bbox32, label, 2, GRID, 3, dtype=np.float64)
    t64 = centernet_targets(bbox32.astype(np.float64), label, 2, GRID, 3, dtype=np.float64)
    for a, b in zip(t32, t64):
        np.testing.assert_array_equal(a, b)


def test_targets_on_a_one_cell_grid():
    # output_size (1, 1) is valid: every centre is clipped to the one cell
    t = centernet_targets([[0.0, 0.0, 8.0, 8.0], [8.0, 0.0, 12.0, 4.0]], [0, 0], 1, (1, 1))
    np.testing.assert_array_equal(t.index, [0, 0])
    assert t.heatmap.shape == (1, 1, 1) and t.heatmap[0, 0, 0] == 1.0


# ------------------------------------------------- regression samples around the centre (TTFNet)
def _region_reference(bbox, grid, stride, radius):
    """Loops over objects and cells: the rule of centernet_region_targets, written out."""
    h_out, w_out = grid
    samples, best, homes = [], {}, set()
    valid = [k for k, b in enumerate(bbox) if b[2] > b[0] and b[3] > b[1]]
    centre = {k: ((bbox[k][0] + bbox[k][2]) / 2 / stride, (bbox[k][1] + bbox[k][3]) / 2 / stride)
              for k in valid}  # fmt: skip
    home = {k: (min(max(math.floor(centre[k][0]), 0), w_out - 1),
                min(max(math.floor(centre[k][1]), 0), h_out - 1)) for k in valid}  # fmt: skip
    for k in valid:
        samples.append((home[k][1] * w_out + home[k][0], k))
        homes.add(home[k][1] * w_out + home[k][0])
    for k in valid:
        x1, y1, x2, y2 = (v / stride for v in bbox[k])
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                x, y = home[k][0] + dx, home[k][1] + dy
                if (dx, dy) == (0, 0) or not (0 <= x < w_out and 0 <= y < h_out):
                    continue
                if not (x1 <= x + 0.5 <= x2 and y1 <= y + 0.5 <= y2) or y * w_out + x in homes:
                    continue
                d = (centre[k][0] - x - 0.5) ** 2 + (centre[k][1] - y - 0.5) ** 2
                best[y * w_out + x] = min(best.get(y * w_out + x, (np.inf, -1)), (d, k))
    samples += [(q, best[q][1]) for q in sorted(best)]
    return samples


@given(scenes(max_size=8), st.integers(0, 3))
def test_region_targets_follow_the_rule_and_decode_to_the_centre(scene, radius):
    # TTFNet (Liu et al., arXiv:1909.00700, Sec. 3.3): the cells around the centre are
    # regression samples too; from any of them q + o_q = p / R and s_q = (w, h) / R.
    bbox, label = scene
    t = centernet_region_targets(bbox, GRID, STRIDE, radius=radius, dtype=np.float64)
    assert list(zip(t.index.tolist(), t.object.tolist())) == _region_reference(
        bbox.tolist(), GRID, STRIDE, radius
    )
    centre = (bbox[:, :2] + bbox[:, 2:]) / 2 / STRIDE
    cell = np.stack([t.index % GRID[1], t.index // GRID[1]], axis=1)
    np.testing.assert_allclose(cell + t.offset, centre[t.object], atol=1e-12)
    np.testing.assert_allclose(t.size, (bbox[t.object, 2:] - bbox[t.object, :2]) / STRIDE)
    # the centre cells come first, with exactly CenterNet's targets
    plain = centernet_targets(bbox, label, 3, GRID, STRIDE, dtype=np.float64)
    m = int(plain.mask.sum())
    np.testing.assert_array_equal(t.index[:m], plain.index[plain.mask])
    np.testing.assert_array_equal(t.size[:m], plain.size[plain.mask])
    np.testing.assert_array_equal(t.offset[:m], plain.offset[plain.mask])
    if radius == 0:
        assert len(t.index) == m


def test_region_targets_worked_example_two_neighbours():
    # a: 8 x 8 px centred at (10, 10) px, p / R = (2.5, 2.5); b: 10 x 8 px centred at
    # (19, 10) px, p / R = (4.75, 2.5). Column 3 lies in both regions; its cell centres are
    # 1.0 from a's centre and 1.25 from b's: a's, in either order of the boxes.
    a, b = [6.0, 6.0, 14.0, 14.0], [14.0, 6.0, 24.0, 14.0]
    for boxes, ia, ib in (([a, b], 0, 1), ([b, a], 1, 0)):
        t = centernet_region_targets(boxes, (8, 8), 4, radius=1, dtype=np.float64)
        cells = {(int(i % 8), int(i // 8)): int(k) for i, k in zip(t.index, t.object)}
        assert cells[(2, 2)] == ia and cells[(4, 2)] == ib  # the centre cells
        assert all(cells[(3, y)] == ia for y in (1, 2, 3))  # the nearer centre
        assert all(cells[(5, y)] == ib for y in (1, 2, 3)) and (1, 1) in cells
        assert len(t.index) == 9 + 6  # b loses column 3 to a
        np.testing.assert_allclose(t.offset[list(t.index).index(3 * 8 + 5)], [-0.25, -0.5])
    empty = centernet_region_targets(np.zeros((0, 4)), (8, 8))
    assert empty.index.shape == (0,) and empty.size.shape == (0, 2)
    zero = centernet_region_targets([[4.0, 4.0, 4.0, 9.0]], (8, 8))  # zero width: no sample
    assert len(zero.index) == 0 and zero.offset.dtype == np.float32


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(radius=-1), ValueError, "radius"),
    (dict(radius=1.5), TypeError, "radius"),
    (dict(stride=0), ValueError, "stride"),
    (dict(output_size=(8,)), ValueError, "output_size"),
    (dict(bbox=[[4.0, 4.0, 2.0, 9.0]]), ValueError, "bbox"),
    (dict(dtype=np.int32), TypeError, "dtype"),
])  # fmt: skip
def test_region_targets_reject_bad_input(kwargs, error, match):
    args = dict(bbox=[[2.0, 2.0, 9.0, 9.0]], output_size=(8, 8)) | kwargs
    with pytest.raises(error, match=match):
        centernet_region_targets(**args)


def test_region_targets_do_not_modify_the_boxes():
    bbox = np.array([[2.0, 2.0, 9.0, 9.0], [3.0, 1.0, 12.0, 7.0]])
    before = bbox.copy()
    centernet_region_targets(bbox, (8, 8), radius=2)
    np.testing.assert_array_equal(bbox, before)
