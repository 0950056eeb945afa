"""The NMS assignment: its contract, its judge, its cases and its bug catalogue.

``contract.py`` (the words), ``judge.py`` (what counts as a right answer, and
:class:`NmsAssignment`), ``cases.py`` (edge cases, seeded random cases, the
search strategy), ``bugs.py`` (the usual mistakes as runnable variants, with
their hints).
"""

from __future__ import annotations

from bboxcore.grading.nms.bugs import NMS_BUGS, buggy_nms, classify_nms
from bboxcore.grading.nms.judge import IOU_TOL, NmsAssignment, as_keep, nms_decisions, nms_failure

__all__ = [
    "IOU_TOL",
    "NMS_BUGS",
    "NmsAssignment",
    "as_keep",
    "buggy_nms",
    "classify_nms",
    "nms_decisions",
    "nms_failure",
]
