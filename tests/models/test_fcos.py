"""The FCOS detector: its loss against the formulas, its gradient, inference and training.

Source: Z. Tian, C. Shen, H. Chen, T. He, "FCOS: Fully Convolutional One-Stage Object
Detection", ICCV 2019, arXiv:1904.01355 (Eq. 2: focal loss / N_pos + IoU loss on positives /
N_pos; centre-ness BCE; inference: class score times centre-ness, NMS 0.6); the reference code
``fcos_core/modeling/rpn/fcos/inference.py`` (threshold 0.05 on the class probability, score
sqrt(cls * ctr)); the course deck *Detection – 3 stages*, §N (FCOS).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bboxcore.eval import voc_ap
from bboxcore.iou import box_iou_aligned
from bboxcore.losses import giou_loss, iou_loss, sigmoid_binary_cross_entropy, sigmoid_focal_loss
from bboxcore.models.base import Prediction, Target
from bboxcore.models.config import TrainConfig, config_to_dict
from bboxcore.models.fcos import FCOS, FcosConfig
from bboxcore.models.fpn import PyramidConfig, pad_images
from bboxcore.nn.optim import Adam
from bboxcore.targets.fcos import fcos_targets
from tests.finite_diff import assert_loss_grads_close
from tests.models.toy import ToyScenes


def tiny_fcos(n_class: int = 2, **kw) -> FcosConfig:
    """Strides 4 and 8 (8x8 and 4x4 locations on 32 px), 8 channels, one conv per branch."""
    base = dict(
        n_class=n_class, class_names=tuple(f"c{k}" for k in range(n_class)),
        pyramid=PyramidConfig(stem=(8, 16), stem_pool=2, stages=(16,), fpn_channels=8),
        size_bounds=(8.0,), head_convs=1, group_norm=2,
    )  # fmt: skip
    return FcosConfig(**{**base, **kw})


def _batch(n=2, seed=0):
    scenes = ToyScenes(n, seed=seed)
    images = np.stack([s.image for s in scenes.samples])
    return images, [Target(s.bbox, s.label) for s in scenes.samples]


@pytest.mark.parametrize("reg_loss", ["iou", "giou"])
def test_loss_equals_the_formula_on_the_network_outputs(reg_loss):
    # Eq. 2 / §N: L_cls / N_pos + (L_reg + L_ctr) on positives / N_pos
    model = FCOS(tiny_fcos(reg_loss=reg_loss), np.random.default_rng(0))
    images, targets = _batch()
    losses = model.loss(images, targets)
    assert list(losses) == ["cls", "reg", "ctr"]
    cls, ltrb, ctr, sizes = model(pad_images(images, 8)[0])
    assert sizes == [(8, 8), (4, 4)] and cls.shape == (2, 80, 2) and ltrb.shape == (2, 80, 4)
    focal = reg = bce = 0.0
    n_pos = 0
    for i, t in enumerate(targets):
        m = fcos_targets(t.bbox, t.label, sizes, (4, 8), ((0, 8), (8, math.inf)))
        fg = m.gt_class >= 0
        onehot = np.zeros((80, 2))
        onehot[fg, m.gt_class[fg]] = 1
        focal += sigmoid_focal_loss(cls.data[i], onehot, reduction="sum")
        p, g = ltrb.data[i][fg], m.ltrb[fg]
        if reg_loss == "iou":
            reg += iou_loss(p, g, reduction="sum")
        else:
            s = np.array([-1, -1, 1, 1])
            reg += giou_loss(p * s, g * s, reduction="sum")
        bce += sigmoid_binary_cross_entropy(ctr.data[i][fg], m.centerness[fg], reduction="sum")
        n_pos += int(fg.sum())
    assert n_pos > 0
    for name, value in (("cls", focal), ("reg", reg), ("ctr", bce)):
        assert float(losses[name].data) == pytest.approx(value / n_pos, rel=1e-5)


def test_iou_loss_is_minus_log_iou_of_the_decoded_boxes():
    # §N: -ln IoU of the boxes (x - l s, y - t s, x + r s, y + b s) of a positive location
    model = FCOS(tiny_fcos(), np.random.default_rng(0))
    images, targets = _batch(1)
    cls, ltrb, ctr, sizes = model(pad_images(images, 8)[0])
    m = fcos_targets(targets[0].bbox, targets[0].label, sizes, (4, 8), ((0, 8), (8, math.inf)))
    fg = m.gt_class >= 0
    loc, s = m.locations[fg], m.stride[fg, None]
    pred = np.concatenate([loc - ltrb.data[0][fg][:, :2] * s, loc + ltrb.data[0][fg][:, 2:] * s], 1)
    gt = targets[0].bbox[m.gt_index[fg]]
    want = -np.log(box_iou_aligned(pred, gt)).sum() / fg.sum()
    assert float(model.loss(images, targets)["reg"].data) == pytest.approx(want, rel=1e-4)


def test_loss_gradient_matches_finite_differences():
    model = FCOS(tiny_fcos(), np.random.default_rng(1)).astype(np.float64)
    images, targets = _batch(seed=2)
    params = [model.cls_logits.weight, model.ctr_logits.bias, model.reg_pred.weight,
              model.reg_tower[0].weight, model.fpn.output[0].weight]  # fmt: skip
    assert_loss_grads_close(model, images, targets, params)


def test_an_image_without_objects_trains_only_the_classifier():
    model = FCOS(tiny_fcos(), np.random.default_rng(0))
    images, _ = _batch(1)
    empty = Target(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    losses = model.loss(images, [empty])
    assert float(losses["reg"].data) == 0 and float(losses["ctr"].data) == 0
    assert float(losses["cls"].data) > 0


def test_overfits_two_toy_images():
    model = FCOS(tiny_fcos(), np.random.default_rng(0))
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


def test_predict_scores_are_sqrt_cls_times_centerness_and_limited():
    cfg = tiny_fcos(max_detections=5, score_thresh=0.0, nms_thresh=1.0)
    model = FCOS(cfg, np.random.default_rng(0))
    images, _ = _batch(2)
    cls, ltrb, ctr, _ = model(pad_images(images, 8)[0])
    p = 1 / (1 + np.exp(-cls.data[0].astype(np.float64)))
    c = 1 / (1 + np.exp(-ctr.data[0].astype(np.float64)))
    best = np.sort(np.sqrt(p * c[:, None]).ravel())[::-1][:5]
    pred = model.predict(images)
    np.testing.assert_allclose(pred[0].score, best, rtol=1e-5)  # NMS 1.0 removes nothing
    for bbox, label, score in pred:
        assert len(bbox) <= 5 and bbox.dtype == np.float32 and label.dtype == np.int64
        assert (bbox >= 0).all() and (bbox <= 32).all() and np.all(np.diff(score) <= 0)
    listed = model.predict([images[0], images[1][:20, :27]])
    np.testing.assert_array_equal(model.predict(images[0])[0].bbox, listed[0].bbox)
    assert (listed[1].bbox[:, 2] <= 27).all() and (listed[1].bbox[:, 3] <= 20).all()


def test_config_round_trip_registry_and_presets():
    from bboxcore.models.presets import fcos_config
    from bboxcore.models.registry import MODELS, build_model

    cfg = tiny_fcos(center_sampling_radius=1.5, reg_loss="giou")
    assert FCOS.config_from_dict(config_to_dict(cfg)) == cfg
    assert cfg.size_ranges == ((0.0, 8.0), (8.0, math.inf))
    with pytest.raises(ValueError, match="unknown FcosConfig field"):
        FCOS.config_from_dict({"n_class": 2, "nope": 1})
    with pytest.raises(ValueError, match="size_bounds must be 1 increasing"):
        tiny_fcos(size_bounds=(8.0, 16.0))
    with pytest.raises(ValueError, match="reg_loss must be one of"):
        tiny_fcos(reg_loss="l1")
    with pytest.raises(ValueError, match="group_norm"):
        tiny_fcos(group_norm=3)
    assert MODELS["fcos"] is FCOS
    a, b = build_model("fcos", cfg, 3), build_model("fcos", cfg, 3)
    assert all((p.data == q.data).all() for p, q in zip(a.parameters(), b.parameters()))
    mnist = FCOS.default_config("mnist-det", [str(k) for k in range(10)])
    assert mnist == fcos_config("mnist-det", [str(k) for k in range(10)])
    assert mnist.size_ranges == ((0.0, 32.0), (32.0, 64.0), (64.0, math.inf))
    assert FCOS.default_config("neon-trees", ["Tree"]).pyramid.batch_norm


def test_trainer_runs_and_resumes_identically(tmp_path):
    from bboxcore.models.trainer import Trainer

    def train_cfg(out, **kw):
        base = dict(out=str(out), model="fcos", epochs=2, batch_size=2, optimizer="adam",
                    lr=0.01, warmup_iters=1, progress=False, eval_every=0, seed=3)  # fmt: skip
        return TrainConfig(**{**base, **kw})

    data = ToyScenes(4)
    straight = Trainer(tiny_fcos(), train_cfg(tmp_path / "a"), data)
    straight.fit()
    first = Trainer(tiny_fcos(), train_cfg(tmp_path / "b", max_iters=2), data)
    first.fit()
    resumed = Trainer.resume(tmp_path / "b", train_set=data, max_iters=None)
    assert resumed.iteration == 2 and resumed.fit()
    assert isinstance(resumed.model, FCOS) and resumed.model.config == tiny_fcos()
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
