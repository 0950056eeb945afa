"""expect: centre_half_width -- the centre as (x_max - x_min) / 2."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    p_wh = src_bbox[:, 2:] - src_bbox[:, :2]
    g_wh = dst_bbox[:, 2:] - dst_bbox[:, :2]
    p_ctr, g_ctr = p_wh / 2, g_wh / 2
    return np.concatenate([(g_ctr - p_ctr) / p_wh, np.log(g_wh / p_wh)], axis=1)
