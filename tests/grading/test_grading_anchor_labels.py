"""The anchor_labels assignment: correct styles pass, each catalogued mistake fails with a hint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bboxcore.cli import main
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.anchor_labels.assignment import label_options
from bboxcore.grading.anchor_labels.bugs import ANCHOR_LABELS_HINTS, buggy_anchor_labels

from .test_grading_catalogue import grade_fn

SUBMISSIONS = Path(__file__).parent / "submissions"


def float32_vectorised(anchor, bbox, img_size, pos_thresh, neg_thresh):
    """Written independently of bboxcore, in float32, with the chainer code's np.where."""
    a, b = anchor.astype(np.float32), bbox.astype(np.float32)
    h, w = img_size
    label = np.full(len(a), -1, dtype=np.int32)
    inside = np.flatnonzero((a[:, 0] >= 0) & (a[:, 1] >= 0) & (a[:, 2] <= w) & (a[:, 3] <= h))
    if len(b) == 0 or len(inside) == 0:
        label[inside] = 0 if len(b) == 0 else -1
        return label
    ai = a[inside]
    lt = np.maximum(ai[:, None, :2], b[None, :, :2])
    rb = np.minimum(ai[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    ious = inter / (area(ai)[:, None] + area(b)[None, :] - inter)
    max_ious, gt_max = ious.max(axis=1), ious.max(axis=0)
    lab = np.full(len(inside), -1, dtype=np.int32)
    lab[max_ious < neg_thresh] = 0
    lab[np.where((ious == gt_max) & (gt_max > 0))[0]] = 1
    lab[max_ious >= pos_thresh] = 1
    label[inside] = lab
    return label


def as_list(*args):
    return [int(v) for v in ASSIGNMENTS["anchor_labels"].reference(*args)]


@pytest.mark.parametrize("fn", [float32_vectorised, as_list])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_styles_pass(fn, seed):
    report = grade_fn("anchor_labels", fn, seed=seed)
    assert report.passed and report.hint == "", report.to_text()


@pytest.mark.parametrize("seed", range(20))
def test_the_reference_label_is_always_an_option(seed):
    a = ASSIGNMENTS["anchor_labels"]
    rng = np.random.default_rng(seed)
    for regime in ("grid", "offgrid", "far", "tiny"):
        case = a.random_case(rng, 40, regime)
        ref = a.reference(*case.args)
        opts = label_options(*case.args)
        assert opts[np.arange(len(ref)), ref + 1].all()


def test_the_worked_values():
    # AnchorTargetCreator's own example: a perfect match, IoU 1/3 (ignored), IoU 0
    anchor = np.array([[0.0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    ref = ASSIGNMENTS["anchor_labels"].reference(anchor, anchor[:1], (40.0, 40.0), 0.7, 0.3)
    assert ref.tolist() == [1, -1, 0]


@pytest.mark.parametrize("bug", list(ANCHOR_LABELS_HINTS))
def test_each_catalogued_bug_fails_with_its_hint(bug):
    report = grade_fn("anchor_labels", lambda *args: buggy_anchor_labels(*args, bug))
    assert not report.passed
    assert report.hint == ANCHOR_LABELS_HINTS[bug], report.to_text()


def test_only_inside_labels_get_a_shape_hint():
    def inside_only(anchor, bbox, img_size, pos_thresh, neg_thresh):
        lab = float32_vectorised(anchor, bbox, img_size, pos_thresh, neg_thresh)
        h, w = img_size
        return lab[(anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w)]

    report = grade_fn("anchor_labels", inside_only)
    assert not report.passed and "one label per anchor" in report.hint


def test_sample_files_through_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "h"))
    out = tmp_path / "r.json"
    args = ["--examples", "10", "--no-progress", "--json", str(out)]
    good = str(SUBMISSIONS / "anchor_labels_correct_loop.py")
    assert main(["grade", "anchor_labels", good, *args]) == 0
    bad = str(SUBMISSIONS / "anchor_labels_bug_neg_after_pos.py")
    assert main(["grade", "anchor_labels", bad, *args]) == 1
    report = json.loads(out.read_text())
    assert report["hint"] == ANCHOR_LABELS_HINTS["neg_after_pos"]
    text = capsys.readouterr().out
    assert "Smallest counterexample" in text and "best inside anchor of GT" in text
