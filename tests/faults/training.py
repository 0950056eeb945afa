"""Shared pieces of the training fault tests: a tiny ``bboxcore train`` run and how to damage it.

The run: 6 MNIST scenes, batches of 2 (3 steps per epoch), 3 epochs, stopped at
step :data:`STEPS` — checkpoints at steps 3 and 6 (epoch ends) and 7 (the
stop). No validation is reached, so a run takes about a second.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import bboxcore

ROOT = Path(bboxcore.__file__).resolve().parent.parent
#: Optimiser steps of the reference run (``--max-iters``).
STEPS = 7


def train_argv(out: Path, *extra: str, steps: int = STEPS) -> list[str]:
    """``bboxcore train`` arguments of the tiny run into ``out``."""
    return [
        "train", "--dataset", "mnist-det", "--n-train", "6", "--n-val", "2", "--epochs", "3",
        "--batch-size", "2", "--warmup-iters", "1", "--eval-every", "0",
        "--max-iters", str(steps), "--out", str(out), "--no-progress", *extra,
    ]  # fmt: skip


def log_rows(out: Path) -> list[tuple]:
    """The rows of ``log.csv`` without the timing column (what must repeat exactly)."""
    with open(out / "log.csv", newline="") as f:
        return [tuple(v for k, v in r.items() if k != "img_per_s") for r in csv.DictReader(f)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def temporaries(folder: Path) -> list[str]:
    """Temporary files left in ``folder`` (``.<name>.<random>.tmp``)."""
    return sorted(p.name for p in folder.glob(".*.tmp"))


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def start(code: str, cwd: Path) -> subprocess.Popen:
    """A child Python running ``code`` (stdout and stderr captured as text)."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=child_env(),
    )


def cli_code(argv: list[str], prelude: str = "") -> str:
    """Python source that runs ``bboxcore argv`` after ``prelude`` and exits with its status."""
    return f"import sys\n{prelude}\nfrom bboxcore.cli import main\nsys.exit(main({argv!r}))\n"


def wait_for(predicate, timeout: float = 120.0, poll: float = 0.005) -> None:
    """Poll ``predicate()`` until it is true; AssertionError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the child")
        time.sleep(poll)


def rows_logged(out: Path) -> int:
    """Data rows in ``out/log.csv`` so far (0 when it does not exist yet)."""
    try:
        return max(0, (out / "log.csv").read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0
