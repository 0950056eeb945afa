"""Tests of bboxcore.losses.box: the UnitBox IoU loss and the GIoU loss against the equations,
their gradients against the slide's hand-derived formula and central finite differences.

Course material: Detection – 3 stages, §N (the IoU loss and its hand-derived gradient).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.iou import box_iou_aligned, generalized_box_iou_aligned
from bboxcore.losses.box import giou_loss, giou_loss_backward, iou_loss, iou_loss_backward
from tests.finite_diff import assert_grad_close
from tests.strategies import anything_boxes, box_pairs

# --------------------------------------------------------------------------- IoU loss (UnitBox)
ltrb = hnp.arrays(np.float64, (6, 4), elements=st.floats(0.5, 50))


@given(ltrb, ltrb, st.floats(-100, 100), st.floats(-100, 100))
def test_iou_loss_is_minus_log_iou_of_the_decoded_boxes(pred, target, px, py):
    def decode(d):  # the boxes around the shared point (px, py)
        return np.stack([px - d[:, 0], py - d[:, 1], px + d[:, 2], py + d[:, 3]], axis=1)

    expected = -np.log(box_iou_aligned(decode(pred), decode(target)))
    got = iou_loss(pred, target, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@given(ltrb, ltrb, st.floats(0.01, 100))
def test_iou_loss_is_scale_invariant(pred, target, k):
    scaled = iou_loss(k * pred, k * target)
    np.testing.assert_allclose(scaled, iou_loss(pred, target), rtol=1e-9, atol=1e-12)


@given(ltrb, ltrb)
def test_iou_loss_grad_is_the_slide_formula(pred, target):
    # Detection – 3 stages, §N: dX/dx_t = x_l + x_r, dX/dx_l = x_t + x_b; dI/dx_t = I_w if x_t <
    # x~_t else 0,
    # dI/dx_l = I_h if x_l < x~_l else 0; dL/dx = (1/U) dX/dx - (U + I)/(U I) dI/dx.
    grad = iou_loss_backward(np.ones(6), pred, target, reduction="none")
    for k in range(6):
        (l, t, r, b), (tl, tt, tr, tb) = pred[k], target[k]
        x_area = (t + b) * (l + r)
        i_h, i_w = min(t, tt) + min(b, tb), min(l, tl) + min(r, tr)
        inter = i_h * i_w
        union = x_area + (tt + tb) * (tl + tr) - inter
        d_x = {"l": t + b, "t": l + r, "r": t + b, "b": l + r}
        d_i = {"l": i_h * (l < tl), "t": i_w * (t < tt), "r": i_h * (r < tr), "b": i_w * (b < tb)}
        expected = [d_x[s] / union - (union + inter) / (union * inter) * d_i[s] for s in "ltrb"]
        np.testing.assert_allclose(grad[k], expected, rtol=1e-12)


@given(ltrb, ltrb, st.sampled_from(["none", "mean", "sum"]))
def test_iou_loss_grad_matches_finite_difference(pred, target, reduction):
    pred = np.where(np.abs(pred - target) < 1e-3, pred + 1e-2, pred)  # away from the min() kinks
    dloss = np.ones(6) if reduction == "none" else 1.0
    grad = iou_loss_backward(dloss, pred, target, reduction=reduction)
    assert_grad_close(lambda x: np.sum(iou_loss(x, target, reduction=reduction)), pred, grad)


def test_iou_loss_perfect_prediction_and_clamp():
    t = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert iou_loss(t, t) == 0.0
    empty = np.array([[0.0, 2.0, 0.0, 4.0]])  # zero width: I = 0
    assert iou_loss(empty, t) == pytest.approx(-math.log(1e-6))
    np.testing.assert_array_equal(iou_loss_backward(1.0, empty, t), 0)
    with pytest.raises(ValueError, match="pred_ltrb must hold distances >= 0"):
        iou_loss(-t, t)
    with pytest.raises(ValueError, match=r"target_ltrb must have shape \(R, 4\) of \(l, t, r, b\)"):
        iou_loss(t, t[:, :3])
    with pytest.raises(ValueError, match="must have the same shape"):
        iou_loss(t, np.ones((2, 4)))


# --------------------------------------------------------------------------- GIoU loss
@given(box_pairs(max_size=8))
def test_giou_loss_is_one_minus_giou(pair):
    a, b = pair
    np.testing.assert_allclose(
        giou_loss(a, b, reduction="none"), 1 - generalized_box_iou_aligned(a, b)
    )


@given(box_pairs(max_size=6, allow_degenerate=False), st.sampled_from(["none", "mean", "sum"]))
def test_giou_loss_grad_matches_finite_difference(pair, reduction):
    a, b = pair
    a = a / 100.0 + 0.01 * np.arange(a.size).reshape(a.shape)  # modest scale: FD stays accurate
    b = b / 100.0
    gaps = np.abs(a[:, :, None] - b[:, None, :])  # every side vs every target side: no ties
    assume(len(a) == 0 or gaps.min() > 1e-3)
    dloss = np.ones(len(a)) if reduction == "none" else 1.0
    grad = giou_loss_backward(dloss, a, b, reduction=reduction)
    assert_grad_close(lambda x: np.sum(giou_loss(x, b, reduction=reduction)), a, grad, rtol=1e-4)


def test_giou_loss_has_a_gradient_without_overlap_and_validation():
    a, b = np.array([[0.0, 0, 1, 1]]), np.array([[3.0, 0, 4, 1]])
    grad = giou_loss_backward(1.0, a, b)
    assert grad[0, 2] < 0  # moving the right side towards the target lowers the loss
    assert giou_loss(b, b) == 0.0
    with pytest.raises(ValueError, match="pred_boxes has an inverted box"):
        giou_loss([[1, 0, 0, 1]], b)
    with pytest.raises(ValueError, match="pred_boxes and target_boxes must have the same shape"):
        giou_loss(np.zeros((2, 4)), b)


# --------------------------------------------------------------------------- fuzz
def _rows(a):
    return np.shape(a)[0] if np.ndim(a) else 0


BOX_FNS = [
    lambda a: iou_loss(a, np.ones((_rows(a), 4))),
    lambda a: iou_loss_backward(1.0, np.ones((_rows(a), 4)), a),
    lambda a: giou_loss(a, np.array([[0.0, 0.0, 1.0, 1.0]] * _rows(a))),
    lambda a: giou_loss_backward(1.0, a, np.array([[0.0, 0.0, 1.0, 1.0]] * _rows(a))),
]


@pytest.mark.parametrize("k", range(len(BOX_FNS)))
@given(a=anything_boxes())
def test_box_losses_fuzz_return_documented_result_or_raise(k, a):
    try:
        out = BOX_FNS[k](a)
    except (ValueError, TypeError):
        return
    assert not np.isnan(np.asarray(out, dtype=np.float64)).any()  # finite, or inf on overflow
