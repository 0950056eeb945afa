"""Realistic mistakes (tests/grading/submissions/mistakes/): each gets the right hint.

Every file there is a mistake found in students' code (py-faster-rcnn's
``py_cpu_nms`` and ``bbox_transform`` copied with their "+1", chainercv's
y-first offsets, Bodla's Soft-NMS code with its "+1" areas, and the usual
slips), and its docstring names the catalogued mistake it is (``expect: key``)
or ``expect: none`` for a mistake outside the catalogue, which must then get
the honest "no catalogued mistake reproduces your answers" hint. The share of
specific hints must stay at or above 95 %. Graded in this process (plain
files, nothing hostile), without the hypothesis search (not needed for hints).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.runner import grade_with
from bboxcore.grading.worker import InProcessWorker

#: The students' code divides 0 by 0 now and then, as students' code does.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

MISTAKES = Path(__file__).parent / "submissions" / "mistakes"
PREFIX = {
    "nms": "nms",
    "iou": "iou",
    "b2l": "bbox2loc",
    "l2b": "loc2bbox",
    "soft": "soft_nms",
    "anchors": "anchor_labels",
    "roi": "roi_align",
    "iouloss": "iou_loss_grad",
}
#: Files at least per assignment (the later assignments have fewer so far).
AT_LEAST = {"anchor_labels": 5, "roi_align": 5, "iou_loss_grad": 5}
FILES = sorted(MISTAKES.glob("*.py"))
#: The longest text report a failing submission may produce.
MAX_REPORT_LINES = 100


def _grade(path: Path):
    name = PREFIX[path.name.split("_")[0]]
    a = copy.copy(ASSIGNMENTS[name])
    a.checks = lambda: [c for c in type(a).checks(a) if not c.search and c.name != "large_input"]
    return name, grade_with(a, str(path), function=name, worker_factory=InProcessWorker)


def _expected(path: Path) -> str:
    return re.search(r"expect: (\w+)", path.read_text()).group(1)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_realistic_mistake_gets_its_hint(path):
    name, report = _grade(path)
    expect = _expected(path)
    assert not report.passed
    if expect == "none":
        assert report.hint.startswith("no catalogued mistake reproduces your answers")
    else:
        assert report.hint == ASSIGNMENTS[name].bug_hints[expect], report.to_text()
    assert len(report.to_text().splitlines()) <= MAX_REPORT_LINES


def test_share_of_realistic_mistakes_with_a_specific_hint():
    expected = [_expected(p) for p in FILES]
    assert len(FILES) >= 60
    assert sum(e != "none" for e in expected) / len(expected) >= 0.95
    for name in PREFIX.values():  # every assignment is represented
        assert sum(PREFIX[p.name.split("_")[0]] == name for p in FILES) >= AT_LEAST.get(name, 10)
