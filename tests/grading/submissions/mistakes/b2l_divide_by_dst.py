"""expect: divide_by_dst -- normalises the shift by the target's size."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    pw, ph = src_bbox[:, 2] - src_bbox[:, 0], src_bbox[:, 3] - src_bbox[:, 1]
    gw, gh = dst_bbox[:, 2] - dst_bbox[:, 0], dst_bbox[:, 3] - dst_bbox[:, 1]
    px, py = src_bbox[:, 0] + pw / 2, src_bbox[:, 1] + ph / 2
    gx, gy = dst_bbox[:, 0] + gw / 2, dst_bbox[:, 1] + gh / 2
    return np.stack([(gx - px) / gw, (gy - py) / gh, np.log(gw / pw), np.log(gh / ph)], axis=1)
