"""expect: no_exp -- multiplies by t_w directly."""

import numpy as np


def loc2bbox(src_bbox, loc):
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    size = wh * loc[:, 2:]
    return np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)
