"""expect: xywh -- treats the boxes as (x, y, w, h)."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    x, y, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    x2, y2 = x + w, y + h
    area = w * h
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x[i], x[rest]))
        ih = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y[i], y[rest]))
        inter = iw * ih
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (area[i] + area[rest] - inter)
        order = rest[~(iou > iou_thresh)]
    return keep
