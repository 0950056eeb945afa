"""Pascal VOC AP: hand-worked examples, the devkit's rules, and a loop reference.

Course deck *Detection – 3 stages*, §IV.P "Evaluation: mAP & Recall": precision TP/(TP+FP), recall
TP/n_pos, AP the area under the interpolated PR curve, mAP its class mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.data import Annotation, Detection
from bboxcore.eval import average_precision, voc_ap
from tests.strategies import detection_problems

BOX_A = [0.0, 0.0, 10.0, 10.0]
BOX_B = [20.0, 0.0, 30.0, 10.0]
BOX_C = [0.0, 20.0, 10.0, 30.0]
FAR = [50.0, 50.0, 60.0, 60.0]


def det(boxes, scores, labels=None):
    labels = [0] * len(boxes) if labels is None else labels
    return Detection(np.array(boxes).reshape(-1, 4), labels, scores)


def ann(boxes, labels=None, difficult=None):
    labels = [0] * len(boxes) if labels is None else labels
    return Annotation(np.array(boxes).reshape(-1, 4), labels, difficult)


# --------------------------------------------------------------------------- hand-worked
def worked_example():
    """Two images, three boxes; five detections ranked TP, FP, TP, FP (duplicate), TP."""
    gt = [ann([BOX_A, BOX_B]), ann([BOX_C])]
    pred = [
        det([BOX_A, FAR, BOX_A, BOX_B], [0.9, 0.8, 0.6, 0.5]),  # TP, FP, duplicate of A, TP
        det([BOX_C], [0.7]),  # TP
    ]
    return pred, gt


def test_voc_ap_worked_example_curve():
    # ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP (duplicate of A), 0.5 TP; n_pos = 3
    # TP(k) = 1, 1, 2, 2, 3    FP(k) = 0, 1, 1, 2, 2
    # precision = 1, 1/2, 2/3, 2/4, 3/5    recall = 1/3, 1/3, 2/3, 2/3, 3/3
    pred, gt = worked_example()
    r = voc_ap(pred, gt)
    np.testing.assert_allclose(r.precision[0], [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(r.recall[0], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert r.n_pos.tolist() == [3]


def test_voc_ap_worked_example_all_point():
    # p_interp(r) = max precision at recall >= r: 1 on (0, 1/3], max(2/3, 2/4, 3/5) = 2/3 on
    # (1/3, 2/3], 3/5 on (2/3, 1].  AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5 = 34/45 = 0.7556
    pred, gt = worked_example()
    r = voc_ap(pred, gt, metric="all_point")
    assert r.ap[0] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3 + 1 / 3 * 3 / 5)
    assert r.ap[0] == pytest.approx(34 / 45)
    assert r.map == pytest.approx(34 / 45)


def test_voc_ap_worked_example_11_point():
    # t = 0, .1, .2, .3 -> 1 (recall 1/3 >= .3);  t = .4, .5, .6 -> 2/3;  t = .7 ... 1 -> 3/5
    # AP = (4 * 1 + 3 * 2/3 + 4 * 3/5) / 11 = 8.4 / 11 = 0.7636, not the all-point 0.7556
    pred, gt = worked_example()
    r = voc_ap(pred, gt, metric="11_point")
    assert r.ap[0] == pytest.approx((4 * 1 + 3 * 2 / 3 + 4 * 3 / 5) / 11)
    assert r.ap[0] != pytest.approx(34 / 45)


def test_eleven_point_threshold_reached_by_exact_recall():
    # recall exactly 3/10 must reach t = 0.3 (np.arange(0, 1.1, 0.1)[3] = 0.30000000000000004)
    ap = average_precision([1.0, 1.0, 1.0], [0.1, 0.2, 0.3], metric="11_point")
    assert ap == pytest.approx(4 / 11)


def test_perfect_predictions_give_ap_one():
    gt = [ann([BOX_A, BOX_B], [0, 1]), ann([BOX_C], [1])]
    pred = [det([BOX_A, BOX_B], [0.9, 0.8], [0, 1]), det([BOX_C], [0.7], [1])]
    for metric in ("all_point", "11_point"):
        r = voc_ap(pred, gt, metric=metric)
        np.testing.assert_allclose(r.ap, [1.0, 1.0])
        assert r.map == 1.0


def test_no_predictions_give_ap_zero():
    gt = [ann([BOX_A]), ann([])]
    r = voc_ap([det([], []), det([], [])], gt)
    assert r.ap.tolist() == [0.0] and r.map == 0.0
    assert r.precision[0].shape == (0,)


def test_duplicates_are_false_positives():
    gt = [ann([BOX_A])]
    r = voc_ap([det([BOX_A, BOX_A, BOX_A], [0.9, 0.8, 0.7])], gt)
    np.testing.assert_allclose(r.precision[0], [1, 1 / 2, 1 / 3])  # TP, FP, FP
    assert r.ap[0] == 1.0  # the duplicates come after full recall


def test_detection_on_difficult_box_is_neither_tp_nor_fp():
    gt = [ann([BOX_A, BOX_B], difficult=[False, True])]
    r = voc_ap([det([BOX_B, BOX_A, BOX_B], [0.9, 0.8, 0.7])], gt)
    # both detections of B are ignored (even the second), the one on A is a TP
    assert r.n_pos.tolist() == [1]
    np.testing.assert_allclose(r.precision[0], [1.0])
    np.testing.assert_allclose(r.recall[0], [1.0])
    assert r.ap[0] == 1.0


def test_equal_scores_keep_input_order():
    # NOTE: ties are ranked in input order (image, then detection): stable sort.
    gt = [ann([BOX_A]), ann([BOX_C])]
    miss_first = [det([FAR], [0.5]), det([BOX_C], [0.5])]
    hit_first = [det([BOX_A], [0.5]), det([FAR], [0.5])]
    r1, r2 = voc_ap(miss_first, gt), voc_ap(hit_first, gt)
    np.testing.assert_allclose(r1.precision[0], [0, 1 / 2])
    np.testing.assert_allclose(r2.precision[0], [1, 1 / 2])
    assert r1.ap[0] == pytest.approx(1 / 2 * 1 / 2)  # p_interp = 1/2 over recall (0, 1/2]
    assert r2.ap[0] == pytest.approx(1 / 2 * 1)


def test_best_box_already_taken_is_a_false_positive():
    # devkit rule: the detection takes its best-IoU box; if taken -> FP, no fallback.
    gt = [ann([[0, 0, 10, 10], [2, 0, 12, 10]])]
    pred = [det([[0, 0, 10, 10], [1, 0, 11, 10]], [0.9, 0.8])]  # 2nd: IoU 0.82 with both
    r = voc_ap(pred, gt)
    np.testing.assert_allclose(r.precision[0], [1, 1 / 2])


def test_match_at_exactly_the_threshold():
    # IoU = 50 / (100 + 100 - 50) = 1/3: a match at iou_thresh = 1/3, not above it
    gt = [ann([[0, 0, 10, 10]])]
    pred = [det([[5, 0, 15, 10]], [1.0])]
    assert voc_ap(pred, gt, iou_thresh=1 / 3).ap[0] == 1.0
    assert voc_ap(pred, gt, iou_thresh=0.34).ap[0] == 0.0


def test_plus_one_convention_changes_iou():
    # continuous: I = 8 * 9 = 72, U = 81 + 81 - 72 = 90, IoU 0.8
    # devkit "+1": I = 9 * 10 = 90, U = 100 + 100 - 90 = 110, IoU 0.818
    gt = [ann([[0, 0, 9, 9]])]
    pred = [det([[1, 0, 10, 9]], [1.0])]
    assert voc_ap(pred, gt, iou_thresh=0.81).ap[0] == 0.0
    assert voc_ap(pred, gt, iou_thresh=0.81, plus_one=True).ap[0] == 1.0
    assert voc_ap(pred, gt, iou_thresh=90 / 110, plus_one=True).ap[0] == 1.0


def test_class_without_boxes_is_nan_and_left_out_of_map():
    gt = [ann([BOX_A], [0])]
    r = voc_ap([det([BOX_A, BOX_B], [0.9, 0.8], [0, 2])], gt, n_class=3)
    assert r.ap[0] == 1.0 and math.isnan(r.ap[1]) and math.isnan(r.ap[2])
    assert r.map == 1.0
    assert "mAP" in r.summary(["a", "b", "c"])


# --------------------------------------------------------------------------- loop reference
def _reference_ap(prec, rec, metric):
    if not prec:
        return 0.0
    if metric == "11_point":
        total = 0.0
        for k in range(11):
            reached = [p for p, r in zip(prec, rec) if r >= k / 10]
            total += max(reached) if reached else 0.0
        return total / 11
    mrec, mpre = [0.0, *rec, 1.0], [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum(
        (mrec[i + 1] - mrec[i]) * mpre[i + 1]
        for i in range(len(mrec) - 1)
        if mrec[i + 1] != mrec[i]
    )


def voc_reference(pred, gt, k, iou_thresh, plus_one, metric):
    """VOCevaldet.m / voc_eval.py, as plain loops, for class k."""
    one = 1.0 if plus_one else 0.0
    boxes = [
        [(list(b), bool(d)) for b, lab, d in zip(g["bbox"], g["label"], g["difficult"]) if lab == k]
        for g in gt
    ]
    taken = [[False] * len(b) for b in boxes]
    n_pos = sum(not d for b in boxes for _, d in b)
    dets = [
        (float(s), i, list(b))
        for i, p in enumerate(pred)
        for b, lab, s in zip(p["bbox"], p["label"], p["score"])
        if lab == k
    ]
    dets = sorted(dets, key=lambda t: -t[0])  # Python's sort is stable
    tp = fp = 0
    prec, rec = [], []
    for _, i, bb in dets:
        ovmax, jmax = -math.inf, -1
        for j, (bg, _) in enumerate(boxes[i]):
            iw = min(bb[2], bg[2]) - max(bb[0], bg[0]) + one
            ih = min(bb[3], bg[3]) - max(bb[1], bg[1]) + one
            if iw > 0 and ih > 0:
                ua = (
                    (bb[2] - bb[0] + one) * (bb[3] - bb[1] + one)
                    + (bg[2] - bg[0] + one) * (bg[3] - bg[1] + one)
                    - iw * ih
                )
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax, jmax = ov, j
        if ovmax >= iou_thresh:
            if boxes[i][jmax][1]:
                continue  # difficult: ignored
            if not taken[i][jmax]:
                taken[i][jmax] = True
                tp += 1
            else:
                fp += 1
        else:
            fp += 1
        prec.append(tp / (tp + fp))
        rec.append(tp / n_pos if n_pos else math.nan)
    return (_reference_ap(prec, rec, metric) if n_pos else math.nan), prec


@given(
    detection_problems(),
    st.sampled_from([0.3, 0.5, 0.7]),
    st.booleans(),
    st.sampled_from(["all_point", "11_point"]),
)
def test_voc_ap_matches_loop_reference(problem, iou_thresh, plus_one, metric):
    pred, gt = problem
    r = voc_ap(pred, gt, iou_thresh=iou_thresh, plus_one=plus_one, metric=metric, n_class=2)
    for k in range(2):
        ap, prec = voc_reference(pred, gt, k, iou_thresh, plus_one, metric)
        np.testing.assert_allclose(r.precision[k], prec, rtol=1e-12)
        if math.isnan(ap):
            assert math.isnan(r.ap[k])
        else:
            assert r.ap[k] == pytest.approx(ap, rel=1e-12, abs=1e-15)


@given(detection_problems())
def test_voc_ap_in_unit_interval_and_11_point_bounds(problem):
    pred, gt = problem
    for metric in ("all_point", "11_point"):
        r = voc_ap(pred, gt, metric=metric, n_class=2)
        valid = r.ap[~np.isnan(r.ap)]
        assert np.all((valid >= 0) & (valid <= 1))


# --------------------------------------------------------------------------- validation
def test_average_precision_validation():
    with pytest.raises(ValueError, match="metric must be one of"):
        average_precision([1.0], [1.0], metric="voc")
    with pytest.raises(ValueError, match="same shape"):
        average_precision([1.0, 0.5], [1.0])
    with pytest.raises(ValueError, match=r"precision must be in \[0, 1\]"):
        average_precision([np.nan], [1.0])
    with pytest.raises(ValueError, match="non-decreasing"):
        average_precision([1.0, 1.0], [0.5, 0.2])
    assert average_precision([], []) == 0.0


def test_voc_ap_validation():
    pred, gt = worked_example()
    with pytest.raises(ValueError, match="metric must be one of"):
        voc_ap(pred, gt, metric="coco")
    with pytest.raises(ValueError, match="iou_thresh must be in"):
        voc_ap(pred, gt, iou_thresh=0.0)
    with pytest.raises(ValueError, match="one entry per ground-truth image"):
        voc_ap(pred[:1], gt)
    with pytest.raises(ValueError, match="labels must be < n_class = 1"):
        voc_ap([det([BOX_A], [1.0], [3]), det([], [])], gt, n_class=1)
    bad = [{"bbox": [[10, 0, 0, 10]], "label": [0], "score": [1.0]}, det([], [])]
    with pytest.raises(ValueError, match=r"pred\[0\]: bbox has an inverted box"):
        voc_ap(bad, gt)
    with pytest.raises(ValueError, match=r"gt\[1\]: bbox must be finite"):
        voc_ap(pred, [gt[0], {"bbox": [[0, 0, np.nan, 1]], "label": [0]}])
    with pytest.raises(TypeError, match="pred must be a sequence"):
        voc_ap("pred.json", gt)


fuzz_values = st.sampled_from([0.0, 1.0, -5.0, 1e30, np.nan, np.inf, -np.inf, 3.5])


@given(
    st.lists(st.tuples(fuzz_values, fuzz_values, fuzz_values, fuzz_values), max_size=4), fuzz_values
)
def test_voc_ap_fuzz_returns_or_raises_value_error(rows, score):
    box = np.array(rows, dtype=np.float64).reshape(-1, 4)
    pred = [{"bbox": box, "label": np.zeros(len(box), np.int64), "score": np.full(len(box), score)}]
    gt = [{"bbox": np.abs(np.nan_to_num(box)), "label": np.zeros(len(box), np.int64)}]
    try:
        r = voc_ap(pred, gt, n_class=1)
    except ValueError:
        return
    assert np.isnan(r.ap[0]) or 0 <= r.ap[0] <= 1


# --------------------------------------------------------------------------- edges (mutation)
def test_average_precision_is_computed_in_float64_for_float32_curves():
    # a float32 curve gives exactly the AP of its (exact) float64 values, for both metrics
    rng = np.random.default_rng(3)
    rec = np.linspace(0.05, 1, 20).astype(np.float32)
    prec = np.sort(rng.random(20))[::-1].astype(np.float32)
    for metric in ("11_point", "all_point"):
        assert average_precision(prec, rec, metric=metric) == average_precision(
            prec.astype(np.float64), rec.astype(np.float64), metric=metric
        )


@pytest.mark.parametrize("name", ["precision", "recall"])
def test_average_precision_rejects_values_above_1(name):
    curve = {"precision": [1.0, 0.5], "recall": [0.5, 1.0]}
    curve[name] = [0.5, 1.5]
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\]"):
        average_precision(curve["precision"], curve["recall"])


def test_voc_iou_thresh_1_is_valid_and_above_1_is_not():
    # (0, 1]: at 1 only a detection equal to its box matches
    gt = [ann([BOX_A, BOX_B])]
    pred = [det([BOX_A, [20.0, 0.0, 30.0, 9.0]], [0.9, 0.8])]
    assert voc_ap(pred, gt, iou_thresh=1.0).ap.tolist() == [0.5]
    with pytest.raises(ValueError, match=r"iou_thresh must be in \(0, 1\]"):
        voc_ap(pred, gt, iou_thresh=1.0 + 1e-9)


def _tie(x=0.0):
    """Boxes a, b with IoU exactly 90 / 110 each with D; E has IoU 80 / 120 with a only."""
    a, b = [x, 0, x + 10, 10], [x + 2, 0, x + 12, 10]
    d, e = [x + 1, 0, x + 11, 10], [x - 2, 0, x + 8, 10]
    return a, b, d, e


def test_voc_equal_iou_goes_to_the_first_box_among_other_classes():
    # The devkit keeps the *first* box of maximal IoU (ovmax updated only on ">"), in gt
    # order: D takes a, then E's best box is a, already taken: a duplicate (FP), although b
    # is free. Ten such groups in one image, the class-0 boxes listed between class-1 boxes:
    # class 0 has precision 1 up to recall 1/2, then only false positives -> AP 1/2.
    boxes, labels, pred_boxes, pred_labels, scores = [], [], [], [], []
    for i in range(10):
        a, b, d, e = _tie(30.0 * i)
        c1, c2 = [30.0 * i, 100, 30.0 * i + 10, 110], [30.0 * i, 200, 30.0 * i + 10, 210]
        boxes += [a, c1, b, c2]
        labels += [0, 1, 0, 1]
        pred_boxes += [d, e, c1, c2]
        pred_labels += [0, 0, 1, 1]
        scores += [0.9 - 0.01 * i, 0.5 - 0.01 * i, 0.9, 0.8]
    r = voc_ap([det(pred_boxes, scores, pred_labels)], [ann(boxes, labels)])
    assert r.ap.tolist() == [0.5, 1.0]
    a, b, d, e = _tie()
    assert voc_ap([det([d, e], [0.9, 0.5])], [ann([b, a])]).ap.tolist() == [1.0]


def test_voc_result_counts_and_summary():
    # n_pos are integers, the recall of a class without boxes is NaN, the metric is the one
    # asked for, and the summary names the classes (their index without names)
    gt = [ann([BOX_A, BOX_B], [0, 0])]
    r = voc_ap([det([BOX_A], [0.9], [0])], gt, n_class=2, metric="11_point")
    assert r.n_pos.dtype == np.int64 and r.n_pos.tolist() == [2, 0]
    assert r.metric == "11_point"
    assert r.recall[0].tolist() == [0.5]
    assert r.recall[1].dtype == np.float64 and r.recall[1].size == 0
    r2 = voc_ap([det([BOX_B, BOX_A], [0.9, 0.8], [1, 0])], gt, n_class=2)
    assert r2.recall[1].dtype == np.float64 and np.isnan(r2.recall[1]).all()
    assert r.summary().splitlines() == [
        "VOC AP@0.5 (11_point)",
        f"  {'0':<16} {r.ap[0]:.4f}  (n_pos 2)",
        f"  {'1':<16} nan  (n_pos 0)",
        f"  {'mAP':<16} {r.map:.4f}",
    ]
    assert r.summary(["cat", "dog"]).splitlines()[1].startswith("  cat ")
