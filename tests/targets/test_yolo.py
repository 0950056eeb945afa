"""YOLO box coding and target assignment against the papers' equations.

Sources: Redmon et al., "You Only Look Once", CVPR 2016, arXiv:1506.02640 (v1);
Redmon & Farhadi, "YOLO9000", CVPR 2017, arXiv:1612.08242, Sec. 2 "Direct
location prediction" (v2 coding); Redmon & Farhadi, "YOLOv3: An Incremental
Improvement", arXiv:1804.02767, Sec. 2.1 and 2.3 (v3 assignment); the course
deck *Detection – 3 stages*, §E1, §F2.2, §G1.2.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore import box_iou, kmeans_anchors
from bboxcore.targets.yolo import (
    IGNORE,
    POSITIVE,
    yolo_decode,
    yolo_encode,
    yolo_grid,
    yolov1_decode,
    yolov1_targets,
    yolov3_targets,
)

finite = st.floats(-6, 6, allow_nan=False, width=64)
ANCHORS9 = np.array([[s, s * r] for s in (8.0, 20.0, 48.0) for r in (0.5, 1.0, 2.0)])
ANCHORS9 = ANCHORS9[np.argsort(ANCHORS9.prod(1), kind="stable")]


@st.composite
def scenes(draw, img=64, max_boxes=6):
    """GT boxes of positive size inside an img×img image, and their labels."""
    n = draw(st.integers(0, max_boxes))
    xy = draw(hnp.arrays(np.float64, (n, 2), elements=st.floats(0, img - 4)))
    wh = draw(hnp.arrays(np.float64, (n, 2), elements=st.floats(2, img)))
    x2y2 = np.minimum(xy + wh, img)
    bbox = np.round(np.concatenate([xy, x2y2], 1) * 4) / 4
    label = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)))
    return bbox, label


# --------------------------------------------------------------------------- v2/v3 coding
@settings(max_examples=60, deadline=None)
@given(
    loc=hnp.arrays(np.float64, (5, 4), elements=finite),
    cells=hnp.arrays(np.int64, (5, 2), elements=st.integers(0, 20)),
    anchors=hnp.arrays(np.float64, (5, 2), elements=st.floats(0.5, 100)),
    stride=st.sampled_from([1.0, 8.0, 16.0, 32.0]),
)
def test_yolo_encode_inverts_yolo_decode(loc, cells, anchors, stride):
    # YOLO9000 Sec. 2: b_x = σ(t_x) + c_x, b_w = p_w e^{t_w}; the inverse recovers t.
    box = yolo_decode(loc, cells, anchors, stride)
    np.testing.assert_allclose(yolo_encode(box, cells, anchors, stride), loc, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    loc=hnp.arrays(np.float64, (6, 4), elements=st.floats(-50, 50)),
    cells=hnp.arrays(np.int64, (6, 2), elements=st.integers(0, 20)),
    stride=st.sampled_from([1.0, 8.0, 32.0]),
)
def test_yolo_decode_centre_stays_in_its_cell(loc, cells, stride):
    # YOLO9000 Sec. 2 / deck §F2.2: σ(t_x) ∈ [0, 1] keeps the centre inside cell (c_x, c_y).
    box = yolo_decode(loc, cells, np.ones((6, 2)), stride)
    centre = (box[:, :2] + box[:, 2:]) / 2 / stride
    assert (centre >= cells - 1e-9).all() and (centre <= cells + 1 + 1e-9).all()


def test_yolo_decode_matches_the_equations_by_hand():
    # b_x = σ(t_x) + c_x, b_w = p_w e^{t_w} in grid units, then × stride in pixels.
    t = np.array([np.log(3.0), 0.0, np.log(2.0), -np.log(2.0)])  # σ(log 3) = 3/4
    bx, by, bw, bh = 0.75 + 2, 0.5 + 5, 4.0 * 2, 6.0 / 2
    grid = yolo_decode(t, [2, 5], [4.0, 6.0])
    np.testing.assert_allclose(grid, [bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2])
    pix = yolo_decode(t, [2, 5], [4.0 * 8, 6.0 * 8], stride=8.0)
    np.testing.assert_allclose(pix, grid * 8)


def test_yolo_decode_keeps_float32_and_broadcasts_a_dense_map():
    loc = np.zeros((2, 3, 4, 5, 4), np.float32)  # (N, H, W, A, 4)
    cy, cx = np.meshgrid(np.arange(3), np.arange(4), indexing="ij")
    cells = np.stack([cx, cy], -1)[:, :, None, :]  # (H, W, 1, 2)
    box = yolo_decode(loc, cells, np.full((5, 2), 8, np.float32), stride=8.0)
    assert box.shape == (2, 3, 4, 5, 4) and box.dtype == np.float32
    assert box[0, 2, 3, 0].tolist() == [28.0 - 4, 20.0 - 4, 28.0 + 4, 20.0 + 4]


def test_yolo_decode_clips_t_wh_before_exp():
    box = yolo_decode([0.0, 0.0, 1e4, 0.0], [0, 0], [1.0, 1.0])
    assert np.isfinite(box).all()


def test_yolo_encode_clips_a_border_centre():
    # A centre exactly on the cell border has fraction 0: t_x = σ^{-1}(LOGIT_CLIP), finite.
    loc = yolo_encode([[7.0, 7.0, 9.0, 9.0]], [[1, 1]], [[2.0, 2.0]], stride=8.0)
    assert np.isfinite(loc).all() and loc[0, 0] < -13


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loc": np.zeros((2, 3))}, "loc must have shape"),
        ({"anchors": [0.0, 1.0]}, "anchors"),
        ({"stride": 0.0}, "stride must be positive"),
        ({"cells": np.zeros((3, 2))}, "broadcast"),
        ({"loc": [np.nan, 0, 0, 0]}, "loc"),
    ],
)
def test_yolo_decode_rejects_bad_input(kwargs, match):
    args = {"loc": np.zeros((2, 4)), "cells": np.zeros((2, 2)), "anchors": [1.0, 1.0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        yolo_decode(**args)


def test_yolo_encode_rejects_centre_outside_cell_and_empty_box():
    with pytest.raises(ValueError, match="centre must lie in its cell"):
        yolo_encode([0.0, 0.0, 2.0, 2.0], [3, 0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive width"):
        yolo_encode([1.0, 1.0, 1.0, 2.0], [1, 1], [1.0, 1.0])


def test_yolo_grid_layout_and_anchor_groups():
    # YOLOv3 Sec. 2.3 / deck §G1.2: 3 scales, 3 anchors each; smallest anchors at stride 8.
    g = yolo_grid((128, 96), ANCHORS9, (8, 16, 32))
    assert g.feat_sizes == [(16, 12), (8, 6), (4, 3)]
    assert len(g.cells) == (16 * 12 + 8 * 6 + 4 * 3) * 3
    assert (g.stride[: 16 * 12 * 3] == 8).all() and (g.stride[-4 * 3 * 3 :] == 32).all()
    np.testing.assert_array_equal(g.anchors[:3], ANCHORS9[:3])
    np.testing.assert_array_equal(g.anchors[-3:], ANCHORS9[6:])
    # row-major: the 2nd cell of scale 0 is column 1 of row 0
    np.testing.assert_array_equal(g.cells[3], [1, 0])
    with pytest.raises(ValueError, match="split evenly"):
        yolo_grid((64, 64), ANCHORS9[:8], (8, 16, 32))
    with pytest.raises(ValueError, match="increasing"):
        yolo_grid((64, 64), ANCHORS9, (32, 16, 8))


def test_kmeans_anchors_nine_sorted_by_area_three_per_scale():
    # YOLOv3 Sec. 2.3: 9 clusters sorted by area, split 3/3/3 over the scales.
    rng = np.random.default_rng(0)
    wh = np.exp(rng.uniform(np.log(8), np.log(100), (300, 2)))
    anchors, _ = kmeans_anchors(wh, 9, rng)
    area = anchors.prod(1)
    assert (np.diff(area) >= 0).all()
    g = yolo_grid((128, 128), anchors, (8, 16, 32))
    assert g.anchors[0].prod() <= g.anchors[-1].prod()


# --------------------------------------------------------------------------- v1
@settings(max_examples=50, deadline=None)
@given(scene=scenes(), s=st.integers(1, 9))
def test_yolov1_targets_centre_in_responsible_cell(scene, s):
    # YOLOv1 Sec. 2: the cell holding the centre is responsible; (x, y) relative to the
    # cell in [0, 1], (w, h) relative to the image.
    bbox, label = scene
    t = yolov1_targets(bbox, label, (64, 64), s, 3)
    assert t.obj_mask.sum() <= len(bbox)
    for r, c in np.argwhere(t.obj_mask):
        x, y, w, h = t.box[r, c]
        assert 0 <= x <= 1 and 0 <= y <= 1
        centre = np.array([(c + x) / s * 64, (r + y) / s * 64])
        # the decoded target is one of the GT boxes
        dec = np.array([*(centre - [w * 32, h * 32]), *(centre + [w * 32, h * 32])])
        match = np.abs(bbox - dec).max(1) < 1e-9
        assert match.any()
        assert t.cls[r, c].sum() == 1 and t.cls[r, c, label[match]].max() == 1
    # every GT centre's cell is marked
    for b in bbox:
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        assert t.obj_mask[min(int(cy / 64 * s), s - 1), min(int(cx / 64 * s), s - 1)]


def test_yolov1_targets_one_object_per_cell_largest_wins():
    # Deck §E3: "1 cell 1 obj"; two centres in one cell keep the larger box.
    t = yolov1_targets([[0, 0, 10, 10], [0, 0, 20, 20]], [0, 1], (100, 100), 2, 2)
    assert t.obj_mask.sum() == 1
    np.testing.assert_allclose(t.box[0, 0], [0.2, 0.2, 0.2, 0.2])
    assert t.cls[0, 0].tolist() == [0, 1]


def test_yolov1_targets_bad_input():
    with pytest.raises(ValueError, match="grid_size"):
        yolov1_targets([[0, 0, 1, 1]], [0], (8, 8), 0, 1)
    with pytest.raises(ValueError, match="label must be integers"):
        yolov1_targets([[0, 0, 1, 1]], [3], (8, 8), 2, 2)
    with pytest.raises(ValueError, match="label must have shape"):
        yolov1_targets([[0, 0, 1, 1]], [0, 1], (8, 8), 2, 2)


def test_yolov1_decode_inverts_targets_and_scores_are_class_times_confidence():
    # YOLOv1 Eq. 2: Pr(class_i | object) · Pr(object) · IoU = class-specific confidence.
    bbox = np.array([[10.0, 20.0, 50.0, 44.0]])
    t = yolov1_targets(bbox, [1], (64, 64), 4, 3)
    pred = np.zeros((4, 4, 5 * 2 + 3))
    r, c = np.argwhere(t.obj_mask)[0]
    pred[r, c, 5:9] = t.box[r, c]
    pred[r, c, 9] = 0.8
    pred[r, c, 10:] = [0.1, 0.7, 0.2]
    box, score = yolov1_decode(pred, (64, 64), n_box=2)
    k = (r * 4 + c) * 2 + 1
    np.testing.assert_allclose(box[k], bbox[0])
    np.testing.assert_allclose(score[k], 0.8 * np.array([0.1, 0.7, 0.2]))
    assert score.shape == (4 * 4 * 2, 3)


# --------------------------------------------------------------------------- v3
@settings(max_examples=50, deadline=None)
@given(scene=scenes(img=64))
def test_yolov3_each_gt_goes_to_its_best_shape_anchor_at_its_centre_cell(scene):
    # YOLOv3 Sec. 2.1/2.3: one anchor of nine per GT (best shape IoU), its scale,
    # the cell of the centre; the targets decode back to the GT box.
    bbox, label = scene
    strides = (8, 16, 32)
    g = yolo_grid((64, 64), ANCHORS9, strides)
    t = yolov3_targets(bbox, label, (64, 64), ANCHORS9, strides, 3)
    pos = np.flatnonzero(t.obj == POSITIVE)
    assert len(pos) <= len(bbox)
    assert ((t.obj == 0) | (t.obj == POSITIVE)).all()  # no pred_bbox: nothing ignored
    for j in pos:
        x, y, tw, th = t.loc[j]
        assert 0 <= x <= 1 and 0 <= y <= 1
        s, (cx, cy), (pw, ph) = g.stride[j, 0], g.cells[j], g.anchors[j]
        centre = (np.array([cx, cy]) + [x, y]) * s
        wh = np.array([pw, ph]) * np.exp([tw, th])
        dec = np.concatenate([centre - wh / 2, centre + wh / 2])
        match = np.flatnonzero(np.abs(bbox - dec).max(1) < 1e-6)
        assert len(match)
        i = match[-1]
        w, h = bbox[i, 2] - bbox[i, 0], bbox[i, 3] - bbox[i, 1]
        inter = np.minimum(w, ANCHORS9[:, 0]) * np.minimum(h, ANCHORS9[:, 1])
        shape_iou = inter / (w * h + ANCHORS9.prod(1) - inter)
        assert shape_iou[np.where((ANCHORS9 == g.anchors[j]).all(1))[0][0]] == shape_iou.max()
        np.testing.assert_allclose(t.box_weight[j], 2 - w * h / 64**2)
        assert t.cls[j, label[i]] == 1
    assert (t.box_weight[t.obj != POSITIVE] == 0).all()
    # distinct boxes with distinct (scale, cell, anchor) are all assigned
    if len(bbox) and len(np.unique(bbox, axis=0)) == len(bbox):
        assert len(pos) >= 1


@settings(max_examples=40, deadline=None)
@given(scene=scenes(img=64), seed=st.integers(0, 2**16), thresh=st.floats(0.1, 0.9))
def test_yolov3_ignores_exactly_the_predictions_above_the_threshold(scene, seed, thresh):
    # YOLOv3 Sec. 2.1: a non-best prior with IoU > threshold with a GT is ignored.
    bbox, label = scene
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    rng = np.random.default_rng(seed)
    pred = yolo_decode(rng.normal(0, 1, (len(g.cells), 4)), g.cells, g.anchors, g.stride)
    t = yolov3_targets(
        bbox, label, (64, 64), ANCHORS9, (8, 16, 32), 3, pred_bbox=pred, ignore_thresh=thresh
    )
    best = box_iou(pred, bbox).max(1) if len(bbox) else np.zeros(len(pred))
    assert ((t.obj == IGNORE) == ((best > thresh) & (t.obj != POSITIVE))).all()
    assert ((t.obj == 0) == ((best <= thresh) & (t.obj != POSITIVE))).all()


def test_yolov3_small_box_to_stride_8_large_to_stride_32():
    # Deck §G1.2: /8 -> small anchors, /32 -> large anchors.
    g = yolo_grid((128, 128), ANCHORS9, (8, 16, 32))
    t = yolov3_targets([[10, 10, 18, 14], [20, 20, 120, 110]], [0, 1], (128, 128), ANCHORS9,
                       (8, 16, 32), 2)  # fmt: skip
    pos = np.flatnonzero(t.obj == POSITIVE)
    assert sorted(g.stride[pos, 0].tolist()) == [8.0, 32.0]


def test_yolov3_targets_bad_input():
    with pytest.raises(ValueError, match="pred_bbox must have shape"):
        yolov3_targets([[0, 0, 8, 8]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1,
                       pred_bbox=np.zeros((3, 4)))  # fmt: skip
    with pytest.raises(ValueError, match="ignore_thresh"):
        yolov3_targets([[0, 0, 8, 8]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1, ignore_thresh=2)
    with pytest.raises(ValueError, match="n_class"):
        yolov3_targets([[0, 0, 8, 8]], [0], (64, 64), ANCHORS9, (8, 16, 32), 0)


def test_targets_do_not_modify_inputs():
    bbox = np.array([[1.0, 2.0, 30.0, 40.0]])
    before = bbox.copy()
    yolov1_targets(bbox, [0], (64, 64), 4, 1)
    yolov3_targets(bbox, [0], (64, 64), ANCHORS9, (8, 16, 32), 1)
    np.testing.assert_array_equal(bbox, before)


@settings(max_examples=30, deadline=None)
@given(scene=scenes(img=64), thresh=st.floats(0.2, 0.9))
def test_yolov3_extra_anchors_are_those_above_the_shape_iou_threshold(scene, thresh):
    # AlexeyAB's darknet iou_thresh: besides the best anchor, every anchor whose shape IoU
    # with the box exceeds the threshold is responsible, at the centre's cell on its scale.
    bbox, label = scene
    bbox = bbox[:1]
    label = label[:1]
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    one = yolov3_targets(bbox, label, (64, 64), ANCHORS9, (8, 16, 32), 3)
    many = yolov3_targets(bbox, label, (64, 64), ANCHORS9, (8, 16, 32), 3,
                          anchor_iou_thresh=thresh)  # fmt: skip
    assert ((one.obj == POSITIVE) <= (many.obj == POSITIVE)).all()  # the best one stays
    if not len(bbox) or (bbox[0, 2:] <= bbox[0, :2]).any():
        return
    w, h = bbox[0, 2:] - bbox[0, :2]
    inter = np.minimum(w, ANCHORS9[:, 0]) * np.minimum(h, ANCHORS9[:, 1])
    shape_iou = inter / (w * h + ANCHORS9.prod(1) - inter)
    expected = (shape_iou > thresh) | (shape_iou == shape_iou.max())
    pos = np.flatnonzero(many.obj == POSITIVE)
    picked = sorted(int(np.flatnonzero((ANCHORS9 == g.anchors[j]).all(1))[0]) for j in pos)
    assert (
        picked == sorted(np.flatnonzero(expected).tolist())
        or shape_iou.max() in shape_iou[~expected]
    )
    centre = (bbox[0, :2] + bbox[0, 2:]) / 2
    for j in pos:  # each at the cell of the centre on its own scale
        np.testing.assert_array_equal(
            g.cells[j], np.minimum(centre // g.stride[j], 64 // g.stride[j] - 1)
        )


# --------------------------------------------------------------------------- edges (mutation)
def test_yolo_encode_default_stride_is_grid_units():
    # stride=1 by default: boxes, cells and anchors all in cells (YOLO9000 Sec. 2)
    np.testing.assert_array_equal(yolo_encode([2.5, 1.0, 4.5, 2.0], [3, 1], [2.0, 1.0]), 0.0)


def test_yolo_encode_per_row_stride_of_the_flat_grid():
    # YoloGrid.stride is (M, 1): each prediction encoded with its own scale's stride
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    loc = np.random.default_rng(0).normal(0, 1, (len(g.cells), 4))
    box = yolo_decode(loc, g.cells, g.anchors, g.stride)
    np.testing.assert_allclose(yolo_encode(box, g.cells, g.anchors, g.stride), loc, atol=1e-6)


@pytest.mark.parametrize("which", ["bbox", "cells", "anchors"])
@pytest.mark.parametrize("fn", [yolo_encode, yolo_decode])
def test_yolo_coding_leading_dimensions_must_broadcast(fn, which):
    # the error names every argument with its shape
    args = {"bbox": np.tile([2.5, 1.0, 4.5, 2.0], (2, 1)), "cells": np.tile([3, 1], (2, 1)),
            "anchors": np.tile([2.0, 1.0], (2, 1))}  # fmt: skip
    args[which] = np.concatenate([args[which], args[which][:1]])  # 3 rows against 2
    first = "bbox" if fn is yolo_encode else "loc"
    if fn is yolo_decode:
        args["loc"] = args.pop("bbox")
    shapes = {first: (2, 4), "cells": (2, 2), "anchors": (2, 2)}
    key = first if which == "bbox" else which
    shapes[key] = (3, shapes[key][1])
    got = ", ".join(f"{n} \\({r}, {c}\\)" for n, (r, c) in shapes.items())
    with pytest.raises(ValueError, match=f"leading dimensions must broadcast; got {got}$"):
        fn(**args)


def test_yolo_coding_errors_name_a_non_numeric_argument():
    with pytest.raises(TypeError, match="loc"):
        yolo_decode(["a", "b", "c", "d"], [0, 0], [1.0, 1.0])
    with pytest.raises(TypeError, match="anchors"):
        yolo_decode([0.0, 0, 0, 0], [0, 0], ["a", "b"])


def test_yolo_encode_rejects_zero_height_and_a_centre_outside_on_either_axis():
    with pytest.raises(ValueError, match="positive width"):
        yolo_encode([1.0, 1.0, 2.0, 1.0], [1, 1], [1.0, 1.0])
    # cell (1, 1), 1-cell boxes: centre fraction -0.25 or 1.25 on x or on y alone
    for cx, cy in ((0.75, 1.5), (2.25, 1.5), (1.5, 0.75), (1.5, 2.25)):
        with pytest.raises(ValueError, match="centre must lie in its cell"):
            yolo_encode([cx - 0.5, cy - 0.5, cx + 0.5, cy + 0.5], [1, 1], [1.0, 1.0])


def test_yolo_encode_centre_on_either_border_of_its_cell():
    # b_x / s - c_x in [0, 1] closed: fraction 1 (right border) is valid, clipped to
    # 1 - LOGIT_CLIP, t_x = log((1 - 1e-6) / 1e-6) = +13.8
    loc = yolo_encode([[7.0, 7.0, 9.0, 9.0]], [[0, 0]], [[2.0, 2.0]], stride=8.0)
    np.testing.assert_allclose(loc[0, :2], np.log((1 - 1e-6) / 1e-6), rtol=1e-9)


@pytest.mark.parametrize("axis", [0, 1])
def test_yolo_encode_rounding_tolerance_of_the_cell_bounds(axis):
    # the centre's fraction may pass [0, 1] by rounding only: 1e-9 in float64, 1e-5 in
    # float32 (inclusive), then it is clipped like a border centre; on x and on y alike
    def frac(f, dtype, w=2.0**-9):  # a box of side w whose centre fraction is exactly f
        box = np.array([0.5 - w / 2, 0.5 - w / 2, 0.5 + w / 2, 0.5 + w / 2])
        box[[axis, axis + 2]] = f - w / 2, f + w / 2
        return yolo_encode(box.astype(dtype), [0, 0], [1.0, 1.0])

    for f in (1 + 1e-9, -1e-9, 1 + 5e-10):
        assert np.isfinite(frac(f, np.float64)).all()
    for f in (1 + 1e-6, -1e-6, 1.5):
        with pytest.raises(ValueError, match="centre must lie in its cell"):
            frac(f, np.float64)
    loc = frac(1 + 8e-6, np.float32, 2.0)
    assert loc.dtype == np.float32 and np.isfinite(loc).all()
    with pytest.raises(ValueError, match="centre must lie in its cell"):
        frac(1 + 1e-4, np.float32, 2.0)


@pytest.mark.parametrize("axis", [0, 1])
def test_yolo_encode_tolerance_bounds_are_exact_in_float64(axis):
    # the fractions -1e-9 and 1 + 1e-9 themselves (as float64) are inside: boxes whose centres
    # are exactly those numbers (sides a power of two, so every step is exact)
    for f, w in ((-1e-9, 2.0**-39), (1 + 1e-9, 2.0**-9)):
        box = np.array([0.25, 0.25, 0.75, 0.75])
        box[[axis, axis + 2]] = f - w / 2, f + w / 2
        assert (box[axis] + (box[axis + 2] - box[axis]) / 2) == f
        assert np.isfinite(yolo_encode(box, [0, 0], [1.0, 1.0])).all()


def test_yolov1_decode_centres_sizes_and_default_b():
    # YOLOv1 Sec. 2: (x, y) relative to the cell, (w, h) to the image; B = 2 by default
    rng = np.random.default_rng(0)
    s, c = 3, 2
    pred = rng.uniform(0, 1, (s, s, 5 * 2 + c))
    bbox, score = yolov1_decode(pred, (60, 90))
    assert bbox.shape == (s * s * 2, 4) and score.shape == (s * s * 2, c)
    for row in range(s):
        for col in range(s):
            for j in range(2):
                x, y, w, h, conf = pred[row, col, 5 * j : 5 * j + 5]
                cx, cy = (col + x) / s * 90, (row + y) / s * 60
                want = [cx - w * 45, cy - h * 30, cx + w * 45, cy + h * 30]
                np.testing.assert_allclose(bbox[(row * s + col) * 2 + j], want, rtol=1e-12)
                np.testing.assert_allclose(
                    score[(row * s + col) * 2 + j], conf * pred[row, col, 10:]
                )


def test_yolov1_decode_shapes_b_and_dtype():
    assert yolov1_decode(np.zeros((2, 2, 6)), (8, 8), n_box=1)[0].shape == (4, 4)
    assert yolov1_decode(np.zeros((2, 2, 11)), (8, 8))[1].shape == (8, 1)  # C = 1
    bbox, score = yolov1_decode(np.zeros((2, 2, 11), np.float32), (8, 8))
    assert bbox.dtype == score.dtype == np.float32
    for bad in (np.zeros((2, 3, 11)), np.zeros((2, 2, 11, 4)), np.zeros((11, 11)),
                np.zeros((2, 2, 10))):  # fmt: skip
        with pytest.raises(ValueError, match="pred must have shape"):
            yolov1_decode(bad, (8, 8))
    with pytest.raises(ValueError, match="n_box"):
        yolov1_decode(np.zeros((2, 2, 11)), (8, 8), n_box=0)


def test_yolov1_targets_dtypes_and_class_count():
    t = yolov1_targets(np.array([[1.0, 2.0, 30.0, 40.0]], np.float32), [0], (64, 64), 4, 2)
    assert t.obj_mask.dtype == bool
    assert t.box.dtype == t.cls.dtype == np.float32
    with pytest.raises(ValueError, match="n_class"):
        yolov1_targets(np.zeros((0, 4)), [], (64, 64), 4, 0)


def test_yolov1_targets_largest_area_wins_not_width_or_height():
    # Notes: in a shared cell the box of largest area w h wins. Same centre (10, 10):
    # a 2 x 20 and a 20 x 4 box (areas 40, 80); a 20 x 2 and a 10 x 10 box (40, 100)
    for boxes, winner in (
        ([[9.0, 0, 11, 20], [0.0, 8, 20, 12]], 1),
        ([[0.0, 9, 20, 11], [5.0, 5, 15, 15]], 1),
        ([[0.0, 8, 20, 12], [9.0, 0, 11, 20]], 0),
    ):
        t = yolov1_targets(boxes, [0, 1], (100, 100), 2, 2)
        assert t.obj_mask.sum() == 1 and t.cls[0, 0].tolist() == [winner == 0, winner == 1]


def test_yolov1_targets_equal_areas_the_later_box_wins():
    # on equal areas the later box in input order wins (a stable sort by area, the larger
    # overwriting), whatever the arrangement
    rng = np.random.default_rng(0)
    for _ in range(30):
        sides = rng.choice([8.0, 10.0], 10)
        boxes = np.stack([10 - sides / 2, 10 - sides / 2, 10 + sides / 2, 10 + sides / 2], 1)
        t = yolov1_targets(boxes, np.arange(10), (100, 100), 2, 10)
        want = np.flatnonzero(sides == sides.max())[-1]
        assert t.cls[0, 0].argmax() == want


def test_yolov1_targets_zero_area_boxes_get_no_cell_small_ones_do():
    # Notes: a zero-area box gets no cell (and does not stop the others); any positive area,
    # also below one pixel, does
    t = yolov1_targets([[10.0, 10, 10, 20], [40.0, 40, 50, 50]], [0, 1], (64, 64), 4, 2)
    assert np.argwhere(t.obj_mask).tolist() == [[2, 2]]
    t = yolov1_targets([[10.0, 10, 10.5, 10.5]], [0], (64, 64), 4, 1)
    assert np.argwhere(t.obj_mask).tolist() == [[0, 0]]


def test_yolov1_targets_centre_on_or_beyond_the_border_goes_to_the_border_cell():
    # NOTE in _centre_cells: a centre on the right / bottom border (fraction 1) belongs to the
    # last cell; a box cut by the image border whose centre lies outside goes to the nearest
    # border cell (its (x̂, ŷ) then outside [0, 1], as the docstring says)
    for box, cell in (
        ([56.0, 56, 72, 72], [3, 3]),  # centre (64, 64): fraction 1
        ([60.0, 0, 80, 8], [0, 3]),  # centre x 70 > W
        ([-20.0, -20, 4, 4], [0, 0]),  # centre (-8, -8) < 0
        ([-20.0, 30, 4, 40], [2, 0]),  # centre (-8, 35): row 2, column 0
    ):
        t = yolov1_targets([box], [0], (64, 64), 4, 1)
        assert np.argwhere(t.obj_mask).tolist() == [cell]


def test_yolov3_targets_dtypes_and_class_count():
    # Yolov3Targets: obj int8, the rest in the boxes' floating dtype
    t = yolov3_targets(np.array([[20.0, 20, 40, 40]], np.float32), [0], (64, 64), ANCHORS9,
                       (8, 16, 32), 1)  # fmt: skip
    assert t.obj.dtype == np.int8
    assert t.loc.dtype == t.box_weight.dtype == t.cls.dtype == np.float32
    with pytest.raises(ValueError, match="n_class"):  # also without boxes
        yolov3_targets(np.zeros((0, 4)), [], (64, 64), ANCHORS9, (8, 16, 32), 0)


def test_yolov3_targets_skip_zero_width_or_height_boxes_only():
    # Notes: zero-area boxes are skipped (and do not disturb the others); any positive width
    # and height, also below one pixel, is assigned
    args = ((64, 64), ANCHORS9, (8, 16, 32), 2)
    for empty in ([10.0, 10, 10, 20], [10.0, 10, 20, 10]):
        t = yolov3_targets([empty, [20.0, 20, 40, 40]], [0, 1], *args)
        pos = np.flatnonzero(t.obj == POSITIVE)
        assert len(pos) == 1 and t.cls[pos[0]].tolist() == [0, 1]
    t = yolov3_targets([[10.0, 10, 10.5, 10.5]], [0], *args)
    assert (t.obj == POSITIVE).sum() == 1


def test_yolov3_targets_without_valid_boxes_are_all_negative():
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    m = len(g.cells)
    for bbox, label in ((np.zeros((0, 4)), []), ([[10.0, 10, 10, 20]], [0])):
        t = yolov3_targets(bbox, label, (64, 64), ANCHORS9, (8, 16, 32), 3)
        assert (t.obj == 0).all() and t.obj.shape == (m,)
        assert t.loc.shape == (m, 4) and (t.loc == 0).all()
        assert t.box_weight.shape == (m,) and (t.box_weight == 0).all()
        assert t.cls.shape == (m, 3) and (t.cls == 0).all()


def test_yolov3_extra_anchors_need_a_shape_iou_above_the_threshold():
    # "exceeds": a 20 x 20 box has shape IoU exactly 0.5 with the 20 x 10 and 20 x 40 anchors
    # (AlexeyAB's darknet: iou > iou_thresh); at 0.5 only its best anchor, at 0.49 three
    args = ([[20.0, 20, 40, 40]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1)
    assert (yolov3_targets(*args, anchor_iou_thresh=0.5).obj == POSITIVE).sum() == 1
    assert (yolov3_targets(*args, anchor_iou_thresh=0.49).obj == POSITIVE).sum() == 3


def test_yolov3_ignore_needs_an_iou_above_the_threshold():
    # Sec. 2.1: ignored if it overlaps a ground truth "by more than some threshold": every
    # prediction (0, 0, 30, 10) has IoU exactly 20/40 = 0.5 with the box (10, 0, 40, 10)
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    pred = np.tile([0.0, 0, 30, 10], (len(g.cells), 1))
    args = ([[10.0, 0, 40, 10]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1)
    t = yolov3_targets(*args, pred_bbox=pred, ignore_thresh=0.5)
    assert ((t.obj == 0) | (t.obj == POSITIVE)).all()
    t = yolov3_targets(*args, pred_bbox=pred, ignore_thresh=0.49)
    assert ((t.obj == IGNORE) | (t.obj == POSITIVE)).all() and (t.obj == IGNORE).any()


def test_yolov3_inverted_predictions_are_empty_not_an_error():
    # an untrained head may decode x_max < x_min: such a prediction is taken as empty (IoU 0),
    # never ignored
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    pred = np.tile([30.0, 30, 10, 10], (len(g.cells), 1))  # the box (10, 10, 30, 30) inverted
    t = yolov3_targets([[10.0, 10, 30, 30]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1,
                       pred_bbox=pred, ignore_thresh=0.0)  # fmt: skip
    assert not (t.obj == IGNORE).any()


def test_yolov3_centre_on_the_image_border_goes_to_the_last_cell():
    # a box cut by the right / bottom image border with its centre exactly on it: the last
    # column / row of its scale, fraction 1
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    for box, want in (([60.0, 24, 68, 32], (7, 3)), ([24.0, 60, 32, 68], (3, 7))):  # 8 x 8
        t = yolov3_targets([box], [0], (64, 64), ANCHORS9, (8, 16, 32), 1)
        (j,) = np.flatnonzero(t.obj == POSITIVE)
        assert g.stride[j, 0] == 8 and tuple(g.cells[j]) == want
        assert sorted(t.loc[j, :2].tolist()) == [0.5, 1.0]


def test_yolo_grid_strides_one_or_more_positive_increasing():
    anchors = ANCHORS9[:3]
    g = yolo_grid((4, 4), anchors, (1,))  # one scale, stride 1 (grid units) is valid
    assert g.feat_sizes == [(4, 4)] and g.stride.shape == (4 * 4 * 3, 1)
    g = yolo_grid((64, 64), ANCHORS9, (8, 16, 32))
    assert g.stride.shape == (len(g.cells), 1) and g.cells.dtype == np.float64
    for bad in ((), (0, 8, 16), (8, 8, 16)):
        with pytest.raises(ValueError, match="strides must be positive and increasing"):
            yolo_grid((64, 64), ANCHORS9, bad)


def test_targets_labels_are_integer_classes_below_n_class():
    for bad in ([2], [0.0], [-1]):
        with pytest.raises(ValueError, match="label must be integers"):
            yolov1_targets([[0, 0, 1, 1]], bad, (8, 8), 2, 2)
        with pytest.raises(ValueError, match="label must be integers"):
            yolov3_targets([[0, 0, 8, 8]], bad, (64, 64), ANCHORS9, (8, 16, 32), 2)


def test_yolov3_same_anchor_and_cell_the_later_box_wins_with_its_class_only():
    # Notes: two boxes on the same anchor at the same cell: the later one in bbox wins, as in
    # darknet; its class target is one-hot (the earlier class cleared)
    box = [20.0, 20, 40, 40]
    t = yolov3_targets([box, box], [2, 0], (64, 64), ANCHORS9, (8, 16, 32), 3)
    (j,) = np.flatnonzero(t.obj == POSITIVE)
    assert t.cls[j].tolist() == [1.0, 0.0, 0.0]
    assert (t.cls[t.obj != POSITIVE] == 0).all()


# ------------------------------------------- YOLOv4's grid sensitivity and neighbouring cells
@settings(max_examples=60, deadline=None)
@given(
    loc=hnp.arrays(np.float64, (5, 4), elements=finite),
    cells=hnp.arrays(np.int64, (5, 2), elements=st.integers(0, 20)),
    anchors=hnp.arrays(np.float64, (5, 2), elements=st.floats(0.5, 100)),
    stride=st.sampled_from([1.0, 8.0, 32.0]),
    alpha=st.sampled_from([1.0, 1.05, 1.2, 2.0, 3.0]),
)
def test_grid_sensitive_decoding_is_the_equation_and_encode_inverts_it(
    loc, cells, anchors, stride, alpha
):
    # YOLOv4 Sec. 3.4: b_x = α σ(t_x) - (α - 1) / 2 + c_x; b_w = p_w e^{t_w} unchanged.
    box = yolo_decode(loc, cells, anchors, stride, scale_xy=alpha)
    sig = 1 / (1 + np.exp(-loc[:, :2]))
    centre = (box[:, :2] + box[:, 2:]) / 2 / stride
    np.testing.assert_allclose(centre, alpha * sig - (alpha - 1) / 2 + cells, atol=1e-9)
    np.testing.assert_allclose(box[:, 2:] - box[:, :2], anchors * np.exp(loc[:, 2:]), rtol=1e-9)
    back = yolo_encode(box, cells, anchors, stride, scale_xy=alpha)
    np.testing.assert_allclose(back, loc, atol=1e-6)


def test_grid_sensitive_centre_reaches_the_cell_border_and_half_a_cell_beyond_at_two():
    one = np.ones(2)
    for alpha, low, high in ((1.0, 3.0, 4.0), (1.2, 2.9, 4.1), (2.0, 2.5, 4.5)):
        far = yolo_decode([[-40.0, 0, 0, 0], [40.0, 0, 0, 0]], [3, 0], one, scale_xy=alpha)
        np.testing.assert_allclose((far[:, 0] + far[:, 2]) / 2, [low, high], atol=1e-12)
    # a centre on the border of cell 3 needs t_x = 0 of cell 3 at α = 2 (σ = 1/4 ... 3/4 inside)
    box = [[2.0, 0.0, 4.0, 1.0]]  # centre x = 3.0
    t = yolo_encode(box, [3, 0], [2.0, 1.0], scale_xy=2.0)
    assert abs(t[0, 0] - np.log(0.25 / 0.75)) < 1e-12  # σ^{-1}((0 + 1/2) / 2), finite
    with pytest.raises(ValueError, match=r"-0.5 <= b_x / s - c_x <= 1.5"):
        yolo_encode(box, [5, 0], [2.0, 1.0], scale_xy=2.0)  # 2 cells away


@pytest.mark.parametrize(("value", "error", "match"), [
    (0.5, ValueError, "scale_xy must be a finite number >= 1"),
    (float("nan"), ValueError, "scale_xy must be a finite number >= 1"),
    ("2", TypeError, "scale_xy must be a number"),
    (True, TypeError, "scale_xy must be a number"),
])  # fmt: skip
def test_scale_xy_is_checked_everywhere(value, error, match):
    for call in (
        lambda: yolo_decode([0.0, 0, 0, 0], [0, 0], [1.0, 1.0], scale_xy=value),
        lambda: yolo_encode([0.0, 0, 1, 1], [0, 0], [1.0, 1.0], scale_xy=value),
        lambda: yolov3_targets(
            [[2.0, 2, 9, 9]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1, scale_xy=value
        ),  # fmt: skip
    ):
        with pytest.raises(error, match=match):
            call()


def test_neighbour_cells_need_alpha_two_and_a_bool():
    args = ([[2.0, 2, 9, 9]], [0], (64, 64), ANCHORS9, (8, 16, 32), 1)
    with pytest.raises(ValueError, match="neighbour_cells needs scale_xy >= 2"):
        yolov3_targets(*args, scale_xy=1.5, neighbour_cells=True)
    with pytest.raises(TypeError, match="neighbour_cells must be a bool"):
        yolov3_targets(*args, scale_xy=2.0, neighbour_cells="yes")


def _decoded_targets(t, g, alpha):
    """Every positive's target box: (α u - (α - 1)/2 + c) s, p e^t̂ (YOLOv4 Sec. 3.4)."""
    pos = np.flatnonzero(t.obj == POSITIVE)
    u, tw = t.loc[pos, :2], t.loc[pos, 2:]
    centre = (alpha * u - (alpha - 1) / 2 + g.cells[pos]) * g.stride[pos]
    wh = g.anchors[pos] * np.exp(tw)
    return pos, np.concatenate([centre - wh / 2, centre + wh / 2], 1)


@settings(max_examples=50, deadline=None)
@given(scene=scenes(img=64), thresh=st.sampled_from([None, 0.3]))
def test_neighbour_cells_add_the_two_nearer_neighbours_of_each_centre_cell(scene, thresh):
    # Each (object, responsible anchor) gets its centre cell and, inside the map, the
    # neighbour on the side of the half of the cell holding the centre, in x and in y;
    # every target decodes back to its object's box; the fractions stay in [0, 1].
    bbox, label = scene
    strides = (8, 16, 32)
    g = yolo_grid((64, 64), ANCHORS9, strides)
    plain = yolov3_targets(bbox, label, (64, 64), ANCHORS9, strides, 3,
                           anchor_iou_thresh=thresh, scale_xy=2.0)  # fmt: skip
    t = yolov3_targets(bbox, label, (64, 64), ANCHORS9, strides, 3,
                       anchor_iou_thresh=thresh, scale_xy=2.0, neighbour_cells=True)  # fmt: skip
    assert set(np.flatnonzero(plain.obj == POSITIVE)) <= set(np.flatnonzero(t.obj == POSITIVE))
    pos, dec = _decoded_targets(t, g, 2.0)
    assert ((t.loc[pos, :2] >= 0) & (t.loc[pos, :2] <= 1)).all()
    for j, box in zip(pos, dec):
        owners = np.flatnonzero(np.abs(bbox - box).max(1) < 1e-6)
        assert len(owners), "a positive's target is not one of the objects"
        i = owners[-1]
        s = g.stride[j, 0]
        centre = (bbox[i, :2] + bbox[i, 2:]) / 2 / s
        home = np.minimum(np.floor(centre), np.array(g.feat_sizes[strides.index(s)])[::-1] - 1)
        d = g.cells[j] - home
        assert np.abs(d).sum() <= 1  # the centre cell or one step in x or y
        if np.abs(d).sum() == 1:  # towards the centre's half of its cell
            axis = int(np.flatnonzero(d)[0])
            assert d[axis] == (1 if centre[axis] - home[axis] >= 0.5 else -1)
        assert t.cls[j, label[i]] == 1
    # the centre cells are exactly those of the plain assignment, with its targets
    plain_pos = np.flatnonzero(plain.obj == POSITIVE)
    np.testing.assert_array_equal(t.loc[plain_pos], plain.loc[plain_pos])
    # and each one's two nearer neighbours that lie inside the map are positive too
    # (for this object, or for another one whose centre cell it is)
    for j, box in zip(*_decoded_targets(plain, g, 2.0)):
        s, level = g.stride[j, 0], strides.index(g.stride[j, 0])
        fh, fw = g.feat_sizes[level]
        frac = (box[:2] + box[2:]) / 2 / s - g.cells[j]
        for axis in (0, 1):
            cell = g.cells[j].copy()
            cell[axis] += 1 if frac[axis] >= 0.5 else -1
            if 0 <= cell[0] < fw and 0 <= cell[1] < fh:
                k = np.flatnonzero((g.stride[:, 0] == s) & (g.anchors == g.anchors[j]).all(1)
                                   & (g.cells == cell).all(1))  # fmt: skip
                assert len(k) == 1 and t.obj[k[0]] == POSITIVE, (j, cell)


def test_a_centre_cell_wins_over_another_objects_neighbour():
    # Two same-size objects whose centres are in adjacent cells of stride 8: c's
    # neighbour (3, 1) is b's centre cell, which keeps b although c comes later.
    anchors = np.array([[s, s] for s in (8.0, 9, 10, 30, 31, 32, 60, 61, 62)])
    b = [21.0, 4.0, 35.0, 18.0]  # centre (28, 11): cell (3, 1); fraction 0.5 -> right
    c = [13.0, 4.0, 27.0, 18.0]  # centre (20, 11): cell (2, 1), fraction 0.5 -> right (3, 1)
    t = yolov3_targets([b, c], [0, 1], (64, 64), anchors, (8, 16, 32), 2,
                       scale_xy=2.0, neighbour_cells=True)  # fmt: skip
    g = yolo_grid((64, 64), anchors, (8, 16, 32))
    j = [k for k in np.flatnonzero(t.obj == POSITIVE) if tuple(g.cells[k]) == (3, 1)]
    assert len(j) == 1 and t.cls[j[0]].tolist() == [1, 0]  # b's centre cell, b's class
    _, dec = _decoded_targets(t, g, 2.0)
    assert any(np.allclose(d, b) for d in dec) and any(np.allclose(d, c) for d in dec)
