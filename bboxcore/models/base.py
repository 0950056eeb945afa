r"""The interface every detector of :mod:`bboxcore.models` implements.

A detector is a :class:`~bboxcore.nn.modules.Module` that knows two things
(torchvision's ``GeneralizedRCNN`` / ``RetinaNet`` / ``FCOS`` shape):

* :meth:`Detector.loss` — ``(images, targets) -> {name: scalar Tensor}``, its
  named loss terms; the trainer sums them and calls ``backward()``;
* :meth:`Detector.predict` — ``images -> [Prediction per image]``, the final
  boxes, labels and scores after post-processing.

Everything else a training run needs is generic and lives outside the model
file: the loop, the optimiser, the checkpoint, the log and the plots
(:mod:`bboxcore.models.trainer`, :mod:`bboxcore.models.runlog`), the
command line (:mod:`bboxcore.models.train_cli`) and the evaluation
(:func:`bboxcore.models.predict.evaluate`). A new detector is

1. one model module: a ``Detector`` subclass with its config dataclass
   (:attr:`Detector.loss_names`, :meth:`Detector.config_from_dict`,
   :meth:`Detector.default_config`);
2. one target module under :mod:`bboxcore.targets` (the paper's assigner,
   ``(gt boxes, labels, geometry) -> dense targets``, testable without a network);
3. one line in :data:`bboxcore.models.registry.MODELS`, which gives it
   ``bboxcore train --model NAME``, ``detect``, ``eval``, ``--resume`` and the
   checkpoint format.

Notation: N images of H x W pixels, R_i ground-truth boxes in image i, D
detections, K object classes (labels ``0 .. K-1``; no background label).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from bboxcore.nn.modules import Module
from bboxcore.nn.tensor import Tensor, no_grad

__all__ = ["PIXEL_MEAN", "PIXEL_STD", "Detector", "Prediction", "Target", "as_targets"]

#: Per-channel RGB mean and std that detectors normalise images in [0, 1] with (the ImageNet
#: values), ``(x - PIXEL_MEAN) / PIXEL_STD``.
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)


class Target(NamedTuple):
    """The ground truth of one training image, as :meth:`Detector.loss` reads it.

    Any object with ``bbox`` and ``label`` attributes works the same way
    (:class:`bboxcore.data.Sample`, :class:`bboxcore.data.Annotation`).

    Attributes
    ----------
    bbox : ndarray, shape (R, 4), float32
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels (R = 0 allowed).
    label : ndarray, shape (R,), int64
        Their classes, ``0 .. K-1``.

    Examples
    --------
    >>> t = Target(np.array([[0., 0., 4., 4.]], np.float32), np.array([1]))
    >>> t.bbox.shape, t.label.tolist()
    ((1, 4), [1])
    """

    bbox: np.ndarray
    label: np.ndarray


class Prediction(NamedTuple):
    """The detections of one image, as :meth:`Detector.predict` returns them.

    A named tuple, so ``bbox, label, score = model.predict(image)[0]`` keeps
    working; :meth:`to_detection` gives the data layer's
    :class:`bboxcore.data.sample.Detection` (checked, score as float64) that the
    metrics and the plots take.

    Attributes
    ----------
    bbox : ndarray, shape (D, 4), float32
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, by decreasing score.
    label : ndarray, shape (D,), int64
        Classes in ``0 .. K-1``.
    score : ndarray, shape (D,), float32
        Confidences (e.g. class probabilities).

    Examples
    --------
    >>> p = Prediction(np.zeros((1, 4), np.float32) + [0, 0, 2, 2], np.array([0]),
    ...                np.array([0.9], np.float32))
    >>> p.to_detection(image_id=7).image_id
    7
    """

    bbox: np.ndarray
    label: np.ndarray
    score: np.ndarray

    def to_detection(self, image_id: str | int | None = None):
        """The same detections as a :class:`bboxcore.data.sample.Detection`.

        Parameters
        ----------
        image_id : str or int, optional
            The image the detections belong to (what the metrics match on).

        Returns
        -------
        Detection
            Boxes float32, labels int64, scores float64.

        Raises
        ------
        ValueError
            If the arrays do not fit together (see :class:`~bboxcore.data.sample.Detection`).

        Examples
        --------
        >>> p = Prediction(np.array([[0, 0, 2, 2]], np.float32), np.array([1]),
        ...                np.array([0.9], np.float32))
        >>> d = p.to_detection(image_id="img_3")
        >>> d.image_id, d.label.tolist(), d.score.dtype
        ('img_3', [1], dtype('float64'))
        """
        from bboxcore.data.sample import Detection

        return Detection(self.bbox, self.label, self.score, image_id=image_id)


class Detector(Module):
    """Base class of the detectors: a module with named losses and post-processed predictions.

    Subclasses define ``__init__(config, rng)``, :meth:`loss`, :meth:`predict`,
    :attr:`loss_names`, :meth:`config_from_dict` and :meth:`default_config`,
    and register in :data:`bboxcore.models.registry.MODELS`.

    Attributes
    ----------
    config : dataclass
        The detector's configuration; it must have ``n_class`` (K) and
        ``class_names`` (tuple of K str, or empty), and round-trip through
        :func:`bboxcore.models.config.config_to_dict` and :meth:`config_from_dict`
        (it is stored in checkpoints).
    loss_names : tuple of str
        Every term :meth:`loss` can return, in the order they are logged
        (the columns of ``log.csv`` and the panels of ``loss_curves.png``).
    fully_convolutional : bool
        Whether the detector takes any input side that is a multiple of 32
        (what multi-scale training, ``--multiscale``, needs); False for a
        detector with fully connected layers over the whole image (YOLOv1).

    Examples
    --------
    >>> from bboxcore.models.registry import MODELS
    >>> all(issubclass(cls, Detector) for cls in MODELS.values())
    True
    >>> MODELS["yolov1"].loss_names, MODELS["yolov1"].fully_convolutional
    (('xy', 'wh', 'obj', 'noobj', 'cls'), False)
    """

    loss_names: ClassVar[tuple[str, ...]] = ()
    fully_convolutional: ClassVar[bool] = True
    config: Any

    @property
    def n_class(self) -> int:
        """K, the number of object classes (labels ``0 .. K-1``).

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> model.n_class
        2
        """
        return int(self.config.n_class)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of labels ``0 .. K-1`` (``'0'``, ``'1'``, ... when the config has none).

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> model.class_names
        ('0', '1')
        """
        names = tuple(getattr(self.config, "class_names", ()) or ())
        return names or tuple(str(k) for k in range(self.n_class))

    def loss(
        self, images, targets: Sequence, rng: np.random.Generator | None = None
    ) -> dict[str, Tensor]:
        """The training losses of one batch.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3), float
            Pixels in [0, 1], one size per batch.
        targets : sequence of N :class:`Target`
            Per image, ``bbox`` (R_i, 4) pixels and ``label`` (R_i,) in ``0 .. K-1``.
        rng : numpy.random.Generator, optional
            Source of any sampling in the target assignment (the trainer passes
            its own so that runs repeat exactly).

        Returns
        -------
        dict of str to Tensor
            Named scalar terms, a subset of :attr:`loss_names`; the trainer
            minimises their sum.

        Examples
        --------
        >>> from bboxcore.models.base import Target
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
        >>> losses = model.loss(image, [Target(np.array([[4., 4., 20., 24.]]), np.array([1]))])
        >>> set(losses) <= set(model.loss_names), losses["cls"].shape
        (True, ())
        """
        raise NotImplementedError(f"{type(self).__name__} must define loss()")

    def predict(self, images) -> list[Prediction]:
        """Detections of each image (evaluation mode, no gradient).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H_i, W_i, 3)
            Pixels in [0, 1].

        Returns
        -------
        list of Prediction
            One per image, by decreasing score.

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> image = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
        >>> (pred,) = model.eval().predict(image)  # untrained: arbitrary boxes
        >>> pred.bbox.shape[1], pred.bbox.dtype, bool((np.diff(pred.score) <= 0).all())
        (4, dtype('float32'), True)
        """
        raise NotImplementedError(f"{type(self).__name__} must define predict()")

    def summary(self) -> dict:
        """Facts about the architecture written into ``history.json`` (e.g. the receptive field).

        Returns
        -------
        dict
            JSON-serialisable; empty unless a detector overrides it.

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> model.summary()["grid_size"], model.summary()["stride"]
        (8, 4)
        """
        return {}

    @classmethod
    def config_from_dict(cls, data: dict):
        """Rebuild the config from :func:`~bboxcore.models.config.config_to_dict`'s output.

        Parameters
        ----------
        data : dict
            Plain data, e.g. the ``model_config`` entry of a checkpoint.

        Returns
        -------
        dataclass
            The detector's config.

        Raises
        ------
        TypeError, ValueError
            If a field is unknown or a value is out of range.

        Examples
        --------
        >>> from bboxcore.models.config import config_to_dict
        >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> model = YOLOv1(cfg, np.random.default_rng(0))
        >>> YOLOv1.config_from_dict(config_to_dict(cfg)) == cfg
        True
        """
        raise NotImplementedError(f"{cls.__name__} must define config_from_dict()")

    @classmethod
    def train_defaults(cls, dataset: str) -> dict:
        """This detector's training recipe on a data set family: ``bboxcore train`` defaults.

        Parameters
        ----------
        dataset : str
            A family of :func:`bboxcore.models.datasets.dataset_kind`
            (``'mnist-det'``, ``'neon-trees'``, ``'voc'``, ``'coco'``).

        Returns
        -------
        dict
            :class:`~bboxcore.models.config.TrainConfig` fields (e.g. ``optimizer``,
            ``lr``, ``epochs``, ``batch_size``, ``warmup_iters``, ``weight_decay``)
            that replace the data set's defaults when the command line does not
            give them; ``lr`` applies only with this recipe's optimiser. Empty
            (the data set's defaults) unless a detector overrides it.

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1
        >>> YOLOv1.train_defaults("mnist-det")
        {'optimizer': 'adam', 'lr': 0.001, 'batch_size': 8, 'epochs': 4}
        >>> Detector.train_defaults("voc")
        {}
        """
        return {}

    @classmethod
    def default_config(cls, dataset: str, class_names: Sequence[str]):
        """The configuration for a data set (``'mnist-det'``, ``'neon-trees'``, a folder).

        Parameters
        ----------
        dataset : str
            The data set's name or folder.
        class_names : sequence of str
            Its classes; K = ``len(class_names)``.

        Returns
        -------
        dataclass
            The detector's config, sized for that data set.

        Examples
        --------
        >>> from bboxcore.models.yolo import YOLOv1
        >>> cfg = YOLOv1.default_config("mnist-det", ("cat", "dog"))
        >>> type(cfg).__name__, cfg.n_class, cfg.class_names
        ('Yolov1Config', 2, ('cat', 'dog'))
        """
        raise NotImplementedError(f"{cls.__name__} must define default_config()")


def as_targets(targets: Sequence, n: int) -> list[Target]:
    """Check ``targets`` holds ``n`` items with ``bbox`` (R, 4) and ``label`` (R,); normalise them.

    Parameters
    ----------
    targets : sequence of objects with ``bbox`` and ``label``
    n : int
        The number of images of the batch.

    Returns
    -------
    list of Target
        ``bbox`` as float32 (R, 4) — unchanged when it already is — and ``label`` as int64.

    Raises
    ------
    ValueError
        If the count differs from ``n`` or a box array is not (R, 4) with R labels.
    TypeError
        If an item has no ``bbox`` or ``label``.

    Examples
    --------
    >>> as_targets([Target(np.zeros((0, 4)), np.zeros(0))], 1)[0].bbox.dtype
    dtype('float32')
    """
    if len(targets) != n:
        raise ValueError(f"targets must have N = {n} entries (one per image); got {len(targets)}")
    out = []
    for i, t in enumerate(targets):
        if not (hasattr(t, "bbox") and hasattr(t, "label")):
            raise TypeError(
                f"targets[{i}] must have .bbox and .label (a Target, Sample or Annotation); "
                f"got {type(t).__name__}"
            )
        bbox = np.asarray(t.bbox, np.float32).reshape(-1, 4) if np.size(t.bbox) == 0 else t.bbox
        bbox, label = np.asarray(bbox, np.float32), np.asarray(t.label, np.int64).reshape(-1)
        if bbox.ndim != 2 or bbox.shape[1] != 4 or len(label) != len(bbox):
            raise ValueError(
                f"targets[{i}] must hold bbox (R, 4) and label (R,); "
                f"got {bbox.shape} and {label.shape}"
            )
        out.append(Target(bbox, label))
    return out


def _normalized(images) -> np.ndarray:
    """(N, H, W, 3) or (H, W, 3) images in [0, 1] -> ``(x - PIXEL_MEAN) / PIXEL_STD``, (N, 3, H, W).

    The one normalisation every detector's input goes through (its ``preprocess``,
    :func:`bboxcore.models.fpn.pad_images`).

    Raises
    ------
    ValueError
        If ``images`` is not shaped (N, H, W, 3) or (H, W, 3).

    Examples
    --------
    >>> x = _normalized(np.full((2, 3, 3), 0.485, np.float32))  # red at its mean
    >>> x.shape, x.dtype, float(x[0, 0, 0, 0])
    ((1, 3, 2, 3), dtype('float32'), 0.0)
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[3] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3) or (H, W, 3); got {x.shape}")
    mean, std = np.asarray(PIXEL_MEAN, np.float32), np.asarray(PIXEL_STD, np.float32)
    return ((x - mean) / std).transpose(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)


def _predict_each(model: Detector, images) -> list[Prediction]:
    """Run ``model._predict_batch`` in evaluation mode without gradient; the mode is restored.

    An array is one batch (one size); a list of (H_i, W_i, 3) images is run one
    image at a time (sizes may differ). What every one-stage detector's
    :meth:`Detector.predict` does around its own ``_predict_batch``.

    Examples
    --------
    >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> model = YOLOv1(cfg, np.random.default_rng(0))
    >>> preds = _predict_each(model, [np.zeros((32, 32, 3))] * 2)
    >>> len(preds), model.training  # one Prediction an image; still in training mode
    (2, True)
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    batches = [images] if isinstance(images, np.ndarray) else [[im] for im in images]
    was_training = model.training
    model.eval()
    try:
        out: list[Prediction] = []
        with no_grad():
            for batch in batches:
                out += model._predict_batch(np.asarray(batch, np.float32))
        return out
    finally:
        model.train(was_training)
