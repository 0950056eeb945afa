"""expect: mean_over_rows -- the gradient of the mean loss: every row divided by R."""

import numpy as np


def iou_loss_grad(pred_ltrb, target_ltrb):
    p = np.asarray(pred_ltrb, dtype=np.float32)
    t = np.asarray(target_ltrb, dtype=np.float32)
    m = np.minimum(p, t)
    ih, iw = m[:, 1] + m[:, 3], m[:, 0] + m[:, 2]
    inter = ih * iw
    area = (p[:, 1] + p[:, 3]) * (p[:, 0] + p[:, 2])
    union = area + (t[:, 1] + t[:, 3]) * (t[:, 0] + t[:, 2]) - inter
    d_area = np.stack([p[:, 1] + p[:, 3], p[:, 0] + p[:, 2]] * 2, axis=1)
    d_inter = (p < t) * np.stack([ih, iw] * 2, axis=1)
    g = d_area / union[:, None] - ((union + inter) / (union * inter))[:, None] * d_inter
    return g / max(len(p), 1)
