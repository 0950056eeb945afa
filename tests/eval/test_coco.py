"""COCO AP/AR: hand-worked cases, invariances, area ranges, and two references.

The references are a plain-loop transcription of the official ``COCOeval``
(``evaluateImg`` + ``accumulate`` + ``summarize``) below, and, when
installed, ``pycocotools`` itself on JSON files written by bboxcore.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings

from bboxcore.data import (
    Annotation,
    Detection,
    FormatError,
    read_coco,
    write_coco,
    write_coco_results,
)
from bboxcore.eval import coco_ap
from bboxcore.eval.coco import RECALL_THRESHOLDS, STAT_NAMES
from bboxcore.eval.coco_match import AREA_RANGES, IOU_THRESHOLDS, MAX_DETS
from bboxcore.tools.synthetic import random_detection_set
from tests.strategies import detection_problems


def det(boxes, scores, labels=None):
    labels = [0] * len(boxes) if labels is None else labels
    return Detection(np.array(boxes, dtype=float).reshape(-1, 4), labels, scores)


def ann(boxes, labels=None, iscrowd=None):
    labels = [0] * len(boxes) if labels is None else labels
    return Annotation(np.array(boxes, dtype=float).reshape(-1, 4), labels, iscrowd=iscrowd)


# --------------------------------------------------------------------------- hand-worked
def test_single_match_at_iou_08():
    # IoU = 80 / 100 = 0.8: a TP at t = 0.50 ... 0.80 (7 thresholds), a miss at 0.85 ... 0.95.
    # At a hit threshold the curve is precision 1 at recall 1 -> all 101 points are 1; else 0.
    # (Precision is TP / (TP + FP + eps) as in the official code, so "1" is 1 - 2.2e-16.)
    r = coco_ap([det([[0, 0, 10, 8]], [0.9])], [ann([[0, 0, 10, 10]])]).as_dict()
    assert r["AP"] == pytest.approx(7 / 10)
    assert r["AP50"] == pytest.approx(1.0) and r["AP75"] == pytest.approx(1.0)
    assert r["AR1"] == r["AR10"] == r["AR100"] == pytest.approx(7 / 10)
    assert r["APs"] == pytest.approx(7 / 10)  # area 100 < 32^2: small
    assert r["APm"] == -1 and r["APl"] == -1  # no medium or large box: undefined, -1


def test_half_recall_gives_51_of_101_points():
    # two boxes, one found exactly: precision 1 up to recall 1/2, then nothing.
    # recall thresholds 0.00, 0.01, ..., 0.50 are reached -> 51 of 101 points are 1.
    gt = [ann([[0, 0, 10, 10], [20, 20, 30, 30]])]
    r = coco_ap([det([[0, 0, 10, 10]], [1.0])], gt)
    assert r.stats[0] == pytest.approx(51 / 101)
    assert r.as_dict()["AR100"] == 0.5


def test_false_positive_ranked_first_halves_precision():
    # ranked FP (0.9) then TP (0.8): precision 0, 1/2; interpolated 1/2 everywhere up to recall 1
    gt = [ann([[0, 0, 10, 10]])]
    r = coco_ap([det([[50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8])], gt)
    assert r.stats[0] == pytest.approx(0.5)
    # AR@1 looks at the top detection of each image only: the FP, so recall 0
    assert r.as_dict()["AR1"] == 0.0 and r.as_dict()["AR10"] == pytest.approx(1.0)


def test_area_ranges_split_small_medium_large():
    # areas: 10x10 = 100 (small < 1024), 50x50 = 2500 (medium), 100x100 = 10000 (large > 9216)
    boxes = [[0, 0, 10, 10], [100, 0, 150, 50], [200, 0, 300, 100]]
    gt = [ann(boxes)]
    r = coco_ap([det(boxes[:2], [0.9, 0.8])], gt).as_dict()  # the large box is missed
    assert r["APs"] == pytest.approx(1.0) and r["APm"] == pytest.approx(1.0) and r["APl"] == 0.0
    assert r["ARs"] == pytest.approx(1.0) and r["ARm"] == pytest.approx(1.0) and r["ARl"] == 0.0


def test_area_range_bounds_are_inclusive():
    # 32 x 32 = 1024 lies in both small [0, 1024] and medium [1024, 9216]
    gt = [ann([[0, 0, 32, 32]])]
    r = coco_ap([det([[0, 0, 32, 32]], [1.0])], gt).as_dict()
    assert r["APs"] == pytest.approx(1.0) and r["APm"] == pytest.approx(1.0) and r["APl"] == -1


def test_detection_on_crowd_region_is_ignored():
    # IoU with a crowd box is |D n G| / |D|: a detection inside the crowd region is ignored
    gt = [ann([[0, 0, 100, 100], [200, 0, 210, 10]], iscrowd=[True, False])]
    pred = [det([[10, 10, 20, 20], [200, 0, 210, 10]], [0.9, 0.8])]
    assert coco_ap(pred, gt).stats[0] == pytest.approx(1.0)
    plain = [ann([[0, 0, 100, 100], [200, 0, 210, 10]])]
    assert coco_ap(pred, plain).stats[1] < 1.0  # without the flag, it is an FP


def test_detection_falls_back_to_next_free_box():
    # COCO (unlike VOC): the 2nd detection's best box is taken, so it takes the next one.
    gt = [ann([[0, 0, 10, 10], [2, 0, 12, 10]])]
    pred = [det([[0, 0, 10, 10], [1, 0, 11, 10]], [0.9, 0.8])]
    assert coco_ap(pred, gt).as_dict()["AP50"] == pytest.approx(1.0)


def test_max_dets_truncates_per_image_and_class():
    # 101 detections, the only TP ranked last: outside the top 100
    gt = [ann([[0, 0, 10, 10]])]
    far = [[50 + i, 50, 60 + i, 60] for i in range(100)]
    pred = [det([*far, [0, 0, 10, 10]], [*np.linspace(1, 0.5, 100), 0.1])]
    assert coco_ap(pred, gt).as_dict()["AR100"] == 0.0
    # in another class, the 100 are counted separately
    pred2 = [det([*far, [0, 0, 10, 10]], [*np.linspace(1, 0.5, 100), 0.1], [1] * 100 + [0])]
    assert coco_ap(pred2, gt).as_dict()["AR100"] == pytest.approx(1.0)


def test_no_detections_and_no_boxes():
    r = coco_ap([det([], [])], [ann([[0, 0, 10, 10]])])
    assert r.stats[0] == 0.0 and r.stats[8] == 0.0
    r = coco_ap([det([[0, 0, 1, 1]], [1.0])], [ann([])])
    assert np.all(r.stats == -1)  # nothing to average over
    assert "maxDets=100 ] = -1.000" in r.summary()


def test_stats_order_matches_the_official_summary():
    assert STAT_NAMES == (
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR1",
        "AR10",
        "AR100",
        "ARs",
        "ARm",
        "ARl",
    )
    assert np.allclose(IOU_THRESHOLDS, np.arange(10) * 0.05 + 0.5)
    assert len(RECALL_THRESHOLDS) == 101 and MAX_DETS == (1, 10, 100)


# --------------------------------------------------------------------------- invariances
def test_invariant_to_image_and_prediction_order():
    rng = np.random.default_rng(3)
    pred, gt = random_detection_set(rng, n_image=30, n_gt=5, n_det=20, n_class=3, img_size=300)
    base = coco_ap(pred, gt)
    perm = rng.permutation(len(gt))
    shuffled = []
    for i in perm:  # scores are distinct (uniform floats), so ranks are unambiguous
        p = pred[i]
        q = rng.permutation(len(p.label))
        shuffled.append(Detection(p.bbox[q], p.label[q], p.score[q]))
    other = coco_ap(shuffled, [gt[i] for i in perm])
    np.testing.assert_allclose(other.stats, base.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(other.precision, base.precision, atol=1e-12)


def test_perfect_predictions_give_one():
    rng = np.random.default_rng(0)
    _, gt = random_detection_set(rng, n_image=10, n_gt=6, n_class=4, img_size=400)
    pred = [Detection(a.bbox, a.label, rng.random(len(a.label))) for a in gt]
    s = coco_ap(pred, gt).stats
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(1.0) and s[8] == pytest.approx(1.0)


# --------------------------------------------------------------------------- loop reference
def coco_reference(pred, gt):
    """The official evaluateImg / accumulate / summarize, as plain loops."""
    n_class = 1 + max(
        [int(x) for g in gt for x in g["label"]] + [int(x) for p in pred for x in p["label"]] + [-1]
    )
    t_n, r_n, a_n, m_n = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), 4, 3

    def iou(d, g, crowd):
        iw = max(0.0, min(d[2], g[2]) - max(d[0], g[0]))
        ih = max(0.0, min(d[3], g[3]) - max(d[1], g[1]))
        da = (d[2] - d[0]) * (d[3] - d[1])
        ga = (g[2] - g[0]) * (g[3] - g[1])
        u = da if crowd else da + ga - iw * ih
        return iw * ih / u if u > 0 else 0.0

    def evaluate(i, k, rng_):
        lo, hi = rng_
        gts = [
            (list(b), bool(c))
            for b, lab, c in zip(gt[i]["bbox"], gt[i]["label"], gt[i]["iscrowd"])
            if lab == k
        ]
        dts = [
            (float(s), list(b))
            for b, lab, s in zip(pred[i]["bbox"], pred[i]["label"], pred[i]["score"])
            if lab == k
        ]
        if not gts and not dts:
            return None
        area = [(b[2] - b[0]) * (b[3] - b[1]) for b, _ in gts]
        g_ig = [c or a < lo or a > hi for (_, c), a in zip(gts, area)]
        g_order = sorted(range(len(gts)), key=lambda j: g_ig[j])  # stable
        gts = [gts[j] for j in g_order]
        g_ig = [g_ig[j] for j in g_order]
        dts = sorted(dts, key=lambda t: -t[0])[: MAX_DETS[-1]]
        dtm = [[False] * len(dts) for _ in range(t_n)]
        dt_ig = [[False] * len(dts) for _ in range(t_n)]
        gtm = [[False] * len(gts) for _ in range(t_n)]
        for t, thr in enumerate(IOU_THRESHOLDS):
            for di, (_, d) in enumerate(dts):
                best, m = min(thr, 1 - 1e-10), -1
                for gi, (g, crowd) in enumerate(gts):
                    if gtm[t][gi] and not crowd:
                        continue
                    if m > -1 and not g_ig[m] and g_ig[gi]:
                        break
                    o = iou(d, g, crowd)
                    if o < best:
                        continue
                    best, m = o, gi
                if m == -1:
                    continue
                dt_ig[t][di], dtm[t][di], gtm[t][m] = g_ig[m], True, True
        for di, (_, d) in enumerate(dts):
            a = (d[2] - d[0]) * (d[3] - d[1])
            for t in range(t_n):
                if not dtm[t][di] and (a < lo or a > hi):
                    dt_ig[t][di] = True
        return [s for s, _ in dts], dtm, dt_ig, g_ig

    precision = -np.ones((t_n, r_n, n_class, a_n, m_n))
    recall = -np.ones((t_n, n_class, a_n, m_n))
    for k in range(n_class):
        for a, rng_ in enumerate(AREA_RANGES):
            evals = [e for e in (evaluate(i, k, rng_) for i in range(len(gt))) if e is not None]
            for mi, m in enumerate(MAX_DETS):
                if not evals:
                    continue
                scores = [s for e in evals for s in e[0][:m]]
                order = sorted(range(len(scores)), key=lambda j: -scores[j])
                n_pos = sum(not ig for e in evals for ig in e[3])
                if n_pos == 0:
                    continue
                for t in range(t_n):
                    tm = [x for e in evals for x in e[1][t][:m]]
                    ti = [x for e in evals for x in e[2][t][:m]]
                    tp = fp = 0
                    rc, pr = [], []
                    for j in order:
                        tp += tm[j] and not ti[j]
                        fp += (not tm[j]) and not ti[j]
                        rc.append(tp / n_pos)
                        pr.append(tp / (fp + tp + np.spacing(1)))
                    recall[t, k, a, mi] = rc[-1] if rc else 0
                    for j in range(len(pr) - 1, 0, -1):
                        pr[j - 1] = max(pr[j - 1], pr[j])
                    for ri, thr in enumerate(RECALL_THRESHOLDS):
                        hit = next((j for j, r in enumerate(rc) if r >= thr), None)
                        precision[t, ri, k, a, mi] = pr[hit] if hit is not None else 0.0
    return precision, recall


@settings(max_examples=25)
@given(detection_problems(max_images=3, max_gt=4, max_det=6))
def test_coco_ap_matches_loop_reference(problem):
    pred, gt = problem
    precision, recall = coco_reference(pred, gt)
    r = coco_ap(pred, gt)
    np.testing.assert_allclose(r.precision, precision, atol=1e-12)
    np.testing.assert_allclose(r.recall, recall, atol=1e-12)


# --------------------------------------------------------------------------- official tool
def _official(gt_path, res_path):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        ev = COCOeval(coco_gt, coco_gt.loadRes(str(res_path)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_ap_equals_pycocotools(tmp_path, seed):
    rng = np.random.default_rng(seed)
    pred, gt = random_detection_set(
        rng, n_image=40, n_gt=6, n_det=40 + 60 * seed, n_class=3, img_size=300, crowd_rate=0.1
    )
    pred = [Detection(p.bbox, p.label, np.round(p.score, 1)) for p in pred]  # many ties
    write_coco(tmp_path / "gt.json", gt, ["a", "b", "c"])
    write_coco_results(tmp_path / "res.json", pred, read_coco(tmp_path / "gt.json"))
    ev = _official(tmp_path / "gt.json", tmp_path / "res.json")
    r = coco_ap(tmp_path / "res.json", tmp_path / "gt.json")
    np.testing.assert_allclose(r.stats, ev.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.precision, ev.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.recall, ev.eval["recall"], rtol=0, atol=1e-12)


def _one_box_files(tmp_path, gt_xywh, det_xywh, size=(10, 10), det_image_id=1):
    """A COCO file with one image of ``size`` (W, H) and one box, and a result file."""
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": size[0], "height": size[1]}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": gt_xywh,
                "area": gt_xywh[2] * gt_xywh[3],
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    res = [{"image_id": det_image_id, "category_id": 1, "bbox": det_xywh, "score": 0.9}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    return tmp_path / "gt.json", tmp_path / "res.json"


@pytest.mark.parametrize(
    ("gt_xywh", "det_xywh", "ap"),
    [
        # out by 0.9 px: IoU 100 / 109 = 0.917, a hit at 0.50 ... 0.90 only -> 9 / 10
        ([0, 0, 10.9, 10], [0, 0, 10, 10], 9 / 10),
        # out by 5 px on two sides, found exactly: 1
        ([5, 5, 10, 10], [5, 5, 10, 10], 1.0),
        # the detection is the visible part (IoU 25 / 100): a miss everywhere, clipped or not
        ([5, 5, 10, 10], [5, 5, 5, 5], 0.0),
        # negative corner
        ([-3, -0.5, 8, 10.5], [-3, -0.5, 8, 10.5], 1.0),
        # entirely outside (clipping would make it a zero-area box on the border)
        ([100, 100, 5, 5], [100, 100, 5, 5], 1.0),
        ([-20, -20, 5, 5], [-20, -20, 5, 5], 1.0),
    ],
)
def test_gt_box_outside_its_image_equals_pycocotools(tmp_path, gt_xywh, det_xywh, ap):
    # The official code never clips; a clipped box changes the IoU and so the AP.
    gt_path, res_path = _one_box_files(tmp_path, gt_xywh, det_xywh)
    ev = _official(gt_path, res_path)
    assert ev.stats[0] == pytest.approx(ap, abs=1e-12)
    r = coco_ap(res_path, gt_path)
    np.testing.assert_allclose(r.stats, ev.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.precision, ev.eval["precision"], rtol=0, atol=1e-12)


def test_clip_is_applied_only_when_asked(tmp_path):
    gt_path, res_path = _one_box_files(tmp_path, [0, 0, 10.9, 10], [0, 0, 10, 10])
    assert read_coco(gt_path)[0].bbox[0, 2] == np.float32(10.9)
    clipped = read_coco(gt_path, clip=True)
    assert clipped[0].bbox[0].tolist() == [0, 0, 10, 10]
    assert coco_ap(res_path, clipped).stats[0] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [3, 4])
def test_coco_ap_equals_pycocotools_with_boxes_outside_the_images(tmp_path, seed):
    # boxes drawn in 300 x 300, images declared 260 x 240: many stick out by up to 60 px
    rng = np.random.default_rng(seed)
    pred, gt = random_detection_set(rng, n_image=20, n_gt=6, n_det=30, n_class=2, img_size=300)
    gt = [Annotation(a.bbox, a.label, image_id=a.image_id, img_size=(240, 260)) for a in gt]
    assert any((a.bbox[:, 2] > 260).any() or (a.bbox[:, 3] > 240).any() for a in gt)
    write_coco(tmp_path / "gt.json", gt, ["a", "b"])
    write_coco_results(tmp_path / "res.json", pred, read_coco(tmp_path / "gt.json"))
    ev = _official(tmp_path / "gt.json", tmp_path / "res.json")
    r = coco_ap(tmp_path / "res.json", tmp_path / "gt.json")
    np.testing.assert_allclose(r.stats, ev.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.precision, ev.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.recall, ev.eval["recall"], rtol=0, atol=1e-12)


def test_string_image_id_is_not_matched_to_an_integer_id(tmp_path):
    # pycocotools refuses a result whose image_id "1" is not the ground truth's 1
    gt_path, res_path = _one_box_files(tmp_path, [0, 0, 10, 10], [0, 0, 10, 10], det_image_id="1")
    with pytest.raises(AssertionError, match="do not correspond"):
        _official(gt_path, res_path)
    with pytest.raises(FormatError, match=r"image_id '1' \(str\).* id is 1 \(int\)"):
        coco_ap(res_path, gt_path)
    # and the other way round: an integer result id against string ids
    gt = json.loads(gt_path.read_text())
    gt["images"][0]["id"] = gt["annotations"][0]["image_id"] = "7"
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps([{**json.loads(res_path.read_text())[0], "image_id": 7}]))
    with pytest.raises(AssertionError, match="do not correspond"):
        _official(gt_path, res_path)
    with pytest.raises(FormatError, match=r"image_id 7 \(int\).* id is '7' \(str\)"):
        coco_ap(res_path, gt_path)


def test_ids_that_are_neither_numbers_nor_strings_are_a_format_error(tmp_path):
    gt_path, res_path = _one_box_files(tmp_path, [0, 0, 10, 10], [0, 0, 10, 10], det_image_id=[1])
    with pytest.raises(FormatError, match=r"res\.json: result 0 image_id must be a number or"):
        coco_ap(res_path, gt_path)


# --------------------------------------------------------------------------- files and errors
def test_coco_ap_from_files_equals_from_types(tmp_path):
    rng = np.random.default_rng(5)
    pred, gt = random_detection_set(rng, n_image=8, n_gt=4, n_det=10, n_class=2, img_size=300)
    write_coco(tmp_path / "gt.json", gt, ["a", "b"], category_ids=[3, 7])
    gt_set = read_coco(tmp_path / "gt.json")
    write_coco_results(tmp_path / "res.json", pred, gt_set)
    from_files = coco_ap(str(tmp_path / "res.json"), str(tmp_path / "gt.json"))
    np.testing.assert_allclose(from_files.stats, coco_ap(pred, gt).stats, atol=1e-12)
    assert coco_ap(tmp_path / "res.json", gt_set).stats[0] == from_files.stats[0]


def test_coco_ap_errors(tmp_path):
    with pytest.raises(TypeError, match="gt must be a COCO JSON path or an AnnotationSet"):
        coco_ap(tmp_path / "res.json", [ann([])])
    (tmp_path / "gt.json").write_text('{"images": [], "annotations": [')
    with pytest.raises(FormatError, match=r"gt\.json: not valid JSON"):
        coco_ap([], tmp_path / "gt.json")
    with pytest.raises(ValueError, match="one entry per ground-truth image"):
        coco_ap([det([], []), det([], [])], [ann([])])
    with pytest.raises(ValueError, match=r"pred\[0\]: score must be finite"):
        coco_ap([{"bbox": [[0, 0, 1, 1]], "label": [0], "score": [np.nan]}], [ann([])])


def test_summary_prints_twelve_lines():
    text = coco_ap([det([[0, 0, 10, 8]], [0.9])], [ann([[0, 0, 10, 10]])]).summary()
    lines = text.splitlines()
    assert len(lines) == 12
    assert lines[0] == (
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.700"
    )
    assert json.loads(json.dumps(coco_ap([det([], [])], [ann([])]).as_dict()))["AP"] == -1
