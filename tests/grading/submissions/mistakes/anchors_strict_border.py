"""expect: inside_strict -- `> 0` and `< W`: anchors touching the border are thrown out."""

import numpy as np


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    height, width = img_size
    keep = np.where(
        (anchor[:, 0] > 0) & (anchor[:, 1] > 0) & (anchor[:, 2] < width) & (anchor[:, 3] < height)
    )[0]
    out = np.full(len(anchor), -1)
    if len(keep) == 0:
        return out
    if len(bbox) == 0:
        out[keep] = 0
        return out
    a = anchor[keep]
    lt = np.maximum(a[:, None, :2], bbox[None, :, :2])
    rb = np.minimum(a[:, None, 2:], bbox[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    iou = inter / (area(a)[:, None] + area(bbox)[None, :] - inter)
    m = iou.max(axis=1)
    g = iou.max(axis=0)
    lab = np.full(len(keep), -1)
    lab[m < neg_thresh] = 0
    lab[np.where((iou == g) & (g > 0))[0]] = 1
    lab[m >= pos_thresh] = 1
    out[keep] = lab
    return out
