"""Correct, and it patches NumPy in its own process: the grader's NumPy must not change."""

import numpy as np

_argsort = np.argsort
np.argsort = lambda a, *args, **kwargs: np.arange(len(a))  # garbage, for the grader's process
np.maximum = np.minimum


def nms(boxes, scores, iou_thresh):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        ok = True
        for k in keep:
            iw = max(0.0, min(boxes[i, 2], boxes[k, 2]) - max(boxes[i, 0], boxes[k, 0]))
            ih = max(0.0, min(boxes[i, 3], boxes[k, 3]) - max(boxes[i, 1], boxes[k, 1]))
            inter = iw * ih
            a = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            b = (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1])
            if a + b - inter > 0 and inter / (a + b - inter) > iou_thresh:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep
