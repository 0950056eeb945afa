"""Bug: sorts the caller's scores in place (descending) and then forgets the original order."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    scores[::-1].sort()  # in place: scores are now decreasing, boxes are not reordered
    keep = []
    for i in range(len(scores)):
        ok = True
        for k in keep:
            iw = max(0.0, min(boxes[i, 2], boxes[k, 2]) - max(boxes[i, 0], boxes[k, 0]))
            ih = max(0.0, min(boxes[i, 3], boxes[k, 3]) - max(boxes[i, 1], boxes[k, 1]))
            inter = iw * ih
            a = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            b = (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1])
            if a + b - inter > 0 and inter / (a + b - inter) > iou_thresh:
                ok = False
        if ok:
            keep.append(i)
    return [int(order[i]) for i in keep]
