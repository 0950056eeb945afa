"""Fuzz: any shapes and hyper-parameters give the documented result or the documented error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.nn import Tensor, avg_pool2d, batch_norm, conv2d, conv_output_size, max_pool2d
from bboxcore.nn.functional import softmax_cross_entropy

any_shape = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=5)
nchw = hnp.array_shapes(min_dims=4, max_dims=4, min_side=0, max_side=6)
bad_size = st.one_of(st.integers(-1, 0), st.just(1.5), st.just((1, 2, 3)), st.just((0, 1)))


@st.composite
def sizes(draw, low):
    """A valid int or pair (>= low) most of the time, now and then a bad one."""
    if draw(st.integers(0, 7)) == 7:  # hypothesis favours small integers: the rare branch
        return draw(bad_size)
    ints = st.integers(low, 3)
    return draw(st.one_of(ints, st.tuples(ints, ints)))


size_arg, padding_arg = sizes(1), sizes(0)


@st.composite
def conv_shapes(draw):
    """Mostly small (N, C, H, W) / (F, C, kh, kw) pairs, often agreeing; sometimes anything."""
    # hypothesis favours small integers: "== 3" is the rare branch
    if draw(st.integers(0, 3)) == 3:
        return draw(any_shape), draw(any_shape)
    xs = draw(nchw)
    f, kh, kw = (draw(st.integers(1, 3)) for _ in range(3))
    c = draw(st.integers(0, 3)) if draw(st.integers(0, 3)) == 3 else xs[1]
    return xs, (f, c, kh, kw)


@given(conv_shapes(), size_arg, padding_arg, size_arg, st.integers(0, 2**32 - 1))
def test_conv2d_fuzz_returns_the_documented_shape_or_raises(
    shapes, stride, padding, dilation, seed
):
    xs, ws = shapes
    rng = np.random.default_rng(seed)
    x, w = Tensor(rng.normal(size=xs)), Tensor(rng.normal(size=ws))
    try:
        y = conv2d(x, w, None, stride, padding, dilation)
    except (ValueError, TypeError) as err:
        event(type(err).__name__)
        return
    event("ok")
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    ho = conv_output_size(xs[2], ws[2], sh, ph, dh)
    wo = conv_output_size(xs[3], ws[3], sw, pw, dw)
    assert y.shape == (xs[0], ws[0], ho, wo) and ho >= 1 and wo >= 1
    assert np.isfinite(y.data).all()


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
@given(
    xs=st.one_of(nchw, nchw, nchw, any_shape),
    kernel=size_arg,
    stride=st.one_of(st.none(), size_arg),
    padding=padding_arg,
    seed=st.integers(0, 2**32 - 1),
)
def test_pooling_fuzz_returns_the_documented_shape_or_raises(
    pool, xs, kernel, stride, padding, seed
):
    x = Tensor(np.random.default_rng(seed).normal(size=xs))
    try:
        y = pool(x, kernel, stride, padding)
    except (ValueError, TypeError) as err:
        event(type(err).__name__)
        return
    event("ok")
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = pair(kernel if stride is None else stride)
    expected = (*xs[:2], conv_output_size(xs[2], kh, sh, ph), conv_output_size(xs[3], kw, sw, pw))
    assert y.shape == expected and np.isfinite(y.data).all()


@given(st.one_of(any_shape, nchw), st.booleans(), st.integers(0, 2**32 - 1))
def test_batch_norm_fuzz_returns_the_input_shape_or_raises(xs, training, seed):
    x = Tensor(np.random.default_rng(seed).normal(size=xs))
    c = xs[1] if len(xs) > 1 else 1
    try:
        y = batch_norm(x, np.zeros(c), np.ones(c), training=training)
    except ValueError:
        event("ValueError")
        return
    event("ok")
    assert y.shape == xs and np.isfinite(y.data).all()


def test_nan_activations_are_stopped_at_the_loss():
    logits = Tensor([[np.nan, 0.0]], requires_grad=True)
    with pytest.raises(ValueError, match="logits"):
        softmax_cross_entropy(logits.relu() * 2.0, np.array([0]))
