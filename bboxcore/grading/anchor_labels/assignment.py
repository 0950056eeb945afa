r"""The anchor-labelling assignment, graded against the AnchorTargetCreator of bboxcore.targets.

Contract: :data:`bboxcore.grading.anchor_labels.contract.ANCHOR_LABELS_CONTRACT`;
bugs: :mod:`bboxcore.grading.anchor_labels.bugs`. The labelling rules of the RPN
(*Object Detection: Faster R-CNN*; *The losses of Faster R-CNN*; Ren et al. [1]_,
Sec. 3.1.2) without the subsampling: outside anchors -1; inside, 0 if every IoU
< ``neg_thresh``; then 1 if some IoU >= ``pos_thresh`` or the anchor is a GT
box's best (ties included); -1 otherwise.

Fairness: the answer is judged anchor by anchor against the set of labels that
some correct float computation gives (:func:`label_options`): an IoU within
its float32 error bound (:func:`~bboxcore.grading.iou.tolerance.iou_error_bound`,
at least 1e-6) of a threshold, or of a GT box's highest IoU, may be decided
either way, unless it is exactly there in every float arithmetic (every
intermediate of the IoU is a float32 number: then it is decided, e.g. IoU =
2/4 at ``pos_thresh`` = 0.5 is positive). The graded inputs are float32
numbers, so the inside test is exact.

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import INDEX_MAX, SHOW_ROWS, fmt, jittered, regime_boxes, short
from bboxcore.grading.anchor_labels.bugs import ANCHOR_LABELS_BUGS
from bboxcore.grading.anchor_labels.contract import (
    ANCHOR_LABELS_CONTRACT,
    ANCHOR_LABELS_SIGNATURE,
)
from bboxcore.grading.arrays import ArrayAssignment
from bboxcore.grading.iou.tolerance import iou_error_bound
from bboxcore.grading.runner import HINT_MAX_ROWS, Case, Check, Failure
from bboxcore.grading.worker import Opaque
from bboxcore.iou import box_iou
from bboxcore.targets.faster_rcnn import AnchorTargetCreator

__all__ = ["AnchorLabelsAssignment", "as_labels", "label_options"]

#: IoUs within this distance of a threshold (or of a GT's best) may be decided either way.
IOU_TOL = 1e-6
#: (pos_thresh, neg_thresh) of the random cases: the paper's, and others.
THRESHOLDS = ((0.7, 0.3), (0.7, 0.3), (0.5, 0.25), (0.6, 0.4))


def _f32(x) -> np.ndarray:
    """Values rounded to float32 numbers (kept in float64): exact in any float arithmetic."""
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def _case(anchor, bbox, img_size, pos=0.7, neg=0.3, what: str = "") -> Case:
    a = _f32(anchor).reshape(-1, 4)
    b = _f32(bbox).reshape(-1, 4)
    size = (float(img_size[0]), float(img_size[1]))
    note = f"{len(a)} anchors, {len(b)} GT boxes, thresholds {pos:g}/{neg:g}"
    return Case((a, b, size, float(pos), float(neg)), note + (f" ({what})" if what else ""))


def _exact_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(S, R): every intermediate of IoU(a_i, b_j) is a float32 number (inputs float32 numbers).

    Then any IEEE float computation of the IoU gives the correctly rounded
    quotient of the same two exact numbers: equal IoUs stay equal, and an IoU
    equal to a float32 threshold is computed exactly.
    """

    def ok(v):
        return np.asarray(v, np.float64).astype(np.float32).astype(np.float64) == v

    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    sa = a[:, 2:] - a[:, :2]
    sb = b[:, 2:] - b[:, :2]
    area_a, area_b = sa.prod(axis=1)[:, None], sb.prod(axis=1)[None, :]
    good = ok(wh).all(axis=-1) & ok(inter) & ok(area_a + area_b) & ok(area_a + area_b - inter)
    return good & ok(sa).all(axis=1)[:, None] & ok(area_a) & ok(sb).all(axis=1)[None] & ok(area_b)


def label_options(anchor, bbox, img_size, pos_thresh: float, neg_thresh: float) -> np.ndarray:
    """Which labels each anchor may get from some correct float computation.

    Parameters
    ----------
    anchor : ndarray, shape (S, 4)
    bbox : ndarray, shape (R, 4)
        Float32 numbers (in float64 arrays), ``(x_min, y_min, x_max, y_max)``.
    img_size : (H, W)
    pos_thresh, neg_thresh : float

    Returns
    -------
    ndarray, shape (S, 3), bool
        Column ``label + 1``: label -1, 0 or 1 is accepted for that anchor.

    Examples
    --------
    >>> anchor = np.array([[0., 0, 4, 4], [0, 0, 4, 2], [0, 0, 4, 1], [-1, 0, 3, 4]])
    >>> gt = np.array([[0., 0, 4, 4]])  # IoUs 1, 1/2 and 1/4 (exact), and outside
    >>> label_options(anchor, gt, (8, 8), 0.5, 0.25).astype(int).tolist()
    [[0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0]]
    """
    a = np.asarray(anchor, np.float64)
    b = np.asarray(bbox, np.float64)
    h, w = img_size
    inside = (a[:, 0] >= 0) & (a[:, 1] >= 0) & (a[:, 2] <= w) & (a[:, 3] <= h)
    opts = np.zeros((len(a), 3), dtype=bool)
    opts[~inside, 0] = True
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return opts
    if len(b) == 0:
        opts[idx, 1] = True
        return opts
    ai = a[idx]
    iou = box_iou(ai, b)  # (S_in, R)
    tol = np.maximum(iou_error_bound(ai, b), IOU_TOL)
    exact = _exact_pairs(ai, b)

    def near(thresh):  # within tol of the threshold and not exactly there in every arithmetic
        at = (iou == thresh) & exact & (np.float32(thresh) == thresh)
        return (np.abs(iou - thresh) <= tol) & ~at

    near_pos, near_neg = near(pos_thresh), near(neg_thresh)
    pos_sure = ((iou >= pos_thresh) & ~near_pos).any(axis=1)
    pos_maybe = ((iou >= pos_thresh) | near_pos).any(axis=1)
    neg_sure = ((iou < neg_thresh) & ~near_neg).all(axis=1)
    neg_maybe = ((iou < neg_thresh) | near_neg).all(axis=1)
    gt_max = iou.max(axis=0)  # (R,)
    top = iou.argmax(axis=0)
    close = gt_max[None, :] - iou <= tol + tol[top, np.arange(len(b))][None, :]
    tie_exact = (iou == gt_max[None, :]) & exact
    # a GT's best is decided when every anchor close to its maximum is exactly at it
    decided = (~close | tie_exact).all(axis=0) & (gt_max > 0)
    best_sure = (tie_exact & decided[None, :]).any(axis=1)
    best_maybe = (close & (gt_max > 0)[None, :]).any(axis=1)
    p_sure, p_maybe = pos_sure | best_sure, pos_maybe | best_maybe
    opts[idx, 2] = p_maybe
    opts[idx, 1] = neg_maybe & ~p_sure
    opts[idx, 0] = ~p_sure & ~neg_sure
    return opts


def as_labels(value, n: int) -> tuple[np.ndarray | None, str]:
    """The student's answer as (S,) int64 labels, or ``(None, what is wrong with it)``.

    Parameters
    ----------
    value : object
        What the student's function returned, as decoded by the worker.
    n : int
        The number of anchors S.

    Returns
    -------
    labels : ndarray, shape (S,), int64, or None
    problem : str
        ``''`` when ``labels`` is set, else one line for the report.

    Examples
    --------
    >>> as_labels([1, 0, -1], 3)
    (array([ 1,  0, -1]), '')
    >>> as_labels([1, 2], 2)[1]
    'returned the label 2; labels are 1, 0 or -1'
    """
    if value is None:
        return None, "returned None (is the return statement missing?)"
    if isinstance(value, Opaque):
        return None, f"returned {value!r}, not an array of labels"
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return None, "returned a boolean mask; return the labels 1, 0 and -1"
    if arr.shape != (n,):
        return None, f"returned shape {arr.shape}; expected ({n},), one label per anchor"
    if arr.size and arr.dtype.kind == "f":
        if not ((np.abs(arr) < INDEX_MAX).all() and (arr == np.round(arr)).all()):
            return None, f"returned non-integer values {short(arr)}; labels are 1, 0 or -1"
    arr = arr.astype(np.int64)
    if arr.size and not np.isin(arr, (-1, 0, 1)).all():
        v = int(arr[~np.isin(arr, (-1, 0, 1))][0])
        return None, f"returned the label {v}; labels are 1, 0 or -1"
    return arr, ""


def _frac(a, b) -> str:
    lt = np.maximum(a[:2], b[:2])
    rb = np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(rb - lt, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)
    return f"{inter:g} / {union:g} = {inter / union:.6g}" if union > 0 else "0"


class AnchorLabelsAssignment(ArrayAssignment):
    """Faster R-CNN's anchor labels (AnchorTargetCreator) without subsampling.

    Examples
    --------
    >>> AnchorLabelsAssignment().signature
    'anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh)'
    """

    name = "anchor_labels"
    function = "anchor_labels"
    signature = ANCHOR_LABELS_SIGNATURE
    contract = ANCHOR_LABELS_CONTRACT
    aligned = False
    large = ("20 000 anchors and 20 GT boxes within the time limit", 20_000)
    bugs = ANCHOR_LABELS_BUGS

    def reference(self, anchor, bbox, img_size, pos_thresh, neg_thresh) -> np.ndarray:
        creator = AnchorTargetCreator(
            n_sample=max(len(anchor), 1),
            pos_iou_thresh=pos_thresh,
            neg_iou_thresh=neg_thresh,
            pos_ratio=1.0,
        )
        label = creator(bbox, anchor, img_size, np.random.default_rng(0))[1]
        return label.astype(np.int64)

    def _options(self, case: Case) -> np.ndarray:
        last = getattr(self, "_last_opts", None)
        if last is None or last[0] is not case:
            self._last_opts = (case, label_options(*case.args))
        return self._last_opts[1]

    def judge_shape(self, case: Case, out) -> Failure | None:
        if out.status != "ok":
            return self.judge(case, out)
        labels, problem = as_labels(out.value, len(case.args[0]))
        return Failure(problem, "type") if labels is None else None

    def judge_value(self, case: Case, value) -> Failure | None:
        labels, problem = as_labels(value, len(case.args[0]))
        if labels is None:
            return Failure(problem, "type")
        opts = self._options(case)
        ok = opts[np.arange(len(labels)), labels + 1]
        if ok.all():
            return None
        i = int(np.flatnonzero(~ok)[0])
        want = [v - 1 for v in np.flatnonzero(opts[i])]
        return Failure(
            f"anchor {i} is labelled {int(labels[i])}, expected "
            f"{' or '.join(str(v) for v in want)}: {self._why(case, i)}",
            details={"index": (i,), "got": int(labels[i]), "expected": want},
        )

    @staticmethod
    def _why(case: Case, i: int) -> str:
        anchor, bbox, (h, w), pos, neg = case.args
        a = anchor[i]
        if not (a[0] >= 0 and a[1] >= 0 and a[2] <= w and a[3] <= h):
            return f"it is not entirely inside the {fmt(h)} x {fmt(w)} (H x W) image"
        if len(bbox) == 0:
            return "there is no GT box, so every inside anchor is negative"
        inside = (anchor[:, 0] >= 0) & (anchor[:, 1] >= 0) & (anchor[:, 2] <= w)
        inside &= anchor[:, 3] <= h
        iou = box_iou(anchor[inside], bbox)
        row = box_iou(a[None], bbox)[0]
        g = int(row.argmax())
        text = f"its largest IoU is with GT {g}, {_frac(a, bbox[g])}"
        best = [k for k in range(len(bbox)) if iou[:, k].max() > 0 and row[k] == iou[:, k].max()]
        if best:
            return text + f"; it is the best inside anchor of GT {best[0]} (IoU {row[best[0]]:.6g})"
        return text + f" (pos_thresh {pos:g}, neg_thresh {neg:g})"

    def reproduces(self, bug: str, case: Case, value) -> bool | None:
        labels, _ = as_labels(value, len(case.args[0]))
        if labels is None or self.size(case) > HINT_MAX_ROWS:
            return None
        want = np.asarray(self.bugs[bug][0](*case.args), dtype=np.int64)
        if want.shape != labels.shape:
            return False
        opts = self._options(case)
        either = opts.sum(axis=1) > 1  # undecided anchors: any accepted label matches
        same = (want == labels) | (either & opts[np.arange(len(labels)), labels + 1])
        return bool(same.all())

    def type_hint(self, failure: Failure) -> str:
        if "mask" in failure.message:
            return "return the labels (1, 0, -1), one per anchor, not a boolean mask."
        if "shape" in failure.message:
            return (
                "return one label per anchor, shape (S,), including the anchors outside the "
                "image (-1): not only the inside ones."
            )
        return "return an integer array of labels 1 (positive), 0 (negative), -1 (ignored)."

    def size(self, case: Case) -> int:
        return len(case.args[0]) + len(case.args[1])

    def valid(self, case: Case) -> bool:
        return all(bool((b[:, 2:] > b[:, :2]).all()) for b in case.args[:2])

    def simplify(self, case: Case):
        for c in super().simplify(case):
            yield Case((_f32(c.args[0]), _f32(c.args[1]), *c.args[2:]), c.note)

    def entry_name(self, idx: tuple) -> str:
        return f"label[{idx[0]}]"

    DESCRIPTIONS = {
        "returns_array": "returns (S,) integer labels 1, 0 or -1, one per anchor",
        "empty_input": "no anchors (S = 0) gives an empty array",
        "random_cases": "seeded random cases of growing size against the reference: anchors "
        "near the GT boxes and anywhere, some crossing the border, on the 1/4-pixel grid, "
        "anywhere, up to 4000 px and below 1 px",
    }

    def edge_checks(self) -> list[Check]:
        def worked(rng):
            anchor = [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]
            yield _case(anchor, [[0, 0, 10, 10]], (40, 40), what="IoU 1, 1/3 and 0: 1, -1, 0")

        def exact(rng):
            # IoU 1, 2/4, 1/4 and 1/16 with the GT: exact in float32 and float64
            anchor = [[0, 0, 4, 4], [0, 0, 4, 2], [0, 0, 4, 1], [0, 0, 1, 1]]
            yield _case(anchor, [[0, 0, 4, 4]], (8, 8), 0.5, 0.25, "IoU = 1/2 and 1/4 exactly")

        def low_best(rng):
            # the GT's best anchor has IoU 1/19 < neg_thresh: still positive
            yield _case([[1, 1, 5, 5], [4, 4, 8, 8]], [[0, 0, 2, 2]], (10, 10), what="low best")

        def best_ties(rng):
            anchor = [[1, 0, 3, 2], [3, 0, 5, 2], [10, 10, 12, 12]]
            yield _case(anchor, [[2, 0, 4, 2]], (20, 20), what="two anchors tie at IoU 1/3")

        def two_gts(rng):
            # anchor 1 overlaps GT 0 most (1/3) but is GT 1's best anchor (1/7): positive
            anchor = [[0, 0, 4, 4], [2, 0, 6, 4], [0, 6, 2, 8]]
            yield _case(anchor, [[0, 0, 4, 4], [5, 0, 9, 4]], (10, 10), what="two GT boxes")

        def outside(rng):
            anchor = [[-1, 0, 5, 5], [5, 5, 10, 10], [0, 0, 10, 11], [0, 0, 10, 10]]
            yield _case(anchor, [[4, 4, 10, 10]], (10, 10), what="crossing and touching")
            # a GT whose best anchor would be outside: the best inside one is positive
            anchor = [[-2, 0, 4, 4], [3, 0, 7, 4], [10, 10, 14, 14]]
            yield _case(anchor, [[-1, 0, 4, 4]], (20, 20), what="the best anchor is outside")

        def height_width(rng):
            anchor = [[12, 0, 18, 5], [0, 12, 5, 18], [0, 0, 5, 5]]
            yield _case(anchor, [[12, 0, 18, 5]], (10, 20), what="H = 10, W = 20")

        def no_overlap(rng):
            # GT 1 overlaps no inside anchor: it has no best anchor
            anchor = [[0, 0, 4, 4], [5, 0, 9, 4]]
            yield _case(anchor, [[0, 0, 4, 4], [20, 20, 24, 24]], (30, 30), what="GT apart")

        def no_gt(rng):
            yield _case([[0, 0, 4, 4], [-1, 0, 3, 3]], np.zeros((0, 4)), (8, 8), what="R = 0")

        return [
            Check("worked_values", "IoU 1 (positive), 1/3 (ignored) and 0 (negative)", worked),
            Check(
                "exact_thresholds",
                "IoU exactly pos_thresh is positive, exactly neg_thresh is ignored (>=, <)",
                exact,
            ),
            Check(
                "gt_best_low_iou",
                "a GT box's best anchor is positive even below neg_thresh",
                low_best,
            ),
            Check(
                "gt_best_ties", "every anchor tied at a GT box's best IoU is positive", best_ties
            ),
            Check(
                "several_gt",
                "the best anchor of each GT box, not only of the GT it overlaps most",
                two_gts,
            ),
            Check(
                "outside_anchors",
                "anchors crossing the border are -1, touching it is inside; the best is "
                "taken among the inside anchors",
                outside,
            ),
            Check("image_size_order", "img_size is (H, W)", height_width),
            Check("gt_without_overlap", "a GT box overlapping no anchor has no best", no_overlap),
            Check("no_gt", "no GT box: every inside anchor is negative", no_gt),
        ]

    def empty_cases(self):
        yield _case(np.zeros((0, 4)), [[0, 0, 4, 4]], (8, 8), what="S = 0")

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        pos, neg = THRESHOLDS[int(rng.integers(len(THRESHOLDS)))]
        r = int(rng.integers(1, 4)) if n < 1000 else 20
        if regime == "mixed":
            regime = "offgrid"
        gt = regime_boxes(rng, r, regime, min_size=1.0)
        k = n // 2
        near = jittered(rng, gt[rng.integers(0, r, size=k)], 0.3)
        anchor = np.concatenate([near, regime_boxes(rng, n - k, regime, min_size=1.0)])
        if regime == "grid":
            anchor = np.round(anchor * 4) / 4
        anchor = anchor[rng.permutation(len(anchor))]
        top = np.max(np.concatenate([gt, anchor]), axis=0) if n else gt.max(axis=0)
        h = float(np.ceil(top[3] * rng.uniform(0.8, 1.05)))
        w = float(np.ceil(top[2] * rng.uniform(0.8, 1.05)))
        ok = (anchor[:, 2:] > anchor[:, :2]).all(axis=1)
        return _case(anchor[ok], gt, (h, w), pos, neg, f"random, {regime}")

    def describe(self, case: Case, value, failure: Failure):
        anchor, bbox, (h, w), pos, neg = case.args
        index = failure.details.get("index")
        lines = [f"img_size (H, W): ({fmt(h)}, {fmt(w)})   pos_thresh {pos:g}, neg_thresh {neg:g}"]
        for name, arr in (("anchor", anchor), ("bbox", bbox)):
            rows = list(range(min(len(arr), SHOW_ROWS)))
            if name == "anchor" and index is not None and index[0] not in rows:
                rows.append(index[0])
            lines.append(f"{name}:")
            lines += [f"  {i}: [{', '.join(fmt(v) for v in arr[i])}]" for i in rows] or ["  (none)"]
            if len(arr) > len(rows):
                lines.append(f"  ... ({len(arr) - len(rows)} more rows: all of them in --json)")
        expected = self.reference(*case.args)
        labels = as_labels(value, len(anchor))[0] if failure.kind == "wrong" else None
        got = short(labels, 32) if labels is not None else failure.message
        lines += [f"your answer: {got}", f"expected:    {short(expected, 32)}"]
        lines.append(f"why: {failure.message}")
        data = {
            "anchor": anchor.tolist(),
            "bbox": bbox.tolist(),
            "img_size": [h, w],
            "pos_thresh": pos,
            "neg_thresh": neg,
            "got": labels.tolist() if labels is not None else got,
            "expected": expected.tolist(),
            "why": failure.message,
            "index": index,
        }
        return lines, data

    def strategy(self):
        from hypothesis import strategies as st

        row = st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(1, 6), st.integers(1, 6))

        def boxes(r):
            r = np.array(r, dtype=np.float64).reshape(-1, 4)
            return np.concatenate([r[:, :2], r[:, :2] + r[:, 2:]], axis=1)

        return st.builds(
            lambda a, b, h, w, th: _case(boxes(a), boxes(b), (h, w), *th),
            st.lists(row, min_size=1, max_size=5),
            st.lists(row, min_size=0, max_size=2),
            st.integers(6, 14),
            st.integers(6, 14),
            st.sampled_from(((0.7, 0.3), (0.5, 0.25))),
        )
