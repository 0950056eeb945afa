"""The detector configurations of the built-in data sets, and of VOC/COCO folders.

Each preset is a :class:`~bboxcore.models.config.ModelConfig` whose
image-size-dependent values (stride, anchor sides, samples per image) are
scaled to the data, as the table of :mod:`bboxcore.models.config` says.
"""

from __future__ import annotations

import numpy as np

from bboxcore.models.config import (
    AnchorConfig,
    BackboneConfig,
    DetectConfig,
    HeadConfig,
    ModelConfig,
    RPNConfig,
)

__all__ = [
    "centernet_config",
    "dataset_config",
    "fcos_config",
    "mnist_config",
    "neon_config",
    "retinanet_config",
    "yolov1_config",
    "yolov3_config",
]


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

    Returns
    -------
    ModelConfig

    Examples
    --------
    >>> cfg = neon_config()
    >>> cfg.n_class, cfg.anchor.n_anchor, cfg.backbone.feat_stride
    (1, 12, 8)
    """
    return ModelConfig(
        n_class=1,
        class_names=("Tree",),
        backbone=BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=3, batch_norm=True),
        anchor=AnchorConfig(base_size=4.0, scales=(4.0, 6.0, 9.0, 13.5)),
        rpn=RPNConfig(n_sample=128, n_train_post_nms=400, n_test_post_nms=300),
        head=HeadConfig(n_sample=128),
        detect=DetectConfig(max_detections=100),
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
    if dataset == "mnist-det":
        return mnist_config(len(class_names))
    if dataset == "neon-trees":
        return neon_config()
    return ModelConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        backbone=BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=4),
        anchor=AnchorConfig(base_size=16.0, scales=(2.0, 4.0, 8.0, 16.0)),
    )


# --------------------------------------------------------------------------- YOLO
#: Shape IoU above which an anchor besides the best one is responsible (None: the paper).
YOLOV3_ANCHOR_IOU_THRESH = 0.5
#: Input side of the YOLO presets per data set: MNIST scenes, NEON tiles, VOC/COCO folders.
YOLO_IMAGE_SIZE = {"mnist-det": 128, "neon-trees": 320}


def yolov1_config(dataset: str, class_names):
    """YOLOv1 for a data set: the grid S chosen so that a cell is about the size of an object.

    MNIST scenes (128 px, digits 12-40 px): five conv blocks of 16-32-64-128-128
    channels and four max-pools, stride 16, an 8×8 grid (16-px cells). NEON
    tiles (320 px, crowns 16-68 px) and folders (512 px): a sixth block and a
    fifth pool, stride 32, a 10×10 or 16×16 grid. B = 2, a 256-wide hidden FC
    layer (the paper: S = 7 at 448 px, 4096).

    Parameters
    ----------
    dataset : str
    class_names : sequence of str

    Returns
    -------
    bboxcore.models.yolo.Yolov1Config

    Examples
    --------
    >>> cfg = yolov1_config("mnist-det", [str(k) for k in range(10)])
    >>> cfg.grid_size, cfg.stride, cfg.n_box
    (8, 16, 2)
    """
    from bboxcore.models.yolo import Yolov1Config

    side = YOLO_IMAGE_SIZE.get(dataset, 512)
    channels = (16, 32, 64, 128, 128) if side == 128 else (16, 32, 64, 128, 128, 128)
    return Yolov1Config(
        n_class=len(class_names),
        class_names=tuple(class_names),
        img_size=(side, side),
        channels=channels,
    )


def yolov3_config(dataset: str, class_names, train_bbox=None, seed: int = 0):
    """YOLOv3 for a data set, with nine k-means anchors of its training boxes.

    Strides 8, 16, 32 (16, 8 and 4 cells on a 128-px scene; 40, 20, 10 on a
    320-px tile); stem and stages of 16-32-64-96-128 channels, a 64-channel
    neck. The anchors are YOLOv2's dimension clusters
    (:func:`bboxcore.anchors.kmeans_anchors`, d = 1 - IoU) of the training
    boxes' (w, h) in pixels, sorted by area, three per scale; they are stored
    in the config, hence in the checkpoint. Besides the paper's best anchor, every
    anchor with a shape IoU above ``YOLOV3_ANCHOR_IOU_THRESH`` = 0.5 is responsible
    for an object (AlexeyAB's darknet ``iou_thresh``): with one positive per digit
    the class scores learn too slowly for a CPU budget of minutes.

    Parameters
    ----------
    dataset : str
    class_names : sequence of str
    train_bbox : ndarray, shape (R, 4), optional
        The training boxes; read from the data set's ``'train'`` split when None.
    seed : int
        Seed of the k-means++ initialisation.

    Returns
    -------
    bboxcore.models.yolo.Yolov3Config

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy, wh = rng.uniform(0, 60, (200, 2)), rng.uniform(8, 60, (200, 2))
    >>> cfg = yolov3_config("mnist-det", ["a"], np.concatenate([xy, xy + wh], 1))
    >>> area = [w * h for w, h in cfg.anchors]
    >>> len(area), area == sorted(area)
    (9, True)
    """
    from bboxcore.anchors import kmeans_anchors
    from bboxcore.models.yolo import Yolov3Config

    if train_bbox is None:
        from bboxcore.models.datasets import build_dataset

        ds = build_dataset(dataset, "train")
        train_bbox = np.concatenate(
            [np.reshape(ds.annotation(i).bbox, (-1, 4)) for i in range(len(ds))]
        )
    b = np.asarray(train_bbox, np.float64).reshape(-1, 4)
    wh = b[:, 2:] - b[:, :2]
    wh = wh[(wh > 0).all(axis=1)]
    anchors, _ = kmeans_anchors(wh, 9, np.random.default_rng(seed))
    return Yolov3Config(
        n_class=len(class_names),
        class_names=tuple(class_names),
        anchors=tuple((round(float(w), 2), round(float(h), 2)) for w, h in anchors),
        anchor_iou_thresh=YOLOV3_ANCHOR_IOU_THRESH,
    )


# --------------------------------------------------------------------------- CenterNet
def centernet_config(dataset: str, class_names):
    """CenterNet for a data set: output stride R = 4, a stride-8 backbone and one x2 up-sampling.

    MNIST scenes (128 px, digits 12-40 px): the Faster R-CNN backbone (16-32-64-64
    channels, stride 8, receptive field 54 px), one nearest x2 up-sampling and a
    3x3 conv of 32 channels to R = 4 (a 32 x 32 grid: a digit covers 3-10 cells),
    heads of 32 channels. NEON tiles (320 px, crowns 16-68 px) get the batch-norm
    backbone of 16-32-64-128-128 channels (an 80 x 80 grid); folders (512 px) a
    stride-16 backbone and two up-samplings. Every preset keeps a Gaussian radius
    of at least one cell: with the paper's radius (:func:`bboxcore.targets.gaussian_radius`,
    r = 0.08 x side at IoU 0.7) objects under 12 cells would get one-cell targets.

    The MNIST result (test AP50 0.979, COCO AP 0.707, 12.5 min of training on the
    shared 2-core machine) was trained with ``bboxcore train --model centernet
    --dataset mnist-det --optimizer adam --lr 4e-3 --batch-size 8 --epochs 4
    --warmup-iters 200``.

    Parameters
    ----------
    dataset : str
        ``'mnist-det'``, ``'neon-trees'``, ``'voc:PATH'`` or ``'coco:PATH'``.
    class_names : sequence of str

    Returns
    -------
    bboxcore.models.centernet.CenterNetConfig

    Examples
    --------
    >>> cfg = centernet_config("mnist-det", [str(k) for k in range(10)])
    >>> cfg.stride, cfg.min_radius, cfg.n_class
    (4, 1, 10)
    """
    from bboxcore.models.centernet import CenterNetConfig

    if dataset == "mnist-det":
        backbone, n_up = BackboneConfig(channels=(16, 32, 64, 64), n_pool=3), 1
    elif dataset == "neon-trees":
        backbone = BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=3, batch_norm=True)
        n_up = 1
    else:
        backbone, n_up = BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=4), 2
    return CenterNetConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        backbone=backbone,
        n_upsample=n_up,
        upsample_channels=32,
        head_channels=32,
        min_radius=1,
    )


# --------------------------------------------------------------------------- RetinaNet, FCOS
def _pyramid(dataset: str):
    """The P3..P5 pyramid of the one-stage presets (:mod:`bboxcore.models.fpn`)."""
    from bboxcore.models.fpn import PyramidConfig

    if dataset == "mnist-det":  # C3 = the Faster R-CNN backbone (stride 8), then C4, C5
        return PyramidConfig(stem=(16, 32, 64, 64), stem_pool=3, stages=(96, 128))
    return PyramidConfig(stem=(16, 32, 64, 128), stem_pool=3, stages=(128, 128), batch_norm=True)


def retinanet_config(dataset: str, class_names):
    """RetinaNet for a data set: P3..P5 (strides 8-32), anchors of 16, 32, 64 px, 9 shapes each.

    The paper's P3..P7 with anchors of 32..512 px (4 x stride) suits 800-px
    images; the 128-px MNIST scenes (digits 5-40 px) and 320-px NEON tiles
    (crowns 16-70 px) keep P3..P5 with anchors of 2 x stride, i.e. sides 16 to
    101 px. Subnets of 2 x (3x3 conv 64 + ReLU) instead of 4 x 256 (CPU); a
    64-channel FPN; batch norm in the backbone for NEON.

    Parameters
    ----------
    dataset : str
    class_names : sequence of str

    Returns
    -------
    bboxcore.models.retinanet.RetinaNetConfig

    Examples
    --------
    >>> cfg = retinanet_config("mnist-det", [str(k) for k in range(10)])
    >>> cfg.pyramid.strides, cfg.anchor_sizes, cfg.n_anchor
    ((8, 16, 32), (16.0, 32.0, 64.0), 9)
    """
    from bboxcore.models.retinanet import RetinaNetConfig

    return RetinaNetConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        pyramid=_pyramid(dataset),
        anchor_sizes=(16.0, 32.0, 64.0),
        head_convs=2,
    )


def fcos_config(dataset: str, class_names):
    """FCOS for a data set: P3..P5 with size ranges 0 / 32 / 64 / inf px (the paper's halved).

    The paper assigns max(l*, t*, r*, b*) in 0-64, 64-128, ... 512-inf px to
    P3..P7 on 800-px images; on 128-320 px images with 5-70 px objects the
    ranges are halved and end at P5: 0-32 (P3), 32-64 (P4), 64-inf (P5).
    Branches of 2 x (3x3 conv 64, GN 8 groups, ReLU) instead of 4 x (256, GN 32).

    Parameters
    ----------
    dataset : str
    class_names : sequence of str

    Returns
    -------
    bboxcore.models.fcos.FcosConfig

    Examples
    --------
    >>> cfg = fcos_config("mnist-det", [str(k) for k in range(10)])
    >>> cfg.size_ranges
    ((0.0, 32.0), (32.0, 64.0), (64.0, inf))
    """
    from bboxcore.models.fcos import FcosConfig

    return FcosConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        pyramid=_pyramid(dataset),
        size_bounds=(32.0, 64.0),
        head_convs=2,
        group_norm=8,
    )
