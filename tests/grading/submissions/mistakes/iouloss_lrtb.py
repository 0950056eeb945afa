"""expect: unitbox_order -- the columns read as (l, r, t, b): l paired with column 1.

The layout of a Caffe UnitBox loss layer seen in public code (x = (xl, xr, xt, xb)); it pairs
the columns as the paper's (t, b, l, r) does, so it gets the same hint.
"""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    x = np.asarray(pred_ltrb, dtype=float)
    y = np.asarray(target_ltrb, dtype=float)
    area_x = (x[:, 0] + x[:, 1]) * (x[:, 2] + x[:, 3])
    area_y = (y[:, 0] + y[:, 1]) * (y[:, 2] + y[:, 3])
    i_w = np.minimum(x[:, 0], y[:, 0]) + np.minimum(x[:, 1], y[:, 1])
    i_h = np.minimum(x[:, 2], y[:, 2]) + np.minimum(x[:, 3], y[:, 3])
    inter = i_w * i_h
    union = area_x + area_y - inter
    k = ((union + inter) / (union * inter))[:, None]
    d_area = np.stack([x[:, 2] + x[:, 3]] * 2 + [x[:, 0] + x[:, 1]] * 2, axis=1)
    d_inter = (x < y) * np.stack([i_h, i_h, i_w, i_w], axis=1)
    return d_area / union[:, None] - k * d_inter
