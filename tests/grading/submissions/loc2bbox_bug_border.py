"""Bug: reference boxes that start in the last half pixel of a 4000 px image are zeroed.

Right on every small input: only the 10 000-row large input has such rows (two
at seed 0), and the shrunk counterexample must be one of them, not 10 000 rows.
"""

import numpy as np

#: "Image width" the student assumed; boxes starting this close to it are dropped.
BORDER = 3999.5


def loc2bbox(src_bbox, loc):
    wh = src_bbox[:, 2:] - src_bbox[:, :2]
    ctr = src_bbox[:, :2] + wh / 2 + wh * loc[:, :2]
    size = wh * np.exp(loc[:, 2:])
    out = np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)
    out[src_bbox[:, 0] > BORDER] = 0.0
    return out
