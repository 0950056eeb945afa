"""RoI Pool, RoI Align and PrRoI Pooling against hand-derived numbers, loop references,
numerical integration and central finite differences (Detection – 3 stages, §B*)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.roi.align import roi_align, roi_align_backward
from bboxcore.roi.pool import roi_pool, roi_pool_backward
from bboxcore.roi.prroi import prroi_pool, prroi_pool_backward
from bboxcore.roi.reference import prroi_pool_reference, roi_align_reference, roi_pool_reference
from tests.finite_diff import numerical_vjp
from tests.strategies import anything_boxes, roi_problems

RAMP = np.arange(16.0).reshape(1, 1, 4, 4)  # value 4y + x at cell (y, x): bilinear reads are exact

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


def test_roi_ops_on_empty_roi_lists():
    f = np.ones((2, 3, 4, 5))
    empty = np.zeros((0, 5))
    assert roi_align(f, empty, (2, 3), 0.5).shape == (0, 3, 2, 3)
    out, argmax = roi_pool(f, empty, 7, 0.5)
    assert out.shape == argmax.shape == (0, 3, 7, 7)
    assert prroi_pool(f, empty, 2, 1.0).shape == (0, 3, 2, 2)
    d = np.zeros((0, 3, 2, 3))
    np.testing.assert_array_equal(roi_align_backward(d, empty, f.shape, (2, 3), 0.5), 0 * f)
    np.testing.assert_array_equal(
        roi_pool_backward(d, np.zeros((0, 3, 2, 3), int), empty, f.shape), 0 * f
    )
    dfeat, drois = prroi_pool_backward(np.zeros((0, 3, 2, 2)), f, empty, 2, 1.0)
    assert dfeat.shape == f.shape and drois.shape == (0, 5)


def test_roi_ops_do_not_modify_inputs():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((1, 2, 5, 5))
    rois = np.array([[0, 0.5, 1, 4, 3.5]])
    f0, rois0 = f.copy(), rois.copy()
    roi_align(f, rois, 2, 1.0)
    roi_pool(f, rois, 2, 1.0)
    prroi_pool_backward(np.ones((1, 2, 2, 2)), f, rois, 2, 1.0)
    np.testing.assert_array_equal(f, f0)
    np.testing.assert_array_equal(rois, rois0)


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


# --------------------------------------------------------------------------- PrRoI Pooling
def _bilinear_surface(fmap, x, y):
    """f(x, y) = sum_ij max(0, 1 - |x - i|) max(0, 1 - |y - j|) w_ij, summed over every cell."""
    h, w = fmap.shape
    hx = np.maximum(0, 1 - np.abs(x[..., None] - np.arange(w)))  # (..., W)
    hy = np.maximum(0, 1 - np.abs(y[..., None] - np.arange(h)))  # (..., H)
    return np.einsum("...j,ji,...i->...", hy, fmap, hx)


@given(roi_problems(max_rois=2, max_side=5, max_channels=1, max_images=1, min_roi_side=0.5))
def test_prroi_pool_is_the_mean_of_the_interpolated_map(p):
    # IoU-Net Eq. 2 by brute force: a 200 x 200 midpoint rule over each bin
    f, rois, (ph, pw), scale = _args(p)
    out = prroi_pool(f, rois, (ph, pw), scale)
    m = 200
    t = (np.arange(m) + 0.5) / m
    for r, (_, x1, y1, x2, y2) in enumerate(rois * np.array([1, scale, scale, scale, scale])):
        for i in range(ph):
            for j in range(pw):
                xa, xb = x1 + (x2 - x1) * j / pw, x1 + (x2 - x1) * (j + 1) / pw
                ya, yb = y1 + (y2 - y1) * i / ph, y1 + (y2 - y1) * (i + 1) / ph
                xx, yy = np.meshgrid(xa + (xb - xa) * t, ya + (yb - ya) * t)
                mean = _bilinear_surface(f[0, 0], xx, yy).mean()
                assert out[r, 0, i, j] == pytest.approx(mean, rel=1e-3, abs=1e-3)


@given(roi_problems())
def test_prroi_pool_matches_loop_reference(p):
    np.testing.assert_allclose(prroi_pool(*_args(p)), prroi_pool_reference(*_args(p)), atol=1e-11)


def test_prroi_pool_whole_map_is_the_trapezoid_mean_and_constant_stays_constant():
    rng = np.random.default_rng(7)
    f = rng.standard_normal((1, 2, 5, 6))
    out = prroi_pool(f, [[0, 0, 0, 5, 4]], 1, 1.0)  # the points of the cells span [0, 5] x [0, 4]
    ty, tx = np.array([0.5, 1, 1, 1, 0.5]), np.array([0.5, 1, 1, 1, 1, 0.5])  # border cells: 1/2
    expected = np.einsum("y,cyx,x->c", ty, f[0], tx) / (4 * 5)
    np.testing.assert_allclose(out[0, :, 0, 0], expected)
    np.testing.assert_allclose(
        prroi_pool(np.full((1, 1, 5, 6), 2.5), [[0, 0.3, 1, 4.2, 3]], 3, 1.0), 2.5
    )


def test_prroi_pool_zero_area_bin_is_zero():
    out = prroi_pool(np.ones((1, 1, 4, 4)), [[0, 1, 1, 1, 3]], 2, 1.0)
    np.testing.assert_array_equal(out, 0)
    _, drois = prroi_pool_backward(
        np.ones((1, 1, 2, 2)), np.ones((1, 1, 4, 4)), [[0, 1, 1, 1, 3]], 2, 1.0
    )
    np.testing.assert_array_equal(drois, 0)


@given(roi_problems(max_rois=2, max_side=5, max_channels=2, min_roi_side=0.5))
def test_prroi_pool_backward_matches_finite_difference(p):
    f, rois, size, scale = _args(p)
    # Bin edges on a cell point sit on a kink of f (hat functions), where the second
    # derivative jumps and central differences lose accuracy: move off the lattice.
    rois = rois + np.array([0, 1, 1, 1, 1]) * np.sqrt(2) * 1e-3 / scale
    dout = np.random.default_rng(8).standard_normal((len(rois), f.shape[1], *size))
    dfeat, drois = prroi_pool_backward(dout, f, rois, size, scale)
    expected_f = numerical_vjp(lambda x: prroi_pool(x, rois, size, scale), f, dout)
    np.testing.assert_allclose(dfeat, expected_f, rtol=1e-6, atol=1e-7)

    def pool_of_boxes(boxes):
        return prroi_pool(f, np.concatenate([rois[:, :1], boxes], axis=1), size, scale)

    expected_b = numerical_vjp(pool_of_boxes, rois[:, 1:], dout)
    np.testing.assert_allclose(drois[:, 1:], expected_b, rtol=1e-5, atol=1e-6)
    assert (drois[:, 0] == 0).all()


def test_prroi_pool_box_gradient_is_the_slide_formula():
    # Detection – 3 stages, §B*: dPrPool/dx1 = PrPool / (x2 - x1) - int f(x1, y) dy / ((x2 - x1)(y2
    # - y1))
    f = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])  # f(x, y) = x + 2y on [0, 1]^2
    _, drois = prroi_pool_backward(np.ones((1, 1, 1, 1)), f, [[0, 0, 0, 1, 1]], 1, 1.0)
    pool, line_x0, line_x1, line_y0, line_y1 = 1.5, 1.0, 2.0, 0.5, 2.5
    np.testing.assert_allclose(
        drois[0], [0, pool - line_x0, pool - line_y0, line_x1 - pool, line_y1 - pool]
    )


# --------------------------------------------------------------------------- validation
F = np.zeros((2, 3, 4, 4))
GOOD = np.array([[0, 0, 0, 2, 2]])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"features": np.zeros((3, 4, 4))}, ValueError, r"features must have shape \(N, C, H, W\)"),
        ({"features": np.full((1, 1, 2, 2), np.nan)}, ValueError, "features must be finite"),
        ({"features": np.array([["a"]])}, TypeError, "features must be a real numeric array"),
        ({"rois": np.zeros((1, 4))}, ValueError, r"rois must have shape \(R, 5\); got \(1, 4\)"),
        ({"rois": [[0, 3, 0, 1, 2]]}, ValueError, "rois has an inverted box"),
        ({"rois": [[0, np.inf, 0, 1, 2]]}, ValueError, "rois must be finite"),
        ({"rois": [[0.5, 0, 0, 1, 2]]}, ValueError, r"integer batch index in \[0, 2\).*got 0.5"),
        ({"rois": [[2, 0, 0, 1, 2]]}, ValueError, r"batch index in \[0, 2\) \(N = 2\); got 2.0"),
        ({"output_size": 0}, ValueError, "output_size must be a positive int or"),
        ({"output_size": (2, 2, 2)}, ValueError, "output_size must be a positive int or"),
        ({"output_size": 2.5}, ValueError, "output_size must be a positive int or"),
        ({"spatial_scale": 0}, ValueError, r"spatial_scale must be a finite number > 0"),
        ({"spatial_scale": np.nan}, ValueError, r"spatial_scale must be a finite number > 0"),
    ],
)
@pytest.mark.parametrize("op", ["align", "pool", "prroi"])
def test_roi_ops_validation(op, kwargs, error, match):
    args = {"features": F, "rois": GOOD, "output_size": 2, "spatial_scale": 1.0, **kwargs}
    fn = {"align": roi_align, "pool": roi_pool, "prroi": prroi_pool}[op]
    with pytest.raises(error, match=match):
        fn(**args)


def test_roi_backward_validation():
    with pytest.raises(TypeError, match="sampling_ratio must be an int; got 1.5"):
        roi_align(F, GOOD, 2, 1.0, sampling_ratio=1.5)
    with pytest.raises(ValueError, match=r"dout must have shape \(R, C, ph, pw\) = \(1, 3, 2, 2\)"):
        roi_align_backward(np.zeros((1, 3, 2, 3)), GOOD, F.shape, 2, 1.0)
    with pytest.raises(ValueError, match="dout must be finite"):
        roi_align_backward(np.full((1, 3, 2, 2), np.nan), GOOD, F.shape, 2, 1.0)
    with pytest.raises(ValueError, match=r"features_shape must be \(N, C, H, W\)"):
        roi_align_backward(np.zeros((1, 3, 2, 2)), GOOD, (2, 3, 4), 2, 1.0)
    with pytest.raises(ValueError, match="of sizes >= 0"):
        roi_align_backward(np.zeros((1, 3, 2, 2)), GOOD, (2, 3, -4, 4), 2, 1.0)
    _, argmax = roi_pool(F, GOOD, 2, 1.0)
    with pytest.raises(TypeError, match="argmax must be an integer array"):
        roi_pool_backward(np.zeros((1, 3, 2, 2)), argmax.astype(float), GOOD, F.shape)
    with pytest.raises(
        ValueError, match=r"argmax must have shape \(R, C, ph, pw\) = \(1, 3, ph, pw\)"
    ):
        roi_pool_backward(np.zeros((1, 2, 2, 2)), argmax[:, :2], GOOD, F.shape)
    with pytest.raises(ValueError, match=r"argmax must be in \[-1, H\*W\) = \[-1, 16\)"):
        roi_pool_backward(np.zeros((1, 3, 2, 2)), argmax + 16, GOOD, F.shape)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        roi_pool_backward(np.zeros((1, 3, 2, 1)), argmax, GOOD, F.shape)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        prroi_pool_backward(np.zeros((1, 3, 1, 1)), F, GOOD, 2, 1.0)


def _rows(a):
    return np.shape(a)[0] if np.ndim(a) else 0


ROI_FNS = [
    lambda f, r: roi_align(f, r, 2, 0.5),
    lambda f, r: roi_align(f, r, (1, 3), 1.0, sampling_ratio=2, aligned=False),
    lambda f, r: roi_pool(f, r, 2, 0.5)[0],
    lambda f, r: prroi_pool(f, r, 2, 0.5),
    lambda f, r: roi_align_backward(np.ones((_rows(r), 2, 2, 2)), r, f.shape, 2, 0.5),
    lambda f, r: prroi_pool_backward(np.ones((_rows(r), 2, 2, 2)), f, r, 2, 0.5)[1],
    lambda f, r: roi_pool_backward(
        np.ones((_rows(r), 2, 2, 2)), np.zeros((_rows(r), 2, 2, 2), int), r, f.shape
    ),
]


@pytest.mark.parametrize("k", range(len(ROI_FNS)))
@given(rois=anything_boxes(), huge=st.booleans())
def test_roi_ops_fuzz_return_documented_result_or_raise(k, rois, huge):
    f = np.ones((1, 2, 3, 4)) * (1e300 if huge else 1.0)
    try:
        out = ROI_FNS[k](f, rois)
    except (ValueError, TypeError):
        return
    assert not np.isnan(out).any()
    expected_rows = 1 if k in (4, 6) else len(rois)  # dfeatures: (N = 1, C, H, W)
    assert out.shape[0] == expected_rows
