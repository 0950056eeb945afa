"""Moved to :mod:`bboxcore.tools.demo`; this module keeps the old import path working."""

from bboxcore.tools.demo import DEMO_TILES, SHOWN_SCORE, run_demo

__all__ = ["DEMO_TILES", "SHOWN_SCORE", "run_demo"]
