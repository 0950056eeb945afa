"""expect: clip_product -- clips the product, not each side."""

import numpy as np


def iou(boxes1, boxes2):
    N, M = len(boxes1), len(boxes2)
    res = np.zeros((N, M), dtype=np.float32)
    for i in range(N):
        x1 = np.maximum(boxes1[i, 0], boxes2[:, 0])
        y1 = np.maximum(boxes1[i, 1], boxes2[:, 1])
        x2 = np.minimum(boxes1[i, 2], boxes2[:, 2])
        y2 = np.minimum(boxes1[i, 3], boxes2[:, 3])
        inter = np.maximum((x2 - x1) * (y2 - y1), 0)
        a = (boxes1[i, 2] - boxes1[i, 0]) * (boxes1[i, 3] - boxes1[i, 1])
        b = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
        with np.errstate(all="ignore"):
            res[i] = inter / (a + b - inter)
    return res
