"""The contract of the iou assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["IOU_SIGNATURE", "IOU_CONTRACT"]

#: The signature as the student writes it.
IOU_SIGNATURE = "iou(boxes1, boxes2)"
#: The contract, one paragraph.
IOU_CONTRACT = (
    "boxes1 is an (N, 4) and boxes2 an (M, 4) float array of (x_min, y_min, x_max, "
    "y_max). Return the (N, M) array whose [i, j] entry is the IoU of boxes1[i] and "
    "boxes2[j]: intersection area / (area1 + area2 - intersection). Width is x_max - "
    "x_min (no +1); boxes that do not overlap or only touch have IoU 0; a zero-area box "
    "has IoU 0 with any box of positive area (two zero-area boxes: 0 or NaN). N or M may "
    "be 0. "
    "Each entry is accepted within 4 times its float32 error bound (the magnitudes "
    "of the formula's intermediates times 2^-24, propagated: see 'tolerances' below), "
    "so float32 code is fine."
)
