"""Faster R-CNN's target conventions exactly at their thresholds, defaults and boundary sizes.

Each case is built so that the IoU is *exactly* the threshold in floating point: boxes
with integer corners, one inside the other, so that IoU = (integer area) / (integer area)
is the correctly rounded quotient, the same double as the literal (70 / 100 == 0.7).
The slides and the reference code disagree at some of these points; the docstring of each
test says which source bboxcore follows.
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.iou import box_iou
from bboxcore.targets.faster_rcnn import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    AnchorTargetCreator,
    ProposalCreator,
    ProposalTargetCreator,
)

GT = np.array([[0.0, 0.0, 10.0, 10.0]])  # area 100


def strip(width: float) -> list[float]:
    """A box [0, 0, width, 10] inside GT: IoU with GT = 10 * width / 100, exactly."""
    return [0.0, 0.0, width, 10.0]


def rows(boxes) -> list[tuple[float, ...]]:
    return sorted(map(tuple, np.asarray(boxes, dtype=float).reshape(-1, 4).tolist()))


def test_the_exact_cases_are_exact():
    iou = box_iou(np.array([strip(7), strip(5), strip(3), strip(1)]), GT)[:, 0]
    assert iou.tolist() == [0.7, 0.5, 0.3, 0.1]


# --------------------------------------------------------------------------- AnchorTargetCreator
def test_anchor_at_exactly_pos_iou_thresh_is_positive():
    """IoU exactly 0.7 is positive: bboxcore follows the reference code, not the slides.

    The slides say "IoU > 0.7" (*Detection – 3 stages*, §C2.3; *Object Detection:
    Faster R-CNN*, quoting Ren et al. 2015, Sec. 3.1.2, "higher than 0.7"); the code of
    *The losses of Faster R-CNN* labels ``max_ious >= self.pos_iou_thresh`` positive.
    The perfect anchor is GT's best anchor, so the 0.7 one is positive by the threshold
    alone.
    """
    anchor = np.array([strip(10), strip(7), [20.0, 20.0, 30.0, 30.0]])
    creator = AnchorTargetCreator(n_sample=256, pos_ratio=1.0)
    loc, label = creator(GT, anchor, (40, 40), np.random.default_rng(0))
    assert label.tolist() == [POSITIVE, POSITIVE, NEGATIVE]
    np.testing.assert_allclose(loc[1], [0.5 * 10 / 7 - 0.5, 0.0, np.log(10 / 7), 0.0])


def test_anchor_at_exactly_neg_iou_thresh_is_not_negative():
    """IoU exactly 0.3 is neither: negative means "lower than 0.3" (slides and code agree)."""
    anchor = np.array([strip(10), strip(3), strip(2.9)])
    _, label = AnchorTargetCreator(n_sample=256)(GT, anchor, (40, 40), np.random.default_rng(0))
    assert label.tolist() == [POSITIVE, IGNORE, NEGATIVE]


def test_anchor_target_default_thresholds_are_0_7_and_0_3():
    # 0.7 (IoU 0.7) positive, 0.69 ignored, 0.3 ignored, 0.29 negative
    anchor = np.array([strip(10), strip(7), strip(6.9), strip(3), strip(2.9)])
    _, label = AnchorTargetCreator()(GT, anchor, (40, 40), np.random.default_rng(0))
    assert label.tolist() == [POSITIVE, POSITIVE, IGNORE, IGNORE, NEGATIVE]


# --------------------------------------------------------------------------- ProposalTargetCreator
def test_roi_at_exactly_pos_iou_thresh_is_foreground():
    """IoU exactly 0.5 is foreground and not background: fg is IoU >= 0.5, bg is [lo, hi).

    Both the slides (*Detection – 3 stages*, §C2.3) and the code of *The losses of
    Faster R-CNN* (``max_iou >= self.pos_iou_thresh``; background
    ``(max_iou < neg_iou_thresh_hi) & (max_iou >= neg_iou_thresh_lo)``).
    """
    roi = np.array([strip(5)])
    creator = ProposalTargetCreator(n_sample=8, pos_ratio=1.0)
    sample, _, label = creator(roi, GT, np.array([2]), np.random.default_rng(0))
    # the RoI and the appended GT box, both foreground (class 2 + 1); nothing is background
    assert rows(sample) == rows([GT[0], strip(5)])
    assert label.tolist() == [3, 3]


def test_background_range_is_closed_at_lo_and_open_at_hi():
    """Background is IoU in [lo, hi): exactly lo is background, exactly hi is not.

    Fast R-CNN (Girshick 2015, Sec. 2.3) takes background in [0.1, 0.5); the code of
    *The losses of Faster R-CNN* tests ``>= lo`` and ``< hi``.
    """
    roi = np.array([strip(1), strip(3), strip(0.9), strip(2.9)])  # IoU 0.1, 0.3, 0.09, 0.29
    creator = ProposalTargetCreator(
        n_sample=16, pos_ratio=0.5, pos_iou_thresh=0.5, neg_iou_thresh_hi=0.3, neg_iou_thresh_lo=0.1
    )
    sample, loc, label = creator(roi, GT, np.array([0]), np.random.default_rng(0))
    assert rows(sample[label == 0]) == rows([strip(1), strip(2.9)])
    assert (loc[label == 0] == 0).all()


def test_proposal_target_defaults_are_0_5_and_0_0():
    # defaults: fg IoU >= 0.5, bg [0.0, 0.5): an RoI at 0.5 is fg, at 0.49 and 0.0 bg
    roi = np.array([strip(5), strip(4.9), [20.0, 20.0, 30.0, 30.0]])
    sample, _, label = ProposalTargetCreator()(roi, GT, np.array([0]), np.random.default_rng(0))
    assert rows(sample[label > 0]) == rows([GT[0], strip(5)])
    assert rows(sample[label == 0]) == rows([strip(4.9), [20, 20, 30, 30]])


# --------------------------------------------------------------------------- the sampler
@pytest.mark.parametrize("seed", range(4))
def test_candidates_exactly_filling_the_quota_are_all_kept_without_a_draw(seed):
    """With exactly as many candidates as the quota there is nothing to sample: every
    candidate is kept, in index order, whatever the random generator."""
    roi = np.array(
        [strip(10), strip(9), strip(8), [20, 20, 30, 30], [30, 30, 40, 40], [40, 0, 50, 10]]
        + [[0, 30, 10, 40]],
        dtype=float,
    )
    # fg: 3 RoIs + the appended GT = 4 = round(0.5 * 8); bg: 4 = 8 - 4
    creator = ProposalTargetCreator(n_sample=8, pos_ratio=0.5)
    sample, _, label = creator(roi, GT, np.array([0]), np.random.default_rng(seed))
    expected = np.concatenate([roi[:3], GT, roi[3:]])
    np.testing.assert_array_equal(sample, expected)
    assert label.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]


@pytest.mark.parametrize("seed", range(4))
def test_anchor_quota_exactly_filled_takes_every_anchor(seed):
    anchor = np.array([strip(10), strip(9), [20, 20, 30, 30], [30, 30, 40, 40]], float)
    # 2 positives = int(0.5 * 4), 2 negatives = 4 - 2
    creator = AnchorTargetCreator(n_sample=4, pos_ratio=0.5)
    loc, label = creator(GT, anchor, (40, 40), np.random.default_rng(seed))
    assert label.tolist() == [POSITIVE, POSITIVE, NEGATIVE, NEGATIVE]


# --------------------------------------------------------------------------- ProposalCreator
def _proposals(anchor, score, **kw):
    loc = np.zeros_like(anchor)
    return ProposalCreator(**kw)(loc, score, anchor, (1000, 1000), return_score=True)


def test_proposal_creator_default_nms_thresh_is_0_7():
    """NMS of the proposals at IoU 0.7 (*Object Detection: Faster R-CNN*: "IoU 设为 0.7").

    Suppression needs IoU strictly above the threshold (as torchvision's ``nms``): boxes at
    IoU 0.701 and exactly 0.7 with the one above them; only the former goes.
    """
    base = [0.0, 0.0, 100.0, 100.0]  # area 1e4
    anchor = np.array([base, [0.0, 0.0, 70.1, 100.0], [0.0, 300.0, 100.0, 400.0]])
    anchor = np.concatenate([anchor, [[0.0, 300.0, 70.0, 400.0]]])  # IoU 0.7 with row 2
    roi, _ = _proposals(anchor, np.array([0.9, 0.8, 0.7, 0.6]))
    np.testing.assert_array_equal(roi, anchor[[0, 2, 3]])


def _scattered(n, rng):
    xy = rng.uniform(0, 900, size=(n, 2)).round()
    return np.concatenate([xy, xy + rng.integers(16, 100, size=(n, 2))], axis=1)


@pytest.mark.parametrize("n_pre", [1, 2, 39, 40, 41])
def test_top_n_before_nms_is_the_n_highest_scores(n_pre):
    """Step 4 keeps the ``n_pre_nms`` highest scores, by decreasing score, equal scores by
    lower index; n = candidates - 1 is the last size that is partitioned."""
    rng = np.random.default_rng(n_pre)
    anchor = _scattered(40, rng)
    score = rng.integers(0, 12, size=40).astype(float)  # many ties, also at the cut
    roi, s = _proposals(
        anchor, score, nms_thresh=1.0, min_size=0, n_test_pre_nms=n_pre, n_test_post_nms=10**6
    )
    order = np.argsort(-score, kind="stable")[:n_pre]
    np.testing.assert_array_equal(roi, anchor[order])
    np.testing.assert_array_equal(s, score[order])


def test_top_n_matches_a_full_sort_on_large_random_scores():
    rng = np.random.default_rng(7)
    anchor = _scattered(20000, rng)
    score = rng.random(20000).astype(np.float32).astype(float)  # a few equal values
    for n_pre in (12000, 19999):
        roi, s = _proposals(
            anchor, score, nms_thresh=1.0, min_size=0, n_test_pre_nms=n_pre, n_test_post_nms=10**6
        )
        order = np.argsort(-score, kind="stable")[:n_pre]
        np.testing.assert_array_equal(s, score[order])
        np.testing.assert_array_equal(roi, anchor[order])


# --------------------------------------------------------------------------- parameter bounds
def test_anchor_thresholds_may_meet_and_pos_may_be_1():
    # 0 <= neg <= pos, pos > 0: neg = pos (no ignored band) and pos = 1 are valid, pos = 0 is not
    AnchorTargetCreator(pos_iou_thresh=0.5, neg_iou_thresh=0.5)
    AnchorTargetCreator(pos_iou_thresh=1.0)
    with pytest.raises(ValueError, match="pos_iou_thresh > 0"):
        AnchorTargetCreator(pos_iou_thresh=0.0, neg_iou_thresh=0.0)


def test_proposal_min_size_is_scaled_by_default_scale_1():
    # min_size 16 x scale 1.0: a 16-px box stays, a 15.9-px one goes
    anchor = np.array([[0.0, 0, 16, 16], [100, 100, 115.9, 130]])
    roi, _ = _proposals(anchor, np.array([0.9, 0.8]))
    np.testing.assert_array_equal(roi, anchor[:1])


def test_proposal_anchor_without_width_names_its_row():
    anchor = np.array([[0.0, 0, 1, 1], [5, 5, 5, 9], [5, 5, 9, 5]])  # row 0 is 1 x 1: valid
    with pytest.raises(ValueError, match=r"anchor must have positive width and height; row 1 "):
        _proposals(anchor, np.array([0.9, 0.8, 0.7]))
