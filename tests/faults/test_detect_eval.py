"""Faults around ``bboxcore detect`` and ``bboxcore eval``: a full disk, corrupt inputs.

A full disk is a real failed write: the command runs in a child process whose
file-size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) makes every write
past a few bytes fail with ``EFBIG``. Each test asserts a one-line message
naming the file, exit status 2, and that nothing that existed before is lost
or changed (no temporary file left behind either).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bboxcore
from bboxcore.cli import main

ROOT = Path(bboxcore.__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform == "win32", reason="needs POSIX resource limits"
)


def _run_with_full_disk(argv: list[str], cwd: Path, max_bytes: int) -> subprocess.CompletedProcess:
    """``bboxcore argv`` in a child process that cannot write files larger than ``max_bytes``."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({max_bytes}, {max_bytes}))\n"
        "from bboxcore.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _assert_one_line_error(r: subprocess.CompletedProcess, command: str, *parts: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"bboxcore {command}: error: "), r.stderr
    for part in parts:
        assert part in r.stderr, r.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    argv = [
        "train", "--dataset", "mnist-det", "--n-train", "4", "--n-val", "2", "--epochs", "3",
        "--max-iters", "3", "--warmup-iters", "1", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    return out


def _png(path: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


# --------------------------------------------------------------------------- detect
def test_detect_on_a_full_disk_keeps_the_previous_outputs(run_dir, tmp_path):
    images = [str(_png(tmp_path / f"{k}.png", k)) for k in range(2)]
    out = tmp_path / "det"
    assert main(["detect", *images, "--checkpoint", str(run_dir), "--out", str(out)]) == 0
    before = _snapshot(out)
    assert sorted(before) == ["0_detections.png", "1_detections.png", "detections.json"]
    argv = ["detect", *images, "--checkpoint", str(run_dir), "--out", str(out)]
    r = _run_with_full_disk([*argv, "--score-thresh", "0"], tmp_path, max_bytes=64)
    _assert_one_line_error(r, "detect", str(out / "0_detections.png"), "File too large")
    assert _snapshot(out) == before  # unchanged, and no temporary file left


@pytest.mark.parametrize("damage", ["flipped", "truncated", "empty"])
def test_detect_with_a_damaged_checkpoint_names_it(run_dir, tmp_path, capsys, damage):
    data = bytearray((run_dir / "checkpoint.npz").read_bytes())
    if damage == "flipped":  # the zip directory is intact, a member's bytes are not
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(255 - b for b in data[middle : middle + 64])
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    ckpt = tmp_path / "checkpoint.npz"
    ckpt.write_bytes(bytes(data))
    out = tmp_path / "det"
    argv = ["detect", str(_png(tmp_path / "a.png", 0)), "--checkpoint", str(ckpt)]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "checkpoint.npz" in err and "bboxcore checkpoint" in err, err
    assert not out.exists()


# --------------------------------------------------------------------------- eval
def test_eval_json_on_a_full_disk_keeps_the_previous_file(tmp_path):
    gt = {
        "images": [{"id": 1, "width": 10, "height": 10}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25.0}
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    res = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]
    (tmp_path / "res.json").write_text(json.dumps(res))
    (tmp_path / "n.json").write_text('{"from": "before"}')
    before = _snapshot(tmp_path)
    argv = ["eval", "--gt", "gt.json", "--pred", "res.json", "--json", "n.json"]
    r = _run_with_full_disk(argv, tmp_path, max_bytes=16)
    _assert_one_line_error(r, "eval", "n.json", "File too large")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON"),
        (b'{"images": [], "annotations": [', "not valid JSON (truncated?)"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[]", "top level must be a JSON object"),
        (b'{"images": [], "annotations": [], "categories": [{"id": {}}]}', "must be an integer"),
    ],
)
def test_eval_with_a_damaged_ground_truth_names_it(tmp_path, capsys, content, message):
    (tmp_path / "gt.json").write_bytes(content)
    (tmp_path / "res.json").write_text("[]")
    argv = ["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "res.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "gt.json" in err and message in err, err
