"""Tests of bboxcore.roi.align: RoI Align against hand-derived numbers, the loop reference and
central finite differences (Detection – 3 stages, §B*)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.roi.align import roi_align, roi_align_backward
from bboxcore.roi.reference import roi_align_reference
from tests.finite_diff import numerical_vjp
from tests.strategies import roi_problems

RAMP = np.arange(16.0).reshape(1, 1, 4, 4)  # value 4y + x at cell (y, x): bilinear reads are exact


def _args(p):
    return p["features"], p["rois"], p["output_size"], p["spatial_scale"]


# --------------------------------------------------------------------------- RoI Align
def test_roi_align_aligned_worked_numbers():
    # box [0, 4]^2 at scale 1, shifted by -0.5: [-0.5, 3.5]; 2 bins of 2 cells; adaptive grid
    # ceil(4/2) = 2 samples per bin at -0.5 + (k + 0.5) = 0, 1 | 2, 3 -> means 0.5 | 2.5.
    out = roi_align(RAMP, [[0, 0, 0, 4, 4]], 2, 1.0)
    np.testing.assert_allclose(out[0, 0], [[4 * 0.5 + 0.5, 4 * 0.5 + 2.5], [4 * 2.5 + 0.5, 12.5]])


def test_roi_align_unaligned_worked_numbers_clamp_the_border():
    # aligned=False: samples at 0.5, 1.5 | 2.5, 3.5; 3.5 lies past W - 1 = 3 and reads cell 3,
    # so the bin means are 1.0 | (2.5 + 3) / 2 = 2.75.
    out = roi_align(RAMP, [[0, 0, 0, 4, 4]], 2, 1.0, aligned=False)
    np.testing.assert_allclose(
        out[0, 0], [[4 * 1 + 1, 4 * 1 + 2.75], [4 * 2.75 + 1, 4 * 2.75 + 2.75]]
    )


def test_roi_align_spatial_scale_maps_pixels_to_cells():
    # pixels (2, 2, 6, 6) at stride 2 -> cells [1, 3], aligned [0.5, 2.5]; one bin, grid 2:
    # samples 1.0 and 2.0 on each axis, mean 1.5 -> 4 * 1.5 + 1.5.
    np.testing.assert_allclose(roi_align(RAMP, [[0, 2, 2, 6, 6]], 1, 0.5), [[[[7.5]]]])


def test_roi_align_bilinear_weights_by_hand():
    # one sample at (y, x) = (0.25, 0.75) of [[0, 0], [0, 1]]: weight ly * lx = 0.25 * 0.75.
    f = np.array([[[[0.0, 0.0], [0.0, 1.0]]]])
    out = roi_align(f, [[0, 1.0, 0.5, 1.5, 1.0]], 1, 1.0, sampling_ratio=1)  # centre (1.25, 0.75)
    np.testing.assert_allclose(out, [[[[0.25 * 0.75]]]])


def test_roi_align_far_outside_reads_zero_and_constant_map_reads_constant():
    f = np.full((1, 2, 5, 6), 3.0)
    np.testing.assert_array_equal(roi_align(f, [[0, -50, -50, -20, -20]], 2, 1.0), 0)
    np.testing.assert_allclose(roi_align(f, [[0, 1, 1, 4.5, 3.2]], (3, 2), 1.0), 3.0)


@given(roi_problems(), st.sampled_from([-1, 0, 1, 2]), st.booleans())
def test_roi_align_matches_loop_reference(p, sampling_ratio, aligned):
    got = roi_align(*_args(p), sampling_ratio=sampling_ratio, aligned=aligned)
    ref = roi_align_reference(*_args(p), sampling_ratio=sampling_ratio, aligned=aligned)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@given(roi_problems(max_rois=3, max_side=5, max_channels=2), st.booleans())
def test_roi_align_backward_matches_finite_difference(p, aligned):
    f, rois, size, scale = _args(p)
    dout = np.random.default_rng(0).standard_normal((len(rois), f.shape[1], *size))
    grad = roi_align_backward(dout, rois, f.shape, size, scale, aligned=aligned)
    expected = numerical_vjp(lambda x: roi_align(x, rois, size, scale, aligned=aligned), f, dout)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


@given(roi_problems(), st.sampled_from([-1, 2]))
def test_roi_align_backward_is_the_adjoint_of_forward(p, sampling_ratio):
    # <dY, Align(F)> = <Align^T(dY), F> for the linear op
    f, rois, size, scale = _args(p)
    dout = np.random.default_rng(1).standard_normal((len(rois), f.shape[1], *size))
    lhs = np.sum(dout * roi_align(f, rois, size, scale, sampling_ratio))
    rhs = np.sum(roi_align_backward(dout, rois, f.shape, size, scale, sampling_ratio) * f)
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-9)


def test_roi_align_backward_spreads_to_the_four_neighbours():
    # Detection – 3 stages, §B*: a sample at (0.25, 0.75) gives (1-Δh)(1-Δw) to each neighbour
    d = roi_align_backward(
        np.ones((1, 1, 1, 1)), [[0, 1.0, 0.5, 1.5, 1.0]], (1, 1, 2, 2), 1, 1.0, 1
    )
    np.testing.assert_allclose(d[0, 0], [[0.75 * 0.25, 0.75 * 0.75], [0.25 * 0.25, 0.25 * 0.75]])


def test_roi_align_several_images_and_dtypes():
    rng = np.random.default_rng(2)
    f = rng.standard_normal((3, 4, 6, 7)).astype(np.float32)
    rois = np.array([[2, 0, 0, 5, 5], [0, 1, 1, 4, 6], [2, 2, 0, 7, 3], [1, 0, 0, 7, 6]])
    out = roi_align(f, rois, 2, 1.0)
    assert out.dtype == np.float32
    ref = roi_align_reference(f.astype(np.float64), rois, (2, 2), 1.0)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    d = roi_align_backward(out, rois, f.shape, 2, 1.0)
    assert d.dtype == np.float32 and d.shape == f.shape
    assert roi_align(f.astype(np.int64), rois, 2, 1.0).dtype == np.float64
