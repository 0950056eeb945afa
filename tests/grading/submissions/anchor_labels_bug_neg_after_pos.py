"""The negatives written after the positives: a GT's best anchor with a low IoU turns 0."""

import numpy as np


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    h, w = img_size
    label = np.full(len(anchor), -1)
    inside = np.where(
        (anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w) & (anchor[:, 3] <= h)
    )[0]
    if len(bbox) == 0:
        label[inside] = 0
        return label
    if len(inside) == 0:
        return label
    a = anchor[inside]
    lt = np.maximum(a[:, None, :2], bbox[None, :, :2])
    rb = np.minimum(a[:, None, 2:], bbox[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    ious = inter / (area(a)[:, None] + area(bbox)[None, :] - inter)
    max_ious = ious.max(axis=1)
    gt_max_ious = ious.max(axis=0)
    gt_argmax_ious = np.where((ious == gt_max_ious) & (gt_max_ious > 0))[0]
    lab = np.full(len(inside), -1)
    lab[gt_argmax_ious] = 1
    lab[max_ious >= pos_thresh] = 1
    lab[max_ious < neg_thresh] = 0
    label[inside] = lab
    return label
