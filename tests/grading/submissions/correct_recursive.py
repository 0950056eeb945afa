"""Correct: recursive, one level per kept box."""

import numpy as np


def _iou(box, others):
    iw = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _nms(boxes, order, iou_thresh):
    if len(order) == 0:
        return []
    top, rest = order[0], order[1:]
    survivors = rest[_iou(boxes[top], boxes[rest]) <= iou_thresh]
    return [int(top)] + _nms(boxes, survivors, iou_thresh)


def nms(boxes, scores, iou_thresh):
    return _nms(np.asarray(boxes), np.argsort(-np.asarray(scores), kind="stable"), iou_thresh)
