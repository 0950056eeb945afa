"""The detector configurations of the built-in data sets, and of VOC/COCO folders.

Each preset is a :class:`~bboxcore.models.config.ModelConfig` whose
image-size-dependent values (stride, anchor sides, samples per image) are
scaled to the data, as the table of :mod:`bboxcore.models.config` says.
"""

from __future__ import annotations

from bboxcore.models.config import (
    AnchorConfig,
    BackboneConfig,
    DetectConfig,
    HeadConfig,
    ModelConfig,
    RPNConfig,
)

__all__ = ["centernet_config", "dataset_config", "mnist_config", "neon_config"]


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
