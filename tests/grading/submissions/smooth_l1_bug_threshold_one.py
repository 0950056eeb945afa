"""Smooth-L1 with the switch at |x| = 1 whatever sigma (sample submission, a usual mistake)."""

import numpy as np


def smooth_l1(x, sigma):
    x = np.asarray(x, dtype=np.float32)
    inside = np.abs(x) < 1
    loss = np.where(inside, 0.5 * (sigma * x) ** 2, np.abs(x) - 0.5 / sigma**2)
    grad = np.where(inside, sigma**2 * x, np.sign(x))
    return loss, grad
