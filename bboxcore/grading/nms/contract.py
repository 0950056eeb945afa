"""The contract of the nms assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["NMS_SIGNATURE", "NMS_CONTRACT"]

#: The signature as the student writes it.
NMS_SIGNATURE = "nms(boxes, scores, iou_thresh)"
#: The contract, one paragraph.
NMS_CONTRACT = (
    "boxes is an (N, 4) float array of (x_min, y_min, x_max, y_max), scores an (N,) "
    "array, iou_thresh a float in [0, 1]. Return the indices (into the input) of the kept"
    " boxes in decreasing score order, as a list or a 1-D integer array. A box is "
    "suppressed when its IoU with a kept, higher-ranked box is greater than iou_thresh "
    "(equal is kept). Width is x_max - x_min (no +1). Boxes with equal scores may be "
    "taken in any order; IoU may be computed in float32 or float64 (an IoU within 1e-6, "
    "or within 4 times its float32 error bound if that is larger, of the threshold may "
    "go either way, as may two zero-area boxes, whose IoU is 0/0)."
)
