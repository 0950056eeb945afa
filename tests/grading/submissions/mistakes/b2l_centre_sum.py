"""expect: centre_no_half -- the centre as x_min + x_max."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    p_ctr = src_bbox[:, :2] + src_bbox[:, 2:]
    g_ctr = dst_bbox[:, :2] + dst_bbox[:, 2:]
    p_wh = src_bbox[:, 2:] - src_bbox[:, :2]
    g_wh = dst_bbox[:, 2:] - dst_bbox[:, :2]
    return np.concatenate([(g_ctr - p_ctr) / p_wh, np.log(g_wh / p_wh)], axis=1)
