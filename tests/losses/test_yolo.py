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
from bboxcore.targets.yolo import yolov1_targets, yolov3_targets
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


# --------------------------------------------------------------------------- edges (mutation)
ANCHORS9 = np.array([[s, s * r] for s in (8.0, 20.0, 48.0) for r in (0.5, 1.0, 2.0)])
ANCHORS9 = ANCHORS9[np.argsort(ANCHORS9.prod(1), kind="stable")]


def test_yolov3_loss_takes_the_targets_of_yolov3_targets():
    # the targets of bboxcore.targets.yolov3_targets are valid inputs as they are: obj int8,
    # centre fractions 0 and 1 (a centre on a cell border: (12, 12, 20, 20) has x_c / 8 = 2,
    # (60, 24, 68, 32) has x_c / 8 = 8 on the last cell), box_weight 0 off the positives,
    # one class (C = 1, a last axis of 6)
    ts = [
        yolov3_targets(b, [0] * len(b), (64, 64), ANCHORS9, (8, 16, 32), 1)
        for b in ([[12.0, 12, 20, 20]], [[60.0, 24, 68, 32], [20.0, 20, 40, 40]])
    ]
    obj, loc, weight, cls = (np.stack([getattr(t, f) for t in ts]) for f in ts[0]._fields)
    assert obj.dtype == np.int8 and {0.0, 1.0} <= set(loc[obj == 1][:, :2].ravel().tolist())
    assert (weight[obj != 1] == 0).all()
    pred = np.random.default_rng(0).normal(0, 1, (*obj.shape, 6))
    terms = yolov3_loss(pred, obj, loc, weight, cls)
    assert all(np.isfinite(v) for v in terms.values())
    assert np.isfinite(yolov3_loss_backward(1.0, pred, obj, loc, weight, cls)).all()


def test_yolov3_loss_checks_every_shape_and_obj_dtype():
    pred, obj, loc, weight, cls = _v3_case(0)
    loc[..., :2] = 0.5
    bad = [
        (1, obj.astype(float), "obj must be integers"),
        (1, obj[:, :6], "obj must be integers"),
        (2, np.zeros((2, 12, 5)), "loc must have shape"),
        (3, np.ones((2, 1)), "box_weight must have shape"),
        (4, np.zeros((2, 12, 2)), "cls must have shape"),
    ]
    for index, value, match in bad:
        args = [pred, obj, loc, weight, cls]
        args[index] = value
        with pytest.raises(ValueError, match=match):
            yolov3_loss(*args)
        with pytest.raises(ValueError, match=match):
            yolov3_loss_backward(1.0, *args)


def test_yolov3_loss_float32_reads_targets_at_float32():
    # float32 outputs: float32 terms and gradient, the targets (float64 here, most not
    # representable in float32) rounded to float32 first, all arithmetic in float32
    pred, obj, loc, weight, cls = _v3_case(3)
    cls = np.random.default_rng(3).uniform(0, 1, cls.shape)
    p32 = pred.astype(np.float32)
    t32 = [a.astype(np.float32) for a in (loc, weight, cls)]
    terms = yolov3_loss(p32, obj, loc, weight, cls)
    terms32 = yolov3_loss(p32, obj, *t32)
    for k in YOLO_TERMS:
        assert terms[k].dtype == np.float32
        assert terms[k] == terms32[k]
    d = yolov3_loss_backward(1.0, p32, obj, loc, weight, cls)
    assert d.dtype == np.float32
    np.testing.assert_array_equal(d, yolov3_loss_backward(1.0, p32, obj, *t32))


def test_yolov1_confidence_target_iou_mixes_cell_and_image_units():
    # Eq. 3 / Sec. 2: (x, y) are offsets in the cell, (w, h) fractions of the image, so on an
    # S x S grid a shift of x by 1/4 moves the box by 1/(4S) of the image. S = 2, object in
    # cell (1, 1): prediction (0.5, 0.5, 0.5, 0.5), truth (0.25, 0.5, 0.5, 0.5): image x
    # spans [0.5, 1] and [0.375, 0.875], y both [0.5, 1]: IoU = 0.1875 / 0.3125 = 0.6
    # (and the same with x and y exchanged)
    for truth in ([0.25, 0.5, 0.5, 0.5], [0.5, 0.25, 0.5, 0.5]):
        pred = np.zeros((1, 2, 2, 6))
        pred[0, 1, 1] = [0.5, 0.5, 0.5, 0.5, 0.0, 1.0]
        box = np.zeros((1, 2, 2, 4))
        box[0, 1, 1] = truth
        mask = np.zeros((1, 2, 2), bool)
        mask[0, 1, 1] = True
        cls = np.zeros((1, 2, 2, 1))
        cls[0, 1, 1] = 1
        terms = yolov1_loss(pred, mask, box, cls, n_box=1)
        assert float(terms["obj"]) == pytest.approx((0 - 0.6) ** 2)
        # the same offsets in cell (0, 1) or (1, 0): the IoU does not depend on the cell
        for r, c in ((0, 1), (1, 0)):
            p2, b2, m2, c2 = (
                np.roll(a, (r - 1, c - 1), axis=(1, 2)) for a in (pred, box, mask, cls)
            )
            assert float(yolov1_loss(p2, m2, b2, c2, n_box=1)["obj"]) == pytest.approx(0.36)


def test_yolov1_responsible_predictor_per_cell_iou_first_then_closest():
    # Sec. 2.2: the predictor with the highest current IoU; when none overlaps the truth
    # (IoU 0, early training), the closest in (x, y, √w, √h) — darknet's detection_layer.c.
    # S = 2, B = 2, truth (0.5, 0.5, 0.04, 0.04) in cells (0, 0) and (1, 1).
    # Cell (0, 0): no overlap; predictor 0 at y = 0.1 (distance² 0.16), predictor 1 at
    # y = 0.8 (0.09): predictor 1, though a signed or cubed distance would pick predictor 0.
    # Cell (1, 1): predictor 0 of side 0.64 on the truth's centre (IoU 0.0039 > 0, far in √w)
    # and predictor 1 at y = 0.6 (IoU 0, distance² 0.01): the overlapping predictor 0.
    pred = np.zeros((1, 2, 2, 11))
    pred[0, 0, 0, :10] = [0.5, 0.1, 0.04, 0.04, 0.0, 0.5, 0.8, 0.04, 0.04, 0.0]
    pred[0, 1, 1, :10] = [0.5, 0.5, 0.64, 0.64, 0.0, 0.5, 0.6, 0.04, 0.04, 0.0]
    box = np.zeros((1, 2, 2, 4))
    box[0, 0, 0] = box[0, 1, 1] = [0.5, 0.5, 0.04, 0.04]
    mask = np.zeros((1, 2, 2), bool)
    mask[0, 0, 0] = mask[0, 1, 1] = True
    cls = np.zeros((1, 2, 2, 1))
    _, resp, iou = _yolov1_parts(pred, mask, box, 2)
    assert resp[0, 0, 0].tolist() == [False, True] and resp[0, 1, 1].tolist() == [True, False]
    assert iou[0, 0, 0].tolist() == [0, 0] and iou[0, 1, 1, 0] > 0 == iou[0, 1, 1, 1]
    terms = yolov1_loss(pred, mask, box, cls)
    assert float(terms["xy"]) == pytest.approx(5 * 0.3**2)  # cell (0, 0)'s predictor 1 only
    assert float(terms["wh"]) == pytest.approx(5 * 2 * (0.8 - 0.2) ** 2)  # cell (1, 1)'s 0


def test_yolov1_loss_checks_pred_square_box_shape_and_each_size():
    pred, mask, box, cls = _v1_case(0)  # N = 2, S = 3, B = 2, C = 3
    bad = [
        ({"pred": pred[0]}, "pred must have shape"),  # (S, S, 5B + C): no N axis
        ({"pred": pred[:, :, :2]}, "pred must have shape"),  # S x S' with S' != S
        ({"box_target": np.zeros((2, 3, 3, 5))}, "box_target must have shape"),
    ]
    w_neg = box.copy()
    w_neg[0, 0, 0, 2] = -0.1  # only ŵ negative
    h_neg = box.copy()
    h_neg[0, 0, 0, 3] = -0.1
    bad += [({"box_target": w_neg}, "sizes"), ({"box_target": h_neg}, "sizes")]
    for change, match in bad:
        args = {"pred": pred, "obj_mask": mask, "box_target": box, "cls_target": cls, **change}
        with pytest.raises(ValueError, match=match):
            yolov1_loss(**args)


def test_yolov1_loss_float32_reads_targets_at_float32():
    # float32 outputs: the targets (float64, most not representable in float32) are rounded to
    # float32 first: the same terms and gradient as with float32 targets
    pred, mask, box, cls = _v1_case(5)
    rng = np.random.default_rng(5)
    box = np.where(mask[..., None], box + rng.uniform(0, 1e-3, box.shape), 0)
    cls = np.where(mask[..., None], rng.uniform(0, 1, cls.shape), 0)
    p32 = pred.astype(np.float32)
    b32, c32 = box.astype(np.float32), cls.astype(np.float32)
    terms, terms32 = yolov1_loss(p32, mask, box, cls), yolov1_loss(p32, mask, b32, c32)
    for k in YOLO_TERMS:
        assert terms[k].dtype == np.float32 and terms[k] == terms32[k]
    np.testing.assert_array_equal(
        yolov1_loss_backward(1.0, p32, mask, box, cls),
        yolov1_loss_backward(1.0, p32, mask, b32, c32),
    )


def test_backward_upstream_may_be_a_tensor_and_must_be_finite():
    # the models pass the upstream gradient of a loss node as an autograd Tensor (its .data
    # is read); a NaN or inf upstream is refused, per term too
    from bboxcore.nn.tensor import Tensor

    pred, mask, box, cls = _v1_case(0)
    want = yolov1_loss_backward({"xy": 2.0}, pred, mask, box, cls)
    got = yolov1_loss_backward({"xy": Tensor(np.array(2.0))}, pred, mask, box, cls)
    np.testing.assert_array_equal(got, want)
    p3, obj, loc, weight, c3 = _v3_case(0)
    np.testing.assert_array_equal(
        yolov3_loss_backward(Tensor(np.array(0.5)), p3, obj, loc, weight, c3),
        yolov3_loss_backward(0.5, p3, obj, loc, weight, c3),
    )
    for bad in (np.nan, np.inf, {"obj": np.nan}):
        with pytest.raises(ValueError, match="finite scalar"):
            yolov1_loss_backward(bad, pred, mask, box, cls)


def test_yolo_losses_name_the_bad_target():
    pred, mask, box, cls = _v1_case(0)
    with pytest.raises(TypeError, match="box_target"):
        yolov1_loss(pred, mask, box.astype(str), cls)
    nan_box = box.copy()
    nan_box[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="box_target must be finite"):
        yolov1_loss(pred, mask, nan_box, cls)
