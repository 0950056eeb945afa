"""expect: full_size -- corners a whole width from the centre."""

import numpy as np


def loc2bbox(src_bbox, loc):
    out = np.zeros_like(src_bbox, dtype=float)
    for i, ((x1, y1, x2, y2), (tx, ty, tw, th)) in enumerate(zip(src_bbox, loc)):
        w, h = x2 - x1, y2 - y1
        cx, cy = x1 + w / 2 + w * tx, y1 + h / 2 + h * ty
        gw, gh = w * np.exp(tw), h * np.exp(th)
        out[i] = [cx - gw, cy - gh, cx + gw, cy + gh]
    return out
