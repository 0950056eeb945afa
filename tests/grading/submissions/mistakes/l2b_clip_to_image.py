"""expect: none -- clips the decoded boxes at 0 (an image border the contract does not have)."""

import numpy as np


def loc2bbox(src_bbox, loc):
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    size = wh * np.exp(loc[:, 2:])
    return np.clip(np.concatenate([ctr - size / 2, ctr + size / 2], axis=1), 0, None)
