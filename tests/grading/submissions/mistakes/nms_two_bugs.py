"""expect: none -- two mistakes at once (no sort, and +1 areas): no single catalogued one."""


def nms(boxes, scores, iou_thresh):
    keep = []
    for i in range(len(boxes)):
        ok = True
        for k in keep:
            a, b = boxes[i], boxes[k]
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
            inter = iw * ih
            u = (
                (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
                + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
                - inter
            )
            if inter / u > iou_thresh:
                ok = False
        if ok:
            keep.append(i)
    return keep
