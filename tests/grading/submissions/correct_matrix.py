"""Correct: the full IoU matrix first, then a greedy pass over a mask."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    b = np.asarray(boxes, dtype=np.float64)
    lt = np.maximum(b[:, None, :2], b[None, :, :2])
    rb = np.minimum(b[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area[:, None] + area[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    order = np.argsort(-np.asarray(scores), kind="stable")
    removed = np.zeros(len(b), dtype=bool)
    keep = []
    for i in order:
        if removed[i]:
            continue
        keep.append(int(i))
        removed |= iou[i] > iou_thresh
    return keep
