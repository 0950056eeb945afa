"""The benchmark's inputs: each suite draws its own, the same alone as in the full run."""

import pytest

from bboxcore.tools.bench import SUITES, bench_cases


def test_a_suite_times_the_same_inputs_alone_as_after_other_suites():
    alone = [c.note for c in bench_cases(["nms"])]  # the notes count the boxes NMS keeps
    assert alone == [c.note for c in bench_cases(["iou", "anchors", "nms"])][-len(alone) :]
    assert alone != [c.note for c in bench_cases(["nms"], seed=1)]  # the notes see the inputs


def test_an_unknown_suite_is_named_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown bench suite\(s\) \['nsm'\]; choose from"):
        bench_cases(["nms", "nsm"])
    assert "nms" in SUITES
