"""expect: inter_factor_swapped -- dI/dx_t written as I_h (and dI/dx_l as I_w)."""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    grads = np.zeros((len(pred_ltrb), 4))
    for n in range(len(pred_ltrb)):
        l, t, r, b = pred_ltrb[n]
        L, T, R, B = target_ltrb[n]
        area = (t + b) * (l + r)
        i_h = min(t, T) + min(b, B)
        i_w = min(l, L) + min(r, R)
        inter = i_h * i_w
        union = area + (T + B) * (L + R) - inter
        c = (union + inter) / (union * inter)
        grads[n, 0] = (t + b) / union - c * (i_w if l < L else 0.0)
        grads[n, 1] = (l + r) / union - c * (i_h if t < T else 0.0)
        grads[n, 2] = (t + b) / union - c * (i_w if r < R else 0.0)
        grads[n, 3] = (l + r) / union - c * (i_h if b < B else 0.0)
    return grads
