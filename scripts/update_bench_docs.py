"""Refresh the speed table of ``docs/benchmarks.md`` from ``bboxcore.bench``.

Runs the registered suites (:data:`bboxcore.bench.SUITES`), times every case ``--runs``
times with :func:`bboxcore.bench.time_case` (each time the median of its repeats) and keeps
the best, then rewrites the Markdown table between the ``<!-- bench:start -->`` and
``<!-- bench:end -->`` markers of the page, with the machine it ran on.

Usage::

    .venv/bin/python scripts/update_bench_docs.py              # every suite, best of 3
    .venv/bin/python scripts/update_bench_docs.py iou nms --runs 5
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np

from bboxcore.tools.bench import SUITES, time_case

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def table(suites: list[str], runs: int, seed: int) -> str:
    """The Markdown table of the given suites, each case the best of ``runs`` medians."""
    rng = np.random.default_rng(seed)
    cases = [case for name in suites for case in SUITES[name](rng)]
    lines = [
        "| suite | case | implementation | median (ms) | note |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for case in cases:
        ms = min(time_case(case) for _ in range(runs))
        note = case.note(ms) if callable(case.note) else (case.note or "")
        cells = (case.suite, case.name, case.impl, f"{ms:.3f}", note)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        print(lines[-1], file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (
        f"{datetime.date.today()}: Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the end; "
        f"best of {runs} runs, seed {seed}."
    )
    return machine + "\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=f"suites (default: all of {', '.join(SUITES)})")
    parser.add_argument("--runs", type=int, default=3, help="timings per case; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    suites = args.suites or list(SUITES)
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suites {unknown}; choose from {list(SUITES)}")
    text = PAGE.read_text(encoding="utf-8")
    if START not in text or END not in text:
        parser.error(f"{PAGE} has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    block = table(suites, args.runs, args.seed)
    PAGE.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")
    print(f"updated {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
