"""The Faster R-CNN configurations of the built-in data sets, and of VOC/COCO folders.

Each preset is a :class:`~bboxcore.models.config.ModelConfig` whose
image-size-dependent values (stride, anchor sides, samples per image) are
scaled to the data, as the table of :mod:`bboxcore.models.config` says.

The presets of the other detectors sit next to their config classes
(:func:`bboxcore.models.yolo.yolov1_config`, :func:`~bboxcore.models.yolo.yolov3_config`,
:func:`bboxcore.models.centernet.centernet_config`,
:func:`bboxcore.models.retinanet.retinanet_config`, :func:`bboxcore.models.fcos.fcos_config`)
and are importable from here too.
"""

from __future__ import annotations

from bboxcore.models.centernet import centernet_config as centernet_config
from bboxcore.models.config import (
    AnchorConfig,
    BackboneConfig,
    DetectConfig,
    HeadConfig,
    ModelConfig,
    RPNConfig,
)
from bboxcore.models.fcos import fcos_config as fcos_config
from bboxcore.models.retinanet import retinanet_config as retinanet_config
from bboxcore.models.yolo import yolov1_config as yolov1_config
from bboxcore.models.yolo import yolov3_config as yolov3_config

__all__ = ["dataset_config", "mnist_config", "neon_config"]


def mnist_config(n_class: int = 10) -> ModelConfig:
    """The model for 128-px MNIST detection scenes: stride 8, anchors of 16, 32, 64 px.

    Digits are 12-40 px: base 8 x scales (2, 4, 8) x ratios (0.5, 1, 2) covers them.

    Parameters
    ----------
    n_class : int
        10 digits.

    Returns
    -------
    ModelConfig

    Examples
    --------
    >>> cfg = mnist_config()
    >>> cfg.backbone.feat_stride, cfg.anchor.n_anchor
    (8, 9)
    """
    return ModelConfig(
        n_class=n_class,
        class_names=tuple(str(k) for k in range(n_class)),
        backbone=BackboneConfig(channels=(16, 32, 64, 64), n_pool=3),
        anchor=AnchorConfig(base_size=8.0, scales=(2.0, 4.0, 8.0)),
    )


def neon_config() -> ModelConfig:
    """The model for NEON tree-crown tiles at 10 cm/px: five conv blocks, stride 8, anchors 16-54.

    Crowns are 16-68 px across (5th-95th percentile, median 37) and roughly
    round. The backbone has a fifth block (16, 32, 64, 128, 128 channels, batch
    norm: trained from scratch on 66 tiles, it needs the capacity and the
    conditioning), giving a 70 px receptive field. The anchors keep the ratios
    (0.5, 1, 2) but use four sides 1.5x apart, 16, 24, 36 and 54 px (base 4 x
    scales 4, 6, 9, 13.5), so that a crown has an anchor of close size; the RPN
    samples 128 anchors and the head 128 RoIs per tile (a tile holds up to ~40
    crowns).

    The head's NMS is at IoU 0.5 instead of py-faster-rcnn's (and chainercv's)
    0.3: the crowns touch and overlap, and 0.3 suppresses neighbours. Chosen, as
    RetinaNet's and FCOS's NEON NMS, on the training tiles of folds 0-2: mean
    AP50 0.5805 at 0.5 and 0.5804 at 0.4 (a tie; COCO AP 0.210 against 0.206
    decides), 0.565 at 0.3, 0.559 at 0.6; record
    ``docs/results/trials/faster_rcnn_neon_nms_sweep.json``. NMS is not part of
    training: the same weights, evaluated at 0.5.

    Returns
    -------
    ModelConfig

    Examples
    --------
    >>> cfg = neon_config()
    >>> cfg.n_class, cfg.anchor.n_anchor, cfg.backbone.feat_stride, cfg.detect.nms_thresh
    (1, 12, 8, 0.5)
    """
    return ModelConfig(
        n_class=1,
        class_names=("Tree",),
        backbone=BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=3, batch_norm=True),
        anchor=AnchorConfig(base_size=4.0, scales=(4.0, 6.0, 9.0, 13.5)),
        rpn=RPNConfig(n_sample=128, n_train_post_nms=400, n_test_post_nms=300),
        head=HeadConfig(n_sample=128),
        detect=DetectConfig(nms_thresh=0.5, max_detections=100),
    )


def dataset_config(dataset: str, class_names) -> ModelConfig:
    """The model for a ``--dataset``: :func:`mnist_config`, :func:`neon_config`, or stride 16.

    VOC/COCO folders (images padded to 512 px) get five conv blocks
    (16, 32, 64, 128, 128), stride 16, anchors of 32-256 px.

    Parameters
    ----------
    dataset : str
        ``'mnist-det'``, ``'neon-trees'``, ``'voc:PATH'`` or ``'coco:PATH'``.
    class_names : sequence of str
        The data set's classes (K = their number).

    Returns
    -------
    ModelConfig

    Examples
    --------
    >>> dataset_config("voc:/data", ["cat", "dog"]).backbone.feat_stride
    16
    """
    from bboxcore.models.datasets import dataset_kind

    kind = dataset_kind(dataset)
    if kind == "mnist-det":
        return mnist_config(len(class_names))
    if kind == "neon-trees":
        return neon_config()
    return ModelConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        backbone=BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=4),
        anchor=AnchorConfig(base_size=16.0, scales=(2.0, 4.0, 8.0, 16.0)),
    )
