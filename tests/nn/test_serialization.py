"""Checkpoints: round trips, and atomic writes that a crash cannot corrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bboxcore.nn import BatchNorm2d, Conv2d, Sequential, load, save
from bboxcore.nn import serialization as ser


def test_module_checkpoint_round_trip(tmp_path):
    net = Sequential(Conv2d(3, 4, 3, rng=np.random.default_rng(0)), BatchNorm2d(4))
    path = tmp_path / "net.npz"
    save(path, net)
    other = Sequential(Conv2d(3, 4, 3, rng=np.random.default_rng(1)), BatchNorm2d(4))
    other.load_state_dict(load(path))
    for (ka, va), (kb, vb) in zip(net.state_dict().items(), other.state_dict().items()):
        assert ka == kb and va.dtype == vb.dtype
        np.testing.assert_array_equal(va, vb)
    assert path.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_nested_checkpoint_round_trip_keeps_numbers_and_strings(tmp_path):
    state = {"model": {"0.weight": np.arange(3.0)}, "epoch": 7, "lr": 0.5, "note": "best"}
    save(tmp_path / "c.npz", state)
    back = load(tmp_path / "c.npz")
    np.testing.assert_array_equal(back["model"]["0.weight"], np.arange(3.0))
    assert int(back["epoch"]) == 7 and float(back["lr"]) == 0.5 and str(back["note"]) == "best"


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save(path, {"w": np.zeros(4)})
    original = np.savez

    def crash_halfway(f, **arrays):
        original(f, **dict(list(arrays.items())[:1]))  # some bytes are already written...
        raise KeyboardInterrupt  # ...then the process is interrupted

    monkeypatch.setattr(ser.np, "savez", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        save(path, {"w": np.ones(4), "v": np.ones(2)})
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"], np.zeros(4))
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind


KILLED_WRITER = """
import sys
import numpy as np
from bboxcore.nn import save
path = sys.argv[1]
big = np.ones(4_000_000)  # 32 MB: each save takes long enough to be killed mid-write
print("ready", flush=True)
k = 1
while True:
    save(path, {"k": k, "w": big * k})
    k += 1
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_checkpoint_killed_mid_write_is_still_a_complete_checkpoint(tmp_path):
    """SIGKILL (no cleanup possible) at a random moment: the file is an old or a new save."""
    path = tmp_path / "ckpt.npz"
    save(path, {"k": 0, "w": np.zeros(4_000_000)})
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.4)  # a few saves in, most likely inside one
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    ckpt = load(path)
    np.testing.assert_array_equal(ckpt["w"], float(ckpt["k"]))  # consistent, fully written


def test_save_rejects_bad_keys_and_values(tmp_path):
    with pytest.raises(ValueError, match="checkpoint keys must be non-empty str without '/'"):
        save(tmp_path / "a.npz", {"a/b": np.ones(1)})
    with pytest.raises(ValueError, match="checkpoint keys"):
        save(tmp_path / "a.npz", {1: np.ones(1)})
    with pytest.raises(TypeError, match="must be numeric or str"):
        save(tmp_path / "a.npz", {"a": object()})
    assert os.listdir(tmp_path) == []


def test_load_of_a_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
