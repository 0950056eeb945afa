"""The feature pyramid: the top-down equation, its gradient, shapes and padding.

Source: T.-Y. Lin, P. Dollár, R. Girshick, K. He, B. Hariharan, S. Belongie, "Feature Pyramid
Networks for Object Detection", CVPR 2017, arXiv:1612.03144 (Sec. 3, Fig. 3: lateral 1x1,
nearest x2 up-sampling and addition, 3x3 conv on each merged map); the course deck
*Detection – 3 stages*, §G3 (FPN).
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.models.fpn import FPN, PyramidBackbone, PyramidConfig, pad_images
from bboxcore.nn.gradcheck import gradcheck
from bboxcore.nn.tensor import Tensor


def _up2(a: np.ndarray) -> np.ndarray:
    return a.repeat(2, axis=2).repeat(2, axis=3)


def test_fpn_is_lateral_plus_upsampled_top_then_3x3():
    # Fig. 3: M5 = L5(C5), M_l = L_l(C_l) + up2(M_{l+1}), P_l = conv3x3(M_l)
    rng = np.random.default_rng(0)
    fpn = FPN((3, 4, 5), 6, rng)
    c = [Tensor(rng.normal(size=(2, ch, s, s))) for ch, s in ((3, 8), (4, 4), (5, 2))]
    p = fpn(c)
    m5 = fpn.lateral[2](c[2]).data
    m4 = fpn.lateral[1](c[1]).data + _up2(m5)
    m3 = fpn.lateral[0](c[0]).data + _up2(m4)
    for level, m in enumerate((m3, m4, m5)):
        want = fpn.output[level](Tensor(m)).data
        np.testing.assert_allclose(p[level].data, want, rtol=1e-5, atol=1e-6)
    assert [x.shape for x in p] == [(2, 6, 8, 8), (2, 6, 4, 4), (2, 6, 2, 2)]


def test_fpn_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    fpn = FPN((2, 3), 2, rng).astype(np.float64)
    c3 = Tensor(rng.normal(size=(1, 2, 4, 4)), requires_grad=True)
    c4 = Tensor(rng.normal(size=(1, 3, 2, 2)), requires_grad=True)

    def f(a, b):
        p3, p4 = fpn([a, b])
        return (p3 * p3).sum() + (p4 * 2.0).sum()

    gradcheck(f, [c3, c4])


def test_fpn_rejects_mismatched_levels():
    fpn = FPN((2, 3), 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="multiples of the top stride"):
        fpn([Tensor(np.zeros((1, 2, 5, 5))), Tensor(np.zeros((1, 3, 2, 2)))])
    with pytest.raises(ValueError, match="expects 2 levels"):
        fpn([Tensor(np.zeros((1, 2, 4, 4)))])


def test_pyramid_backbone_strides_and_channels():
    cfg = PyramidConfig(stem=(4, 8), stem_pool=2, stages=(6, 7), fpn_channels=4)
    assert cfg.strides == (4, 8, 16)
    net = PyramidBackbone(cfg, np.random.default_rng(0))
    feats = net(Tensor(np.zeros((1, 3, 32, 32), np.float32)))
    assert [f.shape for f in feats] == [(1, 8, 8, 8), (1, 6, 4, 4), (1, 7, 2, 2)]
    assert net.out_channels == (8, 6, 7)
    with pytest.raises(ValueError, match="stem_pool"):
        PyramidConfig(stem=(4,), stem_pool=2)
    with pytest.raises(ValueError, match="fpn_channels"):
        PyramidConfig(fpn_channels=0)


def test_pad_images_keeps_pixels_in_place():
    img = np.random.default_rng(0).random((2, 20, 27, 3), dtype=np.float32)
    x, size = pad_images(img, 8)
    assert x.shape == (2, 3, 24, 32) and size == (20, 27)
    assert (x.data[:, :, 20:, :] == 0).all() and (x.data[:, :, :, 27:] == 0).all()
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(x.data[1, :, 5, 7], (img[1, 5, 7] - mean) / std, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        pad_images(np.zeros((4, 4)), 8)


def test_fpn_with_one_output_is_the_full_fpns_p3():
    # n_output=1 (CenterNet): the top-down pathway still merges C5 and C4 into M3, but only
    # P3 = conv3x3(M3) is computed; given the same weights, it is the full FPN's P3
    rng = np.random.default_rng(2)
    c = [Tensor(rng.normal(size=(1, ch, s, s))) for ch, s in ((3, 8), (4, 4), (5, 2))]
    full = FPN((3, 4, 5), 6, np.random.default_rng(0))
    p3_only = FPN((3, 4, 5), 6, np.random.default_rng(1), n_output=1)
    assert len(p3_only.output) == 1 and len(p3_only.parameters()) == 2 * 3 + 2
    for conv, same in zip((*p3_only.lateral, *p3_only.output), (*full.lateral, full.output[0])):
        conv.weight.data, conv.bias.data = same.weight.data.copy(), same.bias.data.copy()
    (p3,) = p3_only(c)
    np.testing.assert_array_equal(p3.data, full(c)[0].data)
    with pytest.raises(ValueError, match=r"n_output must be in \[1, 3\]"):
        FPN((3, 4, 5), 6, np.random.default_rng(0), n_output=0)


def test_pyramid_backbone_layers_give_c5s_receptive_field():
    # stem c p c p c p c, then p c per stage; F(i) = (F(i+1) - 1) stride_i + ksize_i:
    # 1 -> 3 -> 6 -> 8 -> 16 -> 18 -> 36 -> 38 -> 76 -> 78 -> 156 -> 158 px
    from bboxcore.anchors import receptive_field

    cfg = PyramidConfig(stem=(2, 2, 2, 2), stem_pool=3, stages=(2, 2))
    net = PyramidBackbone(cfg, np.random.default_rng(0))
    assert net.layers() == [(3, 1), (2, 2)] * 3 + [(3, 1)] + [(2, 2), (3, 1)] * 2
    assert receptive_field(net.layers()) == 158
