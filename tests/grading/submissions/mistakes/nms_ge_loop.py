"""expect: greater_equal -- a loop that removes at IoU >= threshold."""


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, scores, iou_thresh):
    idx = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    keep = []
    while idx:
        cur = idx.pop(0)
        keep.append(cur)
        idx = [j for j in idx if iou(boxes[cur], boxes[j]) < iou_thresh]
    return keep
