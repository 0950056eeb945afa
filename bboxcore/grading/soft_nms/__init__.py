"""The Soft-NMS assignment: contract, cases, judge (``assignment.py``) and bugs (``bugs.py``)."""

from __future__ import annotations

from bboxcore.grading.soft_nms.assignment import SoftNmsAssignment, as_pair, soft_nms_failure
from bboxcore.grading.soft_nms.bugs import SOFT_NMS_BUGS, buggy_soft_nms

__all__ = ["SOFT_NMS_BUGS", "SoftNmsAssignment", "as_pair", "buggy_soft_nms", "soft_nms_failure"]
