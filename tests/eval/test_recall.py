"""Proposal recall against IoU (Faster R-CNN Fig. 4) and the metric plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bboxcore.data import Annotation, Detection  # noqa: E402
from bboxcore.eval import coco_ap, recall_at_iou, voc_ap  # noqa: E402
from bboxcore.eval.plots import plot_detections, plot_pr_curves, plot_recall_iou  # noqa: E402
from bboxcore.iou import box_iou  # noqa: E402
from tests.strategies import boxes  # noqa: E402

GT = [
    np.array([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]),
    np.array([[0.0, 0.0, 4.0, 4.0]]),
]
PROPOSALS = [
    np.array([[0.0, 0.0, 10.0, 8.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]]),
    np.array([[0.0, 0.0, 4.0, 2.0]]),
]


def test_recall_at_iou_worked_example():
    # best IoUs with all proposals: box 0 -> 1.0 (3rd proposal), box 1 -> 1.0, box 2 -> 8/16 = 0.5
    # with the first proposal only: box 0 -> 0.8, box 1 -> 0, box 2 -> 0.5
    r = recall_at_iou(PROPOSALS, GT, [0.5, 0.8, 0.9])
    np.testing.assert_allclose(r, [3 / 3, 2 / 3, 2 / 3])
    r1 = recall_at_iou(PROPOSALS, GT, [0.5, 0.8, 0.9], n_proposals=[1, 2, 100])
    np.testing.assert_allclose(r1, [[2 / 3, 1 / 3, 0], [3 / 3, 2 / 3, 1 / 3], [1, 2 / 3, 2 / 3]])


def test_recall_accepts_scored_objects_and_sorts_by_score():
    props = [Detection(PROPOSALS[0][::-1], [0, 0, 0], [0.1, 0.2, 0.3]), PROPOSALS[1]]
    gt = [Annotation(GT[0], [0, 0]), GT[1]]
    # sorted by score the order is the original one again
    np.testing.assert_allclose(
        recall_at_iou(props, gt, [0.9], n_proposals=1), recall_at_iou(PROPOSALS, GT, [0.9], 1)
    )


@given(st.lists(st.tuples(boxes(0, 6), boxes(1, 4)), min_size=1, max_size=3))
def test_recall_is_monotone_in_n_and_threshold(pairs):
    props = [p for p, _ in pairs]
    gt = [g for _, g in pairs]
    thr = np.linspace(0.0, 1.0, 6)
    r = recall_at_iou(props, gt, thr, n_proposals=[1, 3, 10])
    assert np.all(np.diff(r, axis=0) >= 0)  # more proposals never lose a box
    assert np.all(np.diff(r, axis=1) <= 0)  # a higher threshold never gains one
    # loop reference: share of boxes whose best IoU with the first 10 proposals is >= t
    best = [box_iou(g, p[:10]).max(axis=1) if len(p) else np.zeros(len(g)) for p, g in pairs]
    ref = [(np.concatenate(best) >= t).mean() for t in thr]
    np.testing.assert_allclose(r[2], ref)


def test_recall_errors():
    with pytest.raises(ValueError, match="one entry per image"):
        recall_at_iou(PROPOSALS[:1], GT)
    with pytest.raises(ValueError, match=r"thresholds must be in \[0, 1\]"):
        recall_at_iou(PROPOSALS, GT, [1.5])
    with pytest.raises(ValueError, match="n_proposals must be positive"):
        recall_at_iou(PROPOSALS, GT, n_proposals=0)
    with pytest.raises(ValueError, match="no boxes at all"):
        recall_at_iou([np.zeros((0, 4))], [np.zeros((0, 4))])
    with pytest.raises(ValueError, match=r"proposals\[0\] must have shape"):
        recall_at_iou([np.zeros((3, 5))], [GT[0]])


def test_plots_draw():
    gt = [Annotation(GT[0], [0, 1]), Annotation(GT[1], [1])]
    pred = [
        Detection(PROPOSALS[0], [0, 1, 0], [0.9, 0.8, 0.3]),
        Detection(PROPOSALS[1], [1], [0.5]),
    ]
    fig, axs = plt.subplots(1, 4)
    plot_pr_curves(voc_ap(pred, gt), ["a", "b"], ax=axs[0])
    assert len(axs[0].lines) == 2
    plot_pr_curves(coco_ap(pred, gt), ["a", "b"], ax=axs[1])
    assert len(axs[1].lines) == 2
    r = recall_at_iou(PROPOSALS, GT, n_proposals=[1, 3])
    plot_recall_iou(r, np.linspace(0.5, 1.0, 11), [1, 3], ax=axs[2])
    assert len(axs[2].lines) == 2
    plot_detections(np.zeros((40, 40, 3)), gt[0], pred[0], ["a", "b"], score_thresh=0.5, ax=axs[3])
    assert len(axs[3].patches) == 4  # 2 boxes + 2 detections above 0.5
    plt.close(fig)
