"""``bboxcore grade`` for the array assignments: iou, bbox2loc, loc2bbox."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bboxcore.grading import ASSIGNMENTS, grade
from bboxcore.grading.runner import Case

SUBMISSIONS = Path(__file__).parent / "submissions"
EXAMPLES = 10


@pytest.mark.parametrize(
    "assignment, name",
    [
        ("iou", "iou_correct_loop"),
        ("iou", "iou_correct_broadcast"),  # float32, NaN for two zero-area boxes
        ("bbox2loc", "bbox2loc_correct"),
        ("loc2bbox", "loc2bbox_correct"),
    ],
)
def test_grade_passes_correct_array_assignments(assignment, name):
    report = grade(assignment, str(SUBMISSIONS / f"{name}.py"), examples=EXAMPLES)
    assert report.passed, report.to_text()


@pytest.mark.parametrize(
    "assignment, name, hint, check",
    [
        ("iou", "iou_bug_plus_one", "add 1 to widths", "touching_edges"),
        ("iou", "iou_bug_transposed", "transposed", "returns_array"),
        ("bbox2loc", "bbox2loc_bug_yx", "x first", "worked_values"),
        ("loc2bbox", "loc2bbox_bug_no_exp", "the exp is missing", "inverts_bbox2loc"),
    ],
)
def test_grade_fails_buggy_array_assignments(assignment, name, hint, check):
    report = grade(assignment, str(SUBMISSIONS / f"{name}.py"), examples=EXAMPLES)
    text = report.to_text()
    assert not report.passed
    assert {c.name: c.status for c in report.checks}[check] == "FAIL", text
    assert hint in report.hint, text
    assert report.counterexample is not None and "expected:" in text


@pytest.mark.parametrize("name", ["iou", "bbox2loc", "loc2bbox"])
def test_array_judge_accepts_the_reference_in_float32(name):
    a = ASSIGNMENTS[name]
    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 40):
        case = a.random_case(rng, n)
        ref32 = a.reference(*(x.astype(np.float32) for x in case.args))
        assert a.judge_value(case, ref32) is None


def test_iou_judge_accepts_nan_only_for_two_zero_area_boxes():
    a = ASSIGNMENTS["iou"]
    boxes = np.array([[1.0, 1.0, 1.0, 3.0], [0.0, 0.0, 4.0, 4.0]])
    case = Case((boxes, boxes), "")
    got = np.array([[np.nan, 0.0], [0.0, 1.0]])
    assert a.judge_value(case, got) is None
    got[0, 1] = np.nan
    assert "IoU(boxes1[0], boxes2[1])" in a.judge_value(case, got).message


def test_large_failure_shrinks_to_a_few_rows_and_a_short_report():
    # the failure hangs on 2 of 10 000 rows: delta debugging finds one, through the worker
    report = grade("loc2bbox", str(SUBMISSIONS / "loc2bbox_bug_border.py"), examples=5)
    text = report.to_text()
    status = {c.name: c.status for c in report.checks}
    assert status["large_input"] == "FAIL" and status["random_cases"] == "PASS", text
    ce = report.counterexample
    assert ce.found_by == "check large_input, shrunk", text
    assert len(ce.data["src_bbox"]) == 1, text  # one row, and its values rounded
    assert len(text.splitlines()) < 60
    original = ce.data["original_case"]  # the full case for the teacher, capped
    assert original["src_bbox_rows"] == 10_000 and len(original["src_bbox"]) == 1000
    assert report.hint.startswith("no catalogued mistake reproduces your answers")
    assert "large_input" in report.hint
