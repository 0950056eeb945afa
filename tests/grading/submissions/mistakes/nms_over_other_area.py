"""expect: iou_over_candidate -- divides by the other box's area."""

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.maximum(
            0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])
        )
        h = np.maximum(
            0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            ov = w * h / area[rest]
        order = rest[~(ov > iou_thresh)]
    return keep
