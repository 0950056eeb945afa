"""Tests of bboxcore.roi.pool: RoI Pool against the classic 8 x 8 illustration, the loop
reference and central finite differences (Detection – 3 stages, §B3, §B*)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from bboxcore.roi.pool import roi_pool, roi_pool_backward
from bboxcore.roi.reference import roi_pool_reference
from tests.finite_diff import numerical_vjp
from tests.strategies import roi_problems

# The 8 x 8 map of the classic RoI Pooling illustration (Detection – 3 stages, §B3)
MAP8 = np.array(
    [
        [0.88, 0.44, 0.14, 0.16, 0.37, 0.77, 0.96, 0.27],
        [0.19, 0.45, 0.57, 0.16, 0.63, 0.29, 0.71, 0.70],
        [0.66, 0.26, 0.82, 0.64, 0.54, 0.73, 0.59, 0.26],
        [0.85, 0.34, 0.76, 0.84, 0.29, 0.75, 0.62, 0.25],
        [0.32, 0.74, 0.21, 0.39, 0.34, 0.03, 0.33, 0.48],
        [0.20, 0.14, 0.16, 0.13, 0.73, 0.65, 0.96, 0.32],
        [0.19, 0.69, 0.09, 0.86, 0.88, 0.07, 0.01, 0.48],
        [0.83, 0.24, 0.97, 0.04, 0.24, 0.35, 0.50, 0.91],
    ]
)[None, None]


def _args(p):
    return p["features"], p["rois"], p["output_size"], p["spatial_scale"]


# --------------------------------------------------------------------------- RoI Pool
def test_roi_pool_on_the_8x8_map():
    # cells x 0..6 (L = 7), y 3..7 (L = 5); bins in x: [0, ceil(3.5)) = [0, 4) and
    # [floor(3.5), 7) = [3, 7); in y: [3, 3 + ceil(2.5)) = [3, 6) and [3 + 2, 8) = [5, 8).
    # Neighbouring bins share a cell (floor / ceil).
    out, argmax = roi_pool(MAP8, [[0, 0, 3, 6, 7]], 2, 1.0)
    np.testing.assert_array_equal(out[0, 0], [[0.85, 0.96], [0.97, 0.96]])
    np.testing.assert_array_equal(argmax[0, 0], [[3 * 8 + 0, 5 * 8 + 6], [7 * 8 + 2, 5 * 8 + 6]])
    # the same RoI in image pixels at stride 16: quantisation 1 rounds 48/16 etc. to cells
    out16, _ = roi_pool(MAP8, [[0, 0, 48, 96, 112]], 2, 1 / 16)
    np.testing.assert_array_equal(out16, out)


def test_roi_pool_quantises_twice():
    # Detection – 3 stages, §B*: x_min = 23 px at stride 16 is 1.44 cells, rounded to cell 1
    # (quantisation 1)
    col = np.arange(8.0)[None, None, None, :].repeat(8, axis=2)  # value = x
    a, _ = roi_pool(col, [[0, 23, 0, 127, 127]], 1, 1 / 16)
    b, _ = roi_pool(-col, [[0, 23, 0, 127, 127]], 1, 1 / 16)
    assert a[0, 0, 0, 0] == 7 and -b[0, 0, 0, 0] == 1  # the bin starts at cell 1, not at 1.44
    # quantisation 2: 3 cells into 2 bins gives bins [0, 2) and [1, 3), sharing cell 1
    out, argmax = roi_pool(col, [[0, 0, 0, 2, 0]], (1, 2), 1.0)
    np.testing.assert_array_equal(out[0, 0], [[1, 2]])


def test_roi_pool_whole_map_is_the_global_max():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((2, 3, 6, 9))
    out, argmax = roi_pool(f, [[1, 0, 0, 9 * 16, 6 * 16]], 1, 1 / 16)
    np.testing.assert_array_equal(out[0, :, 0, 0], f[1].max(axis=(1, 2)))
    np.testing.assert_array_equal(argmax[0, :, 0, 0], f[1].reshape(3, -1).argmax(axis=1))


def test_roi_pool_ties_take_the_first_cell_in_row_major_order():
    f = np.zeros((1, 1, 3, 3))
    f[0, 0, 1, 2] = f[0, 0, 2, 0] = f[0, 0, 1, 1] = 5.0
    _, argmax = roi_pool(f, [[0, 0, 0, 2, 2]], 1, 1.0)
    assert argmax[0, 0, 0, 0] == 1 * 3 + 1


@given(roi_problems(max_side=9))
def test_roi_pool_matches_loop_reference(p):
    out, argmax = roi_pool(*_args(p))
    ref, ref_argmax = roi_pool_reference(*_args(p))
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(argmax, ref_argmax)


@given(roi_problems(max_rois=3, max_side=5, max_channels=2))
def test_roi_pool_backward_matches_finite_difference(p):
    f, rois, size, scale = _args(p)
    # distinct values 0.37 apart: max is then locally linear within the FD step (no ties)
    f = 0.37 * np.random.default_rng(5).permutation(f.size).reshape(f.shape)
    out, argmax = roi_pool(f, rois, size, scale)
    dout = np.random.default_rng(6).standard_normal(out.shape)
    grad = roi_pool_backward(dout, argmax, rois, f.shape)
    expected = numerical_vjp(lambda x: roi_pool(x, rois, size, scale)[0], f, dout)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


def test_roi_pool_backward_sums_at_a_shared_argmax():
    # Detection – 3 stages, §B*: dL/dx_i = sum_r sum_j [i = i*(r, j)] dL/dy_rj; cell (5, 6) wins two
    # bins
    out, argmax = roi_pool(MAP8, [[0, 0, 3, 6, 7]], 2, 1.0)
    dout = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    d = roi_pool_backward(dout, argmax, [[0, 0, 3, 6, 7]], MAP8.shape)
    expected = np.zeros((8, 8))
    expected[3, 0], expected[5, 6], expected[7, 2] = 1.0, 2.0 + 4.0, 3.0
    np.testing.assert_array_equal(d[0, 0], expected)


def test_roi_pool_outside_map_gives_empty_bins():
    out, argmax = roi_pool(np.ones((1, 1, 4, 4)), [[0, 100, 100, 120, 120]], 2, 1.0)
    np.testing.assert_array_equal(out, 0)
    np.testing.assert_array_equal(argmax, -1)
    d = roi_pool_backward(np.ones((1, 1, 2, 2)), argmax, [[0, 100, 100, 120, 120]], (1, 1, 4, 4))
    np.testing.assert_array_equal(d, 0)


# --------------------------------------------------------------------------- edges (mutation)
def test_roi_pool_float32_in_float32_out():
    f = MAP8.astype(np.float32)
    out, argmax = roi_pool(f, [[0, 0, 0, 7, 7]], 2, 1.0)
    assert out.dtype == np.float32 and argmax.dtype == np.int64
    d = roi_pool_backward(np.ones_like(out), argmax, [[0, 0, 0, 7, 7]], f.shape)
    assert d.dtype == np.float32


def test_roi_pool_on_a_one_row_map_equals_the_loop_reference():
    # H = 1: every bin reads row 0 (a valid map, not an empty one)
    f = np.array([[[[1.0, 5.0, 2.0, 3.0]]]])
    rois = [[0, 0, 0, 3, 0], [0, 2, 0, 3, 0]]
    out, argmax = roi_pool(f, rois, (1, 2), 1.0)
    ref, ref_arg = roi_pool_reference(f, rois, (1, 2), 1.0)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(argmax, ref_arg)
    assert out[0, 0, 0].tolist() == [5.0, 3.0]


@pytest.mark.parametrize("shape", [(1, 2, 0, 4), (1, 2, 4, 0), (1, 2, 0, 0)])
def test_roi_pool_on_an_empty_map_gives_empty_bins(shape):
    # no cell to read: every bin is 0 with argmax -1 (NO_ARGMAX), and passes no gradient
    f = np.zeros(shape)
    out, argmax = roi_pool(f, [[0, 0, 0, 3, 3]], 2, 1.0)
    assert out.shape == (1, 2, 2, 2) and not out.any()
    assert (argmax == -1).all()
    d = roi_pool_backward(np.ones_like(out), argmax, [[0, 0, 0, 3, 3]], shape)
    assert d.shape == shape


def test_roi_pool_backward_argmax_bounds_are_minus_1_and_h_w_minus_1():
    # argmax in [-1, H*W): -1 (an empty bin) and H*W - 1 (the last cell) are valid; each
    # bound crossed alone is an error
    f = np.zeros((1, 1, 2, 2))
    roi = [[0, 0, 0, 1, 1]]
    ok = np.array([[[[-1, 3]]]])
    d = roi_pool_backward(np.ones((1, 1, 1, 2)), ok, roi, f.shape)
    assert d.ravel().tolist() == [0.0, 0.0, 0.0, 1.0]
    for bad in ([[[[0, 4]]]], [[[[-2, 0]]]]):
        with pytest.raises(ValueError, match=r"argmax must be in \[-1, H\*W\) = \[-1, 4\)"):
            roi_pool_backward(np.ones((1, 1, 1, 2)), np.array(bad), roi, f.shape)
    with pytest.raises(ValueError, match=r"argmax must have shape \(R, C, ph, pw\)"):
        roi_pool_backward(np.ones((1, 1, 2)), np.array([[[0, 3]]]), roi, f.shape)
