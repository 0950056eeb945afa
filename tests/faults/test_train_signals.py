"""Signals during ``bboxcore train``: SIGINT/SIGTERM/SIGKILL at random moments and during the save.

Each run is a child process (a real signal, a real exit status). After the
interrupt, ``--resume`` must continue to exactly the log of an uninterrupted
run, the message must say truthfully at which step the checkpoint was written,
and nothing half-written may stay in the run folder.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from bboxcore.cli import main
from bboxcore.models.trainer import _signals_deferred
from bboxcore.nn import serialization
from tests.faults.training import (
    cli_code,
    log_rows,
    rows_logged,
    snapshot,
    start,
    temporaries,
    train_argv,
    wait_for,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SIGINT, SIGTERM = signal.SIGINT, signal.SIGTERM


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The log of the uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(train_argv(out)) == 0
    return log_rows(out)


def _iteration(out) -> int:
    return int(serialization.load(out / "checkpoint.npz")["position"]["iteration"])


def _assert_truthful_stop(proc, out, first: signal.Signals) -> int:
    """The child stopped on ``first`` after saving; returns the step of its checkpoint."""
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + first, (proc.returncode, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and all(x.startswith("bboxcore train: ") for x in lines), err
    # at once: the signal is acknowledged; at the end, one line says what was saved
    assert lines[0] == f"bboxcore train: {first.name}: stopping after this step; " + (
        "the checkpoint will be saved"
    ), err
    step = _iteration(out)
    assert f"interrupted by {first.name} after step {step}" in lines[-1], err
    assert f"checkpoint written at step {step}: {out / 'checkpoint.npz'}" in lines[-1], err
    assert rows_logged(out) == step  # the log holds exactly the saved steps
    assert temporaries(out) == []
    return step


#: Python run in the child before ``bboxcore train``: on call ``AT`` of ``HOOK``
#: (a part of a training step) the process signals itself with ``SIGNALS``,
#: ``GAPS`` seconds apart. Sent from inside the step, the signals land in the
#: training loop however fast the machine is (from the parent they could arrive
#: after a short run had already ended).
SIGNALS_IN_A_STEP = """
import os, signal, time
import bboxcore.models.trainer as trainer
from bboxcore.nn import Tensor
SIGNALS, GAPS, HOOK, AT = {signals!r}, {gaps!r}, {hook!r}, {at!r}
_calls = []
def _send():
    _calls.append(1)
    if len(_calls) == AT:
        for signum, gap in zip(SIGNALS, GAPS):
            time.sleep(gap)
            os.kill(os.getpid(), signum)
if HOOK == "backward":
    _backward = Tensor.backward
    def _hooked(self, *a, **k):
        _send()
        return _backward(self, *a, **k)
    Tensor.backward = _hooked
else:
    _original = getattr(trainer, HOOK)
    def _hooked(*a, **k):
        _send()
        return _original(*a, **k)
    setattr(trainer, HOOK, _hooked)
"""

#: Where in a step the signals come: loading the batch, the backward pass, the
#: gradient clipping just before the optimiser step.
HOOKS = ("load_batch", "backward", "clip_grad_norm")


@pytest.mark.parametrize(
    "signals, seed",
    [
        ((SIGINT,), 0),
        ((SIGINT, SIGINT), 1),  # two quick Ctrl-C: the second must not cut the save short
        ((SIGTERM,), 2),
        ((SIGTERM, SIGINT, SIGTERM, SIGINT), 3),
    ],
)
def test_signals_at_random_moments_save_then_resume_repeats_the_uninterrupted_log(
    tmp_path, reference, signals, seed
):
    rng = np.random.default_rng(seed)
    out = tmp_path / "run"
    # each part of a step in turn, a random step of steps 1-3, signals 0-20 ms apart
    hook, at = HOOKS[seed % len(HOOKS)], int(rng.integers(1, 4))
    gaps = [0.0] + [float(rng.uniform(0, 0.02)) for _ in signals[1:]]
    prelude = SIGNALS_IN_A_STEP.format(
        signals=[int(s) for s in signals], gaps=gaps, hook=hook, at=at
    )
    proc = start(cli_code(train_argv(out), prelude), tmp_path)
    step = _assert_truthful_stop(proc, out, signals[0])
    assert step == at  # the step under way when the first signal came was finished, then saved
    assert main(train_argv(out, "--resume")) == 0
    assert log_rows(out) == reference


#: Python run in the child before ``bboxcore train``: the first checkpoint save
#: signals the process itself three times while the file is being written.
SIGNALS_DURING_SAVE = """
import os, signal
import numpy as np
_savez, _calls = np.savez, []
def _savez_with_signals(*args, **kwargs):
    _calls.append(1)
    if len(_calls) == 1:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
            os.kill(os.getpid(), s)
    return _savez(*args, **kwargs)
np.savez = _savez_with_signals
"""


def test_sigint_and_sigterm_during_the_save_cannot_lose_the_checkpoint(tmp_path, reference):
    out = tmp_path / "run"
    proc = start(cli_code(train_argv(out), SIGNALS_DURING_SAVE), tmp_path)
    step = _assert_truthful_stop(proc, out, SIGINT)
    assert step == 3  # the save at the end of epoch 1 completed, then the run stopped
    assert main(train_argv(out, "--resume")) == 0
    assert log_rows(out) == reference


#: The first checkpoint save writes its data, then stalls (so that the parent
#: can SIGKILL the child inside the save, after the temporary file is complete).
STALL_IN_SAVE = """
import pathlib, time
import numpy as np
_savez = np.savez
def _savez_stalled(*args, **kwargs):
    _savez(*args, **kwargs)
    pathlib.Path("saving").write_text("")
    time.sleep(600)
np.savez = _savez_stalled
"""


def test_sigkill_at_a_random_moment_and_inside_a_save_then_resume_repeats_the_log(
    tmp_path, reference
):
    rng = np.random.default_rng(7)
    out = tmp_path / "run"
    # 1. SIGKILL at a random moment after the first checkpoint (step 3)
    proc = start(cli_code(train_argv(out)), tmp_path)
    wait_for(lambda: rows_logged(out) >= 4 or proc.poll() is not None)
    time.sleep(float(rng.uniform(0, 0.3)))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    saved = _iteration(out)
    assert saved in (3, 6, 7)
    # 2. resume, and SIGKILL inside the first save, once its temporary file is written
    proc = start(cli_code(train_argv(out, "--resume"), STALL_IN_SAVE), tmp_path)
    wait_for(lambda: (tmp_path / "saving").exists() or proc.poll() is not None)
    assert proc.poll() is None  # every run saves at least once (at --max-iters)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _iteration(out) == saved  # the interrupted save never replaced the checkpoint
    assert temporaries(out)  # a killed process cannot clean up ...
    # 3. resume to the end
    assert main(train_argv(out, "--resume")) == 0
    assert temporaries(out) == []  # ... the resumed run does
    assert log_rows(out) == reference


#: Reading the checkpoint to resume sends SIGTERM to the process itself.
SIGTERM_WHILE_LOADING = """
import os, signal
from bboxcore.nn import serialization
_load = serialization.load
def _load_terminated(path):
    os.kill(os.getpid(), signal.SIGTERM)
    return _load(path)
serialization.load = _load_terminated
"""


def test_sigterm_before_training_resumes_reports_the_untouched_checkpoint(tmp_path):
    out = tmp_path / "run"
    assert main(train_argv(out, steps=2)) == 0
    before = snapshot(out)
    proc = start(cli_code(train_argv(out, "--resume"), SIGTERM_WHILE_LOADING), tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + SIGTERM, (proc.returncode, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f"interrupted by SIGTERM; the checkpoint {out / 'checkpoint.npz'} was left" in err
    assert snapshot(out) == before


def _send_from_another_thread(signum: signal.Signals) -> None:
    """``kill`` the process from a thread that does not block the signal (as BLAS's workers)."""
    sender = threading.Thread(target=os.kill, args=(os.getpid(), signum))
    sender.start()
    sender.join()
    time.sleep(0.05)  # bytecodes of the main thread run: a handler would have been called


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="handlers: main thread"
)
def test_a_save_holds_signals_back_from_every_thread_and_delivers_them_in_order_after_it():
    received: list[int] = []

    def record(signum, frame):
        received.append(signum)

    previous = {s: signal.signal(s, record) for s in (SIGINT, SIGTERM)}
    try:
        with _signals_deferred():
            for signum in (SIGTERM, SIGINT, SIGTERM):
                _send_from_another_thread(signum)
            during = list(received)
        after = list(received)
        handlers = [signal.getsignal(s) for s in (SIGINT, SIGTERM)]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert during == []  # a signal mask of the main thread alone lets these through
    assert after == [SIGTERM, SIGINT, SIGTERM]
    assert handlers == [record, record]  # the handlers are back
