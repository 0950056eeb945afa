"""One row of a speed table, how it is timed, and how the table is printed.

Shared by :mod:`bboxcore.tools.bench` (every suite) and
:mod:`bboxcore.tools.bench_nn` (the engine's kernels against their limits).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Case", "format_table", "time_case"]


@dataclass
class Case:
    """One row of the speed table.

    Parameters
    ----------
    suite : str
        The topic (``'iou'``, ``'nms'``...).
    name : str
        The input, e.g. ``'box_iou f32 2000x2000'``.
    impl : str
        ``'reference'`` (plain Python loop), ``'broadcast'`` (one-shot NumPy)
        or ``'bboxcore'`` (the library).
    fn : callable
        Runs the operation once; its return value is ignored.
    repeat : int
        How many timed runs to take the median of.
    note : str or callable
        Anything worth printing beside the time (a target, a size); a callable
        ``note(ms) -> str`` is given the measured median (e.g. to print GFLOP/s).

    Examples
    --------
    >>> c = Case("iou", "tiny", "bboxcore", lambda: None, repeat=3)
    >>> time_case(c) >= 0
    True
    """

    suite: str
    name: str
    impl: str
    fn: Callable[[], object]
    repeat: int = 7
    note: str | Callable[[float], str] = ""


def time_case(case: Case) -> float:
    """Median wall time of ``case.fn`` in milliseconds, after one warm-up run.

    Parameters
    ----------
    case : Case
        The case to time.

    Returns
    -------
    float
        Median of ``case.repeat`` runs, in ms.

    Examples
    --------
    >>> time_case(Case("demo", "noop", "bboxcore", lambda: None, repeat=3)) < 10
    True
    """
    case.fn()
    times = []
    for _ in range(max(1, case.repeat)):
        t0 = time.perf_counter()
        case.fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def format_table(rows: list[tuple[Case, float]]) -> str:
    """Format timed cases as a fixed-width table (suite, case, implementation, ms, note).

    Parameters
    ----------
    rows : list of (Case, float)
        Cases with their median time in ms.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_table([(Case("iou", "x", "bboxcore", lambda: None), 1.234)]))
    suite  case  impl      median ms  note
    -----  ----  --------  ---------  ----
    iou    x     bboxcore      1.234
    """
    header = ("suite", "case", "impl", "median ms", "note")
    body = [
        (c.suite, c.name, c.impl, f"{ms:.3f}", c.note(ms) if callable(c.note) else c.note)
        for c, ms in rows
    ]
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(5)]
    lines = []
    for r in [header, tuple("-" * w for w in widths), *body]:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])]
        cells += [r[3].rjust(widths[3]), r[4]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
