"""expect: nearest -- each sample reads the cell it falls in, without interpolation."""

import numpy as np


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio):
    c, h, w = features.shape
    ph, pw = output_size
    out = np.zeros((len(rois), c, ph, pw))
    for r in range(len(rois)):
        x1, y1, x2, y2 = rois[r] * spatial_scale - 0.5
        bh, bw = (y2 - y1) / ph, (x2 - x1) / pw
        for i in range(ph):
            for j in range(pw):
                total = np.zeros(c)
                for a in range(sampling_ratio):
                    for b in range(sampling_ratio):
                        y = y1 + i * bh + (a + 0.5) * bh / sampling_ratio
                        x = x1 + j * bw + (b + 0.5) * bw / sampling_ratio
                        if -1 <= y <= h and -1 <= x <= w:
                            yy = int(min(max(y, 0), h - 1))
                            xx = int(min(max(x, 0), w - 1))
                            total += features[:, yy, xx]
                out[r, :, i, j] = total / sampling_ratio**2
    return out
