"""CenterNet on the feature pyramid: P3 of the FPN, up-sampled to R, feeds the three heads.

Sources: X. Zhou, D. Wang, P. Krähenbühl, "Objects as Points", arXiv:1904.07850 (Sec. 3; Sec. 5
"Implementation details": DLA-34 up-sampled to stride 4 with skip connections); T.-Y. Lin et al.,
"Feature Pyramid Networks for Object Detection", arXiv:1612.03144 (Sec. 3, the top-down pathway);
the course deck *Detection – 3 stages*, §G3 (FPN) and §M (CenterNet). The receptive field follows
the recurrence F(i) = (F(i+1) - 1) stride_i + ksize_i of *Object Detection: Faster R-CNN*.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bboxcore.models.base import Target
from bboxcore.models.centernet import CenterNet, CenterNetConfig, centernet_config
from bboxcore.models.config import BackboneConfig, config_to_dict
from bboxcore.models.fpn import PyramidConfig, pyramid_config
from bboxcore.nn.tensor import Tensor, no_grad
from tests.finite_diff import assert_loss_grads_close
from tests.models.test_centernet import _log_rows, _train_config
from tests.models.toy import ToyScenes

#: C3 at stride 8 (three pooled stem blocks), C4 and C5 at 16 and 32, as the NEON pyramid.
TINY_PYRAMID = PyramidConfig(stem=(4, 8, 8), stem_pool=3, stages=(8, 8), fpn_channels=8)


def tiny_pyramid_centernet(n_class: int = 2, **kw) -> CenterNetConfig:
    """P3 at stride 8, one x2 up-sampling: R = 4, an 8 x 8 grid on the 32-px toy scenes."""
    base = dict(
        n_class=n_class, class_names=tuple(f"c{k}" for k in range(n_class)),
        pyramid=TINY_PYRAMID, n_upsample=1, upsample_channels=8, head_channels=8, min_radius=1,
    )  # fmt: skip
    return CenterNetConfig(**{**base, **kw})


def _batch(n=2, seed=0):
    scenes = ToyScenes(n, seed=seed)
    images = np.stack([s.image for s in scenes.samples])
    return images, [Target(s.bbox, s.label) for s in scenes.samples]


# --------------------------------------------------------------------------- the network
def test_outputs_come_from_p3_up_sampled_to_stride_four():
    cfg = tiny_pyramid_centernet()
    assert cfg.stride == 4 == TINY_PYRAMID.strides[0] // 2  # R = s_P3 / 2^n_upsample
    model = CenterNet(cfg, np.random.default_rng(0))
    assert model.stride == 4 and len(model.fpn.output) == 1  # only P3's 3x3 conv is built
    x = Tensor(np.zeros((2, 3, 64, 96), np.float32))
    heat, size, offset = model(x)
    assert heat.shape == (2, 2, 16, 24) and size.shape == offset.shape == (2, 2, 16, 24)
    p3 = model.fpn(model.backbone(x))[0]
    assert p3.shape == (2, 8, 8, 12)  # H / 8: the up-sampling stage doubles it to H / 4
    np.testing.assert_array_equal(heat.data, model.heatmap_head(model.neck(p3)).data)
    # sides of a multiple of 32 only: C5 up-sampled twice must meet C3
    with pytest.raises(ValueError, match="multiples of the top stride"):
        model(Tensor(np.zeros((1, 3, 48, 64), np.float32)))
    # n_upsample = 0: the heads read P3 itself, R = 8
    plain_p3 = CenterNet(tiny_pyramid_centernet(n_upsample=0), np.random.default_rng(0))
    assert plain_p3.stride == 8 and plain_p3.neck is None
    assert plain_p3(x)[0].shape == (2, 2, 8, 12)


def test_n_upsample_is_bounded_by_the_pools_of_the_path_in_use():
    # the default backbone has n_pool = 2; the pyramid's stem 3 pools: R = 8 / 2^3 = 1 is allowed
    assert CenterNetConfig().backbone.n_pool == 2
    assert tiny_pyramid_centernet(n_upsample=3).stride == 1
    with pytest.raises(ValueError, match=r"n_upsample must be in \[0, pyramid.stem_pool = 3\]"):
        tiny_pyramid_centernet(n_upsample=4)
    with pytest.raises(ValueError, match=r"n_upsample must be in \[0, backbone.n_pool = 2\]"):
        CenterNetConfig(n_upsample=3)


def _measured_field(model: CenterNet, width: int) -> int:
    """Pixels of one image row whose change changes one interior output cell (all of its channels).

    Every weight and bias is made positive and the input is positive, so every activation is
    positive and every layer (conv, ReLU, max-pool, nearest up-sampling, sum) is non-decreasing:
    a pixel raised by 1000 changes the cell iff the cell's receptive field holds it (the raised
    value wins every max-pool on its way).
    """
    for p in model.parameters():
        p.data = np.abs(p.data) + 0.01
    r, height = model.stride, 32
    row, col = height // r // 2, width // r // 2  # an interior cell, far from the padding
    base = np.ones((1, 3, height, width), np.float32)
    probes = np.repeat(base, width, axis=0)  # probe j raises pixel (y, j) of the cell's row
    probes[np.arange(width), :, row * r + r // 2, np.arange(width)] += 1000.0
    with no_grad():
        ref = model(Tensor(base))[0].data[0, :, row, col]
        out = model(Tensor(probes))[0].data[:, :, row, col]
    seen = np.nonzero((out != ref).any(axis=1))[0]
    assert len(seen) == seen[-1] - seen[0] + 1  # one interval of pixels
    return len(seen)


@pytest.mark.parametrize("n_upsample", [0, 1, 2])
def test_receptive_field_of_the_pyramid_path_is_c5s_plus_the_3x3_convs(n_upsample):
    # NEON's layout with 2 channels: stem c p c p c p c, then p c, p c to C5 (stride 32): the
    # recurrence gives C5 158 px; each 3x3 conv at stride s adds 2 s: P3's output conv 2 x 8,
    # the up-sampling stages' at 4, 2, ..., the heads' at R: 190 px for R = 8, 4 and 2
    pyr = PyramidConfig(stem=(2, 2, 2, 2), stem_pool=3, stages=(2, 2), fpn_channels=2)
    cfg = CenterNetConfig(
        n_class=1, pyramid=pyr, n_upsample=n_upsample, upsample_channels=2, head_channels=2
    )
    model = CenterNet(cfg, np.random.default_rng(0))
    ups = sum(2 * (8 // 2**i) for i in range(1, n_upsample + 1))
    assert model.receptive_field() == 158 + 2 * 8 + ups + 2 * cfg.stride
    assert model.receptive_field() == 190
    assert _measured_field(model, 384) == 190
    assert model.summary() == {"receptive_field": 190, "output_stride": cfg.stride}


def test_receptive_field_of_the_plain_path_is_measured_too():
    # NEON's plain stack (5 blocks, 3 pools) and one up-sampling: 70 px, as its docstring says
    cfg = CenterNetConfig(
        n_class=1, backbone=BackboneConfig((2, 2, 2, 2, 2), n_pool=3), n_upsample=1,
        upsample_channels=2, head_channels=2,
    )  # fmt: skip
    model = CenterNet(cfg, np.random.default_rng(0))
    assert model.receptive_field() == 70 == _measured_field(model, 192)


# --------------------------------------------------------------------------- training
def test_loss_gives_a_finite_gradient_to_every_parameter():
    model = CenterNet(tiny_pyramid_centernet(), np.random.default_rng(0))
    images, targets = _batch()
    losses = model.loss(images, targets)
    assert list(losses) == ["heatmap", "size", "offset"]
    assert all(np.isfinite(float(v.data)) and float(v.data) > 0 for v in losses.values())
    model.zero_grad()
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.data.shape, name
        assert np.isfinite(p.grad).all(), name
    # the bottom-up stem and the top level's lateral (C5 -> P3 through the top-down pathway)
    assert np.abs(model.backbone.stem.body[0].weight.grad).sum() > 0
    assert np.abs(model.fpn.lateral[2].weight.grad).sum() > 0


def test_loss_gradient_matches_finite_differences_through_the_fpn():
    model = CenterNet(tiny_pyramid_centernet(), np.random.default_rng(1)).astype(np.float64)
    images, targets = _batch(seed=2)
    params = (
        model.fpn.lateral[2].weight, model.fpn.lateral[0].bias, model.fpn.output[0].weight,
        model.neck[1].weight, model.heatmap_head[0].weight, model.size_head[2].weight,
        model.offset_head[2].bias,
    )  # fmt: skip
    assert_loss_grads_close(model, images, targets, params)


# --------------------------------------------------------------------------- inference
def test_predict_pads_any_size_and_keeps_boxes_in_the_original_pixels():
    # 45 x 70 is padded to 64 x 96 with the mean colour at the bottom and right (pad_images):
    # the same image padded by hand with that colour gives the same peaks and boxes in the
    # image, and more in the padding, which predict drops for the unpadded image
    # (tests/models/test_padding.py); dropped before the 3 x 3 max-pool, they no longer hide
    # the peaks of the image's last row and column (cells 11 and 17: corners 44 and 68). At
    # initialisation the offsets are ~0 and the sizes small, so a box's centre is its cell's
    # corner: < 70 and < 45 in the image, >= 72 or >= 48 in the padding.
    from bboxcore.models.base import PIXEL_MEAN

    model = CenterNet(
        tiny_pyramid_centernet(max_detections=300, score_thresh=0.0), np.random.default_rng(0)
    )
    image = np.random.default_rng(3).random((45, 70, 3), dtype=np.float32)
    padded = np.broadcast_to(np.asarray(PIXEL_MEAN, np.float32), (64, 96, 3)).copy()
    padded[:45, :70] = image
    (bbox, label, score), (bbox_p, label_p, score_p) = model.predict([image, padded])
    assert 0 < len(bbox) < len(bbox_p) < 300
    assert (bbox >= 0).all() and (bbox[:, [0, 2]] <= 70).all() and (bbox[:, [1, 3]] <= 45).all()
    assert (bbox[:, 2:] >= bbox[:, :2]).all() and np.all(np.diff(score) <= 0)
    inside = (((bbox_p[:, :2] + bbox_p[:, 2:]) / 2) < np.array([70, 45])).all(1)
    centre = (bbox[:, :2] + bbox[:, 2:]) / 2
    edge = (centre[:, 0] > 67) | (centre[:, 1] > 43)  # the last column and row of cells
    shared = np.isin(score, score_p[inside])
    assert (shared | edge).all() and shared.sum() == inside.sum()
    np.testing.assert_array_equal(label[shared], label_p[inside])
    clipped = np.minimum(bbox_p[inside], np.array([70, 45, 70, 45], np.float32))
    np.testing.assert_allclose(bbox[shared], clipped, rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------- configs
def test_config_round_trips_through_a_json_dict():
    cfg = tiny_pyramid_centernet(n_upsample=2)
    data = json.loads(json.dumps(config_to_dict(cfg)))  # tuples become lists, as in a checkpoint
    assert isinstance(data["pyramid"], dict)
    back = CenterNet.config_from_dict(data)
    assert back == cfg and isinstance(back.pyramid, PyramidConfig) and back.stride == 2
    a, b = CenterNet(cfg, np.random.default_rng(4)), CenterNet(back, np.random.default_rng(4))
    for (n, p), (m, q) in zip(a.named_parameters(), b.named_parameters()):
        assert n == m and (p.data == q.data).all()


#: config_to_dict of a CenterNetConfig written before the ``pyramid`` field existed.
OLD_CONFIG = {
    "n_class": 2, "class_names": ["c0", "c1"],
    "backbone": {"channels": [8, 16], "n_pool": 2, "in_channels": 3, "batch_norm": False},
    "n_upsample": 1, "upsample_channels": 8, "upsample_mode": "nearest", "head_channels": 8,
    "min_overlap": 0.7, "min_radius": 1, "alpha": 2.0, "beta": 4.0, "lambda_size": 0.1,
    "lambda_offset": 1.0, "prior": 0.1, "max_detections": 100, "score_thresh": 0.01,
}  # fmt: skip


def test_group_norm_in_the_up_sampling_stage_gradient_and_errors():
    # the paper's DLA-34 up-sampling path normalises after each conv ("Objects as Points" Sec. 5)
    model = CenterNet(tiny_pyramid_centernet(group_norm=2), np.random.default_rng(1))
    assert [type(m).__name__ for m in model.neck] == ["Upsample", "Conv2d", "GroupNorm", "ReLU"]
    model = model.astype(np.float64)
    images, targets = _batch(seed=2)
    params = (model.neck[1].weight, model.neck[2].weight, model.neck[2].bias)
    assert_loss_grads_close(model, images, targets, params)
    old = config_to_dict(tiny_pyramid_centernet())
    old.pop("group_norm")  # saved before the field existed: no normalisation, as then
    plain = CenterNet(CenterNet.config_from_dict(old), np.random.default_rng(1))
    assert [type(m).__name__ for m in plain.neck] == ["Upsample", "Conv2d", "ReLU"]
    with pytest.raises(ValueError, match=r"group_norm \(3\) must be 0 or divide upsample_chan"):
        tiny_pyramid_centernet(group_norm=3)


def test_a_config_without_pyramid_builds_the_network_of_before():
    # the parameter names (a checkpoint's keys), the weights drawn from seed 7 and the heatmap
    # of one image, as recorded with the CenterNet of before the pyramid (commit d6ef324)
    cfg = CenterNet.config_from_dict(dict(OLD_CONFIG))
    assert cfg.pyramid is None and cfg.stride == 2
    model = CenterNet(cfg, np.random.default_rng(7))
    assert model.fpn is None
    assert [n for n, _ in model.named_parameters()] == [
        "backbone.body.0.weight", "backbone.body.0.bias", "backbone.body.3.weight",
        "backbone.body.3.bias", "neck.1.weight", "neck.1.bias",
        *(f"{h}_head.{i}.{w}" for h in ("heatmap", "size", "offset") for i in (0, 2)
          for w in ("weight", "bias")),
    ]  # fmt: skip
    total = sum(np.abs(p.data.astype(np.float64)).sum() for p in model.parameters())
    assert float(total) == pytest.approx(534.4091435672999, rel=1e-12)
    image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    heat = model(model.preprocess(image))[0]
    assert float(heat.data.astype(np.float64).sum()) == pytest.approx(-1107.0462565422058, rel=1e-6)


def test_neck_argument_of_the_preset():
    # the data set's choice: the pyramid on NEON tiles (its trials), the plain stack elsewhere
    assert centernet_config("neon-trees", ["Tree"]) == centernet_config(
        "neon-trees", ["Tree"], neck="fpn"
    )
    assert centernet_config("mnist-det", list("0123456789")).pyramid is None
    for dataset, names in (("neon-trees", ["Tree"]), ("mnist-det", list("0123456789"))):
        plain = centernet_config(dataset, names, neck="upsample")
        assert plain.pyramid is None
        fpn = centernet_config(dataset, names, neck="fpn")
        assert fpn.pyramid == pyramid_config(dataset) and fpn.n_upsample == 1 and fpn.stride == 4
        # the preset's other choices are kept: only the neck differs
        assert fpn == dataclasses.replace(plain, pyramid=pyramid_config(dataset))
    folder = centernet_config("voc:/x", ["a", "b"], neck="fpn")
    assert folder.n_upsample == 1 and folder.stride == 4  # P3 at 8 (the plain stack: 16, 2 ups)
    with pytest.raises(ValueError, match="neck must be 'upsample' or 'fpn'; got 'dla'"):
        centernet_config("neon-trees", ["Tree"], neck="dla")


def test_neon_pyramid_variant_sees_190_px_at_stride_four():
    # the NEON preset sees 70 px (neon_config's backbone); its pyramid variant C5's 158 + 32
    plain = CenterNet(centernet_config("neon-trees", ["Tree"], neck="upsample"),
                      np.random.default_rng(0))  # fmt: skip
    fpn = CenterNet(centernet_config("neon-trees", ["Tree"], neck="fpn"), np.random.default_rng(0))
    assert plain.summary() == {"receptive_field": 70, "output_stride": 4}
    assert fpn.summary() == {"receptive_field": 190, "output_stride": 4}


# --------------------------------------------------------------------------- trainer
def test_trainer_checkpoints_and_resumes_the_pyramid_variant_identically(tmp_path):
    from bboxcore.models.trainer import Trainer

    data = ToyScenes(4)
    straight = Trainer(tiny_pyramid_centernet(), _train_config(tmp_path / "a"), data)
    straight.fit()
    first = Trainer(tiny_pyramid_centernet(), _train_config(tmp_path / "b", max_iters=2), data)
    first.fit()
    resumed = Trainer.resume(tmp_path / "b", train_set=data, max_iters=None)
    assert resumed.iteration == 2 and resumed.fit()
    assert resumed.model.config == tiny_pyramid_centernet() and resumed.model.fpn is not None
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    rows = [_log_rows(tmp_path / run / "log.csv") for run in ("a", "b")]
    assert rows[0] == rows[1] and len(rows[0]) == 4
