"""expect: returns_centres -- returns (g_x, g_y, g_w, g_h)."""

import numpy as np


def loc2bbox(src_bbox, loc):
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    return np.concatenate([ctr, wh * np.exp(loc[:, 2:])], axis=1)
