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
