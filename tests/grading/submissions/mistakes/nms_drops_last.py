"""expect: drops_last -- while len(order) > 1."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while len(order) > 1:
        i = order.pop(0)
        keep.append(int(i))
        survivors = []
        for j in order:
            iw = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            ih = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = iw * ih
            u = (
                (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
                + (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
                - inter
            )
            if not (u > 0 and inter / u > iou_thresh):
                survivors.append(j)
        order = survivors
    return keep
