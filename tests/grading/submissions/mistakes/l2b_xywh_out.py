"""expect: returns_xywh -- returns (x_min, y_min, w, h)."""

import numpy as np


def loc2bbox(src_bbox, loc):
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    size = wh * np.exp(loc[:, 2:])
    return np.concatenate([ctr - size / 2, size], axis=1)
