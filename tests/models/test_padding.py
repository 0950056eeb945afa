"""The pyramid detectors detect nothing in the padding that makes an image a multiple of 32.

FCOS, RetinaNet and CenterNet on the feature pyramid zero-pad an image at the bottom and right
(:func:`bboxcore.models.fpn.pad_images`). Every ground-truth box lies in its image, so a cell
whose point is in the padding (FCOS's location, the centre of RetinaNet's anchor, the top-left
corner of CenterNet's cell: where the targets put an object) was never a positive in training.
Each test gives the network outputs that fire only there (the network's own outputs, edited),
and expects no detection; the same edit firing everywhere gives detections, so the test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bboxcore.models.centernet import CenterNet, CenterNetConfig
from bboxcore.models.fcos import FCOS, FcosConfig
from bboxcore.models.fpn import in_image
from bboxcore.models.retinanet import RetinaNet, RetinaNetConfig
from bboxcore.targets.fcos import fcos_locations
from tests.models.test_centernet_pyramid import tiny_pyramid_centernet
from tests.models.test_fcos import tiny_fcos
from tests.models.test_retinanet import tiny_retinanet

H, W = 37, 53  # padded to 40 x 56 (top stride 8)


def _outside(points):
    """The padding, by the image's size: x >= W or y >= H."""
    return (points[:, 0] >= W) | (points[:, 1] >= H)


def _fires(where, everywhere):
    """Logits 10 where the network should fire (the padding, or every cell), -10 elsewhere."""
    return np.where(np.ones_like(where) if everywhere else where, 10.0, -10.0)


def _edited(model, edit):
    """``model`` whose forward pass returns its own outputs after ``edit(outputs)``."""
    real = model.forward

    def forward(x):
        out = real(x)
        edit(*out)
        return out

    model.forward = forward
    return model


def _fcos(everywhere):
    model = FCOS(tiny_fcos(n_class=1), np.random.default_rng(0))

    def edit(cls, ltrb, ctr, sizes):
        points = [fcos_locations(s, st) for s, st in zip(sizes, model.strides)]
        cls.data[0] = _fires(_outside(np.concatenate(points)), everywhere)[:, None]
        ctr.data[0], ltrb.data[0] = 10.0, 1.0

    return _edited(model, edit)


def _retinanet(everywhere):
    model = RetinaNet(tiny_retinanet(n_class=1), np.random.default_rng(0))

    def edit(cls, box, sizes):
        anchor = np.concatenate(model.anchors(sizes))
        cls.data[0] = _fires(_outside((anchor[:, :2] + anchor[:, 2:]) / 2), everywhere)[:, None]
        box.data[0] = 0.0

    return _edited(model, edit)


def _centernet(everywhere):
    model = CenterNet(tiny_pyramid_centernet(n_class=1), np.random.default_rng(0))

    def edit(heat, size, offset):
        ys, xs = np.mgrid[: heat.shape[2], : heat.shape[3]] * model.stride  # cell corners
        heat.data[0, 0] = _fires((xs >= W) | (ys >= H), everywhere)
        heat.data[0, 0, ::2, ::2] += 1.0  # distinct peaks for the 3 x 3 max-pool
        size.data[0] = 2.0

    return _edited(model, edit)


@pytest.mark.parametrize(
    "build", [_fcos, _retinanet, _centernet], ids=["fcos", "retinanet", "centernet"]
)
def test_a_network_that_fires_only_in_the_padding_detects_nothing(build):
    image = np.random.default_rng(1).random((H, W, 3), dtype=np.float32)
    assert len(build(everywhere=False).predict(image)[0].bbox) == 0
    bbox = build(everywhere=True).predict(image)[0].bbox
    assert len(bbox) > 0 and (bbox[:, 2] <= W).all() and (bbox[:, 3] <= H).all()


@settings(max_examples=30, deadline=None)
@given(
    points=arrays(
        np.float64, st.tuples(st.integers(0, 20), st.just(2)), elements=st.floats(-50, 150)
    ),
    h=st.integers(1, 100),
    w=st.integers(1, 100),
)
def test_in_image_is_x_below_w_and_y_below_h(points, h, w):
    before = points.copy()
    inside = in_image(points, (h, w))
    assert inside.dtype == bool and inside.shape == (len(points),)
    for (x, y), got in zip(points, inside):
        assert got == (x < w and y < h)
    np.testing.assert_array_equal(points, before)


@pytest.mark.parametrize(
    "points, img_size, error, match",
    [
        (np.zeros((3, 3)), (10, 10), ValueError, r"points must be shaped \(P, 2\)"),
        (np.zeros(2), (10, 10), ValueError, r"points must be shaped \(P, 2\)"),
        (np.array([["a", "b"]]), (10, 10), TypeError, "points must be a real numeric array"),
        (np.zeros((1, 2)), (10,), ValueError, r"img_size must be \(H, W\)"),
        (np.zeros((1, 2)), (0, 10), ValueError, r"img_size must be \(H, W\)"),
    ],
)
def test_in_image_errors_name_the_argument(points, img_size, error, match):
    with pytest.raises(error, match=match):
        in_image(points, img_size)


@pytest.mark.parametrize(
    "config, name",
    [
        ("fcos", "score_thresh"),
        ("fcos", "nms_thresh"),
        ("retinanet", "score_thresh"),
        ("retinanet", "nms_thresh"),
        ("centernet", "score_thresh"),
    ],
)
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_threshold_outside_0_1_is_refused(config, name, value):
    # the padding's scores are set to 0, which a negative score_thresh would let through
    cls = {"fcos": FcosConfig, "retinanet": RetinaNetConfig, "centernet": CenterNetConfig}[config]
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\]"):
        cls(**{name: value})
    assert getattr(cls(**{name: 0.0}), name) == 0.0
