"""expect: sort_by_y2 -- the boxes taken by their bottom coordinate, not by score.

Pattern seen in https://github.com/fatihari/artificial-intelligence-and-data-science (the
tutorial NMS that sorts by y2 when it has no probabilities); the IoU itself is right here.
"""

import numpy as np


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, scores, iou_thresh):
    idxs = list(np.argsort(boxes[:, 3], kind="stable"))
    pick = []
    while idxs:
        i = idxs.pop()  # the largest y2
        pick.append(int(i))
        idxs = [j for j in idxs if not iou(boxes[i], boxes[j]) > iou_thresh]
    return pick
