"""expect: union_no_minus_inter -- the union is the sum of the areas."""

import numpy as np


def iou(boxes1, boxes2):
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    a1 = np.prod(boxes1[:, 2:] - boxes1[:, :2], axis=1)
    a2 = np.prod(boxes2[:, 2:] - boxes2[:, :2], axis=1)
    with np.errstate(all="ignore"):
        return inter / (a1[:, None] + a2[None, :])
