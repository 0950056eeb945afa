r"""The feature pyramid shared by RetinaNet and FCOS: a strided backbone and an FPN neck.

::

    image (N, 3, H, W), H and W padded to a multiple of the top stride
      │ stem: conv3x3 + ReLU blocks, 2x2 max-pools (:class:`~bboxcore.models.backbone.Backbone`)
      ▼
    C3 (N, c3, H/8, W/8) ── maxpool 2, conv3x3, ReLU ──► C4 (H/16) ── ... ──► C5 (H/32)
      │ lateral 1x1                                       │ lateral 1x1          │ lateral 1x1
      ▼                                                   ▼                      ▼
    M3 = L3 + up2(M4)  ◄──────── up2 (nearest) ──── M4 = L4 + up2(M5) ◄─ up2 ─ M5 = L5
      │ conv3x3                                           │ conv3x3              │ conv3x3
      ▼                                                   ▼                      ▼
    P3 (N, C, H/8, W/8)                                 P4 (H/16)              P5 (H/32)

FPN [1]_ (Sec. 3; *Detection – 3 stages*, §G3): the bottom-up pathway loses
resolution and gains semantics; the top-down pathway brings the semantics of
the coarse maps back to the fine ones by nearest-neighbour ×2 up-sampling,
adds the bottom-up map of the same size through a 1×1 *lateral* convolution
(which only matches the channels), and smooths every merged map with a 3×3
convolution "to reduce the aliasing effect of upsampling". Every level has
the same C channels, so one head can be shared by all of them.

Levels for small images: the paper builds P2..P6 on 800-px images (RetinaNet
and FCOS P3..P7, P6 and P7 by stride-2 convolutions on top). The 128-px MNIST
scenes and 320-px NEON tiles hold objects of 5-70 px, so the presets keep
**P3..P5** (strides 8, 16, 32): a 128-px image gives maps of 16², 8² and 4²
cells; P6/P7 (2² and 1²) would hold no object. The backbone has no
pretrained weights (the paper: an ImageNet ResNet); its stem is the
VGG-like stack of :mod:`bboxcore.models.backbone`, followed by one
max-pool + 3×3 conv stage per further level.

References
----------
.. [1] T.-Y. Lin, P. Dollár, R. Girshick, K. He, B. Hariharan, S. Belongie.
   "Feature Pyramid Networks for Object Detection." CVPR 2017, arXiv:1612.03144.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bboxcore._checks import as_float_array, as_image_size
from bboxcore.models.backbone import CONV_KSIZE, Backbone
from bboxcore.models.base import _normalized
from bboxcore.models.config import BackboneConfig
from bboxcore.nn import init
from bboxcore.nn.modules import BatchNorm2d, Conv2d, GroupNorm, MaxPool2d, Module, ReLU, Sequential
from bboxcore.nn.resample import upsample_nearest
from bboxcore.nn.tensor import Tensor

__all__ = [
    "FPN",
    "PyramidBackbone",
    "PyramidConfig",
    "check_group_norm",
    "conv_tower",
    "in_image",
    "pad_images",
]

#: Up-sampling factor between two pyramid levels (each level halves the map).
LEVEL_FACTOR = 2


@dataclass
class PyramidConfig:
    """The backbone and FPN of a one-stage detector.

    Parameters
    ----------
    stem : tuple of int
        Channels of the stem's conv blocks; the first ``stem_pool`` are followed
        by a 2x2 max-pool, so the stem ends at stride ``2 ** stem_pool`` (C3 at 8).
    stem_pool : int
        Max-pools of the stem.
    stages : tuple of int
        Channels of the further levels' stages (max-pool, 3x3 conv, ReLU), one
        per level above the stem's: ``(96, 128)`` gives C4 and C5.
    batch_norm : bool
        Batch norm after every backbone convolution.
    fpn_channels : int
        C of every pyramid level (the paper: 256).
    """

    stem: tuple[int, ...] = (16, 32, 64, 64)
    stem_pool: int = 3
    stages: tuple[int, ...] = (96, 128)
    batch_norm: bool = False
    fpn_channels: int = 64

    def __post_init__(self) -> None:
        self.stem, self.stages = tuple(self.stem), tuple(self.stages)
        if not self.stem or min(self.stem) < 1 or (self.stages and min(self.stages) < 1):
            raise ValueError(f"stem and stages need channels >= 1; got {self.stem}, {self.stages}")
        if not 0 <= self.stem_pool <= len(self.stem):
            raise ValueError(f"stem_pool must be in [0, {len(self.stem)}]; got {self.stem_pool}")
        if self.fpn_channels < 1:
            raise ValueError(f"fpn_channels must be >= 1; got {self.fpn_channels}")

    @property
    def strides(self) -> tuple[int, ...]:
        """Stride of each pyramid level in pixels, finest first (8, 16, 32)."""
        return tuple(2 ** (self.stem_pool + i) for i in range(len(self.stages) + 1))


class PyramidBackbone(Module):
    r"""Image -> [C3, C4, C5]: the stem, then one max-pool + 3x3 conv + ReLU per level.

    Parameters
    ----------
    config : PyramidConfig
    rng : numpy.random.Generator
        Source of the He-normal initialisation.

    Attributes
    ----------
    strides : tuple of int
    out_channels : tuple of int
        Channels of C3, C4, ...

    Examples
    --------
    >>> cfg = PyramidConfig(stem=(4, 8), stem_pool=1, stages=(8,), fpn_channels=8)
    >>> feats = PyramidBackbone(cfg, np.random.default_rng(0))(Tensor(np.zeros((1, 3, 8, 8))))
    >>> [f.shape for f in feats]
    [(1, 8, 4, 4), (1, 8, 2, 2)]
    """

    def __init__(self, config: PyramidConfig, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        self.stem = Backbone(
            BackboneConfig(config.stem, n_pool=config.stem_pool, batch_norm=config.batch_norm),
            rng,
        )
        self.feat_stride = 2**config.stem_pool  # the finest level's stride (bboxcore detect)
        stages, c_in = [], config.stem[-1]
        for c_out in config.stages:
            layers: list[Module] = [
                MaxPool2d(LEVEL_FACTOR),  # (N, c, h, w) -> (N, c, h/2, w/2)
                Conv2d(c_in, c_out, 3, padding=1, bias=not config.batch_norm, rng=rng),
            ]
            if config.batch_norm:
                layers.append(BatchNorm2d(c_out))
            stages.append(Sequential(*layers, ReLU()))
            c_in = c_out
        self.stages = stages
        self.strides = config.strides
        self.out_channels = (config.stem[-1], *config.stages)

    def layers(self) -> list[tuple[int, int]]:
        """``(ksize, stride)`` of every conv and pool from the image to the top level (C5).

        The input of :func:`bboxcore.anchors.receptive_field`: the stem's
        layers (:meth:`Backbone.layers` without the RPN window), then a 2x2/2
        max-pool and a 3x3 conv per stage.

        Examples
        --------
        >>> from bboxcore.anchors import receptive_field
        >>> cfg = PyramidConfig(stem=(4, 8), stem_pool=1, stages=(8,))
        >>> net = PyramidBackbone(cfg, np.random.default_rng(0))
        >>> net.layers()
        [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]
        >>> receptive_field(net.layers())  # C5 = C2 here: 3x3, pool, 3x3, pool, 3x3
        18
        """
        stem = self.stem.layers()[:-1]  # the last entry is the RPN's window
        return stem + [(LEVEL_FACTOR, LEVEL_FACTOR), (CONV_KSIZE, 1)] * len(self.stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        """(N, 3, H, W) -> [(N, c_l, H / s_l, W / s_l) for each level], finest first."""
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        return feats


class FPN(Module):
    r"""The top-down pathway with lateral connections: [C3, C4, C5] -> [P3, P4, P5].

    .. math::
        M_5 = L_5(C_5),\quad M_l = L_l(C_l) + \mathrm{up}_2(M_{l+1}),\quad
        P_l = \mathrm{conv}_{3\times3}(M_l)

    with :math:`L_l` a 1x1 convolution to C channels and :math:`\mathrm{up}_2`
    nearest-neighbour ×2 up-sampling (:func:`bboxcore.nn.functional.upsample_nearest`)
    [1]_ (Sec. 3).

    Parameters
    ----------
    in_channels : sequence of int
        Channels of C3, C4, ... (finest first).
    out_channels : int
        C of every P level.
    rng : numpy.random.Generator
    n_output : int, optional
        How many levels, finest first, get their 3x3 output convolution and are
        returned (default: all). CenterNet reads only P3 (``n_output=1``): the
        coarser levels still feed it through the top-down pathway, but their
        output convolutions would be weights without a gradient.

    Raises
    ------
    ValueError
        If ``n_output`` is not in [1, number of levels].

    Examples
    --------
    >>> fpn = FPN((4, 6), 5, np.random.default_rng(0))
    >>> c3, c4 = Tensor(np.ones((1, 4, 4, 4))), Tensor(np.ones((1, 6, 2, 2)))
    >>> [p.shape for p in fpn([c3, c4])]
    [(1, 5, 4, 4), (1, 5, 2, 2)]
    >>> [p.shape for p in FPN((4, 6), 5, np.random.default_rng(0), n_output=1)([c3, c4])]
    [(1, 5, 4, 4)]
    """

    def __init__(
        self, in_channels: Sequence[int], out_channels: int, rng, n_output: int | None = None
    ) -> None:
        super().__init__()
        n_output = len(in_channels) if n_output is None else n_output
        if not 1 <= n_output <= len(in_channels):
            raise ValueError(f"n_output must be in [1, {len(in_channels)}]; got {n_output}")
        self.lateral = [Conv2d(c, out_channels, 1, rng=rng) for c in in_channels]
        self.output = [
            Conv2d(out_channels, out_channels, 3, padding=1, rng=rng) for _ in range(n_output)
        ]
        for conv in (*self.lateral, *self.output):
            # no ReLU follows these convolutions: gain 1, not He's sqrt(2) (as detectron2's
            # c2_xavier_fill), so that the sum of two maps does not grow level after level
            init.kaiming_normal_(conv.weight, rng, gain=1.0)
        self.out_channels = out_channels

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        """[C_l (N, c_l, h_l, w_l)] -> [P_l (N, C, h_l, w_l)], each h_l = 2 h_{l+1}.

        Only the ``n_output`` finest P_l are computed and returned.
        """
        if len(feats) != len(self.lateral):
            raise ValueError(f"FPN expects {len(self.lateral)} levels; got {len(feats)}")
        top = len(feats) - 1
        merged = self.lateral[top](feats[top])  # M5 = L5(C5)
        outs = [self.output[top](merged)] if top < len(self.output) else []
        for level in range(top - 1, -1, -1):
            lateral = self.lateral[level](feats[level])  # (N, C, h, w)
            top_down = upsample_nearest(merged, LEVEL_FACTOR)  # (N, C, h/2, w/2) -> (N, C, h, w)
            if top_down.shape != lateral.shape:
                raise ValueError(
                    f"FPN level {level}: the up-sampled map is {top_down.shape[2:]}, the lateral "
                    f"one {lateral.shape[2:]}; image sides must be multiples of the top stride"
                )
            merged = lateral + top_down  # M_l = L_l(C_l) + up2(M_{l+1})
            if level < len(self.output):
                outs.insert(0, self.output[level](merged))  # P_l = conv3x3(M_l)
        return outs


def check_group_norm(group_norm: int, channels: int, name: str = "fpn_channels") -> None:
    """Raise ValueError unless ``group_norm`` (0 = none) is a non-negative divisor of ``channels``.

    Group normalisation (Wu & He, "Group Normalization", ECCV 2018,
    arXiv:1803.08494, Eq. 7) splits the C channels into G groups of C / G, so
    G must divide C; the heads of FCOS and RetinaNet and CenterNet's
    up-sampling stage check their ``group_norm`` field with it.

    Parameters
    ----------
    group_norm : int
        G, the number of groups; 0 for no normalisation.
    channels : int
        C, the channels of the normalised maps.
    name : str, default "fpn_channels"
        The config field holding ``channels``, named in the error.

    Raises
    ------
    ValueError
        If ``group_norm`` is negative, or positive and does not divide ``channels``.

    Examples
    --------
    >>> check_group_norm(8, 64)
    >>> check_group_norm(5, 64)
    Traceback (most recent call last):
    ...
    ValueError: group_norm (5) must be 0 or divide fpn_channels (64)
    """
    if group_norm < 0 or (group_norm and channels % group_norm):
        raise ValueError(f"group_norm ({group_norm}) must be 0 or divide {name} ({channels})")


def conv_tower(channels: int, n_conv: int, rng, *, group_norm: int = 0) -> Sequential:
    """``n_conv`` x (3x3 conv, [group norm], ReLU) at constant width: a subnet's body.

    RetinaNet's class and box subnets are 4 x (3x3 conv 256 + ReLU) (Sec. 4,
    Fig. 3); FCOS adds group normalisation (``group_norm`` = number of groups,
    0 for none). Both papers initialise these convolutions with N(0, 0.01^2):
    for 256 channels (fan-in 2304) that keeps about a quarter of the variance
    per layer, but for the presets' 64 channels (fan-in 576) it would shrink
    the signal 4x per layer and starve the classifier, so the towers keep the
    He-normal initialisation of :class:`~bboxcore.nn.modules.Conv2d`; only the
    output layers start at N(0, 0.01^2).

    Parameters
    ----------
    channels : int
        Input and output channels of every convolution.
    n_conv : int
        Number of blocks (0 gives an empty, identity ``Sequential``).
    rng : numpy.random.Generator
        Draws the convolution weights.
    group_norm : int
        Groups of the group normalisation after each convolution; 0 for none
        (must divide ``channels``).

    Returns
    -------
    Sequential
        Maps (N, channels, H, W) to (N, channels, H, W).

    Examples
    --------
    >>> tower = conv_tower(8, 2, np.random.default_rng(0), group_norm=4)
    >>> [type(m).__name__ for m in tower]
    ['Conv2d', 'GroupNorm', 'ReLU', 'Conv2d', 'GroupNorm', 'ReLU']
    >>> tower(Tensor(np.zeros((1, 8, 5, 5), np.float32))).shape
    (1, 8, 5, 5)
    """
    layers: list[Module] = []
    for _ in range(n_conv):
        layers.append(Conv2d(channels, channels, 3, padding=1, rng=rng))
        if group_norm:
            layers.append(GroupNorm(group_norm, channels))
        layers.append(ReLU())
    return Sequential(*layers)


def pad_images(images, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Normalise (N, H, W, 3) images in [0, 1] and zero-pad them to sides divisible by ``multiple``.

    The padding is at the bottom and right, so pixel coordinates are
    unchanged; it is 0 after normalising, i.e. the mean colour.

    Parameters
    ----------
    images : array_like, shape (N, H, W, 3) or (H, W, 3)
        RGB in [0, 1].
    multiple : int
        The padded sides are the smallest multiples of it (the top stride).

    Returns
    -------
    x : Tensor, shape (N, 3, H', W'), float32
        ``(image - PIXEL_MEAN) / PIXEL_STD``, channels first, padded.
    size : (int, int)
        The original (H, W) in pixels.

    Raises
    ------
    ValueError
        If ``images`` is not shaped (N, H, W, 3) or (H, W, 3).

    Examples
    --------
    >>> x, size = pad_images(np.full((2, 30, 45, 3), 0.5), 32)
    >>> x.shape, size, x.data.dtype, x.data[:, :, 30:, :].any()
    ((2, 3, 32, 64), (30, 45), dtype('float32'), np.False_)
    """
    x = _normalized(images)  # (N, 3, H, W)
    n, _, h, w = x.shape
    hp, wp = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    out = np.zeros((n, 3, hp, wp), np.float32)  # 0 = the mean colour after normalising
    out[:, :, :h, :w] = x
    return Tensor(out), (h, w)


def in_image(points: np.ndarray, img_size: tuple[int, int]) -> np.ndarray:
    """Which points lie in the image, not in the padding that :func:`pad_images` adds.

    A cell whose point is in the padding was never a positive in training
    (every ground-truth box is inside its image), so what the network outputs
    there is not a detection; the detectors drop it.

    Parameters
    ----------
    points : ndarray, shape (P, 2)
        ``(x, y)`` in pixels: FCOS's locations, the centres of RetinaNet's
        anchors, the top-left corners of CenterNet's cells.
    img_size : (int, int)
        ``(H, W)`` of the image before padding, in pixels.

    Returns
    -------
    ndarray of bool, shape (P,)
        ``x < W`` and ``y < H``.

    Raises
    ------
    TypeError
        If ``points`` is not a real numeric array.
    ValueError
        If ``points`` is not shaped (P, 2), or ``img_size`` is not two positive numbers.

    Examples
    --------
    >>> in_image(np.array([[4.0, 4.0], [44.0, 4.0], [4.0, 36.0]]), (30, 45))
    array([ True,  True, False])
    """
    points = as_float_array(points, "points")
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be shaped (P, 2), (x, y) in pixels; got {points.shape}")
    h, w = as_image_size(img_size)
    return (points[:, 0] < w) & (points[:, 1] < h)


# --------------------------------------------------------------------------- presets
def pyramid_config(dataset: str):
    """The P3..P5 pyramid of the one-stage presets for ``dataset`` (a :class:`PyramidConfig`).

    Parameters
    ----------
    dataset : str
        ``'mnist-det'``, ``'neon-trees'`` or a folder data set.

    Returns
    -------
    PyramidConfig

    Examples
    --------
    >>> pyramid_config("mnist-det").stem_pool
    3
    """

    from bboxcore.models.datasets import dataset_kind

    # MNIST: C3 = the Faster R-CNN backbone (stride 8), then C4, C5
    if dataset_kind(dataset) == "mnist-det":
        return PyramidConfig(stem=(16, 32, 64, 64), stem_pool=3, stages=(96, 128))
    return PyramidConfig(stem=(16, 32, 64, 128), stem_pool=3, stages=(128, 128), batch_norm=True)
