"""expect: not_normalised -- forgets to divide the shift by the width."""

import numpy as np


def bbox2loc(src_bbox, dst_bbox):
    out = []
    for (x1, y1, x2, y2), (u1, v1, u2, v2) in zip(src_bbox, dst_bbox):
        pw, ph, gw, gh = x2 - x1, y2 - y1, u2 - u1, v2 - v1
        out.append(
            [
                (u1 + gw / 2) - (x1 + pw / 2),
                (v1 + gh / 2) - (y1 + ph / 2),
                np.log(gw / pw),
                np.log(gh / ph),
            ]
        )
    return np.array(out).reshape(-1, 4)
