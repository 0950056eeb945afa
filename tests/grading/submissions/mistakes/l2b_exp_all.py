"""expect: exp_all -- np.exp applied to the whole loc."""

import numpy as np


def loc2bbox(src_bbox, loc):
    e = np.exp(loc)
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * e[:, :2]
    size = wh * e[:, 2:]
    return np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)
