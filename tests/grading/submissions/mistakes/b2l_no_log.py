"""expect: no_log -- the size ratio without the log."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    pw, ph = src_bbox[:, 2] - src_bbox[:, 0], src_bbox[:, 3] - src_bbox[:, 1]
    gw, gh = dst_bbox[:, 2] - dst_bbox[:, 0], dst_bbox[:, 3] - dst_bbox[:, 1]
    px, py = (src_bbox[:, 0] + src_bbox[:, 2]) / 2, (src_bbox[:, 1] + src_bbox[:, 3]) / 2
    gx, gy = (dst_bbox[:, 0] + dst_bbox[:, 2]) / 2, (dst_bbox[:, 1] + dst_bbox[:, 3]) / 2
    return np.stack([(gx - px) / pw, (gy - py) / ph, gw / pw, gh / ph], axis=1)
