"""RoI op conventions at the border of the feature map and for huge coordinates.

RoI Align (He et al. 2017, Mask R-CNN; the sampling rule of Detectron's and torchvision's
``roi_align`` kernels, *Detection – 3 stages*, §B*): a sample point at y < -1 or y > H
(x < -1 or x > W) reads 0; one in [-1, 0] reads row 0, one in [H - 1, H] reads row H - 1.
Both ends, -1 and H, are *inside*. Each case puts the single sample of a 1 x 1 bin
(``aligned=False``, ``sampling_ratio=1``: the bin's centre) exactly on a border value.
"""

from __future__ import annotations

import numpy as np
import pytest

import bboxcore.roi.pool as pool_mod
from bboxcore.roi.align import roi_align, roi_align_backward
from bboxcore.roi.pool import roi_pool

ROW = np.array([1.0, 2.0, 4.0, 8.0])  # W = 4
F = ROW.reshape(1, 1, 1, 4)  # H = 1: every sample's y (0.5) reads row 0


def align_at(x: float) -> float:
    """RoI Align of a 1-cell-wide RoI whose single sample is at x."""
    roi = [[0, x - 0.5, 0.0, x + 0.5, 1.0]]
    out = roi_align(F, roi, 1, 1.0, sampling_ratio=1, aligned=False)
    return float(out[0, 0, 0, 0])


@pytest.mark.parametrize(
    ("x", "value"),
    [
        (-1.0, ROW[0]),  # exactly -1: inside, reads cell 0
        (-0.5, ROW[0]),  # in [-1, 0]: clamped to cell 0
        (4.0, ROW[3]),  # exactly W: inside, reads cell W - 1
        (3.5, ROW[3]),  # in [W - 1, W]: clamped to cell W - 1
        (-1.25, 0.0),  # beyond -1: zero
        (4.25, 0.0),  # beyond W: zero
        (1.5, 3.0),  # between cells 1 and 2
    ],
)
def test_roi_align_sample_on_the_border(x, value):
    assert align_at(x) == value


@pytest.mark.parametrize(("y", "value"), [(-1.0, 1.0), (3.0, 3.0), (-1.25, 0.0), (3.25, 0.0)])
def test_roi_align_sample_on_the_border_along_y(y, value):
    f = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)  # H = 3, W = 1
    roi = [[0, 0.0, y - 0.5, 1.0, y + 0.5]]
    out = roi_align(f, roi, 1, 1.0, sampling_ratio=1, aligned=False)
    assert out[0, 0, 0, 0] == value


@pytest.mark.parametrize(("x", "cell"), [(-1.0, 0), (4.0, 3), (-1.25, None), (4.25, None)])
def test_roi_align_backward_sends_a_border_sample_to_its_cell(x, cell):
    roi = [[0, x - 0.5, 0.0, x + 0.5, 1.0]]
    grad = roi_align_backward(np.ones((1, 1, 1, 1)), roi, F.shape, 1, 1.0, 1, aligned=False)
    expected = np.zeros(4)
    if cell is not None:
        expected[cell] = 1.0
    np.testing.assert_array_equal(grad.ravel(), expected)


# --------------------------------------------------------------------------- RoI Pool
FEAT = np.random.default_rng(0).normal(size=(2, 3, 5, 6))


@pytest.mark.parametrize("big", [1e12, 1e300, np.finfo(np.float64).max])
def test_roi_pool_with_huge_coordinates_pools_the_covered_cells(big):
    # a RoI far larger than the map: one bin is the max over every cell (no overflow, no
    # warning from a float -> int cast); one starting at x = 2 covers columns 2..5.
    out, argmax = roi_pool(FEAT, [[1, -big, -big, big, big], [0, 2.0, -big, big, big]], 1, 1.0)
    np.testing.assert_array_equal(out[0, :, 0, 0], FEAT[1].max(axis=(1, 2)))
    np.testing.assert_array_equal(out[1, :, 0, 0], FEAT[0][:, :, 2:].max(axis=(1, 2)))
    flat = FEAT[1].reshape(3, -1).argmax(axis=1)
    np.testing.assert_array_equal(argmax[0, :, 0, 0], flat)


def test_roi_pool_beyond_its_block_budget_equals_one_block(monkeypatch):
    rng = np.random.default_rng(1)
    xy = rng.uniform(-2, 6, size=(50, 2))
    rois = np.concatenate(
        [rng.integers(0, 2, (50, 1)), xy, xy + rng.uniform(0, 5, size=(50, 2))], axis=1
    )
    expected = roi_pool(FEAT, rois, (2, 3), 1.0)
    monkeypatch.setattr(pool_mod, "ROI_BLOCK_BUDGET", 1)  # one RoI per block
    got = roi_pool(FEAT, rois, (2, 3), 1.0)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
