"""Independently written implementations of the graded functions (no bboxcore inside).

Written the ways students write them: corners directly with broadcasting,
centre/size first, Python loops over ``np.float32`` scalars; each in float32
(``dt=np.float32``) or float64. The grader must accept every one of them on
every graded case (tests/grading/test_grading_tolerance.py).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


# --------------------------------------------------------------------------- IoU
def iou_corners(a, b, dt=F32):
    a, b = np.asarray(a, dt), np.asarray(b, dt)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def iou_centres(a, b, dt=F32):
    """Through centre/size: cx = (x1 + x2) / 2, w = x2 - x1, corners rebuilt as cx -+ w / 2."""
    a, b = np.asarray(a, dt), np.asarray(b, dt)
    half = dt(0.5)

    def cs(x):
        return (x[:, :2] + x[:, 2:]) * half, x[:, 2:] - x[:, :2]

    (ca, sa), (cb, sb) = cs(a), cs(b)
    lt = np.maximum(ca[:, None] - half * sa[:, None], cb[None] - half * sb[None])
    rb = np.minimum(ca[:, None] + half * sa[:, None], cb[None] + half * sb[None])
    wh = np.maximum(rb - lt, dt(0))
    inter = wh[..., 0] * wh[..., 1]
    union = (sa[:, 0] * sa[:, 1])[:, None] + (sb[:, 0] * sb[:, 1])[None] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def iou_loops(a, b, dt=F32):
    out = np.zeros((len(a), len(b)), dtype=dt)
    for i in range(len(a)):
        ax1, ay1, ax2, ay2 = (dt(v) for v in a[i])
        for j in range(len(b)):
            bx1, by1, bx2, by2 = (dt(v) for v in b[j])
            iw = max(dt(0), min(ax2, bx2) - max(ax1, bx1))
            ih = max(dt(0), min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else dt(0)
    return out


# --------------------------------------------------------------------------- bbox2loc
def b2l_centres(src, dst, dt=F32):
    s, d = np.asarray(src, dt), np.asarray(dst, dt)
    pw, ph = s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]
    px, py = s[:, 0] + dt(0.5) * pw, s[:, 1] + dt(0.5) * ph
    gw, gh = d[:, 2] - d[:, 0], d[:, 3] - d[:, 1]
    gx, gy = d[:, 0] + dt(0.5) * gw, d[:, 1] + dt(0.5) * gh
    return np.stack([(gx - px) / pw, (gy - py) / ph, np.log(gw / pw), np.log(gh / ph)], axis=1)


def b2l_sums(src, dst, dt=F32):
    """Centres as (x1 + x2) / 2, sizes as log differences."""
    s, d = np.asarray(src, dt), np.asarray(dst, dt)
    p_ctr, g_ctr = (s[:, :2] + s[:, 2:]) / dt(2), (d[:, :2] + d[:, 2:]) / dt(2)
    p_wh, g_wh = s[:, 2:] - s[:, :2], d[:, 2:] - d[:, :2]
    return np.concatenate([(g_ctr - p_ctr) / p_wh, np.log(g_wh) - np.log(p_wh)], axis=1)


def b2l_loops(src, dst, dt=F32):
    out = np.zeros((len(src), 4), dtype=dt)
    for i in range(len(src)):
        x1, y1, x2, y2 = (dt(v) for v in src[i])
        u1, v1, u2, v2 = (dt(v) for v in dst[i])
        pw, ph, gw, gh = x2 - x1, y2 - y1, u2 - u1, v2 - v1
        out[i] = [
            ((u1 + gw / 2) - (x1 + pw / 2)) / pw,
            ((v1 + gh / 2) - (y1 + ph / 2)) / ph,
            np.log(gw / pw),
            np.log(gh / ph),
        ]
    return out


# --------------------------------------------------------------------------- loc2bbox
def l2b_centres(src, loc, dt=F32):
    s, t = np.asarray(src, dt), np.asarray(loc, dt)
    w, h = s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]
    cx, cy = s[:, 0] + dt(0.5) * w, s[:, 1] + dt(0.5) * h
    gx, gy = w * t[:, 0] + cx, h * t[:, 1] + cy
    gw, gh = w * np.exp(t[:, 2]), h * np.exp(t[:, 3])
    half = dt(0.5)
    return np.stack([gx - half * gw, gy - half * gh, gx + half * gw, gy + half * gh], axis=1)


def l2b_corners(src, loc, dt=F32):
    """Corners directly: x_min = x1 + w (t_x + (1 - e^t_w) / 2)."""
    s, t = np.asarray(src, dt), np.asarray(loc, dt)
    wh = s[:, 2:] - s[:, :2]
    grow = np.exp(t[:, 2:])
    lo = s[:, :2] + wh * (t[:, :2] + (dt(1) - grow) / dt(2))
    hi = s[:, 2:] + wh * (t[:, :2] + (grow - dt(1)) / dt(2))
    return np.concatenate([lo, hi], axis=1)


def l2b_loops(src, loc, dt=F32):
    out = np.zeros((len(src), 4), dtype=dt)
    for i in range(len(src)):
        x1, y1, x2, y2 = (dt(v) for v in src[i])
        tx, ty, tw, th = (dt(v) for v in loc[i])
        w, h = x2 - x1, y2 - y1
        gx, gy = x1 + w / 2 + w * tx, y1 + h / 2 + h * ty
        gw, gh = w * np.exp(tw), h * np.exp(th)
        out[i] = [gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2]
    return out


# --------------------------------------------------------------------------- NMS, Soft-NMS
def nms_greedy(boxes, scores, iou_thresh, dt=F32):
    iou = iou_corners(boxes, boxes, dt)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep, removed = [], np.zeros(len(order), bool)
    for i in order:
        if removed[i]:
            continue
        keep.append(int(i))
        removed |= iou[i] > dt(iou_thresh)
    return keep


def soft_nms_loop(boxes, scores, iou_thresh, sigma, score_thresh, method, dt=F32):
    """Bodla et al.'s Algorithm 1: take the best box, decay the others, scores in ``dt``."""
    iou = iou_corners(boxes, boxes, dt)
    s = np.asarray(scores, dt).copy()
    left = np.flatnonzero(s > dt(score_thresh))
    keep, kept = [], []
    while left.size:
        m = int(left[np.argmax(s[left])])
        keep.append(m)
        kept.append(float(s[m]))
        left = left[left != m]
        v = iou[m, left]
        if method == "linear":
            f = np.where(v > dt(iou_thresh), dt(1) - v, dt(1))
        else:
            f = np.exp(-(v * v) / dt(sigma))
        s[left] = s[left] * f.astype(dt)
        left = left[s[left] > dt(score_thresh)]
    return keep, kept
