"""The diagnostic scripts whose numbers the docs cite: ``scripts/best_box.py``'s two shares.

A hand-made detector and data set, so that each share is known: the best box on a ground-truth
box is the top-scoring detection whose centre lies inside it, and the highest recall counts the
ground-truth boxes that any detection overlaps with IoU >= 0.5.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def best_box():
    sys.path.insert(0, str(SCRIPTS))  # the scripts import their shared module, _record
    try:
        spec = importlib.util.spec_from_file_location("_diag_best_box", SCRIPTS / "best_box.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(SCRIPTS))


class _Fixed:
    """A detector that returns given (bbox, label, score) per image."""

    def __init__(self, outputs):
        self.outputs = iter(outputs)

    def predict(self, image):
        return [next(self.outputs)]


def _dataset(gts):
    return [SimpleNamespace(bbox=np.asarray(g, float).reshape(-1, 4), image=None) for g in gts]


def test_best_box_is_the_top_scoring_centred_one_and_recall_counts_any_overlap(best_box):
    gt = [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]]
    bbox = np.array([
        [1, 1, 9, 9],      # centred in gt 0, IoU 0.64, score 0.5
        [0, 0, 10, 4],     # centred in gt 0, IoU 0.4, score 0.9: the best box of gt 0
        [21, 0, 31, 10],   # centred in gt 1, IoU 0.82
        [36, 0, 46, 10],   # centre 41 in gt 2, IoU 3/7; gt 2 is not recalled
    ], float)  # fmt: skip
    score = np.array([0.5, 0.9, 0.3, 0.8])
    stats = best_box.best_box_stats(_Fixed([(bbox, np.zeros(4, int), score)]), _dataset([gt]))
    assert stats["n_gt"] == 3
    assert stats["best_box_iou_ge_0.5"] == pytest.approx(1 / 3)  # gt 1 only
    assert stats["max_recall_0.5"] == pytest.approx(2 / 3)  # gt 0 by its second box, gt 1
    assert stats["best_box_iou_median"] == pytest.approx(3 / 7)  # of 0.4, 0.82, 3/7


def test_an_image_without_detections_counts_its_objects_as_missed(best_box):
    none = (np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))
    one = (np.array([[0, 0, 10, 10]], float), np.zeros(1, int), np.ones(1))
    data = _dataset([[[0, 0, 10, 10]], [[0, 0, 10, 10], [20, 20, 30, 30]], []])
    stats = best_box.best_box_stats(_Fixed([one, none, none]), data)
    assert stats["n_gt"] == 3
    assert stats["best_box_iou_ge_0.5"] == pytest.approx(1 / 3)
    assert stats["max_recall_0.5"] == pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def record():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import _record

        yield _record
    finally:
        sys.path.remove(str(SCRIPTS))


def test_a_sweep_sets_a_field_of_a_nested_config_with_its_own_checks(record):
    import argparse

    from bboxcore.models.config import ModelConfig

    detector = SimpleNamespace(config=ModelConfig(n_class=1))
    p = argparse.ArgumentParser()
    assert record.set_config_field(p, detector, "faster_rcnn", "detect.nms_thresh", "0.5") == 0.5
    assert detector.config.detect.nms_thresh == 0.5 and detector.config.rpn.nms_thresh == 0.7
    for key, value in (("detect.nms", 0.5), ("n_class.x", 1), ("detect.nms_thresh", 1.5)):
        with pytest.raises(SystemExit):  # p.error: no such field, or the config refuses
            record.set_config_field(p, detector, "faster_rcnn", key, value)
    assert detector.config.detect.nms_thresh == 0.5
