"""expect: yx_order -- chainercv's loc2bbox, (t_y, t_x, t_h, t_w) order."""

import numpy as np


def loc2bbox(src_bbox, loc):
    src_height = src_bbox[:, 3] - src_bbox[:, 1]
    src_width = src_bbox[:, 2] - src_bbox[:, 0]
    src_ctr_y = src_bbox[:, 1] + 0.5 * src_height
    src_ctr_x = src_bbox[:, 0] + 0.5 * src_width
    dy, dx, dh, dw = loc[:, 0], loc[:, 1], loc[:, 2], loc[:, 3]
    ctr_y = dy * src_height + src_ctr_y
    ctr_x = dx * src_width + src_ctr_x
    h = np.exp(dh) * src_height
    w = np.exp(dw) * src_width
    return np.stack([ctr_x - 0.5 * w, ctr_y - 0.5 * h, ctr_x + 0.5 * w, ctr_y + 0.5 * h], axis=1)
