"""A Faster R-CNN built only from bboxcore's own modules, and its trainer.

Read it in this order: :mod:`~bboxcore.models.config` (every hyper-parameter,
as dataclasses) and :mod:`~bboxcore.models.presets` (the data sets' models);
:mod:`~bboxcore.models.backbone`, :mod:`~bboxcore.models.rpn`,
:mod:`~bboxcore.models.roi_head`, :mod:`~bboxcore.models.faster_rcnn` (the
paper's figure, top to bottom) and :mod:`~bboxcore.models.predict` (from the
head's output to detections); then :mod:`~bboxcore.models.train` (the script:
``bboxcore train``), :mod:`~bboxcore.models.trainer`,
:mod:`~bboxcore.models.datasets`, :mod:`~bboxcore.models.runlog` and
:mod:`~bboxcore.tools.profile` (where the time goes).
"""

from bboxcore.models.config import ModelConfig, TrainConfig
from bboxcore.models.detect import detect_images
from bboxcore.models.faster_rcnn import FasterRCNN
from bboxcore.models.predict import evaluate, load_detector, suppress
from bboxcore.models.presets import dataset_config, mnist_config, neon_config
from bboxcore.models.trainer import Trainer, TrainingDiverged

__all__ = [
    "FasterRCNN",
    "ModelConfig",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "dataset_config",
    "detect_images",
    "evaluate",
    "load_detector",
    "mnist_config",
    "neon_config",
    "suppress",
]
