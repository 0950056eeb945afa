"""The pairwise IoU assignment: contract, cases and judge (``assignment.py``), bugs."""

from __future__ import annotations

from bboxcore.grading.iou.assignment import IouAssignment
from bboxcore.grading.iou.bugs import IOU_BUGS, buggy_iou

__all__ = ["IOU_BUGS", "IouAssignment", "buggy_iou"]
