"""The RetinaNet detector: the prior bias, its loss against the formulas, its gradient, training.

Source: T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object
Detection", ICCV 2017, arXiv:1708.02002 (Sec. 4: subnets, π = 0.01 initialisation, focal loss
summed over non-ignored anchors / number of foreground anchors, inference top 1000 > 0.05 per
level, NMS 0.5); the course deck *Detection – 3 stages*, §I (RetinaNet).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bboxcore.eval import voc_ap
from bboxcore.losses import sigmoid_focal_loss, smooth_l1
from bboxcore.models.base import Prediction, Target
from bboxcore.models.config import TrainConfig, config_to_dict
from bboxcore.models.fpn import PyramidConfig, pad_images
from bboxcore.models.retinanet import RetinaNet, RetinaNetConfig, prior_bias
from bboxcore.nn.optim import Adam
from bboxcore.targets.retinanet import retinanet_targets
from tests.finite_diff import assert_loss_grads_close
from tests.models.toy import ToyScenes


def tiny_retinanet(n_class: int = 2, **kw) -> RetinaNetConfig:
    """P at strides 4 and 8 (8x8 and 4x4 cells on 32 px), 8 channels, one conv per subnet."""
    base = dict(
        n_class=n_class, class_names=tuple(f"c{k}" for k in range(n_class)),
        pyramid=PyramidConfig(stem=(8, 16), stem_pool=2, stages=(16,), fpn_channels=8),
        anchor_sizes=(8.0, 16.0), head_convs=1,
    )  # fmt: skip
    return RetinaNetConfig(**{**base, **kw})


def _batch(n=2, seed=0):
    scenes = ToyScenes(n, seed=seed)
    images = np.stack([s.image for s in scenes.samples])
    return images, [Target(s.bbox, s.label) for s in scenes.samples]


def test_prior_bias_starts_every_score_at_one_percent():
    # Sec. 4.1: b = -log((1 - π) / π), π = 0.01, so that the background does not swamp the loss
    assert prior_bias(0.01) == pytest.approx(-math.log(99))
    model = RetinaNet(tiny_retinanet(), np.random.default_rng(0))
    images, targets = _batch()
    cls, box, sizes = model(pad_images(images, 8)[0])
    assert sizes == [(8, 8), (4, 4)] and cls.shape == (2, 9 * (64 + 16), 2)
    assert box.shape == (2, 9 * 80, 4)
    assert abs(1 / (1 + np.exp(-cls.data)).mean() - 0.01) < 0.002
    losses = model.loss(images, targets)
    assert float(losses["cls"].data) < 2.0  # of order one, not thousands
    # with b = 0 the same 1440 anchors cost over ten times more (and it grows with the anchors)
    flat = RetinaNet(tiny_retinanet(prior=0.5), np.random.default_rng(0))
    assert float(flat.loss(images, targets)["cls"].data) > 10 * float(losses["cls"].data)
    with pytest.raises(ValueError, match=r"prior must be in \(0, 1\)"):
        prior_bias(0.0)


def test_loss_equals_the_formula_on_the_network_outputs():
    # focal over non-ignored anchors x K classes + smooth-L1 on foreground offsets, / N_fg
    model = RetinaNet(tiny_retinanet(), np.random.default_rng(0))
    images, targets = _batch()
    losses = model.loss(images, targets)
    assert list(losses) == ["cls", "box"]
    cls, box, sizes = model(pad_images(images, 8)[0])
    anchor = np.concatenate(model.anchors(sizes))
    focal, l1, n_fg = 0.0, 0.0, 0
    for i, t in enumerate(targets):
        m = retinanet_targets(anchor, t.bbox, t.label)
        cared, fg = m.label != -1, m.label == 1
        onehot = np.zeros((len(anchor), 2))
        onehot[fg, m.gt_class[fg]] = 1
        focal += sigmoid_focal_loss(cls.data[i][cared], onehot[cared], reduction="sum")
        l1 += smooth_l1(box.data[i][fg] - m.loc[fg], beta=0.11, reduction="sum")
        n_fg += int(fg.sum())
    assert n_fg > 0
    assert float(losses["cls"].data) == pytest.approx(focal / n_fg, rel=1e-5)
    assert float(losses["box"].data) == pytest.approx(l1 / n_fg, rel=1e-5)


def test_loss_gradient_matches_finite_differences():
    model = RetinaNet(tiny_retinanet(), np.random.default_rng(1)).astype(np.float64)
    images, targets = _batch(seed=2)
    params = [model.cls_logits.weight, model.cls_logits.bias, model.box_pred.weight,
              model.cls_subnet[0].weight, model.fpn.lateral[1].weight]  # fmt: skip
    assert_loss_grads_close(model, images, targets, params)


def test_group_norm_subnets_gradient_and_errors():
    # ATSS (Zhang et al., arXiv:1912.02424, Table 1): GN after each subnet conv, as FCOS's heads
    model = RetinaNet(tiny_retinanet(group_norm=2), np.random.default_rng(1)).astype(np.float64)
    kinds = [type(m).__name__ for m in model.cls_subnet]
    assert kinds == ["Conv2d", "GroupNorm", "ReLU"] == [type(m).__name__ for m in model.box_subnet]
    images, targets = _batch(seed=2)
    params = [model.cls_subnet[1].weight, model.box_subnet[1].bias, model.cls_subnet[0].weight]
    assert_loss_grads_close(model, images, targets, params)
    # a config saved before the field existed builds the subnets without normalisation
    old = config_to_dict(tiny_retinanet())
    old.pop("group_norm")
    assert RetinaNet.config_from_dict(old).group_norm == 0
    for bad in (3, -1):
        with pytest.raises(ValueError, match=rf"group_norm \({bad}\) must be 0 or divide"):
            tiny_retinanet(group_norm=bad)


def test_an_image_without_objects_trains_only_the_classifier():
    model = RetinaNet(tiny_retinanet(), np.random.default_rng(0))
    images, _ = _batch(1)
    empty = Target(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    losses = model.loss(images, [empty])
    assert float(losses["box"].data) == 0 and float(losses["cls"].data) > 0


def test_overfits_two_toy_images():
    model = RetinaNet(tiny_retinanet(), np.random.default_rng(0))
    images, targets = _batch(2, seed=5)
    opt = Adam(model.parameters(), lr=0.01)
    for _ in range(120):
        opt.zero_grad()
        sum(model.loss(images, targets).values()).backward()
        opt.step()
    pred = model.predict(images)
    assert all(isinstance(p, Prediction) for p in pred)
    gt = [ToyScenes(2, seed=5).annotation(i) for i in range(2)]
    detections = [p.to_detection(image_id=i) for i, p in enumerate(pred)]
    assert voc_ap(detections, gt, n_class=2).map == pytest.approx(1.0)


def test_predict_clips_sorts_and_limits_the_detections():
    model = RetinaNet(
        tiny_retinanet(max_detections=5, score_thresh=0.0, pre_nms_top_n=7),
        np.random.default_rng(0),
    )
    images, _ = _batch(2)
    pred = model.predict(images)
    assert len(pred) == 2
    for bbox, label, score in pred:
        assert 0 < len(bbox) <= 5 and bbox.dtype == np.float32 and score.dtype == np.float32
        assert (bbox >= 0).all() and (bbox <= 32).all()
        assert np.all(np.diff(score) <= 0) and label.dtype == np.int64
    listed = model.predict([images[0], images[1][:20, :27]])  # any size: padded to 8
    np.testing.assert_array_equal(model.predict(images[0])[0].bbox, listed[0].bbox)
    assert (listed[1].bbox[:, 2] <= 27).all() and (listed[1].bbox[:, 3] <= 20).all()


def test_config_round_trip_registry_and_presets():
    from bboxcore.models.presets import retinanet_config
    from bboxcore.models.registry import MODELS, build_model

    cfg = tiny_retinanet(gamma=1.0)
    assert RetinaNet.config_from_dict(config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown RetinaNetConfig field"):
        RetinaNet.config_from_dict({"n_class": 2, "nope": 1})
    with pytest.raises(ValueError, match="one size per level"):
        tiny_retinanet(anchor_sizes=(8.0,))
    with pytest.raises(ValueError, match="class_names must have"):
        RetinaNetConfig(n_class=2, class_names=("a",))
    assert MODELS["retinanet"] is RetinaNet
    a, b = build_model("retinanet", cfg, 3), build_model("retinanet", cfg, 3)
    assert all((p.data == q.data).all() for p, q in zip(a.parameters(), b.parameters()))
    mnist = RetinaNet.default_config("mnist-det", [str(k) for k in range(10)])
    assert mnist == retinanet_config("mnist-det", [str(k) for k in range(10)])
    assert mnist.pyramid.strides == (8, 16, 32) and mnist.n_anchor == 9
    assert RetinaNet.default_config("neon-trees", ["Tree"]).pyramid.batch_norm


def test_trainer_runs_and_resumes_identically(tmp_path):
    from bboxcore.models.trainer import Trainer

    def train_cfg(out, **kw):
        base = dict(out=str(out), model="retinanet", epochs=2, batch_size=2, optimizer="adam",
                    lr=0.01, warmup_iters=1, progress=False, eval_every=0, seed=3)  # fmt: skip
        return TrainConfig(**{**base, **kw})

    data = ToyScenes(4)
    straight = Trainer(tiny_retinanet(), train_cfg(tmp_path / "a"), data)
    straight.fit()
    first = Trainer(tiny_retinanet(), train_cfg(tmp_path / "b", max_iters=2), data)
    first.fit()
    resumed = Trainer.resume(tmp_path / "b", train_set=data, max_iters=None)
    assert resumed.iteration == 2 and resumed.fit()
    assert isinstance(resumed.model, RetinaNet) and resumed.model.config == tiny_retinanet()
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
