"""Tests of bboxcore.roi.prroi: PrRoI Pooling against numerical integration, the loop reference
and central finite differences (Detection – 3 stages, §B*)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given

from bboxcore.roi.prroi import PRROI_MIN_GRAD_SIDE, prroi_pool, prroi_pool_backward
from bboxcore.roi.reference import prroi_pool_reference
from tests.finite_diff import numerical_vjp
from tests.strategies import roi_problems


def _args(p):
    return p["features"], p["rois"], p["output_size"], p["spatial_scale"]


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


# --------------------------------------------------------------------------- edges (mutation)
RAMP = np.arange(16.0).reshape(1, 1, 4, 4)  # 4y + x: PrPool and its edge integrals differ


@pytest.mark.parametrize(
    "roi",
    [
        [0, 0.0, 0.5, PRROI_MIN_GRAD_SIDE, 2.5],  # width exactly PRROI_MIN_GRAD_SIDE
        [0, 0.5, 0.0, 2.5, PRROI_MIN_GRAD_SIDE],  # height exactly
        [0, 0.5, 0.5, 0.5 + 1e-9, 2.5],  # thinner
        [0, 0.5, 0.5, 2.5, 0.5 + 1e-9],
        [0, 0.5, 0.5, 2.5, 0.5],  # zero height, positive width
        [0, 0.5, 0.5, 0.5, 2.5],  # zero width
    ],
)
def test_prroi_box_gradient_is_0_for_bins_at_most_the_minimum_side(roi):
    # a bin whose width or height is at most PRROI_MIN_GRAD_SIDE cells gets no box gradient,
    # in any of the four coordinates (the Notes of prroi_pool_backward); the feature gradient
    # stays finite, and nothing warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dfeat, drois = prroi_pool_backward(np.ones((1, 1, 1, 1)), RAMP, [roi], 1, 1.0)
    np.testing.assert_array_equal(drois, 0)
    assert np.isfinite(dfeat).all()


def test_prroi_box_gradient_just_above_the_minimum_side_is_not_0():
    # the height term of a bin 2 cells tall on the 4y + x ramp: (PrPool - line at y1) / h
    _, drois = prroi_pool_backward(np.ones((1, 1, 1, 1)), RAMP, [[0, 0.5, 0.5, 2.5, 2.5]], 1, 1.0)
    assert drois[0, 2] != 0 and drois[0, 4] != 0
