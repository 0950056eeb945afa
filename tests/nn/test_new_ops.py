"""The ops of the one-stage detectors (issue #14): loop references, finite differences, modules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore import nn
from bboxcore.nn import Tensor, gradcheck

seeds = st.integers(0, 2**32 - 1)


def rand(rng, *shape):
    return rng.standard_normal(shape)


# --------------------------------------------------------------------------- conv_transpose2d
def conv_transpose2d_loop(x, w, b, stride, padding, output_padding, dilation):
    """y[n, f, s h + d i - p, s w + d j - p] += W[c, f, i, j] x[n, c, h, w] (inside the output)."""
    n, c, h, wd = x.shape
    _, f, kh, kw = w.shape
    ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    wo = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    y = np.zeros((n, f, ho, wo))
    for a in range(n):
        for ch in range(c):
            for r in range(h):
                for q in range(wd):
                    for i in range(kh):
                        for j in range(kw):
                            u = stride[0] * r + dilation[0] * i - padding[0]
                            v = stride[1] * q + dilation[1] * j - padding[1]
                            if 0 <= u < ho and 0 <= v < wo:
                                y[a, :, u, v] += w[ch, :, i, j] * x[a, ch, r, q]
    return y + (0 if b is None else b[None, :, None, None])


@st.composite
def transpose_geometries(draw):
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return {
        "x_shape": (
            draw(st.integers(1, 2)),
            draw(st.integers(1, 3)),
            *(draw(st.integers(1, 4)) for _ in "hw"),
        ),
        "w_shape": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "kernel": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "stride": stride,
        "padding": (draw(st.integers(0, 1)), draw(st.integers(0, 1))),
        "output_padding": tuple(draw(st.integers(0, s - 1)) for s in stride),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
    }


@settings(max_examples=40, deadline=None)
@given(g=transpose_geometries(), seed=seeds, with_bias=st.booleans())
def test_conv_transpose2d_matches_loop_reference(g, seed, with_bias):
    rng = np.random.default_rng(seed)
    x = rand(rng, *g["x_shape"])
    w = rand(rng, g["x_shape"][1], g["w_shape"][1], *g["kernel"])
    b = rand(rng, w.shape[1]) if with_bias else None
    args = (g["stride"], g["padding"], g["output_padding"], g["dilation"])
    try:
        expected = conv_transpose2d_loop(x, w, b, *args)
    except ValueError:
        return
    if min(expected.shape[2:]) < 1:
        with pytest.raises(ValueError, match="output would be"):
            nn.conv_transpose2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), *args)
        return
    y = nn.conv_transpose2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), *args)
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x), y> = <x, conv_transpose2d(y)> with the same weight and geometry."""
    rng = np.random.default_rng(0)
    x, w = rand(rng, 2, 3, 9, 8), rand(rng, 4, 3, 3, 3)
    y = nn.conv2d(Tensor(x), Tensor(w), stride=2, padding=1, dilation=(1, 2))
    dy = rand(rng, *y.shape)
    back = nn.conv_transpose2d(Tensor(dy), Tensor(w), stride=2, padding=1, dilation=(1, 2),
                               output_padding=(0, 1))  # fmt: skip
    assert back.shape == x.shape
    np.testing.assert_allclose((y.data * dy).sum(), (x * back.data).sum(), rtol=1e-10)


def test_conv_transpose2d_gradcheck():
    rng = np.random.default_rng(1)
    fn = lambda x, w, b: nn.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)  # noqa: E731
    assert gradcheck(fn, [rand(rng, 2, 2, 3, 3), rand(rng, 2, 3, 3, 3), rand(rng, 3)])


def test_conv_transpose2d_rejects_bad_arguments():
    x, w = Tensor(np.ones((1, 2, 3, 3))), Tensor(np.ones((2, 1, 3, 3)))
    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        nn.conv_transpose2d(x, w, stride=1, output_padding=1)
    with pytest.raises(ValueError, match=r"weight must have shape \(2, F, kh, kw\)"):
        nn.conv_transpose2d(x, Tensor(np.ones((3, 1, 3, 3))))
    with pytest.raises(ValueError, match=r"bias must have shape \(1,\)"):
        nn.conv_transpose2d(x, w, Tensor(np.ones(2)))


# --------------------------------------------------------------------------- resampling
@settings(max_examples=30, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       s=st.integers(1, 4), seed=seeds)  # fmt: skip
def test_upsample_nearest_copies_each_pixel_into_a_block(shape, s, seed):
    x = rand(np.random.default_rng(seed), *shape)
    y = nn.upsample_nearest(Tensor(x), s).data
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            np.testing.assert_array_equal(y[:, :, i, j], x[:, :, i // s, j // s])


def bilinear_loop(x, ho, wo):
    """align_corners=False, one output pixel at a time (PyTorch's formula)."""
    n, c, h, w = x.shape
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        u = max((i + 0.5) * h / ho - 0.5, 0.0)
        u0 = min(int(np.floor(u)), h - 1)
        u1, fu = min(u0 + 1, h - 1), u - u0
        for j in range(wo):
            v = max((j + 0.5) * w / wo - 0.5, 0.0)
            v0 = min(int(np.floor(v)), w - 1)
            v1, fv = min(v0 + 1, w - 1), v - v0
            y[:, :, i, j] = (
                (1 - fu) * (1 - fv) * x[:, :, u0, v0] + (1 - fu) * fv * x[:, :, u0, v1]
                + fu * (1 - fv) * x[:, :, u1, v0] + fu * fv * x[:, :, u1, v1]
            )  # fmt: skip
    return y


@settings(max_examples=30, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)),
       s=st.integers(1, 3), seed=seeds)  # fmt: skip
def test_upsample_bilinear_matches_loop_reference(shape, s, seed):
    x = rand(np.random.default_rng(seed), *shape)
    y = nn.upsample_bilinear(Tensor(x), s).data
    np.testing.assert_allclose(y, bilinear_loop(x, shape[2] * s, shape[3] * s), rtol=1e-12)
    z = nn.upsample_bilinear(Tensor(x), size=(7, 3)).data
    np.testing.assert_allclose(z, bilinear_loop(x, 7, 3), rtol=1e-12)


def test_upsample_bilinear_known_values():
    # 2 -> 4: samples at u = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last pixel)
    y = nn.upsample_bilinear(Tensor(np.array([[[[0.0, 4.0]]]])), 2).data[0, 0, 0]
    np.testing.assert_allclose(y, [0.0, 0.25 * 4, 0.75 * 4, 4.0])


def test_space_to_depth_channel_order():
    """y[n, c b^2 + i b + j, u, v] = x[n, c, b u + i, b v + j] (pixel_unshuffle's order)."""
    rng = np.random.default_rng(0)
    x, b = rand(rng, 2, 3, 4, 6), 2
    y = nn.space_to_depth(Tensor(x), b).data
    assert y.shape == (2, 12, 2, 3)
    for c in range(3):
        for i in range(b):
            for j in range(b):
                np.testing.assert_array_equal(y[:, c * b * b + i * b + j], x[:, c, i::b, j::b])
    with pytest.raises(ValueError, match="divisible by block_size 2"):
        nn.space_to_depth(Tensor(np.ones((1, 1, 3, 4))), 2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: nn.upsample_nearest(x, 3),
        lambda x: nn.upsample_bilinear(x, 2),
        lambda x: nn.upsample_bilinear(x, size=(5, 2)),
        lambda x: nn.space_to_depth(x, 2),
    ],
    ids=["nearest", "bilinear", "bilinear-size", "space_to_depth"],
)
def test_resampling_gradcheck(fn):
    assert gradcheck(fn, [rand(np.random.default_rng(3), 2, 2, 4, 4)])


def test_resampling_rejects_bad_factors():
    x = Tensor(np.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="scale_factor must be a positive integer"):
        nn.upsample_nearest(x, 0)
    with pytest.raises(TypeError, match="scale_factor must be a positive integer"):
        nn.upsample_bilinear(x, 1.5)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        nn.upsample_nearest(Tensor(np.ones((2, 2))), 2)


# --------------------------------------------------------------------------- activations
def test_activations_forward_values():
    x = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    np.testing.assert_allclose(
        nn.sigmoid(Tensor(x)).data, [0.0, 1 / (1 + np.exp(3.0)), 0.5, 1 / (1 + np.exp(-2.0)), 1.0]
    )
    np.testing.assert_allclose(nn.leaky_relu(Tensor(x), 0.1).data, np.where(x > 0, x, 0.1 * x))
    # softplus = log(1 + e^x), exact where that does not overflow, x beyond
    np.testing.assert_allclose(
        nn.softplus(Tensor(x)).data,
        [0.0, np.log1p(np.exp(-3.0)), np.log(2), np.log1p(np.exp(2.0)), 1000.0],
    )
    np.testing.assert_allclose(
        nn.log_sigmoid(Tensor(x)).data,
        [-1000.0, -np.log1p(np.exp(3.0)), -np.log(2), -np.log1p(np.exp(-2.0)), 0.0],
    )
    assert np.isfinite(nn.log_sigmoid(Tensor(np.float32([-1e4]))).data).all()


@pytest.mark.parametrize(
    "fn",
    [nn.sigmoid, lambda x: nn.leaky_relu(x, 0.2), nn.softplus, nn.log_sigmoid, nn.relu],
    ids=["sigmoid", "leaky_relu", "softplus", "log_sigmoid", "relu"],
)
def test_activation_gradcheck(fn):
    x = np.array([-30.0, -2.5, -0.3, 0.4, 1.7, 30.0])  # away from the kinks at 0
    assert gradcheck(fn, [x])


def test_inplace_relu_only_overwrites_safe_outputs():
    rng = np.random.default_rng(0)
    x = Tensor(rand(rng, 1, 2, 5, 5), requires_grad=True)
    w = Tensor(rand(rng, 3, 2, 3, 3), requires_grad=True)
    conv = nn.conv2d(x, w, padding=1)
    y = nn.relu(conv, inplace=True)
    assert y.data is conv.data  # the conv's output array was reused
    reference = nn.conv2d(x, w, padding=1).relu()
    np.testing.assert_array_equal(y.data, reference.data)
    dout = rand(rng, *y.shape)
    y.backward(dout)
    gx, gw = x.grad.copy(), w.grad.copy()
    x.grad = w.grad = None
    reference.backward(dout)
    np.testing.assert_allclose(gx, x.grad)
    np.testing.assert_allclose(gw, w.grad)
    # a leaf, or the output of an op whose backward reads it, is never overwritten
    leaf = Tensor(np.array([-1.0, 2.0]))
    nn.relu(leaf, inplace=True)
    np.testing.assert_array_equal(leaf.data, [-1.0, 2.0])
    s = leaf.sigmoid()
    before = s.data.copy()
    nn.leaky_relu(s - 1, 0.1, inplace=True)  # "sub" is not in INPLACE_SAFE_OPS
    np.testing.assert_array_equal(s.data, before)


def test_leaky_relu_inplace_matches_out_of_place():
    rng = np.random.default_rng(1)
    x, w = Tensor(rand(rng, 1, 1, 4, 4), True), Tensor(rand(rng, 2, 1, 3, 3), True)
    a = nn.leaky_relu(nn.conv2d(x, w, padding=1), 0.1, inplace=True)
    b = nn.leaky_relu(nn.conv2d(x, w, padding=1), 0.1)
    np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(ValueError, match=r"negative_slope must be in \[0, 1\)"):
        nn.leaky_relu(x, -0.1)


# --------------------------------------------------------------------------- group norm
def group_norm_loop(x, g, gamma, beta, eps=1e-5):
    n, c = x.shape[:2]
    y = np.empty_like(x)
    size = c // g
    for a in range(n):
        for k in range(g):
            block = x[a, k * size : (k + 1) * size]
            y[a, k * size : (k + 1) * size] = (block - block.mean()) / np.sqrt(block.var() + eps)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize(
    "shape, groups", [((2, 6, 3, 4), 3), ((2, 4, 2, 2), 1), ((3, 4), 4), ((2, 4, 3, 3), 4)]
)
def test_group_norm_matches_loop_and_gradcheck(shape, groups):
    rng = np.random.default_rng(0)
    x, gamma, beta = 2 * rand(rng, *shape) + 1, rand(rng, shape[1]), rand(rng, shape[1])
    y = nn.group_norm(Tensor(x), groups, Tensor(gamma), Tensor(beta))
    np.testing.assert_allclose(
        y.data, group_norm_loop(x, groups, gamma, beta), rtol=1e-10, atol=1e-12
    )
    assert gradcheck(lambda t, gm, bt: nn.group_norm(t, groups, gm, bt), [x, gamma, beta])
    assert gradcheck(lambda t: nn.group_norm(t, groups), [x])


def test_group_norm_module_and_errors():
    gn = nn.GroupNorm(2, 4)
    y = gn(Tensor(np.random.default_rng(0).normal(3, 2, (2, 4, 3, 3)).astype(np.float32)))
    assert y.dtype == np.float32 and sorted(gn.state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="num_groups must divide num_channels=4"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="num_groups must be a positive int dividing C=4"):
        nn.group_norm(Tensor(np.ones((1, 4, 2, 2))), 3)


# --------------------------------------------------------------------------- gather, concatenate
def test_take_along_axis_gathers_and_scatter_adds():
    rng = np.random.default_rng(0)
    x = rand(rng, 2, 5, 3)
    idx = np.array([[[0], [4], [4]], [[1], [1], [2]]])  # repeats: gradients must add
    y = nn.take_along_axis(Tensor(x), idx, axis=1)
    np.testing.assert_array_equal(y.data, np.take_along_axis(x, idx, axis=1))
    assert gradcheck(lambda t: nn.gather(t, idx, axis=1) * 1.5, [x])
    x_b = rand(rng, 2, 1, 4)  # x broadcast along axis 1 against the indices
    idx_b = np.array([[[0, 3, 3, 1]] * 3, [[2, 2, 0, 1]] * 3])  # (2, 3, 4)
    assert gradcheck(lambda t: nn.take_along_axis(t, idx_b, axis=2), [x_b])


def test_take_along_axis_rejects_bad_indices():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="indices must be an integer array"):
        nn.take_along_axis(x, np.zeros((2, 1)), axis=1)
    with pytest.raises(ValueError, match="indices must have 2 axes"):
        nn.take_along_axis(x, np.zeros(2, int), axis=1)
    with pytest.raises(ValueError, match=r"indices must be in \[-3, 3\)"):
        nn.take_along_axis(x, np.full((2, 1), 3), axis=1)


def test_concatenate_along_channels_gradcheck():
    rng = np.random.default_rng(0)
    a, b = rand(rng, 2, 3, 4, 4), rand(rng, 2, 5, 4, 4)
    y = nn.concatenate([Tensor(a), Tensor(b)], axis=1)
    np.testing.assert_array_equal(y.data, np.concatenate([a, b], axis=1))
    assert gradcheck(lambda s, t: nn.concatenate([s, t], axis=1) * 2.0, [a, b])


# --------------------------------------------------------------------------- modules
def test_new_modules_shapes_and_parameters():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 8, 5, 5), dtype=np.float32))
    assert nn.Upsample(2)(x).shape == (2, 8, 10, 10)
    assert nn.Upsample(3, mode="bilinear")(x).shape == (2, 8, 15, 15)
    up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, rng=rng)
    assert up(x).shape == (2, 4, 10, 10) and up.weight.shape == (8, 4, 3, 3)
    assert up.weight.data.flags.c_contiguous and up(x).dtype == np.float32
    assert nn.LeakyReLU(0.1)(x).shape == x.shape and nn.Sigmoid()(x).data.max() <= 1
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.Upsample(2, mode="cubic")


# --------------------------------------------------------------- clipped_exp
@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-20, 30, allow_nan=False), min_size=1, max_size=8), st.floats(-5, 15))
def test_clipped_exp_is_exp_below_the_clip_and_flat_above(values, m):
    # y = e^{min(x, m)}; dy/dx = e^x below m, 0 above (FCOS's distances, YOLOv2's p e^t)
    x = Tensor(np.array(values), requires_grad=True)
    y = nn.ops.clipped_exp(x, m)
    y.sum().backward()
    v = np.array(values)
    np.testing.assert_allclose(y.data, np.exp(np.minimum(v, m)), rtol=1e-12)
    np.testing.assert_allclose(x.grad, np.where(v < m, np.exp(v), 0.0), rtol=1e-12)
    assert np.array_equal(x.data, v)  # the input is not changed


def test_clipped_exp_gradcheck_away_from_the_clip():
    x = np.array([[-2.0, 0.3], [1.5, 9.0]])
    assert gradcheck(lambda t: nn.ops.clipped_exp(t, 5.0), [x])


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_clipped_exp_refuses_a_non_finite_clip(bad):
    with pytest.raises(ValueError, match="max_value must be a finite number"):
        nn.ops.clipped_exp(Tensor([1.0]), bad)
