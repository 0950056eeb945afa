"""Refresh the speed table of ``docs/benchmarks.md`` from ``bboxcore.bench``.

Runs the registered suites (:data:`bboxcore.bench.SUITES`) and rewrites the Markdown table
between the ``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers of the page, headed
by the machine, the BLAS threads and the load it ran under.

How it times, so that the table is consistent with itself:

* **one BLAS thread** (set before NumPy is imported), as ``make test`` and the notebooks
  run, so that a case never competes with its own threads;
* **rounds**: every case of a suite is timed once per round (the median of its repeats,
  :func:`bboxcore.bench.time_case`), the suite's cases one after another, for ``--runs``
  rounds; a case keeps its best round. Timing all cases of a suite in the same rounds
  means that a part and the whole it belongs to (a backward stage and the whole
  iteration) see the same load. The old script timed each case ``runs`` times in a row,
  so a whole iteration timed in a quiet moment could come out shorter than its own
  backward pass timed during a busy one (load 7: "backward: all" 345.7 ms against
  "whole iteration" 268.2 ms);
* **checks**: for the ``detector`` suite every part must not exceed the whole it belongs
  to (each backward part <= "9 backward: all" <= "whole iteration"; the forward stages
  plus the backward <= the whole iteration), with 10 % slack for noise; a violation is
  printed and written under the table, and the exit status is 1.

The ``target`` column is the target stated in each case's note (``bboxcore.bench``), and
``met`` compares it with the measurement where the target is a number.

Usage::

    .venv/bin/python scripts/update_bench_docs.py              # every suite, 3 rounds
    .venv/bin/python scripts/update_bench_docs.py iou nms --runs 5

Run it on an idle machine: the header states the load average before and after.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy is imported

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bboxcore.atomic import atomic_write  # noqa: E402
from bboxcore.tools.bench import SUITES, bench_cases, time_case  # noqa: E402

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SLACK = 1.10  # a part may exceed its whole by 10 % (timing noise) before it is reported
_TARGET = re.compile(r"\(?\btarget\b:?\s*(?P<target>[^;()]*(?:\([^)]*\))?[^;()]*)\)?")


def split_note(note: str) -> tuple[str, str]:
    """``(target, rest of the note)`` from a case's note, e.g. "target <= 6 ms"."""
    m = _TARGET.search(note)
    if m is None:
        return "", note
    rest = (note[: m.start()] + note[m.end() :]).strip()
    rest = re.sub(r"\s*,\s*$|^\s*[;,]\s*|\s*;\s*$", "", re.sub(r"\s*,\s*,", ",", rest))
    return m["target"].strip(), rest.strip(" ,;")


def met(target: str, ms: float, note: str) -> str:
    """Whether a numeric target is met: "yes", "no", or "" when it is not a number."""
    m = re.fullmatch(r"<=\s*([\d.]+)\s*ms.*", target)
    if m:
        return "yes" if ms <= float(m[1]) else "no"
    m, ratio = re.fullmatch(r">=\s*([\d.]+)x.*", target), re.search(r"([\d.]+)x of", note)
    if m and ratio:
        return "yes" if float(ratio[1]) >= float(m[1]) else "no"
    return ""


def consistency(times: dict[str, float]) -> list[str]:
    """Parts larger than their whole, for the detector suite's stages (empty if none)."""
    whole, backward = times.get("whole iteration"), times.get("9 backward: all")
    if whole is None or backward is None:
        return []
    found = []
    for name, ms in times.items():
        if name.startswith("9 backward: ") and name != "9 backward: all" and ms > SLACK * backward:
            found.append(f"'{name}' {ms:.1f} ms > '9 backward: all' {backward:.1f} ms")
    if backward > SLACK * whole:
        found.append(f"'9 backward: all' {backward:.1f} ms > 'whole iteration' {whole:.1f} ms")
    forward = sum(ms for name, ms in times.items() if name[:1] in "12345678")
    if forward + backward > SLACK * whole:
        found.append(
            f"forward stages {forward:.1f} ms + backward {backward:.1f} ms > "
            f"'whole iteration' {whole:.1f} ms"
        )
    return found


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "?")
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {blas} BLAS thread(s)"
    )


def measure(suites: list[str], runs: int, seed: int) -> tuple[list[str], list[str]]:
    """Table lines and consistency problems; each case the best of ``runs`` rounds."""
    lines = [
        "| suite | case | implementation | median (ms) | target | met | note |",
        "| --- | --- | --- | ---: | --- | :---: | --- |",
    ]
    problems = []
    for suite in suites:
        cases = bench_cases([suite], seed)  # the inputs of `bboxcore bench` with this seed
        best = [float("inf")] * len(cases)
        for r in range(runs):
            for i, case in enumerate(cases):
                best[i] = min(best[i], time_case(case))
            print(f"{suite}: round {r + 1}/{runs} done", file=sys.stderr, flush=True)
        for case, ms in zip(cases, best):
            note = case.note(ms) if callable(case.note) else (case.note or "")
            target, rest = split_note(note)
            cells = (
                case.suite,
                case.name,
                case.impl,
                f"{ms:.3f}",
                target,
                met(target, ms, note),
                rest,
            )
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            print(lines[-1], file=sys.stderr, flush=True)
        if suite == "detector":
            problems += consistency({c.name: ms for c, ms in zip(cases, best)})
    return lines, problems


def block(suites: list[str], runs: int, seed: int) -> tuple[str, list[str]]:
    load_before = os.getloadavg()[0]
    lines, problems = measure(suites, runs, seed)
    load_after = os.getloadavg()[0]
    # The run itself keeps one core busy, so the load after it is about 1 on an idle machine:
    # busy means other work before it started, or more than the run itself during it.
    busy = load_before > 0.5 or load_after > 1.5
    head = (
        f"Measured {datetime.date.today()} on {machine()}. Load average (1 min) "
        f"{load_before:.1f} before and {load_after:.1f} after"
        + (
            " — **the machine was busy: the times are pessimistic**"
            if busy
            else " (an idle machine)"
        )
        + f". Each case: the best of {runs} rounds, a round being the median of its repeats; "
        f"seed {seed}."
    )
    text = head + "\n\n" + "\n".join(lines)
    if problems:
        text += "\n\n**Inconsistent (a part slower than its whole):** " + "; ".join(problems) + "."
    return text, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=f"suites (default: all of {', '.join(SUITES)})")
    parser.add_argument("--runs", type=int, default=3, help="rounds per suite; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    suites = args.suites or list(SUITES)
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suites {unknown}; choose from {list(SUITES)}")
    text = PAGE.read_text(encoding="utf-8")
    if START not in text or END not in text:
        parser.error(f"{PAGE} has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    table, problems = block(suites, args.runs, args.seed)
    with atomic_write(PAGE, "w", encoding="utf-8") as f:
        f.write(f"{head}{START}\n{table}\n{END}{tail}")
    print(f"updated {PAGE}")
    for problem in problems:
        print(f"inconsistent: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
