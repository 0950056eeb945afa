"""expect: plus_one -- py-faster-rcnn's bbox_transform, with its +1."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    ex_widths = src_bbox[:, 2] - src_bbox[:, 0] + 1.0
    ex_heights = src_bbox[:, 3] - src_bbox[:, 1] + 1.0
    ex_ctr_x = src_bbox[:, 0] + 0.5 * ex_widths
    ex_ctr_y = src_bbox[:, 1] + 0.5 * ex_heights
    gt_widths = dst_bbox[:, 2] - dst_bbox[:, 0] + 1.0
    gt_heights = dst_bbox[:, 3] - dst_bbox[:, 1] + 1.0
    gt_ctr_x = dst_bbox[:, 0] + 0.5 * gt_widths
    gt_ctr_y = dst_bbox[:, 1] + 0.5 * gt_heights
    dx = (gt_ctr_x - ex_ctr_x) / ex_widths
    dy = (gt_ctr_y - ex_ctr_y) / ex_heights
    dw = np.log(gt_widths / ex_widths)
    dh = np.log(gt_heights / ex_heights)
    return np.vstack((dx, dy, dw, dh)).transpose()
