"""A correct smooth-L1, written with a loop and <= at the switch (sample submission)."""

import numpy as np


def smooth_l1(x, sigma):
    loss, grad = np.zeros(len(x)), np.zeros(len(x))
    for i, v in enumerate(x):
        if abs(v) <= 1.0 / sigma**2:
            loss[i] = 0.5 * (sigma * v) ** 2
            grad[i] = sigma**2 * v
        else:
            loss[i] = abs(v) - 0.5 / sigma**2
            grad[i] = np.sign(v)
    return loss, grad
