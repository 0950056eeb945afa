"""The contracts of the bbox2loc and loc2bbox assignments: what the function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["BBOX2LOC_SIGNATURE", "BBOX2LOC_CONTRACT", "LOC2BBOX_SIGNATURE", "LOC2BBOX_CONTRACT"]

#: The signature as the student writes it.
BBOX2LOC_SIGNATURE = "bbox2loc(src_bbox, dst_bbox)"
#: The contract, one paragraph.
BBOX2LOC_CONTRACT = (
    "src_bbox (reference boxes, e.g. anchors) and dst_bbox (targets) are (R, 4) float "
    "arrays of (x_min, y_min, x_max, y_max) with positive widths and heights. Return the "
    "(R, 4) offsets (t_x, t_y, t_w, t_h) of Faster R-CNN Eq. 2: with centres and sizes "
    "(p_x, p_y, p_w, p_h) of src and (g_x, g_y, g_w, g_h) of dst, t_x = (g_x - p_x) / "
    "p_w, t_y = (g_y - p_y) / p_h, t_w = log(g_w / p_w), t_h = log(g_h / p_h). Width is "
    "x_max - x_min (no +1). R may be 0. "
    "Each entry is accepted within 4 times its float32 error bound (the magnitudes "
    "of the formula's intermediates times 2^-24, propagated: see 'tolerances' below), "
    "so float32 code is fine."
)
#: The signature as the student writes it.
LOC2BBOX_SIGNATURE = "loc2bbox(src_bbox, loc)"
#: The contract, one paragraph.
LOC2BBOX_CONTRACT = (
    "src_bbox is an (R, 4) float array of reference boxes (x_min, y_min, x_max, y_max) "
    "with positive sizes, loc an (R, 4) array of offsets (t_x, t_y, t_w, t_h). Return the"
    " (R, 4) decoded boxes (x_min, y_min, x_max, y_max): centre g_x = p_w t_x + p_x, g_y "
    "= p_h t_y + p_y, size g_w = p_w exp(t_w), g_h = p_h exp(t_h) (the inverse of "
    "bbox2loc). Offsets in the checks stay within |t| <= 3, so no clipping is needed. R "
    "may be 0. "
    "Each entry is accepted within 4 times its float32 error bound (the magnitudes "
    "of the formula's intermediates times 2^-24, propagated: see 'tolerances' below), "
    "so float32 code is fine."
)
