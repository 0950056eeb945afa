"""expect: xywh -- reads (x, y, w, h)."""

import numpy as np


def iou(boxes1, boxes2):
    out = np.zeros((len(boxes1), len(boxes2)))
    for i, (x, y, w, h) in enumerate(boxes1):
        for j, (u, v, p, q) in enumerate(boxes2):
            iw = max(0.0, min(x + w, u + p) - max(x, u))
            ih = max(0.0, min(y + h, v + q) - max(y, v))
            inter = iw * ih
            union = w * h + p * q - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out
