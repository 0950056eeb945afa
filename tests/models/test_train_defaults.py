"""A detector's own training recipe: applied by ``bboxcore train``, overridden by options."""

from __future__ import annotations

import argparse

import pytest

from bboxcore.models.registry import MODELS
from bboxcore.models.train_cli import add_arguments, config_from_args


def _config(*argv):
    p = argparse.ArgumentParser()
    add_arguments(p)
    return config_from_args(p.parse_args(list(argv)))


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dataset", ["mnist-det", "neon-trees:fold=1", "voc:/data"])
def test_the_command_line_applies_the_detectors_recipe(name, dataset):
    from bboxcore.models.datasets import dataset_kind

    own = MODELS[name].train_defaults(dataset_kind(dataset))
    cfg = _config("--model", name, "--dataset", dataset)
    for field, value in own.items():
        assert getattr(cfg, field) == value, (name, field)


def test_options_given_win_over_the_recipe():
    cfg = _config("--model", "centernet", "--batch-size", "3", "--lr", "0.5")
    assert (cfg.optimizer, cfg.batch_size, cfg.lr, cfg.epochs) == ("adam", 3, 0.5, 4)


def test_the_recipes_rate_goes_with_its_optimiser_only():
    cfg = _config("--model", "centernet", "--optimizer", "sgd")  # the recipe's 4e-3 is Adam's
    assert cfg.optimizer == "sgd" and cfg.lr == 0.02


def test_a_detector_without_a_recipe_keeps_the_data_sets_defaults():
    assert MODELS["faster_rcnn"].train_defaults("mnist-det") == {}
    cfg = _config("--dataset", "neon-trees")
    assert (cfg.optimizer, cfg.lr, cfg.epochs, cfg.vflip) == ("adam", 1e-3, 60, True)


def test_a_recipes_multiscale_sides_are_overridden_or_turned_off_by_the_command_line():
    neon = ("--model", "yolov3", "--dataset", "neon-trees")
    assert _config(*neon).multiscale == (256, 320, 384)  # YOLOv3's NEON recipe
    assert _config(*neon, "--multiscale", "288").multiscale == (288,)
    assert _config(*neon, "--no-multiscale").multiscale == ()
    assert _config("--model", "yolov3", "--dataset", "mnist-det").multiscale == ()
