"""Correct: equal scores are taken by *higher* index first."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    n = len(scores)
    order = np.lexsort((-np.arange(n), -np.asarray(scores)))
    keep = []
    for i in order:
        ok = True
        for k in keep:
            iw = max(0.0, min(boxes[i][2], boxes[k][2]) - max(boxes[i][0], boxes[k][0]))
            ih = max(0.0, min(boxes[i][3], boxes[k][3]) - max(boxes[i][1], boxes[k][1]))
            inter = iw * ih
            union = (
                (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1])
                + (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1])
                - inter
            )
            if union > 0 and inter / union > iou_thresh:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return keep
