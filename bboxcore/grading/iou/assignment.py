"""The pairwise IoU assignment, graded against :func:`bboxcore.box_iou`.

Contract: :data:`bboxcore.grading.iou.contract.IOU_CONTRACT`; bugs:
:mod:`bboxcore.grading.iou.bugs`. Two
zero-area boxes have an undefined IoU (0 / 0): 0 and NaN are both accepted.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import box_area
from bboxcore.grading._common import near, regime_boxes
from bboxcore.grading.arrays import ArrayAssignment
from bboxcore.grading.iou.bugs import IOU_BUGS
from bboxcore.grading.iou.contract import IOU_CONTRACT, IOU_SIGNATURE
from bboxcore.grading.iou.tolerance import iou_error_bound
from bboxcore.grading.runner import Case, Check
from bboxcore.iou import box_iou

__all__ = ["IouAssignment"]


def _case(boxes1, boxes2, what: str = "") -> Case:
    a = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    return Case((a, b), f"{len(a)} x {len(b)} boxes" + (f" ({what})" if what else ""))


def _edge_identical(rng):
    boxes = [[0, 0, 4, 3], [1, 1, 2, 5], [10, 10, 30, 12]]
    yield _case(boxes, boxes, "identical boxes: IoU 1 on the diagonal")


def _edge_disjoint(rng):
    # touching at an edge or a corner, or apart: intersection 0 either way
    others = [
        [2, 0, 4, 2],
        [0, 2, 2, 4],
        [2, 2, 4, 4],
        [5, 5, 6, 6],
        [3, 3, 4, 4],
        [-3, -3, -1, -1],
    ]
    yield _case([[0, 0, 2, 2]], others, "touching or disjoint boxes")


def _edge_contained(rng):
    # inner box inside the outer one: IoU = 2 * 2 / (4 * 4) = 0.25 (not 1: that is I / min area)
    yield _case([[0, 0, 4, 4]], [[1, 1, 3, 3], [0, 0, 4, 2]], "a box inside another")


def _edge_zero_area(rng):
    yield _case([[1, 1, 1, 3], [2, 2, 2, 2]], [[0, 0, 4, 4], [1, 1, 1, 3]], "zero-area boxes")


def _edge_worked(rng):
    # 50 / (100 + 100 - 50) = 1/3; (5 * 3) / (8 * 8 + 7 * 7 - 5 * 3) = 15 / 98
    yield _case([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30]], "IoU 1/3 and 0")
    yield _case([[0, 0, 8, 8]], [[3, 5, 10, 12]], "IoU 15/98")


class IouAssignment(ArrayAssignment):
    """Pairwise IoU of two sets of boxes.

    Examples
    --------
    >>> IouAssignment().reference(np.array([[0, 0, 10, 10.]]), np.array([[5, 0, 15, 10.]]))
    array([[0.33333333]])
    """

    name = "iou"
    function = "iou"
    signature = IOU_SIGNATURE
    contract = IOU_CONTRACT
    aligned = False
    large = ("300 x 300 boxes within the time limit", 300)
    bugs = IOU_BUGS

    def reference(self, boxes1, boxes2) -> np.ndarray:
        return box_iou(boxes1, boxes2)

    def nan_ok(self, boxes1, boxes2) -> np.ndarray:
        return (box_area(boxes1) == 0)[:, None] & (box_area(boxes2) == 0)[None, :]

    def entry_name(self, idx: tuple) -> str:
        return f"IoU(boxes1[{idx[0]}], boxes2[{idx[1]}])"

    def edge_checks(self) -> list[Check]:
        return [
            Check("identical_boxes", "a box has IoU 1 with itself", _edge_identical),
            Check(
                "touching_edges",
                "touching or disjoint boxes have IoU 0 (no +1, clipped)",
                _edge_disjoint,
            ),
            Check(
                "contained_box",
                "a box inside another: IoU is over the union, not the smaller area",
                _edge_contained,
            ),
            Check(
                "zero_area_boxes",
                "a zero-area box has IoU 0 with a box of positive area",
                _edge_zero_area,
            ),
            Check("worked_values", "the textbook numbers: 1/3, 0 and 15/98", _edge_worked),
        ]

    def empty_cases(self):
        box = [[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 8]]
        yield _case(np.zeros((0, 4)), box, "boxes1 empty: shape (0, 3)")
        yield _case(box, np.zeros((0, 4)), "boxes2 empty: shape (3, 0)")
        yield _case(np.zeros((0, 4)), np.zeros((0, 4)), "both empty: shape (0, 0)")

    def random_case(self, rng: np.random.Generator, n: int, regime: str = "grid") -> Case:
        m = max(1, (2 * n) // 3)
        a = regime_boxes(rng, n, regime)
        return _case(a, near(rng, a, m, regime), f"random, {regime}")

    def shape_hint(self, got: tuple, expected: tuple) -> str:
        if len(got) == 2 and got == expected[::-1]:
            return (
                "the answer is transposed: entry [i, j] is IoU(boxes1[i], boxes2[j]), so "
                "boxes1 goes along the rows and boxes2 along the columns."
            )
        if len(got) == 1:
            return (
                "you return one IoU per row (boxes1[i] with boxes2[i]); return the (N, M) "
                "matrix of every boxes1[i] with every boxes2[j]."
            )
        return f"return the (N, M) matrix, here of shape {expected}; yours has shape {got}."

    def error_bound(self, boxes1, boxes2) -> np.ndarray:
        return iou_error_bound(boxes1, boxes2)

    def strategy(self):
        from hypothesis import strategies as st

        row = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))
        rows = st.lists(row, min_size=1, max_size=3)

        def boxes(r):
            r = np.array(r, dtype=np.float64)
            return np.concatenate([r[:, :2], r[:, :2] + r[:, 2:]], axis=1)

        return st.builds(lambda a, b: _case(boxes(a), boxes(b)), rows, rows)
