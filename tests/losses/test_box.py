"""Tests of bboxcore.losses.box: the UnitBox IoU loss and the GIoU loss against the equations,
their gradients against the slide's hand-derived formula and central finite differences.

Course material: Detection – 3 stages, §N (the IoU loss and its hand-derived gradient).
"""

from __future__ import annotations

import math
import warnings

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


# --------------------------------------------------------------------------- edges (mutation)
FINE = [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("pred", "target"),
    [
        # opposite corners: the enclosing box is 2e154 x 2e154 = 4e308 > max
        (
            [-1e154, -1e154, -1e154 + 1e140, -1e154 + 1e140],
            [1e154, 1e154, 1e154 + 1e140, 1e154 + 1e140],
        ),
        # wide in x through the prediction, tall in y through the target: 1e250 x 1e100
        ([0.0, 0.0, 1e250, 1.0], [0.0, -1e100, 1.0, 0.0]),
        ([0.0, -1e100, 1.0, 0.0], [0.0, 0.0, 1e250, 1.0]),
        # identical boxes of area 0.7e308: |A| + |B| + |C| = 2.1e308 > max
        ([0.0, 0.0, 1e154, 0.7e154], [0.0, 0.0, 1e154, 0.7e154]),
    ],
)
def test_giou_loss_rejects_a_row_whose_areas_overflow(pred, target):
    # |A| + |B| + |C| must be finite (every sum and ratio of the GIoU is then finite): the
    # error names the first such row, without an overflow warning
    a, b = np.array([FINE, pred, FINE]), np.array([FINE, target, FINE])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (giou_loss, lambda x, y: giou_loss_backward(1.0, x, y)):
            with pytest.raises(ValueError, match="row 1 are too large or too far apart"):
                f(a, b)


@pytest.mark.parametrize(
    "bad", [[1e200, 1e200, 0, 0], [0, 1e200, 1e200, 0], [1e200, 0, 0, 1e200], [1e200] * 4]
)
@pytest.mark.parametrize("which", ["pred_ltrb", "target_ltrb"])
def test_iou_loss_rejects_a_row_whose_box_area_overflows(bad, which):
    # the area (t + b)(l + r) of either box must be finite; the error names the row
    fine = np.ones((3, 4))
    rows = np.array([[1.0] * 4, bad, [1.0] * 4])
    args = (rows, fine) if which == "pred_ltrb" else (fine, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (iou_loss, lambda p, t: iou_loss_backward(1.0, p, t)):
            with pytest.raises(ValueError, match=f"{which} row 1 is too large"):
                f(*args)


def test_iou_loss_errors_name_the_argument():
    one = [[1.0, 1, 1, 1]]
    with pytest.raises(TypeError, match="pred_ltrb must be a real numeric array"):
        iou_loss([["a", "b", "c", "d"]], one)
    with pytest.raises(ValueError, match="pred_ltrb must be finite"):
        iou_loss([[np.nan, 1, 1, 1]], one)
    with pytest.raises(ValueError, match="target_ltrb must be finite"):
        iou_loss(one, [[np.inf, 1, 1, 1]])


@pytest.mark.parametrize(("p32", "t32"), [(True, True), (True, False), (False, True)])
def test_box_losses_compute_in_float32_only_when_both_inputs_are(p32, t32):
    # the library's dtype rule (bboxcore.iou): float32 only if both inputs are, in any order
    dt = np.float32 if p32 and t32 else np.float64
    pred = np.array([[1.0, 2, 3, 4], [2, 2, 2, 2]], np.float32 if p32 else np.float64)
    target = np.array([[2.0, 1, 3, 5], [1, 3, 2, 1]], np.float32 if t32 else np.float64)
    assert iou_loss(pred, target).dtype == dt
    assert iou_loss_backward(1.0, pred, target).dtype == dt
    boxes_p, boxes_t = pred.copy(), target.copy()
    boxes_p[:, 2:] += boxes_p[:, :2]
    boxes_t[:, 2:] += boxes_t[:, :2]
    assert giou_loss(boxes_p, boxes_t).dtype == dt
    assert giou_loss_backward(1.0, boxes_p, boxes_t).dtype == dt
    assert giou_loss(boxes_p, boxes_t, reduction="none").dtype == dt


def test_iou_loss_gradient_is_0_at_iou_exactly_eps():
    # IoU = I / U = 1 / 1e6 = IOU_LOSS_EPS exactly (integers, correctly rounded division):
    # the clamp max(IoU, eps) binds, the loss -ln(eps) is on its flat side and the gradient is
    # 0, as everywhere below eps. (An autograd clamp may take the other one-sided derivative.)
    pred, target = [[0.5, 0.5, 0.5, 0.5]], [[500.0, 500, 500, 500]]  # X = 1 inside X~ = 1e6
    assert iou_loss(pred, target) == pytest.approx(-math.log(1e-6), rel=1e-15)
    np.testing.assert_array_equal(iou_loss_backward(1.0, pred, target), [[0.0, 0, 0, 0]])
    above = [[0.5, 0.5, 0.5, 0.5001]]  # IoU just above eps: the gradient of -ln IoU
    assert np.all(iou_loss_backward(1.0, above, target) != 0)


def test_giou_loss_gradient_of_touching_boxes_has_no_intersection_term():
    # I = 0 with a shared edge (x = 1): the intersection passes no gradient -- the one-sided
    # derivative towards the empty side, as for the strict < at a shared side. By hand, with
    # L = 2 - I/U - U/|C|, U = 3, |C| = 4: d/dx1 = 1/4 - 3 * 2 / 16 = -1/8, d/dy1 = 1/4,
    # d/dx2 = d/dy2 = -1/4 (moving x2 into the target would give -1/3). Transposed for y.
    pred = np.array([[0.0, 0, 1, 1], [0.0, 0, 1, 1]])
    target = np.array([[1.0, 0, 2, 2], [0.0, 1, 2, 2]])
    grad = giou_loss_backward(np.ones(2), pred, target, reduction="none")
    np.testing.assert_allclose(
        grad, [[-1 / 8, 1 / 4, -1 / 4, -1 / 4], [1 / 4, -1 / 8, -1 / 4, -1 / 4]], rtol=1e-15
    )


def test_giou_loss_gradient_of_a_degenerate_prediction_is_the_enclosing_term():
    # A segment (zero area) against a point: U = 0, so I/U is dropped and L = 2 - U/|C|;
    # |C| = 3 x 1. Only growing the segment's height changes L: dL/dy1 = 2/3, dL/dy2 = -2/3
    # (one-sided finite differences below). Two identical segments: U = |C| = 0, all terms
    # dropped, gradient 0.
    pred = np.array([[0.0, 0, 2, 0], [0.0, 0, 2, 0]])
    target = np.array([[3.0, 1, 3, 1], [0.0, 0, 2, 0]])
    grad = giou_loss_backward(np.ones(2), pred, target, reduction="none")
    np.testing.assert_allclose(grad, [[0, 2 / 3, 0, -2 / 3], [0, 0, 0, 0]], rtol=1e-15, atol=0)
    h = 1e-6
    up = pred[:1].copy()
    up[0, 3] += h
    down = pred[:1].copy()
    down[0, 1] -= h
    base = giou_loss(pred[:1], target[:1])
    assert (giou_loss(up, target[:1]) - base) / h == pytest.approx(-2 / 3, rel=1e-5)
    assert (base - giou_loss(down, target[:1])) / h == pytest.approx(2 / 3, rel=1e-5)


@pytest.mark.parametrize(
    ("dtype", "side"),
    [
        (np.float64, 2.0**-511),  # area exactly tiny = 2^-1022
        (np.float64, 2.0**-530),  # subnormal area
        (np.float32, 2.0**-63),  # area exactly float32's tiny 2^-126
        (np.float32, 2.0**-70),  # area subnormal in float32 (its inverse overflows float32)
    ],
)
def test_giou_loss_gradient_is_0_at_prediction_equal_target_of_tiny_area(dtype, side):
    # at prediction = target the gradient is exactly 0 (the Notes of giou_loss_backward),
    # also when U = |C| is at or below the smallest normal number: those terms are dropped
    # (as 0), not divided by, so nothing overflows
    box = np.array([[0.0, 0.0, side, side]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad = giou_loss_backward(1.0, box, box)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, np.zeros((1, 4)))


def test_giou_loss_gradient_is_0_when_every_area_underflows():
    # boxes 1e-160 wide overlapping by half: I, U and |C| are all subnormal (~1e-320): they
    # count as 0, every term is dropped and the gradient is exactly 0, never inf or NaN
    s = 1e-160
    pred, target = np.array([[0.0, 0, s, s]]), np.array([[s / 2, s / 2, 1.5 * s, 1.5 * s]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad = giou_loss_backward(1.0, pred, target)
    np.testing.assert_array_equal(grad, np.zeros((1, 4)))
