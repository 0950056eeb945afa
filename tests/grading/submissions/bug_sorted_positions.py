"""Bug: sorts the boxes, then returns positions in the sorted order."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    b = boxes[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    for p in range(len(b)):
        if suppressed[p]:
            continue
        keep.append(p)
        iw = np.clip(np.minimum(b[p, 2], b[:, 2]) - np.maximum(b[p, 0], b[:, 0]), 0, None)
        ih = np.clip(np.minimum(b[p, 3], b[:, 3]) - np.maximum(b[p, 1], b[:, 1]), 0, None)
        inter = iw * ih
        with np.errstate(invalid="ignore"):
            iou = inter / (area[p] + area - inter)
        suppressed[p + 1 :] |= iou[p + 1 :] > iou_thresh
    return keep
