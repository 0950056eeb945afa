"""expect: no_ignore -- the inside labels start at 0: the ignore band becomes background."""


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    i = w * h
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)


def anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh):
    H, W = img_size
    labels = []
    inside = [
        k for k, a in enumerate(anchor) if a[0] >= 0 and a[1] >= 0 and a[2] <= W and a[3] <= H
    ]
    table = {k: [iou(anchor[k], g) for g in bbox] for k in inside}
    best = [max((table[k][g] for k in inside), default=0.0) for g in range(len(bbox))]
    for k in range(len(anchor)):
        if k not in table:
            labels.append(-1)
            continue
        lab = 0
        if any(table[k][g] == best[g] and best[g] > 0 for g in range(len(bbox))):
            lab = 1
        if table[k] and max(table[k]) >= pos_thresh:
            lab = 1
        labels.append(lab)
    return labels
