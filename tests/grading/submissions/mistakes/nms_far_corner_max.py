"""expect: far_corner_max -- the far corner of the intersection taken with np.maximum.

Pattern seen in https://github.com/ZQPei/faster_rcnn (faster_rcnn/network/nms/nms_cpu_np.py,
its first NMS); written here again in the vectorised py_cpu_nms style.
"""

import numpy as np


def nms(boxes, scores, iou_thresh):
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.maximum(x2[i], x2[order[1:]])
        yy2 = np.maximum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1)
        h = np.maximum(0.0, yy2 - yy1)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            ovr = inter / (areas[i] + areas[order[1:]] - inter)
        inds = np.where(~(ovr > iou_thresh))[0]
        order = order[inds + 1]
    return keep
