"""The detectors ``bboxcore`` knows, by name: one registration per detector.

:data:`MODELS` maps the name used by ``bboxcore train --model NAME`` and
stored in checkpoints to the :class:`~bboxcore.models.base.Detector`
subclass. Registering a class here is all a new detector needs to be trained,
resumed, checkpointed, evaluated and run by ``bboxcore detect``.
"""

from __future__ import annotations

import numpy as np

from bboxcore.models.base import Detector
from bboxcore.models.centernet import CenterNet
from bboxcore.models.faster_rcnn import FasterRCNN
from bboxcore.models.fcos import FCOS
from bboxcore.models.retinanet import RetinaNet
from bboxcore.models.yolo import YOLOv1, YOLOv3

__all__ = ["DEFAULT_MODEL", "MODELS", "build_model", "detector_class"]

#: name -> Detector subclass (the ``--model`` choices, in this order).
MODELS: dict[str, type[Detector]] = {
    "faster_rcnn": FasterRCNN,
    "centernet": CenterNet,
    "retinanet": RetinaNet,
    "fcos": FCOS,
    "yolov1": YOLOv1,
    "yolov3": YOLOv3,
}
#: The detector of runs and checkpoints that name none (everything before the registry).
DEFAULT_MODEL = "faster_rcnn"
#: Second word of the weight-initialisation seed, ``default_rng([seed, WEIGHT_STREAM])``.
WEIGHT_STREAM = 1


def detector_class(name: str) -> type[Detector]:
    """The :class:`~bboxcore.models.base.Detector` subclass registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.

    Returns
    -------
    type

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the known names).

    Examples
    --------
    >>> detector_class("faster_rcnn").__name__
    'FasterRCNN'
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {name!r}")
    return MODELS[name]


def build_model(name, config=None, seed: int = 0) -> Detector:
    """A freshly initialised detector; its weights depend on ``seed`` only.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`, e.g. ``'faster_rcnn'``. (The older form
        ``build_model(config, seed)`` still builds a Faster R-CNN.)
    config : dataclass
        The detector's configuration (e.g. a
        :class:`~bboxcore.models.config.ModelConfig` for ``'faster_rcnn'``).
    seed : int
        Seed of the weight initialisation, ``default_rng([seed, 1])``.

    Returns
    -------
    Detector

    Raises
    ------
    ValueError
        If ``name`` is not registered.

    Examples
    --------
    >>> from bboxcore.models.config import ModelConfig
    >>> a = build_model("faster_rcnn", ModelConfig(), 0)
    >>> b = build_model("faster_rcnn", ModelConfig(), 0)
    >>> all((p.data == q.data).all() for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    if not isinstance(name, str):  # the pre-registry form build_model(config, seed)
        name, config, seed = DEFAULT_MODEL, name, seed if config is None else config
    return detector_class(name)(config, np.random.default_rng([int(seed), WEIGHT_STREAM]))
