"""NMS beyond its pair budget, and the defaults of Soft-NMS.

The blocked NMS engine bounds its temporaries by ``PAIR_BUDGET`` (IoU pairs per chunk);
real inputs reach the chunking only with millions of pairs, so the tests shrink the budget
to reach every chunk boundary with a few dozen boxes (as ``tests/test_iou.py`` does with
the IoU's block budget).
"""

from __future__ import annotations

import numpy as np
import pytest

import bboxcore._nms_fast as nms_fast
from bboxcore.iou import box_iou
from bboxcore.nms import batched_nms, nms, nms_reference
from bboxcore.nms_variants import heatmap_peaks, soft_nms
from bboxcore.tools.synthetic import clustered_boxes, random_boxes


def _problems():
    rng = np.random.default_rng(5)
    sparse = random_boxes(rng, 150, img_size=(200, 200), side=(4, 40), dtype=np.float64)
    clustered = clustered_boxes(rng, 150, n_centres=20, img_size=(200, 200), dtype=np.float64)
    nested = np.array([[i, i, 100.0 - i, 100.0 - i] for i in range(45)])  # dense path
    return [sparse, clustered, nested]


@pytest.mark.parametrize("budget", [1, 3, 50])
@pytest.mark.parametrize("block", [2, 128])
def test_nms_beyond_its_pair_budget_equals_the_reference(budget, block, monkeypatch):
    monkeypatch.setattr(nms_fast, "PAIR_BUDGET", budget)
    monkeypatch.setattr(nms_fast, "NMS_BLOCK", block)
    rng = np.random.default_rng(budget * 1000 + block)
    for boxes in _problems():
        scores = rng.random(len(boxes))
        for thresh in (0.3, 0.7):
            np.testing.assert_array_equal(
                nms(boxes, scores, thresh), nms_reference(boxes, scores, thresh)
            )
        labels = rng.integers(0, 3, len(boxes))
        expected = np.sort(
            np.concatenate(
                [
                    np.flatnonzero(labels == c)[
                        nms_reference(boxes[labels == c], scores[labels == c], 0.5)
                    ]
                    for c in range(3)
                ]
            )
        )
        got = batched_nms(boxes, scores, labels, 0.5)
        np.testing.assert_array_equal(np.sort(got), expected)


# --------------------------------------------------------------------------- Soft-NMS defaults
BOXES = np.array([[0.0, 0, 10, 10], [0, 0, 10, 6], [0, 0, 10, 2], [50, 50, 60, 60]])
# IoU with box 0: 0.6, 0.2, 0


def test_soft_nms_gaussian_default_sigma_is_0_5():
    """Gaussian decay f = exp(-IoU^2 / sigma) with sigma = 0.5 (Bodla et al. 2017, Sec. 4
    and the authors' code; *Detection – 3 stages*, §A*)."""
    keep, s = soft_nms(BOXES, [0.9, 0.8, 0.7, 0.1], method="gaussian")
    iou = box_iou(BOXES, BOXES)  # IoU(0, 1) = 0.6, IoU(0, 2) = 0.2, IoU(1, 2) = 1/3

    def f(v):
        return np.exp(-(v**2) / 0.5)

    # box 0 decays box 1 to 0.8 f(0.6) = 0.39 and box 2 to 0.7 f(0.2) = 0.65; box 2 is
    # selected next and decays box 1 again by f(1/3)
    assert keep.tolist() == [0, 2, 1, 3]
    expected = [0.9, 0.7 * f(iou[0, 2]), 0.8 * f(iou[0, 1]) * f(iou[1, 2]), 0.1]
    np.testing.assert_allclose(s, expected, rtol=1e-12)


def test_soft_nms_default_score_thresh_is_0_001():
    """Boxes whose (decayed) score is not above 0.001 are dropped (the authors' code)."""
    far = [[0.0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10]]
    keep, s = soft_nms(far, [0.5, 0.0011, 0.001])
    assert keep.tolist() == [0, 1]
    np.testing.assert_allclose(s, [0.5, 0.0011])
    assert soft_nms(far[:1], [0.001])[0].size == 0  # exactly 0.001 is not above it
    assert soft_nms(far[:1], [0.0011])[0].tolist() == [0]
    # a decay that takes 0.002 to 0.002 * (1 - 0.6) = 0.0008 < 0.001 drops it (linear, N_t 0.3)
    keep, _ = soft_nms(BOXES[:2], [0.9, 0.002])
    assert keep.tolist() == [0]


def test_soft_nms_default_method_is_linear_with_n_t_0_3():
    """Linear decay 1 - IoU above N_t = 0.3 (Eq. 2): 0.6 decays, 0.2 does not."""
    keep, s = soft_nms(BOXES, [0.9, 0.8, 0.7, 0.1])
    assert keep.tolist() == [0, 2, 1, 3]
    # box 1: 0.8 * (1 - 0.6); box 2 keeps 0.7, then box 1 (IoU(1, 2) = 1/3 > 0.3) decays again
    iou12 = box_iou(BOXES[1:2], BOXES[2:3])[0, 0]
    np.testing.assert_allclose(s, [0.9, 0.7, 0.8 * 0.4 * (1 - iou12), 0.1], rtol=1e-12)


def test_batched_nms_honours_score_thresh_and_max_output():
    # like nms: only scores above score_thresh, at most max_output boxes, by decreasing score
    far = np.array([[0.0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10], [300, 0, 310, 10]])
    scores, labels = np.array([0.9, 0.5, 0.7, 0.3]), np.array([0, 1, 0, 1])
    assert batched_nms(far, scores, labels, 0.5).tolist() == [0, 2, 1, 3]
    assert batched_nms(far, scores, labels, 0.5, score_thresh=0.3).tolist() == [0, 2, 1]
    assert batched_nms(far, scores, labels, 0.5, max_output=2).tolist() == [0, 2]


# --------------------------------------------------------------------------- Soft-NMS edges
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["linear", "hard"])
def test_soft_nms_iou_exactly_n_t_does_not_decay_in_every_dtype(dtype, method):
    """IoU = 30 / 100 = N_t = 0.3 exactly, compared in the IoU's dtype as by nms: f = 1, no
    decay (the authors' code, ``ov > Nt``; the paper's Eq. 2 would decay at IoU >= N_t)."""
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 3]], dtype)
    keep, s = soft_nms(boxes, np.array([0.9, 0.8], dtype), iou_thresh=0.3, method=method)
    assert keep.tolist() == [0, 1]
    assert s.dtype == dtype and s.tolist() == [dtype(0.9), dtype(0.8)]


def test_soft_nms_float32_score_exactly_score_thresh_is_dropped():
    # score_thresh is compared in the scores' dtype, as by nms: float32(0.001) is not above it
    far = np.array([[0.0, 0, 10, 10], [100, 0, 110, 10]], np.float32)
    keep, _ = soft_nms(far, np.array([0.5, 0.001], np.float32))
    assert keep.tolist() == [0]


def test_soft_nms_zero_score_is_valid_and_the_error_names_the_first_negative():
    far = [[0.0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10]]
    assert soft_nms(far[:2], [0.5, 0.0])[0].tolist() == [0]  # 0 is not above 0.001
    with pytest.raises(ValueError, match=r"got -1.0 at index 2"):
        soft_nms(far, [0.0, 0.5, -1.0])


# --------------------------------------------------------------------------- heatmap peaks
def test_heatmap_peaks_at_the_border_of_a_negative_heatmap():
    # outside the map counts as -inf (never larger than a cell): the corner -1 of an
    # all-negative map is a peak (logits before the sigmoid can be negative)
    heat = -np.array([[[1.0, 2.0], [2.0, 3.0]]])
    values, c, y, x = heatmap_peaks(heat, k=5)
    assert values.tolist() == [-1.0] and (c.tolist(), y.tolist(), x.tolist()) == ([0], [0], [0])


def test_heatmap_peaks_keep_the_heatmap_dtype_also_when_empty():
    heat = np.zeros((1, 3, 3), np.float32)
    assert heatmap_peaks(heat, k=0)[0].dtype == np.float32
    assert heatmap_peaks(np.zeros((1, 0, 3), np.float32), k=3)[0].dtype == np.float32
    assert heatmap_peaks(heat + 1, k=1)[0].dtype == np.float32
