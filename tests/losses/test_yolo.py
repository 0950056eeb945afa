"""The YOLOv1 and YOLOv3 losses against the papers' equations, and their gradients
against finite differences.

Sources: Redmon et al., "You Only Look Once", CVPR 2016, arXiv:1506.02640, Eq. 3
(the course deck *Detection – 3 stages*, §E2); Redmon & Farhadi, "YOLOv3: An
Incremental Improvement", arXiv:1804.02767, Sec. 2.1-2.2 (deck §G1).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.losses.yolo import (
    WH_SQRT_EPS,
    YOLO_TERMS,
    _yolov1_parts,
    yolov1_loss,
    yolov1_loss_backward,
    yolov3_loss,
    yolov3_loss_backward,
)
from bboxcore.targets.yolo import yolov1_targets
from tests.finite_diff import numerical_grad


def _v1_case(seed: int, n=2, s=3, b=2, c=3):
    """A random prediction and the targets of a few random boxes, away from the kinks."""
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0.05, 0.95, (n, s, s, 5 * b + c))
    targets = []
    for _ in range(n):
        xy = rng.uniform(0, 40, (3, 2))
        bbox = np.concatenate([xy, xy + rng.uniform(6, 24, (3, 2))], 1)
        targets.append(yolov1_targets(bbox, rng.integers(0, c, 3), (64, 64), s, c))
    mask = np.stack([t.obj_mask for t in targets])
    box = np.stack([t.box for t in targets])
    cls = np.stack([t.cls for t in targets])
    return pred, mask, box, cls


def _total(terms):
    return float(sum(terms.values()))


# --------------------------------------------------------------------------- YOLOv1
def test_yolov1_loss_by_hand_for_one_cell():
    # Eq. 3 for one object cell with B = 2, C = 2, every term written out.
    pred = np.zeros((1, 1, 1, 12))
    pred[0, 0, 0, :5] = [0.5, 0.5, 0.16, 0.25, 0.3]  # predictor 0: √w = 0.4, √h = 0.5
    pred[0, 0, 0, 5:10] = [0.9, 0.9, 0.01, 0.01, 0.6]  # predictor 1: far, tiny
    pred[0, 0, 0, 10:] = [0.2, 0.7]
    box = np.array([0.4, 0.5, 0.09, 0.25]).reshape(1, 1, 1, 4)  # truth: √ŵ = 0.3, √ĥ = 0.5
    cls = np.array([0.0, 1.0]).reshape(1, 1, 1, 2)
    terms = yolov1_loss(pred, np.ones((1, 1, 1), bool), box, cls)
    # predictor 0 overlaps: x in [0.42, 0.58] vs truth [0.355, 0.445], same y span 0.25
    inter = (0.445 - 0.42) * 0.25
    iou = inter / (0.16 * 0.25 + 0.09 * 0.25 - inter)
    assert float(terms["xy"]) == pytest.approx(5 * (0.5 - 0.4) ** 2)
    assert float(terms["wh"]) == pytest.approx(5 * (0.4 - 0.3) ** 2)
    assert float(terms["obj"]) == pytest.approx((0.3 - iou) ** 2)
    assert float(terms["noobj"]) == pytest.approx(0.5 * 0.6**2)
    assert float(terms["cls"]) == pytest.approx(0.2**2 + 0.3**2)


def test_yolov1_empty_cells_only_pay_noobj():
    # Cells without an object: only λ_noobj Σ C² (deck §E2.2: Ĉ = 0 in term (4)).
    pred = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 13))
    terms = yolov1_loss(pred, np.zeros((2, 4, 4), bool), np.zeros((2, 4, 4, 4)),
                        np.zeros((2, 4, 4, 3)))  # fmt: skip
    conf = pred[..., [4, 9]]
    assert float(terms["noobj"]) == pytest.approx(0.5 * (conf**2).sum() / 2)
    assert all(float(terms[k]) == 0 for k in ("xy", "wh", "obj", "cls"))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**20), lam=st.floats(0.5, 10))
def test_yolov1_loss_is_linear_in_lambdas(seed, lam):
    # Eq. 3: λ_coord scales exactly the two coordinate sums, λ_noobj the no-object sum.
    pred, mask, box, cls = _v1_case(seed)
    base = yolov1_loss(pred, mask, box, cls, lambda_coord=1.0, lambda_noobj=1.0)
    scaled = yolov1_loss(pred, mask, box, cls, lambda_coord=lam, lambda_noobj=lam)
    for k in YOLO_TERMS:
        factor = lam if k in ("xy", "wh", "noobj") else 1.0
        assert float(scaled[k]) == pytest.approx(factor * float(base[k]), rel=1e-10, abs=1e-12)


def test_yolov1_responsible_predictor_has_highest_iou():
    # Sec. 2.2: "one predictor responsible ... highest current IoU with the ground truth".
    box = np.array([0.5, 0.5, 0.25, 0.25]).reshape(1, 1, 1, 4)
    pred = np.zeros((1, 1, 1, 11))
    pred[..., :5] = [0.1, 0.1, 0.25, 0.25, 0.0]  # shifted: low IoU
    pred[..., 5:10] = [0.5, 0.5, 0.25, 0.25, 0.0]  # exact: IoU 1
    terms = yolov1_loss(pred, np.ones((1, 1, 1), bool), box, np.ones((1, 1, 1, 1)))
    assert float(terms["xy"]) == 0 and float(terms["obj"]) == pytest.approx(1.0)  # (0 - 1)²


def _v1_frozen(pred, mask, box, cls, term=None):
    """The loss with Ĉ = IoU and the responsible predictor frozen at ``pred``, as a
    function of the output: the paper's targets are constants of the loss."""
    _, resp, iou = _yolov1_parts(pred, mask, box, 2)
    r = resp.astype(float)

    def fn(p):
        terms = yolov1_loss(p, mask, box, cls)
        conf = p[..., :10].reshape(*p.shape[:3], 2, 5)[..., 4]
        terms["obj"] = (r * (conf - iou) ** 2).sum() / p.shape[0]  # Ĉ constant
        return _total(terms) if term is None else float(terms[term])

    return fn


@pytest.mark.parametrize("seed", range(4))
def test_yolov1_loss_backward_matches_finite_difference(seed):
    pred, mask, box, cls = _v1_case(seed)
    dpred = yolov1_loss_backward(1.0, pred, mask, box, cls)
    num = numerical_grad(_v1_frozen(pred, mask, box, cls), pred, eps=1e-7)
    np.testing.assert_allclose(dpred, num, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("term", YOLO_TERMS)
def test_yolov1_loss_backward_per_term_matches_finite_difference(term):
    pred, mask, box, cls = _v1_case(7)
    dpred = yolov1_loss_backward({term: 2.0}, pred, mask, box, cls)
    fn = _v1_frozen(pred, mask, box, cls, term)
    num = numerical_grad(lambda p: 2.0 * fn(p), pred, eps=1e-7)
    np.testing.assert_allclose(dpred, num, rtol=1e-5, atol=1e-6)


def test_yolov1_sqrt_w_below_eps_is_continued_by_its_tangent():
    # NOTE: √w has slope 1/(2√w) -> ∞ at 0 and no value below; under WH_SQRT_EPS the loss uses
    # the tangent, so w <= 0 gives a finite loss and a finite gradient that pushes w up.
    box = np.array([0.5, 0.5, 0.25, 0.25]).reshape(1, 1, 1, 4)
    mask, cls = np.ones((1, 1, 1), bool), np.ones((1, 1, 1, 1))
    for w in (0.0, -0.2, WH_SQRT_EPS / 2):
        pred = np.array([0.5, 0.5, w, 0.25, 0.0, 1.0]).reshape(1, 1, 1, 6)
        terms = yolov1_loss(pred, mask, box, cls, n_box=1)
        r = np.sqrt(WH_SQRT_EPS)
        expected = 5 * (r + (w - WH_SQRT_EPS) / (2 * r) - 0.5) ** 2
        assert float(terms["wh"]) == pytest.approx(expected)
        d = yolov1_loss_backward({"wh": 1.0}, pred, mask, box, cls, n_box=1)
        assert np.isfinite(d).all() and d[0, 0, 0, 2] < 0  # gradient descent increases w
        num = numerical_grad(lambda p: float(yolov1_loss(p, mask, box, cls, n_box=1)["wh"]), pred)
        np.testing.assert_allclose(d, num, rtol=1e-5, atol=1e-6)


def test_yolov1_float32_stays_float32_and_inputs_unchanged():
    pred, mask, box, cls = _v1_case(3)
    pred32 = pred.astype(np.float32)
    before = pred32.copy()
    terms = yolov1_loss(pred32, mask, box, cls)
    assert all(v.dtype == np.float32 for v in terms.values())
    assert yolov1_loss_backward(1.0, pred32, mask, box, cls).dtype == np.float32
    np.testing.assert_array_equal(pred32, before)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: {**a, "pred": a["pred"][..., :9]}, "5\\*n_box \\+ C"),
        (lambda a: {**a, "obj_mask": a["obj_mask"].astype(int)}, "obj_mask must be a bool"),
        (lambda a: {**a, "box_target": -a["box_target"] - 1}, "sizes"),
        (lambda a: {**a, "cls_target": a["cls_target"][..., :2]}, "cls_target must have shape"),
        (lambda a: {**a, "lambda_coord": -1.0}, "lambda_coord"),
        (lambda a: {**a, "n_box": 0}, "n_box"),
    ],
)
def test_yolov1_loss_rejects_bad_input(change, match):
    pred, mask, box, cls = _v1_case(0)
    args = {"pred": pred, "obj_mask": mask, "box_target": box, "cls_target": cls}
    with pytest.raises(ValueError, match=match):
        yolov1_loss(**change(args))


def test_backward_rejects_bad_upstream():
    pred, mask, box, cls = _v1_case(0)
    with pytest.raises(ValueError, match="dloss keys"):
        yolov1_loss_backward({"box": 1.0}, pred, mask, box, cls)
    with pytest.raises(ValueError, match="finite scalar"):
        yolov1_loss_backward(np.ones(2), pred, mask, box, cls)


# --------------------------------------------------------------------------- YOLOv3
def _v3_case(seed: int, n=2, m=12, c=3):
    rng = np.random.default_rng(seed)
    pred = rng.normal(0, 1.5, (n, m, 5 + c))
    obj = rng.choice([-1, 0, 1], size=(n, m), p=[0.2, 0.5, 0.3]).astype(np.int8)
    loc = np.concatenate([rng.uniform(0, 1, (n, m, 2)), rng.normal(0, 1, (n, m, 2))], -1)
    weight = rng.uniform(1, 2, (n, m))
    cls = rng.integers(0, 2, (n, m, c)).astype(float)
    return pred, obj, loc, weight, cls


def _bce(z, t):
    p = 1 / (1 + np.exp(-z))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_yolov3_loss_matches_the_terms_written_out():
    # Sec. 2.1-2.2: logistic objectness (target 1 / 0, ignored = no loss), independent
    # logistic classes, box loss on t (darknet: BCE on σ(t_x) vs x̂, ½(t_w - t̂_w)², scale ω).
    pred, obj, loc, weight, cls = _v3_case(1)
    terms = yolov3_loss(pred, obj, loc, weight, cls)
    pos, neg = obj == 1, obj == 0
    xy = sum(weight[i, j] * _bce(pred[i, j, :2], loc[i, j, :2]).sum() for i, j in np.argwhere(pos))
    wh = sum(weight[i, j] * ((pred[i, j, 2:4] - loc[i, j, 2:]) ** 2).sum() / 2
             for i, j in np.argwhere(pos))  # fmt: skip
    assert float(terms["xy"]) == pytest.approx(xy / 2)
    assert float(terms["wh"]) == pytest.approx(wh / 2)
    assert float(terms["obj"]) == pytest.approx(_bce(pred[pos][:, 4], 1).sum() / 2)
    assert float(terms["noobj"]) == pytest.approx(_bce(pred[neg][:, 4], 0).sum() / 2)
    assert float(terms["cls"]) == pytest.approx(_bce(pred[pos][:, 5:], cls[pos]).sum() / 2)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**20))
def test_yolov3_ignored_predictions_have_no_loss_and_no_gradient(seed):
    # Sec. 2.1: "we ignore the prediction": changing an ignored output changes nothing.
    pred, obj, loc, weight, cls = _v3_case(seed)
    ignored = obj == -1
    moved = pred.copy()
    moved[ignored] += 5.0
    a, b = yolov3_loss(pred, obj, loc, weight, cls), yolov3_loss(moved, obj, loc, weight, cls)
    assert _total(a) == pytest.approx(_total(b))
    assert (yolov3_loss_backward(1.0, pred, obj, loc, weight, cls)[ignored] == 0).all()


def test_yolov3_no_overflow_for_huge_logits():
    pred, obj, loc, weight, cls = _v3_case(2)
    terms = yolov3_loss(pred * 1e3, obj, loc, weight, cls)
    assert all(np.isfinite(v) for v in terms.values())


@pytest.mark.parametrize("seed", range(4))
def test_yolov3_loss_backward_matches_finite_difference(seed):
    pred, obj, loc, weight, cls = _v3_case(seed)
    dpred = yolov3_loss_backward(1.0, pred, obj, loc, weight, cls)
    num = numerical_grad(lambda p: _total(yolov3_loss(p, obj, loc, weight, cls)), pred)
    np.testing.assert_allclose(dpred, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("term", YOLO_TERMS)
def test_yolov3_loss_backward_per_term_matches_finite_difference(term):
    pred, obj, loc, weight, cls = _v3_case(5)
    dpred = yolov3_loss_backward({term: 0.5}, pred, obj, loc, weight, cls)
    num = numerical_grad(lambda p: 0.5 * float(yolov3_loss(p, obj, loc, weight, cls)[term]), pred)
    np.testing.assert_allclose(dpred, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("index", "value", "match"),
    [
        (1, np.full((2, 12), 2, np.int8), "obj must be integers"),
        (2, np.full((2, 12, 4), 1.5), "in \\[0, 1\\]"),
        (3, -np.ones((2, 12)), "box_weight"),
        (4, np.full((2, 12, 3), 2.0), "cls must be in"),
        (0, np.zeros((2, 12, 5)), "5 \\+ C"),
    ],
)
def test_yolov3_loss_rejects_bad_input(index, value, match):
    args = list(_v3_case(0))
    args[2][..., 2:] = 0
    args[index] = value
    if index == 2:
        args[1] = np.ones((2, 12), np.int8)
    with pytest.raises(ValueError, match=match):
        yolov3_loss(*args)
