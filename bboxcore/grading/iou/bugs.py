r"""The usual mistakes of a student's pairwise IoU, as runnable variants with their hints.

:func:`buggy_iou` is the textbook IoU with one bug switched on; the NMS and
Soft-NMS catalogues reuse it for their bugs that live in the IoU. The
mistakes are those found in students' code and course forums: the old "+1"
pixel convention (py-faster-rcnn's ``bbox_overlaps``, Bodla's Soft-NMS code),
an unclipped or wrongly clipped intersection, a union without the intersection
subtracted, the intersection over one box's area (or the smaller one), the
enclosing box instead of the intersection (``min``/``max`` swapped), boxes read
as ``(x, y, w, h)``, an integer result array, a missing division. Nothing here
decides whether an answer is right.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IOU_BUGS", "IOU_HINTS", "buggy_iou"]

#: name -> hint of the IoU assignment, in the order they are tried.
IOU_HINTS: dict[str, str] = {
    "plus_one": "you add 1 to widths and heights (the old pixel convention); here "
    "width = x_max - x_min, so touching boxes have IoU 0.",
    "plus_one_area": "your areas use '+1' (x_max - x_min + 1) but the intersection does "
    "not: width = x_max - x_min everywhere, without the old '+1'.",
    "no_clip": "clip the intersection's width and height at 0 (max(0, ...)): two "
    "boxes apart in both x and y get a positive 'intersection' otherwise.",
    "clip_product": "clip the intersection's width and height at 0 each, before "
    "multiplying: max(0, w * h) lets two negative sides make a positive area.",
    "abs_overlap": "the overlap width is max(0, min(x_max) - max(x_min)), not its absolute "
    "value: boxes apart get a positive 'intersection' with abs().",
    "union_no_minus_inter": "the union is area1 + area2 - intersection: you forgot "
    "to subtract the intersection.",
    "iou_over_min": "you divide by the smaller area (intersection over minimum); "
    "IoU divides by the union.",
    "over_area1": "you divide the intersection by the area of boxes1[i] alone; IoU "
    "divides by the union area1 + area2 - intersection.",
    "over_area2": "you divide the intersection by the area of boxes2[j] alone; IoU "
    "divides by the union area1 + area2 - intersection.",
    "enclosing_box": "min and max are swapped: the intersection starts at the larger "
    "x_min (np.maximum) and ends at the smaller x_max (np.minimum); yours is the box "
    "enclosing both.",
    "xywh": "the boxes are (x_min, y_min, x_max, y_max): you read the last two "
    "columns as width and height.",
    "transposed": "entry [i, j] is IoU(boxes1[i], boxes2[j]): your matrix is transposed "
    "(boxes2 along the rows).",
    "integer_result": "your result is rounded down to integers (an int array, or // "
    "division): IoU is a float between 0 and 1.",
    "no_division": "you return the intersection area: divide it by the union.",
}


def buggy_iou(a: np.ndarray, b: np.ndarray, bug: str = "") -> np.ndarray:
    r"""Pairwise IoU of (N, 4) and (M, 4) boxes as the buggy variant ``bug`` computes it.

    Parameters
    ----------
    a : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels; converted to float64.
    b : array_like, shape (M, 4)
        Boxes in the same format.
    bug : str
        ``''`` is the correct IoU; the other values are the keys of
        :data:`IOU_HINTS` (e.g. ``'plus_one'`` adds 1 to every width and
        height, ``'over_area2'`` divides by the area of the box of ``b``). Any
        other string acts as ``''``.

    Returns
    -------
    iou : ndarray, shape (N, M), float64
        What a student's code with that bug computes. 0 / 0 (two zero-area
        boxes) gives NaN, as a student's code would, without a warning.

    Notes
    -----
    With ``bug=''`` this is the textbook
    :math:`\mathrm{IoU} = |A \cap B| / (|A| + |B| - |A \cap B|)`, written
    here again on purpose so that each bug is one switch away from it; the
    grader's reference IoU is :func:`bboxcore.iou.box_iou`.

    Examples
    --------
    >>> a = np.array([[0., 0., 2., 2.]])
    >>> b = np.array([[2., 0., 4., 2.]])  # touching: IoU 0
    >>> buggy_iou(a, b, "plus_one")  # (1 * 3) / (9 + 9 - 3)
    array([[0.2]])
    >>> buggy_iou(a, np.array([[1., 0., 3., 2.]]))  # (1 * 2) / (4 + 4 - 2)
    array([[0.33333333]])
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if bug == "transposed":  # (M, N): boxes2 along the rows
        return buggy_iou(b, a)
    if bug == "xywh":
        a = np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], axis=1)
        b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    plus = 1.0 if bug == "plus_one" else 0.0
    lo, hi = (np.minimum, np.maximum) if bug == "enclosing_box" else (np.maximum, np.minimum)
    iw = hi(a[:, None, 2], b[None, :, 2]) - lo(a[:, None, 0], b[None, :, 0]) + plus  # (N, M)
    ih = hi(a[:, None, 3], b[None, :, 3]) - lo(a[:, None, 1], b[None, :, 1]) + plus
    if bug == "abs_overlap":
        iw, ih = np.abs(iw), np.abs(ih)
    elif bug not in ("no_clip", "clip_product"):
        iw, ih = np.maximum(iw, 0.0), np.maximum(ih, 0.0)
    inter = iw * ih
    if bug == "clip_product":
        inter = np.maximum(inter, 0.0)
    plus_area = 1.0 if bug in ("plus_one", "plus_one_area") else 0.0
    area_a = ((a[:, 2] - a[:, 0] + plus_area) * (a[:, 3] - a[:, 1] + plus_area))[:, None]
    area_b = ((b[:, 2] - b[:, 0] + plus_area) * (b[:, 3] - b[:, 1] + plus_area))[None, :]
    denom = {
        "union_no_minus_inter": lambda: area_a + area_b,
        "iou_over_min": lambda: np.minimum(area_a, area_b),
        "over_area1": lambda: np.broadcast_to(area_a, inter.shape),
        "over_area2": lambda: np.broadcast_to(area_b, inter.shape),
        "no_division": lambda: np.ones_like(inter),
    }.get(bug, lambda: area_a + area_b - inter)()
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / denom
    return np.floor(iou) if bug == "integer_result" else iou


#: name -> (variant(boxes1, boxes2) -> (N, M) array, hint): the catalogue of the IoU assignment.
IOU_BUGS = {
    name: (lambda a, b, bug=name: buggy_iou(a, b, bug), hint) for name, hint in IOU_HINTS.items()
}
