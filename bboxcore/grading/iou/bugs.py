"""The usual mistakes of a student's pairwise IoU, as runnable variants with their hints.

:func:`buggy_iou` is the textbook IoU with one bug switched on; the NMS
catalogue (:mod:`bboxcore.grading.nms.bugs`) reuses it for the NMS bugs that
live in the IoU. Nothing here decides whether an answer is right.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IOU_BUGS", "IOU_HINTS", "buggy_iou"]

#: name -> hint of the IoU assignment, in the order they are tried.
IOU_HINTS: dict[str, str] = {
    "plus_one": "you add 1 to widths and heights (the old pixel convention); here "
    "width = x_max - x_min, so touching boxes have IoU 0.",
    "no_clip": "clip the intersection's width and height at 0 (max(0, ...)): two "
    "boxes apart in both x and y get a positive 'intersection' otherwise.",
    "union_no_minus_inter": "the union is area1 + area2 - intersection: you forgot "
    "to subtract the intersection.",
    "iou_over_min": "you divide by the smaller area (intersection over minimum); "
    "IoU divides by the union.",
    "xywh": "the boxes are (x_min, y_min, x_max, y_max): you read the last two "
    "columns as width and height.",
}


def buggy_iou(a: np.ndarray, b: np.ndarray, bug: str = "") -> np.ndarray:
    r"""Pairwise IoU of (N, 4) and (M, 4) boxes as the buggy variant ``bug`` computes it.

    Parameters
    ----------
    a : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels; converted to float64.
    b : array_like, shape (M, 4)
        Boxes in the same format.
    bug : {'', 'plus_one', 'no_clip', 'union_no_minus_inter', 'iou_over_min', 'xywh'}
        ``''`` is the correct IoU; ``'plus_one'`` adds 1 to every width and
        height; ``'no_clip'`` lets the intersection's width and height go
        negative; ``'union_no_minus_inter'`` divides by ``area_a + area_b``;
        ``'iou_over_min'`` by the smaller area; ``'xywh'`` reads columns 2 and
        3 as width and height. Any other string acts as ``''``.

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
    if bug == "xywh":
        a = np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], axis=1)
        b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    plus = 1.0 if bug == "plus_one" else 0.0
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + plus
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + plus
    if bug != "no_clip":
        iw, ih = np.maximum(iw, 0.0), np.maximum(ih, 0.0)
    inter = iw * ih  # (N, M)
    area_a = ((a[:, 2] - a[:, 0] + plus) * (a[:, 3] - a[:, 1] + plus))[:, None]
    area_b = ((b[:, 2] - b[:, 0] + plus) * (b[:, 3] - b[:, 1] + plus))[None, :]
    if bug == "union_no_minus_inter":
        denom = area_a + area_b
    elif bug == "iou_over_min":
        denom = np.minimum(area_a, area_b)
    else:
        denom = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / denom


#: name -> (variant(boxes1, boxes2) -> (N, M) array, hint): the catalogue of the IoU assignment.
IOU_BUGS = {
    name: (lambda a, b, bug=name: buggy_iou(a, b, bug), hint) for name, hint in IOU_HINTS.items()
}
