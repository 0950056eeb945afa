"""COCO and VOC matching exactly at their thresholds, beyond the COCO block budget, at huge areas.

The exact cases use integer boxes, one inside the other: IoU = 50 / 100 is exactly the
double 0.5. Both metrics match a detection when IoU >= the threshold: the official COCO
code (``pycocotools`` ``evaluateImg``: ``if ious[d, g] < iou: continue``) and the VOC
devkit (``ovmax > ovthresh``, with the IoU computed in the "+1" pixel convention; bboxcore
documents "at least" for ``iou_thresh``, see :func:`bboxcore.eval.voc_ap`).
"""

from __future__ import annotations

import numpy as np
import pytest

import bboxcore.eval.coco_match as coco_match
from bboxcore.data import Annotation, Detection
from bboxcore.eval import coco_ap, voc_ap
from bboxcore.tools.synthetic import random_detection_set


def det(boxes, scores, labels=None):
    labels = [0] * len(boxes) if labels is None else labels
    return Detection(np.array(boxes, dtype=float).reshape(-1, 4), np.array(labels), scores)


def ann(boxes, labels=None, **kw):
    labels = [0] * len(boxes) if labels is None else labels
    return Annotation(np.array(boxes, dtype=float).reshape(-1, 4), np.array(labels), **kw)


# --------------------------------------------------------------------------- COCO
def test_coco_detection_at_exactly_iou_0_5_is_a_match_at_ap50():
    # IoU = 50 / 100 = 0.5 exactly: a TP at t = 0.50 (AP50 = 1), a miss at 0.55 ... 0.95.
    r = coco_ap([det([[0, 0, 5, 10]], [0.9])], [ann([[0, 0, 10, 10]])]).as_dict()
    assert r["AP50"] == pytest.approx(1.0)
    assert r["AP75"] == 0.0
    assert r["AP"] == pytest.approx(1 / 10)
    assert r["AR100"] == pytest.approx(1 / 10)


def test_coco_detection_at_exactly_iou_0_75_is_a_match_at_ap75():
    r = coco_ap([det([[0, 0, 10, 7.5]], [0.9])], [ann([[0, 0, 10, 10]])]).as_dict()
    assert r["AP75"] == pytest.approx(1.0)
    assert r["AP"] == pytest.approx(6 / 10)  # t = 0.50, 0.55, ..., 0.75


def test_coco_crowd_region_at_exactly_ioa_0_5_ignores_the_detection():
    # a crowd box matches by |D n G| / |D| (IoA): half of the detection inside it = 0.5
    gt = [ann([[0, 0, 10, 10], [100, 0, 110, 10]], iscrowd=[True, False])]
    pred = [det([[5, 0, 15, 10], [100, 0, 110, 10]], [0.9, 0.8])]
    assert coco_ap(pred, gt).as_dict()["AP50"] == pytest.approx(1.0)


@pytest.mark.parametrize("budget", [8, 64, 1000])
def test_coco_matching_beyond_its_block_budget_is_unchanged(budget, monkeypatch):
    rng = np.random.default_rng(budget)
    pred, gt = random_detection_set(
        rng, n_image=12, n_gt=5, n_det=30, n_class=3, img_size=200, crowd_rate=0.1
    )
    expected = coco_ap(pred, gt).stats
    monkeypatch.setattr(coco_match, "BLOCK_BUDGET", budget)
    np.testing.assert_array_equal(coco_ap(pred, gt).stats, expected)


def test_coco_area_ranges_end_at_1e10_inclusive():
    # the "all" range is [0, 1e5^2] as in pycocotools: a box of area exactly 1e10 counts;
    # one of 4e10 is outside every range, so it is ignored with the detection it matches.
    side = 1e5
    gt = [ann([[0, 0, side, side]]), ann([[0, 0, 2 * side, 2 * side], [0, 0, 10, 10]])]
    pred = [
        det([[0, 0, side, side]], [0.9]),
        det([[0, 0, 2 * side, 2 * side], [0, 0, 10, 10]], [0.95, 0.5]),
    ]
    r = coco_ap(pred, gt)
    # 2 positives, both found; the 4e10 pair is ignored, yet it is image 2's top-1 detection
    # (AR1 = 1/2); large is [96^2, 1e10]: only the 1e10 box. pycocotools 2.0 gives the same
    # 12 numbers on these boxes.
    np.testing.assert_allclose(r.stats, [1, 1, 1, 1, -1, 1, 0.5, 1, 1, 1, -1, 1], rtol=1e-12)
    only_huge = coco_ap([det([[0, 0, 2 * side, 2 * side]], [0.9])], [ann([[0, 0, 2e5, 2e5]])])
    assert only_huge.stats[0] == -1  # no positive anywhere: undefined


# --------------------------------------------------------------------------- VOC
def test_voc_detection_at_exactly_iou_thresh_is_a_match():
    r = voc_ap([det([[0, 0, 5, 10]], [0.9])], [ann([[0, 0, 10, 10]])], iou_thresh=0.5)
    assert r.ap.tolist() == [1.0]
    r = voc_ap([det([[0, 0, 4, 10]], [0.9])], [ann([[0, 0, 10, 10]])], iou_thresh=0.5)
    assert r.ap.tolist() == [0.0]


def test_voc_plus_one_measures_inclusive_pixels():
    # "+1" (the devkit): [0, 0, 9, 9] is 10 x 10 = 100 pixels, [0, 0, 9, 4] is 10 x 5 = 50,
    # IoU exactly 0.5: a match. Continuous (default): 36 / 81 < 0.5: a miss.
    pred, gt = [det([[0, 0, 9, 4]], [0.9])], [ann([[0, 0, 9, 9]])]
    assert voc_ap(pred, gt, plus_one=True).ap.tolist() == [1.0]
    assert voc_ap(pred, gt, plus_one=True, iou_thresh=0.5 + 1e-9).ap.tolist() == [0.0]  # = 0.5
    assert voc_ap(pred, gt).ap.tolist() == [0.0]
    # a one-pixel box [3, 3, 3, 3] exists only with "+1"
    one = [det([[3, 3, 3, 3]], [0.9])], [ann([[3, 3, 3, 3]])]
    assert voc_ap(*one, plus_one=True).ap.tolist() == [1.0]


# --------------------------------------------------------------------------- COCO, small cases
# Each expected value below is also what pycocotools 2.0.11 gives on the same boxes (written
# with write_coco / write_coco_results): every one of the 12 numbers agrees.
CROWD = [[0, 0, 10, 10], [50, 0, 60, 10]]  # a crowd region and a regular box


@pytest.mark.parametrize("small", [[5, 5, 6, 5.5], [5, 5, 6, 6]], ids=["area-0.5", "area-1"])
def test_coco_crowd_ioa_of_a_detection_of_area_at_most_1(small):
    # IoA = |D n G| / |D| for any positive |D|, however small: 1 here, so the tiny detection
    # (ranked first) is ignored and the regular box's detection gives AP 1.
    gt = [ann(CROWD, iscrowd=[True, False])]
    pred = [det([small, CROWD[1]], [0.9, 0.8])]
    assert coco_ap(pred, gt).as_dict()["AP"] == pytest.approx(1.0)


def test_coco_zero_area_detection_inside_a_crowd_region_is_a_false_positive():
    # |D| = 0: pycocotools' box IoU (maskApi bbIou) skips a pair without positive width and
    # height, so the IoA is 0, not 0 / 0: neither a vertical nor a horizontal segment inside
    # the region is ignored. Ranked first, the two leave precision 1/3 at the one TP.
    gt = [ann(CROWD, iscrowd=[True, False])]
    pred = [det([[5, 5, 5, 8], [2, 5, 8, 5], CROWD[1]], [0.9, 0.85, 0.8])]
    assert coco_ap(pred, gt).as_dict()["AP"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("side", [32, 96])
def test_coco_detection_area_ranges_are_inclusive(side):
    # A false positive of area exactly 32^2 (96^2) is inside the medium range [32^2, 96^2]
    # (pycocotools ignores an unmatched detection only when area < lo or area > hi): ranked
    # before the medium box's true positive, it halves APm.
    gt = [ann([[0, 0, 50, 50]])]
    pred = [det([[200, 200, 200 + side, 200 + side], [0, 0, 50, 50]], [0.9, 0.8])]
    r = coco_ap(pred, gt).as_dict()
    assert r["APm"] == pytest.approx(0.5)
    assert r["AP"] == pytest.approx(0.5)


def test_coco_zero_area_false_positive_is_counted_in_the_all_range():
    # the range "all" is [0, 1e10]: area 0 is inside it, the FP is counted
    gt = [ann([[0, 0, 10, 10]])]
    pred = [det([[200, 200, 200, 210], [0, 0, 10, 10]], [0.9, 0.8])]
    assert coco_ap(pred, gt).as_dict()["AP"] == pytest.approx(0.5)


def _tie(x=0.0):
    """Two boxes a, b and a detection D with IoU exactly 90 / 110 with each (the same
    arithmetic), and a weaker detection E with IoU 80 / 120 with a but 60 / 140 < 0.5 with b."""
    a, b = [x, 0, x + 10, 10], [x + 2, 0, x + 12, 10]
    d, e = [x + 1, 0, x + 11, 10], [x - 2, 0, x + 8, 10]
    return a, b, d, e


def test_coco_equal_iou_goes_to_the_later_box():
    # pycocotools keeps the *last* box of equal IoU (``if ious[d, g] < iou: continue``, then
    # ``iou = ious[d, g]``), boxes in input order. D takes b, so E still finds a: AP50 = 1.
    # With the boxes listed b, a, D takes a and E finds nothing: precision 1 up to recall 1/2.
    a, b, d, e = _tie()
    pred = [det([d, e], [0.9, 0.5])]
    assert coco_ap(pred, [ann([a, b])]).as_dict()["AP50"] == pytest.approx(1.0)
    assert coco_ap(pred, [ann([b, a])]).as_dict()["AP50"] == pytest.approx(51 / 101)


def test_coco_equal_iou_goes_to_the_later_box_among_other_classes():
    # The same ten times in one image, the boxes of class 0 listed between boxes of class 1:
    # the input order *within* a class decides, whatever the other classes around it.
    boxes, labels, pred_boxes, pred_labels, scores = [], [], [], [], []
    for i in range(10):
        a, b, d, e = _tie(30.0 * i)
        c1, c2 = [30.0 * i, 100, 30.0 * i + 10, 110], [30.0 * i, 200, 30.0 * i + 10, 210]
        boxes += [a, c1, b, c2]
        labels += [0, 1, 0, 1]
        pred_boxes += [d, e, c1, c2]
        pred_labels += [0, 0, 1, 1]
        scores += [0.9 - 0.01 * i, 0.5 - 0.01 * i, 0.9, 0.8]
    r = coco_ap([det(pred_boxes, scores, pred_labels)], [ann(boxes, labels)]).as_dict()
    assert r["AP50"] == pytest.approx(1.0)
