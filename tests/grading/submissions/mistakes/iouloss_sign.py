"""expect: sign_flipped -- the gradient of ln(IoU), the loss's sign lost in the derivation."""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    out = []
    for (l, t, r, b), (lt, tt, rt, bt) in zip(pred_ltrb, target_ltrb):
        X = (t + b) * (l + r)
        Xt = (tt + bt) * (lt + rt)
        Ih = min(t, tt) + min(b, bt)
        Iw = min(l, lt) + min(r, rt)
        I = Ih * Iw  # noqa: E741
        U = X + Xt - I
        dX = np.array([t + b, l + r, t + b, l + r])
        dI = np.array([Ih * (l < lt), Iw * (t < tt), Ih * (r < rt), Iw * (b < bt)])
        out.append((U + I) / (U * I) * dI - dX / U)
    return np.array(out).reshape(-1, 4)
