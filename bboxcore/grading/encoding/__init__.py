"""The box-encoding assignments ``bbox2loc`` and ``loc2bbox``: contract, cases, judge, bugs."""

from __future__ import annotations

from bboxcore.grading.encoding.assignment import Bbox2locAssignment, Loc2bboxAssignment
from bboxcore.grading.encoding.bugs import BBOX2LOC_BUGS, LOC2BBOX_BUGS

__all__ = ["BBOX2LOC_BUGS", "LOC2BBOX_BUGS", "Bbox2locAssignment", "Loc2bboxAssignment"]
