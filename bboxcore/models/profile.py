"""Moved to :mod:`bboxcore.tools.profile`; this module keeps the old import path working."""

from bboxcore.tools.profile import iteration_stages
from bboxcore.tools.synthetic import random_scenes

__all__ = ["iteration_stages", "random_scenes"]
