r"""Losses on whole boxes: UnitBox's IoU loss on (l, t, r, b) distances and the GIoU loss.

Same loss/backward convention as :mod:`bboxcore.losses`. The IoU values come
from the one definition in :mod:`bboxcore.iou`; this module adds the hand-derived
gradients.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import (
    as_boxes,
    as_float_array,
    check_finite,
    checked_area,
    result_float_dtype,
)
from bboxcore.iou import generalized_box_iou_aligned
from bboxcore.losses._common import _check_reduction, _reduce, _upstream

__all__ = ["IOU_LOSS_EPS", "giou_loss", "giou_loss_backward", "iou_loss", "iou_loss_backward"]

#: The IoU inside -ln(IoU) is clamped at this floor (as mmdetection does), so a
#: prediction that does not overlap its target costs -ln(1e-6) ~ 13.8, not inf.
IOU_LOSS_EPS = 1e-6


# --------------------------------------------------------------------------- IoU loss (UnitBox)
def _unitbox_terms(p, t, eps):
    """Algorithm 1 of UnitBox, column by column: X, I_h, I_w, I, U, IoU."""
    (pl, pt, pr, pb), (tl, tt, tr, tb) = p.T, t.T
    x_pred = (pt + pb) * (pl + pr)  # X
    x_true = (tt + tb) * (tl + tr)  # X~
    i_h = np.minimum(pt, tt) + np.minimum(pb, tb)
    i_w = np.minimum(pl, tl) + np.minimum(pr, tr)
    inter = i_h * i_w
    union = x_pred + x_true - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return x_pred, i_h, i_w, inter, union, iou, iou > eps


def iou_loss(pred_ltrb, target_ltrb, *, eps: float = IOU_LOSS_EPS, reduction: str = "mean"):
    r"""UnitBox's IoU loss :math:`-\ln(\mathrm{IoU})` of boxes given as distances from one point.

    A location inside a box predicts its distances to the four sides,
    :math:`x = (x_l, x_t, x_r, x_b)`; prediction and target share the point, so
    (*Detection – 3 stages*, §N; Algorithm 1) [1]_:

    .. math::
        X = (x_t + x_b)(x_l + x_r),\ \tilde X = (\tilde x_t + \tilde x_b)(\tilde x_l + \tilde x_r),\
        I_h = \min(x_t, \tilde x_t) + \min(x_b, \tilde x_b),\
        I_w = \min(x_l, \tilde x_l) + \min(x_r, \tilde x_r)

    .. math::
        I = I_h I_w,\quad U = X + \tilde X - I,\quad \mathcal{L} = -\ln \frac{I}{U}

    Parameters
    ----------
    pred_ltrb : ndarray, shape (R, 4), float
        Predicted distances ``(l, t, r, b)`` >= 0, in pixels (FCOS order).
    target_ltrb : ndarray, shape (R, 4)
        Target distances, same order.
    eps : float, default IOU_LOSS_EPS
        IoU floor: :math:`\mathcal{L} = -\ln\max(\mathrm{IoU}, \varepsilon)`.
    reduction : {'none', 'mean', 'sum'}, default 'mean'

    Returns
    -------
    loss : ndarray, shape (R,), or scalar

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), not finite, has a negative distance, or the
        shapes differ.

    Notes
    -----
    The loss is scale invariant (all four sides are regressed together), and
    equals :math:`-\ln` of :func:`bboxcore.iou.box_iou_aligned` of the decoded
    boxes ``(p_x - l, p_y - t, p_x + r, p_y + b)``. Gradient: see
    :func:`iou_loss_backward`.

    References
    ----------
    .. [1] J. Yu, Y. Jiang, Z. Wang, Z. Cao, T. Huang. "UnitBox: An Advanced
       Object Detection Network." ACM MM 2016, arXiv:1608.01471.

    Examples
    --------
    >>> iou_loss([[1.0, 1, 1, 1]], [[1.0, 1, 3, 1]], reduction="none")  # I = 2 * 2, U = 4 + 8 - 4
    array([0.69314718])
    """
    _check_reduction(reduction)
    p, t = _ltrb_pair(pred_ltrb, target_ltrb)
    iou = _unitbox_terms(p, t, eps)[5]
    return _reduce(-np.log(np.maximum(iou, p.dtype.type(eps))), reduction)


def iou_loss_backward(
    dloss, pred_ltrb, target_ltrb, *, eps: float = IOU_LOSS_EPS, reduction: str = "mean"
) -> np.ndarray:
    r"""The slide's hand-derived gradient of :func:`iou_loss` w.r.t. ``pred_ltrb``.

    *Detection – 3 stages*, §N (UnitBox Eq. 1-3):

    .. math::
        \frac{\partial X}{\partial x_t} = \frac{\partial X}{\partial x_b} = x_l + x_r,\quad
        \frac{\partial X}{\partial x_l} = \frac{\partial X}{\partial x_r} = x_t + x_b

    .. math::
        \frac{\partial I}{\partial x_t} = \begin{cases} I_w & x_t < \tilde x_t \\
            0 & \text{otherwise}\end{cases}\ (\text{same for } x_b),\quad
        \frac{\partial I}{\partial x_l} = \begin{cases} I_h & x_l < \tilde x_l \\
            0 & \text{otherwise}\end{cases}\ (\text{same for } x_r)

    .. math::
        \frac{\partial \mathcal{L}}{\partial x} = \frac{1}{U}\frac{\partial X}{\partial x}
            - \frac{U + I}{U I}\frac{\partial I}{\partial x}

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, shape (R,) for ``'none'``.
    pred_ltrb, target_ltrb, eps, reduction
        As in :func:`iou_loss`.

    Returns
    -------
    dpred_ltrb : ndarray, shape (R, 4)

    Raises
    ------
    TypeError, ValueError
        As :func:`iou_loss`, or if ``dloss`` is badly shaped.

    Notes
    -----
    NOTE: min() has a kink where a predicted side equals the target's
    (:math:`x_t = \tilde x_t`); like the slide, the intersection then passes no
    gradient to that side (the strict ``<``). Where the IoU is clamped at
    ``eps`` the loss is flat and the gradient is 0.

    Examples
    --------
    >>> iou_loss_backward(1.0, [[1.0, 1, 1, 1]], [[1.0, 1, 3, 1]])  # U = 8, I = 4, only r short
    array([[ 0.25,  0.25, -0.5 ,  0.25]])
    """
    _check_reduction(reduction)
    p, t = _ltrb_pair(pred_ltrb, target_ltrb)
    x_pred, i_h, i_w, inter, union, _, live = _unitbox_terms(p, t, eps)
    up = _upstream(dloss, (len(p),), p.dtype, reduction)
    pl, pt, pr, pb = p.T
    tl, tt, tr, tb = t.T
    d_x = np.stack([pt + pb, pl + pr, pt + pb, pl + pr], axis=1)  # dX/d(l, t, r, b)
    d_i = np.stack([i_h * (pl < tl), i_w * (pt < tt), i_h * (pr < tr), i_w * (pb < tb)], axis=1)
    safe_u = np.where(live, union, 1)
    safe_i = np.where(live, inter, 1)
    grad = d_x / safe_u[:, None] - ((safe_u + safe_i) / (safe_u * safe_i))[:, None] * d_i
    return np.where(live[:, None], up[:, None] * grad, 0).astype(p.dtype, copy=False)


# --------------------------------------------------------------------------- GIoU loss
def giou_loss(pred_boxes, target_boxes, *, reduction: str = "mean"):
    r"""GIoU loss :math:`1 - \mathrm{GIoU}`: still a gradient when the boxes do not overlap.

    .. math::
        \mathcal{L}_{GIoU} = 1 - \frac{I}{U} + \frac{|C| - U}{|C|}

    with C the smallest box enclosing both [1]_ (Alg. 2). The value comes from
    :func:`bboxcore.iou.generalized_box_iou_aligned`'s definition.

    Parameters
    ----------
    pred_boxes : ndarray, shape (R, 4), float
        Predicted boxes ``(x_min, y_min, x_max, y_max)`` in pixels, not inverted.
    target_boxes : ndarray, shape (R, 4)
        Target boxes, same format.
    reduction : {'none', 'mean', 'sum'}, default 'mean'

    Returns
    -------
    loss : ndarray, shape (R,), or scalar
        In [0, 2].

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), not finite, inverted, or the shapes differ.

    References
    ----------
    .. [1] H. Rezatofighi et al. "Generalized Intersection over Union: A Metric
       and a Loss for Bounding Box Regression." CVPR 2019, arXiv:1902.09630.

    Examples
    --------
    >>> giou_loss([[0, 0, 1, 1]], [[2, 0, 3, 1]], reduction="none")  # IoU 0, 1/3 of C empty
    array([1.33333333])
    """
    _check_reduction(reduction)
    a, b = _box_pair(pred_boxes, target_boxes)
    return _reduce(1 - generalized_box_iou_aligned(a, b), reduction)


def giou_loss_backward(dloss, pred_boxes, target_boxes, *, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`giou_loss` w.r.t. ``pred_boxes``.

    With :math:`\mathcal{L} = 2 - I/U - U/|C|` and :math:`U = A + B - I`:

    .. math::
        d\mathcal{L} = \left(\frac{1}{|C|} - \frac{1}{U} - \frac{I}{U^2}\right) dI
            + \left(\frac{I}{U^2} - \frac{1}{|C|}\right) dA + \frac{U}{|C|^2}\, d|C|

    where, e.g., :math:`\partial I/\partial x_{max} = I_h` if the predicted
    right side is inside the target's, :math:`\partial A/\partial x_{max} = h`,
    :math:`\partial |C|/\partial x_{max} = C_h` if it is outside.

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, shape (R,) for ``'none'``.
    pred_boxes, target_boxes, reduction
        As in :func:`giou_loss`.

    Returns
    -------
    dpred_boxes : ndarray, shape (R, 4)

    Raises
    ------
    TypeError, ValueError
        As :func:`giou_loss`, or if ``dloss`` is badly shaped.

    Notes
    -----
    NOTE: min/max kinks where a predicted side meets the target's side (the
    target's side is then taken as the binding one: no intersection/enclosure
    gradient to the prediction), and where the intersection becomes empty.
    Terms whose denominator :math:`U` or :math:`|C|` is 0 are dropped, as in the forward.

    Examples
    --------
    >>> giou_loss_backward(1.0, [[0, 0, 1, 1]], [[2, 0, 3, 1]])  # no overlap, still a gradient
    array([[ 0.11111111,  0.33333333, -0.33333333, -0.33333333]])
    """
    _check_reduction(reduction)
    a, b = _box_pair(pred_boxes, target_boxes)
    up = _upstream(dloss, (len(a),), a.dtype, reduction)
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.T, b.T
    w, h = ax2 - ax1, ay2 - ay1
    iw = np.minimum(ax2, bx2) - np.maximum(ax1, bx1)
    ih = np.minimum(ay2, by2) - np.maximum(ay1, by1)
    iw_pos, ih_pos = np.maximum(iw, 0), np.maximum(ih, 0)
    inter = iw_pos * ih_pos
    union = w * h + (bx2 - bx1) * (by2 - by1) - inter
    cw = np.maximum(ax2, bx2) - np.minimum(ax1, bx1)
    ch = np.maximum(ay2, by2) - np.minimum(ay1, by1)
    area_c = cw * ch
    tiny = np.finfo(a.dtype).tiny  # a subnormal U or |C| counts as 0, as in the forward
    has_u, has_c = union > tiny, area_c > tiny
    u = np.where(has_u, union, 1)
    c = np.where(has_c, area_c, 1)
    iou = inter / u  # in [0, 1]: (I / U) / U cannot overflow where I / U^2 could
    g_i = np.where(has_u, -(1 + iou) / u, 0) + np.where(has_c, 1 / c, 0)
    g_a = np.where(has_u, iou / u, 0) - np.where(has_c, 1 / c, 0)
    g_c = np.where(has_c, (union / c) / c, 0)
    overlap = (iw > 0) & (ih > 0)
    d_i = (
        np.stack(  # dI / d(x1, y1, x2, y2): only where the prediction's side binds
            [
                -ih_pos * (ax1 > bx1),
                -iw_pos * (ay1 > by1),
                ih_pos * (ax2 < bx2),
                iw_pos * (ay2 < by2),
            ],
            axis=1,
        )
        * overlap[:, None]
    )
    d_a = np.stack([-h, -w, h, w], axis=1)
    d_c = np.stack(
        [-ch * (ax1 < bx1), -cw * (ay1 < by1), ch * (ax2 > bx2), cw * (ay2 > by2)], axis=1
    )
    grad = g_i[:, None] * d_i + g_a[:, None] * d_a + g_c[:, None] * d_c
    return (up[:, None] * grad).astype(a.dtype, copy=False)


# --------------------------------------------------------------------------- input checks
def _ltrb_pair(pred_ltrb, target_ltrb):
    out = []
    for name, x in (("pred_ltrb", pred_ltrb), ("target_ltrb", target_ltrb)):
        a = as_float_array(x, name)
        if a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(f"{name} must have shape (R, 4) of (l, t, r, b); got {a.shape}")
        check_finite(a, name)
        if a.size and a.min() < 0:
            raise ValueError(f"{name} must hold distances >= 0; got {a.min()}")
        out.append(a)
    for name, a in (("pred_ltrb", out[0]), ("target_ltrb", out[1])):
        with np.errstate(over="ignore"):
            area = (a[:, 1] + a[:, 3]) * (a[:, 0] + a[:, 2])
        if not np.isfinite(area).all():
            i = int(np.flatnonzero(~np.isfinite(area))[0])
            raise ValueError(f"{name} row {i} is too large: its box area overflows {a.dtype}")
    p, t = out
    if p.shape != t.shape:
        raise ValueError(
            f"pred_ltrb and target_ltrb must have the same shape; got {p.shape}, {t.shape}"
        )
    dtype = result_float_dtype(p, t)
    return p.astype(dtype, copy=False), t.astype(dtype, copy=False)


def _box_pair(pred_boxes, target_boxes):
    a = as_boxes(pred_boxes, "pred_boxes")
    b = as_boxes(target_boxes, "target_boxes")
    if a.shape != b.shape:
        raise ValueError(
            f"pred_boxes and target_boxes must have the same shape; got {a.shape}, {b.shape}"
        )
    dtype = result_float_dtype(a, b)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    with np.errstate(over="ignore"):
        sides = np.maximum(a[:, 2:], b[:, 2:]) - np.minimum(a[:, :2], b[:, :2])  # enclosing box
        area = checked_area(a, "pred_boxes") + checked_area(b, "target_boxes")
        area += sides[:, 0] * sides[:, 1]
    if not np.isfinite(area).all():
        i = int(np.flatnonzero(~np.isfinite(area))[0])
        raise ValueError(
            f"pred_boxes and target_boxes row {i} are too large or too far apart: the area of "
            f"their enclosing box overflows {dtype}"
        )
    return a, b
