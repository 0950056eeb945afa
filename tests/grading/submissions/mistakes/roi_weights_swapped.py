"""expect: weights_swapped -- the lower cell weighted by the distance to it, not from it."""

import numpy as np


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    c, h, w = features.shape
    ph, pw = output_size
    g = sampling_ratio
    out = np.zeros((len(rois), c, ph, pw))
    for r, (x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * spatial_scale - 0.5, y1 * spatial_scale - 0.5
        bw = (x2 - x1) * spatial_scale / pw
        bh = (y2 - y1) * spatial_scale / ph
        for i in range(ph):
            for j in range(pw):
                acc = np.zeros(c)
                for a in range(g):
                    for b in range(g):
                        y = sy + i * bh + (a + 0.5) * bh / g
                        x = sx + j * bw + (b + 0.5) * bw / g
                        if y < -1 or y > h or x < -1 or x > w:
                            continue
                        y, x = np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)
                        y0, x0 = int(y), int(x)
                        y1_, x1_ = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                        fy, fx = y - y0, x - x0
                        acc += fy * fx * features[:, y0, x0] + fy * (1 - fx) * features[:, y0, x1_]
                        acc += (1 - fy) * fx * features[:, y1_, x0]
                        acc += (1 - fy) * (1 - fx) * features[:, y1_, x1_]
                out[r, :, i, j] = acc / (g * g)
    return out
