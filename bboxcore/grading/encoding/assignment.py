r"""The box-encoding assignments, graded against :mod:`bboxcore.encoding`.

``bbox2loc(src_bbox, dst_bbox)`` and ``loc2bbox(src_bbox, loc)``: Faster
R-CNN Eq. 2 (slides *Object Detection – BBOX Regression*; deck *Detection – 3
stages*, §C2.2.1), offsets ``(t_x, t_y, t_w, t_h)`` in x-first order.
The bug catalogue is :mod:`bboxcore.grading.encoding.bugs`.
"""

from __future__ import annotations

import numpy as np

from bboxcore.encoding import bbox2loc, loc2bbox
from bboxcore.grading._common import grid_boxes, jittered, regime_boxes, xywh_read
from bboxcore.grading.arrays import ArrayAssignment
from bboxcore.grading.encoding.bugs import BBOX2LOC_BUGS, LOC2BBOX_BUGS
from bboxcore.grading.encoding.contract import (
    BBOX2LOC_CONTRACT,
    BBOX2LOC_SIGNATURE,
    LOC2BBOX_CONTRACT,
    LOC2BBOX_SIGNATURE,
)
from bboxcore.grading.encoding.tolerance import bbox2loc_error_bound, loc2bbox_error_bound
from bboxcore.grading.runner import Case, Check

__all__ = ["Bbox2locAssignment", "Loc2bboxAssignment"]

#: Random offsets stay within this bound (far below LOC_CLIP = log(1000/16) = 4.1).
LOC_MAX = 3.0


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1, 4)


def _positive(rng, n):
    return grid_boxes(rng, n, side=8.0 * np.sqrt(max(n, 1)), min_size=1.0)


# --------------------------------------------------------------------------- bbox2loc
class Bbox2locAssignment(ArrayAssignment):
    """Encode target boxes as offsets from reference boxes (Faster R-CNN Eq. 2).

    Examples
    --------
    A box shifted by half its width: :math:`t_x = (g_x - p_x) / p_w = 5 / 10`.

    >>> src, dst = np.array([[0, 0, 10, 10.]]), np.array([[5, 0, 15, 10.]])
    >>> Bbox2locAssignment().reference(src, dst).tolist()
    [[0.5, 0.0, 0.0, 0.0]]
    """

    name = "bbox2loc"
    function = "bbox2loc"
    signature = BBOX2LOC_SIGNATURE
    contract = BBOX2LOC_CONTRACT
    large = ("10000 box pairs within the time limit", 10_000)
    bugs = BBOX2LOC_BUGS

    def reference(self, src_bbox, dst_bbox) -> np.ndarray:
        return bbox2loc(src_bbox, dst_bbox)

    def entry_name(self, idx: tuple) -> str:
        return f"loc[{idx[0]}] {('t_x', 't_y', 't_w', 't_h')[idx[1]]}"

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        src = regime_boxes(rng, n, regime, min_size=1.0)
        if regime == "grid":
            dst = _positive(rng, n)
        else:  # targets near their references, as anchors and ground truth are
            dst = jittered(rng, src)
        return Case((src, dst), f"{n} box pairs (random, {regime})")

    def valid(self, case: Case) -> bool:
        return all(bool((b[:, 2:] > b[:, :2]).all()) for b in case.args)

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        return (
            f"return one row (t_x, t_y, t_w, t_h) per pair of src_bbox and dst_bbox rows: "
            f"shape {expected}; yours has shape {got}."
        )

    def error_bound(self, src_bbox, dst_bbox) -> np.ndarray:
        return bbox2loc_error_bound(src_bbox, dst_bbox)

    def edge_checks(self) -> list[Check]:
        def identical(rng):
            src = _arr([[0, 0, 10, 20], [3, 4, 5, 9]])
            yield Case((src, src.copy()), "dst = src: all offsets 0")

        def worked(rng):
            # BBOX Regression slides: t_x = (10 - 5) / 10 = 0.5, t_w = log(20 / 10) = log 2
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
            Check("worked_values", "the slide's numbers: t_x = 0.5, t_w = log 2", worked),
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
            src, dst = xywh_read(r[:, 0]), xywh_read(r[:, 1])
            return Case((src, dst), f"{len(src)} box pairs")

        return pairs.map(build)


# --------------------------------------------------------------------------- loc2bbox
class Loc2bboxAssignment(ArrayAssignment):
    """Decode offsets into boxes (the inverse of bbox2loc).

    Examples
    --------
    >>> src = np.array([[0, 0, 10, 10.]])
    >>> Loc2bboxAssignment().reference(src, np.array([[0.5, 0, 0, 0]])).tolist()
    [[5.0, 0.0, 15.0, 10.0]]
    """

    name = "loc2bbox"
    function = "loc2bbox"
    signature = LOC2BBOX_SIGNATURE
    contract = LOC2BBOX_CONTRACT
    large = ("10000 boxes within the time limit", 10_000)
    bugs = LOC2BBOX_BUGS

    def reference(self, src_bbox, loc) -> np.ndarray:
        return loc2bbox(src_bbox, loc)

    def entry_name(self, idx: tuple) -> str:
        return f"box[{idx[0]}] {('x_min', 'y_min', 'x_max', 'y_max')[idx[1]]}"

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        src = regime_boxes(rng, n, regime, min_size=1.0)
        if regime == "grid":
            loc = rng.integers(-16 * LOC_MAX, 16 * LOC_MAX + 1, size=(n, 4)) / 16.0
        else:
            loc = rng.uniform(-LOC_MAX, LOC_MAX, size=(n, 4))
        return Case((src, loc), f"{n} boxes (random, {regime})")

    def valid(self, case: Case) -> bool:
        src, loc = case.args
        return bool((src[:, 2:] > src[:, :2]).all() and (np.abs(loc) <= LOC_MAX).all())

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        return (
            f"return one box (x_min, y_min, x_max, y_max) per row of src_bbox and loc: "
            f"shape {expected}; yours has shape {got}."
        )

    def error_bound(self, src_bbox, loc) -> np.ndarray:
        return loc2bbox_error_bound(src_bbox, loc)

    def edge_checks(self) -> list[Check]:
        def zero(rng):
            yield Case(
                (_arr([[0, 0, 10, 20], [3, 4, 5, 9]]), np.zeros((2, 4))), "loc = 0: the boxes back"
            )

        def worked(rng):
            # BBOX Regression slides: G_x = P_w d_x + P_x = 10 * 0.5 + 5 = 10, G_w = 20
            yield Case((_arr([[0, 0, 10, 20]]), _arr([[0.5, 0, np.log(2), 0]])), "width doubled")

        def round_trip(rng):
            src, dst = _positive(rng, 6), _positive(rng, 6)
            yield Case((src, bbox2loc(src, dst)), "loc = bbox2loc(src, dst): gives dst back")

        return [
            Check("zero_offsets", "loc = (0, 0, 0, 0) gives the reference boxes back", zero),
            Check("worked_values", "the slide's numbers: t_x = 0.5, t_w = log 2", worked),
            Check("inverts_bbox2loc", "loc2bbox(src, bbox2loc(src, dst)) = dst", round_trip),
        ]

    def strategy(self):
        from hypothesis import strategies as st

        box = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))
        offset = st.tuples(*[st.integers(-8, 8)] * 4)
        rows = st.lists(st.tuples(box, offset), min_size=1, max_size=3)

        def build(r):
            src = xywh_read(np.array([b for b, _ in r], dtype=np.float64))
            loc = np.array([t for _, t in r], dtype=np.float64) / 4.0
            return Case((src, loc), f"{len(src)} boxes")

        return rows.map(build)
