"""Moved to :mod:`bboxcore.losses.box` (the losses on whole boxes).

This old path re-exports its public names.
"""

from bboxcore.losses.box import (  # noqa: F401
    IOU_LOSS_EPS,
    giou_loss,
    giou_loss_backward,
    iou_loss,
    iou_loss_backward,
)

__all__ = [
    "IOU_LOSS_EPS",
    "giou_loss",
    "giou_loss_backward",
    "iou_loss",
    "iou_loss_backward",
]
