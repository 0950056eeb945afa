"""The contract of the soft_nms assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["SOFT_NMS_SIGNATURE", "SOFT_NMS_CONTRACT"]

#: The signature as the student writes it.
SOFT_NMS_SIGNATURE = "soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method)"
#: The contract, one paragraph.
SOFT_NMS_CONTRACT = (
    "boxes is an (N, 4) float array of boxes of positive area, scores an (N,) array of "
    "scores >= 0, iou_thresh, sigma and score_thresh floats, method 'linear' or "
    "'gaussian'. Soft-NMS (Bodla et al. 2017): a box whose score is at or below"
    " score_thresh is dropped (initial scores included); repeatedly take the remaining "
    "box M of highest current score, then multiply every remaining box's score by "
    "f(IoU(M, b)): linear f = 1 - IoU when IoU > iou_thresh (else 1), gaussian f = "
    "exp(-IoU^2 / sigma) (iou_thresh unused), and drop those now at or below "
    "score_thresh. Return (keep, kept_scores): the indices in the order taken and each "
    "one's score at that moment. Scores are compared within 4 times their float32 error "
    "bound (the score's rounding carried through every decay, see 'tolerances'), so "
    "float32 is fine and near-equal current scores may be taken in either order."
)
