"""What each assignment asks the student's function to do, in words.

One place for the contracts: ``bboxcore grade --help`` prints them, the
assignment classes show them in reports, and ``docs/grading.md`` repeats them.
This module imports nothing, so that ``--help`` stays instant.
"""

from __future__ import annotations

__all__ = ["CONTRACTS", "SIGNATURES"]

#: assignment -> the signature the student writes.
SIGNATURES: dict[str, str] = {
    "nms": "nms(boxes, scores, iou_thresh)",
    "iou": "iou(boxes1, boxes2)",
    "bbox2loc": "bbox2loc(src_bbox, dst_bbox)",
    "loc2bbox": "loc2bbox(src_bbox, loc)",
    "soft_nms": "soft_nms(boxes, scores, iou_thresh, sigma, score_thresh, method)",
}

#: assignment -> the contract, one paragraph.
CONTRACTS: dict[str, str] = {
    "nms": (
        "boxes is an (N, 4) float array of (x_min, y_min, x_max, y_max), scores an (N,) "
        "array, iou_thresh a float in [0, 1]. Return the indices (into the input) of the "
        "kept boxes in decreasing score order, as a list or a 1-D integer array. A box is "
        "suppressed when its IoU with a kept, higher-ranked box is greater than iou_thresh "
        "(equal is kept). Width is x_max - x_min (no +1). Boxes with equal scores may be "
        "taken in any order; IoU may be computed in float32 or float64 (an IoU within 1e-6 "
        "of the threshold may go either way, as may two zero-area boxes, whose IoU is 0/0)."
    ),
    "iou": (
        "boxes1 is an (N, 4) and boxes2 an (M, 4) float array of (x_min, y_min, x_max, "
        "y_max). Return the (N, M) array whose [i, j] entry is the IoU of boxes1[i] and "
        "boxes2[j]: intersection area / (area1 + area2 - intersection). Width is "
        "x_max - x_min (no +1); boxes that do not overlap or only touch have IoU 0; a "
        "zero-area box has IoU 0 with any box of positive area (two zero-area boxes: 0 or "
        "NaN). N or M may be 0. Answers within 1e-5 (relative) or 1e-6 (absolute) of the "
        "reference are accepted, so float32 is fine."
    ),
    "bbox2loc": (
        "src_bbox (reference boxes, e.g. anchors) and dst_bbox (targets) are (R, 4) float "
        "arrays of (x_min, y_min, x_max, y_max) with positive widths and heights. Return "
        "the (R, 4) offsets (t_x, t_y, t_w, t_h) of Faster R-CNN Eq. 2: with centres and "
        "sizes (p_x, p_y, p_w, p_h) of src and (g_x, g_y, g_w, g_h) of dst, "
        "t_x = (g_x - p_x) / p_w, t_y = (g_y - p_y) / p_h, t_w = log(g_w / p_w), "
        "t_h = log(g_h / p_h). Width is x_max - x_min (no +1). R may be 0. Tolerance: "
        "1e-5 relative or 1e-5 absolute."
    ),
    "loc2bbox": (
        "src_bbox is an (R, 4) float array of reference boxes (x_min, y_min, x_max, y_max) "
        "with positive sizes, loc an (R, 4) array of offsets (t_x, t_y, t_w, t_h). Return "
        "the (R, 4) decoded boxes (x_min, y_min, x_max, y_max): centre g_x = p_w t_x + p_x, "
        "g_y = p_h t_y + p_y, size g_w = p_w exp(t_w), g_h = p_h exp(t_h) (the inverse of "
        "bbox2loc). Offsets in the checks stay within |t| <= 3, so no clipping is needed. "
        "R may be 0. Tolerance: 1e-5 relative or 1e-4 absolute."
    ),
    "soft_nms": (
        "boxes is an (N, 4) float array of boxes of positive area, scores an (N,) array of "
        "scores >= 0, iou_thresh, sigma and score_thresh floats, method 'linear' or "
        "'gaussian'. Soft-NMS (Bodla et al. 2017, seed 002): a box whose score is at or "
        "below score_thresh is dropped (initial scores included); repeatedly take the "
        "remaining box M of highest current score, then multiply every remaining box's "
        "score by f(IoU(M, b)): linear f = 1 - IoU when IoU > iou_thresh (else 1), "
        "gaussian f = exp(-IoU^2 / sigma) (iou_thresh unused), and drop those now at or "
        "below score_thresh. Return (keep, kept_scores): the indices in the order taken "
        "and each one's score at that moment. Near-equal current scores (within 1e-6) may "
        "be taken in either order; scores are compared within 1e-5 (float32 is fine)."
    ),
}
