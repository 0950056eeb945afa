"""Tests of bboxcore.losses.basic: smooth L1, softmax and binary cross-entropy against their
equations, their gradients against central finite differences.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.losses.basic import (
    sigmoid_binary_cross_entropy,
    sigmoid_binary_cross_entropy_backward,
    smooth_l1,
    smooth_l1_backward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from tests.finite_diff import assert_grad_close
from tests.strategies import anything_boxes, logits_and_targets

sigmas = st.floats(0.3, 5.0)
REDUCTIONS = ("none", "mean", "sum")


def _scalar(reduced_fn, reduction):
    """A scalar objective from a loss under ``reduction`` (sum of the terms for 'none')."""
    return lambda *a: float(np.sum(reduced_fn(*a, reduction=reduction)))


# --------------------------------------------------------------------------- smooth L1
def _smooth_l1_seed000(x: float) -> float:
    # Object Detection – BBOX Regression: smooth_L1(x) = 0.5 x^2 if |x| < 1 else |x| - 0.5
    return 0.5 * x * x if abs(x) < 1 else abs(x) - 0.5


def _smooth_l1_seed002(x: float, sigma: float) -> float:
    # Detection – 3 stages, §C2.2.1: f(x) = (σx)^2 / 2 if |x| < 1/σ^2 else |x| - 0.5/σ^2
    return 0.5 * (sigma * x) ** 2 if abs(x) < 1 / sigma**2 else abs(x) - 0.5 / sigma**2


@given(x=hnp.arrays(np.float64, st.integers(0, 30), elements=st.floats(-10, 10)), sigma=sigmas)
def test_smooth_l1_matches_seed002_sigma_form(x, sigma):
    expected = np.array([_smooth_l1_seed002(v, sigma) for v in x])
    np.testing.assert_allclose(smooth_l1(x, sigma), expected, rtol=1e-12, atol=1e-15)


@given(x=hnp.arrays(np.float64, st.integers(0, 30), elements=st.floats(-10, 10)))
def test_smooth_l1_sigma1_equals_seed000_form(x):
    expected = [_smooth_l1_seed000(v) for v in x]
    np.testing.assert_allclose(smooth_l1(x), expected, rtol=1e-15, atol=1e-300)


@given(x=hnp.arrays(np.float64, 12, elements=st.floats(-10, 10)), sigma=sigmas)
def test_smooth_l1_beta_form_is_the_sigma_form(x, sigma):
    beta = 1 / sigma**2
    # torchvision / detectron2: 0.5 x^2 / β if |x| < β else |x| - 0.5 β
    libs = np.where(np.abs(x) < beta, 0.5 * x**2 / beta, np.abs(x) - 0.5 * beta)
    np.testing.assert_allclose(smooth_l1(x, beta=beta), libs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(smooth_l1(x, beta=beta), smooth_l1(x, sigma), rtol=1e-12)


@given(sigma=sigmas, u=st.floats(0.01, 0.99))
def test_smooth_l1_quadratic_below_and_linear_above_switch(sigma, u):
    switch = 1 / sigma**2
    x_in = u * switch  # inside: doubling x quadruples the loss
    a, b = smooth_l1(np.array([x_in, x_in / 2]), sigma)
    assert math.isclose(a, 4 * b, rel_tol=1e-12)
    x_out = switch * (1 + 10 * u)  # outside: slope exactly 1
    c, d = smooth_l1(np.array([x_out + 1.0, x_out]), sigma)
    assert math.isclose(c - d, 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("sigma", [1.0, 3.0, 0.5])
def test_smooth_l1_continuous_with_continuous_slope_at_switch(sigma):
    # Detection – 3 stages, §C2.2.1: both pieces give 0.5/σ² at |x| = 1/σ², with slope ±1.
    s = 1 / sigma**2
    h = 1e-7
    for sign in (1.0, -1.0):
        left, at, right = smooth_l1(sign * np.array([s - h, s, s + h]), sigma)
        assert math.isclose(at, 0.5 / sigma**2, rel_tol=1e-12)
        assert abs(left - at) < 2 * h and abs(right - at) < 2 * h
        g = smooth_l1_backward(1.0, sign * np.array([s - h, s, s + h]), sigma)
        np.testing.assert_allclose(g, sign * np.ones(3), atol=1e-6)


@given(
    x=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-4, 4)),
    sigma=sigmas,
    reduction=st.sampled_from(REDUCTIONS),
)
def test_smooth_l1_grad_matches_finite_difference(x, sigma, reduction):
    s = 1 / sigma**2
    x = np.where(np.abs(np.abs(x) - s) < 1e-3, x + 3e-3, x)  # away from the kink
    f = _scalar(lambda v, reduction: smooth_l1(v, sigma, reduction=reduction), reduction)
    dloss = 1.0 if reduction != "none" else np.ones_like(x)
    assert_grad_close(f, x, smooth_l1_backward(dloss, x, sigma, reduction=reduction))


def test_smooth_l1_backward_scales_by_upstream_gradient():
    x = np.array([-3.0, 0.2, 0.7])
    np.testing.assert_allclose(smooth_l1_backward(np.array([2.0, 3.0, -1.0]), x), [-2.0, 0.6, -0.7])
    np.testing.assert_allclose(smooth_l1_backward(6.0, x, reduction="mean"), [-2.0, 0.4, 1.4])


def test_smooth_l1_beta_zero_is_l1():
    x = np.array([-2.0, -1e-9, 0.0, 3.0])
    np.testing.assert_array_equal(smooth_l1(x, beta=0.0), np.abs(x))
    np.testing.assert_array_equal(smooth_l1_backward(1.0, x, beta=0.0), np.sign(x))


def test_smooth_l1_reductions_and_dtype():
    x = np.array([[0.5, -2.0], [0.0, 1.0]], np.float32)
    assert smooth_l1(x).dtype == np.float32 and smooth_l1(x).shape == (2, 2)
    assert smooth_l1(x, reduction="sum") == np.float32(0.125 + 1.5 + 0.5)
    assert smooth_l1(x, reduction="mean") == np.float32((0.125 + 1.5 + 0.5) / 4)
    assert smooth_l1_backward(1.0, x).dtype == np.float32
    assert smooth_l1(np.zeros(0), reduction="mean") == 0.0
    assert smooth_l1([1, 2]).dtype == np.float64


def test_smooth_l1_does_not_modify_input():
    x = np.array([0.5, -2.0])
    x0 = x.copy()
    smooth_l1_backward(np.ones(2), x)
    out = smooth_l1(x)
    np.testing.assert_array_equal(x, x0)
    assert not np.shares_memory(out, x)


def test_smooth_l1_validation():
    with pytest.raises(ValueError, match="sigma must be a finite number > 0; got 0.0"):
        smooth_l1([1.0], sigma=0.0)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        smooth_l1([1.0], beta=-1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        smooth_l1([np.nan])
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        smooth_l1(["a"])
    with pytest.raises(ValueError, match="reduction must be one of"):
        smooth_l1([1.0], reduction="avg")
    with pytest.raises(ValueError, match=r"dloss must broadcast to the loss shape \(3,\)"):
        smooth_l1_backward(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="dloss must be a scalar for reduction='sum'"):
        smooth_l1_backward(np.ones(3), np.ones(3), reduction="sum")
    with pytest.raises(ValueError, match="dloss must be finite"):
        smooth_l1_backward(np.inf, np.ones(3), reduction="sum")


# --------------------------------------------------------------------------- cross-entropy
def _ce_loop(logits, labels, ignore_index=-1):
    out = []
    for z, u in zip(logits.tolist(), labels.tolist()):
        if u == ignore_index:
            out.append(0.0)
            continue
        p = [math.exp(v) for v in z]
        out.append(-math.log(p[u] / sum(p)))
    return np.array(out)


@st.composite
def logits_and_labels(draw, max_rows=12, scale=5.0):
    n = draw(st.integers(0, max_rows))
    c = draw(st.integers(1, 5))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-scale, scale)))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(-1, c - 1)))
    return z, labels


@given(logits_and_labels())
def test_softmax_cross_entropy_is_minus_log_softmax_of_true_class(zl):
    z, labels = zl
    np.testing.assert_allclose(
        softmax_cross_entropy(z, labels, reduction="none"),
        _ce_loop(z, labels),
        rtol=1e-10,
        atol=1e-12,
    )
    n_valid = int((labels != -1).sum())
    expected_mean = _ce_loop(z, labels).sum() / max(n_valid, 1)
    assert math.isclose(
        softmax_cross_entropy(z, labels), expected_mean, rel_tol=1e-10, abs_tol=1e-12
    )


@given(logits_and_labels(), st.sampled_from(REDUCTIONS))
def test_softmax_cross_entropy_grad_matches_finite_difference(zl, reduction):
    z, labels = zl
    f = _scalar(
        lambda v, reduction: softmax_cross_entropy(v, labels, reduction=reduction), reduction
    )
    dloss = 1.0 if reduction != "none" else np.ones(len(z))
    grad = softmax_cross_entropy_backward(dloss, z, labels, reduction=reduction)
    assert_grad_close(f, z, grad)


@given(logits_and_labels())
def test_softmax_cross_entropy_ignored_rows_contribute_nothing(zl):
    z, labels = zl
    ignored = labels == -1
    z2 = z.copy()
    z2[ignored] = 1e3 * np.arange(z.shape[1])  # anything at all
    assert softmax_cross_entropy(z2, labels) == pytest.approx(softmax_cross_entropy(z, labels))
    grad = softmax_cross_entropy_backward(1.0, z2, labels)
    assert (grad[ignored] == 0).all()


def test_softmax_cross_entropy_all_ignored_is_zero_not_nan():
    z = np.ones((3, 2))
    assert softmax_cross_entropy(z, np.full(3, -1)) == 0.0
    assert (softmax_cross_entropy_backward(1.0, z, np.full(3, -1)) == 0).all()
    assert softmax_cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64)) == 0.0


def test_softmax_cross_entropy_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]], np.float32)
    loss = softmax_cross_entropy(z, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(loss, [2e4, math.log(2)], rtol=1e-6)
    assert loss.dtype == np.float32
    grad = softmax_cross_entropy_backward(np.ones(2), z, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(grad, [[1, -1, 0], [0, -0.5, 0.5]], atol=1e-6)


def test_softmax_cross_entropy_custom_ignore_index():
    z = np.array([[0.0, 0.0], [3.0, 0.0]])
    a = softmax_cross_entropy(z, np.array([1, 255]), ignore_index=255)
    assert math.isclose(a, math.log(2))


def test_softmax_cross_entropy_validation():
    z = np.zeros((2, 3))
    with pytest.raises(
        ValueError, match=r"logits must have shape \(N, C\) with C >= 1; got \(3,\)"
    ):
        softmax_cross_entropy(np.zeros(3), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"with C >= 1; got \(2, 0\)"):
        softmax_cross_entropy(np.zeros((2, 0)), np.full(2, -1))
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\) = \(2,\)"):
        softmax_cross_entropy(z, np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="labels must be an integer array; got dtype float64"):
        softmax_cross_entropy(z, np.zeros(2))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\) or ignore_index=-1; got 3"):
        softmax_cross_entropy(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="got -2 at index 1"):
        softmax_cross_entropy(z, np.array([0, -2]))
    with pytest.raises(ValueError, match="logits must be finite"):
        softmax_cross_entropy(np.full((2, 3), np.nan), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"dloss must broadcast to the loss shape \(2,\)"):
        softmax_cross_entropy_backward(np.ones(3), z, np.array([0, 1]), reduction="none")


# --------------------------------------------------------------------------- binary CE
@given(logits_and_targets())
def test_sigmoid_binary_cross_entropy_is_the_seed001_formula(zt):
    z, t = zt
    p = 1 / (1 + np.exp(-z))
    # Object Detection: Faster R-CNN: L_cls = -[p* log p + (1 - p*) log(1 - p)]
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    loss = sigmoid_binary_cross_entropy(z, t, reduction="none")
    np.testing.assert_allclose(loss, expected, rtol=1e-9, atol=1e-12)


@given(logits_and_targets(), st.sampled_from(REDUCTIONS))
def test_sigmoid_binary_cross_entropy_grad_matches_finite_difference(zt, reduction):
    z, t = zt

    def f(v, reduction=reduction):
        return sigmoid_binary_cross_entropy(v, t, reduction=reduction)

    dloss = 1.0 if reduction != "none" else np.ones_like(z)
    grad = sigmoid_binary_cross_entropy_backward(dloss, z, t, reduction=reduction)
    assert_grad_close(_scalar(f, reduction), z, grad)


def test_sigmoid_binary_cross_entropy_stable_for_huge_logits():
    z = np.array([1e4, -1e4, 1e4, -1e4])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(
        sigmoid_binary_cross_entropy(z, t, reduction="none"), [0, 0, 1e4, 1e4]
    )
    np.testing.assert_allclose(
        sigmoid_binary_cross_entropy_backward(np.ones(4), z, t, reduction="none"), [0, 0, 1, -1]
    )


def test_sigmoid_binary_cross_entropy_validation():
    with pytest.raises(
        ValueError, match=r"targets must have the shape of logits \(2,\); got \(3,\)"
    ):
        sigmoid_binary_cross_entropy(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\]"):
        sigmoid_binary_cross_entropy(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="targets must be finite"):
        sigmoid_binary_cross_entropy(np.zeros(2), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="logits must be finite"):
        sigmoid_binary_cross_entropy(np.array([np.inf]), np.array([1.0]))


# --------------------------------------------------------------------------- fuzz
LOSS_FNS = [
    lambda a: smooth_l1(a, reduction="sum"),
    lambda a: smooth_l1_backward(1.0, a),
    lambda a: sigmoid_binary_cross_entropy(a, np.clip(np.nan_to_num(a), 0, 1)),
    lambda a: sigmoid_binary_cross_entropy_backward(1.0, a, np.zeros(np.shape(a))),
    lambda a: softmax_cross_entropy(a, np.zeros(np.shape(a)[:1], np.int64)),
    lambda a: softmax_cross_entropy_backward(1.0, a, np.zeros(np.shape(a)[:1], np.int64)),
]


@pytest.mark.parametrize("k", range(len(LOSS_FNS)))
@given(a=anything_boxes())
def test_losses_fuzz_return_finite_or_raise(k, a):
    try:
        out = LOSS_FNS[k](a)
    except (ValueError, TypeError):
        return
    assert not np.isnan(out).any()  # finite, or inf when a loss exceeds the dtype's range


# --------------------------------------------------------------------------- edges (mutation)
def test_smooth_l1_with_a_subnormal_beta_is_l1_without_overflow():
    # β = 1e-310 (float64 subnormal, > 0): every |x| >= β takes the linear piece |x| - β/2 with
    # gradient sign(x); the quadratic piece x² / (2β) is never evaluated there, so 1 / β = inf
    # neither appears nor warns (a RuntimeWarning is an error under pytest's filterwarnings).
    x = np.array([-2.0, 0.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(smooth_l1(x, beta=1e-310), [2.0, 0.0, 3.0])
        np.testing.assert_array_equal(smooth_l1_backward(1.0, x, beta=1e-310), [-1.0, 0.0, 1.0])


def test_softmax_cross_entropy_beyond_the_float32_range_is_inf_without_warning():
    # z - max(z) = -6e38 is below float32's range: p = 0 and L = -log 0 = inf (the gradient
    # stays p - onehot, finite), with no overflow warning
    z = np.array([[3e38, -3e38], [3e38, -3e38]], np.float32)
    labels = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = softmax_cross_entropy(z, labels, reduction="none")
        grad = softmax_cross_entropy_backward(np.ones(2), z, labels, reduction="none")
    assert loss.tolist() == [0.0, np.inf]
    assert grad.tolist() == [[0.0, 0.0], [1.0, -1.0]]


def test_float32_logits_give_float32_results_everywhere():
    # "Same floating dtype as logits": the losses and, for every reduction, their gradients
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, -1, 1, 0])
    t = rng.random((6, 3))
    for r in REDUCTIONS:
        up = np.ones(6) if r == "none" else 1.0
        assert softmax_cross_entropy(z, labels, reduction=r).dtype == np.float32
        assert softmax_cross_entropy_backward(up, z, labels, reduction=r).dtype == np.float32
        up = np.ones((6, 3)) if r == "none" else 1.0
        assert sigmoid_binary_cross_entropy(z, t, reduction=r).dtype == np.float32
        assert sigmoid_binary_cross_entropy_backward(up, z, t, reduction=r).dtype == np.float32
        assert smooth_l1(z, reduction=r).dtype == np.float32
        assert smooth_l1_backward(up, z, reduction=r).dtype == np.float32


def test_binary_cross_entropy_reads_its_targets_at_the_precision_of_the_logits():
    # float32 logits: the targets are rounded to float32 first and the loss and gradient are
    # computed in float32, so float64 targets give exactly what their float32 values give
    rng = np.random.default_rng(1)
    z = rng.normal(size=2000).astype(np.float32)
    t = rng.random(2000)  # float64, most not representable in float32
    t32 = t.astype(np.float32)
    for r in REDUCTIONS:
        up = np.ones(2000) if r == "none" else 1.0
        np.testing.assert_array_equal(
            sigmoid_binary_cross_entropy(z, t, reduction=r),
            sigmoid_binary_cross_entropy(z, t32, reduction=r),
        )
        np.testing.assert_array_equal(
            sigmoid_binary_cross_entropy_backward(up, z, t, reduction=r),
            sigmoid_binary_cross_entropy_backward(up, z, t32, reduction=r),
        )


def test_a_sum_beyond_the_float32_range_is_inf_without_warning():
    # the reduced loss of float32 inputs is summed in float32; beyond its range it is inf
    # (as documented), with no overflow warning
    x = np.full(4, 3e38, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = smooth_l1(x, reduction="sum")
        mean = smooth_l1(x, reduction="mean")
    assert total.dtype == np.float32 and total == np.inf
    assert mean == np.inf


def test_upstream_gradient_is_read_at_the_precision_of_the_logits():
    # float32 logits: dloss is rounded to float32 first (like the targets) and multiplied in
    # float32, so a float64 dloss gives exactly what its float32 value gives
    rng = np.random.default_rng(2)
    z = rng.normal(size=2000).astype(np.float32)
    t = rng.random(2000).astype(np.float32)
    up = rng.normal(size=2000)  # float64
    for r, d in [("none", up), ("sum", 0.3), ("mean", 0.3)]:
        np.testing.assert_array_equal(
            sigmoid_binary_cross_entropy_backward(d, z, t, reduction=r),
            sigmoid_binary_cross_entropy_backward(np.float32(d), z, t, reduction=r),
        )
        np.testing.assert_array_equal(
            smooth_l1_backward(d, z, reduction=r),
            smooth_l1_backward(np.float32(d), z, reduction=r),
        )


def test_binary_cross_entropy_errors_name_the_targets():
    with pytest.raises(TypeError, match="targets must be a real numeric array"):
        sigmoid_binary_cross_entropy(np.zeros(2), np.array(["a", "b"]))
