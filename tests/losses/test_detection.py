"""Tests of bboxcore.losses.detection: the RPN and Fast R-CNN head multi-task losses against
the equations, their gradients against central finite differences.

Course material: Object Detection: Faster R-CNN (the multi-task losses, their normalisation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.losses.detection import (
    roi_head_loss,
    roi_head_loss_backward,
    rpn_loss,
    rpn_loss_backward,
)
from tests.finite_diff import assert_grad_close
from tests.strategies import anything_boxes

SMOOTH_L1_SIGMA_RPN, SMOOTH_L1_SIGMA_HEAD = 3.0, 1.0


def _smooth_l1(x, sigma):
    # Detection – 3 stages, §C2.2.1
    return 0.5 * (sigma * x) ** 2 if abs(x) < 1 / sigma**2 else abs(x) - 0.5 / sigma**2


def _away_from_kink(x, sigma, gap=1e-3):
    s = 1 / sigma**2
    return np.where(np.abs(np.abs(x) - s) < gap, x + 3 * gap, x)


# --------------------------------------------------------------------------- RPN
@st.composite
def rpn_batches(draw, max_anchors=12, binary=None):
    s = draw(st.integers(0, max_anchors))
    loc = draw(hnp.arrays(np.float64, (s, 4), elements=st.floats(-2, 2)))
    gt = draw(hnp.arrays(np.float64, (s, 4), elements=st.floats(-2, 2)))
    label = draw(hnp.arrays(np.int64, (s,), elements=st.integers(-1, 1)))
    binary = draw(st.booleans()) if binary is None else binary
    shape = (s,) if binary else (s, 2)
    score = draw(hnp.arrays(np.float64, shape, elements=st.floats(-4, 4)))
    return loc, score, gt, label


def _rpn_loss_loop(loc, score, gt, label, sigma):
    """Object Detection: Faster R-CNN: (1/N) sum L_cls + (1/N) sum p* L_reg, N = non-ignored."""
    n = max(int((label != -1).sum()), 1)
    cls, reg = 0.0, 0.0
    for i, u in enumerate(label.tolist()):
        if u == -1:
            continue
        if score.ndim == 2:  # softmax: -log p_u
            cls -= score[i, u] - math.log(math.exp(score[i, 0]) + math.exp(score[i, 1]))
        else:  # binary: -[p* log p + (1 - p*) log(1 - p)]
            p = 1 / (1 + math.exp(-score[i]))
            cls -= math.log(p) if u == 1 else math.log(1 - p)
        if u == 1:
            reg += sum(_smooth_l1(loc[i, m] - gt[i, m], sigma) for m in range(4))
    return reg / n, cls / n


@given(rpn_batches())
def test_rpn_loss_is_the_seed001_multitask_loss(batch):
    loc_loss, cls_loss = rpn_loss(*batch)
    expected = _rpn_loss_loop(*batch, SMOOTH_L1_SIGMA_RPN)
    assert loc_loss == pytest.approx(expected[0], rel=1e-10, abs=1e-12)
    assert cls_loss == pytest.approx(expected[1], rel=1e-10, abs=1e-12)


@given(rpn_batches(), st.floats(-2, 2), st.floats(-2, 2))
def test_rpn_loss_grad_matches_finite_difference(batch, dloc_up, dcls_up):
    loc, score, gt, label = batch
    loc = gt + _away_from_kink(loc - gt, SMOOTH_L1_SIGMA_RPN)
    dloc, dscore = rpn_loss_backward(dloc_up, dcls_up, loc, score, gt, label)

    def total(loc_, score_):
        a, b = rpn_loss(loc_, score_, gt, label)
        return dloc_up * a + dcls_up * b

    assert_grad_close(lambda x: total(x, score), loc, dloc)
    assert_grad_close(lambda z: total(loc, z), score, dscore)


@given(rpn_batches())
def test_rpn_loss_ignored_anchors_contribute_nothing(batch):
    loc, score, gt, label = batch
    ignored = label == -1
    loc2, score2 = loc.copy(), score.copy()
    loc2[ignored] += 100.0
    score2[ignored] = -score2[ignored] + 7.0
    assert rpn_loss(loc2, score2, gt, label) == pytest.approx(rpn_loss(loc, score, gt, label))
    dloc, dscore = rpn_loss_backward(1.0, 1.0, loc2, score2, gt, label)
    assert (dloc[ignored] == 0).all() and (dscore[ignored] == 0).all()
    assert (dloc[label == 0] == 0).all()  # negatives: classification only


def test_rpn_loss_without_positives_has_zero_localisation_loss():
    rng = np.random.default_rng(0)
    loc, gt = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    label = np.array([0, 0, -1, 0, -1, 0])
    loc_loss, cls_loss = rpn_loss(loc, np.zeros((6, 2)), gt, label)
    assert loc_loss == 0 and cls_loss == pytest.approx(math.log(2))
    assert (rpn_loss_backward(1.0, 1.0, loc, np.zeros((6, 2)), gt, label)[0] == 0).all()
    all_ignored = rpn_loss(loc, np.zeros(6), gt, np.full(6, -1))
    assert all_ignored == (0.0, 0.0)


def test_rpn_loss_normalisation_balances_like_the_paper():
    # Object Detection: Faster R-CNN: N_cls = 256, N_reg ~ 2400, lambda = 10 -> lambda / N_reg =
    # 1/240 ~ 1/N_cls;
    # bboxcore divides both sums by N = 256 non-ignored anchors with lambda = 1.
    label = np.full(2000, -1)
    label[:128], label[128:256] = 1, 0
    loc = np.zeros((2000, 4))
    loc[:128, 0] = 1.0  # each positive: smooth-L1_sigma=3 of 1.0 = 1 - 0.5/9
    loc_loss, _ = rpn_loss(loc, np.zeros((2000, 2)), np.zeros((2000, 4)), label)
    reg_sum = 128 * (1 - 0.5 / 9)
    assert loc_loss == pytest.approx(reg_sum / 256)
    paper = 10 / 2400 * reg_sum
    assert loc_loss / paper == pytest.approx(2400 / (10 * 256))  # 0.94: the same balance


def test_rpn_loss_float32_and_validation():
    loc = np.zeros((2, 4), np.float32)
    loc_loss, cls_loss = rpn_loss(loc, np.zeros((2, 2), np.float32), loc, np.array([1, 0]))
    assert loc_loss.dtype == np.float32 and cls_loss.dtype == np.float32
    dloc, dscore = rpn_loss_backward(
        1.0, 1.0, loc, np.zeros((2, 2), np.float32), loc, np.array([1, 0])
    )
    assert dloc.dtype == dscore.dtype == np.float32
    with pytest.raises(ValueError, match=r"rpn_loc must have shape \(R, 4\); got \(2, 3\)"):
        rpn_loss(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"gt_loc must have shape \(2, 4\); got \(3, 4\)"):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((3, 4)), np.zeros(2, int))
    with pytest.raises(
        ValueError, match=r"rpn_score must have shape \(2, 2\) \(softmax\) or \(2,\)"
    ):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 3)), np.zeros((2, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"gt_label must be in \[-1, 1\]; got 2 at index 1"):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.array([0, 2]))
    with pytest.raises(TypeError, match="gt_label must be an integer array"):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match=r"gt_label must have shape \(2,\)"):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(3, int))
    with pytest.raises(ValueError, match="rpn_score must be finite"):
        rpn_loss(np.zeros((2, 4)), np.full((2, 2), np.nan), np.zeros((2, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        rpn_loss(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(2, int), sigma=-3)
    with pytest.raises(ValueError, match="dloc_loss must be a finite scalar"):
        rpn_loss_backward(
            np.ones(2), 1.0, np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(2, int)
        )
    with pytest.raises(ValueError, match="dcls_loss must be a finite scalar"):
        rpn_loss_backward(
            1.0, np.nan, np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 4)), np.zeros(2, int)
        )


# --------------------------------------------------------------------------- Fast R-CNN head
@st.composite
def head_batches(draw, max_rois=8, max_class=3):
    r, k = draw(st.integers(0, max_rois)), draw(st.integers(1, max_class))
    cls_loc = draw(hnp.arrays(np.float64, (r, 4 * (k + 1)), elements=st.floats(-2, 2)))
    score = draw(hnp.arrays(np.float64, (r, k + 1), elements=st.floats(-4, 4)))
    gt = draw(hnp.arrays(np.float64, (r, 4), elements=st.floats(-2, 2)))
    label = draw(hnp.arrays(np.int64, (r,), elements=st.integers(0, k)))
    return cls_loc, score, gt, label


@given(head_batches())
def test_roi_head_loss_is_the_fast_rcnn_multitask_loss(batch):
    cls_loc, score, gt, label = batch
    n = max(len(label), 1)
    # Object Detection: Faster R-CNN: L_cls(p, u) = -log p_u; [u >= 1] L_loc(t^u, v) on the true
    # class's offsets
    cls = sum(-(score[i, u] - math.log(np.exp(score[i]).sum())) for i, u in enumerate(label))
    loc = sum(
        _smooth_l1(cls_loc[i, 4 * u + m] - gt[i, m], SMOOTH_L1_SIGMA_HEAD)
        for i, u in enumerate(label)
        if u >= 1
        for m in range(4)
    )
    loc_loss, cls_loss = roi_head_loss(*batch)
    assert loc_loss == pytest.approx(loc / n, rel=1e-10, abs=1e-12)
    assert cls_loss == pytest.approx(cls / n, rel=1e-10, abs=1e-12)


@given(head_batches(), st.floats(-2, 2), st.floats(-2, 2))
def test_roi_head_loss_grad_matches_finite_difference(batch, dloc_up, dcls_up):
    cls_loc, score, gt, label = batch
    diff = cls_loc.reshape(len(label), score.shape[1], 4) - gt[:, None, :]
    cls_loc = (gt[:, None, :] + _away_from_kink(diff, SMOOTH_L1_SIGMA_HEAD)).reshape(cls_loc.shape)
    dloc, dscore = roi_head_loss_backward(dloc_up, dcls_up, cls_loc, score, gt, label)

    def total(loc_, score_):
        a, b = roi_head_loss(loc_, score_, gt, label)
        return dloc_up * a + dcls_up * b

    assert_grad_close(lambda x: total(x, score), cls_loc, dloc)
    assert_grad_close(lambda z: total(cls_loc, z), score, dscore)


@given(head_batches())
def test_roi_head_loss_uses_only_the_true_class_offsets(batch):
    cls_loc, score, gt, label = batch
    per_class = cls_loc.reshape(len(label), score.shape[1], 4).copy()
    mask = np.ones(per_class.shape[:2], bool)
    mask[np.arange(len(label)), label] = False
    mask[label == 0] = True  # background RoIs: no offset counts
    per_class[mask] += 50.0
    other = per_class.reshape(cls_loc.shape)
    assert roi_head_loss(other, score, gt, label)[0] == pytest.approx(roi_head_loss(*batch)[0])
    dloc, _ = roi_head_loss_backward(1.0, 0.0, other, score, gt, label)
    assert (dloc.reshape(per_class.shape)[mask] == 0).all()


def test_roi_head_loss_all_background_and_validation():
    cls_loc = np.ones((3, 8))
    loc_loss, _ = roi_head_loss(cls_loc, np.zeros((3, 2)), np.zeros((3, 4)), np.zeros(3, int))
    assert loc_loss == 0
    with pytest.raises(ValueError, match=r"roi_cls_loc must have shape \(3, 8\); got \(3, 12\)"):
        roi_head_loss(np.ones((3, 12)), np.zeros((3, 2)), np.zeros((3, 4)), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"roi_score must have shape \(R, K \+ 1\)"):
        roi_head_loss(cls_loc, np.zeros(3), np.zeros((3, 4)), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"gt_roi_label must be in \[-1, 1\]; got 2"):
        roi_head_loss(cls_loc, np.zeros((3, 2)), np.zeros((3, 4)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=r"gt_roi_loc must have shape \(3, 4\)"):
        roi_head_loss(cls_loc, np.zeros((3, 2)), np.zeros((2, 4)), np.zeros(3, int))


# --------------------------------------------------------------------------- fuzz
def _rows(a):
    return np.shape(a)[0] if np.ndim(a) else 0


DETECTION_FNS = [
    lambda a: rpn_loss(a, np.zeros((_rows(a), 2)), np.zeros((_rows(a), 4)), np.ones(_rows(a), int)),
    lambda a: rpn_loss_backward(
        1.0, 1.0, a, np.zeros(_rows(a)), np.zeros((_rows(a), 4)), np.ones(_rows(a), int)
    )[0],
    lambda a: roi_head_loss(
        np.zeros((_rows(a), 8)),
        a[:, :2] if np.ndim(a) == 2 else a,
        np.zeros((_rows(a), 4)),
        np.ones(_rows(a), int),
    ),
    lambda a: roi_head_loss_backward(
        1.0, 1.0, np.zeros((_rows(a), 8)), np.zeros((_rows(a), 2)), a, np.ones(_rows(a), int)
    )[0],
]


@pytest.mark.parametrize("k", range(len(DETECTION_FNS)))
@given(a=anything_boxes())
def test_detection_losses_fuzz_return_documented_result_or_raise(k, a):
    try:
        out = DETECTION_FNS[k](a)
    except (ValueError, TypeError):
        return
    assert not np.isnan(np.asarray(out, dtype=np.float64)).any()  # finite, or inf on overflow


# --------------------------------------------------------------------------- edges (mutation)
def test_rpn_loss_with_a_single_sampled_anchor_is_normalised_by_1():
    # N_cls = N_reg = the number of sampled (non-ignored) anchors, here 1: no halving.
    # x = loc - gt = (0.05, -0.05, 2, -2) with sigma = 3 (switch 1/9): sigma^2 x inside,
    # sign(x) outside; softmax of (0, ln 3) is (1/4, 3/4), true class 1.
    loc = np.array([[0.05, -0.05, 2.0, -2.0], [5.0, 5, 5, 5], [-5.0, 5, -5, 5]])
    gt = np.zeros((3, 4))
    score = np.array([[0.0, math.log(3)], [9.0, 0.0], [0.0, 9.0]])
    label = np.array([1, -1, -1])
    loc_loss, cls_loss = rpn_loss(loc, score, gt, label)
    assert loc_loss == pytest.approx(2 * 0.5 * 9 * 0.05**2 + 2 * (2 - 0.5 / 9), rel=1e-12)
    assert cls_loss == pytest.approx(-math.log(3 / 4), rel=1e-12)
    dloc, dscore = rpn_loss_backward(1.0, 1.0, loc, score, gt, label)
    np.testing.assert_allclose(dloc, [[0.45, -0.45, 1, -1], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(dscore, [[0.25, -0.25], [0, 0], [0, 0]], rtol=1e-12)


def test_roi_head_loss_ignored_rois_count_for_nothing():
    # a RoI labelled -1 adds nothing to either loss nor to their normaliser (2 RoIs here)
    cls_loc = np.arange(24, dtype=float).reshape(3, 8) / 10  # K = 1: (R, 2 * 4)
    score = np.array([[0.0, math.log(3)], [5.0, -5.0], [math.log(3), 0.0]])
    gt = np.full((3, 4), 0.5)
    label = np.array([1, -1, 0])
    loc_loss, cls_loss = roi_head_loss(cls_loc, score, gt, label)
    x = cls_loc[0, 4:] - gt[0]  # the true class's offsets of the one foreground RoI
    expected_loc = sum(_smooth_l1(v, SMOOTH_L1_SIGMA_HEAD) for v in x) / 2
    assert loc_loss == pytest.approx(expected_loc, rel=1e-12)
    assert cls_loss == pytest.approx(-math.log(3 / 4), rel=1e-12)  # (2 x -ln 3/4) / 2
    dloc, dscore = roi_head_loss_backward(1.0, 1.0, cls_loc, score, gt, label)
    assert not dloc[1].any() and not dscore[1].any()
    np.testing.assert_allclose(dscore[[0, 2]], [[0.125, -0.125], [-0.125, 0.125]], rtol=1e-12)


def test_roi_head_loss_with_the_background_class_only():
    # K = 0 (scores of shape (R, 1)) is valid, like softmax cross-entropy with C = 1:
    # every RoI is background, both losses are 0
    loc_loss, cls_loss = roi_head_loss(np.ones((2, 4)), np.zeros((2, 1)), np.ones((2, 4)), [0, 0])
    assert loc_loss == 0 and cls_loss == 0


def test_roi_head_loss_float32_predictions_give_float32_with_float64_targets():
    # the targets are read at the predictions' precision: float64 gt_roi_loc gives exactly
    # what its float32 values give, and every result is float32
    rng = np.random.default_rng(0)
    cls_loc = rng.normal(size=(6, 12)).astype(np.float32)
    score = rng.normal(size=(6, 3)).astype(np.float32)
    gt = rng.normal(size=(6, 4))
    label = np.array([1, 2, 0, 1, -1, 2])
    losses = roi_head_loss(cls_loc, score, gt, label)
    assert [v.dtype for v in losses] == [np.float32, np.float32]
    assert losses == roi_head_loss(cls_loc, score, gt.astype(np.float32), label)
    grads = roi_head_loss_backward(1.0, 1.0, cls_loc, score, gt, label)
    assert [g.dtype for g in grads] == [np.float32, np.float32]


@pytest.mark.parametrize("fn", ["rpn", "head"])
def test_detection_loss_errors_name_the_argument(fn):
    if fn == "rpn":
        name = "rpn_loc"

        def call(x):
            return rpn_loss(x, np.zeros((1, 2)), np.zeros((1, 4)), [0])
    else:
        name = "roi_cls_loc"

        def call(x):
            return roi_head_loss(x, np.zeros((1, 2)), np.zeros((1, 4)), [0])

    with pytest.raises(TypeError, match=f"{name} must be a real numeric array"):
        call(np.array([["a"] * (4 if fn == "rpn" else 8)]))
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        call(np.full((1, 4 if fn == "rpn" else 8), np.nan))
