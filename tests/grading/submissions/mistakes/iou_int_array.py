"""expect: integer_result -- the result array is created as integers."""

import numpy as np


def iou(boxes1, boxes2):
    out = np.zeros((len(boxes1), len(boxes2)), dtype=int)
    for i, a in enumerate(boxes1):
        for j, b in enumerate(boxes2):
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            out[i, j] = inter / union if union > 0 else 0
    return out
