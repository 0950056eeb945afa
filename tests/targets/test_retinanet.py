"""RetinaNet's anchors and anchor matching against the paper's rules.

Sources: T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object
Detection", ICCV 2017, arXiv:1708.02002 (Sec. 4: anchors of areas 32^2..512^2 on P3..P7,
scales 2^0, 2^(1/3), 2^(2/3), ratios 1:2, 1:1, 2:1; IoU >= 0.5 foreground, [0, 0.4)
background, [0.4, 0.5) ignored); its released code (Detectron, torchvision) for the best
anchor of each box; the course deck *Detection – 3 stages*, §I (RetinaNet) and §G3 (FPN).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.encoding import loc2bbox
from bboxcore.iou import box_iou
from bboxcore.targets.retinanet import (
    RETINANET_SCALES,
    retinanet_anchors,
    retinanet_targets,
)
from tests.strategies import boxes_in_image

IMG = (64.0, 96.0)
FEATS, STRIDES, SIZES = [(8, 12), (4, 6)], (8, 16), (12, 24)


def _anchors():
    return np.concatenate(retinanet_anchors(FEATS, STRIDES, SIZES))


# --------------------------------------------------------------------------- anchors
def test_retinanet_anchors_nine_per_cell_with_the_papers_areas_and_ratios():
    # Sec. 4: 3 scales x 3 ratios per level; area (a_l * 2^(k/3))^2, h / w in {1/2, 1, 2}
    levels = retinanet_anchors([(3, 5)], (8,), (32,))
    anchor = levels[0].reshape(3, 5, 9, 4)
    w = anchor[..., 2] - anchor[..., 0]
    h = anchor[..., 3] - anchor[..., 1]
    areas = np.sort(np.unique(np.round(w * h, 6)))
    np.testing.assert_allclose(areas, [(32 * s) ** 2 for s in RETINANET_SCALES])
    np.testing.assert_allclose(np.unique(np.round(h / w, 9)), [0.5, 1.0, 2.0])
    # every anchor of cell (y, x) is centred on ((x + 1/2) s, (y + 1/2) s)
    cx = (anchor[..., 0] + anchor[..., 2]) / 2
    cy = (anchor[..., 1] + anchor[..., 3]) / 2
    np.testing.assert_allclose(
        cx, np.broadcast_to((np.arange(5) + 0.5)[None, :, None] * 8, cx.shape)
    )
    np.testing.assert_allclose(
        cy, np.broadcast_to((np.arange(3) + 0.5)[:, None, None] * 8, cy.shape)
    )


def test_retinanet_anchors_paper_pyramid_counts():
    # P3..P7 of an 800 x 800 image: 100^2 + 50^2 + 25^2 + 13^2 + 7^2 cells, A = 9
    feats = [(100, 100), (50, 50), (25, 25), (13, 13), (7, 7)]
    levels = retinanet_anchors(feats, (8, 16, 32, 64, 128), (32, 64, 128, 256, 512))
    assert [len(a) for a in levels] == [9 * h * w for h, w in feats]


def test_retinanet_anchors_rejects_bad_input():
    with pytest.raises(ValueError, match="one entry per level"):
        retinanet_anchors([(2, 2)], (8, 16), (32,))
    with pytest.raises(ValueError, match="sizes"):
        retinanet_anchors([(2, 2)], (8,), (0,))
    with pytest.raises(ValueError, match="scales"):
        retinanet_anchors([(2, 2)], (8,), (32,), scales=(1.0, -1.0))


# --------------------------------------------------------------------------- matching
def _reference_labels(anchor, gt, pos=0.5, neg=0.4, best=True):
    """The rules written out anchor by anchor, from the pairwise IoU."""
    iou = box_iou(anchor, gt)
    expected = np.empty(len(anchor), np.int32)
    for i in range(len(anchor)):
        m = iou[i].max()
        is_best = best and any(
            iou[i, j] == iou[:, j].max() and iou[i, j] > 0 for j in range(len(gt))
        )
        expected[i] = 1 if (m >= pos or is_best) else (0 if m < neg else -1)
    return expected


@given(boxes_in_image(img_size=IMG, min_size=1, max_size=6, min_side=4.0), st.booleans())
def test_retinanet_targets_labels_follow_the_iou_rules(gt, best):
    # Sec. 4: >= 0.5 foreground, < 0.4 background, in between ignored (+ best anchor per box)
    anchor = _anchors()
    labels = np.arange(len(gt)) % 3
    t = retinanet_targets(anchor, gt, labels, match_best_anchor=best)
    np.testing.assert_array_equal(t.label, _reference_labels(anchor, gt, best=best))


@given(boxes_in_image(img_size=IMG, min_size=1, max_size=6, min_side=4.0))
def test_retinanet_targets_every_box_gets_its_best_anchor(gt):
    anchor = _anchors()
    t = retinanet_targets(anchor, gt, np.zeros(len(gt), np.int64))
    iou = box_iou(anchor, gt)
    for j in range(len(gt)):
        assert t.label[int(iou[:, j].argmax())] == 1


@given(boxes_in_image(img_size=IMG, min_size=0, max_size=6, min_side=2.0))
def test_retinanet_targets_offsets_decode_to_the_matched_box(gt):
    # Faster R-CNN Eq. 2: loc2bbox(anchor, t) recovers the matched box; classes follow it
    anchor = _anchors()
    labels = (np.arange(len(gt)) * 7) % 10
    t = retinanet_targets(anchor, gt, labels)
    fg = t.label == 1
    np.testing.assert_allclose(loc2bbox(anchor[fg], t.loc[fg]), gt[t.gt_index[fg]], atol=1e-6)
    np.testing.assert_array_equal(t.gt_class[fg], labels[t.gt_index[fg]])
    assert (t.gt_class[~fg] == -1).all() and (t.gt_index[~fg] == -1).all()
    assert (t.loc[~fg] == 0).all()
    if len(gt):  # each foreground anchor is matched to the box it overlaps most
        iou = box_iou(anchor[fg], gt)
        np.testing.assert_allclose(iou[np.arange(fg.sum()), t.gt_index[fg]], iou.max(axis=1))


@pytest.mark.parametrize(
    ("width", "shift", "expected"),
    [(30.0, 10.0, 1), (30.0, 10.5, -1), (70.0, 30.0, -1), (70.0, 31.0, 0)],
)
def test_retinanet_targets_threshold_edges(width, shift, expected):
    # IoU of (0, 0, w, 10) and its shift by d is (w - d) / (w + d): 20/40 = 0.5 exactly is
    # foreground, 40/100 = 0.4 exactly already ignored, 39/101 background
    anchor = np.array([[0.0, 0, width, 10], [shift, 0, width + shift, 10]])
    t = retinanet_targets(anchor, anchor[:1], [0], match_best_anchor=False)
    assert t.label[0] == 1 and t.label[1] == expected


def test_retinanet_targets_no_boxes_all_background_and_float32_kept():
    anchor = _anchors().astype(np.float32)
    t = retinanet_targets(anchor, np.zeros((0, 4), np.float32), [])
    assert (t.label == 0).all() and t.loc.dtype == np.float32 and t.loc.shape == anchor.shape
    t = retinanet_targets(anchor, np.array([[8.0, 8, 40, 40]], np.float32), [1])
    assert t.loc.dtype == np.float32 and (t.label == 1).any()


def test_retinanet_targets_inputs_untouched():
    anchor, gt = _anchors(), np.array([[8.0, 8, 40, 40]])
    a0, g0 = anchor.copy(), gt.copy()
    retinanet_targets(anchor, gt, [2])
    np.testing.assert_array_equal(anchor, a0)
    np.testing.assert_array_equal(gt, g0)


def test_retinanet_targets_rejects_bad_input():
    anchor, gt = _anchors(), np.array([[8.0, 8, 40, 40]])
    with pytest.raises(ValueError, match="gt_label must have shape"):
        retinanet_targets(anchor, gt, [1, 2])
    with pytest.raises(TypeError, match="gt_label must hold integer"):
        retinanet_targets(anchor, gt, [1.5])
    with pytest.raises(ValueError, match="classes >= 0"):
        retinanet_targets(anchor, gt, [-1])
    with pytest.raises(ValueError, match="neg_iou_thresh must be <= pos_iou_thresh"):
        retinanet_targets(anchor, gt, [1], pos_iou_thresh=0.3, neg_iou_thresh=0.4)
    with pytest.raises(ValueError, match="pos_iou_thresh"):
        retinanet_targets(anchor, gt, [1], pos_iou_thresh=1.5)
    with pytest.raises(ValueError, match="positive width"):
        retinanet_targets(np.array([[0.0, 0, 0, 5]]), gt, [1])
    with pytest.raises(ValueError, match="gt_bbox"):
        retinanet_targets(anchor, np.array([[0.0, 0, 1]]), [1])


# --------------------------------------------------------------------------- edges (mutation)
def test_retinanet_targets_dtypes_with_and_without_boxes():
    # RetinaNetTargets: label int32, gt_class and gt_index int64, loc in the anchors' dtype
    anchor = _anchors()
    for gt, labels in ((np.array([[8.0, 8, 40, 40]]), [4]), (np.zeros((0, 4)), [])):
        t = retinanet_targets(anchor, gt, labels)
        assert t.label.dtype == np.int32
        assert t.gt_class.dtype == t.gt_index.dtype == np.int64
        assert t.loc.dtype == np.float64


def test_retinanet_targets_a_single_anchor_is_matched():
    # S = 1 is an ordinary case: the anchor (0, 0, 10, 10) on the box is foreground
    t = retinanet_targets(np.array([[0.0, 0, 10, 10]]), np.array([[0.0, 0, 10, 10]]), [2])
    assert t.label.tolist() == [1] and t.gt_class.tolist() == [2] and t.gt_index.tolist() == [0]


def test_retinanet_targets_box_overlapping_no_anchor_matches_none():
    # the best-anchor rule needs max_i IoU_ij > 0: a box that overlaps no anchor (IoU 0 with
    # all) makes none of them foreground; they stay background (IoU 0 < 0.4)
    anchor = _anchors()
    t = retinanet_targets(anchor, np.array([[200.0, 200, 220, 220]]), [1])
    assert (t.label == 0).all() and (t.gt_index == -1).all()


def test_retinanet_targets_equal_thresholds_leave_no_ignore_band():
    # neg_iou_thresh = pos_iou_thresh is valid: IoU >= t foreground, < t background
    anchor = np.array([[0.0, 0, 30, 10], [10.0, 0, 40, 10], [11.0, 0, 41, 10]])
    t = retinanet_targets(anchor, anchor[:1], [0], pos_iou_thresh=0.5, neg_iou_thresh=0.5,
                          match_best_anchor=False)  # fmt: skip
    assert t.label.tolist() == [1, 1, 0]  # IoU 1, 20/40 = 0.5, 19/41


def test_retinanet_anchor_check_is_on_width_and_height():
    # "positive width and height": any width > 0 (also below one pixel), at any coordinates
    gt = np.array([[0.0, 0, 10, 10]])
    for ok in ([[0.0, 0, 0.5, 0.5]], [[-10.0, -10, -5, -5]]):
        retinanet_targets(np.array(ok), gt, [1])
    for bad in ([[5.0, 5, 5, 10]], [[5.0, 5, 10, 5]]):
        with pytest.raises(ValueError, match="positive width"):
            retinanet_targets(np.array(bad), gt, [1])


def test_retinanet_targets_labels_any_empty_shape_and_exact_integers():
    # no boxes: an empty label list in any shape ([], [[]], (0, 1)) is accepted; classes are
    # integers carried exactly, also beyond float64's 2^53
    anchor = _anchors()
    for empty in ([], [[]], np.zeros((0, 1), np.int64)):
        assert (retinanet_targets(anchor, np.zeros((0, 4)), empty).label == 0).all()
    big = 2**53 + 1
    t = retinanet_targets(anchor, np.array([[8.0, 8, 40, 40]]), np.array([big]))
    assert set(t.gt_class[t.label == 1].tolist()) == {big}


def test_retinanet_targets_float32_anchors_read_the_boxes_in_float32():
    # the dtype policy: float32 anchors make the IoU and the offsets float32 computations,
    # the boxes rounded to float32 first. A box at shift 10 + 1e-7 of the anchor
    # (0, 0, 30, 10) has IoU just below 0.5 in float64 but exactly 20/40 in float32
    anchor = np.array([[0.0, 0, 30, 10]], np.float32)
    gt = np.array([[10.0 + 1e-7, 0, 40.0 + 1e-7, 10]])
    t = retinanet_targets(anchor, gt, [0], match_best_anchor=False)
    assert t.label.tolist() == [1]
    # offsets: exactly those of the float32 boxes
    anchor = _anchors().astype(np.float32)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (4, 2))
    gt = np.concatenate([xy, xy + rng.uniform(8, 40, (4, 2))], 1)
    t = retinanet_targets(anchor, gt, [0, 1, 2, 3])
    t32 = retinanet_targets(anchor, gt.astype(np.float32), [0, 1, 2, 3])
    assert (t.label == 1).sum() > 0 and t.loc.dtype == np.float32
    np.testing.assert_array_equal(t.loc, t32.loc)
    np.testing.assert_array_equal(t.label, t32.label)
