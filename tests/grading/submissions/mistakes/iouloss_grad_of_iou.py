"""expect: grad_of_iou -- the quotient rule on I / U: the IoU's gradient, not -ln IoU's."""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    p = np.asarray(pred_ltrb, dtype=float)
    t = np.asarray(target_ltrb, dtype=float)
    x = (p[:, 1] + p[:, 3]) * (p[:, 0] + p[:, 2])
    xt = (t[:, 1] + t[:, 3]) * (t[:, 0] + t[:, 2])
    m = np.minimum(p, t)
    ih, iw = m[:, 1] + m[:, 3], m[:, 0] + m[:, 2]
    inter = ih * iw
    union = x + xt - inter
    dx = np.stack([p[:, 1] + p[:, 3], p[:, 0] + p[:, 2], p[:, 1] + p[:, 3], p[:, 0] + p[:, 2]], 1)
    di = (p < t) * np.stack([ih, iw, ih, iw], 1)
    du = dx - di
    return (di * union[:, None] - inter[:, None] * du) / (union**2)[:, None]
