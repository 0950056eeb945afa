"""Tests of bboxcore.roi.align: RoI Align against hand-derived numbers, the loop reference and
central finite differences (Detection – 3 stages, §B*)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.roi._sampling import SEPARABLE_CHUNK
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


# --------------------------------------------------------------------------- edges (mutation)
def test_roi_align_many_rois_on_one_image_equal_the_loop_reference_and_add_up():
    # More RoIs on one image than the engine multiplies at once (SEPARABLE_CHUNK): the forward
    # is still the loop reference, and the backward still sums the gradients of every RoI
    # (dL/dF = sum_r A_r^T dL/dY_r, Detection – 3 stages, §B*), chunk after chunk.
    rng = np.random.default_rng(9)
    f = rng.standard_normal((2, 2, 6, 7))
    n = 51  # image 1 gets 34 of them (more than SEPARABLE_CHUNK = 32), interleaved with image 0
    assert (np.arange(n) % 3 != 0).sum() > SEPARABLE_CHUNK
    xy = rng.uniform(-2, 6, (n, 2))
    batch = (np.arange(n) % 3 != 0).astype(float)
    rois = np.column_stack([batch, xy, xy + rng.uniform(0.5, 5, (n, 2))])
    out = roi_align(f, rois, (2, 3), 1.0)
    ref = roi_align_reference(f, rois, (2, 3), 1.0)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    grad = roi_align_backward(dout, rois, f.shape, (2, 3), 1.0)
    each = [
        roi_align_backward(dout[r : r + 1], rois[r : r + 1], f.shape, (2, 3), 1.0) for r in range(n)
    ]
    np.testing.assert_allclose(grad, np.sum(each, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [1, 2, 3, 5])
def test_roi_align_fixed_sampling_ratios_equal_the_loop_reference(sampling_ratio, aligned):
    # Bins from 1/16 to 9 cells wide on a quarter-cell lattice of positions, so that sample
    # points fall on -1, 0, W - 1 and W themselves and on both sides of them, with sample
    # spacings from 1/80 to 9 cells; the loop reference reads every sample of every bin.
    rng = np.random.default_rng(10)
    f = rng.standard_normal((1, 2, 5, 6))
    start = np.arange(-4.0, 7.0, 0.5)
    side = np.array([0.125, 0.5, 1.0, 2.5, 6.0, 9.0])
    x1, w = np.repeat(start, len(side)), np.tile(side, len(start))
    y1, h = rng.permutation(x1) - 0.25, rng.permutation(w)
    rois = np.column_stack([0 * x1, x1, y1, x1 + w, y1 + h])
    args = (f, rois, (1, 2), 1.0, sampling_ratio, aligned)
    np.testing.assert_allclose(roi_align(*args), roi_align_reference(*args), rtol=1e-12, atol=1e-12)


def test_roi_align_of_a_huge_roi_reads_only_the_samples_on_the_map():
    # One bin 2e12 cells wide with the adaptive grid: 2e12 x 2e12 samples 1 cell apart, at
    # half-integers. Only those in [-1, W] x [-1, H] read the map (the border rules of
    # test_conventions): x = -0.5 (cell 0), 0.5, 1.5, 2.5 (halves), 3.5 (cell 3) on W = 4 give
    # the column weights (1.5, 1, 1, 1.5); likewise (1.5, 1, 1.5) on H = 3; the mean divides by
    # the 4e24 samples. The op costs what the map does, not what the grid does.
    f = np.random.default_rng(11).standard_normal((1, 2, 3, 4))
    out = roi_align(f, [[0, -1e12, -1e12, 1e12, 1e12]], 1, 1.0, aligned=False)
    wy, wx = np.array([1.5, 1.0, 1.5]), np.array([1.5, 1.0, 1.0, 1.5])
    expected = np.einsum("y,cyx,x->c", wy, f[0], wx) / 2e12**2
    np.testing.assert_allclose(out[0, :, 0, 0], expected, rtol=1e-12)


def test_roi_align_of_a_zero_width_roi_with_a_fixed_sampling_ratio_reads_its_line():
    # aligned=True keeps a zero width (no 1-cell minimum): with sampling_ratio = 2 both x
    # samples of the bin sit on x = 1.5, the y samples at 1.0 and 2.0, so the bin is the ramp
    # 4y + x at their mean (1.5, 1.5); with the adaptive grid, ceil(0) = 0 samples: 0
    # (torchvision's roi_align kernel, which Detectron2 uses).
    ramp = np.arange(16.0).reshape(1, 1, 4, 4)
    assert roi_align(ramp, [[0, 2, 1, 2, 3]], 1, 1.0, sampling_ratio=2)[0, 0, 0, 0] == 7.5
    assert roi_align(ramp, [[0, 2, 1, 2, 3]], 1, 1.0)[0, 0, 0, 0] == 0.0
    assert roi_align(ramp.transpose(0, 1, 3, 2), [[0, 1, 2, 3, 2]], 1, 1.0, 2)[0, 0, 0, 0] == 7.5


def test_roi_align_far_off_the_map_with_an_absurd_sampling_ratio_reads_0_without_warning():
    # 10**300 samples 1e-10 apart, 1e300 cells from the map: the sample numbers of the map's
    # border overflow float64, and the op still answers 0 without an overflow warning
    f = np.ones((1, 1, 3, 4))
    roi = [[0, 1e300, 1e300, 1e300 + 1e290, 1e300 + 1e290]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = roi_align(f, roi, 1, 1.0, sampling_ratio=10**300)
    assert out[0, 0, 0, 0] == 0.0
