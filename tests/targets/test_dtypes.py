"""Faster R-CNN targets keep the dtype policy of bboxcore (found by the mutation run).

Offsets are float32 only if both box inputs are float32 (in either order, and computed in
float32, not rounded from float64); labels are int32.
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.encoding import LOC_NORMALIZE_STD, bbox2loc
from bboxcore.iou import box_iou
from bboxcore.targets.faster_rcnn import AnchorTargetCreator, ProposalTargetCreator

RNG = np.random.default_rng(3)
XY = RNG.uniform(0, 60, (300, 2))
BOXES = np.concatenate([XY, XY + RNG.uniform(8, 40, (300, 2))], axis=1)
GT = BOXES[:4] + RNG.uniform(0, 3, (4, 4)) * [-1, -1, 1, 1]
NEAR = np.repeat(GT, 10, axis=0) + RNG.uniform(-1.5, 1.5, (40, 4))  # IoU >= 0.7 with a GT box


@pytest.mark.parametrize(
    ("da", "db", "out"), [("f4", "f4", "f4"), ("f8", "f4", "f8"), ("f4", "f8", "f8")]
)
def test_anchor_targets_dtypes(da, db, out):
    anchor, gt = np.concatenate([BOXES, NEAR]).astype(da), GT.astype(db)
    loc, label = AnchorTargetCreator(n_sample=512, pos_ratio=1.0)(
        gt, anchor, (120, 120), np.random.default_rng(0)
    )
    assert loc.dtype == np.dtype(out) and label.dtype == np.int32
    pos = np.flatnonzero(label == 1)
    assert pos.size > 20
    best = box_iou(anchor[pos], gt).argmax(axis=1)
    np.testing.assert_array_equal(loc[pos], bbox2loc(anchor[pos], gt[best]))


@pytest.mark.parametrize(
    ("da", "db", "out"), [("f4", "f4", "f4"), ("f8", "f4", "f8"), ("f4", "f8", "f8")]
)
def test_proposal_targets_dtypes(da, db, out):
    roi, gt = BOXES.astype(da), GT.astype(db)
    creator = ProposalTargetCreator(n_sample=512, pos_ratio=1.0)
    sample, loc, label = creator(roi, gt, np.array([0, 1, 2, 3]), np.random.default_rng(0))
    assert sample.dtype == loc.dtype == np.dtype(out) and label.dtype == np.int32
    fg = np.flatnonzero(label > 0)
    assert fg.size > 5
    best = box_iou(sample[fg], gt.astype(out)).argmax(axis=1)
    expected = bbox2loc(sample[fg], gt.astype(out)[best], std=LOC_NORMALIZE_STD)
    np.testing.assert_array_equal(loc[fg], expected)


def test_proposal_targets_without_ground_truth_keep_the_dtypes():
    roi = BOXES[:20].astype(np.float32)
    creator = ProposalTargetCreator(n_sample=8)
    sample, loc, label = creator(roi, np.zeros((0, 4), np.float32), [], np.random.default_rng(0))
    assert sample.dtype == loc.dtype == np.float32 and label.dtype == np.int32
    assert len(sample) == 8 and (label == 0).all() and (loc == 0).all()


def test_an_empty_background_range_is_valid():
    # lo = hi: no RoI is background (Fast R-CNN's range [lo, hi) may be empty)
    creator = ProposalTargetCreator(n_sample=8, neg_iou_thresh_lo=0.5, neg_iou_thresh_hi=0.5)
    roi = np.array([[0.0, 0, 10, 10], [50, 50, 60, 60]])
    _, _, label = creator(roi, [[0.0, 0, 10, 10]], [0], np.random.default_rng(0))
    assert label.tolist() == [1, 1]
