"""conv2d and pooling: against nested-loop references, finite differences, and their adjoints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.nn import (
    Tensor,
    avg_pool2d,
    col2im,
    conv2d,
    conv_output_size,
    gradcheck,
    im2col,
    max_pool2d,
)
from tests.strategies import conv2d_geometries, pool_geometries

seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- references
def conv2d_loop(x, w, b, stride, padding, dilation):
    """y[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] x[n, c, s i + d u - p, s j + d v - p]."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, f, ho, wo))
    for a in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if b is None else b[o]
                    for ch in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                r = stride[0] * i + dilation[0] * u - padding[0]
                                q = stride[1] * j + dilation[1] * v - padding[1]
                                if 0 <= r < h and 0 <= q < wd:  # zeros outside the image
                                    total += w[o, ch, u, v] * x[a, ch, r, q]
                    y[a, o, i, j] = total
    return y


def pool_loop(x, kernel, stride, padding, reduce, pad_value):
    n, c, h, w = x.shape
    ho = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    wo = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    y = np.zeros((n, c, ho, wo))
    for a in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    window = []
                    for u in range(kernel[0]):
                        for v in range(kernel[1]):
                            r, q = stride[0] * i + u - padding[0], stride[1] * j + v - padding[1]
                            inside = 0 <= r < h and 0 <= q < w
                            window.append(x[a, ch, r, q] if inside else pad_value)
                    y[a, ch, i, j] = reduce(window)
    return y


# --------------------------------------------------------------------------- conv2d
@given(conv2d_geometries(), seeds, st.booleans())
def test_conv2d_matches_nested_loop_reference(geo, seed, with_bias):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=geo["x_shape"]), rng.normal(size=geo["weight_shape"])
    b = rng.normal(size=geo["weight_shape"][0]) if with_bias else None
    args = (geo["stride"], geo["padding"], geo["dilation"])
    out = conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), *args)
    np.testing.assert_allclose(out.data, conv2d_loop(x, w, b, *args), rtol=1e-10, atol=1e-10)


@settings(max_examples=30)
@given(conv2d_geometries(max_side=6), seeds)
def test_conv2d_grad_matches_finite_difference_for_stride_padding_dilation(geo, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=geo["x_shape"]), rng.normal(size=geo["weight_shape"])
    b = rng.normal(size=geo["weight_shape"][0])
    args = (geo["stride"], geo["padding"], geo["dilation"])
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, *args), [x, w, b])


def test_conv2d_float32_stays_float32_and_matches_float64():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 3))
    y32 = conv2d(Tensor(x.astype(np.float32)), Tensor(w.astype(np.float32)), padding=1)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.data, conv2d(Tensor(x), Tensor(w), padding=1).data, atol=1e-4)


def test_conv2d_skips_input_gradient_when_not_needed():
    x = Tensor(np.ones((1, 1, 4, 4)))  # an image: requires no grad
    w = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


@given(conv2d_geometries(), seeds)
def test_col2im_is_the_adjoint_of_im2col(geo, seed):
    # <im2col(x), c> = <x, col2im(c)> for all x, c: the definition of the adjoint (transpose)
    rng = np.random.default_rng(seed)
    kernel = geo["weight_shape"][2:]
    args = (kernel, geo["stride"], geo["padding"], geo["dilation"])
    x = rng.normal(size=geo["x_shape"])
    cols = im2col(x, *args)
    c = rng.normal(size=cols.shape)
    np.testing.assert_allclose((cols * c).sum(), (x * col2im(c, x.shape, *args)).sum(), rtol=1e-9)


def test_im2col_col2im_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        im2col(np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match=r"dcols must have shape \(1, 4, 4\)"):
        col2im(np.ones((1, 4, 5)), (1, 1, 3, 3), 2)


def test_conv_output_size_is_the_convolution_arithmetic_formula():
    # floor((H + 2p - d (k - 1) - 1) / s) + 1 (Dumoulin & Visin, Eq. 15)
    assert conv_output_size(64, 3, 1, 1) == 64
    assert conv_output_size(600, 3, 2, 1) == (600 + 2 - 2 - 1) // 2 + 1
    assert conv_output_size(10, 3, 1, 0, dilation=2) == 10 - 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": np.ones((1, 4, 4))}, r"x must have shape \(N, C, H, W\)"),
        ({"w": np.ones((2, 3, 3))}, r"weight must have shape \(N, C, H, W\)"),
        ({"w": np.ones((2, 5, 3, 3))}, r"weight must have shape \(F, 2, kh, kw\)"),
        ({"w": np.ones((2, 2, 0, 3))}, "kh, kw >= 1"),
        ({"b": np.ones(3)}, r"bias must have shape \(2,\)"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"padding": -1}, "padding must be >= 0"),
        ({"dilation": (1, 0)}, "dilation must be >= 1"),
        ({"w": np.ones((2, 2, 7, 7))}, "does not fit"),
    ],
)
def test_conv2d_rejects_bad_arguments(kwargs, match):
    args = {"x": np.ones((1, 2, 4, 4)), "w": np.ones((2, 2, 3, 3)), "b": None}
    args.update(kwargs)
    x, w, b = args.pop("x"), args.pop("w"), args.pop("b")
    with pytest.raises(ValueError, match=match):
        conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), **args)


def test_conv2d_rejects_non_integer_sizes():
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 3, 3))), stride=1.5)
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 3, 3))), padding=(1, 1, 1))


# --------------------------------------------------------------------------- pooling
def distinct(rng, shape):
    """Values 0.1 apart in random order: no ties anywhere, so max is differentiable."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1


@given(pool_geometries(), seeds)
def test_max_pool2d_matches_loop_reference_and_finite_difference(geo, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, geo["x_shape"])
    kernel, padding = geo["kernel_size"], geo["padding"]
    stride = geo["stride"] or kernel  # overlapping (stride < kernel) and not
    out = max_pool2d(Tensor(x), kernel, geo["stride"], padding)
    np.testing.assert_array_equal(out.data, pool_loop(x, kernel, stride, padding, max, -np.inf))
    assert gradcheck(lambda t: max_pool2d(t, kernel, geo["stride"], padding), [x])


@given(pool_geometries(), seeds)
def test_avg_pool2d_matches_loop_reference_and_finite_difference(geo, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=geo["x_shape"])
    kernel, padding = geo["kernel_size"], geo["padding"]
    stride = geo["stride"] or kernel
    out = avg_pool2d(Tensor(x), kernel, geo["stride"], padding)
    expected = pool_loop(x, kernel, stride, padding, np.mean, 0.0)  # zero padding counts
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: avg_pool2d(t, kernel, geo["stride"], padding), [x])


def test_max_pool2d_tie_gives_whole_gradient_to_first_maximum():
    # NOTE: documented sub-gradient: the first maximum in row-major order takes it all
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_max_pool2d_overlapping_windows_add_their_gradients():
    # the centre 9 is the max of all four 2x2 windows with stride 1: it gets 4
    x = Tensor(
        np.array([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]]), requires_grad=True
    )
    max_pool2d(x, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_pooling_rejects_bad_arguments():
    x = Tensor(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="at most half the kernel"):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="does not fit"):
        avg_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        max_pool2d(Tensor(np.ones((4, 4))), 2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        max_pool2d(x, 0)
