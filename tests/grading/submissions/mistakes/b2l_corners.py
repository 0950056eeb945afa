"""expect: corners -- shifts of the top-left corners instead of the centres."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    pw, ph = src_bbox[:, 2] - src_bbox[:, 0], src_bbox[:, 3] - src_bbox[:, 1]
    gw, gh = dst_bbox[:, 2] - dst_bbox[:, 0], dst_bbox[:, 3] - dst_bbox[:, 1]
    tx = (dst_bbox[:, 0] - src_bbox[:, 0]) / pw
    ty = (dst_bbox[:, 1] - src_bbox[:, 1]) / ph
    return np.stack([tx, ty, np.log(gw / pw), np.log(gh / ph)], axis=1)
