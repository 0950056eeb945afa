"""expect: swapped_args -- encodes src relative to dst."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    a, g = dst_bbox, src_bbox
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    ax, ay = a[:, 0] + aw / 2, a[:, 1] + ah / 2
    gx, gy = g[:, 0] + gw / 2, g[:, 1] + gh / 2
    return np.stack([(gx - ax) / aw, (gy - ay) / ah, np.log(gw / aw), np.log(gh / ah)], axis=1)
