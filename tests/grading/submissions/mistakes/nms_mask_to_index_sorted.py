"""expect: sorted_by_index -- a keep mask turned into indices with np.where."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    alive = np.ones(len(scores), dtype=bool)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in order:
        if not alive[i]:
            continue
        w = np.clip(
            np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]), 0, None
        )
        h = np.clip(
            np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]), 0, None
        )
        inter = w * h
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (area[i] + area - inter)
        over = iou > iou_thresh
        over[i] = False
        alive &= ~over
    return np.where(alive)[0]
