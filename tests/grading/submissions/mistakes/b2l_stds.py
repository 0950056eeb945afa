"""expect: std_normalised -- divides by Faster R-CNN's target stds."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    p_wh = src_bbox[:, 2:] - src_bbox[:, :2]
    g_wh = dst_bbox[:, 2:] - dst_bbox[:, :2]
    p_ctr = src_bbox[:, :2] + p_wh / 2
    g_ctr = dst_bbox[:, :2] + g_wh / 2
    loc = np.concatenate([(g_ctr - p_ctr) / p_wh, np.log(g_wh / p_wh)], axis=1)
    return loc / np.array([0.1, 0.1, 0.2, 0.2])
