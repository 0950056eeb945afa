"""The smooth_l1 assignment: correct styles pass, each catalogued mistake fails with its hint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bboxcore.cli import main
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.smooth_l1.bugs import SMOOTH_L1_HINTS, buggy_smooth_l1

from .test_grading_catalogue import grade_fn

SUBMISSIONS = Path(__file__).parent / "submissions"


def vectorised(x, sigma):
    """Written independently of bboxcore: torchvision-style with beta = 1 / sigma**2."""
    beta = 1.0 / sigma**2
    ax = np.abs(x)
    loss = np.where(ax < beta, 0.5 * ax**2 / beta, ax - 0.5 * beta)
    grad = np.where(ax < beta, x / beta, np.sign(x))
    return loss, grad


def float32_le(x, sigma):
    x = np.asarray(x, dtype=np.float32)
    s2 = np.float32(sigma) ** 2
    inside = np.abs(x) <= 1 / s2
    return (
        np.where(inside, np.float32(0.5) * s2 * x * x, np.abs(x) - np.float32(0.5) / s2),
        np.where(inside, s2 * x, np.sign(x)),
    )


def as_lists(x, sigma):
    loss, grad = vectorised(x, sigma)
    return list(loss), list(grad)


@pytest.mark.parametrize("fn", [vectorised, float32_le, as_lists])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_styles_pass(fn, seed):
    report = grade_fn("smooth_l1", fn, seed=seed)
    assert report.passed and report.hint == "", report.to_text()


def test_the_worked_values_are_the_slides():
    # sigma = 1 (Fast R-CNN, Eq. 3; Detection - 3 stages, B5): 0.5 x^2 if |x| < 1 else |x| - 0.5
    x = np.array([0.0, 0.5, -0.5, 1.0, 2.0, -3.0])
    ref = ASSIGNMENTS["smooth_l1"].reference(x, 1.0)
    np.testing.assert_allclose(ref[:, 0], [0, 0.125, 0.125, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(ref[:, 1], [0, 0.5, -0.5, 1, 1, -1])
    # sigma = 3: 0.5 * 9 * 0.05^2 inside, 0.2 - 0.5 / 9 outside
    ref = ASSIGNMENTS["smooth_l1"].reference(np.array([0.05, 0.2]), 3.0)
    np.testing.assert_allclose(ref[:, 0], [0.5 * 9 * 0.05**2, 0.2 - 0.5 / 9])


@pytest.mark.parametrize("bug", list(SMOOTH_L1_HINTS))
def test_each_catalogued_bug_fails_with_its_hint(bug):
    def student(x, sigma):
        out = buggy_smooth_l1(x, sigma, bug)
        return out[:, 0], out[:, 1]

    report = grade_fn("smooth_l1", student)
    assert not report.passed
    assert report.hint == SMOOTH_L1_HINTS[bug], report.to_text()


def test_the_loss_alone_gets_a_shape_hint():
    report = grade_fn("smooth_l1", lambda x, sigma: vectorised(x, sigma)[0])
    assert not report.passed and "return two arrays, (loss, grad)" in report.hint


def test_sample_files_through_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "h"))
    out = tmp_path / "r.json"
    args = ["--examples", "10", "--no-progress", "--json", str(out)]
    good = str(SUBMISSIONS / "smooth_l1_correct_loop.py")
    assert main(["grade", "smooth_l1", good, *args]) == 0
    bad = str(SUBMISSIONS / "smooth_l1_bug_threshold_one.py")
    assert main(["grade", "smooth_l1", bad, *args]) == 1
    report = json.loads(out.read_text())
    assert report["hint"] == SMOOTH_L1_HINTS["threshold_one"]
    text = capsys.readouterr().out
    assert "Smallest counterexample" in text and "the switch at |x| = 1/sigma^2" in text
