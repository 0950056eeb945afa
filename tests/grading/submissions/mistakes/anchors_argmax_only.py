"""expect: gt_best_argmax_only -- each GT's best anchor by argmax: one of tied anchors only."""

import numpy as np


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    h, w = img_size
    index_inside = np.where(
        (anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w) & (anchor[:, 3] <= h)
    )[0]
    label = -np.ones(len(anchor), dtype=np.int32)
    if len(index_inside) == 0:
        return label
    if len(bbox) == 0:
        label[index_inside] = 0
        return label
    a = anchor[index_inside]
    tl = np.maximum(a[:, None, :2], bbox[:, :2])
    br = np.minimum(a[:, None, 2:], bbox[:, 2:])
    area_i = np.prod(br - tl, axis=2) * (tl < br).all(axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(bbox[:, 2:] - bbox[:, :2], axis=1)
    ious = area_i / (area_a[:, None] + area_b - area_i)
    max_ious = ious.max(axis=1)
    gt_argmax_ious = ious.argmax(axis=0)
    gt_argmax_ious = gt_argmax_ious[ious.max(axis=0) > 0]
    lab = -np.ones(len(index_inside), dtype=np.int32)
    lab[max_ious < neg_thresh] = 0
    lab[gt_argmax_ious] = 1
    lab[max_ious >= pos_thresh] = 1
    label[index_inside] = lab
    return label
