"""Moved to :mod:`bboxcore.losses.detection` (the Faster R-CNN multi-task losses).

This old path re-exports its public names.
"""

from bboxcore.losses.detection import (  # noqa: F401
    IGNORE_LABEL,
    roi_head_loss,
    roi_head_loss_backward,
    rpn_loss,
    rpn_loss_backward,
)

__all__ = [
    "IGNORE_LABEL",
    "roi_head_loss",
    "roi_head_loss_backward",
    "rpn_loss",
    "rpn_loss_backward",
]
