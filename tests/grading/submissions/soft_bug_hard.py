"""Soft-NMS, bug: plain hard NMS (removes instead of decaying)."""


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method):
    order = sorted(
        (i for i in range(len(scores)) if scores[i] > score_thresh), key=lambda i: -scores[i]
    )
    keep = []
    for i in order:
        if all(_iou(boxes[k], boxes[i]) <= iou_thresh for k in keep):
            keep.append(i)
    return keep, [float(scores[i]) for i in keep]
