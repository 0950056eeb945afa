"""The CenterNet detector: its heads, its loss against the formulas, its gradient, and training.

Source: X. Zhou, D. Wang, P. Krähenbühl, "Objects as Points", arXiv:1904.07850 (Sec. 3-4);
the course deck *Detection – 3 stages*, §M.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from bboxcore.eval import voc_ap
from bboxcore.losses.centernet import centernet_loss
from bboxcore.models.base import Prediction, Target
from bboxcore.models.centernet import CenterNet, CenterNetConfig, heatmap_prior_bias
from bboxcore.models.config import BackboneConfig, config_to_dict
from bboxcore.nn.optim import Adam
from bboxcore.targets.centernet import centernet_region_targets, centernet_targets
from tests.finite_diff import assert_loss_grads_close
from tests.models.toy import ToyScenes


def tiny_centernet(n_class: int = 2, **kw) -> CenterNetConfig:
    """Stride 4, channels (8, 16), heads of 8 channels: a few thousand weights."""
    base = dict(
        n_class=n_class, class_names=tuple(f"c{k}" for k in range(n_class)),
        backbone=BackboneConfig((8, 16), n_pool=2), head_channels=8, min_radius=1,
    )  # fmt: skip
    return CenterNetConfig(**{**base, **kw})


def _batch(n=2, seed=0):
    scenes = ToyScenes(n, seed=seed)
    images = np.stack([s.image for s in scenes.samples])
    return images, [Target(s.bbox, s.label) for s in scenes.samples]


def test_heatmap_bias_is_minus_log_nine_and_scores_start_at_the_prior():
    # the reference code (from RetinaNet, Sec. 4.1): the heatmap bias -2.19 = -log((1 - 0.1) / 0.1)
    assert heatmap_prior_bias(0.1) == pytest.approx(-math.log(9))
    model = CenterNet(tiny_centernet(), np.random.default_rng(0))
    np.testing.assert_allclose(model.heatmap_head[2].bias.data, -math.log(9), rtol=1e-6)
    images, _ = _batch()
    heat, size, offset = model(model.preprocess(images))
    assert heat.shape == (2, 2, 8, 8) and size.shape == offset.shape == (2, 2, 8, 8)
    prob = 1 / (1 + np.exp(-heat.data))
    assert abs(prob.mean() - 0.1) < 0.01  # every cell starts near π = 0.1
    with pytest.raises(ValueError, match=r"prior must be in \(0, 1\)"):
        heatmap_prior_bias(1.0)


def test_loss_equals_the_formula_on_the_network_outputs():
    # L_det = L_k + 0.1 L_size + L_off on the heads' outputs at the targets' centre cells
    model = CenterNet(tiny_centernet(), np.random.default_rng(0))
    images, targets = _batch()
    losses = model.loss(images, targets)
    assert list(losses) == ["heatmap", "size", "offset"]
    heat, size, offset = model(model.preprocess(images))
    t = [centernet_targets(g.bbox, g.label, 2, (8, 8), 4, min_radius=1) for g in targets]
    image_of = np.concatenate([np.full(len(x.index), i) for i, x in enumerate(t)])
    index = np.concatenate([x.index for x in t])
    at = (image_of, slice(None), index // 8, index % 8)
    expected = centernet_loss(
        heat.data, np.stack([x.heatmap for x in t]),
        size.data[at], np.concatenate([x.size for x in t]),
        offset.data[at], np.concatenate([x.offset for x in t]),
        np.concatenate([x.mask for x in t]),
    )  # fmt: skip
    for name, value in expected.items():
        assert float(losses[name].data) == pytest.approx(float(value), rel=1e-5)


def test_loss_gradient_matches_finite_differences():
    # the whole graph (heads, gather at the centres, focal and L1 terms) in float64
    model = CenterNet(tiny_centernet(), np.random.default_rng(1)).astype(np.float64)
    images, targets = _batch(seed=2)
    heads = (model.heatmap_head, model.size_head, model.offset_head)
    params = [p for head in heads for p in (head[0].weight, head[2].weight, head[2].bias)]
    assert_loss_grads_close(model, images, targets, params)


def test_region_samples_loss_is_the_mean_l1_over_the_samples_and_its_gradient():
    # reg_radius = 1 (TTFNet's regression samples, arXiv:1909.00700 Sec. 3.3): the size and
    # offset terms are the mean L1 over every sample of centernet_region_targets; the
    # heatmap term is unchanged
    model = CenterNet(tiny_centernet(reg_radius=1), np.random.default_rng(0))
    images, targets = _batch()
    losses = model.loss(images, targets)
    heat, size, offset = model(model.preprocess(images))
    t = [centernet_region_targets(g.bbox, (8, 8), 4, radius=1) for g in targets]
    image_of = np.concatenate([np.full(len(x.index), i) for i, x in enumerate(t)])
    index = np.concatenate([x.index for x in t])
    at = (image_of, slice(None), index // 8, index % 8)
    n = len(index)
    assert n > sum(len(g.bbox) for g in targets)  # more samples than objects
    for name, pred, target, lam in (("size", size, "size", 0.1), ("offset", offset, "offset", 1)):
        expected = lam * np.abs(pred.data[at] - np.concatenate([getattr(x, target) for x in t]))
        assert float(losses[name].data) == pytest.approx(expected.sum() / n, rel=1e-5)
    plain = CenterNet(tiny_centernet(), np.random.default_rng(0)).loss(images, targets)
    assert float(losses["heatmap"].data) == pytest.approx(float(plain["heatmap"].data))
    assert float(losses["size"].data) != pytest.approx(float(plain["size"].data))

    model = model.astype(np.float64)
    params = [model.size_head[0].weight, model.size_head[2].weight, model.offset_head[2].bias]
    assert_loss_grads_close(model, images, targets, params)
    old = config_to_dict(tiny_centernet())
    old.pop("reg_radius")  # a config saved before the field: the centre cells only
    assert CenterNet.config_from_dict(old).reg_radius == 0
    with pytest.raises(ValueError, match="reg_radius must be >= 0"):
        tiny_centernet(reg_radius=-1)


def test_an_image_without_objects_trains_only_the_heatmap():
    model = CenterNet(tiny_centernet(), np.random.default_rng(0))
    images, _ = _batch(1)
    empty = Target(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    losses = model.loss(images, [empty])
    assert float(losses["size"].data) == 0 and float(losses["offset"].data) == 0
    assert float(losses["heatmap"].data) > 0  # every cell is background


def test_overfits_two_toy_images():
    # end to end: a few hundred Adam steps on two toy scenes find their boxes (AP50 = 1)
    model = CenterNet(tiny_centernet(), np.random.default_rng(0))
    images, targets = _batch(2, seed=5)
    opt = Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        opt.zero_grad()
        sum(model.loss(images, targets).values()).backward()
        opt.step()
    pred = model.predict(images)
    assert all(isinstance(p, Prediction) for p in pred)
    gt = [ToyScenes(2, seed=5).annotation(i) for i in range(2)]
    detections = [p.to_detection(image_id=i) for i, p in enumerate(pred)]
    assert voc_ap(detections, gt, n_class=2).map == pytest.approx(1.0)


def test_predict_clips_sorts_and_limits_the_detections():
    model = CenterNet(tiny_centernet(max_detections=5, score_thresh=0.0), np.random.default_rng(0))
    images, _ = _batch(2)
    pred = model.predict(images)
    assert len(pred) == 2
    for bbox, label, score in pred:
        assert len(bbox) <= 5 and bbox.dtype == np.float32 and score.dtype == np.float32
        assert (bbox >= 0).all() and (bbox <= 32).all()
        assert (bbox[:, 2:] >= bbox[:, :2]).all()
        assert np.all(np.diff(score) <= 0) and label.dtype == np.int64
    one = model.predict(images[0])  # (H, W, 3) and lists of images of any size
    listed = model.predict([images[0], images[1][:16, :24]])
    np.testing.assert_array_equal(one[0].bbox, listed[0].bbox)
    assert (listed[1].bbox[:, 2] <= 24).all()


def test_config_round_trip_and_checks():
    cfg = tiny_centernet(n_upsample=0, min_overlap=0.5)
    back = CenterNet.config_from_dict(config_to_dict(cfg))
    assert back == cfg and back.stride == 4
    with pytest.raises(ValueError, match="unknown CenterNetConfig field"):
        CenterNet.config_from_dict({"n_class": 2, "nope": 1})
    with pytest.raises(ValueError, match="class_names must have n_class"):
        CenterNetConfig(n_class=2, class_names=("a",))
    with pytest.raises(ValueError, match="n_upsample must be in"):
        tiny_centernet(n_upsample=3)
    with pytest.raises(ValueError, match="prior must be in"):
        tiny_centernet(prior=0.0)
    with pytest.raises(ValueError, match="min_overlap must be in"):
        tiny_centernet(min_overlap=0.0)


# --------------------------------------------------------------------------- registry and trainer
def _train_config(out, **kw):
    from bboxcore.models.config import TrainConfig

    base = dict(
        out=str(out), model="centernet", epochs=2, batch_size=2, optimizer="adam", lr=0.01,
        warmup_iters=1, progress=False, eval_every=0, seed=3,
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_registered_as_centernet_with_a_preset_per_data_set():
    from bboxcore.models.presets import centernet_config
    from bboxcore.models.registry import MODELS, build_model

    assert MODELS["centernet"] is CenterNet
    a, b = (
        build_model("centernet", tiny_centernet(), 7),
        build_model("centernet", tiny_centernet(), 7),
    )
    assert all((p.data == q.data).all() for p, q in zip(a.parameters(), b.parameters()))
    mnist = CenterNet.default_config("mnist-det", [str(k) for k in range(10)])
    assert mnist == centernet_config("mnist-det", [str(k) for k in range(10)])
    assert mnist.stride == 4 and mnist.n_class == 10
    assert CenterNet.default_config("neon-trees", ["Tree"]).backbone.batch_norm
    assert CenterNet.default_config("voc:/x", ["a", "b"]).stride == 4


def test_trainer_runs_checkpoints_and_resumes_identically(tmp_path):
    # the shared trainer: 2 epochs straight vs 1 epoch, checkpoint, resume for the 2nd
    from bboxcore.models.trainer import Trainer

    data = ToyScenes(4)
    straight = Trainer(tiny_centernet(), _train_config(tmp_path / "a"), data)
    straight.fit()
    first = Trainer(tiny_centernet(), _train_config(tmp_path / "b", max_iters=2), data)
    first.fit()
    resumed = Trainer.resume(tmp_path / "b", train_set=data, max_iters=None)
    assert resumed.iteration == 2 and resumed.fit()
    assert isinstance(resumed.model, CenterNet) and resumed.model.config == tiny_centernet()
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    rows = [_log_rows(tmp_path / run / "log.csv") for run in ("a", "b")]
    assert rows[0] == rows[1] and len(rows[0]) == 4  # the same losses, step by step
    assert {"heatmap", "size", "offset"} <= set(rows[0][0])


def _log_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "img_per_s"} for r in csv.DictReader(f)]
