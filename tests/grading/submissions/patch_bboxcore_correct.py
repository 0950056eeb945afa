"""Correct, and it patches bboxcore to return garbage: the verdict must not change."""

import importlib

import numpy as np

try:
    import bboxcore

    nms_module = importlib.import_module("bboxcore.nms")
    garbage = lambda *args, **kwargs: np.array([0])  # noqa: E731
    nms_module.nms = nms_module.nms_reference = bboxcore.nms = garbage
    importlib.import_module("bboxcore.iou").box_iou = lambda a, b: np.ones((len(a), len(b)))
except ImportError:
    pass


def nms(boxes, scores, iou_thresh):
    order = list(np.argsort(-np.asarray(scores), kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.array(order, dtype=np.int64)
        if rest.size == 0:
            break
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
        area_i = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
        area_r = (boxes[rest, 2] - boxes[rest, 0]) * (boxes[rest, 3] - boxes[rest, 1])
        union = area_i + area_r - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = [int(j) for j, v in zip(rest, iou) if v <= iou_thresh]
    return keep
