"""Moved to :mod:`bboxcore.tools.synthetic`; kept so that old imports keep working."""

from bboxcore.tools.synthetic import random_detection_set

__all__ = ["random_detection_set"]
