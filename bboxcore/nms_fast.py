"""Moved to :mod:`bboxcore._nms_fast` (the block-wise NMS engine, private).

This old path re-exports its public names.
"""

from bboxcore._nms_fast import (  # noqa: F401
    NMS_BLOCK,
    PAIR_BUDGET,
    nms_sorted,
)

__all__ = [
    "NMS_BLOCK",
    "PAIR_BUDGET",
    "nms_sorted",
]
