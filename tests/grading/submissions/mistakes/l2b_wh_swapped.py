"""expect: wh_swapped -- t_x scaled by the height, t_y by the width."""

import numpy as np


def loc2bbox(src_bbox, loc):
    w = src_bbox[:, 2] - src_bbox[:, 0]
    h = src_bbox[:, 3] - src_bbox[:, 1]
    cx = src_bbox[:, 0] + w / 2 + h * loc[:, 0]
    cy = src_bbox[:, 1] + h / 2 + w * loc[:, 1]
    gw, gh = w * np.exp(loc[:, 2]), h * np.exp(loc[:, 3])
    return np.stack([cx - gw / 2, cy - gh / 2, cx + gw / 2, cy + gh / 2], axis=1)
