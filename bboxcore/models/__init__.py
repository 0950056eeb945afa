"""Detectors built only from bboxcore's own modules, one interface, and the trainer.

Read it in this order: :mod:`~bboxcore.models.base` (the
:class:`~bboxcore.models.base.Detector` interface: named losses,
post-processed predictions) and :mod:`~bboxcore.models.registry` (the
detectors by name, ``--model``); :mod:`~bboxcore.models.config` (every
hyper-parameter, as dataclasses) and :mod:`~bboxcore.models.presets` (the data
sets' models); :mod:`~bboxcore.models.backbone`, :mod:`~bboxcore.models.rpn`,
:mod:`~bboxcore.models.roi_head`, :mod:`~bboxcore.models.faster_rcnn` (the
paper's figure, top to bottom) and :mod:`~bboxcore.models.postprocess` (from
the head's output to detections); then :mod:`~bboxcore.models.trainer` (the
loop, checkpoints, signals), :mod:`~bboxcore.models.schemes` (joint and
alternating training), :mod:`~bboxcore.models.train_cli` (``bboxcore
train``), :mod:`~bboxcore.models.checkpoint`, :mod:`~bboxcore.models.datasets`,
:mod:`~bboxcore.models.runlog`, :mod:`~bboxcore.models.predict` (evaluation,
loading) and :mod:`~bboxcore.tools.profile` (where the time goes).
"""

from bboxcore.models.base import Detector, Prediction, Target
from bboxcore.models.config import ModelConfig, TrainConfig
from bboxcore.models.detect import detect_images
from bboxcore.models.faster_rcnn import FasterRCNN
from bboxcore.models.postprocess import suppress
from bboxcore.models.predict import evaluate, load_detector
from bboxcore.models.presets import dataset_config, mnist_config, neon_config
from bboxcore.models.registry import MODELS, build_model
from bboxcore.models.trainer import Trainer, TrainingDiverged, TrainingInterrupted

__all__ = [
    "MODELS",
    "Detector",
    "FasterRCNN",
    "ModelConfig",
    "Prediction",
    "Target",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "build_model",
    "dataset_config",
    "detect_images",
    "evaluate",
    "load_detector",
    "mnist_config",
    "neon_config",
    "suppress",
]
