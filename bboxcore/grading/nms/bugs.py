"""The usual bugs of a student's NMS, as runnable variants, to name the likely one.

Each entry of :data:`NMS_BUGS` is a deliberately *wrong* greedy NMS (no sort,
``>=`` instead of ``>``, "+1" areas, a union without the intersection...) with a
one-line hint. :func:`classify_nms` runs every variant on the cases the
student failed and names the variant whose answers match the student's. The
correct algorithm is :func:`bboxcore.nms.nms`; nothing here is used to decide
whether an answer is right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore.grading.iou.bugs import buggy_iou

__all__ = ["NMS_BUGS", "buggy_nms", "classify_nms"]

#: The bugs that live in the IoU itself (variants of :func:`~bboxcore.grading.iou.bugs.buggy_iou`).
IOU_VARIANTS = ("plus_one", "no_clip", "union_no_minus_inter", "iou_over_min", "xywh")

#: name -> hint, in the order in which ties between matching variants are broken.
NMS_BUGS: dict[str, str] = {
    "greater_equal": "you suppress when IoU >= iou_thresh; the convention is strictly "
    "greater: a box whose IoU equals iou_thresh is kept (use `iou > iou_thresh`).",
    "plus_one": "you compute widths and heights with '+1' (the old integer-pixel "
    "convention); here width = x_max - x_min, so boxes that only touch have IoU 0.",
    "no_clip": "the intersection's width and height are not clipped at 0, so two "
    "disjoint boxes get a positive 'intersection' (use max(0, x2 - x1)).",
    "union_no_minus_inter": "your union is area_a + area_b; subtract the intersection "
    "(union = area_a + area_b - inter), otherwise every IoU is too small.",
    "iou_over_min": "you divide the intersection by the smaller box's area instead of "
    "the union (that is the 'intersection over minimum', not IoU).",
    "no_sort": "you take the boxes in input order: sort them by decreasing score first "
    "(order = np.argsort(-scores)).",
    "ascending": "you process the boxes from the lowest score up: argsort sorts "
    "ascending, so reverse it (np.argsort(-scores) or argsort()[::-1]).",
    "inverted": "the comparison is flipped: you keep the boxes that overlap the taken "
    "box and drop the ones that don't (keep those with IoU <= iou_thresh).",
    "last_kept_only": "you compare each box only with the last kept box; it must be "
    "compared with every box kept so far (or removed as soon as a kept box overlaps it).",
    "sorted_positions": "you return positions in the score-sorted order instead of "
    "indices into the input: return order[i], not i.",
    "sorted_by_index": "your kept indices are sorted by index; return them in the order "
    "they were kept (decreasing score).",
    "no_suppression": "nothing is ever removed: compute the IoU of the taken box with each "
    "remaining box and drop those above iou_thresh.",
}


def buggy_nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float, bug: str) -> list[int]:
    """Greedy NMS with the bug ``bug`` (a key of :data:`NMS_BUGS`), ties by lower index.

    Parameters
    ----------
    boxes : ndarray, shape (R, 4)
    scores : ndarray, shape (R,)
    iou_thresh : float
    bug : str

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
    if bug == "no_sort":
        order = list(range(len(s)))
    elif bug == "ascending":
        order = list(np.argsort(s, kind="stable"))
    else:
        order = list(np.argsort(-s, kind="stable"))

    iou = buggy_iou(b, b, bug if bug in IOU_VARIANTS else "")
    if bug == "greater_equal":
        over = iou >= iou_thresh
    elif bug == "inverted":
        over = iou <= iou_thresh
    elif bug == "no_suppression":
        over = np.zeros_like(iou, dtype=bool)
    else:
        over = iou > iou_thresh  # NaN (two zero-area boxes) is never over

    keep: list[int] = []
    for j in order:
        against = keep[-1:] if bug == "last_kept_only" else keep
        if not any(over[i, j] for i in against):
            keep.append(int(j))
    if bug == "sorted_positions":
        return [order.index(k) for k in keep]
    if bug == "sorted_by_index":
        return sorted(keep)
    return keep


def classify_nms(answers: Sequence[tuple[np.ndarray, np.ndarray, float, list[int]]]) -> str:
    """The name of the bug whose variant reproduces the student's wrong answers best.

    Parameters
    ----------
    answers : sequence of (boxes, scores, iou_thresh, student_keep)
        Cases the student got wrong, the most telling (smallest) first.

    Returns
    -------
    str
        A key of :data:`NMS_BUGS`, or ``''`` when no variant reproduces the first case.

    Examples
    --------
    >>> boxes = np.array([[0., 0., 2., 2.], [2., 0., 4., 2.]])  # touching: IoU 0
    >>> classify_nms([(boxes, np.array([0.9, 0.8]), 0.1, [0])])
    'plus_one'
    """
    best, best_score = "", 0.0
    for bug in NMS_BUGS:
        score = 0.0
        for k, (boxes, scores, t, keep) in enumerate(answers):
            got = buggy_nms(boxes, scores, t, bug)
            match = 1.0 if got == list(keep) else 0.5 if sorted(got) == sorted(keep) else 0.0
            if k == 0 and match < 1.0:
                score = -1.0
                break
            score += match
        if score > best_score:
            best, best_score = bug, score
    return best
