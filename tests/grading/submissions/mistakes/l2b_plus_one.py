"""expect: plus_one -- py-faster-rcnn's bbox_transform_inv with its +1 widths."""

import numpy as np


def loc2bbox(src_bbox, loc):
    widths = src_bbox[:, 2] - src_bbox[:, 0] + 1.0
    heights = src_bbox[:, 3] - src_bbox[:, 1] + 1.0
    ctr_x = src_bbox[:, 0] + 0.5 * widths
    ctr_y = src_bbox[:, 1] + 0.5 * heights
    pred_ctr_x = loc[:, 0] * widths + ctr_x
    pred_ctr_y = loc[:, 1] * heights + ctr_y
    pred_w = np.exp(loc[:, 2]) * widths
    pred_h = np.exp(loc[:, 3]) * heights
    return np.stack(
        [
            pred_ctr_x - 0.5 * pred_w,
            pred_ctr_y - 0.5 * pred_h,
            pred_ctr_x + 0.5 * pred_w,
            pred_ctr_y + 0.5 * pred_h,
        ],
        axis=1,
    )
