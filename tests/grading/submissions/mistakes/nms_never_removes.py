"""expect: never_removes -- the taken box is never kept and no candidate is ever removed.

Pattern seen in https://github.com/sarisamardani/yolo (nms.py); rewritten for (N, 4) boxes.
"""


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else float("nan")


def nms(boxes, scores, iou_thresh):
    todo = sorted(range(len(scores)), key=lambda k: scores[k], reverse=True)
    result = []
    while todo:
        first = todo.pop(0)
        for k in todo:
            if iou(boxes[first], boxes[k]) < iou_thresh:
                if k not in result:
                    result.append(k)
    return result
