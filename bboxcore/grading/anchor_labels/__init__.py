"""The anchor-labelling assignment (the AnchorTargetCreator rules): contract, judge, bugs."""

from __future__ import annotations

from bboxcore.grading.anchor_labels.assignment import AnchorLabelsAssignment
from bboxcore.grading.anchor_labels.bugs import ANCHOR_LABELS_BUGS, buggy_anchor_labels

__all__ = ["ANCHOR_LABELS_BUGS", "AnchorLabelsAssignment", "buggy_anchor_labels"]
