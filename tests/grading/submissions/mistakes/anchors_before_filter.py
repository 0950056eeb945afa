"""expect: gt_best_all_anchors -- the IoU matrix of every anchor, the GT's best taken before
the outside anchors are dropped."""

import numpy as np


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    h, w = img_size
    label = np.full(len(anchor), -1)
    inside = (anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w) & (anchor[:, 3] <= h)
    if len(bbox) == 0 or len(anchor) == 0:
        label[inside] = 0
        return label
    x1 = np.maximum(anchor[:, None, 0], bbox[None, :, 0])
    y1 = np.maximum(anchor[:, None, 1], bbox[None, :, 1])
    x2 = np.minimum(anchor[:, None, 2], bbox[None, :, 2])
    y2 = np.minimum(anchor[:, None, 3], bbox[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    aa = (anchor[:, 2] - anchor[:, 0]) * (anchor[:, 3] - anchor[:, 1])
    ab = (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1])
    ious = inter / (aa[:, None] + ab[None, :] - inter)
    gt_max = ious.max(axis=0)
    is_best = ((ious == gt_max) & (gt_max > 0)).any(axis=1)
    max_iou = ious.max(axis=1)
    label[inside & (max_iou < neg_thresh)] = 0
    label[inside & is_best] = 1
    label[inside & (max_iou >= pos_thresh)] = 1
    return label
