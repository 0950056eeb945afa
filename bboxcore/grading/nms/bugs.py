"""The usual bugs of a student's NMS, as runnable variants, to name the likely one.

Each entry of :data:`NMS_BUGS` is a deliberately *wrong* greedy NMS (no sort,
``>=`` instead of ``>``, "+1" areas, a union without the intersection...) with a
one-line hint. The last six were found in public code (each entry names where):
the far corner taken with ``np.maximum``, boxes ordered by ``y2`` as in the
tutorial code written for score-less detectors, a loop that never removes a
candidate nor keeps the taken box, a swap-and-scan in input order,
``np.any(overlap) > thresh``, and an area typed ``y2 - y2``. :func:`classify_nms`
runs every variant on the cases the student failed and names the variant whose
answers match the student's. The correct algorithm is :func:`bboxcore.nms.nms`;
nothing here is used to decide whether an answer is right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore.grading.iou.bugs import buggy_iou

__all__ = ["IOU_VARIANTS", "NMS_BUGS", "buggy_nms", "classify_nms", "reproduces_nms", "tie_rank"]

#: NMS bug -> the IoU variant (:func:`~bboxcore.grading.iou.bugs.buggy_iou`) it uses.
IOU_VARIANTS = {
    "plus_one": "plus_one",
    "no_clip": "no_clip",
    "union_no_minus_inter": "union_no_minus_inter",
    "iou_over_min": "iou_over_min",
    "iou_over_taken": "over_area1",
    "iou_over_candidate": "over_area2",
    "enclosing_box": "enclosing_box",
    "xywh": "xywh",
}

#: name -> hint, in the order in which they are tried.
NMS_BUGS: dict[str, str] = {
    "greater_equal": "you suppress when IoU >= iou_thresh; the convention is strictly "
    "greater: a box whose IoU equals iou_thresh is kept (use `iou > iou_thresh`).",
    "plus_one": "you compute widths and heights with '+1' (the old integer-pixel "
    "convention); here width = x_max - x_min, so boxes that only touch have IoU 0.",
    "no_clip": "the intersection's width and height are not each clipped at 0, so two "
    "disjoint boxes get a positive 'intersection' (use max(0, x2 - x1) for each side, "
    "before multiplying).",
    "union_no_minus_inter": "your union is area_a + area_b; subtract the intersection "
    "(union = area_a + area_b - inter), otherwise every IoU is too small.",
    "iou_over_min": "you divide the intersection by the smaller box's area instead of "
    "the union (that is the 'intersection over minimum', not IoU).",
    "iou_over_taken": "you divide the intersection by the area of the taken box alone; "
    "IoU divides by the union area_a + area_b - inter.",
    "iou_over_candidate": "you divide the intersection by the area of the other "
    "(remaining) box alone; IoU divides by the union area_a + area_b - inter.",
    "enclosing_box": "min and max are swapped in the intersection: it starts at the "
    "larger x_min (np.maximum) and ends at the smaller x_max (np.minimum).",
    "xywh": "boxes are (x_min, y_min, x_max, y_max): you read the last two columns as "
    "width and height.",
    "no_sort": "you take the boxes in input order: sort them by decreasing score first "
    "(order = np.argsort(-scores)).",
    "ascending": "you process the boxes from the lowest score up: argsort sorts "
    "ascending, so reverse it (np.argsort(-scores) or argsort()[::-1]).",
    "inverted": "the comparison is flipped: you keep the boxes that overlap the taken "
    "box and drop the ones that don't (keep those with IoU <= iou_thresh).",
    "last_kept_only": "you compare each box only with the last kept box; it must be "
    "compared with every box kept so far (or removed as soon as a kept box overlaps it).",
    "single_pass": "only the best box suppresses others: repeat the pass with each kept "
    "box (take the best remaining box, remove its overlaps, and so on).",
    "suppressed_suppress": "a box that was already suppressed still suppresses the boxes "
    "after it: only kept boxes may remove others (skip the removed ones).",
    "inds_no_plus_one": "the IoUs are computed against order[1:], so the surviving "
    "positions are shifted by one: order = order[inds + 1], not order[inds].",
    "drops_last": "your loop stops while one box is still waiting (e.g. `while "
    "len(order) > 1`): the last remaining box must be kept too.",
    "sorted_positions": "you return positions in the score-sorted order instead of "
    "indices into the input: return order[i], not i.",
    "sorted_by_index": "your kept indices are sorted by index; return them in the order "
    "they were kept (decreasing score).",
    "no_suppression": "nothing is ever removed: compute the IoU of the taken box with each "
    "remaining box and drop those above iou_thresh.",
    # -- Mistakes found in public code (each entry below: where the pattern was seen; the
    # variants are written here from the behaviour, not copied).
    # https://github.com/ZQPei/faster_rcnn/blob/04d6c2ef61327d069c4def6037ccb8b01da1aa4d/
    # faster_rcnn/network/nms/nms_cpu_np.py (its first NMS, kept commented out):
    # xx2 = np.maximum(x2[i], ...), yy2 = np.maximum(y2[i], ...).
    "far_corner_max": "the intersection ends at the *smaller* x_max and y_max (np.minimum); "
    "yours takes np.maximum there, so it reaches the far corner of the larger box.",
    # https://github.com/fatihari/artificial-intelligence-and-data-science (its NMS notebook:
    # `idxs = y2`, sorted, the last taken first, when no probabilities are passed); also
    # https://github.com/mollyzyy787/cs229_final_project/blob/HEAD/CS229_final_project_code/
    # nms.m (`s = y2`).
    "sort_by_y2": "you process the boxes by their bottom coordinate y_max (the tutorial code "
    "that sorts by y2 when it has no scores); take them by decreasing score.",
    # https://github.com/sarisamardani/yolo/blob/HEAD/nms.py: the taken box is popped but
    # never kept, no box is ever removed from the candidates, and a box is added as soon
    # as one earlier box overlaps it by less than the threshold.
    "never_removes": "keep the taken box itself, and remove the boxes it suppresses from the "
    "candidates: yours adds every box that *some* earlier box does not overlap, and never "
    "the best one.",
    # https://github.com/Swall0w/clib/blob/HEAD/clib/utils/nms.py: boxes in input order, a
    # box overlapping a later one is dropped after swapping the better of the two forward.
    "swap_scan": "sort the boxes by score and keep the best of each overlapping group: "
    "swapping overlapping boxes in input order and dropping every box that overlaps a later "
    "one is not greedy NMS.",
    # https://github.com/zabaio/robat/blob/HEAD/nms.py (and many copies of the same
    # tutorial): `if np.any(overlap) > overlapThresh`, np.any gives True (1) for any
    # overlap at all, and the scores are never used.
    "any_overlap_removes": "`np.any(overlap) > iou_thresh` compares a boolean with the "
    "threshold: any overlap at all removes a box. Sort by score, and compare each IoU with "
    "iou_thresh (`(iou > iou_thresh).any()`).",
    # https://github.com/smallsunsun1/Cascade-RCNN/blob/HEAD/test/test_py_nms.py (and
    # copies): areas = (x2 - x1 + 1) * (y2 - y2 + 1), the box height typed as y2 - y2.
    "area_height_typo": "the area's height is y_max - y_min: yours subtracts y_max from "
    "itself (a typo, with the old '+1' convention), so every area is a 1-pixel-high strip.",
}

#: Real-code variants with their own IoU (not a :func:`buggy_iou` switch).
_OWN_IOU = ("far_corner_max", "area_height_typo")


def tie_rank(keep, n: int) -> np.ndarray:
    """A processing priority among equal scores that follows the student's answer.

    The student's kept boxes first, in their order, then the others by index:
    greedy NMS processed in this order returns the student's answer whenever
    some order of the tied boxes does (the same argument as the judge's).

    Parameters
    ----------
    keep : sequence of int
        The student's answer; indices outside ``[0, n)`` are ignored.
    n : int
        Number of boxes.

    Returns
    -------
    rank : ndarray, shape (n,), int64
        Smaller is processed first: ``keep[i]`` gets ``i``, any other box
        ``n + index``.

    Examples
    --------
    >>> tie_rank([2, 0], 4).tolist()
    [1, 5, 0, 7]
    """
    rank = np.arange(n, dtype=np.int64) + n
    keep = [int(k) for k in keep if 0 <= int(k) < n]
    rank[keep] = np.arange(len(keep))
    return rank


def buggy_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_thresh: float,
    bug: str,
    rank=None,
    nan_over: bool = False,
) -> list[int]:
    """Greedy NMS with the bug ``bug`` (a key of :data:`NMS_BUGS`).

    Parameters
    ----------
    boxes : ndarray, shape (R, 4)
    scores : ndarray, shape (R,)
    iou_thresh : float
    bug : str
        A key of :data:`NMS_BUGS`; ``''`` runs plain greedy NMS.
    rank : ndarray, shape (R,), optional
        Order among equal scores (lower first), e.g. :func:`tie_rank`;
        default: by index.
    nan_over : bool
        Whether an undefined IoU (0 / 0, two zero-area boxes) suppresses:
        ``iou > t`` says no, ``not iou <= t`` says yes.

    Returns
    -------
    list of int
        What a student's code with that bug returns.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 3., 1.], [1., 0., 4., 1.]])  # IoU = 2 / 4
    >>> buggy_nms(boxes, np.array([0.9, 0.8]), 0.5, "greater_equal")
    [0]
    >>> buggy_nms(boxes, np.array([0.9, 0.8]), 0.5, "union_no_minus_inter")
    [0, 1]
    """
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    rank = np.arange(n) if rank is None else np.asarray(rank)
    if bug == "no_sort":
        order = list(range(n))
    elif bug == "ascending":
        order = np.lexsort((rank, s)).tolist()
    else:
        order = np.lexsort((rank, -s)).tolist()

    if bug == "sort_by_y2":
        order = np.lexsort((rank, -b[:, 3])).tolist()
    if bug in _OWN_IOU:
        iou = _own_iou(b, bug)
    else:
        iou = buggy_iou(b, b, IOU_VARIANTS.get(bug, ""))  # [i, j]: i taken, j candidate
    if bug == "any_overlap_removes":
        return _any_overlap_removes(b, iou_thresh)
    if bug == "greater_equal":
        over = iou >= iou_thresh
    elif bug == "inverted":
        over = iou <= iou_thresh
    elif bug == "no_suppression":
        over = np.zeros_like(iou, dtype=bool)
    else:
        over = iou > iou_thresh
    over = np.where(np.isnan(iou), nan_over, over)  # 0 / 0: either way, as the judge allows

    keep: list[int] = []
    if bug == "never_removes":  # source: `iou < iou_threshold` adds the box
        below = np.where(np.isnan(iou), not nan_over, iou < iou_thresh)
        for p, i in enumerate(order):
            for j in order[p + 1 :]:
                if below[i, j] and j not in keep:
                    keep.append(int(j))
        return keep
    if bug == "swap_scan":
        p = list(range(n))
        for i in range(n):
            overlapped = False
            for j in range(i + 1, n):
                if over[p[i], p[j]]:
                    overlapped = True
                    if s[p[i]] > s[p[j]]:
                        p[i], p[j] = p[j], p[i]
            if not overlapped:
                keep.append(int(p[i]))
        return keep
    if bug == "inds_no_plus_one":  # the vectorised loop of py-faster-rcnn's py_cpu_nms
        rest = np.array(order, dtype=np.int64)
        while rest.size:
            i = int(rest[0])
            keep.append(i)
            inds = np.flatnonzero(~over[i, rest[1:]])
            rest = rest[inds]  # should be rest[inds + 1]
        return keep
    if bug == "single_pass":
        top = order[:1]
        return top + [j for j in order[1:] if not over[top[0], j]]
    if bug == "suppressed_suppress":
        removed = np.zeros(n, dtype=bool)
        for p, i in enumerate(order):
            for j in order[p + 1 :]:
                removed[j] |= bool(over[i, j])
        return [j for j in order if not removed[j]]
    todo = order[:-1] if bug == "drops_last" and order else order
    for j in todo:
        against = keep[-1:] if bug == "last_kept_only" else keep
        if not any(over[i, j] for i in against):
            keep.append(int(j))
    if bug == "sorted_positions":
        return [order.index(k) for k in keep]
    if bug == "sorted_by_index":
        return sorted(keep)
    return keep


def _own_iou(b: np.ndarray, bug: str) -> np.ndarray:
    """(N, N) IoU of the real-code variants ``far_corner_max`` and ``area_height_typo``."""
    x1, y1, x2, y2 = (b[:, k] for k in range(4))
    if bug == "far_corner_max":  # np.maximum for the far corner, clipped at 0
        iw = np.maximum(0.0, np.maximum(x2[:, None], x2) - np.maximum(x1[:, None], x1))
        ih = np.maximum(0.0, np.maximum(y2[:, None], y2) - np.maximum(y1[:, None], y1))
        area = (x2 - x1) * (y2 - y1)
    else:  # area_height_typo, with the source's "+1": height y2 - y2 + 1 = 1
        iw = np.maximum(0.0, np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1) + 1)
        ih = np.maximum(0.0, np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1) + 1)
        area = (x2 - x1 + 1) * (y2 - y2 + 1)
    inter = iw * ih
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area[:, None] + area[None, :] - inter)


def _any_overlap_removes(b: np.ndarray, iou_thresh: float) -> list[int]:
    """The tutorial loop: box i (input order) goes if ``np.any(overlap) > iou_thresh``.

    ``overlap`` is the "+1" intersection over the other remaining boxes' areas; only
    whether any of it is non-zero matters (True is 1, False is 0).
    """
    x1, y1, x2, y2 = (b[:, k] for k in range(4))
    remaining = list(range(len(b)))
    for i in range(len(b)):
        others = np.array([j for j in remaining if j != i], dtype=np.int64)
        w = np.maximum(0.0, np.minimum(x2[i], x2[others]) - np.maximum(x1[i], x1[others]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[others]) - np.maximum(y1[i], y1[others]) + 1)
        if float(bool(np.any(w * h))) > iou_thresh:
            remaining.remove(i)
    return remaining


def reproduces_nms(bug: str, boxes, scores, iou_thresh: float, keep) -> bool:
    """True when the variant ``bug``, ties taken in the student's order, returns ``keep``.

    Parameters
    ----------
    bug : str
        A key of the NMS bug catalogue (:data:`NMS_BUGS`).
    boxes : array_like, shape (R, 4), float
        The case's boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    scores : array_like, shape (R,), float
        The case's scores.
    iou_thresh : float
        The case's threshold.
    keep : sequence of int
        The student's answer on that case.

    Returns
    -------
    bool
        Also True when the variant returns ``keep`` only with ``0 / 0`` IoUs
        between zero-area boxes taken as above the threshold.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 2., 2.], [2., 0., 4., 2.]])  # touching: IoU 0
    >>> reproduces_nms("plus_one", boxes, np.array([0.9, 0.8]), 0.1, [0])
    True
    """
    keep = [int(k) for k in keep]
    # never_removes: the kept boxes are not the ones taken, so they tell nothing of the tie
    # order; its source sorts with Python's stable sorted(): equal scores by index
    rank = None if bug in ("sorted_positions", "never_removes") else tie_rank(keep, len(scores))
    if buggy_nms(boxes, scores, iou_thresh, bug, rank) == keep:
        return True
    b = np.asarray(boxes, dtype=np.float64)
    zero_area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) == 0
    if zero_area.sum() < 2:  # no 0 / 0 IoU: nothing can go the other way
        return False
    return buggy_nms(boxes, scores, iou_thresh, bug, rank, nan_over=True) == keep


def classify_nms(answers: Sequence[tuple[np.ndarray, np.ndarray, float, list[int]]]) -> str:
    """The first bug whose variant reproduces every one of the student's answers.

    Parameters
    ----------
    answers : sequence of (boxes, scores, iou_thresh, student_keep)
        The student's answers (wrong ones, and right ones as further evidence).

    Returns
    -------
    str
        A key of :data:`NMS_BUGS`, or ``''`` when no variant reproduces them all.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 2., 2.], [2., 0., 4., 2.]])  # touching: IoU 0
    >>> classify_nms([(boxes, np.array([0.9, 0.8]), 0.1, [0])])
    'plus_one'
    """
    for bug in NMS_BUGS:
        if answers and all(reproduces_nms(bug, b, s, t, k) for b, s, t, k in answers):
            return bug
    return ""
