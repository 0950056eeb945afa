"""The Soft-NMS assignment's checks: hand-built edge cases, seeded random cases, the search.

Every case has boxes of positive area and no pair whose IoU could be decided
either way at ``iou_thresh`` (see :func:`unambiguous`).
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import REGIMES, near, regime_boxes
from bboxcore.grading.nms.judge import nms_decisions
from bboxcore.grading.runner import Case, Check

__all__ = ["random_soft_case", "soft_nms_checks", "soft_nms_search_cases", "unambiguous"]


def unambiguous(boxes: np.ndarray, iou_thresh: float) -> bool:
    """No pair of distinct boxes whose decay could go either way at iou_thresh.

    Parameters
    ----------
    boxes : ndarray, shape (R, 4), float
        ``(x_min, y_min, x_max, y_max)`` in pixels.
    iou_thresh : float
        The linear decay's threshold.

    Returns
    -------
    bool

    Examples
    --------
    >>> boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10.]])  # IoU 50 / 150 = 1/3
    >>> unambiguous(boxes, 0.3), unambiguous(boxes, 1 / 3)
    (True, False)
    """
    either = nms_decisions(boxes, iou_thresh)[2]
    np.fill_diagonal(either, False)
    return not either.any()


def _case(boxes, scores, t=0.3, sigma=0.5, st=0.001, method="linear", what="") -> Case:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64)
    note = f"{len(s)} boxes, {method}, iou_thresh={t:g}, sigma={sigma:g}, score_thresh={st:g}"
    return Case(
        (b, s, float(t), float(sigma), float(st), method), note + (f" ({what})" if what else "")
    )


# IoU(0, 1) = 50 / 150 = 1/3: the bboxcore docstring's example
_WORKED = ([[0, 0, 10, 10], [5, 0, 15, 10], [30, 30, 40, 40]], [0.9, 0.8, 0.7])


def _cases_basic(rng):
    yield _case(*_WORKED, what="box 1 decays below box 2")


def _cases_empty(rng):
    yield _case(np.zeros((0, 4)), np.zeros(0), what="no boxes")


def _cases_single(rng):
    yield _case([[0, 0, 2, 2]], [0.5])
    yield _case([[0, 0, 2, 2]], [0.0005], what="initial score below score_thresh")


def _cases_disjoint(rng):
    boxes = [[0, 0, 2, 2], [2, 0, 4, 2], [10, 10, 12, 12], [0, 2, 2, 4]]
    for method in ("linear", "gaussian"):
        yield _case(boxes, [0.2, 0.9, 0.5, 0.7], method=method, what="touching or apart: no decay")


def _cases_linear(rng):
    yield _case(*_WORKED, t=0.3, method="linear", what="0.8 * (1 - 1/3)")
    yield _case(*_WORKED, t=0.5, method="linear", what="IoU 1/3 <= 0.5: no decay")


def _cases_gaussian(rng):
    yield _case(*_WORKED, sigma=0.5, method="gaussian", what="0.8 * exp(-(1/3)^2 / 0.5)")
    yield _case(*_WORKED, sigma=0.1, method="gaussian")


def _cases_exact(rng):
    # IoU = 2/4 = 0.5 exactly: not decayed (decay when IoU > iou_thresh); 3/5 is decayed
    yield _case([[0, 0, 3, 1], [1, 0, 4, 1]], [0.9, 0.8], t=0.5, what="IoU = 2/4 exactly")
    yield _case([[0, 0, 4, 1], [1, 0, 5, 1]], [0.9, 0.8], t=0.5, what="IoU = 3/5")


def _cases_drop(rng):
    same = [[0, 0, 4, 4], [0, 0, 4, 4], [1, 0, 5, 4]]
    yield _case(same, [0.9, 0.8, 0.7], t=0.3, what="identical: 1 - IoU = 0")
    yield _case(same, [0.9, 0.8, 0.7], st=0.5, method="gaussian", what="decayed below 0.5")


def random_soft_case(
    rng: np.random.Generator, n: int, method: str, t: float, regime: str = "grid"
) -> Case:
    """n random positive boxes whose IoUs are all clear of ``t`` (or exactly at it).

    ``regime`` (see :data:`bboxcore.grading._common.REGIMES`): ``'grid'`` boxes on
    the 1/4-pixel grid; otherwise half of the boxes are jittered copies of the
    others, far from the origin or below 1 px wide.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness (the check's seeded generator).
    n : int
        Number of boxes.
    method : {'linear', 'gaussian'}
        The case's decay.
    t : float
        ``iou_thresh`` of the case.
    regime : str
        One of :data:`bboxcore.grading._common.REGIMES`.

    Returns
    -------
    Case
        ``args = (boxes, scores, t, 0.5, 0.001, method)``: boxes float64
        ``(n, 4)`` of positive area, scores float64 ``(n,)`` in ``[0.01, 0.99]``.

    Examples
    --------
    >>> case = random_soft_case(np.random.default_rng(0), 4, "linear", 0.3)
    >>> case.args[0].shape, unambiguous(case.args[0], 0.3)
    ((4, 4), True)
    """
    side = 10.0 * np.sqrt(max(n, 1))
    while True:
        if regime == "grid":
            xy = rng.integers(0, int(4 * side), size=(n, 2)) / 4.0
            wh = rng.integers(4, 64, size=(n, 2)) / 4.0
            boxes = np.concatenate([xy, xy + wh], axis=1)
        else:
            first = regime_boxes(rng, n - n // 2, regime)
            boxes = np.concatenate([first, near(rng, first, n // 2, regime)])
        if unambiguous(boxes, t):
            return _case(boxes, rng.integers(1, 100, size=n) / 100.0, t=t, method=method)


def _cases_random(rng):
    for k, n in enumerate((2, 3, 5, 8, 13, 21, 34, 55, 89)):
        method, t = ("linear", "gaussian")[k % 2], (0.3, 0.5)[k // 2 % 2]
        yield random_soft_case(rng, n, method, t, REGIMES[k % len(REGIMES)])


def _cases_large(rng):
    yield random_soft_case(rng, 300, "gaussian", 0.3)


def soft_nms_checks(a) -> list[Check]:
    """The Soft-NMS checks, in the order they are run and reported.

    Parameters
    ----------
    a : SoftNmsAssignment
        The assignment whose judges some checks use (``judge_pair``,
        ``judge_inputs``).

    Returns
    -------
    list of Check

    Examples
    --------
    >>> from bboxcore.grading import ASSIGNMENTS
    >>> [c.name for c in soft_nms_checks(ASSIGNMENTS["soft_nms"])][:3]
    ['returns_pair', 'inputs_unchanged', 'empty_input']
    """
    return [
        Check(
            "returns_pair",
            "returns (keep, kept_scores): indices and their scores",
            _cases_basic,
            a.judge_pair,
        ),
        Check(
            "inputs_unchanged",
            "boxes and scores are not modified in place",
            _cases_basic,
            a.judge_inputs,
        ),
        Check("empty_input", "no boxes gives two empty sequences", _cases_empty),
        Check(
            "single_box",
            "one box is kept with its score, unless it is at or below score_thresh",
            _cases_single,
        ),
        Check(
            "no_overlap",
            "boxes that do not overlap keep their scores, in decreasing order",
            _cases_disjoint,
        ),
        Check(
            "linear_decay",
            "linear: s * (1 - IoU) when IoU > iou_thresh; re-ranked by the new scores",
            _cases_linear,
        ),
        Check(
            "gaussian_decay",
            "gaussian: s * exp(-IoU^2 / sigma) for every overlap",
            _cases_gaussian,
        ),
        Check(
            "exact_threshold",
            "linear: an IoU exactly equal to iou_thresh does not decay",
            _cases_exact,
        ),
        Check(
            "score_thresh",
            "a box whose score falls to score_thresh or below is dropped",
            _cases_drop,
        ),
        Check(
            "random_cases",
            "seeded random cases of 2 to 89 boxes against the reference",
            _cases_random,
        ),
        Check("search", "hypothesis search over cases of 1 to 5 boxes", search=True),
        Check("large_input", "300 boxes within the time limit", _cases_large),
    ]


def soft_nms_search_cases():
    """Hypothesis strategy: 1 to 5 small integer boxes, distinct scores, unambiguous IoUs.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`Case` with ``args = (boxes, scores, iou_thresh, sigma,
        score_thresh, method)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(soft_nms_search_cases())
    ... def check(case):
    ...     boxes, scores, t = case.args[:3]
    ...     assert 1 <= len(scores) <= 5 and unambiguous(boxes, t)
    >>> check()
    """
    from hypothesis import strategies as st

    box = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))
    rows = st.lists(
        st.tuples(box, st.integers(1, 9)), min_size=1, max_size=5, unique_by=lambda r: r[1]
    )

    def build(r, method, t, st_):
        g = np.array([b for b, _ in r], dtype=np.float64)
        boxes = np.concatenate([g[:, :2], g[:, :2] + g[:, 2:]], axis=1)
        return _case(boxes, np.array([s for _, s in r]) / 10.0, t=t, st=st_, method=method)

    cases = st.builds(
        build,
        rows,
        st.sampled_from(["linear", "gaussian"]),
        st.sampled_from([0.3, 0.5]),
        st.sampled_from([0.001, 0.3]),
    )
    return cases.filter(lambda c: unambiguous(c.args[0], c.args[2]))
