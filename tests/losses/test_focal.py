"""Tests of bboxcore.losses.focal: RetinaNet's and CenterNet's focal losses against their
equations, their gradients against central finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.losses.basic import (
    sigmoid_binary_cross_entropy,
)
from bboxcore.losses.focal import (
    centernet_focal_loss,
    centernet_focal_loss_backward,
    sigmoid_focal_loss,
    sigmoid_focal_loss_backward,
)
from tests.finite_diff import assert_grad_close
from tests.strategies import anything_boxes, logits_and_targets

REDUCTIONS = ("none", "mean", "sum")


def _scalar(reduced_fn, reduction):
    """A scalar objective from a loss under ``reduction`` (sum of the terms for 'none')."""
    return lambda *a: float(np.sum(reduced_fn(*a, reduction=reduction)))


# --------------------------------------------------------------------------- focal
@given(logits_and_targets())
def test_focal_loss_gamma0_alpha_half_is_half_bce(zt):
    # Detection – 3 stages, §I: FL = -α_t (1 - p_t)^γ log p_t; γ = 0, α = 0.5 leaves 0.5 CE.
    z, t = zt
    fl = sigmoid_focal_loss(z, t, alpha=0.5, gamma=0.0, reduction="none")
    bce = sigmoid_binary_cross_entropy(z, t, reduction="none")
    np.testing.assert_allclose(fl, 0.5 * bce, rtol=1e-12, atol=1e-15)


@given(logits_and_targets(hard=True), st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]))
def test_focal_loss_is_the_retinanet_formula(zt, gamma):
    z, t = zt
    alpha = 0.25
    p = 1 / (1 + np.exp(-z))
    p_t = np.where(t == 1, p, 1 - p)
    a_t = np.where(t == 1, alpha, 1 - alpha)
    expected = -a_t * (1 - p_t) ** gamma * np.log(p_t)
    got = sigmoid_focal_loss(z, t, alpha, gamma, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@given(
    logits_and_targets(),
    st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    st.sampled_from([0.25, None]),
    st.sampled_from(REDUCTIONS),
)
def test_focal_loss_grad_matches_finite_difference(zt, gamma, alpha, reduction):
    z, t = zt

    def f(v, reduction=reduction):
        return sigmoid_focal_loss(v, t, alpha, gamma, reduction=reduction)

    dloss = 1.0 if reduction != "none" else np.ones_like(z)
    grad = sigmoid_focal_loss_backward(dloss, z, t, alpha, gamma, reduction=reduction)
    assert_grad_close(_scalar(f, reduction), z, grad)


def test_focal_loss_down_weights_easy_examples():
    z = np.array([4.0, 0.0])  # an easy and a hard positive
    t = np.ones(2)
    ratio = sigmoid_focal_loss(z, t, reduction="none") / sigmoid_focal_loss(
        z, t, gamma=0.0, reduction="none"
    )
    assert ratio[0] < 1e-3 < ratio[1]
    assert np.isfinite(
        sigmoid_focal_loss_backward(1.0, np.array([40.0, -40.0]), np.array([1.0, 0.0]), gamma=0.5)
    ).all()


def test_focal_loss_validation():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]; got 2"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(2), alpha=2)
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0; got -1"):
        sigmoid_focal_loss(np.zeros(2), np.zeros(2), gamma=-1)


# --------------------------------------------------------------------------- CenterNet
def _centernet_loop(z, y, alpha, beta):
    total, n = 0.0, 0
    for zi, yi in zip(z.ravel().tolist(), y.ravel().tolist()):
        p = 1 / (1 + math.exp(-zi))
        if yi == 1:  # Detection – 3 stages, §M: (1 - Ŷ)^α log Ŷ
            total -= (1 - p) ** alpha * math.log(p)
            n += 1
        else:  # (1 - Y)^β Ŷ^α log(1 - Ŷ)
            total -= (1 - yi) ** beta * p**alpha * math.log(1 - p)
    return total / max(n, 1)


def gaussian_heatmap(h, w, centres, sigma):
    """The heatmap of Detection – 3 stages, §M, maximum over the objects.

    Y = exp(-((x - p_x)^2 + (y - p_y)^2) / (2 σ_p^2)).
    """
    yy, xx = np.mgrid[0:h, 0:w]
    y = np.zeros((h, w))
    for cx, cy in centres:
        y = np.maximum(y, np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)))
    return y


@given(
    hnp.arrays(np.float64, (6, 7), elements=st.floats(-5, 5)),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5)), max_size=3),
)
def test_centernet_focal_loss_is_the_paper_formula(z, centres):
    y = gaussian_heatmap(6, 7, centres, sigma=1.2)
    expected = _centernet_loop(z, y, 2.0, 4.0)
    assert math.isclose(centernet_focal_loss(z, y), expected, rel_tol=1e-9, abs_tol=1e-12)


@given(
    hnp.arrays(np.float64, (4, 5), elements=st.floats(-5, 5)),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), max_size=2),
    st.sampled_from(REDUCTIONS),
    st.sampled_from([(2.0, 4.0), (0.5, 1.0)]),
)
def test_centernet_focal_loss_grad_matches_finite_difference(z, centres, reduction, ab):
    y = gaussian_heatmap(4, 5, centres, sigma=1.0)

    def f(v, reduction=reduction):
        return centernet_focal_loss(v, y, *ab, reduction=reduction)

    dloss = 1.0 if reduction != "none" else np.ones_like(z)
    grad = centernet_focal_loss_backward(dloss, z, y, *ab, reduction=reduction)
    assert_grad_close(_scalar(f, reduction), z, grad)


def test_centernet_focal_loss_normalises_by_number_of_centres():
    y = gaussian_heatmap(5, 5, [(1, 1), (3, 3)], sigma=1.0)
    z = np.zeros((5, 5))
    assert centernet_focal_loss(z, y) == pytest.approx(
        centernet_focal_loss(z, y, reduction="sum") / 2
    )
    with pytest.raises(ValueError, match="heatmap must be in"):
        centernet_focal_loss(z, y + 1)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        centernet_focal_loss(z, y, beta=-4)


# --------------------------------------------------------------------------- fuzz
FOCAL_FNS = [
    lambda a: sigmoid_focal_loss(a, np.ones(np.shape(a))),
    lambda a: sigmoid_focal_loss_backward(1.0, a, np.ones(np.shape(a))),
    lambda a: centernet_focal_loss(a, np.zeros(np.shape(a))),
    lambda a: centernet_focal_loss_backward(1.0, a, np.zeros(np.shape(a))),
]


@pytest.mark.parametrize("k", range(len(FOCAL_FNS)))
@given(a=anything_boxes())
def test_focal_losses_fuzz_return_finite_or_raise(k, a):
    try:
        out = FOCAL_FNS[k](a)
    except (ValueError, TypeError):
        return
    assert not np.isnan(out).any()  # finite, or inf when a loss exceeds the dtype's range


# --------------------------------------------------------------------------- edges (mutation)
@given(logits_and_targets(hard=True), st.sampled_from([0.0, 0.5, 2.0]))
def test_focal_loss_without_alpha_is_the_unbalanced_formula(zt, gamma):
    # alpha=None: no α-balancing, FL = -(1 - p_t)^γ log p_t (Lin et al. 2017, arXiv:1708.02002,
    # Eq. 4); with γ = 0 it is the plain binary cross-entropy (Eq. 1)
    z, t = zt
    p = 1 / (1 + np.exp(-z))
    p_t = np.where(t == 1, p, 1 - p)
    expected = -((1 - p_t) ** gamma) * np.log(p_t)
    got = sigmoid_focal_loss(z, t, alpha=None, gamma=gamma, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    if gamma == 0:
        bce = sigmoid_binary_cross_entropy(z, t, reduction="none")
        np.testing.assert_allclose(got, bce, rtol=1e-12, atol=1e-15)


def _float32_problem(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(40, 50)).astype(np.float32)
    t = rng.random((40, 50)) * 0.99  # float64, most not representable in float32, none 1
    t[::7, ::5] = 1.0  # hard positives / CenterNet's peaks
    return z, t


def test_float32_logits_give_float32_results_everywhere():
    z, t = _float32_problem()
    for r in REDUCTIONS:
        up = np.ones_like(z) if r == "none" else 1.0
        assert sigmoid_focal_loss(z, t, reduction=r).dtype == np.float32
        assert sigmoid_focal_loss(z, t, alpha=None, reduction=r).dtype == np.float32
        assert sigmoid_focal_loss_backward(up, z, t, reduction=r).dtype == np.float32
        assert centernet_focal_loss(z, t, reduction=r).dtype == np.float32
        assert centernet_focal_loss_backward(up, z, t, reduction=r).dtype == np.float32


def test_focal_losses_read_their_targets_at_the_precision_of_the_logits():
    # float32 logits: targets / heatmap rounded to float32 first, all arithmetic in float32:
    # float64 targets give exactly what their float32 values give
    z, t = _float32_problem(1)
    t32 = t.astype(np.float32)
    for r in REDUCTIONS:
        up = np.ones_like(z) if r == "none" else 1.0
        for f, g in [
            (sigmoid_focal_loss, sigmoid_focal_loss_backward),
            (centernet_focal_loss, centernet_focal_loss_backward),
        ]:
            np.testing.assert_array_equal(f(z, t, reduction=r), f(z, t32, reduction=r))
            np.testing.assert_array_equal(g(up, z, t, reduction=r), g(up, z, t32, reduction=r))
