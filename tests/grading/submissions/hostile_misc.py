"""Misbehaves in a different way depending on the threshold (for the worker tests)."""

import os
import sys
import time

import numpy as np


class Weird:
    def __repr__(self):
        return "Weird()"


def nms(boxes, scores, iou_thresh):
    if iou_thresh == 0.11:
        return Weird()
    if iou_thresh == 0.12:
        sys.exit(3)
    if iou_thresh == 0.13:
        os._exit(4)
    if iou_thresh == 0.14:
        return np.ones((1 << 40,), dtype=np.uint8)
    if iou_thresh == 0.15:
        time.sleep(60)
    if iou_thresh == 0.16:
        raise ZeroDivisionError("on purpose")
    if iou_thresh == 0.17:
        return "0, 1"
    if iou_thresh == 0.18:
        boxes[0, 0] = -1.0
        return [0]
    return list(range(len(scores)))
