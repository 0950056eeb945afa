"""expect: sorted_positions -- returns positions in the sorted arrays."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    b = boxes[order]
    keep = []
    for j in range(len(b)):
        ok = True
        for i in keep:
            iw = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            ih = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            inter = iw * ih
            u = (
                (b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1])
                + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1])
                - inter
            )
            if u > 0 and inter / u > iou_thresh:
                ok = False
                break
        if ok:
            keep.append(j)
    return keep
