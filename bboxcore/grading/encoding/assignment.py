r"""The box-encoding assignments, graded against :mod:`bboxcore.encoding`.

``bbox2loc(src_bbox, dst_bbox)`` and ``loc2bbox(src_bbox, loc)``: Faster
R-CNN Eq. 2 (seed 000; seed 002, C2.2.1), offsets ``(t_x, t_y, t_w, t_h)`` in
x-first order. The bug variants are built from the reference with the usual
slip applied (axes swapped, no log, +1 widths...), so the formula itself lives
only in :mod:`bboxcore.encoding`.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import xyxy_to_cxcywh
from bboxcore.encoding import bbox2loc, loc2bbox
from bboxcore.grading.assign_arrays import ArrayAssignment, _grid_boxes
from bboxcore.grading.contracts import CONTRACTS, SIGNATURES
from bboxcore.grading.runner import Case, Check

__all__ = ["Bbox2locAssignment", "Loc2bboxAssignment"]

#: Random offsets stay within this bound (far below LOC_CLIP = log(1000/16) = 4.1).
LOC_MAX = 3.0
_PLUS_ONE = np.array([0.0, 0.0, 1.0, 1.0])
_YX = [1, 0, 3, 2]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1, 4)


def _xywh_read(b: np.ndarray) -> np.ndarray:
    """Boxes as a student reading columns 2, 3 as width and height would see them."""
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def _wh(b: np.ndarray) -> np.ndarray:
    return b[:, 2:] - b[:, :2]


def _positive(rng, n):
    return _grid_boxes(rng, n, side=8.0 * np.sqrt(max(n, 1)), min_size=1.0)


# --------------------------------------------------------------------------- bbox2loc
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


_B2L_BUGS = {
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
        lambda s, d: bbox2loc(_xywh_read(s), _xywh_read(d)),
        "the boxes are (x_min, y_min, x_max, y_max): you read columns 2 and 3 as width and height.",
    ),
}


class Bbox2locAssignment(ArrayAssignment):
    """Encode target boxes as offsets from reference boxes (Faster R-CNN Eq. 2)."""

    name = "bbox2loc"
    function = "bbox2loc"
    signature = SIGNATURES["bbox2loc"]
    contract = CONTRACTS["bbox2loc"]
    atol = 1e-5
    large = ("10000 box pairs within the time limit", 10_000)
    bugs = _B2L_BUGS

    def reference(self, src_bbox, dst_bbox) -> np.ndarray:
        return bbox2loc(src_bbox, dst_bbox)

    def entry_name(self, idx: tuple) -> str:
        return f"loc[{idx[0]}] {('t_x', 't_y', 't_w', 't_h')[idx[1]]}"

    def random_case(self, rng: np.random.Generator, n: int) -> Case:
        src = _positive(rng, n)
        dst = _positive(rng, n)
        return Case((src, dst), f"{n} box pairs (random)")

    def edge_checks(self) -> list[Check]:
        def identical(rng):
            src = _arr([[0, 0, 10, 20], [3, 4, 5, 9]])
            yield Case((src, src.copy()), "dst = src: all offsets 0")

        def worked(rng):
            # seed 000: t_x = (10 - 5) / 10 = 0.5, t_w = log(20 / 10) = log 2
            yield Case((_arr([[0, 0, 10, 20]]), _arr([[0, 0, 20, 20]])), "t_x = 0.5, t_w = log 2")
            # t_y = (7 - 5) / 10 = 0.2, t_h = log(4 / 10)
            yield Case((_arr([[0, 0, 4, 10]]), _arr([[0, 5, 4, 9]])), "t_y = 0.2, t_h = log 0.4")

        def shifted(rng):
            src = _arr([[0, 0, 10, 20], [0, 0, 10, 20]])
            yield Case(
                (src, src + [[5, 0, 5, 0], [0, 10, 0, 10]]), "pure shifts: t_x = 0.5, t_y = 0.5"
            )

        return [
            Check("identical_boxes", "a box encoded against itself gives (0, 0, 0, 0)", identical),
            Check(
                "worked_values", "the slide's numbers (seed 000): t_x = 0.5, t_w = log 2", worked
            ),
            Check(
                "shifts",
                "a shift by half the width is t_x = 0.5, sizes unchanged give t_w = 0",
                shifted,
            ),
        ]

    def strategy(self):
        from hypothesis import strategies as st

        row = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))
        pairs = st.lists(st.tuples(row, row), min_size=1, max_size=3)

        def build(p):
            r = np.array(p, dtype=np.float64)  # (R, 2, 4)
            src, dst = _xywh_read(r[:, 0]), _xywh_read(r[:, 1])
            return Case((src, dst), f"{len(src)} box pairs")

        return pairs.map(build)


# --------------------------------------------------------------------------- loc2bbox
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


_L2B_BUGS = {
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


class Loc2bboxAssignment(ArrayAssignment):
    """Decode offsets into boxes (the inverse of bbox2loc)."""

    name = "loc2bbox"
    function = "loc2bbox"
    signature = SIGNATURES["loc2bbox"]
    contract = CONTRACTS["loc2bbox"]
    atol = 1e-4
    large = ("10000 boxes within the time limit", 10_000)
    bugs = _L2B_BUGS

    def reference(self, src_bbox, loc) -> np.ndarray:
        return loc2bbox(src_bbox, loc)

    def entry_name(self, idx: tuple) -> str:
        return f"box[{idx[0]}] {('x_min', 'y_min', 'x_max', 'y_max')[idx[1]]}"

    def random_case(self, rng: np.random.Generator, n: int) -> Case:
        src = _positive(rng, n)
        loc = rng.integers(-16 * LOC_MAX, 16 * LOC_MAX + 1, size=(n, 4)) / 16.0
        return Case((src, loc), f"{n} boxes (random)")

    def edge_checks(self) -> list[Check]:
        def zero(rng):
            yield Case(
                (_arr([[0, 0, 10, 20], [3, 4, 5, 9]]), np.zeros((2, 4))), "loc = 0: the boxes back"
            )

        def worked(rng):
            # seed 000: G_x = P_w d_x + P_x = 10 * 0.5 + 5 = 10, G_w = P_w exp(log 2) = 20
            yield Case((_arr([[0, 0, 10, 20]]), _arr([[0.5, 0, np.log(2), 0]])), "width doubled")

        def round_trip(rng):
            src, dst = _positive(rng, 6), _positive(rng, 6)
            yield Case((src, bbox2loc(src, dst)), "loc = bbox2loc(src, dst): gives dst back")

        return [
            Check("zero_offsets", "loc = (0, 0, 0, 0) gives the reference boxes back", zero),
            Check(
                "worked_values", "the slide's numbers (seed 000): t_x = 0.5, t_w = log 2", worked
            ),
            Check("inverts_bbox2loc", "loc2bbox(src, bbox2loc(src, dst)) = dst", round_trip),
        ]

    def strategy(self):
        from hypothesis import strategies as st

        box = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))
        offset = st.tuples(*[st.integers(-8, 8)] * 4)
        rows = st.lists(st.tuples(box, offset), min_size=1, max_size=3)

        def build(r):
            src = _xywh_read(np.array([b for b, _ in r], dtype=np.float64))
            loc = np.array([t for _, t in r], dtype=np.float64) / 4.0
            return Case((src, loc), f"{len(src)} boxes")

        return rows.map(build)
