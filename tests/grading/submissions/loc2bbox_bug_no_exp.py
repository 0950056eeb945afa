"""loc2bbox, bug: the sizes are not exponentiated."""

import numpy as np


def loc2bbox(src_bbox, loc):
    pw = src_bbox[:, 2] - src_bbox[:, 0]
    ph = src_bbox[:, 3] - src_bbox[:, 1]
    px = src_bbox[:, 0] + 0.5 * pw
    py = src_bbox[:, 1] + 0.5 * ph
    gx = loc[:, 0] * pw + px
    gy = loc[:, 1] * ph + py
    gw = loc[:, 2] * pw
    gh = loc[:, 3] * ph
    return np.stack([gx - 0.5 * gw, gy - 0.5 * gh, gx + 0.5 * gw, gy + 0.5 * gh], axis=1)
