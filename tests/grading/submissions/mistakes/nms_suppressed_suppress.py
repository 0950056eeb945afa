"""expect: suppressed_suppress -- every box, even a removed one, removes the later ones."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    b = boxes[order]
    n = len(b)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    remove = np.zeros(n, dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            iw = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            ih = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            inter = iw * ih
            u = area[i] + area[j] - inter
            if u > 0 and inter / u > iou_thresh:
                remove[j] = True
    return [int(order[i]) for i in range(n) if not remove[i]]
