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


def _ctr(b: np.ndarray, how: str = "") -> np.ndarray:
    """Centres as a student computes them: right, x_min + x_max (no / 2), or w / 2."""
    if how == "sum":
        return b[:, :2] + b[:, 2:]
    if how == "half_width":
        return (b[:, 2:] - b[:, :2]) / 2
    return (b[:, :2] + b[:, 2:]) / 2


def _b2l_centres(src, dst, how):
    loc = bbox2loc(src, dst)
    loc[:, :2] = (_ctr(dst, how) - _ctr(src, how)) / _wh(src)
    return loc


def _b2l_not_normalised(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, :2] *= _wh(src)
    return loc


def _b2l_wh_swapped(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, :2] *= _wh(src) / _wh(src)[:, ::-1]
    return loc


def _b2l_relative_size(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, 2:] = _wh(dst) / _wh(src) - 1
    return loc


def _b2l_log10(src, dst):
    loc = bbox2loc(src, dst)
    loc[:, 2:] /= np.log(10)
    return loc


#: Faster R-CNN's target normalisation (py-faster-rcnn BBOX_NORMALIZE_STDS): not in this contract.
_STDS = np.array([0.1, 0.1, 0.2, 0.2])

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
    "not_normalised": (
        _b2l_not_normalised,
        "t_x = (g_x - p_x) / p_w: divide the centre shift by the reference's width (and t_y "
        "by its height).",
    ),
    "wh_swapped": (
        _b2l_wh_swapped,
        "t_x divides by the reference's width p_w and t_y by its height p_h: yours are swapped.",
    ),
    "centre_no_half": (
        lambda s, d: _b2l_centres(s, d, "sum"),
        "the centre is (x_min + x_max) / 2: the division by 2 is missing.",
    ),
    "centre_half_width": (
        lambda s, d: _b2l_centres(s, d, "half_width"),
        "the centre is x_min + w / 2 = (x_min + x_max) / 2, not (x_max - x_min) / 2 (that is "
        "half the width).",
    ),
    "relative_size": (
        _b2l_relative_size,
        "t_w = log(g_w / p_w); yours is the relative change g_w / p_w - 1.",
    ),
    "log10": (_b2l_log10, "t_w = log(g_w / p_w) with the natural log (np.log), not log10."),
    "std_normalised": (
        lambda s, d: bbox2loc(s, d) / _STDS,
        "this contract has no target normalisation: do not divide by (0.1, 0.1, 0.2, 0.2).",
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


def _l2b_centre(src, loc, how="", scale=None):
    """Decode with the reference centre computed as ``how`` and the shift scaled by ``scale``."""
    wh = _wh(src)
    scale = wh if scale is None else scale
    ctr = _ctr(src, how) + scale * loc[:, :2]
    size = wh * np.exp(loc[:, 2:])
    return np.concatenate([ctr - size / 2, ctr + size / 2], axis=1)


def _l2b_exp_all(src, loc):
    return _l2b_centre(src, np.concatenate([np.exp(loc[:, :2]), loc[:, 2:]], axis=1))


def _l2b_returns_xywh(src, loc):
    out = loc2bbox(src, loc)
    return np.concatenate([out[:, :2], out[:, 2:] - out[:, :2]], axis=1)


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
    "not_scaled": (
        lambda s, t: _l2b_centre(s, t, scale=np.ones_like(_wh(s))),
        "g_x = p_w * t_x + p_x: multiply t_x by the reference's width (t_y by its height).",
    ),
    "wh_swapped": (
        lambda s, t: _l2b_centre(s, t, scale=_wh(s)[:, ::-1]),
        "g_x = p_w * t_x + p_x and g_y = p_h * t_y + p_y: your width and height are swapped.",
    ),
    "corner_as_centre": (
        lambda s, t: _l2b_centre(s, t) - np.tile(_wh(s) / 2, 2),
        "p_x is the centre of the reference box, x_min + p_w / 2, not its corner x_min.",
    ),
    "centre_no_half": (
        lambda s, t: _l2b_centre(s, t, "sum"),
        "the reference centre is (x_min + x_max) / 2: the division by 2 is missing.",
    ),
    "centre_half_width": (
        lambda s, t: _l2b_centre(s, t, "half_width"),
        "the reference centre is (x_min + x_max) / 2, not (x_max - x_min) / 2 (half the width).",
    ),
    "exp_all": (
        _l2b_exp_all,
        "only the sizes use exp: g_x = p_w * t_x + p_x, without exp on t_x and t_y.",
    ),
    "returns_xywh": (
        _l2b_returns_xywh,
        "return the corners (x_min, y_min, x_max, y_max), not (x_min, y_min, width, height).",
    ),
    "std_scaled": (
        lambda s, t: loc2bbox(s, t * _STDS),
        "this contract has no offset normalisation: do not multiply loc by (0.1, 0.1, 0.2, 0.2).",
    ),
}
