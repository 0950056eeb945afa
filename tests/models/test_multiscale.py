"""Multi-scale training (YOLOv2, arXiv:1612.08242, Sec. 2): side draws, resizing, the trainer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.models.base import Target
from bboxcore.models.config import TrainConfig
from bboxcore.models.datasets import multiscale_side, resize_batch
from bboxcore.models.registry import MODELS, build_model
from bboxcore.models.trainer import Trainer
from tests.models.toy import ToyScenes, tiny_config


@given(
    sides=st.lists(st.sampled_from([32, 64, 96, 128, 160]), min_size=1, max_size=4),
    every=st.integers(1, 20),
    seed=st.integers(0, 1000),
    iteration=st.integers(0, 10_000),
)
def test_a_side_is_drawn_once_per_block_of_steps(sides, every, seed, iteration):
    side = multiscale_side(sides, every, seed, iteration)
    assert side in sides
    block_start = iteration - iteration % every  # the same draw for the whole block
    assert multiscale_side(sides, every, seed, block_start + every - 1) == side


def test_sides_are_drawn_uniformly():
    drawn = [multiscale_side((96, 128, 160), 1, 0, i) for i in range(3000)]
    counts = np.array([drawn.count(s) for s in (96, 128, 160)])
    assert np.all(np.abs(counts - 1000) < 100)  # 3 sigma of a binomial(3000, 1/3) is ~77


@given(
    side=st.integers(8, 64),
    box=st.lists(st.floats(0, 32), min_size=4, max_size=4),
)
@settings(max_examples=30, deadline=None)
def test_resize_scales_boxes_with_the_pixels(side, box):
    x0, y0 = min(box[0], box[2]), min(box[1], box[3])
    bbox = np.array([[x0, y0, max(box[0], box[2]), max(box[1], box[3])]], np.float32)
    images = np.zeros((1, 32, 32, 3), np.float32)
    out, (b,) = resize_batch(images, [bbox], side)
    assert out.shape == (1, side, side, 3)
    np.testing.assert_allclose(b, bbox * side / 32, rtol=1e-6, atol=1e-4)


def test_resize_of_a_batch_already_at_the_side_changes_nothing():
    images = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    boxes = [np.array([[1.0, 2, 3, 4]], np.float32)] * 2
    out, b = resize_batch(images, boxes, 16)
    assert out is images and b[0] is boxes[0]


@pytest.mark.parametrize("name", [n for n, c in MODELS.items() if c.fully_convolutional])
def test_fully_convolutional_detectors_take_every_multiscale_side(name):
    cls = MODELS[name]
    model = build_model(name, cls.default_config("mnist-det", [str(k) for k in range(10)]), 0)
    for side in (96, 160):
        images = np.random.default_rng(side).random((1, side, side, 3), dtype=np.float32)
        target = Target(np.array([[10.0, 12, 50, 60]], np.float32), np.array([3]))
        losses = model.loss(images, [target], np.random.default_rng(0))
        assert all(np.isfinite(v.item()) for v in losses.values()), (name, side)
        sum(losses.values()).backward()
        bbox, *_ = model.predict(images[0])[0]
        assert bbox.shape[1] == 4 and (bbox <= side + 1e-3).all()


def _config(out, **kw):
    base = dict(out=str(out), epochs=1, batch_size=2, lr=0.01, warmup_iters=2, progress=False,
                eval_every=0, seed=3)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_trainer_trains_at_the_drawn_sides_and_stays_deterministic(tmp_path, monkeypatch):
    import bboxcore.models.trainer as trainer_module

    seen = []
    original = trainer_module.resize_batch

    def spy(images, bboxes, side):
        seen.append(side)
        return original(images, bboxes, side)

    monkeypatch.setattr(trainer_module, "resize_batch", spy)
    cfg = _config(tmp_path / "a", multiscale=(32, 64), multiscale_every=1)
    Trainer(tiny_config(), cfg, ToyScenes(8)).fit()
    assert seen == [multiscale_side((32, 64), 1, 3, i) for i in range(4)]
    assert set(seen) == {32, 64}


def test_multiscale_is_refused_for_a_detector_with_a_fixed_input_side(tmp_path):
    cfg = _config(tmp_path / "y", model="yolov1", multiscale=(96, 128))
    yolo = MODELS["yolov1"].default_config("mnist-det", ["a"])
    with pytest.raises(ValueError, match="yolov1 is not fully convolutional"):
        Trainer(yolo, cfg, ToyScenes(2))


@pytest.mark.parametrize("sides", [(100,), (0,), (64, 48)])
def test_sides_must_be_multiples_of_32(sides):
    with pytest.raises(ValueError, match="multiples of 32"):
        TrainConfig(multiscale=sides)


def test_resume_on_the_command_line_accepts_the_runs_own_multiscale_sides(tmp_path, monkeypatch):
    # the run's config comes back from JSON with a list of sides; the command line gives a
    # tuple: the same sides are no change, other sides are refused
    from bboxcore.models import train_cli

    class Reached(Exception):
        """The options agreed with the run: Trainer.resume was called."""

    def reached(cls, *args, **kwargs):
        raise Reached

    Trainer(tiny_config(), _config(tmp_path / "run", max_iters=1, multiscale=(32, 64)),
            ToyScenes(4)).fit()  # fmt: skip
    monkeypatch.setattr(train_cli.Trainer, "resume", classmethod(reached))
    argv = ["--out", str(tmp_path / "run"), "--resume", "--no-progress", "--multiscale"]
    with pytest.raises(Reached):
        train_cli.main([*argv, "32", "64"])
    with pytest.raises(ValueError, match=r"cannot change --multiscale \(32, 96\)"):
        train_cli.main([*argv, "32", "96"])
