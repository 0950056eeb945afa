"""Loss conventions at their kinks and degenerate inputs, and the defaults of the backwards.

* GIoU loss gradient where the prediction's side meets the target's (a kink of min/max):
  the target's side binds, so only the area term moves the prediction (the Notes of
  :func:`bboxcore.losses.box.giou_loss_backward`); at prediction = target, the loss's
  minimum, the gradient is exactly 0.
* UnitBox IoU loss of two degenerate boxes (union 0): IoU 0, loss -ln(eps), no gradient.
* The default hyperparameters of every backward, checked against the loss written out
  with the papers' values: focal alpha = 0.25, gamma = 2 (Lin et al. 2017, Sec. 5.1 and
  Table 1a); CenterNet alpha = 2, beta = 4 (Zhou et al. 2019, Eq. 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.losses.box import (
    IOU_LOSS_EPS,
    giou_loss,
    giou_loss_backward,
    iou_loss,
    iou_loss_backward,
)
from bboxcore.losses.focal import (
    centernet_focal_loss,
    centernet_focal_loss_backward,
    sigmoid_focal_loss,
    sigmoid_focal_loss_backward,
)
from tests.finite_diff import assert_grad_close


# --------------------------------------------------------------------------- GIoU at its kinks
@pytest.mark.parametrize(
    "box", [[0.0, 0.0, 2.0, 2.0], [1.0, -3.0, 4.5, 7.0], [-10.0, 5.0, -9.0, 5.5]]
)
def test_giou_gradient_is_zero_when_the_prediction_equals_the_target(box):
    # L = 2 - I/U - U/|C| has its minimum 0 there; every side is a kink, where the
    # target's side binds: dI = dC = 0 and the area term (I/U^2 - 1/|C|) dA vanishes.
    b = np.array([box])
    assert giou_loss(b, b, reduction="sum") == 0
    np.testing.assert_array_equal(giou_loss_backward(1.0, b, b), np.zeros((1, 4)))


def test_giou_gradient_on_shared_edges_is_the_area_term_only():
    # pred [0, 0, 2, 2] shares its left, top and bottom sides with target [0, 0, 3, 2]:
    # A = 4, I = 4, U = 6, |C| = 6. On the shared sides only dA counts:
    # (I/U^2 - 1/|C|) dA = (4/36 - 1/6) (-h, -w, ., w) = (1/9, 1/9, ., -1/9).
    # The right side is strictly inside: (1/|C| - 1/U - I/U^2) I_h + (I/U^2 - 1/|C|) h
    # = (-1/9) 2 + (-1/18) 2 = -1/3, the derivative of 2 - 2 x2 / 6 - 1.
    pred, target = np.array([[0.0, 0, 2, 2]]), np.array([[0.0, 0, 3, 2]])
    np.testing.assert_allclose(
        giou_loss_backward(1.0, pred, target, reduction="sum"),
        [[1 / 9, 1 / 9, -1 / 3, -1 / 9]],
        rtol=1e-12,
    )


def test_giou_gradient_when_the_prediction_encloses_the_target_on_a_shared_edge():
    # pred [0, 0, 4, 2] and target [0, 0, 3, 2] share three sides; the right side of the
    # prediction is outside: I = 6, A = 8, U = 8, |C| = 8, so dL/dx2 = (I/U^2 - 1/C) h
    # + (U/C^2) C_h = (6/64 - 1/8) 2 + (1/8) 2 = 12/64; shared sides: (I/U^2 - 1/C) dA.
    pred, target = np.array([[0.0, 0, 4, 2]]), np.array([[0.0, 0, 3, 2]])
    g_a = 6 / 64 - 1 / 8
    np.testing.assert_allclose(
        giou_loss_backward(1.0, pred, target, reduction="sum"),
        [[-2 * g_a, -4 * g_a, 12 / 64, 4 * g_a]],
        rtol=1e-12,
    )


# --------------------------------------------------------------------------- IoU loss, union 0
def test_iou_loss_of_two_degenerate_boxes_is_minus_log_eps_without_gradient():
    # both boxes reduce to their common point: I = U = 0. IoU is 0 (never 0/0 = NaN), the
    # loss is the floor -ln(eps) and no gradient flows (the clamp is flat there).
    zero = np.zeros((2, 4))
    line = np.array([[0.0, 0, 0, 0], [0, 1, 0, 2]])  # width 0: also union 0
    for pred, target in ((zero, zero), (line, line[::-1])):
        loss = iou_loss(pred, target, reduction="none")
        np.testing.assert_array_equal(loss, [-np.log(IOU_LOSS_EPS)] * 2)
        grad = iou_loss_backward(1.0, pred, target, reduction="sum")
        np.testing.assert_array_equal(grad, np.zeros((2, 4)))


def test_iou_loss_when_only_the_prediction_is_degenerate():
    # X = 0, U = X~ > 0, I = 0: IoU 0, loss -ln(eps)
    loss = iou_loss([[0.0, 0, 0, 0]], [[1.0, 1, 1, 1]], reduction="none")
    np.testing.assert_array_equal(loss, [-np.log(IOU_LOSS_EPS)])


# --------------------------------------------------------------------------- defaults
RNG = np.random.default_rng(0)
Z = RNG.normal(0, 2, size=(3, 5))
T = (RNG.random((3, 5)) < 0.3).astype(float)


def focal_by_hand(z, t, alpha=0.25, gamma=2.0):
    """Lin et al. 2017, Eq. 5: -alpha_t (1 - p_t)^gamma log p_t, averaged over elements."""
    p = 1 / (1 + np.exp(-z))
    p_t = np.where(t == 1, p, 1 - p)
    a_t = np.where(t == 1, alpha, 1 - alpha)
    return float(np.mean(-a_t * (1 - p_t) ** gamma * np.log(p_t)))


def test_focal_defaults_are_alpha_0_25_and_gamma_2():
    np.testing.assert_allclose(sigmoid_focal_loss(Z, T), focal_by_hand(Z, T), rtol=1e-12)
    assert_grad_close(lambda z: focal_by_hand(z, T), Z, sigmoid_focal_loss_backward(1.0, Z, T))


def test_focal_backward_defaults_equal_the_explicit_values():
    explicit = sigmoid_focal_loss_backward(1.0, Z, T, alpha=0.25, gamma=2.0)
    np.testing.assert_array_equal(sigmoid_focal_loss_backward(1.0, Z, T), explicit)
    assert not np.allclose(explicit, sigmoid_focal_loss_backward(1.0, Z, T, alpha=0.5))
    assert not np.allclose(explicit, sigmoid_focal_loss_backward(1.0, Z, T, gamma=1.0))


Y = np.array([[1.0, 0.6, 0.0, 0.3], [0.0, 1.0, 0.9, 0.05]])
ZC = np.array([[0.5, -1.0, 2.0, 0.1], [-3.0, 1.5, 0.7, -0.2]])


def centernet_by_hand(z, y, alpha=2.0, beta=4.0):
    """Zhou et al. 2019, Eq. 1, divided by N = the number of centres (Y = 1)."""
    p = 1 / (1 + np.exp(-z))
    pos = (1 - p) ** alpha * np.log(p)
    neg = (1 - y) ** beta * p**alpha * np.log(1 - p)
    return float(-np.sum(np.where(y == 1, pos, neg)) / np.sum(y == 1))


def test_centernet_focal_defaults_are_alpha_2_and_beta_4():
    np.testing.assert_allclose(centernet_focal_loss(ZC, Y), centernet_by_hand(ZC, Y), rtol=1e-12)
    assert_grad_close(
        lambda z: centernet_by_hand(z, Y), ZC, centernet_focal_loss_backward(1.0, ZC, Y)
    )
    explicit = centernet_focal_loss_backward(1.0, ZC, Y, alpha=2.0, beta=4.0)
    np.testing.assert_array_equal(centernet_focal_loss_backward(1.0, ZC, Y), explicit)
