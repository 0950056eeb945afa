"""``bboxcore grade soft_nms``: the judge follows the student's picks fairly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.grading import ASSIGNMENTS, grade
from bboxcore.grading.soft_nms.assignment import soft_nms_failure
from bboxcore.grading.soft_nms.bugs import SOFT_NMS_BUGS
from bboxcore.grading.soft_nms.cases import random_soft_case
from bboxcore.nms_variants import soft_nms

SUBMISSIONS = Path(__file__).parent / "submissions"
SOFT = ASSIGNMENTS["soft_nms"]


@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 12),
    st.sampled_from(["linear", "gaussian"]),
    st.sampled_from([0.3, 0.5]),
)
def test_soft_nms_judge_accepts_the_reference_in_float64_and_float32(seed, n, method, t):
    case = random_soft_case(np.random.default_rng(seed), n, method, t)
    boxes, scores, t, sigma, st_, method = case.args
    for dtype in (np.float64, np.float32):
        keep, kept = soft_nms(boxes.astype(dtype), scores.astype(dtype), t, sigma, st_, method)
        assert soft_nms_failure(*case.args, keep, kept.astype(np.float64)) is None


def test_soft_nms_judge_accepts_either_order_of_a_tie():
    boxes = np.array([[0.0, 0.0, 2.0, 2.0], [5.0, 0.0, 7.0, 2.0]])
    args = (boxes, np.array([0.5, 0.5]), 0.3, 0.5, 0.001, "linear")
    for keep in ([0, 1], [1, 0]):
        assert soft_nms_failure(*args, np.array(keep), np.array([0.5, 0.5])) is None
    f = soft_nms_failure(*args, np.array([0, 1]), np.array([0.5, 0.4]))
    assert "score when taken is 0.5" in f.message


@pytest.mark.parametrize("name", ["soft_correct", "soft_correct_float32"])
def test_grade_soft_nms_passes_correct_implementations(name):
    report = grade("soft_nms", str(SUBMISSIONS / f"{name}.py"), examples=10)
    assert report.passed, report.to_text()


@pytest.mark.parametrize(
    "name, bug", [("soft_bug_hard", "hard"), ("soft_bug_no_resort", "no_resort")]
)
def test_grade_soft_nms_fails_buggy_implementations(name, bug):
    report = grade("soft_nms", str(SUBMISSIONS / f"{name}.py"), examples=10)
    assert not report.passed
    assert report.hint == SOFT_NMS_BUGS[bug], report.to_text()
    assert report.counterexample is not None and len(report.counterexample.data["scores"]) <= 4
