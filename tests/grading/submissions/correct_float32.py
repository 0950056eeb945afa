"""Correct: everything in float32, the threshold included."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    b = np.asarray(boxes, dtype=np.float32)
    t = np.float32(iou_thresh)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    keep = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        iw = np.maximum(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0)
        ih = np.maximum(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0)
        inter = iw * ih
        union = area[i] + area[rest] - inter
        iou = inter / np.maximum(union, np.float32(1e-12))
        order = rest[iou <= t]
    return np.asarray(keep, dtype=np.int32)
