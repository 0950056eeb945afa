"""expect: max_samples -- the max of the bin's samples (RoI Pooling's max kept by habit)."""

import numpy as np


def bilinear(f, y, x):
    _, h, w = f.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return np.zeros(f.shape[0])
    y = min(max(y, 0.0), h - 1.0)
    x = min(max(x, 0.0), w - 1.0)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * f[:, y0, x0]
        + (1 - ly) * lx * f[:, y0, x1]
        + ly * (1 - lx) * f[:, y1, x0]
        + ly * lx * f[:, y1, x1]
    )


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    ph, pw = output_size
    g = sampling_ratio
    out = np.zeros((len(rois), features.shape[0], ph, pw))
    for r, box in enumerate(rois):
        x1, y1, x2, y2 = box * spatial_scale - 0.5
        bh, bw = (y2 - y1) / ph, (x2 - x1) / pw
        for i in range(ph):
            for j in range(pw):
                pts = [
                    bilinear(features, y1 + (i + (a + 0.5) / g) * bh, x1 + (j + (b + 0.5) / g) * bw)
                    for a in range(g)
                    for b in range(g)
                ]
                out[r, :, i, j] = np.max(pts, axis=0)
    return out
