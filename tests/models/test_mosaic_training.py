"""YOLOv4's mosaic in training (arXiv:2004.10934, Sec. 3.3): load_batch, TrainConfig, CLI, trainer.

The transform itself is tested with :mod:`bboxcore.data.transforms`; here: that
``load_batch`` draws it with probability ``mosaic`` from the run's generator
(and draws nothing when it is 0), keeps a box when at least half of it stays
visible, takes boxes and labels only from the images it drew, and that a run
trained with it resumes identically.
"""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

from bboxcore.data import Sample
from bboxcore.models.base import Target
from bboxcore.models.config import TrainConfig, train_config_from_dict
from bboxcore.models.datasets import MOSAIC_MIN_VISIBLE, load_batch
from bboxcore.models.registry import MODELS, build_model
from bboxcore.models.train_cli import add_arguments, config_from_args
from bboxcore.models.trainer import CHECKPOINT, Trainer
from bboxcore.nn import serialization
from tests.models.toy import ToyScenes, tiny_config

SIDE = 32
FLIPS = [(False, False, False), (True, False, False), (True, True, True)]


class Logged:
    """Samples with the data-set interface; remembers which items were read."""

    def __init__(self, samples) -> None:
        self.samples, self.read = list(samples), []

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        self.read.append(int(i))
        return self.samples[i]


def _distinct_scenes(n: int = 6, seed: int = 0) -> Logged:
    """``n`` 32-px images, each of one grey level (k + 1) / 10, 3 boxes each, every label distinct.

    Label ``10 k + r`` is box r of image k, so a label names its source box.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(n):
        xy = rng.integers(0, SIDE - 6, size=(3, 2))
        wh = rng.integers(4, SIDE // 2, size=(3, 2))
        boxes = np.concatenate([xy, np.minimum(xy + wh, SIDE)], axis=1).astype(np.float32)
        image = np.full((SIDE, SIDE, 3), (k + 1) / 10, np.float32)
        samples.append(Sample(image, boxes, 10 * k + np.arange(3)))
    return Logged(samples)


def _fresh_rngs(seed: int = 7):
    return np.random.default_rng(seed), np.random.default_rng(seed)


# --------------------------------------------------------------- mosaic = 0: nothing changes
@pytest.mark.parametrize("flip,vflip,transpose", FLIPS)
def test_mosaic_zero_gives_the_batch_and_generator_state_of_the_call_without_it(
    flip, vflip, transpose
):
    data = ToyScenes(5, size=SIDE)
    a, b = _fresh_rngs()
    without = load_batch(data, [0, 3, 4, 1], a, flip, vflip, transpose)
    with_zero = load_batch(data, [0, 3, 4, 1], b, flip, vflip, transpose, mosaic=0.0)
    np.testing.assert_array_equal(without[0], with_zero[0])
    for x, y in zip(without[1] + without[2], with_zero[1] + with_zero[2]):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert a.bit_generator.state == b.bit_generator.state
    # One uniform draw per image and option switched on, none for the mosaic.
    reference = np.random.default_rng(7)
    reference.random(4 * (flip + vflip + transpose))
    assert a.bit_generator.state == reference.bit_generator.state


def test_mosaic_zero_reads_each_image_once():
    data = _distinct_scenes()
    load_batch(data, [2, 5, 0], np.random.default_rng(0), True, True, True, mosaic=0.0)
    assert data.read == [2, 5, 0]


# --------------------------------------------------------------- mosaic = 1: what comes out
@pytest.mark.parametrize("flip,vflip,transpose", FLIPS)
@pytest.mark.parametrize("seed", range(12))
def test_a_mosaic_keeps_the_size_and_only_boxes_of_the_images_it_drew(seed, flip, vflip, transpose):
    data = _distinct_scenes()
    sources = {10 * k + r: data.samples[k].bbox[r] for k in range(6) for r in range(3)}
    rng = np.random.default_rng(seed)
    for i in range(len(data)):
        data.read.clear()
        images, (boxes,), (labels,) = load_batch(data, [i], rng, flip, vflip, transpose, mosaic=1)
        assert images.shape == (1, SIDE, SIDE, 3) and images.dtype == np.float32
        assert boxes.dtype == np.float32 and boxes.shape == (len(labels), 4)
        assert labels.dtype == np.int64
        assert data.read[0] == i and len(data.read) == 4  # itself and three others
        drawn = set(data.read)
        assert {int(lab) // 10 for lab in labels} <= drawn
        if len(drawn) == 4:  # a label repeats only when an image was drawn twice
            assert len(set(labels.tolist())) == len(labels)
        # Inside the canvas, positive area.
        assert (boxes >= 0).all() and (boxes[:, 2:] <= SIDE).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        for box, lab in zip(boxes, labels.tolist()):
            src = sources[lab]
            w, h = box[2:] - box[:2]
            sw, sh = src[2:] - src[:2]
            # A part of the (flipped or transposed) source box: sides no longer than
            # the source's, and at least MOSAIC_MIN_VISIBLE of its area.
            assert (w <= sw and h <= sh) or (transpose and w <= sh and h <= sw)
            assert w * h >= MOSAIC_MIN_VISIBLE * sw * sh - 1e-4
            # Its pixels are those of the image the label belongs to.
            x0, y0, x1, y1 = np.round(box).astype(int)
            assert (images[0, y0:y1, x0:x1] == np.float32((lab // 10 + 1) / 10)).all()


def _coordinate_image(side: int = SIDE) -> Sample:
    """Pixel (y, x) holds (x / side, y / side, 0): the canvas tells where each pixel came from."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    image = np.stack([x, y, np.zeros_like(x)], axis=-1)
    return Sample(image, [[0, 0, side, side]], [1])


@pytest.mark.parametrize("seed", range(40))
def test_a_box_is_kept_exactly_when_half_of_it_stays_visible(seed):
    # One image whose box is the whole image: the mosaic is four copies; the
    # copy in a quadrant of area A shows A / side**2 of its box.
    images, (boxes,), (labels,) = load_batch(
        [_coordinate_image()], [0], np.random.default_rng(seed), False, mosaic=1.0
    )
    canvas = images[0]
    # The top-left copy has its bottom-right corner at the centre: its pixel
    # (0, 0) on the canvas is the source pixel (side - xc, side - yc).
    xc = SIDE - round(canvas[0, 0, 0] * SIDE)
    yc = SIDE - round(canvas[0, 0, 1] * SIDE)
    assert SIDE // 4 <= xc <= SIDE - SIDE // 4 and SIDE // 4 <= yc <= SIDE - SIDE // 4
    quadrants = [(0, 0, xc, yc), (xc, 0, SIDE, yc), (0, yc, xc, SIDE), (xc, yc, SIDE, SIDE)]
    expected = [
        q for q in quadrants if (q[2] - q[0]) * (q[3] - q[1]) >= MOSAIC_MIN_VISIBLE * SIDE**2
    ]
    assert sorted(map(tuple, boxes.tolist())) == sorted(map(tuple, np.float32(expected).tolist()))
    assert labels.tolist() == [1] * len(expected)


def test_the_threshold_drops_boxes_in_some_mosaics_and_keeps_them_in_others():
    kept = []
    for seed in range(40):
        _, (boxes,), _ = load_batch(
            [_coordinate_image()], [0], np.random.default_rng(seed), False, mosaic=1.0
        )
        kept.append(len(boxes))
    assert 0 in kept and 1 in kept  # both cases are exercised by the test above


def _symmetry(canvas, r: int, c: int) -> tuple:
    """The map of source axes at canvas pixel (r, c) of coordinate images: steps along x, y."""
    dx = np.round((canvas[r, c + 1, :2] - canvas[r, c, :2]) * SIDE).astype(int)
    dy = np.round((canvas[r + 1, c, :2] - canvas[r, c, :2]) * SIDE).astype(int)
    return tuple(dx), tuple(dy)


def test_each_of_the_four_is_flipped_and_the_image_goes_to_any_quadrant():
    # 8 coordinate images, told apart by their blue channel. The canvas corners
    # always belong to quadrants 0-3 (the centre is in the middle half), and the
    # pixel steps there tell how the copy in each was flipped or transposed.
    samples = []
    for k in range(8):
        s = _coordinate_image()
        samples.append(Sample(s.image + np.float32([0, 0, (k + 1) / 16]), s.bbox, s.label))
    data = Logged(samples)
    corners = [(0, 0), (0, SIDE - 2), (SIDE - 2, 0), (SIDE - 2, SIDE - 2)]
    rng = np.random.default_rng(5)
    n, identity, own_slot = 400, np.zeros(4, int), np.zeros(4, int)
    for _ in range(n):
        data.read.clear()
        images, _, _ = load_batch(data, [0], rng, True, True, True, mosaic=1.0)
        for slot, (r, c) in enumerate(corners):
            identity[slot] += _symmetry(images[0], r, c) == ((1, 0), (0, 1))
        if 0 not in data.read[1:]:  # image 0 is only in the slot of the image itself
            ids = [round(images[0, r, c, 2] * 16) - 1 for r, c in corners]
            own_slot[ids.index(0)] += 1
    # Three fair coins per copy: each of the 8 symmetries of the square has probability 1/8.
    assert np.all(np.abs(identity - n / 8) < 6 * np.sqrt(n * 1 / 8 * 7 / 8))
    m = own_slot.sum()
    assert m > n / 2 and np.all(np.abs(own_slot - m / 4) < 6 * np.sqrt(m * 1 / 4 * 3 / 4))
    # Without flips every copy keeps its axes.
    for seed in range(10):
        images, _, _ = load_batch(data, [3], np.random.default_rng(seed), False, mosaic=1.0)
        assert all(_symmetry(images[0], r, c) == ((1, 0), (0, 1)) for r, c in corners)


def test_the_fraction_of_mosaics_is_the_probability():
    n, p = 4000, 0.3
    data = ToyScenes(5, size=SIDE)
    load_batch(data, np.arange(n) % 5, np.random.default_rng(11), True, mosaic=p)
    mosaics = (data.calls - n) / 3  # a mosaic reads three more images
    assert mosaics == int(mosaics)
    sigma = np.sqrt(n * p * (1 - p))  # binomial(4000, 0.3): 29
    assert abs(mosaics - n * p) < 6 * sigma


def test_load_batch_refuses_a_probability_outside_zero_one():
    with pytest.raises(ValueError, match="mosaic must be in"):
        load_batch(ToyScenes(2), [0], np.random.default_rng(0), False, mosaic=1.5)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_detector_trains_on_a_batch_where_a_mosaic_kept_no_box(name):
    cls = MODELS[name]
    config = cls.default_config("mnist-det", [str(k) for k in range(10)])
    model = build_model(name, config, 0)
    side = (getattr(config, "img_size", None) or (128, 128))[0]
    images = np.random.default_rng(1).random((2, side, side, 3), dtype=np.float32)
    targets = [
        Target(np.zeros((0, 4), np.float32), np.zeros(0, np.int64)),
        Target(np.array([[10.0, 12, 50, 60]], np.float32), np.array([3])),
    ]
    losses = model.loss(images, targets, np.random.default_rng(0))
    assert all(np.isfinite(v.item()) for v in losses.values()), name
    sum(losses.values()).backward()


# --------------------------------------------------------------- config, CLI
@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan")])
def test_train_config_refuses_a_mosaic_probability_outside_zero_one(bad):
    with pytest.raises(ValueError, match="mosaic must be in"):
        TrainConfig(mosaic=bad)


def test_a_config_saved_before_mosaic_loads_without_it():
    assert train_config_from_dict({"epochs": 3}).mosaic == 0.0


def _cli(*argv) -> TrainConfig:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return config_from_args(p.parse_args(list(argv)))


def test_the_command_line_sets_the_probability_and_defaults_to_off():
    assert _cli("--mosaic", "0.5").mosaic == 0.5
    assert _cli("--model", "faster_rcnn", "--dataset", "neon-trees").mosaic == 0.0
    assert _cli("--model", "yolov3", "--dataset", "mnist-det").mosaic == 0.0  # no recipe has it
    assert _cli("--model", "yolov3", "--dataset", "neon-trees").mosaic == 0.5  # its NEON recipe
    assert _cli("--model", "retinanet", "--dataset", "neon-trees").mosaic == 0.5
    assert _cli("--model", "centernet", "--dataset", "neon-trees").mosaic == 0.5
    assert _cli("--model", "faster_rcnn", "--dataset", "mnist-det").mosaic == 0.0


@pytest.mark.parametrize("bad", ["-0.5", "2"])
def test_the_command_line_refuses_a_probability_outside_zero_one(bad):
    with pytest.raises(ValueError, match="--mosaic must be a probability"):
        _cli("--mosaic", bad)


def test_a_recipes_mosaic_applies_unless_the_command_line_says_otherwise(monkeypatch):
    cls = MODELS["fcos"]
    monkeypatch.setattr(cls, "train_defaults", classmethod(lambda c, kind: {"mosaic": 0.5}))
    assert _cli("--model", "fcos").mosaic == 0.5
    assert _cli("--model", "fcos", "--mosaic", "0").mosaic == 0.0


# --------------------------------------------------------------- the trainer
def _config(out, **kw) -> TrainConfig:
    base = dict(out=str(out), epochs=1, batch_size=2, lr=0.01, warmup_iters=2, progress=False,
                eval_every=0, flip=True, seed=3, mosaic=1.0)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _spy_batches(monkeypatch) -> list:
    import bboxcore.models.trainer as trainer_module

    seen, original = [], trainer_module.load_batch

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append((kwargs.get("mosaic"), out))
        return out

    monkeypatch.setattr(trainer_module, "load_batch", spy)
    return seen


def test_the_trainer_draws_mosaics_and_a_resumed_run_loads_the_same_next_batch(
    tmp_path, monkeypatch
):
    seen = _spy_batches(monkeypatch)
    data = ToyScenes(6)
    Trainer(tiny_config(), _config(tmp_path / "whole", max_iters=2), data).fit()
    assert [m for m, _ in seen] == [1.0, 1.0]
    assert data.calls == 2 * 2 * 4  # every image of both steps is a mosaic of four
    whole = [batch for _, batch in seen]

    seen.clear()
    Trainer(tiny_config(), _config(tmp_path / "part", max_iters=1), ToyScenes(6)).fit()
    resumed = Trainer.resume(tmp_path / "part", train_set=ToyScenes(6), max_iters=2)
    assert resumed.cfg.mosaic == 1.0 and resumed.iteration == 1
    resumed.fit()
    assert len(seen) == 2  # one step before the checkpoint, one after
    (images, boxes, labels), (ref_images, ref_boxes, ref_labels) = seen[1][1], whole[1]
    np.testing.assert_array_equal(images, ref_images)
    for x, y in zip(boxes + labels, ref_boxes + ref_labels):
        np.testing.assert_array_equal(x, y)
    assert _losses(tmp_path / "whole") == _losses(tmp_path / "part")


def _losses(out) -> list[dict]:
    with open(out / "log.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "img_per_s"} for row in csv.DictReader(f)]


def _run_from_before_mosaic(out):
    """A one-step run whose checkpoint has no ``mosaic`` in its config, as before the option."""
    Trainer(tiny_config(), _config(out, max_iters=1, mosaic=0.0), ToyScenes(4)).fit()
    path = out / CHECKPOINT
    state = serialization.load(path)
    train_config = json.loads(str(state["train_config"]))
    del train_config["mosaic"]
    state["train_config"] = json.dumps(train_config)
    serialization.save(path, state)


def test_a_checkpoint_from_before_mosaic_resumes_without_it(tmp_path):
    _run_from_before_mosaic(tmp_path / "run")
    resumed = Trainer.resume(tmp_path / "run", train_set=ToyScenes(4), max_iters=None)
    assert resumed.cfg.mosaic == 0.0 and resumed.iteration == 1


def test_resume_on_the_command_line_compares_mosaic_with_the_runs(tmp_path, monkeypatch):
    from bboxcore.models import train_cli

    class Reached(Exception):
        """The options agreed with the run: Trainer.resume was called."""

    def reached(cls, *args, **kwargs):
        raise Reached

    monkeypatch.setattr(train_cli.Trainer, "resume", classmethod(reached))
    _run_from_before_mosaic(tmp_path / "run")
    argv = ["--out", str(tmp_path / "run"), "--resume", "--no-progress", "--mosaic"]
    with pytest.raises(Reached):  # the run had no mosaic: 0 is no change
        train_cli.main([*argv, "0"])
    with pytest.raises(ValueError, match=r"cannot change --mosaic 0.5 \(the run has 0.0\)"):
        train_cli.main([*argv, "0.5"])
