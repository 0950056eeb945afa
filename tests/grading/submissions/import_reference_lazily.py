"""Not allowed: imports the reference inside the function, under another spelling."""

import importlib


def nms(boxes, scores, iou_thresh):
    module = importlib.import_module("bbox" + "core.nms")
    return module.nms(boxes, scores, iou_thresh)
