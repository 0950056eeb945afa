"""The IoU-loss gradient assignment (UnitBox, -ln IoU of (l, t, r, b)): contract, judge, bugs."""

from __future__ import annotations

from bboxcore.grading.iou_loss_grad.assignment import IouLossGradAssignment
from bboxcore.grading.iou_loss_grad.bugs import IOU_LOSS_GRAD_BUGS, buggy_iou_loss_grad

__all__ = ["IOU_LOSS_GRAD_BUGS", "IouLossGradAssignment", "buggy_iou_loss_grad"]
