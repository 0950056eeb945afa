"""expect: std_scaled -- multiplies loc by the target stds first."""

import numpy as np


def loc2bbox(src_bbox, loc):
    loc = loc * np.array([0.1, 0.1, 0.2, 0.2])
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    size = wh * np.exp(loc[:, 2:])
    return np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)
