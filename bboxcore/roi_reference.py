"""Moved to :mod:`bboxcore.roi.reference` (the loop references of the RoI ops).

This old path re-exports its public names.
"""

from bboxcore.roi.reference import (  # noqa: F401
    prroi_pool_reference,
    roi_align_reference,
    roi_pool_reference,
)

__all__ = [
    "prroi_pool_reference",
    "roi_align_reference",
    "roi_pool_reference",
]
