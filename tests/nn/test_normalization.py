"""Batch norm (Ioffe & Szegedy 2015, Alg. 1) and dropout (Srivastava et al. 2014)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.nn import Tensor, batch_norm, dropout, gradcheck

seeds = st.integers(0, 2**32 - 1)
bn_shapes = st.one_of(
    st.tuples(st.integers(2, 5), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(2, 3)),
)


@settings(max_examples=40)
@given(bn_shapes, seeds, st.booleans())
def test_batch_norm_train_grad_matches_finite_difference(shape, seed, affine):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, shape)
    c = shape[1]
    gamma, beta = rng.normal(size=c), rng.normal(size=c)

    def bn(x, *params):
        w, b = params if affine else (None, None)
        return batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(bn, [x, gamma, beta] if affine else [x])


@given(bn_shapes, seeds)
def test_batch_norm_eval_grad_matches_finite_difference(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    rm, rv = rng.normal(size=c), rng.uniform(0.5, 2.0, c)
    inputs = [rng.normal(size=shape), rng.normal(size=c), rng.normal(size=c)]
    assert gradcheck(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=False), inputs)


@given(bn_shapes, seeds)
def test_batch_norm_train_output_has_zero_mean_unit_variance_per_channel(shape, seed):
    x = np.random.default_rng(seed).normal(5.0, 3.0, shape)
    y = batch_norm(Tensor(x), None, None, training=True).data
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-9)
    var = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), var / (var + 1e-5), rtol=1e-7)  # eps in Alg. 1


def test_batch_norm_running_statistics_follow_the_momentum_rule():
    # running <- (1 - m) running + m batch, with the unbiased batch variance m/(m-1) sigma^2
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 13.0]])
    rm, rv = np.zeros(2), np.ones(2)
    batch_norm(Tensor(x), rm, rv, training=True, momentum=0.25)
    np.testing.assert_allclose(rm, 0.25 * x.mean(0))
    np.testing.assert_allclose(rv, 0.75 * 1 + 0.25 * x.var(0, ddof=1))
    y = batch_norm(Tensor(x), rm, rv, training=False).data  # eval uses them, changes nothing
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5))
    np.testing.assert_allclose(rm, 0.25 * x.mean(0))


def test_batch_norm_rejects_bad_arguments():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C\) or \(N, C, H, W\)"):
        batch_norm(Tensor(np.ones((2, 3, 4))), None, None, training=True)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        batch_norm(x, np.zeros(2), np.ones(2), training=True)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        batch_norm(x, None, None, Tensor(np.ones(4)), training=True)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        batch_norm(x, np.zeros(3), None, training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm(Tensor(np.ones((1, 3))), None, None, training=True)


@given(seeds, st.floats(0.0, 0.9))
def test_dropout_grad_matches_finite_difference_with_a_fixed_mask(seed, p):
    x = np.random.default_rng(seed).normal(size=(3, 4))
    # the same seed each call: the same mask, so the function is deterministic
    assert gradcheck(lambda t: dropout(t, p, rng=np.random.default_rng(seed)), [x])


def test_dropout_keeps_the_expected_value_and_is_identity_in_eval():
    x = Tensor(np.ones(200_000, np.float32))
    y = dropout(x, 0.3, rng=np.random.default_rng(0))
    assert abs(float(y.data.mean()) - 1.0) < 0.01  # E[m / (1 - p)] = 1
    np.testing.assert_allclose(np.unique(y.data), [0.0, 1 / 0.7], rtol=1e-6)
    assert dropout(x, 0.3, rng=np.random.default_rng(0), training=False) is x
    np.testing.assert_array_equal(dropout(x, 1.0, rng=np.random.default_rng(0)).data, 0.0)


def test_dropout_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        dropout(Tensor([1.0]), 1.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        dropout(Tensor([1.0]), 0.5, rng=0)
