"""The Detector interface: every registered detector follows it, and a new one is one registration.

The contract (:mod:`bboxcore.models.base`): ``loss(images, targets, rng)`` returns
named scalar terms from ``loss_names`` whose sum back-propagates;
``predict(images)`` returns one ``(bbox, label, score)`` per image; the config
round-trips through a dict; the checkpoint rebuilds the detector from its name.
A toy one-stage detector registered in ``MODELS`` is then trained, resumed,
reloaded, evaluated and plotted by the generic trainer, without any change to it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import numpy as np
import pytest

from bboxcore.models import registry
from bboxcore.models.base import Detector, Prediction, Target
from bboxcore.models.checkpoint import detector_from_state
from bboxcore.models.config import TrainConfig, config_to_dict
from bboxcore.models.predict import evaluate, load_detector
from bboxcore.models.registry import MODELS, build_model
from bboxcore.models.runlog import plot_loss_curves
from bboxcore.models.trainer import Trainer
from bboxcore.nn import functional as F
from bboxcore.nn.modules import Linear
from bboxcore.nn.tensor import Tensor, no_grad
from tests.models.toy import ToyScenes


def _batch(size: int = 128):
    rng = np.random.default_rng(0)
    images = rng.random((1, size, size, 3), dtype=np.float32)
    target = Target(np.array([[20.0, 30.0, 60.0, 90.0]], np.float32), np.array([1]))
    return images, [target]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registered_detector_follows_the_interface(name):
    cls = MODELS[name]
    config = cls.default_config("mnist-det", [str(k) for k in range(10)])
    model = build_model(name, config, 0)
    assert isinstance(model, Detector) and model.n_class == 10
    assert cls.config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config
    images, targets = _batch()
    losses = model.loss(images, targets, np.random.default_rng(1))
    assert losses and set(losses) <= set(cls.loss_names)
    for term, value in losses.items():
        assert isinstance(value, Tensor) and value.shape == () and np.isfinite(value.item()), term
    sum(losses.values()).backward()
    assert any(p.grad is not None and np.abs(p.grad).sum() > 0 for p in model.parameters())
    (bbox, label, score), *rest = model.predict(images[0])
    assert rest == [] and bbox.shape == (len(label), 4) and len(score) == len(label)
    assert label.dtype == np.int64 and ((0 <= label) & (label < 10)).all()
    # the checkpoint format: the registry name, the config as JSON, the weights
    state = {
        "model_name": name,
        "model_config": json.dumps(config_to_dict(config)),
        "model": model.state_dict(),
    }
    again = detector_from_state(state)
    assert type(again) is cls
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v, err_msg=k)


# --------------------------------------------------------------------------- a new detector
@dataclass
class GlobalBoxConfig:
    n_class: int
    class_names: tuple[str, ...] = ()


class GlobalBox(Detector):
    """One box per image from the mean colour: enough to exercise every generic path."""

    loss_names = ("cls", "box")

    def __init__(self, config: GlobalBoxConfig, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        self.fc = Linear(3, config.n_class + 4, rng=rng)

    @classmethod
    def config_from_dict(cls, data: dict) -> GlobalBoxConfig:
        return GlobalBoxConfig(int(data["n_class"]), tuple(data["class_names"]))

    @classmethod
    def default_config(cls, dataset, class_names) -> GlobalBoxConfig:
        return GlobalBoxConfig(len(class_names), tuple(class_names))

    def _forward(self, images) -> Tensor:
        x = np.asarray(images, np.float32)
        return self.fc(Tensor(x.mean(axis=(1, 2))))  # (N, K + 4)

    def loss(self, images, targets, rng=None) -> dict[str, Tensor]:
        out, k = self._forward(images), self.config.n_class
        label = np.array([t.label[0] for t in targets])
        box = np.stack([t.bbox[0] / images.shape[1] for t in targets]).astype(np.float32)
        diff = out[:, k:] - Tensor(box)
        return {"cls": F.softmax_cross_entropy(out[:, :k], label), "box": (diff * diff).mean()}

    def predict(self, images) -> list[Prediction]:
        images = np.asarray(images, np.float32)
        images = images[None] if images.ndim == 3 else images
        with no_grad():
            out = self._forward(images).data
        k, side = self.config.n_class, images.shape[1]
        preds = []
        for row in out:
            lo = np.clip(np.minimum(row[k : k + 2], row[k + 2 :]), 0, 0.5) * side
            bbox = np.concatenate([lo, lo + side / 2])[None].astype(np.float32)
            preds.append(Prediction(bbox, np.array([row[:k].argmax()]), np.ones(1, np.float32)))
        return preds


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "global_box", GlobalBox)


def test_a_new_detector_is_one_registration(tmp_path, toy_registered):
    train = ToyScenes(4)
    cfg = TrainConfig(
        model="global_box", out=str(tmp_path / "run"), epochs=2, batch_size=2, lr=0.05,
        warmup_iters=1, progress=False, eval_every=0, max_iters=3,
    )  # fmt: skip
    trainer = Trainer(GlobalBox.default_config("toy", train.class_names), cfg, train)
    assert trainer.fit() is False  # stopped at max_iters, checkpointed
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[4:6] == ["cls", "box"]  # the detector's own loss names
    resumed = Trainer.resume(tmp_path / "run", train_set=train, max_iters=None)
    assert isinstance(resumed.model, GlobalBox) and resumed.iteration == 3
    assert resumed.fit() and resumed.iteration == 4
    model = load_detector(tmp_path / "run")
    assert isinstance(model, GlobalBox)
    metrics = evaluate(model, ToyScenes(2, seed=5))
    assert 0.0 <= metrics["ap50"] <= 1.0 and metrics["n_images"] == 2
    plot_loss_curves(tmp_path / "run" / "log.csv", tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_the_alternating_scheme_refuses_a_detector_without_an_rpn(tmp_path, toy_registered):
    cfg = TrainConfig(model="global_box", out=str(tmp_path / "run"), scheme="alternating")
    with pytest.raises(ValueError, match="scheme 'alternating' cannot train a GlobalBox"):
        Trainer(GlobalBox.default_config("toy", ("a", "b")), cfg, ToyScenes(2))


def test_build_model_names_the_known_detectors():
    with pytest.raises(ValueError, match="model must be one of faster_rcnn"):
        build_model("no_such_detector", None, 0)
