"""Soft-NMS, bug: takes the boxes in their initial score order (no re-ranking)."""

import math


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method):
    s = [float(v) for v in scores]
    order = sorted(range(len(s)), key=lambda i: -s[i])
    keep, kept = [], []
    for p, m in enumerate(order):
        if s[m] <= score_thresh:
            continue
        keep.append(m)
        kept.append(s[m])
        for i in order[p + 1 :]:
            o = _iou(boxes[m], boxes[i])
            if method == "gaussian":
                s[i] *= math.exp(-o * o / sigma)
            elif o > iou_thresh:
                s[i] *= 1.0 - o
    return keep, kept
