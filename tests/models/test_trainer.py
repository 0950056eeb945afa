"""The Trainer: determinism, checkpoint/resume, Ctrl-C, the NaN guard, both schemes.

Runs of a few optimiser steps on the toy scenes of :mod:`tests.models.toy`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal

import numpy as np
import pytest

from bboxcore.models.config import TrainConfig
from bboxcore.models.runlog import LOG_COLUMNS
from bboxcore.models.trainer import CHECKPOINT, Trainer, TrainingDiverged
from bboxcore.nn import serialization
from tests.models.toy import ToyScenes, tiny_config

N_IMAGES = 6  # 3 batches of 2 per epoch


def _config(out, **kw) -> TrainConfig:
    base = dict(
        out=str(out), epochs=2, batch_size=2, lr=0.01, warmup_iters=2, progress=False,
        eval_every=0, flip=True, seed=3,
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _losses(out) -> list[tuple]:
    with open(os.path.join(out, "log.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return [tuple(r[c] for c in LOG_COLUMNS if c != "img_per_s") for r in rows]


def _train(out, val=None, **kw) -> Trainer:
    trainer = Trainer(tiny_config(), _config(out, **kw), ToyScenes(N_IMAGES), val)
    trainer.fit()
    return trainer


def test_two_runs_with_one_seed_give_identical_losses(tmp_path):
    _train(tmp_path / "a")
    _train(tmp_path / "b")
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert len(a) == 2 * 3
    assert a == b
    _train(tmp_path / "c", seed=4)
    assert _losses(tmp_path / "c") != a  # the seed matters


def test_checkpoint_holds_model_optimizer_schedule_position_rng_and_config(tmp_path):
    trainer = _train(tmp_path / "run", val=ToyScenes(2, seed=9), eval_every=1)
    state = serialization.load(tmp_path / "run" / CHECKPOINT)
    assert set(state) >= {
        "model",
        "optimizer",
        "schedule",
        "position",
        "rng",
        "model_config",
        "train_config",
    }
    assert int(state["position"]["iteration"]) == 6 and int(state["position"]["stage"]) == 1
    assert json.loads(str(state["rng"]))["bit_generator"] == "PCG64"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    assert all("val_ap50" in e for e in history["epochs"])  # validation mAP per epoch
    np.testing.assert_array_equal(
        state["model"]["head.fc1.weight"], trainer.model.head.fc1.weight.data
    )


@pytest.mark.parametrize("stop_at", [2, 3, 4])  # mid-epoch, at the epoch's end, next epoch
def test_a_stopped_run_resumed_from_its_checkpoint_repeats_the_uninterrupted_losses(
    tmp_path, stop_at
):
    _train(tmp_path / "full")
    stopped = _train(tmp_path / "part", max_iters=stop_at)
    assert stopped.iteration == stop_at
    resumed = Trainer.resume(tmp_path / "part", train_set=ToyScenes(N_IMAGES), max_iters=None)
    assert resumed.iteration == stop_at
    assert resumed.fit()
    assert _losses(tmp_path / "part") == _losses(tmp_path / "full")


class _InterruptAt(ToyScenes):
    """Raises SIGINT in this thread (like Ctrl-C) while the trainer loads item number ``at``.

    A hook at a known point of a known step, not a timer: ``signal.raise_signal`` delivers
    the signal synchronously to the calling (main) thread, so the step it lands in is fixed
    whatever the load of the machine.
    """

    def __init__(self, at: int) -> None:
        super().__init__(N_IMAGES)
        self.at = at

    def __getitem__(self, i):
        if self.calls == self.at:
            signal.raise_signal(signal.SIGINT)
        return super().__getitem__(i)


def test_ctrl_c_saves_a_checkpoint_and_resume_continues_identically(tmp_path):
    _train(tmp_path / "full")
    # item 3 is the second image of step 2 (batches of 2): Ctrl-C arrives during step 2
    trainer = Trainer(tiny_config(), _config(tmp_path / "part"), _InterruptAt(3), None)
    # the handlers before: Python's defaults, or SIG_IGN for SIGINT in a job started with `&`
    sigint, sigterm = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="checkpoint written at step 2"):
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) is sigint  # handlers restored
    assert signal.getsignal(signal.SIGTERM) is sigterm
    state = serialization.load(tmp_path / "part" / CHECKPOINT)
    assert int(state["position"]["iteration"]) == 2  # the step in progress finished, then saved
    resumed = Trainer.resume(tmp_path / "part", train_set=ToyScenes(N_IMAGES))
    assert resumed.fit()
    assert _losses(tmp_path / "part") == _losses(tmp_path / "full")


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(), _config(tmp_path / "run", epochs=3), ToyScenes(N_IMAGES), None)
    trainer.cfg.max_iters = 3  # one epoch and a bit: an epoch checkpoint exists
    trainer.fit()
    before = (tmp_path / "run" / CHECKPOINT).read_bytes()
    trainer.cfg.max_iters = None
    trainer.model.head.cls_score.weight.data[0, 0] = np.nan
    with pytest.raises(
        TrainingDiverged, match=r"loss is nan at stage joint, epoch 2.*last good checkpoint"
    ):
        trainer.fit()
    assert (tmp_path / "run" / CHECKPOINT).read_bytes() == before


def test_resume_refuses_what_would_change_the_losses(tmp_path):
    _train(tmp_path / "run", max_iters=1)
    with pytest.raises(ValueError, match="cannot change"):
        Trainer.resume(tmp_path / "run", train_set=ToyScenes(N_IMAGES), lr=0.5)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Trainer.resume(tmp_path / "nothing", train_set=ToyScenes(N_IMAGES))


def test_alternating_training_runs_the_four_steps_of_the_paper(tmp_path):
    trainer = Trainer(
        tiny_config(), _config(tmp_path / "alt", epochs=1, scheme="alternating"), ToyScenes(4), None
    )
    trainer.cfg.max_iters = 4  # steps 1 and 2
    trainer.fit()
    assert trainer.stage_name == "3-rpn-finetune"  # step 3 starts from the step-1 RPN layers
    for k, v in trainer.rpn_net.rpn.state_dict().items():
        np.testing.assert_array_equal(trainer.model.rpn.state_dict()[k], v)
    backbone = {k: v.copy() for k, v in trainer.model.backbone.state_dict().items()}
    head = trainer.model.head.fc1.weight.data.copy()
    trainer.cfg.max_iters = None
    assert trainer.fit()
    stages = [r[0] for r in _losses(tmp_path / "alt")]
    assert (
        stages
        == ["1-rpn"] * 2 + ["2-fast-rcnn"] * 2 + ["3-rpn-finetune"] * 2 + ["4-head-finetune"] * 2
    )
    for k, v in trainer.model.backbone.state_dict().items():  # steps 3 and 4: shared convs fixed
        np.testing.assert_array_equal(v, backbone[k])
    assert not np.array_equal(trainer.model.head.fc1.weight.data, head)  # step 4 tunes the head
    rows = list(csv.DictReader(open(tmp_path / "alt" / "log.csv")))
    assert rows[0]["roi_cls"] == "nan" and rows[2]["rpn_cls"] == "nan"  # each step its own losses


def test_more_epochs_continue_a_finished_run(tmp_path):
    _train(tmp_path / "run", epochs=1)  # 3 steps, complete
    resumed = Trainer.resume(tmp_path / "run", train_set=ToyScenes(N_IMAGES), epochs=2)
    assert resumed.cfg.epochs == 2 and (resumed.stage, resumed.epoch) == (0, 1)
    assert resumed.fit() and resumed.iteration == 6
    rows = _losses(tmp_path / "run")
    assert [int(r[2]) for r in rows] == [1, 2, 3, 4, 5, 6] and {r[1] for r in rows} == {"0", "1"}


def test_resume_continues_in_the_folder_it_is_given(tmp_path):
    _train(tmp_path / "a", max_iters=2)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    resumed = Trainer.resume(tmp_path / "b", train_set=ToyScenes(N_IMAGES), max_iters=None)
    assert resumed.out == tmp_path / "b" and resumed.cfg.out == str(tmp_path / "b")


def test_checkpoints_from_before_the_registry_still_load(tmp_path):
    from bboxcore.models.faster_rcnn import FasterRCNN
    from bboxcore.models.predict import load_detector

    _train(tmp_path / "run", max_iters=2)
    path = tmp_path / "run" / CHECKPOINT
    state = serialization.load(path)
    assert str(state.pop("model_name")) == "faster_rcnn"
    train_config = json.loads(str(state["train_config"]))
    del train_config["model"]  # the old format: no detector name anywhere
    state["train_config"] = json.dumps(train_config)
    serialization.save(path, state)
    assert isinstance(load_detector(path), FasterRCNN)
    resumed = Trainer.resume(tmp_path / "run", train_set=ToyScenes(N_IMAGES), max_iters=None)
    assert resumed.cfg.model == "faster_rcnn" and resumed.iteration == 2
