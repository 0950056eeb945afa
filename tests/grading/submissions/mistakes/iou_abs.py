"""expect: abs_overlap -- abs() instead of a clip."""

import numpy as np


def iou(boxes1, boxes2):
    iw = np.abs(
        np.minimum(boxes1[:, None, 2], boxes2[None, :, 2])
        - np.maximum(boxes1[:, None, 0], boxes2[None, :, 0])
    )
    ih = np.abs(
        np.minimum(boxes1[:, None, 3], boxes2[None, :, 3])
        - np.maximum(boxes1[:, None, 1], boxes2[None, :, 1])
    )
    inter = iw * ih
    a1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    a2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    with np.errstate(all="ignore"):
        return inter / (a1[:, None] + a2[None, :] - inter)
