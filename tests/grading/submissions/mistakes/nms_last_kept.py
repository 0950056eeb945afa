"""expect: last_kept_only -- compares with the previous kept box only."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for j in order:
        if keep:
            i = keep[-1]
            iw = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            ih = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = iw * ih
            u = (
                (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
                + (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
                - inter
            )
            if u > 0 and inter / u > iou_thresh:
                continue
        keep.append(int(j))
    return keep
