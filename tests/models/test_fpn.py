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
