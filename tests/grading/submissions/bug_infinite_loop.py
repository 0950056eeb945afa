"""Bug: relies on IoU(i, i) = 1 > iou_thresh to drop the taken box: loops forever at 1."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order[0]
        keep.append(int(i))
        survivors = []
        for j in order:
            iw = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            ih = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = iw * ih
            a = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            b = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            union = a + b - inter
            if union <= 0 or inter / union <= iou_thresh:
                survivors.append(j)
        order = survivors
    return keep
