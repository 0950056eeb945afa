r"""The usual mistakes of a student's IoU-loss gradient, as runnable variants with their hints.

:func:`buggy_iou_loss_grad` is the hand derivation of *Detection – 3 stages*,
§N (UnitBox [1]_, Eq. 1-3) with one mistake switched on. The mistakes are those
of the derivation done by hand: the sign of :math:`-\ln`, the gradient of the
IoU itself or of :math:`1 - \mathrm{IoU}` instead of :math:`-\ln \mathrm{IoU}`,
the union taken as a constant or as not depending on :math:`I`, the sign of the
:math:`I` term, :math:`\partial X/\partial x_t` with the wrong pair of sides or
the target's sides, the :math:`\min` ignored or inverted, :math:`I_h` and
:math:`I_w` swapped, the paper's column order :math:`(x_t, x_b, x_l, x_r)`
(or an :math:`(l, r, t, b)` layout: the same pairs) instead of FCOS's
:math:`(l, t, r, b)`, a mean over the rows. (The paper's form
:math:`(I(\nabla X - \nabla I) - U\nabla I)/(U^2\,\mathrm{IoU})` without its IoU is
the gradient of :math:`1 - \mathrm{IoU}`: ``linear_loss``.) Nothing here decides
whether an answer is right.

References
----------
.. [1] J. Yu, Y. Jiang, Z. Wang, Z. Cao, T. Huang. "UnitBox: An Advanced
   Object Detection Network." ACM MM 2016, arXiv:1608.01471.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IOU_LOSS_GRAD_BUGS", "IOU_LOSS_GRAD_HINTS", "buggy_iou_loss_grad"]

#: name -> hint, in the order they are tried.
IOU_LOSS_GRAD_HINTS: dict[str, str] = {
    "sign_flipped": "your gradient has the wrong sign: the loss is -ln(IoU) = ln U - ln I, "
    "so dL/dx = dX/dx / U - (U + I) / (U I) dI/dx (it decreases when I grows).",
    "grad_of_iou": "this is the gradient of the IoU itself; the loss is -ln(IoU), whose "
    "gradient is -(1 / IoU) dIoU/dx = dX/dx / U - (U + I) / (U I) dI/dx.",
    "linear_loss": "this is the gradient of 1 - IoU (the linear IoU loss); the loss here is "
    "-ln(IoU): divide by the IoU, dL/dx = -(1 / IoU) dIoU/dx.",
    "union_constant": "you treat the union as a constant (-dI/dx / I): U = X + X~ - I "
    "depends on the prediction too, which adds dX/dx / U - dI/dx / U.",
    "union_no_inter": "the union U = X + X~ - I depends on I as well: dU/dx = dX/dx - dI/dx, "
    "so the I term is -(1 / I + 1 / U) dI/dx = -(U + I) / (U I) dI/dx, not -dI/dx / I.",
    "inter_term_sign": "the intersection term has the wrong sign: dL/dx = dX/dx / U - "
    "(U + I) / (U I) dI/dx (a larger intersection lowers the loss).",
    "area_pairs_swapped": "dX/dx_t = x_l + x_r (X = (x_t + x_b)(x_l + x_r): the derivative "
    "along t is the width), and dX/dx_l = x_t + x_b; yours uses the side's own pair.",
    "area_of_target": "dX/dx uses the predicted sides (dX/dx_t = l + r of pred_ltrb), not "
    "the target's: X is the predicted area.",
    "inter_no_min": "dI/dx_t = I_w only where the predicted side is the shorter one "
    "(x_t < x~_t: min picks it); elsewhere min() ignores the prediction and passes 0.",
    "inter_min_inverted": "dI/dx_t = I_w where the predicted side is the *shorter* one "
    "(x_t < x~_t: min picks it), and 0 where it is longer; yours is the other way round.",
    "inter_factor_swapped": "dI/dx_t = I_w (moving the top edge changes the height, which "
    "multiplies the width) and dI/dx_l = I_h; yours has I_h and I_w swapped.",
    # Also the (xl, xr, xt, xb) order of a public Caffe UnitBox loss layer found with the
    # search tool (repository not recorded): the same pairing, so the same answers.
    "unitbox_order": "the columns are FCOS's (l, t, r, b): l pairs with r (columns 0 and 2), "
    "t with b (1 and 3). You pair columns 0 with 1 and 2 with 3, as in the UnitBox paper's "
    "order (x_t, x_b, x_l, x_r) or an (l, r, t, b) layout.",
    "mean_over_rows": "return each row's own gradient, d L_i / d pred_ltrb[i]: yours is "
    "divided by the number of rows (the gradient of the mean).",
}


def buggy_iou_loss_grad(pred_ltrb, target_ltrb, bug: str = "", le: bool = False) -> np.ndarray:
    r"""d(-ln IoU)/d pred, per row, as the buggy variant ``bug`` computes it.

    Parameters
    ----------
    pred_ltrb, target_ltrb : array_like, shape (R, 4)
        Distances ``(l, t, r, b)`` > 0; converted to float64.
    bug : str
        ``''`` is the correct gradient; the other values are the keys of
        :data:`IOU_LOSS_GRAD_HINTS`. Any other string acts as ``''``.
    le : bool
        Pass the intersection's gradient to a side equal to the target's
        (``x <= x~``) instead of not (``x < x~``): the other one-sided
        derivative at the kink of min().

    Returns
    -------
    ndarray, shape (R, 4), float64

    Notes
    -----
    With ``bug=''``: :math:`X = (x_t + x_b)(x_l + x_r)`, :math:`I_h = \min(x_t,
    \tilde x_t) + \min(x_b, \tilde x_b)`, :math:`I_w` likewise, :math:`I = I_h
    I_w`, :math:`U = X + \tilde X - I` and :math:`\partial\mathcal L/\partial x
    = \frac1U \partial X/\partial x - \frac{U + I}{UI}\partial I/\partial x`
    (UnitBox Eq. 2-3; the grader's reference is
    :func:`bboxcore.losses.iou_loss_backward`).

    Examples
    --------
    >>> buggy_iou_loss_grad([[1.0, 1, 1, 1]], [[1.0, 1, 3, 1]]).tolist()  # U = 8, I = 4
    [[0.25, 0.25, -0.5, 0.25]]
    >>> buggy_iou_loss_grad([[1.0, 1, 1, 1]], [[1.0, 1, 3, 1]], "sign_flipped").tolist()
    [[-0.25, -0.25, 0.5, -0.25]]
    """
    p = np.asarray(pred_ltrb, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(target_ltrb, dtype=np.float64).reshape(-1, 4)
    # the columns the student reads as (l, t, r, b): UnitBox's (t, b, l, r)
    # ((l, r, t, b) pairs the columns the same way and gives the same answers)
    perm = [2, 0, 3, 1] if bug == "unitbox_order" else [0, 1, 2, 3]
    p, t = p[:, perm], t[:, perm]
    pl, pt, pr, pb = p.T
    tl, tt, tr, tb = t.T
    x_pred = (pt + pb) * (pl + pr)
    x_true = (tt + tb) * (tl + tr)
    i_h = np.minimum(pt, tt) + np.minimum(pb, tb)
    i_w = np.minimum(pl, tl) + np.minimum(pr, tr)
    inter = i_h * i_w
    union = x_pred + x_true - inter
    src = t if bug == "area_of_target" else p
    sl, st, sr, sb = src.T
    d_x = np.stack([st + sb, sl + sr, st + sb, sl + sr], axis=1)
    if bug == "area_pairs_swapped":
        d_x = np.stack([sl + sr, st + sb, sl + sr, st + sb], axis=1)
    less = np.less_equal if le else np.less
    shorter = less(p, t)
    if bug == "inter_no_min":
        shorter = np.ones_like(shorter)
    elif bug == "inter_min_inverted":
        shorter = ~shorter
    fh, fw = (i_w, i_h) if bug == "inter_factor_swapped" else (i_h, i_w)
    d_i = shorter * np.stack([fh, fw, fh, fw], axis=1)
    u, i = union[:, None], inter[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = d_x / u - (u + i) / (u * i) * d_i
        iou = i / u
        if bug == "sign_flipped":
            grad = -grad
        elif bug == "grad_of_iou":
            grad = -iou * grad
        elif bug == "linear_loss":
            grad = iou * grad
        elif bug == "union_constant":
            grad = -d_i / i
        elif bug == "union_no_inter":
            grad = d_x / u - d_i / i
        elif bug == "inter_term_sign":
            grad = d_x / u + (u + i) / (u * i) * d_i
        elif bug == "mean_over_rows":
            grad = grad / max(len(p), 1)
    if bug == "unitbox_order":
        grad = grad[:, np.argsort(perm)]
    return grad


#: name -> (variant(pred_ltrb, target_ltrb) -> (R, 4) array, hint): the catalogue.
IOU_LOSS_GRAD_BUGS = {
    name: (lambda p, t, bug=name: buggy_iou_loss_grad(p, t, bug), hint)
    for name, hint in IOU_LOSS_GRAD_HINTS.items()
}
