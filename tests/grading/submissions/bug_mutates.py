"""Bug: right answer, but it reorders the caller's boxes and scores in place."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    boxes[:] = boxes[order]
    scores[:] = scores[order]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    alive = np.ones(len(scores), dtype=bool)
    keep = []
    for p in range(len(scores)):
        if not alive[p]:
            continue
        keep.append(int(order[p]))
        iw = np.clip(
            np.minimum(boxes[p, 2], boxes[:, 2]) - np.maximum(boxes[p, 0], boxes[:, 0]), 0, None
        )
        ih = np.clip(
            np.minimum(boxes[p, 3], boxes[:, 3]) - np.maximum(boxes[p, 1], boxes[:, 1]), 0, None
        )
        inter = iw * ih
        union = area[p] + area - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        alive[p + 1 :] &= iou[p + 1 :] <= iou_thresh
    return keep
