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
