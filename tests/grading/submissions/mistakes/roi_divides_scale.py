"""expect: divide_scale -- the RoI divided by spatial_scale (taken for the stride)."""

import numpy as np


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    c, h, w = features.shape
    ph, pw = output_size
    g = sampling_ratio
    boxes = np.asarray(rois, dtype=float) / spatial_scale - 0.5
    out = np.zeros((len(boxes), c, ph, pw))
    for r, (x1, y1, x2, y2) in enumerate(boxes):
        ys = y1 + (np.arange(ph * g) + 0.5) * (y2 - y1) / (ph * g)
        xs = x1 + (np.arange(pw * g) + 0.5) * (x2 - x1) / (pw * g)
        vals = np.zeros((c, ph * g, pw * g))
        for a, y in enumerate(ys):
            for b, x in enumerate(xs):
                if y < -1 or y > h or x < -1 or x > w:
                    continue
                y, x = min(max(y, 0), h - 1), min(max(x, 0), w - 1)
                y0, x0 = int(y), int(x)
                y1_, x1_ = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                ly, lx = y - y0, x - x0
                vals[:, a, b] = (1 - ly) * (
                    (1 - lx) * features[:, y0, x0] + lx * features[:, y0, x1_]
                ) + ly * ((1 - lx) * features[:, y1_, x0] + lx * features[:, y1_, x1_])
        out[r] = vals.reshape(c, ph, g, pw, g).mean(axis=(2, 4))
    return out
