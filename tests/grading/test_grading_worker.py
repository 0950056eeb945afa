"""The worker isolates the student's code: whatever it does, the grader gets an Outcome."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from bboxcore.grading.worker import OUTPUT_LIMIT, Opaque, Worker

SUBMISSIONS = Path(__file__).parent / "submissions"
BOXES = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]])
SCORES = np.array([0.9, 0.8])


@pytest.fixture(scope="module")
def hostile():
    with Worker(str(SUBMISSIONS / "hostile_misc.py"), "nms", timeout=1.0, memory_mb=1024) as w:
        yield w


def test_worker_returns_plain_answers(hostile):
    out = hostile.call(BOXES, SCORES, 0.5)
    assert out.ok and out.value.tolist() == [0, 1] and out.changed == (False, False, False)


@pytest.mark.parametrize(
    "t, status, text",
    [
        (0.11, "ok", "Weird"),  # an object of the student's own class: not unpickled here
        (0.12, "raised", "SystemExit: 3"),
        (0.13, "died", "exited with status 4"),
        (0.14, "raised", "MemoryError"),
        (0.15, "timeout", "no answer within 1 s"),
        (0.16, "raised", "ZeroDivisionError: on purpose"),
        (0.17, "ok", "str"),
    ],
)
def test_worker_survives_misbehaviour(hostile, t, status, text):
    out = hostile.call(BOXES, SCORES, t)
    assert out.status == status
    shown = repr(out.value) if out.ok else out.error
    assert text in shown
    if out.ok:
        assert isinstance(out.value, Opaque)
    again = hostile.call(BOXES, SCORES, 0.5)  # killed or not, the next call works
    assert again.ok and again.value.tolist() == [0, 1]


def test_worker_reports_inputs_modified_in_place(hostile):
    boxes = BOXES.copy()
    out = hostile.call(boxes, SCORES, 0.18)
    assert out.changed == (True, False, False)
    assert boxes[0, 0] == 0.0  # the grader's copy is untouched


def test_worker_never_imports_the_submission_here():
    nms_module = importlib.import_module("bboxcore.nms")
    original = nms_module.nms
    with Worker(str(SUBMISSIONS / "patch_bboxcore_wrong.py"), "nms") as w:
        assert w.call(BOXES, SCORES, 0.5).ok
    assert "student_submission" not in sys.modules
    assert nms_module.nms is original
    assert np.argsort(np.array([2, 1])).tolist() == [1, 0]


def test_worker_captures_and_truncates_output():
    with Worker(str(SUBMISSIONS / "noisy_correct.py"), "nms") as w:
        assert w.call(BOXES, SCORES, 0.5).ok
    out = w.output  # after close, which waits for the thread that drains the output
    assert out.startswith("loading my NMS")
    assert "more bytes not shown" in out and len(out) < OUTPUT_LIMIT + 100


def test_worker_load_errors(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def nms(boxes, scores, iou_thresh)\n    return []\n")
    with Worker(str(bad), "nms") as w:
        assert not w.start() and w.load_error.startswith("SyntaxError")
        assert w.call(BOXES, SCORES, 0.5).status == "not_loaded"
    other = tmp_path / "other.py"
    other.write_text("def my_nms(boxes, scores, iou_thresh):\n    return []\n")
    with Worker(str(other), "nms") as w:
        assert not w.start()
        assert "no function named 'nms'" in w.load_error and "my_nms" in w.load_error
    with Worker(str(other), "my_nms") as w:
        assert w.call(BOXES, SCORES, 0.5).value.tolist() == []


def test_worker_import_that_hangs_times_out(tmp_path):
    slow = tmp_path / "slow.py"
    slow.write_text("while True:\n    pass\n")
    with Worker(str(slow), "nms", timeout=0.2, startup_seconds=2.0) as w:
        assert not w.start() and "longer than" in w.load_error
