"""expect: plus_one_iou -- py-faster-rcnn's bbox_overlaps, with its "+1" widths."""

import numpy as np


def bbox_overlaps(boxes, query):
    out = np.zeros((len(boxes), len(query)))
    for k in range(len(query)):
        qa = (query[k, 2] - query[k, 0] + 1) * (query[k, 3] - query[k, 1] + 1)
        for n in range(len(boxes)):
            iw = min(boxes[n, 2], query[k, 2]) - max(boxes[n, 0], query[k, 0]) + 1
            if iw > 0:
                ih = min(boxes[n, 3], query[k, 3]) - max(boxes[n, 1], query[k, 1]) + 1
                if ih > 0:
                    ua = (boxes[n, 2] - boxes[n, 0] + 1) * (boxes[n, 3] - boxes[n, 1] + 1)
                    out[n, k] = iw * ih / (ua + qa - iw * ih)
    return out


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    h, w = img_size
    inds = np.where(
        (anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w) & (anchor[:, 3] <= h)
    )[0]
    labels = np.full(len(anchor), -1)
    if len(bbox) == 0:
        labels[inds] = 0
        return labels
    if len(inds) == 0:
        return labels
    ov = bbox_overlaps(anchor[inds], bbox)
    mx = ov.max(axis=1)
    gmx = ov.max(axis=0)
    lab = np.full(len(inds), -1)
    lab[mx < neg_thresh] = 0
    lab[np.where((ov == gmx) & (gmx > 0))[0]] = 1
    lab[mx >= pos_thresh] = 1
    labels[inds] = lab
    return labels
