"""Tests of bboxcore.targets.faster_rcnn against the procedure of *The losses of Faster R-CNN*.

Also: Object Detection: Faster R-CNN; Detection – 3 stages; Train/Test/Eval/Loss pipeline of a
Faster R-CNN.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.anchors import generate_anchor_base, grid_anchors
from bboxcore.encoding import LOC_NORMALIZE_MEAN, LOC_NORMALIZE_STD, loc2bbox
from bboxcore.iou import box_iou
from bboxcore.nms import nms_reference
from bboxcore.targets.faster_rcnn import AnchorTargetCreator, ProposalCreator, ProposalTargetCreator
from tests.strategies import anything_boxes, boxes_in_image

IMG_SIZES = st.sampled_from([(128.0, 160.0), (160.0, 128.0), (200.0, 240.0)])
STRIDE = 16


def _anchors(img_size, dtype=np.float64):
    """Anchors of sides 32, 64, 128 on a stride-16 grid that overhangs the image a little."""
    feat = (int(np.ceil(img_size[0] / STRIDE)), int(np.ceil(img_size[1] / STRIDE)))
    return grid_anchors(generate_anchor_base(STRIDE, scales=(2, 4, 8)), STRIDE, feat).astype(dtype)


def _random_boxes(seed, n, img_size, min_side=1.0):
    """``n`` boxes inside an ``(H, W)`` image with sides >= ``min_side``, from a seed."""
    rng = np.random.default_rng(seed)
    h, w = img_size
    wh = min_side + rng.uniform(size=(n, 2)) * (np.array([w, h]) - min_side)
    xy = rng.uniform(size=(n, 2)) * (np.array([w, h]) - wh)
    return np.concatenate([xy, xy + wh], axis=1)


def _inside(anchor, img_size):
    h, w = img_size
    return [
        i
        for i, (x1, y1, x2, y2) in enumerate(anchor)
        if x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h
    ]


def _anchor_labels_reference(bbox, anchor, img_size, pos_thresh=0.7, neg_thresh=0.3):
    """The labelling of The losses of Faster R-CNN before subsampling, one anchor/GT at a time."""
    inside = _inside(anchor, img_size)
    iou = box_iou(anchor, bbox)  # (S, R): the library's IoU, tested in test_iou.py
    label = np.full(len(anchor), -1)
    for i in inside:  # negatives first...
        if len(bbox) == 0 or iou[i].max() < neg_thresh:
            label[i] = 0
    for j in range(len(bbox)):  # ...then each GT's best anchor(s), ties included...
        best = max((iou[i, j] for i in inside), default=0.0)
        for i in inside:
            if best > 0 and iou[i, j] == best:
                label[i] = 1
    for i in inside:  # ...and every anchor with IoU >= 0.7
        if len(bbox) and iou[i].max() >= pos_thresh:
            label[i] = 1
    return label


# --------------------------------------------------------------------------- AnchorTargetCreator
@given(IMG_SIZES, st.data(), st.integers(1, 300), st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_anchor_targets_respect_n_sample_pos_ratio_and_the_thresholds(img_size, data, n, ratio):
    # The losses of Faster R-CNN / Object Detection: Faster R-CNN: at most n_sample anchors, at most
    # pos_ratio * n_sample positives;
    # positives have IoU >= 0.7 or are a GT's best anchor; negatives IoU < 0.3 with every GT
    bbox = data.draw(boxes_in_image(img_size, max_size=8))
    anchor = _anchors(img_size)
    creator = AnchorTargetCreator(n_sample=n, pos_ratio=ratio)
    loc, label = creator(bbox, anchor, img_size, np.random.default_rng(0))
    assert loc.shape == (len(anchor), 4) and label.shape == (len(anchor),)
    assert label.dtype == np.int32 and set(np.unique(label)) <= {-1, 0, 1}
    assert (label != -1).sum() <= n
    assert (label == 1).sum() <= int(ratio * n)
    reference = _anchor_labels_reference(bbox, anchor, img_size)
    # sampled labels are the unsampled ones or -1; positives are kept before negatives
    assert ((label == reference) | (label == -1)).all()
    n_pos = min((reference == 1).sum(), int(ratio * n))
    assert (label == 1).sum() == n_pos
    assert (label == 0).sum() == min((reference == 0).sum(), n - n_pos)
    outside = np.setdiff1d(np.arange(len(anchor)), _inside(anchor, img_size))
    assert (label[outside] == -1).all()
    if len(bbox):
        iou = box_iou(anchor, bbox)
        assert (iou[label == 0].max(axis=1, initial=0) < 0.3).all()
        inside_iou = iou[_inside(anchor, img_size)]
        gt_best = inside_iou.max(axis=0, initial=0)  # each GT's best IoU over inside anchors
        for i in np.flatnonzero(label == 1):
            assert iou[i].max() >= 0.7 or ((iou[i] == gt_best) & (gt_best > 0)).any()
    np.testing.assert_array_equal(loc[label != 1], 0)


@given(IMG_SIZES, st.data())
def test_anchor_labels_without_subsampling_equal_the_seed_004_reference(img_size, data):
    # with n_sample larger than the number of anchors and pos_ratio 1 nothing is subsampled:
    # every GT's best inside anchor (ties included) is positive
    bbox = data.draw(boxes_in_image(img_size, max_size=8))
    anchor = _anchors(img_size)
    creator = AnchorTargetCreator(n_sample=10**6, pos_ratio=1.0)
    _, label = creator(bbox, anchor, img_size, np.random.default_rng(1))
    np.testing.assert_array_equal(label, _anchor_labels_reference(bbox, anchor, img_size))
    inside = _inside(anchor, img_size)
    if len(bbox) and inside:
        iou = box_iou(anchor[inside], bbox)
        for j in range(len(bbox)):
            if iou[:, j].max() > 0:
                assert (label[np.array(inside)[iou[:, j] == iou[:, j].max()]] == 1).all()


@given(IMG_SIZES, st.data(), st.sampled_from([np.float64, np.float32]))
def test_anchor_target_loc_decodes_to_the_matched_gt(img_size, data, dtype):
    # The losses of Faster R-CNN: loc = bbox2loc(anchor, bbox[argmax_ious]); so loc2bbox(anchor,
    # loc) is that GT
    bbox = data.draw(boxes_in_image(img_size, max_size=8, min_side=4.0)).astype(dtype)
    anchor = _anchors(img_size, dtype)
    loc, label = AnchorTargetCreator(n_sample=512)(bbox, anchor, img_size, np.random.default_rng(2))
    assert loc.dtype == dtype
    pos = np.flatnonzero(label == 1)
    if len(pos) == 0:
        return
    decoded = loc2bbox(anchor[pos], loc[pos])
    iou = box_iou(anchor[pos], bbox)  # (P, R)
    tol = 1e-6 if dtype == np.float64 else 2e-3
    for p in range(len(pos)):
        matches = np.flatnonzero(iou[p] == iou[p].max())  # the best GT (any of a tie)
        assert np.abs(bbox[matches] - decoded[p]).max(axis=1).min() < tol * 300


def test_anchor_targets_are_deterministic_under_a_seed_and_vary_with_it():
    img_size = (600, 800)
    # Detection – 3 stages, §C2: 17100 anchors
    anchor = grid_anchors(generate_anchor_base(), 16, (38, 50))
    bbox = _random_boxes(0, 20, img_size, 30.0)
    creator = AnchorTargetCreator()
    loc1, label1 = creator(bbox, anchor, img_size, np.random.default_rng(5))
    loc2, label2 = creator(bbox, anchor, img_size, np.random.default_rng(5))
    _, label3 = creator(bbox, anchor, img_size, np.random.default_rng(6))
    np.testing.assert_array_equal(label1, label2)
    np.testing.assert_array_equal(loc1, loc2)
    assert not np.array_equal(label1, label3)
    assert (label1 != -1).sum() == 256  # Object Detection: Faster R-CNN: 256 anchors per image


def test_anchor_targets_without_gt_sample_only_negatives():
    img_size = (600, 800)
    anchor = grid_anchors(generate_anchor_base(), 16, (38, 50))
    loc, label = AnchorTargetCreator()(np.zeros((0, 4)), anchor, img_size, np.random.default_rng(0))
    assert (label == 1).sum() == 0 and (label == 0).sum() == 256
    np.testing.assert_array_equal(loc, 0)
    # fewer inside anchors than n_sample: all of them are negative
    anchor = np.array([[0.0, 0.0, 10.0, 10.0], [-5.0, 0.0, 5.0, 5.0]])
    _, label = AnchorTargetCreator()(np.zeros((0, 4)), anchor, (20, 20), np.random.default_rng(0))
    np.testing.assert_array_equal(label, [0, -1])


def test_anchor_targets_single_anchor_edge_cases():
    creator, rng = AnchorTargetCreator(), np.random.default_rng(0)
    gt = np.array([[0.0, 0.0, 10.0, 10.0]])
    loc, label = creator(gt, [[1.0, 1.0, 11.0, 11.0]], (20, 20), rng)
    assert label.tolist() == [1]  # IoU 81/119 < 0.7, but it is the GT's best anchor
    np.testing.assert_allclose(loc2bbox([[1.0, 1.0, 11.0, 11.0]], loc), gt)
    _, label = creator(gt, [[0.0, 0.0, 30.0, 10.0]], (20, 20), rng)  # outside (x_max > W)
    assert label.tolist() == [-1]
    _, label = creator(gt, [[15.0, 15.0, 20.0, 20.0]], (20, 20), rng)  # IoU 0: not a "best"
    assert label.tolist() == [0]
    loc, label = creator(gt, np.zeros((0, 4)), (20, 20), rng)
    assert loc.shape == (0, 4) and label.shape == (0,)


def test_anchor_targets_subsample_positives_and_pad_with_negatives():
    gt = np.array([[0.0, 0.0, 10.0, 10.0]])
    anchor = np.concatenate([np.repeat(gt, 300, 0), np.tile([[50.0, 50.0, 60.0, 60.0]], (300, 1))])
    _, label = AnchorTargetCreator()(gt, anchor, (100, 100), np.random.default_rng(0))
    assert (label[:300] == 1).sum() == 128 and (label[300:] == 0).sum() == 128
    anchor = np.concatenate([gt, np.tile([[50.0, 50.0, 60.0, 60.0]], (300, 1))])
    _, label = AnchorTargetCreator()(gt, anchor, (100, 100), np.random.default_rng(0))
    assert (label == 1).sum() == 1 and (label == 0).sum() == 255  # padded with negatives


def test_anchor_targets_do_not_modify_inputs():
    gt = np.array([[0.0, 0.0, 10.0, 10.0]], dtype=np.float32)
    anchor = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 12.0, 12.0]], dtype=np.float32)
    gt0, anchor0 = gt.copy(), anchor.copy()
    loc, _ = AnchorTargetCreator()(gt, anchor, (20, 20), np.random.default_rng(0))
    np.testing.assert_array_equal(gt, gt0)
    np.testing.assert_array_equal(anchor, anchor0)
    assert not np.shares_memory(loc, anchor)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_sample": 0}, "n_sample must be a positive integer; got 0"),
        ({"n_sample": 2.5}, "n_sample must be a positive integer; got float 2.5"),
        ({"pos_iou_thresh": 1.5}, r"pos_iou_thresh must be in \[0, 1\]"),
        ({"pos_iou_thresh": 0.0}, "pos_iou_thresh > 0"),
        ({"neg_iou_thresh": 0.8}, "neg_iou_thresh <= pos_iou_thresh"),
        ({"pos_ratio": -0.1}, r"pos_ratio must be in \[0, 1\]"),
        ({"pos_ratio": "half"}, "pos_ratio must be a real number in \\[0, 1\\]; got str"),
    ],
)
def test_anchor_target_creator_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        AnchorTargetCreator(**kwargs)


@pytest.mark.parametrize(
    ("args", "match", "err"),
    [
        (
            ([[0, 0, 1]], [[0, 0, 1, 1]], (5, 5), np.random.default_rng(0)),
            "bbox must have",
            ValueError,
        ),
        (
            ([[0, 0, 1, 1]], [[0, 0, 1, np.nan]], (5, 5), np.random.default_rng(0)),
            "anchor must be",
            ValueError,
        ),
        (
            ([[0, 0, 1, 1]], [[0, 0, 1, 1]], (5, -5), np.random.default_rng(0)),
            "img_size must be",
            ValueError,
        ),
        (
            ([[0, 0, 1, 1]], [[0, 0, 1, 1]], (5, 5), 0),
            "rng must be a numpy.random.Generator",
            TypeError,
        ),
    ],
)
def test_anchor_target_creator_rejects_bad_inputs(args, match, err):
    with pytest.raises(err, match=match):
        AnchorTargetCreator()(*args)


@given(anything_boxes(), anything_boxes())
def test_anchor_target_creator_fuzz(bbox, anchor):
    try:
        loc, label = AnchorTargetCreator(n_sample=8)(
            bbox, anchor, (50, 50), np.random.default_rng(0)
        )
    except (ValueError, TypeError):
        return
    assert loc.shape == (len(anchor), 4) and np.isfinite(loc).all()
    assert (label != -1).sum() <= 8


# --------------------------------------------------------------------------- ProposalCreator
def _proposals_reference(loc, score, anchor, img_size, min_size, n_pre, n_post, thresh):
    """Decode; clip; drop small; sort; top n_pre; the slide's NMS; top n_post — box by box."""
    h, w = img_size
    rows = []
    for i, (x1, y1, x2, y2) in enumerate(loc2bbox(anchor, loc)):
        x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
        y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
        if x2 - x1 >= min_size and y2 - y1 >= min_size:
            rows.append((-score[i], i, [x1, y1, x2, y2]))
    rows = sorted(rows, key=lambda r: (r[0], r[1]))[:n_pre]
    roi = np.array([r[2] for r in rows]).reshape(-1, 4)
    keep = nms_reference(roi, np.array([-r[0] for r in rows]), thresh)[:n_post]
    return roi[keep]


@st.composite
def rpn_outputs(draw, img_size):
    anchor = _anchors(img_size)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    loc = rng.normal(0.0, draw(st.sampled_from([0.1, 0.5, 2.0])), size=(len(anchor), 4))
    score = rng.uniform(size=len(anchor))
    if draw(st.booleans()):
        score = np.round(score, 1)  # many ties
    return loc, score, anchor


@given(IMG_SIZES, st.data(), st.sampled_from([0.3, 0.7]), st.integers(1, 400), st.booleans())
def test_proposals_inside_image_large_enough_pass_nms_at_most_n_post(img_size, data, t, n, train):
    # Object Detection: Faster R-CNN: proposals after NMS at IoU 0.7; ProposalCreator's documented
    # steps
    loc, score, anchor = data.draw(rpn_outputs(img_size))
    min_size, scale = 16.0, data.draw(st.sampled_from([0.5, 1.0, 1.5]))
    creator = ProposalCreator(
        t, n_train_pre_nms=800, n_train_post_nms=n, n_test_post_nms=n // 2 + 1
    )
    roi, roi_score = creator(loc, score, anchor, img_size, scale, train, return_score=True)
    h, w = img_size
    assert len(roi) <= (n if train else n // 2 + 1)
    assert (roi[:, 0] >= 0).all() and (roi[:, 1] >= 0).all()
    assert (roi[:, 2] <= w).all() and (roi[:, 3] <= h).all()
    assert ((roi[:, 2:] - roi[:, :2]) >= min_size * scale).all()
    iou = box_iou(roi, roi)
    np.fill_diagonal(iou, 0)
    assert (iou <= t).all()
    assert (np.diff(roi_score) <= 0).all()
    n_pre, n_post = (800, n) if train else (6000, n // 2 + 1)
    expected = _proposals_reference(
        loc, score, anchor, img_size, min_size * scale, n_pre, n_post, t
    )
    np.testing.assert_array_equal(roi, expected)


def test_proposal_creator_defaults_on_a_600x800_image():
    # Detection – 3 stages, §C2: 17100 anchors on a 38 x 50 map; at most 2000 (train) / 300 (test)
    # RoIs
    anchor = grid_anchors(generate_anchor_base(), 16, (38, 50)).astype(np.float32)
    rng = np.random.default_rng(0)
    loc = rng.normal(0, 0.2, size=anchor.shape).astype(np.float32)
    score = rng.uniform(size=len(anchor)).astype(np.float32)
    creator = ProposalCreator()
    roi_train = creator(loc, score, anchor, (600, 800), training=True)
    roi_test = creator(loc, score, anchor, (600, 800))
    assert roi_train.dtype == np.float32 and 0 < len(roi_train) <= 2000
    assert len(roi_test) == 300
    np.testing.assert_array_equal(roi_test, roi_train[:300])  # same ranking, fewer kept


def test_proposal_creator_edge_cases():
    creator = ProposalCreator()
    roi = creator(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4)), (100, 100))
    assert roi.shape == (0, 4)
    roi, score = creator(
        np.zeros((1, 4)), [3.0], [[0, 0, 8, 8]], (100, 100), scale=0.5, return_score=True
    )
    assert roi.tolist() == [[0, 0, 8, 8]] and score.tolist() == [3.0]  # 8 >= 16 * 0.5
    assert creator(np.zeros((1, 4)), [3.0], [[0, 0, 8, 8]], (100, 100)).shape == (0, 4)
    big = creator([[0.0, 0.0, 100.0, 100.0]], [1.0], [[10, 10, 20, 20]], (50, 60))
    np.testing.assert_allclose(big, [[0, 0, 60, 50]])  # exp clipped at LOC_CLIP, then image clip


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.zeros((2, 4)), np.zeros(2), np.zeros((3, 4)), (9, 9)), {}, "loc must have shape"),
        ((np.zeros((2, 4)), np.zeros(3), np.ones((2, 4)), (9, 9)), {}, "score must have shape"),
        ((np.zeros((1, 4)), [np.nan], [[0, 0, 1, 1]], (9, 9)), {}, "score must be finite"),
        ((np.zeros((1, 4)), [1.0], [[0, 0, 1, 1]], (9, 9)), {"scale": 0}, "scale must be"),
        ((np.zeros((1, 4)), [1.0], [[0, 0, 1, 1]], (9, 9)), {"scale": np.inf}, "scale must be"),
        ((np.zeros((1, 4)), [1.0], [[0, 0, 0, 1]], (9, 9)), {}, "anchor must have positive"),
        (([[0, 0, np.inf, 0]], [1.0], [[0, 0, 1, 1]], (9, 9)), {}, "loc must be finite"),
        ((np.zeros((1, 4)), [1.0], [[0, 0, 1, 1]], (9, 0)), {}, "img_size must be"),
    ],
)
def test_proposal_creator_rejects_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProposalCreator()(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"nms_thresh": 1.2}, "nms_thresh must be in"),
        ({"n_train_pre_nms": 0}, "n_train_pre_nms must be a positive integer; got 0"),
        ({"n_test_post_nms": None}, "n_test_post_nms must be a positive integer; got NoneType"),
        ({"min_size": -1}, "min_size must be a finite number >= 0"),
        ({"min_size": "big"}, "min_size must be a finite number >= 0"),
    ],
)
def test_proposal_creator_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ProposalCreator(**kwargs)


@given(anything_boxes(), anything_boxes())
def test_proposal_creator_fuzz(loc, anchor):
    score = np.linspace(0, 1, len(anchor)) if anchor.ndim else np.zeros(0)
    try:
        roi = ProposalCreator(min_size=0)(loc, score, anchor, (50, 50))
    except (ValueError, TypeError):
        return
    assert roi.ndim == 2 and roi.shape[1] == 4 and np.isfinite(roi).all()
    assert len(roi) <= 300


# --------------------------------------------------------------------------- ProposalTargetCreator
@given(IMG_SIZES, st.data(), st.integers(1, 200), st.sampled_from([0.0, 0.25, 1.0]))
def test_proposal_targets_sample_foreground_then_background(img_size, data, n, ratio):
    # The losses of Faster R-CNN: GT appended to the RoIs; foreground IoU >= 0.5, at most round(0.25
    # n);
    # background IoU in [0, 0.5); labels + 1 (0 = background); loc normalised by std
    roi = data.draw(boxes_in_image(img_size, max_size=60))
    bbox = data.draw(boxes_in_image(img_size, max_size=6, min_side=2.0))
    label = np.arange(len(bbox)) % 3
    creator = ProposalTargetCreator(n_sample=n, pos_ratio=ratio)
    sample_roi, gt_roi_loc, gt_roi_label = creator(roi, bbox, label, np.random.default_rng(0))
    s = len(sample_roi)
    assert gt_roi_loc.shape == (s, 4) and gt_roi_label.shape == (s,) and s <= n
    n_fg = int((gt_roi_label > 0).sum())
    assert n_fg <= round(ratio * n)
    assert (gt_roi_label[:n_fg] > 0).all() and (gt_roi_label[n_fg:] == 0).all()  # fg first
    candidates = np.concatenate([roi, bbox])
    iou_all = box_iou(candidates, bbox).max(axis=1, initial=0)
    n_fg_available = int((iou_all >= 0.5).sum())
    assert n_fg == min(n_fg_available, round(ratio * n))
    n_bg_available = int((iou_all < 0.5).sum())
    assert s - n_fg == min(n_bg_available, n - n_fg)
    for r in sample_roi:  # every sampled RoI is one of the candidates
        assert (candidates == r).all(axis=1).any()
    if len(bbox) == 0:
        assert n_fg == 0
        return
    iou = box_iou(sample_roi, bbox)
    assert (iou[:n_fg].max(axis=1) >= 0.5).all()
    assert (iou[n_fg:].max(axis=1) < 0.5).all()
    np.testing.assert_array_equal(gt_roi_loc[n_fg:], 0)  # background: no localisation loss
    decoded = loc2bbox(sample_roi[:n_fg], gt_roi_loc[:n_fg], std=LOC_NORMALIZE_STD)
    for p in range(n_fg):
        matches = np.flatnonzero(iou[p] == iou[p].max())
        assert gt_roi_label[p] == label[matches[0]] + 1
        assert np.abs(bbox[matches] - decoded[p]).max(axis=1).min() < 1e-6 * 300


def test_proposal_targets_every_gt_is_a_candidate():
    # the GT boxes are appended to the RoIs: with room for them all, each is sampled
    bbox = np.array([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 40.0, 30.0]])
    roi = np.array([[50.0, 50.0, 60.0, 60.0]])
    creator = ProposalTargetCreator(n_sample=10, pos_ratio=1.0)
    sample_roi, gt_roi_loc, gt_roi_label = creator(roi, bbox, [0, 6], np.random.default_rng(0))
    order = np.argsort(gt_roi_label[:2])  # foreground comes in random order
    np.testing.assert_array_equal(sample_roi[:2][order], bbox)
    np.testing.assert_array_equal(gt_roi_label[:2][order], [1, 7])  # classes 0 and 6, + 1
    np.testing.assert_array_equal(sample_roi[2:], roi)
    np.testing.assert_array_equal(gt_roi_label[2:], [0])
    np.testing.assert_allclose(gt_roi_loc[:2], 0, atol=1e-12)  # a perfect RoI: t = 0


def test_proposal_targets_normalisation_is_mean_and_std():
    roi = np.array([[0.0, 0.0, 10.0, 10.0]])
    bbox = np.array([[1.0, 0.0, 11.0, 10.0]])  # IoU 9/11; t = (0.1, 0, 0, 0)
    creator = ProposalTargetCreator(n_sample=1, pos_ratio=1.0)
    rng = np.random.default_rng(0)
    # candidates: the RoI and the GT itself; the one drawn is the only sample
    for _ in range(5):
        sample_roi, gt_roi_loc, _ = creator(roi, bbox, [2], rng, (0.05, 0, 0, 0), (0.1, 1, 1, 1))
        expected = [0.5, 0, 0, 0] if sample_roi[0, 0] == 0 else [-0.5, 0, 0, 0]
        np.testing.assert_allclose(gt_roi_loc[0], expected, atol=1e-12)
    assert LOC_NORMALIZE_MEAN == (0.0, 0.0, 0.0, 0.0)
    assert LOC_NORMALIZE_STD == (0.1, 0.1, 0.2, 0.2)  # The losses of Faster R-CNN


def test_proposal_targets_without_gt_are_all_background():
    roi = _random_boxes(1, 30, (100.0, 100.0))
    creator = ProposalTargetCreator()
    sample_roi, gt_roi_loc, gt_roi_label = creator(
        roi, np.zeros((0, 4)), [], np.random.default_rng(0)
    )
    assert len(sample_roi) == 30 and (gt_roi_label == 0).all() and (gt_roi_loc == 0).all()
    out = creator(np.zeros((0, 4)), np.zeros((0, 4)), [], np.random.default_rng(0))
    assert [a.shape for a in out] == [(0, 4), (0, 4), (0,)]


def test_proposal_targets_are_deterministic_under_a_seed():
    roi = _random_boxes(2, 200, (300.0, 300.0))
    bbox = _random_boxes(3, 5, (300.0, 300.0), 20.0)
    label = np.array([0, 1, 2, 3, 4])
    creator = ProposalTargetCreator()
    a = creator(roi, bbox, label, np.random.default_rng(3))
    b = creator(roi, bbox, label, np.random.default_rng(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert len(a[0]) == 128  # n_sample


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_sample": -1}, "n_sample must be a positive integer; got -1"),
        ({"pos_ratio": 2}, r"pos_ratio must be in \[0, 1\]"),
        ({"neg_iou_thresh_hi": 0.6}, "neg_iou_thresh_hi <= pos_iou_thresh"),
        ({"neg_iou_thresh_lo": 0.3, "neg_iou_thresh_hi": 0.2}, "neg_iou_thresh_lo <="),
        ({"pos_iou_thresh": 0.0, "neg_iou_thresh_hi": 0.0}, "pos_iou_thresh > 0"),
    ],
)
def test_proposal_target_creator_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProposalTargetCreator(**kwargs)


@pytest.mark.parametrize(
    ("label", "rng", "kwargs", "match", "err"),
    [
        ([0.5], np.random.default_rng(0), {}, "label must hold integer", TypeError),
        (
            [0, 1],
            np.random.default_rng(0),
            {},
            r"label must have shape \(R',\) = \(1,\)",
            ValueError,
        ),
        ([-1], np.random.default_rng(0), {}, "label must be class indices >= 0", ValueError),
        ([0], None, {}, "rng must be a numpy.random.Generator", TypeError),
        (
            [0],
            np.random.default_rng(0),
            {"loc_normalize_std": (0, 1, 1, 1)},
            "std must be",
            ValueError,
        ),
        (
            [0],
            np.random.default_rng(0),
            {"loc_normalize_mean": (0, 0)},
            "mean must have",
            ValueError,
        ),
    ],
)
def test_proposal_target_creator_rejects_bad_inputs(label, rng, kwargs, match, err):
    with pytest.raises(err, match=match):
        ProposalTargetCreator()([[0, 0, 5, 5]], [[0, 0, 5, 5]], label, rng, **kwargs)


@given(anything_boxes(), anything_boxes())
def test_proposal_target_creator_fuzz(roi, bbox):
    label = np.zeros(len(bbox), dtype=np.int64) if bbox.ndim else np.zeros(0, np.int64)
    try:
        out = ProposalTargetCreator(n_sample=16)(roi, bbox, label, np.random.default_rng(0))
    except (ValueError, TypeError):
        return
    sample_roi, gt_roi_loc, gt_roi_label = out
    assert len(sample_roi) == len(gt_roi_loc) == len(gt_roi_label) <= 16
    assert np.isfinite(gt_roi_loc).all()


def test_target_creators_reject_boxes_whose_area_overflows():
    huge = np.array([[0.0, 0.0, 3e38, 3e38]], dtype=np.float32)
    small = np.array([[0.0, 0.0, 1.0, 1.0]], dtype=np.float32)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="anchor row 0 is too large"):
        AnchorTargetCreator()(small, huge, (10, 10), rng)
    with pytest.raises(ValueError, match="bbox row 0 is too large"):
        AnchorTargetCreator()(huge, small, (10, 10), rng)
    with pytest.raises(ValueError, match="roi row 0 is too large"):
        ProposalTargetCreator()(huge, small, [0], rng)
    with pytest.raises(ValueError, match="bbox row 0 is too large"):
        ProposalTargetCreator()(small, huge, [0], rng)


def test_proposal_target_labels_shift_without_wrapping():
    bbox = np.array([[0.0, 0.0, 10.0, 10.0]])
    creator = ProposalTargetCreator(n_sample=1, pos_ratio=1.0)
    _, _, gt_roi_label = creator(bbox, bbox, np.array([255], np.uint8), np.random.default_rng(0))
    assert gt_roi_label.tolist() == [256]
