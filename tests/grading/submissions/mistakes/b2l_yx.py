"""expect: yx_order -- chainercv's (t_y, t_x, t_h, t_w) order."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    h = src_bbox[:, 3] - src_bbox[:, 1]
    w = src_bbox[:, 2] - src_bbox[:, 0]
    cy = src_bbox[:, 1] + 0.5 * h
    cx = src_bbox[:, 0] + 0.5 * w
    bh = dst_bbox[:, 3] - dst_bbox[:, 1]
    bw = dst_bbox[:, 2] - dst_bbox[:, 0]
    by = dst_bbox[:, 1] + 0.5 * bh
    bx = dst_bbox[:, 0] + 0.5 * bw
    return np.vstack(((by - cy) / h, (bx - cx) / w, np.log(bh / h), np.log(bw / w))).T
