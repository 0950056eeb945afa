"""expect: hard -- removes the overlapping boxes (that is NMS)."""


def soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method):
    s = scores.astype(float).copy()
    idx = [i for i in range(len(s)) if s[i] > score_thresh]
    keep, kept = [], []
    while idx:
        m = max(idx, key=lambda i: s[i])
        keep.append(m)
        kept.append(s[m])
        idx.remove(m)
        rest = []
        for i in idx:
            a, b = boxes[m], boxes[i]
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            iou = inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
            if iou <= iou_thresh:
                rest.append(i)
        idx = rest
    return keep, kept
