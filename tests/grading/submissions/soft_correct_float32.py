"""Soft-NMS, correct: vectorised in float32, returns NumPy arrays."""

import numpy as np


def soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method):
    b = np.asarray(boxes, dtype=np.float32)
    s = np.asarray(scores, dtype=np.float32).copy()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    idx = np.flatnonzero(s > score_thresh)
    keep, kept = [], []
    while idx.size:
        m = idx[np.argmax(s[idx])]
        keep.append(int(m))
        kept.append(s[m])
        idx = idx[idx != m]
        iw = np.clip(np.minimum(b[m, 2], b[idx, 2]) - np.maximum(b[m, 0], b[idx, 0]), 0, None)
        ih = np.clip(np.minimum(b[m, 3], b[idx, 3]) - np.maximum(b[m, 1], b[idx, 1]), 0, None)
        inter = iw * ih
        iou = inter / (area[m] + area[idx] - inter)
        if method == "gaussian":
            s[idx] *= np.exp(-(iou**2) / np.float32(sigma))
        else:
            s[idx] *= np.where(iou > iou_thresh, 1 - iou, np.float32(1))
        idx = idx[s[idx] > score_thresh]
    return np.array(keep, dtype=np.int64), np.array(kept, dtype=np.float32)
