"""The loss and RoI Functions: same values as the core, gradients equal to finite differences.

The formulas are tested against the slides in tests/losses/ and tests/roi/; here we
check that wrapping them in the graph changes nothing and that the chain rule reaches through.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore import box_losses, detection_losses, focal_losses, losses, prroi, roi
from bboxcore.nn import Tensor, concatenate, gradcheck
from bboxcore.nn import functional as F

seeds = st.integers(0, 2**32 - 1)
reductions = st.sampled_from(["none", "mean", "sum"])


def far_from_kinks(rng, shape, kink):
    """|x| at least 0.05 away from the smooth-L1 switch point and from 0."""
    x = rng.uniform(0.05, 3.0, shape) * rng.choice([-1.0, 1.0], shape)
    near = np.abs(np.abs(x) - kink) < 0.05
    return np.where(near, x * 1.2, x)


@given(seeds, reductions, st.sampled_from([1.0, 3.0]))
def test_smooth_l1_function_matches_core_and_finite_difference(seed, reduction, sigma):
    rng = np.random.default_rng(seed)
    x = far_from_kinks(rng, (5, 4), 1 / sigma**2)
    out = F.smooth_l1(Tensor(x), sigma, reduction=reduction)
    np.testing.assert_array_equal(out.data, losses.smooth_l1(x, sigma, reduction=reduction))
    # the usual use: a residual of predictions, so the chain rule goes through a subtraction
    target = rng.normal(size=(5, 4))
    assert gradcheck(lambda p: F.smooth_l1(p - target, sigma, reduction=reduction), [x + target])


@given(seeds, reductions)
def test_softmax_cross_entropy_function_matches_core_and_finite_difference(seed, reduction):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(6, 3))
    labels = rng.integers(-1, 3, 6)  # -1 rows are ignored
    out = F.softmax_cross_entropy(Tensor(logits), labels, reduction=reduction)
    np.testing.assert_array_equal(
        out.data, losses.softmax_cross_entropy(logits, labels, reduction=reduction)
    )
    assert gradcheck(lambda z: F.softmax_cross_entropy(z, labels, reduction=reduction), [logits])


@given(seeds, reductions)
def test_bce_and_focal_functions_match_core_and_finite_difference(seed, reduction):
    rng = np.random.default_rng(seed)
    z, t = rng.normal(size=(4, 3)), (rng.random((4, 3)) < 0.5).astype(float)
    bce = F.sigmoid_binary_cross_entropy(Tensor(z), t, reduction=reduction)
    np.testing.assert_array_equal(
        bce.data, losses.sigmoid_binary_cross_entropy(z, t, reduction=reduction)
    )
    focal = F.sigmoid_focal_loss(
        Tensor(z), Tensor(t), reduction=reduction
    )  # Tensor target: constant
    np.testing.assert_array_equal(
        focal.data, focal_losses.sigmoid_focal_loss(z, t, reduction=reduction)
    )
    assert gradcheck(lambda a: F.sigmoid_binary_cross_entropy(a, t, reduction=reduction), [z])
    assert gradcheck(lambda a: F.sigmoid_focal_loss(a, t, reduction=reduction), [z])


@given(seeds, reductions)
def test_centernet_focal_function_matches_core_and_finite_difference(seed, reduction):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(1, 2, 3, 3))
    heat = rng.uniform(0.0, 0.9, z.shape)
    heat[0, 0, 1, 1] = 1.0  # one object centre
    out = F.centernet_focal_loss(Tensor(z), heat, reduction=reduction)
    np.testing.assert_array_equal(
        out.data, focal_losses.centernet_focal_loss(z, heat, reduction=reduction)
    )
    assert gradcheck(lambda a: F.centernet_focal_loss(a, heat, reduction=reduction), [z])


def random_rois(rng, n, n_img, size):
    xy = rng.uniform(0, size * 0.6, (n, 2))
    wh = rng.uniform(1.0, size * 0.4, (n, 2))
    return np.concatenate([rng.integers(0, n_img, (n, 1)), xy, xy + wh], axis=1)


@settings(max_examples=10)  # each RoI call ~1 ms, x 2 per feature element
@given(seeds, st.sampled_from([1.0, 0.5]), st.booleans())
def test_roi_align_function_matches_core_and_finite_difference(seed, scale, aligned):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(2, 1, 4, 5))
    rois = random_rois(rng, 3, 2, 4 / scale)
    args = (2, scale, 2, aligned)
    out = F.roi_align(Tensor(features), rois, *args)
    np.testing.assert_array_equal(out.data, roi.roi_align(features, rois, *args))
    assert gradcheck(lambda f: F.roi_align(f, rois, *args), [features])


@settings(max_examples=10)
@given(seeds)
def test_roi_pool_function_matches_core_and_finite_difference_without_ties(seed):
    rng = np.random.default_rng(seed)
    features = rng.permutation(2 * 1 * 4 * 5).reshape(2, 1, 4, 5) * 0.1  # distinct: no ties
    rois = random_rois(rng, 3, 2, 4)
    out = F.roi_pool(Tensor(features), rois, 2, 1.0)
    np.testing.assert_array_equal(out.data, roi.roi_pool(features, rois, 2, 1.0)[0])
    assert gradcheck(lambda f: F.roi_pool(f, rois, 2, 1.0), [features])


def test_roi_functions_chain_into_a_loss():
    # features -> RoI Align -> mean -> loss: the gradient reaches the features through both
    f = Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)
    pooled = F.roi_align(f, np.array([[0, 0, 0, 4, 4]]), 2, 1.0)
    F.smooth_l1(pooled.mean() - 0.0, reduction="sum").backward()
    assert f.grad.dtype == np.float32 and f.grad.sum() > 0


def test_functions_pass_on_the_core_errors():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.smooth_l1(Tensor([1.0]), reduction="avg")
    with pytest.raises(ValueError, match="rois"):
        F.roi_align(Tensor(np.ones((1, 1, 4, 4))), np.ones((2, 4)), 2, 1.0)


def distinct_coords(rng, rows, lo=0.0, hi=20.0):
    """Coordinates at least 0.1 apart within a row: away from every min/max kink."""
    grid = np.arange(lo, hi, 0.1)
    return np.stack([rng.choice(grid, 8, replace=False) for _ in range(rows)])


@given(seeds, reductions)
def test_iou_and_giou_functions_match_core_and_finite_difference(seed, reduction):
    rng = np.random.default_rng(seed)
    c = distinct_coords(rng, 3, lo=0.5)
    pred_ltrb, target_ltrb = c[:, :4], c[:, 4:]
    out = F.iou_loss(Tensor(pred_ltrb), target_ltrb, reduction=reduction)
    np.testing.assert_array_equal(
        out.data, box_losses.iou_loss(pred_ltrb, target_ltrb, reduction=reduction)
    )
    assert gradcheck(lambda p: F.iou_loss(p, target_ltrb, reduction=reduction), [pred_ltrb])
    # boxes whose 4 x-edges (and 4 y-edges) are all distinct, in random order: every
    # overlap pattern occurs, and no edge sits on another's (a kink of min / max)
    xs, ys = c[:, [0, 1, 4, 5]], c[:, [2, 3, 6, 7]]
    a = np.stack([xs[:, :2].min(1), ys[:, :2].min(1), xs[:, :2].max(1), ys[:, :2].max(1)], 1)
    b = np.stack([xs[:, 2:].min(1), ys[:, 2:].min(1), xs[:, 2:].max(1), ys[:, 2:].max(1)], 1)
    out = F.giou_loss(Tensor(a), b, reduction=reduction)
    np.testing.assert_array_equal(out.data, box_losses.giou_loss(a, b, reduction=reduction))
    assert gradcheck(lambda p: F.giou_loss(p, b, reduction=reduction), [a])


@given(seeds, st.booleans())
def test_rpn_loss_function_matches_core_and_finite_difference(seed, softmax):
    rng = np.random.default_rng(seed)
    s = 6
    loc, gt = rng.normal(size=(s, 4)), rng.normal(size=(s, 4))
    loc = gt + far_from_kinks(rng, (s, 4), 1 / 9)  # residuals away from |x| = 1/sigma^2
    score = rng.normal(size=(s, 2) if softmax else (s,))
    label = rng.integers(-1, 2, s)
    loc_loss, cls_loss = F.rpn_loss(Tensor(loc), Tensor(score), gt, label, sigma=3.0)
    expected = detection_losses.rpn_loss(loc, score, gt, label, sigma=3.0)
    np.testing.assert_array_equal([loc_loss.data, cls_loss.data], expected)
    assert gradcheck(lambda a, b: sum(F.rpn_loss(a, b, gt, label, sigma=3.0)), [loc, score])


@given(seeds)
def test_roi_head_loss_function_matches_core_and_finite_difference(seed):
    rng = np.random.default_rng(seed)
    r, k = 5, 2
    gt, label = rng.normal(size=(r, 4)), rng.integers(0, k + 1, r)
    cls_loc = np.tile(gt, k + 1) + far_from_kinks(rng, (r, 4 * (k + 1)), 1.0)
    score = rng.normal(size=(r, k + 1))
    loc_loss, cls_loss = F.roi_head_loss(Tensor(cls_loc), Tensor(score), gt, label)
    expected = detection_losses.roi_head_loss(cls_loc, score, gt, label)
    np.testing.assert_array_equal([loc_loss.data, cls_loss.data], expected)
    # weights 2 and 3 make sure each term sends its gradient to its own input only
    total = lambda a, b: (lambda l, c: l * 2.0 + c * 3.0)(*F.roi_head_loss(a, b, gt, label))  # noqa: E731
    assert gradcheck(total, [cls_loc, score])


@settings(max_examples=10)
@given(seeds)
def test_prroi_pool_function_grads_match_finite_difference_for_features_and_boxes(seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(2, 1, 4, 5))
    rois = random_rois(rng, 2, 2, 4)
    out = F.prroi_pool(Tensor(features), rois, 2, 1.0)
    np.testing.assert_array_equal(out.data, prroi.prroi_pool(features, rois, 2, 1.0))
    boxes = rois[:, 1:]
    with_batch = lambda b: concatenate([Tensor(rois[:, :1]), b], axis=1)  # noqa: E731
    assert gradcheck(lambda f, b: F.prroi_pool(f, with_batch(b), 2, 1.0), [features, boxes])
