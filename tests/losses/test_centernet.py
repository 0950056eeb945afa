"""CenterNet's loss terms against their equations, and their gradients against finite differences.

Source: X. Zhou, D. Wang, P. Krähenbühl, "Objects as Points", arXiv:1904.07850, Eqs. 1-3 and
5 (L_det = L_k + 0.1 L_size + 1 L_off); the course deck *Detection – 3 stages*, §M.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.losses.centernet import (
    CENTERNET_LOSS_NAMES,
    centernet_l1_loss,
    centernet_l1_loss_backward,
    centernet_loss,
    centernet_loss_backward,
)
from bboxcore.losses.focal import centernet_focal_loss
from bboxcore.targets.centernet import centernet_targets
from tests.finite_diff import assert_grad_close

values = st.floats(-5.0, 5.0, allow_nan=False)


@st.composite
def l1_problems(draw, max_rows=6):
    m = draw(st.integers(0, max_rows))
    pred = draw(hnp.arrays(np.float64, (m, 2), elements=values))
    target = draw(hnp.arrays(np.float64, (m, 2), elements=values))
    mask = draw(hnp.arrays(bool, (m,)))
    return pred, target, mask


@given(l1_problems())
def test_l1_loss_is_the_mean_l1_norm_over_the_objects(problem):
    # Eqs. 2-3: L = (1 / N) sum_k |S^_k - s_k|, only at the N object centres
    pred, target, mask = problem
    expected = sum(abs(pred[k] - target[k]).sum() for k in range(len(pred)) if mask[k])
    loss = centernet_l1_loss(pred, target, mask)
    assert loss == pytest.approx(expected / max(mask.sum(), 1), abs=1e-12)
    pred2 = pred.copy()
    pred2[~mask] += 100.0  # rows that are not objects do not count
    assert centernet_l1_loss(pred2, target, mask) == pytest.approx(loss, abs=1e-12)


@given(l1_problems(), st.floats(0.1, 3.0))
def test_l1_loss_grad_matches_finite_difference(problem, dloss):
    pred, target, mask = problem
    assume(np.abs(pred - target).min(initial=1.0) > 1e-3)  # away from the kink at 0
    grad = centernet_l1_loss_backward(dloss, pred, target, mask)
    assert_grad_close(lambda p: dloss * centernet_l1_loss(p, target, mask), pred, grad)


def test_l1_loss_kink_and_normaliser():
    # NOTE: the sub-gradient of |x| at 0 is 0
    grad = centernet_l1_loss_backward(1.0, [[1.0, 2.0]], [[1.0, 0.0]], np.array([True]))
    np.testing.assert_array_equal(grad, [[0.0, 1.0]])
    # n_object normalises by a batch count: (1 + 2) / 3
    assert centernet_l1_loss([[1.0, 2.0]], [[0.0, 0.0]], np.array([True]), n_object=3) == 1.0
    assert centernet_l1_loss(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, bool)) == 0.0
    f32 = centernet_l1_loss(np.ones((1, 2), np.float32), np.zeros((1, 2)), np.array([True]))
    assert f32.dtype == np.float32


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1.0, 2.0], [1.0, 2.0], [True]), {}, ValueError, r"pred must have shape \(M, D\)"),
        (([[1.0, 2.0]], [[1.0]], [True]), {}, ValueError, "target must have the shape of pred"),
        (([[1.0, 2.0]], [[1.0, 2.0]], [1]), {}, TypeError, "mask must be a boolean array"),
        (([[1.0, 2.0]], [[1.0, 2.0]], [True, False]), {}, ValueError, r"mask must have shape"),
        (([[np.inf, 2.0]], [[1.0, 2.0]], [True]), {}, ValueError, "pred must be finite"),
        (([[1.0, 2.0]], [[1.0, 2.0]], [True]), {"n_object": 0}, ValueError, "n_object"),
        (([[1.0, 2.0]], [[1.0, 2.0]], [True]), {"n_object": 1.5}, TypeError, "n_object"),
    ],
)
def test_l1_loss_rejects_bad_input(args, kwargs, error, match):
    pred, target, mask = (np.asarray(a) for a in args)
    with pytest.raises(error, match=match):
        centernet_l1_loss(pred, target, mask, **kwargs)


# --------------------------------------------------------------------------- assembly
def _problem(seed, n_img=2, n_class=2, grid=(6, 7)):
    """Random logits and heads for the targets of a few random boxes on a stride-4 grid."""
    rng = np.random.default_rng(seed)
    heat, sizes, offsets, masks = [], [], [], []
    for _ in range(n_img):
        n = int(rng.integers(1, 4))
        xy = rng.uniform(0, 16, (n, 2))
        bbox = np.concatenate([xy, xy + rng.uniform(4, 12, (n, 2))], axis=1)
        t = centernet_targets(
            bbox, rng.integers(0, n_class, n), n_class, grid, min_radius=1, dtype=np.float64
        )
        heat.append(t.heatmap)
        sizes.append(t.size)
        offsets.append(t.offset)
        masks.append(t.mask)
    m = sum(len(s) for s in sizes)
    return (
        rng.normal(0, 2, (n_img, n_class, *grid)),
        np.stack(heat),
        rng.normal(2, 1, (m, 2)),
        np.concatenate(sizes),
        rng.uniform(0, 1, (m, 2)),
        np.concatenate(offsets),
        np.concatenate(masks),
    )


@pytest.mark.parametrize("seed", range(4))
def test_loss_is_focal_plus_weighted_l1_over_the_objects(seed):
    # Eq. 5: L_det = L_k + 0.1 L_size + 1 L_off, every term divided by N objects
    z, y, s, st_, o, ot, mask = _problem(seed)
    terms = centernet_loss(z, y, s, st_, o, ot, mask)
    n = mask.sum()
    assert tuple(terms) == CENTERNET_LOSS_NAMES
    assert terms["heatmap"] == pytest.approx(centernet_focal_loss(z, y, reduction="sum") / n)
    assert terms["size"] == pytest.approx(0.1 * np.abs(s - st_).sum() / n)
    assert terms["offset"] == pytest.approx(1.0 * np.abs(o - ot).sum() / n)
    heavier = centernet_loss(z, y, s, st_, o, ot, mask, lambda_size=0.2, lambda_offset=0.0)
    assert heavier["size"] == pytest.approx(2 * terms["size"]) and heavier["offset"] == 0


@pytest.mark.parametrize("seed", range(2))
def test_loss_is_normalised_per_object(seed):
    # two copies of a batch have twice the objects and twice the sums: same loss
    z, y, s, st_, o, ot, mask = _problem(seed)
    one = centernet_loss(z, y, s, st_, o, ot, mask)
    two = centernet_loss(*(np.concatenate([a, a]) for a in (z, y, s, st_, o, ot, mask)))
    for name in CENTERNET_LOSS_NAMES:
        assert two[name] == pytest.approx(one[name])


@pytest.mark.parametrize("seed", range(3))
def test_loss_grad_matches_finite_difference(seed):
    z, y, s, st_, o, ot, mask = _problem(seed, n_img=1, grid=(4, 5))
    kw = {"lambda_size": 0.1, "lambda_offset": 1.0}
    dz, ds, do = centernet_loss_backward(1.7, z, y, s, st_, o, ot, mask, **kw)

    def total(zz=z, ss=s, oo=o):
        return 1.7 * sum(centernet_loss(zz, y, ss, st_, oo, ot, mask, **kw).values())

    assert_grad_close(lambda a: total(zz=a), z, dz)
    assert_grad_close(lambda a: total(ss=a), s, ds)
    assert_grad_close(lambda a: total(oo=a), o, do)


def test_loss_rejects_bad_weights():
    z, y, s, st_, o, ot, mask = _problem(0)
    with pytest.raises(ValueError, match="lambda_size must be a finite number >= 0"):
        centernet_loss(z, y, s, st_, o, ot, mask, lambda_size=-1.0)
    with pytest.raises(ValueError, match="lambda_offset"):
        centernet_loss_backward(1.0, z, y, s, st_, o, ot, mask, lambda_offset=np.nan)
    with pytest.raises(ValueError, match="dloss must be a finite scalar"):
        centernet_loss_backward(np.ones(2), z, y, s, st_, o, ot, mask)
    with pytest.raises(ValueError, match="heatmap must have the shape of logits"):
        centernet_loss(z, y[:1], s, st_, o, ot, mask)


# --------------------------------------------------------------------------- edges (mutation)
def test_l1_loss_target_is_read_at_the_precision_of_pred():
    # float32 pred: the target is rounded to float32 first, so a float64 target that rounds to
    # the prediction costs nothing and has no gradient (float32 in, float32 out)
    pred = np.float32([[0.1, 2.0]])
    target = np.array([[0.1, 2.0]])  # 0.1 != float32(0.1) in float64
    mask = np.array([True])
    loss = centernet_l1_loss(pred, target, mask)
    assert loss == 0 and loss.dtype == np.float32
    grad = centernet_l1_loss_backward(1.0, pred, target, mask)
    np.testing.assert_array_equal(grad, [[0.0, 0.0]])
    assert grad.dtype == np.float32


def test_l1_loss_backward_uses_n_object_and_n_object_1_is_valid():
    # N = n_object when given (a batch count), in the loss and in its gradient; N = 1 is valid
    pred, target, mask = [[1.0, 2.0]], [[0.0, 3.0]], np.array([True])
    grad = centernet_l1_loss_backward(1.0, pred, target, mask, n_object=4)
    np.testing.assert_array_equal(grad, [[0.25, -0.25]])
    assert centernet_l1_loss(pred, target, mask, n_object=1) == 2.0
    np.testing.assert_array_equal(
        centernet_l1_loss_backward(1.0, pred, target, mask, n_object=1), [[1.0, -1.0]]
    )


def test_loss_with_one_object_and_with_none_divides_by_one():
    # Eq. 1-3: N is the number of objects, at least 1; one object: the sums themselves
    z, y, s, st_, o, ot, mask = _problem(0, n_img=1)
    one = np.zeros_like(mask)
    one[0] = True
    terms = centernet_loss(z, y, s, st_, o, ot, one)
    assert terms["heatmap"] == pytest.approx(centernet_focal_loss(z, y, reduction="sum"))
    assert terms["size"] == pytest.approx(0.1 * np.abs(s[0] - st_[0]).sum())
    assert terms["offset"] == pytest.approx(np.abs(o[0] - ot[0]).sum())
    none = centernet_loss(z, y, s, st_, o, ot, np.zeros_like(mask))
    assert none["heatmap"] == pytest.approx(centernet_focal_loss(z, y, reduction="sum"))
    assert none["size"] == none["offset"] == 0
    dz, ds, do = centernet_loss_backward(1.0, z, y, s, st_, o, ot, one)
    np.testing.assert_allclose(ds[0], 0.1 * np.sign(s[0] - st_[0]), rtol=1e-15)
    np.testing.assert_allclose(do[0], np.sign(o[0] - ot[0]), rtol=1e-15)
    assert not ds[1:].any() and not do[1:].any()

    def total(zz):
        return sum(centernet_loss(zz, y, s, st_, o, ot, one).values())

    assert_grad_close(total, z, dz)


@pytest.mark.parametrize(
    "kw",
    [{}, {"lambda_size": 0.3, "lambda_offset": 0.5, "alpha": 1.5, "beta": 2.0}],
    ids=["defaults", "other-weights"],
)
def test_loss_grad_with_its_defaults_and_other_weights(kw):
    # the backward has the loss's defaults (0.1, 1, 2, 4) and passes every weight through
    z, y, s, st_, o, ot, mask = _problem(5, n_img=1, grid=(4, 5))
    dz, ds, do = centernet_loss_backward(1.0, z, y, s, st_, o, ot, mask, **kw)

    def total(zz=z, ss=s, oo=o):
        return sum(centernet_loss(zz, y, ss, st_, oo, ot, mask, **kw).values())

    assert_grad_close(lambda a: total(zz=a), z, dz)
    assert_grad_close(lambda a: total(ss=a), s, ds)
    assert_grad_close(lambda a: total(oo=a), o, do)
    alpha, beta = kw.get("alpha", 2.0), kw.get("beta", 4.0)
    focal = centernet_focal_loss(z, y, alpha, beta, reduction="sum")
    assert centernet_loss(z, y, s, st_, o, ot, mask, **kw)["heatmap"] == pytest.approx(
        focal / mask.sum()
    )


def test_loss_errors_name_a_non_boolean_mask():
    z, y, s, st_, o, ot, mask = _problem(0)
    bad = np.array(["yes"] * len(mask))
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        centernet_loss(z, y, s, st_, o, ot, bad)
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        centernet_loss_backward(1.0, z, y, s, st_, o, ot, bad)
