"""A correct RoI Align (aligned convention), written as a student would: loops over samples."""

import numpy as np


def bilinear(fmap, y, x):
    _, h, w = fmap.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return np.zeros(fmap.shape[0])
    y = min(max(y, 0.0), h - 1.0)
    x = min(max(x, 0.0), w - 1.0)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * fmap[:, y0, x0]
        + (1 - ly) * lx * fmap[:, y0, x1]
        + ly * (1 - lx) * fmap[:, y1, x0]
        + ly * lx * fmap[:, y1, x1]
    )


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    ph, pw = output_size
    out = np.zeros((len(rois), features.shape[0], ph, pw))
    g = sampling_ratio
    for r, (x1, y1, x2, y2) in enumerate(rois):
        x1, y1 = x1 * spatial_scale - 0.5, y1 * spatial_scale - 0.5
        x2, y2 = x2 * spatial_scale - 0.5, y2 * spatial_scale - 0.5
        bin_h, bin_w = (y2 - y1) / ph, (x2 - x1) / pw
        for i in range(ph):
            for j in range(pw):
                acc = 0.0
                for k in range(g):
                    y = y1 + i * bin_h + (k + 0.5) * bin_h / g
                    for m in range(g):
                        x = x1 + j * bin_w + (m + 0.5) * bin_w / g
                        acc = acc + bilinear(features, y, x)
                out[r, :, i, j] = acc / (g * g)
    return out
