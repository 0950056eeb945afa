"""Every hyper-parameter of the tiny Faster R-CNN and of its training, as dataclasses.

Configuration lives here, never in globals (nanoGPT's habit): a run is fully
described by one :class:`ModelConfig` and one :class:`TrainConfig`, both of
which round-trip through plain dictionaries (:func:`config_to_dict`,
:func:`model_config_from_dict`, :func:`train_config_from_dict`) so that they
can be written into a checkpoint and a JSON log. The data-set presets
(:func:`~bboxcore.models.presets.mnist_config` ...) live in :mod:`bboxcore.models.presets`.

The defaults are the canonical Faster R-CNN values of the paper [1]_ where they
do not depend on the image size (IoU thresholds, ratios, loss σ, the loc std
(0.1, 0.1, 0.2, 0.2) of *The losses of Faster R-CNN*). The image-size-dependent ones are scaled
down for a 2-core CPU, and say so:

========================  ==================  =====================================
quantity                  paper (VGG-16)      here
========================  ==================  =====================================
feature stride            16                  8
anchor sides              128, 256, 512 px    16, 32, 64 (MNIST); 16, 24, 36, 54 (NEON)
RPN samples per image     256                 64 (MNIST), 128 (NEON)
proposals train / test    2000 / 300          300 / 100 (MNIST), 400 / 300 (NEON)
RoIs per image (head)     128                 64 (MNIST), 128 (NEON)
proposal min_size         16 px               4 px
========================  ==================  =====================================

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bboxcore._checks import unit_interval as _unit  # a number in [0, 1]
from bboxcore.encoding import LOC_NORMALIZE_MEAN, LOC_NORMALIZE_STD
from bboxcore.models.schemes import TRAINING_SCHEMES  # the one list, defined with the stages

__all__ = [
    "OBJECTNESS",
    "OPTIMIZERS",
    "ROI_OPS",
    "SCHEDULES",
    "TRAINING_SCHEMES",
    "AnchorConfig",
    "BackboneConfig",
    "DetectConfig",
    "HeadConfig",
    "ModelConfig",
    "RPNConfig",
    "TrainConfig",
    "config_to_dict",
    "model_config_from_dict",
    "train_config_from_dict",
]

#: The two RPN classifiers of *Object Detection: Faster R-CNN*: 2A softmax scores or A sigmoid
#: scores per cell.
OBJECTNESS = ("softmax", "sigmoid")
#: The two RoI feature extractors of *Detection – 3 stages*: bilinear RoI Align or max RoI Pool.
ROI_OPS = ("align", "pool")
#: Optimisers the trainer can build.
OPTIMIZERS = ("sgd", "adam")
#: Learning-rate schedules after the linear warm-up.
SCHEDULES = ("step", "cosine", "constant")


def _choice(value: str, choices: tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def _positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")


@dataclass
class BackboneConfig:
    """The small CNN: ``len(channels)`` blocks of 3x3 conv + ReLU, a 2x2 max-pool after each
    of the first ``n_pool`` blocks (feature stride ``2 ** n_pool``).

    Parameters
    ----------
    channels : tuple of int
        Output channels of each conv block, e.g. ``(16, 32, 64, 64)``.
    n_pool : int
        How many blocks end with a 2x2/2 max-pool: 3 gives stride 8, 4 gives 16.
    in_channels : int
        3 for RGB.
    batch_norm : bool
        Batch normalisation after each convolution (helps training from scratch).
    """

    channels: tuple[int, ...] = (16, 32, 64, 64)
    n_pool: int = 3
    in_channels: int = 3
    batch_norm: bool = False

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if not self.channels or min(self.channels) < 1:
            raise ValueError(
                f"channels must be a non-empty tuple of ints >= 1; got {self.channels}"
            )
        if not 0 <= self.n_pool <= len(self.channels):
            raise ValueError(
                f"n_pool must be in [0, {len(self.channels)}] (one pool per block at most); "
                f"got {self.n_pool}"
            )

    @property
    def feat_stride(self) -> int:
        """Pixels of the image per cell of the feature map."""
        return 2**self.n_pool


@dataclass
class AnchorConfig:
    """Anchors of :func:`bboxcore.anchors.generate_anchor_base`: side = ``base_size * scale``.

    Parameters
    ----------
    base_size : float
        Pixels; by default the feature stride.
    ratios : tuple of float
        Height / width, (0.5, 1, 2) as in the paper.
    scales : tuple of float
        Anchor sides in units of ``base_size``: (2, 4, 8) with base 8 gives 16, 32, 64 px.
    """

    base_size: float = 8.0
    ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    scales: tuple[float, ...] = (2.0, 4.0, 8.0)

    def __post_init__(self) -> None:
        self.ratios = tuple(float(r) for r in self.ratios)
        self.scales = tuple(float(s) for s in self.scales)
        _positive(self.base_size, "base_size")

    @property
    def n_anchor(self) -> int:
        """A, the anchors per feature-map cell."""
        return len(self.ratios) * len(self.scales)


@dataclass
class RPNConfig:
    """Region proposal network: head width, objectness variant, anchor targets, proposals.

    Parameters
    ----------
    mid_channels : int
        Channels of the 3x3 sliding-window conv.
    objectness : {'softmax', 'sigmoid'}
        2A softmax scores (object / background) or A sigmoid scores per cell
        (*Object Detection: Faster R-CNN*).
    n_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio
        :class:`bboxcore.targets.AnchorTargetCreator` (paper: 256, 0.7, 0.3, 0.5).
    nms_thresh, n_train_pre_nms, n_train_post_nms, n_test_pre_nms, n_test_post_nms, min_size
        :class:`bboxcore.targets.ProposalCreator` (paper: 0.7, 12000, 2000, 6000, 300, 16).
    sigma : float
        σ of the RPN smooth-L1 loss (paper: 3).
    """

    mid_channels: int = 64
    objectness: str = "softmax"
    n_sample: int = 64
    pos_iou_thresh: float = 0.7
    neg_iou_thresh: float = 0.3
    pos_ratio: float = 0.5
    nms_thresh: float = 0.7
    n_train_pre_nms: int = 1200
    n_train_post_nms: int = 300
    n_test_pre_nms: int = 600
    n_test_post_nms: int = 100
    min_size: float = 4.0
    sigma: float = 3.0

    def __post_init__(self) -> None:
        _choice(self.objectness, OBJECTNESS, "objectness")
        for name in ("pos_iou_thresh", "neg_iou_thresh", "pos_ratio", "nms_thresh"):
            _unit(getattr(self, name), name)
        _positive(self.sigma, "sigma")


@dataclass
class HeadConfig:
    """RoI feature extraction and the Fast R-CNN head.

    Parameters
    ----------
    roi_op : {'align', 'pool'}
        RoI Align (bilinear, default) or RoI Pool (max).
    roi_size : int
        Output side of the RoI op (paper: 7).
    sampling_ratio : int
        Bilinear samples per bin side for RoI Align.
    fc_dim : int
        Width of the two fully connected layers (paper: 4096).
    n_sample, pos_ratio, pos_iou_thresh, neg_iou_thresh_hi, neg_iou_thresh_lo
        :class:`bboxcore.targets.ProposalTargetCreator` (paper: 128, 0.25, 0.5, 0.5, 0.0).
    sigma : float
        σ of the head smooth-L1 loss (paper: 1).
    loc_normalize_mean, loc_normalize_std : tuple of 4 floats
        Normalisation of the head's offsets (*The losses of Faster R-CNN*: std
        (0.1, 0.1, 0.2, 0.2)).
    """

    roi_op: str = "align"
    roi_size: int = 7
    sampling_ratio: int = 2
    fc_dim: int = 256
    n_sample: int = 64
    pos_ratio: float = 0.25
    pos_iou_thresh: float = 0.5
    neg_iou_thresh_hi: float = 0.5
    neg_iou_thresh_lo: float = 0.0
    sigma: float = 1.0
    loc_normalize_mean: tuple[float, ...] = LOC_NORMALIZE_MEAN
    loc_normalize_std: tuple[float, ...] = LOC_NORMALIZE_STD

    def __post_init__(self) -> None:
        _choice(self.roi_op, ROI_OPS, "roi_op")
        self.loc_normalize_mean = tuple(float(v) for v in self.loc_normalize_mean)
        self.loc_normalize_std = tuple(float(v) for v in self.loc_normalize_std)
        _unit(self.pos_ratio, "pos_ratio")
        _positive(self.sigma, "sigma")


@dataclass
class DetectConfig:
    """Post-processing of the head's output into detections.

    Parameters
    ----------
    nms_thresh : float
        IoU threshold of the per-class NMS (chainercv: 0.3).
    score_thresh : float
        Detections below this class probability are dropped (0.05 for mAP).
    max_detections : int
        Top-k detections kept per image.
    """

    nms_thresh: float = 0.3
    score_thresh: float = 0.05
    max_detections: int = 100

    def __post_init__(self) -> None:
        _unit(self.nms_thresh, "nms_thresh")
        _unit(self.score_thresh, "score_thresh")


@dataclass
class ModelConfig:
    """The whole detector: K foreground classes and the configs of its parts.

    Parameters
    ----------
    n_class : int
        K, the number of object classes (the head predicts K + 1 with background).
    class_names : tuple of str
        Names of classes 0 .. K-1 (for pictures and JSON), optional.
    backbone, anchor, rpn, head, detect
        The parts' configs.
    """

    n_class: int = 10
    class_names: tuple[str, ...] = ()
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    anchor: AnchorConfig = field(default_factory=AnchorConfig)
    rpn: RPNConfig = field(default_factory=RPNConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)

    def __post_init__(self) -> None:
        if int(self.n_class) < 1:
            raise ValueError(f"n_class must be >= 1 (foreground classes); got {self.n_class}")
        self.class_names = tuple(str(c) for c in self.class_names)
        if self.class_names and len(self.class_names) != self.n_class:
            raise ValueError(
                f"class_names must have n_class = {self.n_class} entries; "
                f"got {len(self.class_names)}"
            )


@dataclass
class TrainConfig:
    """How to train: data, optimiser, schedule, augmentation, seed, output.

    The defaults are those of the ``mnist-det`` teaching run; ``bboxcore train``
    picks per-data-set defaults for the epochs, optimiser, flips and validation
    (:func:`bboxcore.models.train.config_from_args`).

    Parameters
    ----------
    dataset : str
        ``'mnist-det'``, ``'neon-trees'``, ``'voc:PATH'`` or ``'coco:PATH'``.
    model : str
        The detector, a key of :data:`bboxcore.models.registry.MODELS`.
    out : str
        Run folder (checkpoint, log, pictures).
    epochs : int
        Passes over the training split (for ``'alternating'``: per stage).
    batch_size : int
        Images per optimiser step (the losses are averaged over them).
    optimizer : {'sgd', 'adam'}
    lr, momentum, weight_decay : float
        SGD with momentum and L2 weight decay (Adam uses ``lr`` and ``weight_decay``).
    schedule : {'step', 'cosine', 'constant'}
        After ``warmup_iters`` of linear warm-up from ``warmup_factor * lr``.
    milestones : tuple of float
        For ``'step'``: fractions of the run at which the rate is multiplied by ``gamma``.
    flip : bool
        Random horizontal flips (probability 1/2) of training images (off for
        digits, which are not symmetric).
    vflip : bool
        Random vertical flips too (aerial images have no "up"; digits do).
    transpose : bool
        Random transposes (x and y swapped) of square images: with both flips,
        the 8 symmetries of the square.
    seed : int
        Seeds weight init, shuffling, flips and the target creators' sampling.
    scheme : {'joint', 'alternating'}
        Approximate joint training, or the paper's 4-step alternating training
        (:data:`bboxcore.models.schemes.SCHEMES`).
    n_train, n_val : int or None
        Limit the number of training / validation images (None: all).
    max_iters : int or None
        Stop (and checkpoint) after this many optimiser steps in total, without
        changing the schedule, which still spans ``epochs`` (tests, quick runs).
    grad_clip : float or None
        Clip the global gradient norm (None: off).
    eval_every : int
        Validate every this many epochs (0: only at the end).
    multiscale : tuple of int
        Multi-scale training (Redmon & Farhadi, "YOLO9000: Better, Faster,
        Stronger", arXiv:1612.08242, Sec. 2 "Multi-Scale Training"): every
        ``multiscale_every`` steps the batch is resized to a side drawn from
        these, each a multiple of 32 (the paper: 320, 352, ..., 608, every 10
        batches); empty: off. Only for fully convolutional detectors.
    multiscale_every : int
        Steps between two draws of the side.
    mosaic : float in [0, 1]
        Probability that a training image is replaced by a mosaic of itself and
        three other training images, on a canvas of its size (Bochkovskiy, Wang,
        Liao, "YOLOv4: Optimal Speed and Accuracy of Object Detection",
        arXiv:2004.10934, Sec. 3.3; *Detection – 3 stages*, §H;
        :func:`bboxcore.models.datasets.load_batch`); 0: off, and nothing more
        is drawn from the run's generator.
    progress : bool
        Show the tqdm progress bar.
    """

    dataset: str = "mnist-det"
    model: str = "faster_rcnn"
    out: str = "runs/mnist"
    epochs: int = 2
    batch_size: int = 2
    optimizer: str = "sgd"
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_iters: int = 100
    warmup_factor: float = 0.01
    milestones: tuple[float, ...] = (0.75,)
    gamma: float = 0.1
    flip: bool = False
    vflip: bool = False
    transpose: bool = False
    seed: int = 0
    scheme: str = "joint"
    n_train: int | None = None
    n_val: int | None = None
    max_iters: int | None = None
    grad_clip: float | None = 10.0
    eval_every: int = 1
    multiscale: tuple[int, ...] = ()
    multiscale_every: int = 10
    mosaic: float = 0.0
    progress: bool = True

    def __post_init__(self) -> None:
        _choice(self.optimizer, OPTIMIZERS, "optimizer")
        _choice(self.schedule, SCHEDULES, "schedule")
        _choice(self.scheme, TRAINING_SCHEMES, "scheme")
        self.milestones = tuple(float(m) for m in self.milestones)
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1; got {self.epochs}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1; got {self.batch_size}")
        _positive(self.lr, "lr")
        self.multiscale = tuple(int(s) for s in self.multiscale)
        if any(s < 32 or s % 32 for s in self.multiscale):
            raise ValueError(
                f"multiscale sides must be positive multiples of 32; got {self.multiscale}"
            )
        if int(self.multiscale_every) < 1:
            raise ValueError(f"multiscale_every must be >= 1; got {self.multiscale_every}")
        self.mosaic = _unit(self.mosaic, "mosaic")


def config_to_dict(config: Any) -> dict:
    """A JSON-friendly ``dict`` of a (nested) config dataclass.

    Parameters
    ----------
    config : ModelConfig or TrainConfig

    Returns
    -------
    dict

    Examples
    --------
    >>> config_to_dict(ModelConfig(n_class=2))["rpn"]["sigma"]
    3.0
    """
    return dataclasses.asdict(config)


def _from_dict(cls, data: dict):
    """The config dataclass ``cls`` of plain ``data``; a key that is not a field is a ValueError.

    The one check behind every detector's ``config_from_dict`` (nested configs
    are converted by the dataclass's own ``__post_init__``).

    Examples
    --------
    >>> _from_dict(DetectConfig, {"nms_thresh": 0.5}).nms_thresh
    0.5
    >>> _from_dict(DetectConfig, {"nms": 0.5})
    Traceback (most recent call last):
    ...
    ValueError: unknown DetectConfig field(s) ['nms']; known: ['max_detections', ...]
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    return cls(**data)


def model_config_from_dict(data: dict) -> ModelConfig:
    """Inverse of :func:`config_to_dict` for a :class:`ModelConfig`.

    Parameters
    ----------
    data : dict

    Returns
    -------
    ModelConfig

    Raises
    ------
    ValueError
        If a key is not a field of the config.

    Examples
    --------
    >>> cfg = ModelConfig(n_class=3)
    >>> model_config_from_dict(config_to_dict(cfg)) == cfg
    True
    """
    data = dict(data)
    parts = {
        "backbone": BackboneConfig,
        "anchor": AnchorConfig,
        "rpn": RPNConfig,
        "head": HeadConfig,
        "detect": DetectConfig,
    }
    for name, cls in parts.items():
        if name in data and isinstance(data[name], dict):
            data[name] = _from_dict(cls, data[name])
    return _from_dict(ModelConfig, data)


def train_config_from_dict(data: dict) -> TrainConfig:
    """Inverse of :func:`config_to_dict` for a :class:`TrainConfig`.

    Parameters
    ----------
    data : dict

    Returns
    -------
    TrainConfig

    Raises
    ------
    ValueError
        If a key is not a field of the config.

    Examples
    --------
    >>> train_config_from_dict({"epochs": 2}).epochs
    2
    """
    return _from_dict(TrainConfig, dict(data))
