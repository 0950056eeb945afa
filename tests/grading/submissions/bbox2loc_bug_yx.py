"""bbox2loc, bug: chainercv's y-first order."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    pw = src_bbox[:, 2] - src_bbox[:, 0]
    ph = src_bbox[:, 3] - src_bbox[:, 1]
    px = src_bbox[:, 0] + 0.5 * pw
    py = src_bbox[:, 1] + 0.5 * ph
    gw = dst_bbox[:, 2] - dst_bbox[:, 0]
    gh = dst_bbox[:, 3] - dst_bbox[:, 1]
    gx = dst_bbox[:, 0] + 0.5 * gw
    gy = dst_bbox[:, 1] + 0.5 * gh
    return np.stack([(gy - py) / ph, (gx - px) / pw, np.log(gh / ph), np.log(gw / pw)], axis=1)
