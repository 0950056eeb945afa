"""expect: swap_scan -- input order, overlapping boxes swapped, every overlapped box dropped.

Pattern seen in https://github.com/Swall0w/clib (clib/utils/nms.py); rewritten for indices.
"""


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, scores, iou_thresh):
    idx = list(range(len(scores)))
    out = []
    for i in range(len(idx)):
        overlapped = False
        for j in range(i + 1, len(idx)):
            if iou(boxes[idx[i]], boxes[idx[j]]) > iou_thresh:
                overlapped = True
                if scores[idx[i]] > scores[idx[j]]:
                    idx[i], idx[j] = idx[j], idx[i]
        if not overlapped:
            out.append(idx[i])
    return out
