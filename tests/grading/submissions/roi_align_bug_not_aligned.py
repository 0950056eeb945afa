"""RoI Align without the half-pixel offset (the corners are not shifted by -0.5)."""

import numpy as np


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    c, h, w = features.shape
    ph, pw = output_size
    g = sampling_ratio
    out = np.zeros((len(rois), c, ph, pw))
    for r, box in enumerate(np.asarray(rois) * spatial_scale):
        x1, y1, x2, y2 = box
        bin_h, bin_w = (y2 - y1) / ph, (x2 - x1) / pw
        for i in range(ph):
            for j in range(pw):
                for k in range(g):
                    for m in range(g):
                        y = y1 + (i + (k + 0.5) / g) * bin_h
                        x = x1 + (j + (m + 0.5) / g) * bin_w
                        if y < -1 or y > h or x < -1 or x > w:
                            continue
                        y, x = min(max(y, 0), h - 1), min(max(x, 0), w - 1)
                        y0, x0 = int(y), int(x)
                        yh, xh = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                        ly, lx = y - y0, x - x0
                        v = (1 - ly) * ((1 - lx) * features[:, y0, x0] + lx * features[:, y0, xh])
                        v = v + ly * ((1 - lx) * features[:, yh, x0] + lx * features[:, yh, xh])
                        out[r, :, i, j] += v / (g * g)
    return out
