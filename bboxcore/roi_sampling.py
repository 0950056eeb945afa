"""Moved to ``bboxcore.roi._sampling`` (private: the sampling shared by the RoI ops).

It exported no public name; the RoI ops are in :mod:`bboxcore.roi`.
"""

__all__: list[str] = []
