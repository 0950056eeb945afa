"""expect: unitbox_order -- the columns read in the UnitBox paper's order (t, b, l, r)."""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    xt, xb, xl, xr = np.asarray(pred_ltrb, dtype=float).T
    gt, gb, gl, gr = np.asarray(target_ltrb, dtype=float).T
    X = (xt + xb) * (xl + xr)
    G = (gt + gb) * (gl + gr)
    Ih = np.minimum(xt, gt) + np.minimum(xb, gb)
    Iw = np.minimum(xl, gl) + np.minimum(xr, gr)
    I = Ih * Iw  # noqa: E741
    U = X + G - I
    k = (U + I) / (U * I)
    d_t = (xl + xr) / U - k * Iw * (xt < gt)
    d_b = (xl + xr) / U - k * Iw * (xb < gb)
    d_l = (xt + xb) / U - k * Ih * (xl < gl)
    d_r = (xt + xb) / U - k * Ih * (xr < gr)
    return np.stack([d_t, d_b, d_l, d_r], axis=1)
