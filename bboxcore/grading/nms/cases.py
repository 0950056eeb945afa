"""The NMS assignment's checks: hand-built edge cases, seeded random cases, the search.

Every coordinate is a multiple of 1/4 below 2**8, so widths, areas,
intersections and unions are exact in float32 and float64 alike: only the
final division rounds, and a pair built to sit exactly at the threshold
(IoU = 2/4 at 0.5) is at it in every arithmetic a student may use.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading.runner import Case, Check

__all__ = ["LARGE_N", "SEARCH_MAX_BOXES", "nms_checks", "nms_search_cases", "random_case"]

#: Boxes in the large input (a plain Python double loop takes well under a second).
LARGE_N = 1000
#: Largest case of the hypothesis search.
SEARCH_MAX_BOXES = 6
#: Thresholds of the search, the first one preferred when shrinking.
SEARCH_THRESHOLDS = (0.5, 0.3, 0.7, 0.0, 1.0, 0.25)
#: Sizes of the random cases, two cases each.
RANDOM_SIZES = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 200)
RANDOM_THRESHOLDS = (0.5, 0.3, 0.7, 0.1, 0.9)
#: Random coordinates are multiples of GRID pixels.
GRID = 0.25


def _case(boxes, scores, t: float, what: str = "") -> Case:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64)
    note = f"{len(s)} box{'es' * (len(s) != 1)}, iou_thresh={t:g}" + (f" ({what})" if what else "")
    return Case((b, s, float(t)), note)


# --------------------------------------------------------------------------- edge cases
def _basic(rng):
    # IoU(0, 1) = 9 * 9 / (100 + 100 - 81) = 81/119 > 0.5: box 1 goes
    yield _case([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], [0.9, 0.8, 0.7], 0.5)


def _unsorted(rng):
    # IoU(2, 0) = (3 * 4) / (16 + 16 - 12) = 0.6; box 2 outranks box 0, so 0 goes: [3, 1, 2]
    yield _case(
        [[0, 0, 4, 4], [10, 0, 14, 4], [1, 0, 5, 4], [20, 0, 24, 4]], [0.1, 0.4, 0.3, 0.9], 0.5
    )
    yield _case(
        [[0, 0, 4, 4], [1, 0, 5, 4], [30, 0, 34, 4], [2, 0, 6, 4], [31, 0, 35, 4], [60, 0, 64, 4]],
        [0.3, 0.6, 0.2, 0.9, 0.8, 0.1],
        0.3,
    )


def _empty(rng):
    yield _case(np.zeros((0, 4)), np.zeros(0), 0.5, "no boxes")


def _single(rng):
    for t in (0.5, 0.0, 1.0):
        yield _case([[2, 3, 7, 9]], [0.6], t)


def _identical(rng):
    box = [1, 1, 5, 4]
    for t in (0.5, 0.0, 0.99, 1.0):  # IoU = 1: all but the best go, except at 1 (1 > 1 is false)
        yield _case([box] * 4, [0.2, 0.9, 0.5, 0.7], t, "identical boxes")


def _ties(rng):
    yield _case([[0, 0, 2, 2], [5, 0, 7, 2], [10, 0, 12, 2]], [0.5, 0.5, 0.5], 0.5, "equal scores")
    yield _case([[0, 0, 4, 1], [1, 0, 5, 1]], [0.7, 0.7], 0.5, "equal scores")
    # A chain: IoU(0, 1) = IoU(1, 2) = 3/5, IoU(0, 2) = 2/6: {0, 2} or {1} both greedy
    yield _case([[0, 0, 4, 1], [1, 0, 5, 1], [2, 0, 6, 1]], [0.4, 0.4, 0.4], 0.5, "equal scores")
    yield _case(
        [[0, 0, 4, 1], [1, 0, 5, 1], [2, 0, 6, 1], [9, 0, 13, 1], [0, 0, 4, 1]],
        [0.4, 0.4, 0.4, 0.9, 0.4],
        0.5,
        "equal scores",
    )


def _zero_area(rng):
    boxes = [[2, 2, 2, 6], [0, 0, 8, 8], [3, 3, 7, 3], [5, 5, 5, 5], [20, 20, 24, 24]]
    for t in (0.0, 0.5):  # zero area: IoU 0 with every box, so never suppressed
        yield _case(boxes, [0.9, 0.8, 0.7, 0.6, 0.5], t, "zero-area boxes")
    yield _case([[0, 0, 4, 4], [1, 1, 1, 3], [0, 0, 4, 4]], [0.5, 0.9, 0.3], 0.5, "zero-area boxes")


def _touching(rng):
    boxes = [[0, 0, 2, 2], [2, 0, 4, 2], [0, 2, 2, 4], [2, 2, 4, 4]]
    for t in (0.0, 0.5):  # they share an edge or a corner: intersection 0
        yield _case(boxes, [0.9, 0.8, 0.7, 0.6], t, "touching boxes")


def _exact(rng):
    # Built so that I / U is exactly the threshold: kept, since only IoU > t suppresses.
    yield _case([[0, 0, 3, 1], [1, 0, 4, 1]], [0.9, 0.8], 0.5, "IoU = 2/4 exactly")
    yield _case([[0, 0, 5, 1], [3, 0, 8, 1]], [0.9, 0.8], 0.25, "IoU = 2/8 exactly")
    yield _case([[0, 0, 7, 1], [1, 0, 8, 1]], [0.8, 0.9], 0.75, "IoU = 6/8 exactly")
    yield _case([[0, 0, 2, 2], [0, 1, 2, 4]], [0.9, 0.8], 0.25, "IoU = 2/8 exactly")
    yield _case([[0, 0, 4, 1], [1, 0, 5, 1]], [0.9, 0.8], 0.5, "IoU = 3/5, just above")


def _thresholds(rng):
    boxes = [
        [0, 0, 10, 10],
        [1, 1, 11, 11],
        [3, 0, 13, 10],
        [8, 8, 18, 18],
        [0, 0, 5, 10],
        [30, 30, 40, 40],
    ]
    scores = [0.9, 0.75, 0.8, 0.6, 0.7, 0.5]
    for t in (0.0, 0.3, 0.5, 0.7, 1.0):
        yield _case(boxes, scores, t)


def random_case(rng: np.random.Generator, n: int, t: float, what: str = "random") -> Case:
    """n random boxes on the 1/4-pixel grid, in an image that grows with n, tied scores.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness (the check's seeded generator).
    n : int
        Number of boxes.
    t : float
        ``iou_thresh`` of the case.
    what : str
        Appended to the case's note, in parentheses.

    Returns
    -------
    Case
        ``args = (boxes, scores, t)``: boxes float64 ``(n, 4)`` in pixels,
        widths and heights in ``[0, 16)`` (zero-area boxes included), scores
        float64 ``(n,)`` multiples of 1/20 (ties likely).

    Examples
    --------
    >>> case = random_case(np.random.default_rng(0), 3, 0.5)
    >>> case.note, case.args[0].shape, case.args[2]
    ('3 boxes, iou_thresh=0.5 (random)', (3, 4), 0.5)
    """
    side = 16.0 * np.sqrt(n)
    xy = rng.integers(0, int(side / GRID), size=(n, 2)) * GRID
    wh = rng.integers(0, int(16 / GRID), size=(n, 2)) * GRID
    scores = rng.integers(1, 20, size=n) / 20.0
    return _case(np.concatenate([xy, xy + wh], axis=1), scores, t, what)


def _random(rng):
    k = 0
    for n in RANDOM_SIZES:
        for _ in range(2):
            yield random_case(rng, n, RANDOM_THRESHOLDS[k % len(RANDOM_THRESHOLDS)])
            k += 1


def _large(rng):
    centres = rng.integers(0, 4000, size=(LARGE_N // 20, 2)) * GRID
    size = rng.integers(40, 200, size=(LARGE_N // 20, 2)) * GRID
    jitter = rng.integers(-24, 25, size=(LARGE_N // 20, 20, 4)) * GRID
    base = np.concatenate([centres, centres + size], axis=1)
    boxes = (base[:, None, :] + jitter).reshape(-1, 4)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
    yield _case(boxes, rng.integers(1, 1000, size=LARGE_N) / 1000.0, 0.5, "large input")


def nms_checks(a) -> list[Check]:
    """The NMS checks, in the order they are run and reported.

    Parameters
    ----------
    a : NmsAssignment
        The assignment whose judges some checks use (``judge_returns_indices``,
        ``judge_index_type``, ``judge_inputs``).

    Returns
    -------
    list of Check

    Examples
    --------
    >>> from bboxcore.grading import ASSIGNMENTS
    >>> [c.name for c in nms_checks(ASSIGNMENTS["nms"])][:4]
    ['returns_indices', 'index_type', 'inputs_unchanged', 'empty_input']
    """
    return [
        Check(
            "returns_indices",
            "returns indices into the input, not boxes or a mask",
            _basic,
            a.judge_returns_indices,
        ),
        Check(
            "index_type",
            "a list or 1-D integer array of distinct indices in [0, N)",
            _unsorted,
            a.judge_index_type,
        ),
        Check(
            "inputs_unchanged",
            "boxes and scores are not modified in place",
            _unsorted,
            a.judge_inputs,
        ),
        Check("empty_input", "no boxes (shape (0, 4)) gives an empty result", _empty),
        Check("single_box", "one box is always kept", _single),
        Check(
            "identical_boxes",
            "of identical boxes only the best-scored is kept (unless iou_thresh = 1)",
            _identical,
        ),
        Check(
            "score_ties", "equal scores: any order consistent with greedy NMS is accepted", _ties
        ),
        Check(
            "zero_area_boxes",
            "a zero-area box has IoU 0 with any box, so it is never suppressed",
            _zero_area,
        ),
        Check(
            "touching_edges",
            "boxes sharing only an edge have IoU 0: all kept, even at iou_thresh = 0",
            _touching,
        ),
        Check(
            "exact_threshold",
            "IoU exactly equal to iou_thresh is kept: suppress only when IoU > iou_thresh",
            _exact,
        ),
        Check("thresholds", "the same boxes at iou_thresh = 0, 0.3, 0.5, 0.7 and 1", _thresholds),
        Check(
            "score_order",
            "input not sorted by score: the result is in decreasing score order",
            _unsorted,
        ),
        Check(
            "random_cases", "seeded random cases of 2 to 200 boxes against the reference", _random
        ),
        Check(
            "search", f"hypothesis search over cases of 1 to {SEARCH_MAX_BOXES} boxes", search=True
        ),
        Check("large_input", f"{LARGE_N} boxes within the time limit", _large),
    ]


def nms_search_cases():
    """Hypothesis strategy: 1 to SEARCH_MAX_BOXES small integer boxes, distinct scores.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`Case`: boxes with integer corners in ``[0, 12]`` and sides
        in ``[1, 6]`` px, scores in ``{0.1, ..., 0.9}``, ``iou_thresh`` from
        :data:`SEARCH_THRESHOLDS`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(nms_search_cases())
    ... def check(case):
    ...     boxes, scores, t = case.args
    ...     assert boxes.shape == (len(scores), 4) and len(set(scores)) == len(scores)
    >>> check()
    """
    from hypothesis import strategies as st

    coord, side = st.integers(0, 6), st.integers(1, 6)
    box = st.tuples(coord, coord, side, side, st.integers(1, 9))  # x, y, w, h, 10 * score
    # A list of boxes (not one list per column) lets the shrinker delete a box at a time.
    rows = st.lists(box, min_size=1, max_size=SEARCH_MAX_BOXES, unique_by=lambda r: r[4])

    @st.composite
    def cases(draw):
        r = np.array(draw(rows), dtype=np.float64)
        boxes = np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]], axis=1)
        return _case(boxes, r[:, 4] / 10.0, draw(st.sampled_from(SEARCH_THRESHOLDS)))

    return cases()
