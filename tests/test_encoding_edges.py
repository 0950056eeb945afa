"""Box encoding at the edges the mutation run found untested: overflow, dtype, shapes.

Overflow is an error that names the first bad row, never a RuntimeWarning (the test
configuration turns bboxcore's RuntimeWarnings into errors) nor an inf/NaN in the output.
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.encoding import LOC_NORMALIZE_STD, bbox2loc, loc2bbox

HUGE = np.finfo(np.float64).max / 2


def test_bbox2loc_overflow_names_the_first_bad_row():
    # float32: g_w / p_w = 1e20 / 1e-20 = 1e40 overflows; row 0 is fine
    src = np.array([[0, 0, 10, 10], [0, 0, 1e-20, 1], [0, 0, 1e-20, 1]], np.float32)
    dst = np.array([[0, 0, 10, 10], [0, 0, 1e20, 1], [0, 0, 1e20, 1]], np.float32)
    with pytest.raises(ValueError, match=r"offsets overflow float32 at row 1 "):
        bbox2loc(src, dst)


def test_box_side_overflow_is_an_error_not_a_warning():
    # x_max - x_min overflows to inf: not a positive, finite width
    wide = np.array([[-1.5 * HUGE, 0, 1.5 * HUGE, 1]])
    with pytest.raises(ValueError, match="src_bbox must have positive, finite width"):
        bbox2loc(wide, [[0, 0, 1, 1]])


def test_loc2bbox_overflow_names_the_first_bad_row():
    # t_x * p_w overflows the centre, and so does the width (no clip): inf - inf is NaN
    src = np.array([[0.0, 0, 10, 10]] * 3)
    loc = np.array([[0.0, 0, 0, 0], [HUGE, 0, 1000, 0], [HUGE, 0, 1000, 0]])
    with pytest.raises(ValueError, match=r"loc row 1 decodes to a box that overflows float64"):
        loc2bbox(src, loc, loc_clip=None)


def test_loc_without_columns_is_rejected():
    with pytest.raises(ValueError, match=r"loc must have shape \(R, 4\) or \(R, 4K\)"):
        loc2bbox([[0.0, 0, 1, 1]], np.zeros((1, 0)))


def test_normalisation_is_computed_in_the_inputs_dtype():
    # float32 in, float32 arithmetic: t / float32(std), and its inverse t * float32(std)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (50, 2))
    src = np.concatenate([xy, xy + rng.uniform(1, 50, (50, 2))], axis=1).astype(np.float32)
    dst = src + np.float32([-1, -1, 1, 1]) * rng.uniform(0, 3, (50, 4)).astype(np.float32)
    std = np.asarray(LOC_NORMALIZE_STD, np.float32)
    plain = bbox2loc(src, dst)
    np.testing.assert_array_equal(bbox2loc(src, dst, std=LOC_NORMALIZE_STD), plain / std)
    mean = np.float32([0.1, -0.2, 0.3, 0.05])
    np.testing.assert_array_equal(bbox2loc(src, dst, mean=mean.tolist()), plain - mean)
    t = rng.normal(0, 1, (50, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        loc2bbox(src, t, std=LOC_NORMALIZE_STD, mean=mean.tolist()), loc2bbox(src, t * std + mean)
    )


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"std": (0.1, 0.1, 0.0, 0.2)}, ValueError, r"std must be positive"),
        ({"std": (0.1, np.nan, 0.2, 0.2)}, ValueError, r"^std "),
        ({"mean": (0.0, np.inf, 0.0, 0.0)}, ValueError, r"^mean "),
        ({"std": ("a", "b", "c", "d")}, TypeError, r"^std "),
        ({"mean": ("a", "b", "c", "d")}, TypeError, r"^mean "),
    ],
)
def test_bad_normalisation_names_the_argument(kw, error, match):
    for call in (
        lambda: bbox2loc([[0.0, 0, 1, 1]], [[0.0, 0, 2, 2]], **kw),
        lambda: loc2bbox([[0.0, 0, 1, 1]], [[0.0, 0, 0, 0]], **kw),
    ):
        with pytest.raises(error, match=match):
            call()


def test_a_negative_mean_is_valid():
    loc = bbox2loc([[0.0, 0, 1, 1]], [[0.0, 0, 2, 2]], mean=(-1, -1, -1, -1))
    np.testing.assert_allclose(loc, [[1.5, 1.5, np.log(2) + 1, np.log(2) + 1]])
