"""Bug: a correct function, but the file's own test calls sys.exit() when imported."""

import sys

import numpy as np


def nms(boxes, scores, iou_thresh):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]),
            0,
            None,
        )
        ih = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]),
            0,
            None,
        )
        inter = iw * ih
        union = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
        union = (
            union + (boxes[rest, 2] - boxes[rest, 0]) * (boxes[rest, 3] - boxes[rest, 1]) - inter
        )
        order = rest[~(inter > iou_thresh * union)]
    return keep


def main():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], dtype=float)
    print("my test:", nms(boxes, np.array([0.9, 0.8]), 0.5))
    return 0


sys.exit(main())
