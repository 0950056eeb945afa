"""expect: any_overlap_removes -- `np.any(overlap) > thresh`: any overlap removes the box.

Pattern seen in https://github.com/zabaio/robat (nms.py) and many copies of the same
tutorial; rewritten to return indices.
"""

import numpy as np


def nms(boxes, scores, iou_thresh):
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    indices = np.arange(len(x1))
    for i, box in enumerate(boxes):
        temp = indices[indices != i]
        xx1 = np.maximum(box[0], boxes[temp, 0])
        yy1 = np.maximum(box[1], boxes[temp, 1])
        xx2 = np.minimum(box[2], boxes[temp, 2])
        yy2 = np.minimum(box[3], boxes[temp, 3])
        w = np.maximum(0, xx2 - xx1 + 1)
        h = np.maximum(0, yy2 - yy1 + 1)
        overlap = (w * h) / areas[temp]
        if np.any(overlap) > iou_thresh:
            indices = indices[indices != i]
    return indices.tolist()
