"""expect: yx_rois -- the boxes read in TensorFlow's (y1, x1, y2, x2) order."""

import numpy as np


def sample(f, y, x):
    c, h, w = f.shape
    if y < -1 or y > h or x < -1 or x > w:
        return np.zeros(c)
    y, x = min(max(y, 0.0), h - 1.0), min(max(x, 0.0), w - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    dy, dx = y - y0, x - x0
    top = f[:, y0, x0] * (1 - dx) + f[:, y0, x1] * dx
    bottom = f[:, y1, x0] * (1 - dx) + f[:, y1, x1] * dx
    return top * (1 - dy) + bottom * dy


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    ph, pw = output_size
    g = sampling_ratio
    res = []
    for ymin, xmin, ymax, xmax in rois:
        ymin, xmin = ymin * spatial_scale - 0.5, xmin * spatial_scale - 0.5
        ymax, xmax = ymax * spatial_scale - 0.5, xmax * spatial_scale - 0.5
        hb, wb = (ymax - ymin) / ph, (xmax - xmin) / pw
        grid = np.zeros((features.shape[0], ph, pw))
        for i in range(ph):
            for j in range(pw):
                vals = [
                    sample(
                        features, ymin + (i + (k + 0.5) / g) * hb, xmin + (j + (m + 0.5) / g) * wb
                    )
                    for k in range(g)
                    for m in range(g)
                ]
                grid[:, i, j] = np.mean(vals, axis=0)
        res.append(grid)
    return np.array(res).reshape(len(rois), features.shape[0], ph, pw)
