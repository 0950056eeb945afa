"""YOLOv1 and YOLOv3 detectors: the wiring of the formula modules into the graph.

Sources: Redmon et al., arXiv:1506.02640 (v1); Redmon & Farhadi, arXiv:1804.02767 (v3);
the course deck *Detection – 3 stages*, §E and §G.
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.losses.yolo import yolov3_loss, yolov3_loss_backward
from bboxcore.models.base import Target
from bboxcore.models.config import config_to_dict
from bboxcore.models.presets import yolov1_config, yolov3_config
from bboxcore.models.yolo import (
    YOLOv1,
    Yolov1Config,
    YOLOv3,
    Yolov3Config,
    _loss_nodes,
)
from bboxcore.nn import Adam, Tensor
from bboxcore.targets.yolo import yolo_decode, yolo_grid, yolov3_targets
from tests.finite_diff import numerical_grad

ANCHORS = tuple((s, s) for s in (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0))


def tiny_v1():
    cfg = Yolov1Config(n_class=2, img_size=(64, 64), channels=(4, 8, 8, 8), fc_channels=16)
    return YOLOv1(cfg, np.random.default_rng(0))


def tiny_v3():
    cfg = Yolov3Config(n_class=2, anchors=ANCHORS, channels=(4, 4, 8, 8, 8), neck_channels=8)
    return YOLOv3(cfg, np.random.default_rng(0))


def scene(size=64, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.random((1, size, size, 3), dtype=np.float32) * 0.1
    bbox = np.array([[4.0, 6.0, 24.0, 30.0], [36.0, 30.0, 56.0, 60.0]], np.float32)
    for x1, y1, x2, y2 in bbox.astype(int):
        image[0, y1:y2, x1:x2] = 0.9
    return image, [Target(bbox, np.array([0, 1]))]


@pytest.mark.parametrize("make", [tiny_v1, tiny_v3])
def test_loss_terms_and_every_parameter_gets_a_gradient(make):
    model = make()
    image, targets = scene()
    losses = model.loss(image, targets)
    assert list(losses) == list(model.loss_names) == ["xy", "wh", "obj", "noobj", "cls"]
    assert all(np.isfinite(v.item()) for v in losses.values())
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name


def test_each_loss_node_backpropagates_the_formula_modules_gradient():
    # The graph node of each term calls yolov3_loss_backward with that term's upstream: the
    # gradient reaching the flattened output is exactly the formula module's.
    image, targets = scene()
    grid = yolo_grid((64, 64), np.asarray(ANCHORS), (8, 16, 32))
    pred = np.random.default_rng(0).normal(0, 1, (1, len(grid.cells), 7))
    boxes = yolo_decode(pred[0, :, :4], grid.cells, grid.anchors, grid.stride)
    t = yolov3_targets(targets[0].bbox, targets[0].label, (64, 64), np.asarray(ANCHORS),
                       (8, 16, 32), 2, pred_bbox=boxes)  # fmt: skip
    args = tuple(a[None] for a in t)
    leaf = Tensor(pred, requires_grad=True)
    nodes = _loss_nodes(leaf, yolov3_loss, yolov3_loss_backward, args, {})
    (nodes["xy"] * 2.0 + nodes["cls"]).backward()
    expected = yolov3_loss_backward({"xy": 2.0, "cls": 1.0}, pred, *args)
    np.testing.assert_allclose(leaf.grad, expected, rtol=1e-6)
    assert float(nodes["noobj"].item()) == pytest.approx(float(yolov3_loss(pred, *args)["noobj"]))


@pytest.mark.parametrize("make", [tiny_v1, tiny_v3])
def test_a_few_adam_steps_fit_one_scene(make):
    model = make()
    image, targets = scene()
    opt = Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        losses = model.loss(image, targets)
        total = sum(losses.values())
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.6 * first


@pytest.mark.parametrize("make", [tiny_v1, tiny_v3])
def test_predict_gives_boxes_inside_the_image(make):
    model = make()
    image, _ = scene()
    (pred,) = model.predict(image[0])
    assert pred.bbox.dtype == np.float32 and pred.label.dtype == np.int64
    assert (pred.bbox >= 0).all() and (pred.bbox <= 64).all()
    assert (np.diff(pred.score) <= 0).all() or len(pred.score) < 2
    assert len(model.predict([image[0], image[0]])) == 2


@pytest.mark.parametrize(("cls", "make"), [(YOLOv1, tiny_v1), (YOLOv3, tiny_v3)])
def test_config_round_trips_through_the_checkpoint_dict(cls, make):
    cfg = make().config
    assert cls.config_from_dict(config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown"):
        cls.config_from_dict({**config_to_dict(cfg), "bogus": 1})


def test_config_checks():
    with pytest.raises(ValueError, match="multiple of the stride"):
        Yolov1Config(img_size=(100, 100))
    with pytest.raises(ValueError, match="anchors must be 9"):
        Yolov3Config(anchors=ANCHORS[:8])
    with pytest.raises(ValueError, match="n_class"):
        Yolov3Config(n_class=0, anchors=ANCHORS)
    with pytest.raises(ValueError, match="multiples of 32"):
        tiny_v3().loss(np.zeros((1, 80, 80, 3), np.float32), [Target(np.zeros((0, 4)), [])])


def test_presets_grid_and_kmeans_anchors():
    # 128-px scenes: 8x8 grid of 16-px cells (v1); v3 anchors = 9 k-means clusters of the
    # training boxes, sorted by area, three per stride 8 / 16 / 32 (YOLOv3 Sec. 2.3).
    v1 = yolov1_config("mnist-det", [str(k) for k in range(10)])
    assert (v1.grid_size, v1.stride, v1.img_size) == (8, 16, (128, 128))
    assert yolov1_config("neon-trees", ["Tree"]).grid_size == 10
    rng = np.random.default_rng(0)
    small = rng.uniform(6, 10, (100, 2))
    large = rng.uniform(50, 60, (100, 2))
    wh = np.concatenate([small, large])
    v3 = yolov3_config("mnist-det", ["a"], np.concatenate([np.zeros_like(wh), wh], 1))
    area = [w * h for w, h in v3.anchors]
    assert area == sorted(area) and area[0] < 100 < 2500 < area[-1]
    g = yolo_grid((128, 128), np.asarray(v3.anchors), (8, 16, 32))
    assert g.stride[0, 0] == 8 and tuple(g.anchors[0]) == v3.anchors[0]


# --------------------------------------------------------------- YOLOv3 with the GIoU box loss
def _giou_setup(seed=0, alpha=1.0):
    """Raw outputs (1, M, 7) float64, YOLOv3's targets of a two-object scene, the grid."""
    grid = yolo_grid((64, 64), np.asarray(ANCHORS), (8, 16, 32))
    rng = np.random.default_rng(seed)
    pred = rng.normal(0, 1, (1, len(grid.cells), 7))
    gt = np.array([[4.0, 6.0, 21.0, 27.0], [30.0, 28.0, 58.0, 50.0]])  # no centre on a cell edge
    boxes = yolo_decode(pred[0, :, :4], grid.cells, grid.anchors, grid.stride, scale_xy=alpha)
    t = yolov3_targets(gt, np.array([0, 1]), (64, 64), np.asarray(ANCHORS), (8, 16, 32), 2,
                       pred_bbox=boxes, anchor_iou_thresh=0.5, scale_xy=alpha,
                       neighbour_cells=alpha >= 2)  # fmt: skip
    return pred, t, grid, gt


def _giou_reference(pred, obj, grid, gt_of, alpha=1.0):
    """Σ over responsible predictions of 1 - GIoU, from the decoded box and its object's box."""
    total = 0.0
    for m in np.nonzero(obj[0] == 1)[0]:
        b = yolo_decode(pred[0, m, :4], grid.cells[m], grid.anchors[m], grid.stride[m],
                        scale_xy=alpha)  # fmt: skip
        g = gt_of[m]
        inter = np.prod(np.clip(np.minimum(b[2:], g[2:]) - np.maximum(b[:2], g[:2]), 0, None))
        union = np.prod(b[2:] - b[:2]) + np.prod(g[2:] - g[:2]) - inter
        hull = np.prod(np.maximum(b[2:], g[2:]) - np.minimum(b[:2], g[:2]))
        total += 1 - (inter / union - (hull - union) / hull)  # GIoU, Rezatofighi et al. Eq. 1
    return total


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_the_giou_term_is_one_minus_giou_of_decoded_and_object_boxes_over_the_positives(alpha):
    # Rezatofighi et al., arXiv:1902.09630, Alg. 1 / Sec. 5.1: L = Σ_P (1 - GIoU(b, b̂)) / N,
    # b decoded as YOLOv2's Sec. "Direct location prediction" (YOLOv4's α σ - (α - 1)/2 at
    # α = 2, with the neighbouring cells responsible too); b̂ the object's own box.
    pred, t, grid, gt = _giou_setup(alpha=alpha)
    obj = t.obj[None]
    # each responsible prediction's object: the one whose centre is in its cell, by encoding
    gt_of = {}
    for m in np.nonzero(obj[0] == 1)[0]:
        x, y, tw, th = t.loc[m]
        c, s, a = grid.cells[m], grid.stride[m, 0], grid.anchors[m]
        u = alpha * np.array([x, y]) - (alpha - 1) / 2
        centre, size = (u + c) * s, a * np.exp([tw, th])
        box = np.concatenate([centre - size / 2, centre + size / 2])
        k = np.argmin(np.abs(gt - box).sum(1))
        np.testing.assert_allclose(box, gt[k], atol=1e-6)  # the target is the object's box
        gt_of[m] = gt[k]
    value = YOLOv3._giou_term(Tensor(pred), obj, t.loc[None], grid, alpha)
    assert obj.sum() >= (2 if alpha == 1 else 6)
    expected = _giou_reference(pred, obj, grid, gt_of, alpha)
    assert float(value.item()) == pytest.approx(expected, rel=1e-9)


def test_the_giou_term_is_zero_when_every_positive_predicts_its_box():
    pred, t, grid, _ = _giou_setup()
    pos = t.obj == 1
    exact = pred.copy()
    exact[0, pos, 0:2] = np.log(t.loc[pos, 0:2]) - np.log1p(-t.loc[pos, 0:2])  # σ^-1(x̂)
    exact[0, pos, 2:4] = t.loc[pos, 2:4]
    value = YOLOv3._giou_term(Tensor(exact), t.obj[None], t.loc[None], grid)
    assert float(value.item()) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_the_giou_terms_gradient_matches_finite_differences(alpha):
    pred, t, grid, _ = _giou_setup(seed=3, alpha=alpha)
    leaf = Tensor(pred, requires_grad=True)
    YOLOv3._giou_term(leaf, t.obj[None], t.loc[None], grid, alpha).backward()

    def f(p):
        return float(YOLOv3._giou_term(Tensor(p), t.obj[None], t.loc[None], grid, alpha).item())

    rows = np.nonzero(t.obj == 1)[0]
    num = numerical_grad(lambda sub: f(_with_rows(pred, rows, sub)), pred[0, rows])
    np.testing.assert_allclose(leaf.grad[0, rows], num, rtol=1e-5, atol=1e-8)
    others = np.setdiff1d(np.arange(pred.shape[1]), rows)
    assert not leaf.grad[0, others].any()  # only the responsible predictions
    assert not leaf.grad[0, :, 4:].any()  # and only their box outputs


def _with_rows(pred, rows, sub):
    out = pred.copy()
    out[0, rows] = sub
    return out


def test_the_giou_model_logs_giou_instead_of_xy_and_wh_and_trains_every_parameter():
    cfg = Yolov3Config(n_class=2, anchors=ANCHORS, channels=(4, 4, 8, 8, 8), neck_channels=8,
                       box_loss="giou", lambda_giou=2.0)  # fmt: skip
    model = YOLOv3(cfg, np.random.default_rng(0))
    assert model.loss_names == ("giou", "obj", "noobj", "cls")
    assert tiny_v3().loss_names == ("xy", "wh", "obj", "noobj", "cls")  # the paper's, unchanged
    image, targets = scene()
    empty = Target(np.zeros((0, 4)), np.zeros(0, np.int64))
    losses = model.loss(np.concatenate([image, image]), [targets[0], empty])
    assert set(losses) == set(model.loss_names)
    assert losses["giou"].data.dtype == np.float32
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name
    none = model.loss(image, [empty])
    assert float(none["giou"].item()) == 0.0  # no object, no box loss


@pytest.mark.parametrize(("field", "value", "match"), [
    ("box_loss", "ciou", "box_loss must be one of"),
    ("lambda_giou", 0.0, "lambda_giou must be a positive"),
    ("lambda_giou", float("nan"), "lambda_giou must be a positive"),
])  # fmt: skip
def test_the_box_loss_options_are_checked(field, value, match):
    with pytest.raises(ValueError, match=match):
        Yolov3Config(n_class=1, **{field: value})


def test_a_grid_sensitive_model_with_neighbour_cells_decodes_with_alpha_and_trains():
    cfg = Yolov3Config(n_class=2, anchors=ANCHORS, channels=(4, 4, 8, 8, 8), neck_channels=8,
                       scale_xy=2.0, neighbour_cells=True)  # fmt: skip
    model = YOLOv3(cfg, np.random.default_rng(0))
    image, targets = scene()
    pred = model._flat(model(Tensor(image.transpose(0, 3, 1, 2) * 0))).data
    boxes, grid = model._decode(pred, (64, 64))
    expected = yolo_decode(pred[..., :4], grid.cells, grid.anchors, grid.stride, scale_xy=2.0)
    np.testing.assert_array_equal(boxes, expected)
    losses = model.loss(image, targets)
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name


@pytest.mark.parametrize(("kw", "match"), [
    ({"scale_xy": 0.9}, "scale_xy must be a finite number >= 1"),
    ({"scale_xy": 1.5, "neighbour_cells": True}, "neighbour_cells needs scale_xy >= 2"),
])  # fmt: skip
def test_the_grid_options_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        Yolov3Config(n_class=1, **kw)


def test_dense_predictions_are_what_predict_thresholds_and_suppresses():
    model = tiny_v3().eval()
    image, _ = scene()
    boxes, score, grid = model.dense_predictions(image)
    m = len(grid.cells)
    assert boxes.shape == (1, m, 4) and score.shape == (1, m, 2)
    assert ((score >= 0) & (score <= 1)).all()
    model.config.score_thresh = 0.0  # untrained: every score is about σ(-4.6) / 2
    bbox, label, conf = model.predict(image)[0]
    assert len(bbox) == model.config.max_detections
    clipped = np.clip(boxes[0], 0, 64)
    for b, c, s in zip(bbox, label, conf):  # each detection is one dense prediction, clipped
        match = np.flatnonzero(
            (np.abs(clipped - b).max(1) < 1e-4) & (np.abs(score[0, :, c] - s) < 1e-6)
        )
        assert len(match) >= 1
