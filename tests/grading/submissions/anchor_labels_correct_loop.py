"""Correct anchor labels, written as a student would: loops over anchors and GT boxes."""

import numpy as np


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    height, width = img_size
    labels = [-1] * len(anchor)
    inside = [
        i
        for i, a in enumerate(anchor)
        if a[0] >= 0 and a[1] >= 0 and a[2] <= width and a[3] <= height
    ]
    if len(bbox) == 0:
        for i in inside:
            labels[i] = 0
        return np.array(labels)
    ious = {i: [iou(anchor[i], g) for g in bbox] for i in inside}
    for i in inside:
        if max(ious[i]) < neg_thresh:
            labels[i] = 0
    for g in range(len(bbox)):
        best = max((ious[i][g] for i in inside), default=0.0)
        if best > 0:
            for i in inside:
                if ious[i][g] == best:
                    labels[i] = 1
    for i in inside:
        if max(ious[i]) >= pos_thresh:
            labels[i] = 1
    return np.array(labels)
