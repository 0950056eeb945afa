"""expect: thresh_initial_only -- drops only on the initial scores."""

import numpy as np


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter)


def soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method):
    s = np.array(scores, dtype=float)
    idx = [i for i in range(len(s)) if s[i] > score_thresh]
    keep, kept = [], []
    while idx:
        m = max(idx, key=lambda i: s[i])
        keep.append(m)
        kept.append(s[m])
        idx.remove(m)
        for i in idx:
            iou = _iou(boxes[m], boxes[i])
            if method == "linear":
                if iou > iou_thresh:
                    s[i] *= 1 - iou
            else:
                s[i] *= np.exp(-(iou * iou) / sigma)
        pass
    return keep, kept
