"""expect: ascending -- argsort without the reverse."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = list(np.argsort(scores))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.array(order, dtype=int)
        if rest.size == 0:
            break
        w = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]),
            0,
            None,
        )
        h = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]),
            0,
            None,
        )
        inter = w * h
        iou = inter / (area[i] + area[rest] - inter)
        order = [int(j) for j, v in zip(rest, iou) if v <= iou_thresh]
    return keep
