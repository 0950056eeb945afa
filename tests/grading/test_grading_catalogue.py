"""The bug catalogues: each catalogued mistake is recognised, and only when it reproduces.

The catalogued variants are graded in this process (``InProcessWorker``: no
isolation needed, they are the grader's own code) without the hypothesis
search, which the hint does not need: the fixed and seeded cases are enough
evidence to tell the variants apart.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from bboxcore.encoding import bbox2loc, loc2bbox
from bboxcore.grading import ASSIGNMENTS
from bboxcore.grading.contracts import SIGNATURES
from bboxcore.grading.nms.bugs import NMS_BUGS, buggy_nms
from bboxcore.grading.runner import Case, Failure, forbidden_hint, grade_with, no_match_hint
from bboxcore.grading.soft_nms.bugs import SOFT_NMS_BUGS, buggy_soft_nms
from bboxcore.grading.worker import InProcessWorker, Outcome
from bboxcore.iou import box_iou
from bboxcore.losses import iou_loss_backward, smooth_l1, smooth_l1_backward
from bboxcore.nms import nms
from bboxcore.nms_variants import soft_nms


def without_search(a):
    """The assignment without its search and large input (the slow parts, not needed here)."""
    b = copy.copy(a)
    b.checks = lambda: [c for c in type(a).checks(a) if not c.search and c.name != "large_input"]
    return b


def grade_fn(name: str, fn, seed: int = 0):
    a = without_search(ASSIGNMENTS[name])
    return grade_with(a, fn, function=name, seed=seed, worker_factory=InProcessWorker)


def catalogue(name: str) -> dict[str, tuple]:
    """bug -> (variant function, hint)."""
    if name == "nms":
        return {b: (lambda x, s, t, bug=b: buggy_nms(x, s, t, bug), h) for b, h in NMS_BUGS.items()}
    if name == "soft_nms":
        return {
            b: (lambda *args, bug=b: buggy_soft_nms(*args, bug), h)
            for b, h in SOFT_NMS_BUGS.items()
        }
    if name == "smooth_l1":  # the variants give the (N, 2) array; the student returns a pair
        return {
            b: (lambda x, sigma, f=f: tuple(f(x, sigma).T), h)
            for b, (f, h) in ASSIGNMENTS[name].bugs.items()
        }
    return dict(ASSIGNMENTS[name].bugs)


ALL_BUGS = [(name, bug) for name in ASSIGNMENTS for bug in catalogue(name)]


@pytest.mark.parametrize("name, bug", ALL_BUGS, ids=[f"{n}-{b}" for n, b in ALL_BUGS])
def test_each_catalogued_bug_fails_and_is_named(name, bug):
    variant, hint = catalogue(name)[bug]
    report = grade_fn(name, variant)
    assert not report.passed, f"{name}/{bug} passes every check"
    assert report.hint == hint, report.to_text()


CORRECT = {
    "nms": nms,
    "iou": box_iou,
    "bbox2loc": bbox2loc,
    "loc2bbox": loc2bbox,
    "soft_nms": soft_nms,
    "smooth_l1": lambda x, sigma: (smooth_l1(x, sigma), smooth_l1_backward(1.0, x, sigma)),
    "anchor_labels": ASSIGNMENTS["anchor_labels"].reference,
    "roi_align": ASSIGNMENTS["roi_align"].reference,
    "iou_loss_grad": lambda p, t: iou_loss_backward(1.0, p, t, reduction="none"),
}


def _float32(fn):
    def run(*args):
        args = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
        return fn(*args)

    return run


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_no_bug_is_named_on_a_correct_submission(name):
    for fn in (CORRECT[name], _float32(CORRECT[name])):
        report = grade_fn(name, fn, seed=3)
        assert report.passed and report.hint == "", report.to_text()


def test_no_match_says_so_and_points_at_the_check():
    # dividing by the *sum* of the areas minus twice the intersection: not catalogued
    def odd_iou(a, b):
        inter = box_iou(a, b) * 0
        lt = np.maximum(a[:, None, :2], b[None, :, :2])
        rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        with np.errstate(all="ignore"):
            return inter / (area(a)[:, None] + area(b)[None, :] - 2 * inter + 1e-9)

    report = grade_fn("iou", odd_iou)
    assert not report.passed
    first = next(c for c in report.checks if not c.passed)
    assert report.hint.startswith("no catalogued mistake reproduces your answers")
    assert first.name in report.hint


def test_dividing_by_the_other_area_is_named_the_same_at_every_seed():
    # the example: the NMS variant dividing by the other box's area was named
    # "+1 widths" at one seed and "intersection over minimum" at another
    variant, hint = catalogue("nms")["iou_over_candidate"]
    for seed in range(4):
        assert grade_fn("nms", variant, seed=seed).hint == hint


# --------------------------------------------------------------------------- hint words
#: Every argument name of every assignment, minus the words a hint may use in prose.
_PROSE = {"boxes", "scores", "method", "x", "anchor"}  # x: also a coordinate; anchor: bbox2loc


def _all_hints(name: str) -> list[str]:
    a = ASSIGNMENTS[name]
    hints = list(a.bug_hints.values())
    case = a.checks()[0]
    sample = next(iter(case.cases(np.random.default_rng(0))))
    for kind, err in [
        ("raised", "TypeError: takes 2 positional arguments but 3 argument were given"),
        ("raised", "ZeroDivisionError: division by zero"),
        ("timeout", "no answer"),
        ("died", "exited"),
        ("mutated", ""),
    ]:
        f = Failure("modified its input x in place", kind)
        hints.append(a.hint([(sample, Outcome(kind, error=err), f)]))
    for message in ("returned None", "returned shape (2, 3); expected (3, 2)", "mask", ""):
        f = Failure(message, "type", details={})
        hints.append(a.type_hint(f))
    if hasattr(a, "shape_hint"):
        hints += [a.shape_hint((3, 2), (2, 3)), a.shape_hint((3,), (3, 4))]
    hints.append(no_match_hint(Failure("m", check="c")))
    hints.append(forbidden_hint(["bboxcore"], a.function))
    return [h for h in hints if h]


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_hints_name_only_their_assignments_arguments(name):
    own = set(ASSIGNMENTS[name].arg_names())
    others = (
        {arg for n in ASSIGNMENTS if n != name for arg in ASSIGNMENTS[n].arg_names()} - own - _PROSE
    )
    for hint in _all_hints(name):
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", hint))
        assert not words & others, (name, words & others, hint)


def test_signatures_match_arg_names():
    for name, a in ASSIGNMENTS.items():
        assert a.signature == SIGNATURES[name]
        assert len(a.arg_names()) >= 2


def test_case_args_follow_the_signature():
    for name, a in ASSIGNMENTS.items():
        for check in a.checks():
            if check.cases:
                case = next(iter(check.cases(np.random.default_rng(0))))
                assert isinstance(case, Case) and len(case.args) == len(a.arg_names()), name


def test_the_nms_catalogue_has_the_mistakes_found_in_public_code():
    # issue 17, item 6: at least 25 NMS variants; those found in public code cite their source
    import inspect

    from bboxcore.grading.nms import bugs

    assert len(NMS_BUGS) >= 25
    source = inspect.getsource(bugs)
    found = ("far_corner_max", "sort_by_y2", "never_removes", "swap_scan")
    for key in (*found, "any_overlap_removes", "area_height_typo"):
        comment = source[: source.index(f'"{key}":')].rsplit('",\n', 1)[-1]
        assert "https://" in comment, key
