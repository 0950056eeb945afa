"""``bboxcore grade nms`` on sample submissions: right ones pass, buggy ones fail well.

Every right implementation (loop, vectorised, recursive, full matrix, reverse
tie order, float32) must pass; every buggy one must fail, with a counterexample
of at most 4 boxes (when one exists) and the hint naming its bug. The search
budget is reduced (EXAMPLES) to keep the file within its time budget.
"""

from __future__ import annotations

import importlib
import json
import time
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bboxcore.cli import main
from bboxcore.grading import grade, to_junit
from bboxcore.grading.nms.bugs import NMS_BUGS

SUBMISSIONS = Path(__file__).parent / "submissions"
EXAMPLES = 15
#: Per-call limit for the tests: generous for a loaded CI machine, short for the infinite loop.
TIMEOUT = 10.0
LOOP_TIMEOUT = 1.0

CORRECT = [
    "correct_loop",
    "correct_vectorised",
    "correct_recursive",
    "correct_matrix",
    "correct_reverse_ties",
    "correct_float32",
    "noisy_correct",
    "patch_numpy_correct",
]

#: submission -> (text expected in the hint, a check that must fail). The plain logic bugs
#: are graded in-process by test_grading_mistakes.py; these go through the isolated worker.
BUGGY = {
    "bug_ge": (NMS_BUGS["greater_equal"], "exact_threshold"),
    "bug_no_clip": (NMS_BUGS["no_clip"], "thresholds"),
    "bug_returns_boxes": ("not the boxes themselves", "returns_indices"),
    "bug_sorted_positions": (NMS_BUGS["sorted_positions"], "random_cases"),
    "bug_crash_empty": ("on empty input", "empty_input"),
    "bug_mutates": ("in place", "inputs_unchanged"),
    "bug_last_kept": (NMS_BUGS["last_kept_only"], "search"),
    "bug_infinite_loop": ("infinite loop", "single_box"),
    "bug_sys_exit": ("sys.exit()", "loads"),
    "patch_bboxcore_wrong": ("imports bboxcore", "loads"),
    "patch_bboxcore_correct": ("imports bboxcore", "loads"),
    "import_reference": ("imports bboxcore", "loads"),
    "import_reference_lazily": ("imports bboxcore", "loads"),
    "import_torchvision": ("imports torchvision", "loads"),
    "sorts_scores_in_place": ("in place", "inputs_unchanged"),
}


@cache
def _grade(name: str, seed: int = 0):
    timeout = LOOP_TIMEOUT if name == "bug_infinite_loop" else TIMEOUT
    t0 = time.monotonic()
    report = grade(
        "nms", str(SUBMISSIONS / f"{name}.py"), examples=EXAMPLES, timeout=timeout, seed=seed
    )
    return report, time.monotonic() - t0


@pytest.mark.parametrize("name", CORRECT)
def test_grade_nms_passes_correct_implementations(name):
    report, _ = _grade(name)
    assert report.passed, report.to_text()
    assert report.score == report.total == 16
    assert report.counterexample is None and report.hint == ""


@pytest.mark.parametrize("name", list(BUGGY))
def test_grade_nms_fails_buggy_implementations(name):
    hint, check = BUGGY[name]
    report, seconds = _grade(name)
    text = report.to_text()
    assert not report.passed
    status = {c.name: c.status for c in report.checks}
    assert status[check] == "FAIL", text
    assert hint in report.hint, text
    if name == "bug_sys_exit":  # nothing can be called: no counterexample exists
        assert report.counterexample is None and "SystemExit" in report.load_error
    elif check == "loads":  # a finished implementation imported: nothing else counts
        assert "a submission may not use a finished implementation" in text
    else:
        assert report.counterexample is not None, text
        assert len(report.counterexample.data["scores"]) <= 4, text
        assert "your answer:" in text and "expected:" in text
    if name not in ("bug_infinite_loop", "bug_sys_exit") and check != "loads":
        assert "SKIP" not in status.values(), text
    assert seconds < 60  # well within the default total limit of 300 s


def test_grade_nms_counterexample_shows_the_deciding_pair():
    report, _ = _grade("bug_ge")
    ce = report.counterexample.data
    assert ce["pair_iou"] == ce["iou_thresh"]  # the pair sits exactly at the threshold
    assert ce["got"] != ce["expected"]
    assert "deciding pair: IoU(box 0, box 1) = 2 / 4 = 0.5" in report.to_text()


def test_grade_nms_patching_changes_nothing_here():
    nms_module, iou_module = (importlib.import_module(f"bboxcore.{m}") for m in ("nms", "iou"))
    nms_before, iou_before = nms_module.nms, iou_module.box_iou
    wrong, _ = _grade("patch_bboxcore_wrong")
    right, _ = _grade("patch_numpy_correct")
    assert not wrong.passed and right.passed
    assert right.load_error == ""  # the patching itself worked, there
    assert nms_module.nms is nms_before and iou_module.box_iou is iou_before
    assert np.argsort(np.array([3, 1, 2])).tolist() == [1, 2, 0]


def test_grade_nms_reference_import_fails_even_when_caught():
    # the import sits in try/except with a correct fallback: still a failed `loads` check
    report, _ = _grade("patch_bboxcore_correct")
    loads = report.checks[0]
    assert loads.name == "loads" and not loads.passed and "bboxcore" in loads.message
    assert report.hint.startswith("the file imports bboxcore")


def test_grade_nms_mutating_submission_is_not_named_a_sorting_bug():
    # it sorts scores in place (wrong answers follow): the hint is about the mutation
    report, _ = _grade("sorts_scores_in_place")
    assert "in place" in report.hint
    assert report.hint not in NMS_BUGS.values()


def test_grade_nms_infinite_loop_is_cut_by_the_time_limit():
    report, seconds = _grade("bug_infinite_loop")
    single = next(c for c in report.checks if c.name == "single_box")
    assert "time limit" in single.message
    assert any(c.skipped for c in report.checks)  # after two time-outs the rest is skipped
    assert seconds < 20


def test_grade_nms_same_seed_same_report():
    first, _ = _grade("bug_last_kept")
    again = grade("nms", str(SUBMISSIONS / "bug_last_kept.py"), examples=EXAMPLES, timeout=TIMEOUT)
    assert again.to_text() == first.to_text()

    def strip(d):
        return {**d, "checks": [{**c, "seconds": 0} for c in d["checks"]]}

    assert strip(again.to_dict()) == strip(first.to_dict())


def test_grade_nms_output_formats(tmp_path):
    report, _ = _grade("bug_ge")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["score"] == report.score and data["counterexample"]["iou_thresh"] == 0.5
    root = ET.fromstring(to_junit([report, _grade("correct_loop")[0]]))
    assert root.get("tests") == "32" and root.get("failures") == str(report.total - report.score)
    failure = root.find(".//testcase[@name='exact_threshold']/failure")
    assert failure is not None and "Hint:" in failure.text


def test_cli_grade_exit_status_and_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))
    good, bad = str(SUBMISSIONS / "correct_matrix.py"), str(SUBMISSIONS / "bug_ge.py")
    common = ["--examples", "10", "--no-progress"]
    assert main(["grade", "nms", good, *common, "--json", str(tmp_path / "r.json")]) == 0
    assert "Score: 16/16" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True
    out_csv, out_xml = tmp_path / "class.csv", tmp_path / "class.xml"
    status = main(
        ["grade", "nms", good, bad, *common, "--csv", str(out_csv), "--junit", str(out_xml)]
    )
    assert status == 1
    lines = out_csv.read_text().splitlines()
    assert lines[0].startswith("path,assignment,score,total,passed,loads,") and len(lines) == 3
    assert ET.parse(out_xml).getroot().get("tests") == "32"
    assert "1/2 submissions passed every check" in capsys.readouterr().out
    assert main(["grade", "nms", str(tmp_path / "missing.py")]) == 2
