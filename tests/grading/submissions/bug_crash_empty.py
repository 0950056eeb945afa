"""Bug: takes the first box before checking that there is one."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = list(np.argsort(-scores, kind="stable"))
    keep = [int(order.pop(0))]
    while True:
        last = boxes[keep[-1]]
        survivors = []
        for j in order:
            b = boxes[j]
            iw = max(0.0, min(last[2], b[2]) - max(last[0], b[0]))
            ih = max(0.0, min(last[3], b[3]) - max(last[1], b[1]))
            inter = iw * ih
            union = (last[2] - last[0]) * (last[3] - last[1]) + (b[2] - b[0]) * (b[3] - b[1])
            union -= inter
            if union <= 0 or inter / union <= iou_thresh:
                survivors.append(j)
        if not survivors:
            return keep
        keep.append(int(survivors[0]))
        order = survivors[1:]
