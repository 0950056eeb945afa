"""IoU, correct: broadcasting in float32, NaN for two zero-area boxes."""

import numpy as np


def iou(boxes1, boxes2):
    a = np.asarray(boxes1, dtype=np.float32)[:, None, :]
    b = np.asarray(boxes2, dtype=np.float32)[None, :, :]
    wh = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    with np.errstate(invalid="ignore"):
        return inter / (area_a + area_b - inter)
