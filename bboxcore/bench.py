"""Moved to :mod:`bboxcore.tools.bench`; this module keeps the old import path working."""

from bboxcore.tools.bench import SUITES, Case, format_table, run_bench, time_case

__all__ = ["SUITES", "Case", "format_table", "run_bench", "time_case"]
