"""IoU input checks at their exact bounds (found by the mutation run).

The dtype policy holds in both argument orders, and the coordinate bound that keeps every
area and sum finite is sqrt(max) / 4 of the dtype, inclusive (`bboxcore.iou`).
"""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.iou import box_iou, box_iou_aligned, generalized_box_iou

LIMIT64 = float(np.sqrt(np.finfo(np.float64).max)) / 4


@pytest.mark.parametrize("fn", [box_iou, box_iou_aligned, generalized_box_iou])
def test_float64_wins_in_either_argument_order(fn):
    a = np.array([[0, 0, 3, 3]], np.float32)
    assert fn(a.astype(np.float64), a).dtype == np.float64
    assert fn(a, a.astype(np.float64)).dtype == np.float64


def test_coordinates_up_to_sqrt_max_over_4_are_accepted_inclusive():
    ok = np.array([[-LIMIT64, 0, LIMIT64, 1]])
    assert box_iou(ok, ok)[0, 0] == 1.0
    assert box_iou(ok, [[0.0, 0, 1, 1]])[0, 0] > 0


def test_coordinates_beyond_the_bound_name_the_row():
    just_over = np.nextafter(LIMIT64, np.inf)
    boxes = np.array([[0, 0, 1, 1], [0, 0, LIMIT64, 1], [0, 0, just_over, 1], [0, 0, 1, just_over]])
    with pytest.raises(ValueError, match=r"boxes2 row 2 is too large for IoU arithmetic"):
        box_iou([[0.0, 0, 1, 1]], boxes)
