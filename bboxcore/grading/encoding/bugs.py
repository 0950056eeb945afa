"""The usual mistakes of a student's ``bbox2loc`` and ``loc2bbox``, as variants with hints.

Each variant is the reference (:mod:`bboxcore.encoding`) with the usual slip
applied (axes swapped, no log, +1 widths...), so the formula itself lives only
in :mod:`bboxcore.encoding`. Nothing here decides whether an answer is right.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import xyxy_to_cxcywh
from bboxcore.encoding import bbox2loc, loc2bbox
from bboxcore.grading._common import xywh_read

__all__ = ["BBOX2LOC_BUGS", "LOC2BBOX_BUGS"]

_PLUS_ONE = np.array([0.0, 0.0, 1.0, 1.0])
_YX = [1, 0, 3, 2]


def _wh(b: np.ndarray) -> np.ndarray:
    return b[:, 2:] - b[:, :2]


def _b2l_corners(src, dst):
    """t_x from the top-left corners instead of the centres."""
    loc = bbox2loc(src, dst)
    loc[:, :2] = (dst[:, :2] - src[:, :2]) / _wh(src)
    return loc


def _b2l_divide_by_dst(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, :2] *= _wh(src) / _wh(dst)
    return loc


def _b2l_no_log(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, 2:] = np.exp(loc[:, 2:])
    return loc


#: name -> (variant(src_bbox, dst_bbox), hint), in the order they are tried.
BBOX2LOC_BUGS = {
    "yx_order": (
        lambda s, d: bbox2loc(s, d)[:, _YX],
        "the offsets are x first: (t_x, t_y, t_w, t_h); yours come out as (t_y, t_x, t_h, t_w).",
    ),
    "swapped_args": (
        lambda s, d: bbox2loc(d, s),
        "src_bbox is the reference (anchor) and dst_bbox the target: you swapped them.",
    ),
    "no_log": (_b2l_no_log, "t_w = log(g_w / p_w): the log is missing."),
    "inverted_ratio": (
        lambda s, d: bbox2loc(s, d) * np.array([1, 1, -1, -1]),
        "t_w = log(g_w / p_w), target over reference: your ratio is upside down.",
    ),
    "divide_by_dst": (
        _b2l_divide_by_dst,
        "t_x = (g_x - p_x) / p_w divides by the reference's width, not the target's.",
    ),
    "corners": (
        _b2l_corners,
        "t_x and t_y use the box centres, x_min + w / 2, not the corners.",
    ),
    "plus_one": (
        lambda s, d: bbox2loc(s + _PLUS_ONE, d + _PLUS_ONE),
        "width = x_max - x_min here, without the old '+1'.",
    ),
    "xywh": (
        lambda s, d: bbox2loc(xywh_read(s), xywh_read(d)),
        "the boxes are (x_min, y_min, x_max, y_max): you read columns 2 and 3 as width and height.",
    ),
}


def _l2b_no_exp(src, loc):
    c = xyxy_to_cxcywh(src)
    ctr = c[:, :2] + c[:, 2:] * loc[:, :2]
    size = c[:, 2:] * loc[:, 2:]
    return np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)


def _l2b_no_centre(src, loc):
    """The decoded centre forgets + p_x, p_y."""
    out = loc2bbox(src, loc)
    c = xyxy_to_cxcywh(src)
    return out - np.concatenate([c[:, :2], c[:, :2]], axis=1)


def _l2b_full_size(src, loc):
    """x_min = g_x - g_w instead of g_x - g_w / 2."""
    c = xyxy_to_cxcywh(loc2bbox(src, loc))
    return np.concatenate([c[:, :2] - c[:, 2:], c[:, :2] + c[:, 2:]], axis=1)


#: name -> (variant(src_bbox, loc), hint), in the order they are tried.
LOC2BBOX_BUGS = {
    "returns_centres": (
        lambda s, t: xyxy_to_cxcywh(loc2bbox(s, t)),
        "return the corners (g_x - g_w / 2, g_y - g_h / 2, g_x + g_w / 2, g_y + g_h / 2), "
        "not (g_x, g_y, g_w, g_h).",
    ),
    "yx_order": (
        lambda s, t: loc2bbox(s, t[:, _YX]),
        "loc is x first: (t_x, t_y, t_w, t_h); you read it as (t_y, t_x, t_h, t_w).",
    ),
    "no_exp": (_l2b_no_exp, "g_w = p_w * exp(t_w): the exp is missing."),
    "no_centre": (_l2b_no_centre, "g_x = p_w * t_x + p_x: you forgot to add the reference centre."),
    "full_size": (
        _l2b_full_size,
        "x_min = g_x - g_w / 2: the corners are half a width from the centre.",
    ),
    "plus_one": (
        lambda s, t: loc2bbox(s + _PLUS_ONE, t),
        "width = x_max - x_min here, without the old '+1'.",
    ),
}
