"""Moved to :mod:`bboxcore.roi.prroi` (Precise RoI Pooling).

This old path re-exports its public names.
"""

from bboxcore.roi.prroi import (  # noqa: F401
    PRROI_MIN_GRAD_SIDE,
    prroi_pool,
    prroi_pool_backward,
)

__all__ = [
    "PRROI_MIN_GRAD_SIDE",
    "prroi_pool",
    "prroi_pool_backward",
]
