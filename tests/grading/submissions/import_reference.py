"""Not allowed: hands the work to bboxcore's own NMS."""

from bboxcore import nms as _reference


def nms(boxes, scores, iou_thresh):
    return _reference(boxes, scores, iou_thresh)
