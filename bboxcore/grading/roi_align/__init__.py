"""The RoI Align assignment (forward, bilinear, the aligned convention): contract, judge, bugs."""

from __future__ import annotations

from bboxcore.grading.roi_align.assignment import RoiAlignAssignment
from bboxcore.grading.roi_align.bugs import ROI_ALIGN_BUGS, buggy_roi_align

__all__ = ["ROI_ALIGN_BUGS", "RoiAlignAssignment", "buggy_roi_align"]
