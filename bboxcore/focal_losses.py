"""Moved to :mod:`bboxcore.losses.focal` (the focal losses).

This old path re-exports its public names.
"""

from bboxcore.losses.focal import (  # noqa: F401
    centernet_focal_loss,
    centernet_focal_loss_backward,
    sigmoid_focal_loss,
    sigmoid_focal_loss_backward,
)

__all__ = [
    "centernet_focal_loss",
    "centernet_focal_loss_backward",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_backward",
]
