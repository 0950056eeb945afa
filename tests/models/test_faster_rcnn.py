"""The Faster R-CNN model: shapes, receptive field, gradients, post-processing, overfitting.

Every test uses the tiny configuration of :mod:`tests.models.toy` (stride 4,
a few thousand weights, 32-48 px images) so that the file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.anchors import receptive_field
from bboxcore.iou import box_iou
from bboxcore.models.backbone import Backbone
from bboxcore.models.base import Detector, Prediction, Target
from bboxcore.models.config import (
    AnchorConfig,
    BackboneConfig,
    HeadConfig,
    ModelConfig,
    RPNConfig,
    TrainConfig,
    config_to_dict,
    model_config_from_dict,
    train_config_from_dict,
)
from bboxcore.models.faster_rcnn import LOSS_NAMES, FasterRCNN
from bboxcore.models.postprocess import suppress
from bboxcore.models.presets import mnist_config, neon_config
from bboxcore.models.rpn import RegionProposalNetwork
from bboxcore.nn.optim import Adam
from bboxcore.nn.tensor import Tensor
from tests.finite_diff import FD_EPS
from tests.models.toy import tiny_config, toy_sample

STD = (0.1, 0.1, 0.2, 0.2)


# --------------------------------------------------------------------------- the figure's shapes
def test_receptive_field_of_mnist_backbone_follows_the_slides_recurrence():
    # *Object Detection: Faster R-CNN*: F(i) = (F(i+1) - 1) * stride + ksize, from the RPN's
    # 3x3 window back to the image:
    # 3 -> 5 (conv4) -> (5-1)*2+2 = 10 (pool3) -> 12 (conv3) -> 24 (pool2) -> 26 (conv2)
    #   -> 52 (pool1) -> 54 (conv1)
    net = Backbone(mnist_config().backbone, np.random.default_rng(0))
    assert net.receptive_field() == 54
    assert net.receptive_field() == receptive_field(net.layers())
    assert net.feat_stride == 8


def test_backbone_output_is_image_over_stride():
    net = Backbone(BackboneConfig((4, 8, 8), n_pool=3), np.random.default_rng(0))
    out = net(Tensor(np.zeros((2, 3, 40, 48), np.float32)))
    assert out.shape == (2, 8, 5, 6)  # (N, C, H / 8, W / 8)


def test_rpn_shapes_match_the_slides_example():
    # *Detection – 3 stages*, §C2: a 38 x 50 map with 9 anchors -> scores 1 x 18 x 38 x 50,
    # 17100 anchors
    rpn = RegionProposalNetwork(
        4, 16, AnchorConfig(16, (0.5, 1, 2), (8, 16, 32)), RPNConfig(mid_channels=4),
        np.random.default_rng(0),
    )  # fmt: skip
    loc, score, anchor = rpn(Tensor(np.zeros((1, 4, 38, 50), np.float32)))
    assert anchor.shape == (17100, 4)
    assert loc.shape == (1, 17100, 4)
    assert score.shape == (1, 17100, 2)


def test_rpn_sigmoid_variant_has_one_score_per_anchor():
    # *Object Detection: Faster R-CNN*: with binary cross-entropy the cls layer predicts k
    # scores, not 2k
    cfg = RPNConfig(mid_channels=4, objectness="sigmoid")
    rpn = RegionProposalNetwork(
        4, 4, AnchorConfig(4, (1.0,), (2.0,)), cfg, np.random.default_rng(0)
    )
    _, score, anchor = rpn(Tensor(np.zeros((2, 4, 3, 5), np.float32)))
    assert score.shape == (2, 15)
    assert rpn.score.weight.shape[0] == rpn.n_anchor


def test_rpn_loc_row_s_belongs_to_anchor_s():
    # a bias on the loc channel of anchor a shows up in every row with s % A == a
    rpn = RegionProposalNetwork(
        4,
        4,
        AnchorConfig(4, (0.5, 1, 2), (2.0,)),
        RPNConfig(mid_channels=4),
        np.random.default_rng(0),
    )
    rpn.loc.weight.data[...] = 0
    rpn.loc.bias.data[...] = 0
    rpn.loc.bias.data[4 * 1 + 2] = 1.0  # anchor a = 1, component t_w
    loc, _, anchor = rpn(Tensor(np.ones((1, 4, 2, 3), np.float32)))
    rows = np.flatnonzero(loc.data[0, :, 2])
    np.testing.assert_array_equal(rows, np.arange(1, len(anchor), 3))


def test_loss_returns_the_four_terms_and_every_parameter_gets_a_gradient():
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    s = toy_sample(np.random.default_rng(1), size=32)
    losses = model.loss(s.image[None], [s], np.random.default_rng(2))
    assert sorted(losses) == sorted(LOSS_NAMES) == sorted(model.loss_names)
    total = sum(losses.values())
    assert np.isfinite(total.item()) and total.item() > 0
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.isfinite(p.grad).all(), name
    assert np.abs(model.backbone.body[0].weight.grad).sum() > 0  # reaches the first layer


@pytest.mark.parametrize(
    "objectness, roi_op, batch_norm",
    [("sigmoid", "align", False), ("softmax", "pool", False), ("softmax", "align", True)],
)
def test_variants_run_forward_and_backward(objectness, roi_op, batch_norm):
    config = tiny_config(objectness=objectness, roi_op=roi_op)
    config.backbone.batch_norm = batch_norm
    model = FasterRCNN(config, np.random.default_rng(0))
    s = toy_sample(np.random.default_rng(1), size=32)
    losses = model.loss(np.stack([s.image, s.image]), [s] * 2, np.random.default_rng(2))
    sum(losses.values()).backward()
    assert all(np.isfinite(v.item()) for v in losses.values())


def test_image_without_objects_gives_background_only_losses():
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    image = np.zeros((1, 32, 32, 3), np.float32)
    empty = Target(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    losses = model.loss(image, [empty], np.random.default_rng(0))
    # *The losses of Faster R-CNN*: no object, no offset loss
    assert losses["rpn_loc"].item() == 0.0 and losses["roi_loc"].item() == 0.0
    assert losses["rpn_cls"].item() > 0


@pytest.mark.parametrize(
    "heads, present", [(("rpn",), {"rpn_cls", "rpn_loc"}), (("head",), {"roi_cls", "roi_loc"})]
)
def test_each_head_trains_its_own_losses(heads, present):
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    s = toy_sample(np.random.default_rng(1), size=32)
    losses = model.loss(
        s.image[None], [s], np.random.default_rng(2), heads=heads, frozen_backbone=True
    )
    assert set(losses) == present
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.backbone.parameters())  # frozen: no gradient


def test_frozen_backbone_keeps_its_batch_norm_statistics():
    config = tiny_config()
    config.backbone.batch_norm = True
    model = FasterRCNN(config, np.random.default_rng(0))
    before = {k: v.copy() for k, v in model.backbone.state_dict().items()}
    s = toy_sample(np.random.default_rng(1), size=32)
    model.loss(s.image[None], [s], np.random.default_rng(2), frozen_backbone=True)
    for k, v in model.backbone.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert model.backbone.training  # the mode is restored
    model.loss(s.image[None], [s], np.random.default_rng(2))
    assert not np.array_equal(
        model.backbone.state_dict()["body.1.running_mean"], before["body.1.running_mean"]
    )


def test_loss_rejects_bad_inputs():
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    image = np.zeros((1, 32, 32, 3), np.float32)
    empty = Target(np.zeros((0, 4)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="heads must be a non-empty subset"):
        model.loss(image, [empty], np.random.default_rng(0), heads=("both",))
    with pytest.raises(ValueError, match="N = 1 entries"):
        model.loss(image, [], np.random.default_rng(0))
    with pytest.raises(ValueError, match="proposals must have N = 1"):
        model.loss(image, [empty], np.random.default_rng(0), proposals=[])
    with pytest.raises(TypeError, match=r"targets\[0\] must have .bbox and .label"):
        model.loss(image, [np.zeros((0, 4))], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        model.loss(np.zeros((1, 32, 32)), [empty], np.random.default_rng(0))


# --------------------------------------------------------------------------- gradients
def test_detector_loss_gradient_matches_finite_differences():
    # The graph's gradient is the exact gradient of the loss *with the proposals held fixed*
    # (approximate joint training): take them from a frozen copy, so the loss is a smooth
    # function of every weight, and compare with central differences in float64.
    cfg = tiny_config()
    model = FasterRCNN(cfg, np.random.default_rng(0)).astype(np.float64)
    proposer = FasterRCNN(cfg, np.random.default_rng(0))
    s = toy_sample(np.random.default_rng(5), size=32)
    rois = proposer.propose(s.image[None])

    def loss() -> Tensor:
        terms = model.loss(s.image[None], [s], np.random.default_rng(9), proposals=rois)
        return sum(terms.values())

    total = loss()
    assert total.dtype == np.float64
    model.zero_grad()
    total.backward()
    probe = np.random.default_rng(3)
    layers = {
        "backbone conv1": model.backbone.body[0].weight,
        "rpn 3x3": model.rpn.conv.weight,
        "rpn score": model.rpn.score.weight,
        "rpn loc": model.rpn.loc.weight,
        "head fc1": model.head.fc1.weight,
        "head cls_score": model.head.cls_score.weight,
        "head cls_loc bias": model.head.cls_loc.bias,
    }
    for name, p in layers.items():
        for _ in range(2):
            k = tuple(int(probe.integers(0, n)) for n in p.shape)
            analytic = p.grad[k]
            orig = p.data[k]
            p.data[k] = orig + FD_EPS
            f_plus = loss().item()
            p.data[k] = orig - FD_EPS
            f_minus = loss().item()
            p.data[k] = orig
            numeric = (f_plus - f_minus) / (2 * FD_EPS)
            assert abs(analytic - numeric) <= 1e-6 + 1e-4 * abs(numeric), (
                name,
                k,
                analytic,
                numeric,
            )


# --------------------------------------------------------------------------- post-processing
def test_suppress_decodes_with_the_class_specific_offsets():
    roi = np.array([[10.0, 10.0, 30.0, 30.0]])
    loc = np.zeros((1, 12))  # K = 2
    loc[0, 8:12] = [0.5, 0.0, 0.0, 0.0]  # class 2 (label 1): shift by 0.5 * 0.1 * 20 = 1 px
    prob = np.array([[0.1, 0.2, 0.7]])
    bbox, label, score = suppress(
        roi, loc, prob, (64, 64), loc_normalize_mean=(0, 0, 0, 0), loc_normalize_std=STD
    )
    np.testing.assert_allclose(
        bbox, [[11.0, 10.0, 31.0, 30.0], [10.0, 10.0, 30.0, 30.0]], atol=1e-5
    )
    np.testing.assert_array_equal(label, [1, 0])
    np.testing.assert_allclose(score, [0.7, 0.2])


def test_suppress_threshold_nms_per_class_and_top_k():
    roi = np.array([[0.0, 0, 10, 10], [1, 0, 11, 10], [40, 40, 60, 60]])
    prob = np.array([[0.0, 0.9, 0.1], [0.0, 0.8, 0.2], [0.96, 0.03, 0.01]])
    args = dict(loc_normalize_mean=(0, 0, 0, 0), loc_normalize_std=STD)
    bbox, label, score = suppress(
        roi, np.zeros((3, 12)), prob, (64, 64), nms_thresh=0.5, score_thresh=0.05, **args
    )
    # class 0: box 1 overlaps box 0 (IoU 9/11) and goes; class 1 keeps both (other class);
    # box 2 is background (0.03, 0.01 below the threshold)
    np.testing.assert_allclose(score, [0.9, 0.2], atol=1e-6)
    np.testing.assert_array_equal(label, [0, 1])
    _, _, top = suppress(roi, np.zeros((3, 12)), prob, (64, 64), max_detections=1, **args)
    assert len(top) == 1


def test_suppress_clips_to_the_image_and_handles_no_roi():
    roi = np.array([[50.0, 50.0, 70.0, 70.0]])
    args = dict(loc_normalize_mean=(0, 0, 0, 0), loc_normalize_std=STD)
    bbox, _, _ = suppress(roi, np.zeros((1, 8)), np.array([[0.0, 1.0]]), (64, 60), **args)
    np.testing.assert_allclose(bbox, [[50.0, 50.0, 60.0, 64.0]])
    bbox, label, score = suppress(
        np.zeros((0, 4)), np.zeros((0, 8)), np.zeros((0, 2)), (8, 8), **args
    )
    assert bbox.shape == (0, 4) and label.shape == (0,) and score.shape == (0,)
    with pytest.raises(ValueError, match="roi_cls_loc must have shape"):
        suppress(roi, np.zeros((1, 4)), np.array([[0.0, 1.0]]), (8, 8), **args)


def test_predict_returns_boxes_labels_scores_per_image():
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    images = [np.zeros((32, 32, 3), np.float32), np.ones((24, 40, 3), np.float32) * 0.5]
    out = model.predict(images)
    assert len(out) == 2 and all(isinstance(p, Prediction) for p in out)
    assert isinstance(model, Detector) and model.n_class == 2
    for (bbox, label, score), (h, w) in zip(out, [(32, 32), (24, 40)]):
        assert bbox.dtype == np.float32 and label.dtype == np.int64 and score.dtype == np.float32
        assert len(bbox) == len(label) == len(score) <= model.config.detect.max_detections
        assert (bbox[:, 2] <= w).all() and (bbox[:, 3] <= h).all()
        assert np.all(np.diff(score) <= 0)
    assert model.training  # predict restores the mode


# --------------------------------------------------------------------------- overfitting
def test_overfits_a_single_image():
    # CI-sized: ~120 Adam steps on one 32 x 32 image; the loss must fall by a large factor
    # and the top detection must be the object, with the right class.
    sample = toy_sample(np.random.default_rng(3), size=32)
    model = FasterRCNN(tiny_config(), np.random.default_rng(0))
    opt = Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(1)
    history = []
    for _ in range(120):
        losses = model.loss(sample.image[None], [sample], rng)
        total = sum(losses.values())
        history.append(total.item())
        opt.zero_grad()
        total.backward()
        opt.step()
    assert history[0] / np.mean(history[-5:]) > 20
    bbox, label, score = model.predict(sample.image)[0]
    assert label[0] == sample.label[0] and score[0] > 0.9
    assert box_iou(bbox[:1], sample.bbox)[0, 0] > 0.7


# --------------------------------------------------------------------------- configs
def test_configs_round_trip_through_dicts():
    for cfg in (mnist_config(), neon_config(), tiny_config(3, objectness="sigmoid")):
        assert model_config_from_dict(config_to_dict(cfg)) == cfg
    train = TrainConfig(epochs=3, scheme="alternating", milestones=(0.5, 0.8))
    assert train_config_from_dict(config_to_dict(train)) == train


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: RPNConfig(objectness="softmax2"), "objectness must be one of"),
        (lambda: HeadConfig(roi_op="warp"), "roi_op must be one of"),
        (lambda: BackboneConfig(channels=(8,), n_pool=2), "n_pool must be in"),
        (lambda: BackboneConfig(channels=()), "channels must be"),
        (lambda: ModelConfig(n_class=0), "n_class must be >= 1"),
        (lambda: ModelConfig(n_class=2, class_names=("a",)), "class_names must have"),
        (lambda: TrainConfig(optimizer="rmsprop"), "optimizer must be one of"),
        (lambda: TrainConfig(scheme="4-step"), "scheme must be one of"),
        (lambda: TrainConfig(epochs=0), "epochs must be >= 1"),
        (lambda: TrainConfig(lr=0.0), "lr must be > 0"),
        (lambda: model_config_from_dict({"n_class": 2, "colour": 1}), "unknown ModelConfig field"),
    ],
)
def test_configs_reject_bad_values(build, match):
    with pytest.raises(ValueError, match=match):
        build()
