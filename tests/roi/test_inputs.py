"""The RoI ops' shared contract: argument checks, empty RoI lists, inputs left unchanged, fuzz."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.roi.align import roi_align, roi_align_backward
from bboxcore.roi.pool import roi_pool, roi_pool_backward
from bboxcore.roi.prroi import prroi_pool, prroi_pool_backward
from tests.strategies import anything_boxes

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
