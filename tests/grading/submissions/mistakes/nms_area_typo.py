"""expect: area_height_typo -- areas = (x2 - x1 + 1) * (y2 - y2 + 1), a typo for y2 - y1.

Pattern seen in https://github.com/smallsunsun1/Cascade-RCNN (test/test_py_nms.py) and
its copies; the rest is py-faster-rcnn's loop with its "+1".
"""

import numpy as np


def nms(boxes, scores, iou_thresh):
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y2 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            ovr = inter / (areas[i] + areas[order[1:]] - inter)
        inds = np.where(~(ovr > iou_thresh))[0]
        order = order[inds + 1]
    return keep
