"""The NMS judge is fair (every greedy answer passes) and strict (wrong answers fail).

No student code runs here: the judge is checked against slow greedy loops
written in the test, the bboxcore reference, and hand-built cases.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.grading.nms.judge import (
    IOU_TOL,
    as_keep,
    nms_decisions,
    nms_failure,
)
from bboxcore.grading.worker import Opaque
from bboxcore.iou import box_iou
from bboxcore.nms import nms
from tests.strategies import grid_nms_problems


def greedy_nms(boxes, scores, iou_thresh, tie_key):
    """Seed 002, A3.b, one box at a time; equal scores taken in increasing ``tie_key``."""
    iou = box_iou(boxes, boxes)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], tie_key[i]))
    keep: list[int] = []
    for j in order:
        if all(not iou[i, j] > iou_thresh for i in keep):
            keep.append(j)
    return np.array(keep, dtype=np.int64)


def _case(boxes, scores):
    return np.array(boxes, dtype=np.float64), np.array(scores, dtype=np.float64)


# --------------------------------------------------------------------------- fair
@given(grid_nms_problems())
def test_nms_judge_accepts_reference_answer(problem):
    boxes, scores, t = problem
    assert nms_failure(boxes, scores, t, nms(boxes, scores, t)) is None


@given(grid_nms_problems(), st.randoms(use_true_random=False))
def test_nms_judge_accepts_any_tie_order(problem, rnd):
    boxes, scores, t = problem
    tie_key = list(range(len(scores)))
    rnd.shuffle(tie_key)
    keep = greedy_nms(boxes, scores, t, tie_key)
    assert nms_failure(boxes, scores, t, keep) is None


@given(grid_nms_problems())
def test_nms_judge_accepts_float32_answer(problem):
    boxes, scores, t = problem
    keep = nms(boxes.astype(np.float32), scores.astype(np.float32), t)
    assert nms_failure(boxes, scores, t, keep) is None


@given(grid_nms_problems(max_size=8))
def test_nms_judge_rejects_a_reference_answer_missing_its_best_box(problem):
    boxes, scores, t = problem
    keep = nms(boxes, scores, t)
    if keep.size == 0:
        return
    best = keep[0]
    iou, over, either = nms_decisions(boxes, t)
    rival = (scores >= scores[best]) & (over[best] | either[best])
    rival[best] = False
    if not rival.any():  # nothing could have removed the best box: dropping it is wrong
        assert nms_failure(boxes, scores, t, keep[1:]) is not None


# --------------------------------------------------------------------------- worked cases
def test_nms_judge_exact_threshold_pair_is_kept():
    # I / U = 2 / 4 = 0.5 exactly, in float32 and float64 alike
    boxes, scores = _case([[0, 0, 3, 1], [1, 0, 4, 1]], [0.9, 0.8])
    assert nms_failure(boxes, scores, 0.5, np.array([0, 1])) is None
    f = nms_failure(boxes, scores, 0.5, np.array([0]))
    assert f is not None and f.details["pair"] == (0, 1) and f.details["iou"] == 0.5


def test_nms_judge_equal_but_inexact_threshold_may_go_either_way():
    # I / U = 3 / 10 = 0.3, but 0.3 is not a float32: a float32 IoU may land above it
    boxes, scores = _case([[0, 0, 6.5, 1], [3.5, 0, 10, 1]], [0.9, 0.8])  # I = 3, U = 10
    _, over, either = nms_decisions(boxes, 0.3)
    assert either[0, 1] and not over[0, 1]
    assert nms_failure(boxes, scores, 0.3, np.array([0])) is None
    assert nms_failure(boxes, scores, 0.3, np.array([0, 1])) is None


def test_nms_judge_near_threshold_goes_either_way():
    boxes, scores = _case([[0, 0, 3, 1], [1, 0, 4, 1]], [0.9, 0.8])
    for t in (0.5 - IOU_TOL / 2, 0.5 + IOU_TOL / 2):
        assert nms_failure(boxes, scores, t, np.array([0])) is None
        assert nms_failure(boxes, scores, t, np.array([0, 1])) is None


def test_nms_judge_chain_of_ties():
    # IoU(0, 1) = IoU(1, 2) = 3/5 > 0.5 and IoU(0, 2) = 2/6: {0, 2} or {1}, nothing else
    boxes, scores = _case([[0, 0, 4, 1], [1, 0, 5, 1], [2, 0, 6, 1]], [0.4, 0.4, 0.4])
    for keep in ([0, 2], [2, 0], [1]):
        assert nms_failure(boxes, scores, 0.5, np.array(keep)) is None, keep
    for keep in ([0], [2], [0, 1], [1, 2], [0, 1, 2], []):
        assert nms_failure(boxes, scores, 0.5, np.array(keep, dtype=np.int64)) is not None, keep


def test_nms_judge_zero_area_pairs_are_undefined():
    boxes, scores = _case([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 2]], [0.9, 0.8, 0.7])
    assert nms_failure(boxes, scores, 0.5, np.array([0, 1, 2])) is None
    assert nms_failure(boxes, scores, 0.5, np.array([0, 2])) is None  # NaN <= t is False
    assert nms_failure(boxes, scores, 0.5, np.array([0, 1])) is not None  # 0 / 4 decided


def test_nms_judge_order_range_and_duplicates():
    boxes, scores = _case([[0, 0, 1, 1], [5, 5, 6, 6]], [0.2, 0.9])
    assert "decreasing score order" in nms_failure(boxes, scores, 0.5, np.array([0, 1])).message
    assert "out of range" in nms_failure(boxes, scores, 0.5, np.array([1, 2])).message
    assert "more than once" in nms_failure(boxes, scores, 0.5, np.array([1, 1])).message


def test_as_keep_names_what_was_returned():
    assert as_keep([])[1] == ""
    assert as_keep(np.array([1.0, 0.0]))[0].tolist() == [1, 0]
    assert "None" in as_keep(None)[1]
    assert "mask" in as_keep(np.array([True, False]))[1]
    assert "boxes, not indices" in as_keep(np.zeros((2, 4)))[1]
    assert "non-integer" in as_keep(np.array([0.5]))[1]
    assert "1-D" in as_keep(np.zeros((2, 2), dtype=int))[1]
    assert "Weird" in as_keep(Opaque("Weird", "Weird()"))[1]
