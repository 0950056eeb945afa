"""expect: plus_one -- the old +1 pixel convention, in loops."""

import numpy as np


def iou(boxes1, boxes2):
    out = np.zeros((len(boxes1), len(boxes2)))
    for i, a in enumerate(boxes1):
        for j, b in enumerate(boxes2):
            iw = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
            ih = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
            inter = iw * ih
            out[i, j] = inter / (
                (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
                + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
                - inter
            )
    return out
