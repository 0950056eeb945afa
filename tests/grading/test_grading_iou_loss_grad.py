"""The iou_loss_grad assignment: correct styles pass, each catalogued mistake fails with a hint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.cli import main
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.iou_loss_grad.bugs import IOU_LOSS_GRAD_HINTS, buggy_iou_loss_grad

from .test_grading_catalogue import grade_fn

SUBMISSIONS = Path(__file__).parent / "submissions"


def loss(p, t):
    """-ln IoU per row, written independently of bboxcore (boxes around the origin)."""
    a = np.stack([-p[:, 0], -p[:, 1], p[:, 2], p[:, 3]], axis=1)
    b = np.stack([-t[:, 0], -t[:, 1], t[:, 2], t[:, 3]], axis=1)
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = wh.prod(axis=1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return -np.log(inter / (area(a) + area(b) - inter))


def vectorised_le(p, t):
    """Broadcasting, with `<=` at the kink (the other one-sided derivative)."""
    m = np.minimum(p, t)
    i_h, i_w = m[:, 1] + m[:, 3], m[:, 0] + m[:, 2]
    inter = i_h * i_w
    x = (p[:, 1] + p[:, 3]) * (p[:, 0] + p[:, 2])
    u = x + (t[:, 1] + t[:, 3]) * (t[:, 0] + t[:, 2]) - inter
    dx = np.stack([p[:, 1] + p[:, 3], p[:, 0] + p[:, 2]] * 2, axis=1)
    di = (p <= t) * np.stack([i_h, i_w] * 2, axis=1)
    return dx / u[:, None] - ((u + inter) / (u * inter))[:, None] * di


def float32_paper_form(p, t):
    """UnitBox's printed form (I (dX - dI) - U dI) / (U^2 IoU), in float32."""
    p, t = p.astype(np.float32), t.astype(np.float32)
    m = np.minimum(p, t)
    i_h, i_w = m[:, 1] + m[:, 3], m[:, 0] + m[:, 2]
    inter = (i_h * i_w)[:, None]
    x = ((p[:, 1] + p[:, 3]) * (p[:, 0] + p[:, 2]))[:, None]
    u = x + ((t[:, 1] + t[:, 3]) * (t[:, 0] + t[:, 2]))[:, None] - inter
    dx = np.stack([p[:, 1] + p[:, 3], p[:, 0] + p[:, 2]] * 2, axis=1)
    di = (p < t) * np.stack([i_h, i_w] * 2, axis=1)
    return (inter * (dx - di) - u * di) / (u * u * (inter / u))


@pytest.mark.parametrize("fn", [vectorised_le, float32_paper_form])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_styles_pass(fn, seed):
    report = grade_fn("iou_loss_grad", fn, seed=seed)
    assert report.passed and report.hint == "", report.to_text()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(*[st.floats(0.5, 50.0)] * 8), min_size=1, max_size=4),
)
def test_the_reference_is_the_derivative_of_minus_ln_iou(rows):
    # central finite differences of -ln IoU, away from the kinks of min()
    r = np.array(rows)
    p, t = r[:, :4], r[:, 4:]
    far = np.abs(p - t) > 1e-3
    ref = ASSIGNMENTS["iou_loss_grad"].reference(p, t)
    h = 1e-6
    for k in range(4):
        e = np.zeros_like(p)
        e[:, k] = h
        num = (loss(p + e, t) - loss(p - e, t)) / (2 * h)
        np.testing.assert_allclose(ref[far[:, k], k], num[far[:, k]], rtol=1e-4, atol=1e-6)


def test_the_worked_values_are_the_slides():
    ref = ASSIGNMENTS["iou_loss_grad"].reference(
        np.array([[1.0, 1, 1, 1]]), np.array([[1.0, 1, 3, 1]])
    )
    np.testing.assert_allclose(ref, [[0.25, 0.25, -0.5, 0.25]])


@pytest.mark.parametrize("bug", list(IOU_LOSS_GRAD_HINTS))
def test_each_catalogued_bug_fails_with_its_hint(bug):
    report = grade_fn("iou_loss_grad", lambda p, t: buggy_iou_loss_grad(p, t, bug))
    assert not report.passed
    assert report.hint == IOU_LOSS_GRAD_HINTS[bug], report.to_text()


def test_the_loss_alone_gets_a_shape_hint():
    report = grade_fn("iou_loss_grad", lambda p, t: loss(p, t))
    assert not report.passed and "return the gradient" in report.hint


def test_sample_files_through_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "h"))
    out = tmp_path / "r.json"
    args = ["--examples", "10", "--no-progress", "--json", str(out)]
    good = str(SUBMISSIONS / "iou_loss_grad_correct_loop.py")
    assert main(["grade", "iou_loss_grad", good, *args]) == 0
    bad = str(SUBMISSIONS / "iou_loss_grad_bug_union_constant.py")
    assert main(["grade", "iou_loss_grad", bad, *args]) == 1
    report = json.loads(out.read_text())
    assert report["hint"] == IOU_LOSS_GRAD_HINTS["union_constant"]
    text = capsys.readouterr().out
    assert "Smallest counterexample" in text and "I_h =" in text
