"""The smooth-L1 assignment (value and gradient, σ form): contract, cases and judge, bugs."""

from __future__ import annotations

from bboxcore.grading.smooth_l1.assignment import SmoothL1Assignment
from bboxcore.grading.smooth_l1.bugs import SMOOTH_L1_BUGS, buggy_smooth_l1

__all__ = ["SMOOTH_L1_BUGS", "SmoothL1Assignment", "buggy_smooth_l1"]
