"""``python -m bboxcore``: the command line without its script on the PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bboxcore

ROOT = Path(bboxcore.__file__).resolve().parent.parent


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bboxcore", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_python_m_bboxcore_prints_the_version(tmp_path):
    r = _run("--version", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"bboxcore {bboxcore.__version__}"


def test_python_m_bboxcore_lists_the_commands(tmp_path):
    r = _run("--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: bboxcore ")
    for command in ("train", "detect", "eval", "grade"):
        assert command in r.stdout


def test_python_m_bboxcore_returns_the_exit_status_of_a_command(tmp_path):
    r = _run("eval", "--gt", "gt.json", "--pred", ".", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("bboxcore eval: error: ") and "Traceback" not in r.stderr
