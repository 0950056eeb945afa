"""Run folders of ``bboxcore train``: relocation, overwriting, damaged files, full disks, read-only.

Every failure must give a one-line message naming the file or folder, a
non-zero exit status, and leave everything that existed before as it was.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bboxcore.cli import main
from bboxcore.nn import serialization
from tests.faults.training import (
    child_env,
    cli_code,
    log_rows,
    snapshot,
    temporaries,
    train_argv,
)


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A run stopped at step 4 (checkpoint at step 4; epoch 1 ended at step 3)."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    assert main(train_argv(out, steps=4)) == 0
    return out


@pytest.fixture
def run(stopped_run, tmp_path):
    """A private copy of the stopped run."""
    out = tmp_path / "run"
    shutil.copytree(stopped_run, out)
    return out


def _one_line_error(capsys, status: int, *parts: str) -> str:
    err = capsys.readouterr().err
    assert status != 0
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("bboxcore train: error: "), err
    for part in parts:
        assert part in err, err
    return err


def _iteration(out: Path) -> int:
    return int(serialization.load(out / "checkpoint.npz")["position"]["iteration"])


# --------------------------------------------------------------------------- #15 item 1
def test_resuming_a_copied_run_folder_writes_only_into_the_copy(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = snapshot(run)
    assert main(train_argv(copy, "--resume", steps=6)) == 0
    assert snapshot(run) == before  # the original is untouched
    assert _iteration(copy) == 6 and len(log_rows(copy)) == 6
    saved = json.loads(str(serialization.load(copy / "checkpoint.npz")["train_config"]))
    assert saved["out"] == str(copy)


# --------------------------------------------------------------------------- #15 item 2
def test_a_new_run_refuses_a_folder_that_holds_a_run(run, capsys):
    before = snapshot(run)
    status = main(train_argv(run, "--seed", "5"))
    _one_line_error(capsys, status, str(run), "already holds a training run", "--resume", "--out")
    assert snapshot(run) == before


def test_overwrite_replaces_the_whole_run(run, capsys):
    old_history = json.loads((run / "history.json").read_text())
    assert main(train_argv(run, "--overwrite", "--seed", "5", steps=2)) == 0
    history = json.loads((run / "history.json").read_text())
    assert old_history["train_config"]["seed"] == 0 and history["train_config"]["seed"] == 5
    assert len(log_rows(run)) == 2 and _iteration(run) == 2
    assert history["epochs"] == []  # no epoch of the old run remains


# --------------------------------------------------------------------------- #15 item 4
def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip_bytes(p: Path) -> None:
    data = bytearray(p.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    p.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip_bytes,
        lambda p: p.write_bytes(b""),
        lambda p: p.write_text("not a checkpoint\n"),
    ],
    ids=["truncated", "corrupt", "empty", "text"],
)
def test_resume_on_a_damaged_checkpoint_names_the_file(run, capsys, damage):
    damage(run / "checkpoint.npz")
    before = snapshot(run)
    status = main(train_argv(run, "--resume"))
    _one_line_error(capsys, status, str(run / "checkpoint.npz"), "not a readable", "corrupt")
    assert snapshot(run) == before


@pytest.mark.parametrize(
    "name, damage",
    [
        ("history.json", _truncate),
        ("history.json", lambda p: p.write_text("[1, 2]")),
        ("log.csv", lambda p: p.write_bytes(b"\x00\xff garbage\n1,2\n")),
    ],
    ids=["history-truncated", "history-not-a-history", "log-garbage"],
)
def test_resume_with_a_damaged_log_file_names_it_and_changes_nothing(run, capsys, name, damage):
    damage(run / name)
    before = snapshot(run)
    status = main(train_argv(run, "--resume"))
    _one_line_error(capsys, status, str(run / name), "damaged")
    assert snapshot(run) == before


def test_resume_of_a_run_without_checkpoint_says_how_to_start_it_again(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.csv").write_text("stage,epoch,iteration\n")  # killed before its first save
    before = snapshot(out)
    status = main(train_argv(out, "--resume"))
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"no checkpoint to resume at {out / 'checkpoint.npz'}" in err and "--overwrite" in err
    assert snapshot(out) == before


def test_resume_refuses_options_the_run_cannot_honour_and_names_them(run, capsys):
    before = snapshot(run)
    status = main(train_argv(run, "--resume", "--lr", "0.5", "--seed", "3", "--objectness",
                             "sigmoid"))  # fmt: skip
    _one_line_error(capsys, status, "cannot change", "--lr 0.5", "--seed 3", "--objectness")
    assert snapshot(run) == before


def test_resume_with_more_epochs_trains_them(run):
    # the run was started with --epochs 3 (9 steps); --epochs 4 makes it 12 steps long
    assert main(train_argv(run, "--resume", "--epochs", "4", steps=10)) == 0
    assert _iteration(run) == 10
    saved = json.loads(str(serialization.load(run / "checkpoint.npz")["train_config"]))
    assert saved["epochs"] == 4


def test_resume_refuses_fewer_epochs_than_done(run, capsys):
    before = snapshot(run)
    status = main(train_argv(run, "--resume", "--epochs", "1"))
    _one_line_error(capsys, status, "--epochs 1", "already done")
    assert snapshot(run) == before


# --------------------------------------------------------------------------- full disk, read-only
def test_a_full_disk_during_the_save_keeps_the_previous_checkpoint(run, tmp_path):
    # a real failed write: the child cannot write files above 1 MB (the checkpoint is ~8 MB)
    before = snapshot(run)
    code = cli_code(
        train_argv(run, "--resume", steps=6),
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))",
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
        env=child_env(), timeout=300,
    )  # fmt: skip
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert f"cannot write the checkpoint {run / 'checkpoint.npz'}" in r.stderr, r.stderr
    assert "(step 4) is intact" in r.stderr, r.stderr
    assert (run / "checkpoint.npz").read_bytes() == before["checkpoint.npz"]
    assert temporaries(run) == []
    assert log_rows(run)[:4] == log_rows_of(before)  # nothing logged before is lost


def log_rows_of(files: dict[str, bytes]) -> list[tuple]:
    import csv

    rows = csv.DictReader(io.StringIO(files["log.csv"].decode()))
    return [tuple(v for k, v in r.items() if k != "img_per_s") for r in rows]


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only: chmod for a normal user; for root (whom chmod does not stop),
    every write-open of a path inside it is refused with EACCES, as the kernel would."""
    folders: list[Path] = []
    real_os_open, real_open = os.open, builtins.open

    def inside(path) -> bool:
        if isinstance(path, int):  # a file descriptor
            return False
        p = Path(os.fsdecode(path)).absolute()
        return any(f == p or f in p.parents for f in folders)

    def refuse(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def make(folder: Path) -> None:
        folders.append(folder.absolute())
        if os.geteuid() != 0:
            folder.chmod(0o555)
        else:
            monkeypatch.setattr(os, "open", os_open)
            monkeypatch.setattr(builtins, "open", open_)
            monkeypatch.setattr(io, "open", open_)

    yield make
    if os.geteuid() != 0:
        for folder in folders:
            folder.chmod(0o755)


def test_resume_into_a_read_only_folder_names_it_and_changes_nothing(run, capsys, read_only):
    before = snapshot(run)
    read_only(run)
    status = main(train_argv(run, "--resume"))
    _one_line_error(capsys, status, str(run), "Permission denied")
    assert snapshot(run) == before


def test_a_new_run_into_a_read_only_folder_fails_before_training(tmp_path, capsys, read_only):
    out = tmp_path / "empty"
    out.mkdir()
    read_only(out)
    status = main(train_argv(out))
    _one_line_error(capsys, status, f"cannot write into the run folder {out}", "Permission denied")
    assert list(out.iterdir()) == []
