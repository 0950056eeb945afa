"""expect: no_sort -- forgets to sort by score."""


def nms(boxes, scores, iou_thresh):
    keep = []
    for i in range(len(boxes)):
        ok = True
        for k in keep:
            a, b = boxes[i], boxes[k]
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if u > 0 and inter / u > iou_thresh:
                ok = False
        if ok:
            keep.append(i)
    return keep
