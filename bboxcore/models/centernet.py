r"""CenterNet ("Objects as Points"), top to bottom like the paper's figure.

::

    image (N, H, W, 3) in [0, 1]
      │ normalise, (N, 3, H, W)  (pyramid: zero-padded to a multiple of the top stride, 32)
      ▼
    Backbone: 3x3 conv + ReLU blocks, 2x2 max-pools ──► (N, C, H/s, W/s)
      │   or, with ``pyramid`` set: PyramidBackbone ─► C3, C4, C5 ─► FPN top-down
      │   pathway with lateral 1x1 ─► P3 only (N, C, H/8, W/8), s = 8
      ▼
    up-sampling (optional): n_up x [x2 up-sample, 3x3 conv, ReLU] ──► (N, C', H/R, W/R)
      │                                                    R = s / 2^n_up, the output stride
      ├─► heatmap head: 3x3 conv, ReLU, 1x1 conv ──► (N, K, H/R, W/R)  logits, σ -> Ŷ
      ├─► size head:    3x3 conv, ReLU, 1x1 conv ──► (N, 2, H/R, W/R)  (w, h) in cells
      └─► offset head:  3x3 conv, ReLU, 1x1 conv ──► (N, 2, H/R, W/R)  (dx, dy) in cells
      ▼
    3x3 max-pool peaks, top 100, box (x + dx ± w/2, y + dy ± h/2) · R   (no NMS)

Training [1]_ (Sec. 3; the course deck *Detection – 3 stages*, §M): each
ground-truth box becomes a Gaussian on the heatmap of its class and size and
offset targets at its centre cell (:func:`bboxcore.targets.centernet_targets`,
plain NumPy, outside the graph); the loss is the penalty-reduced focal loss
plus 0.1 x L1 on the size and 1 x L1 on the offset, each divided by the
number of objects (:mod:`bboxcore.losses.centernet`). One network, one
backward pass, no anchors, no proposals and no NMS.

The paper's backbones (Hourglass-104, DLA-34, ResNet with transposed
convolutions) reach R = 4 at 512 px; here the backbone is the small VGG-like
stack of :mod:`bboxcore.models.backbone`, trained from scratch, and R is the
preset's choice (4 for the 128-px MNIST scenes, :mod:`bboxcore.models.presets`).

The optional pyramid neck (``CenterNetConfig.pyramid``): the paper's best
backbone, DLA-34 [2]_, up-samples back to stride 4 with skip connections
from the bottom-up layers (iterative deep aggregation, [1]_ Sec. 5
"Implementation details"), so that the fine output map also holds the
context of the coarse layers. The plain stack above has no skip and one
up-sampling (a 70-px receptive field on the NEON preset). With ``pyramid``
set, the network is the backbone and FPN of RetinaNet and FCOS
(:mod:`bboxcore.models.fpn`, Lin et al., arXiv:1612.03144, Sec. 3): the
top-down pathway with lateral connections is that kind of aggregation; its
finest map P3 (stride 8) sees what C5 sees, and the up-sampling stages take
it to R = 4. Images are then zero-padded at the bottom and right to a
multiple of the top stride (:func:`~bboxcore.models.fpn.pad_images`), so
boxes stay in the original pixels.

References
----------
.. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
   arXiv:1904.07850, 2019.
.. [2] F. Yu, D. Wang, E. Shelhamer, T. Darrell. "Deep Layer Aggregation."
   CVPR 2018, arXiv:1707.06484.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bboxcore._checks import unit_interval
from bboxcore.anchors import receptive_field
from bboxcore.boxes import clip_boxes
from bboxcore.losses.centernet import (
    CENTERNET_LOSS_NAMES,
    centernet_l1_loss,
    centernet_l1_loss_backward,
)
from bboxcore.models.backbone import Backbone
from bboxcore.models.base import Detector, Prediction, _normalized, _predict_each, as_targets
from bboxcore.models.config import BackboneConfig, _from_dict
from bboxcore.models.fpn import (
    FPN,
    PyramidBackbone,
    PyramidConfig,
    check_group_norm,
    in_image,
    pad_images,
    pyramid_config,
)
from bboxcore.models.retinanet import prior_bias
from bboxcore.nn import functional as F
from bboxcore.nn import init
from bboxcore.nn.modules import Conv2d, GroupNorm, Module, ReLU, Sequential, Upsample
from bboxcore.nn.tensor import Tensor
from bboxcore.targets.centernet import (
    centernet_decode,
    centernet_region_targets,
    centernet_targets,
)

__all__ = ["FLIP_TESTS", "LOSS_NAMES", "CenterNet", "CenterNetConfig", "heatmap_prior_bias"]

#: The three terms of the CenterNet objective, in the order they are logged.
LOSS_NAMES = CENTERNET_LOSS_NAMES

#: ``CenterNetConfig.flip_test`` -> the test passes, each a tuple of the axes of the
#: (N, C, H, W) input it flips: 3 = left-right, 2 = upside down.
FLIP_TESTS = {"none": ((),), "h": ((), (3,)), "hv": ((), (3,), (2,), (2, 3))}


def heatmap_prior_bias(prior: float) -> float:
    r"""The bias b of the heatmap's last layer that makes every initial score equal ``prior``.

    .. math::
        \sigma(b) = \pi \iff b = -\log\frac{1 - \pi}{\pi}

    With π = 0.1, b = -log 9 = -2.197 (CenterNet's ``hm`` bias, written -2.19
    in its code; taken from RetinaNet, :func:`~bboxcore.models.retinanet.prior_bias`,
    Lin et al. 2017, Sec. 4.1 "Initialization"). Almost every cell of a
    heatmap is background; a zero bias would start every cell at σ(0) = 0.5,
    and the thousands of background cells would then produce a huge focal
    loss and gradient in the first steps, which can destabilise training.
    Starting at 0.1 keeps the first losses of order one.

    Parameters
    ----------
    prior : float in (0, 1)
        π, the initial score of every cell.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``prior`` is not in (0, 1).

    Examples
    --------
    >>> round(heatmap_prior_bias(0.1), 4)  # -log 9; the reference code writes -2.19
    -2.1972
    """
    return prior_bias(prior)


@dataclass
class CenterNetConfig:
    """Every hyper-parameter of the CenterNet detector (a preset per data set in presets).

    Parameters
    ----------
    n_class : int
        K, the number of heatmaps.
    class_names : tuple of str
        Names of the labels 0 .. K-1 (may be empty).
    backbone : BackboneConfig
        The conv stack; its stride ``2 ** n_pool`` divided by ``2 ** n_upsample`` is R.
        Not used when ``pyramid`` is set.
    pyramid : PyramidConfig or None
        None (default): the network is ``backbone``, as before this field existed
        (configs saved without it load as such). Set: it replaces ``backbone``;
        the network is :class:`~bboxcore.models.fpn.PyramidBackbone` and
        :class:`~bboxcore.models.fpn.FPN`, and the up-sampling stages start from
        P3, the finest level (stride ``pyramid.strides[0]``), so
        R = ``pyramid.strides[0] // 2 ** n_upsample``.
    n_upsample : int
        x2 up-sampling stages after the backbone or P3 (0: they end at stride R);
        at most ``backbone.n_pool``, or ``pyramid.stem_pool`` with a pyramid.
    upsample_channels : int
        Channels of the up-sampling stages' convolutions.
    group_norm : int
        Groups of a group normalisation after each up-sampling stage's
        convolution, 0 for none (as before this field existed). The paper's
        DLA-34 up-sampling path normalises after every convolution (batch
        norm); group norm does the same without depending on a batch of 2.
    upsample_mode : {'nearest', 'bilinear'}
        How each stage doubles the grid before its 3x3 convolution (the paper
        uses 4x4 transposed convolutions after a ResNet; nearest + 3x3 conv
        has the same receptive field growth and no checkerboard artefacts).
    head_channels : int
        Channels of the 3x3 convolution of each head (the paper: 64 or 256).
    min_overlap : float
        :func:`bboxcore.targets.gaussian_radius`'s IoU, 0.7 in the paper.
    min_radius : int
        Smallest Gaussian radius in cells (:func:`bboxcore.targets.centernet_targets`).
    alpha, beta : float
        The focal loss's exponents (2 and 4).
    lambda_size, lambda_offset : float
        The weights of the size and offset L1 terms (0.1 and 1).
    reg_radius : int
        Size and offset are trained at the centre cell only (0, the paper) or
        also at the cells within this many cells of it whose centres lie in
        the box (:func:`bboxcore.targets.centernet_region_targets`, TTFNet's
        regression samples); the L1 terms are then means over the samples.
    prior : float
        π, the initial heatmap score (bias -2.19 for 0.1; :func:`heatmap_prior_bias`).
    max_detections : int
        Peaks kept per image (100 in the paper).
    score_thresh : float
        Peaks with a score at or below it are dropped.
    flip_test : {'none', 'h', 'hv'}
        Test-time flips (:data:`FLIP_TESTS`): ``'none'``, one pass; ``'h'``, the
        paper's flip test (Sec. 5 "Inference", Table 1's "F" column), the image
        and its mirror image, whose heatmaps and sizes are flipped back and
        averaged before decoding, the offsets taken from the plain pass;
        ``'hv'``, also the upside-down and the rotated-by-180° images: overhead
        imagery has no up, and the NEON recipe trains with both flips. Inference
        only (2 or 4 forward passes); not in any preset.
    """

    n_class: int = 10
    class_names: tuple[str, ...] = ()
    backbone: BackboneConfig = field(
        default_factory=lambda: BackboneConfig((16, 32, 64, 64, 64), n_pool=2)
    )
    pyramid: PyramidConfig | None = None
    n_upsample: int = 0
    upsample_channels: int = 64
    group_norm: int = 0
    upsample_mode: str = "nearest"
    head_channels: int = 32
    min_overlap: float = 0.7
    min_radius: int = 0
    alpha: float = 2.0
    beta: float = 4.0
    lambda_size: float = 0.1
    lambda_offset: float = 1.0
    reg_radius: int = 0
    prior: float = 0.1
    max_detections: int = 100
    score_thresh: float = 0.01
    flip_test: str = "none"

    def __post_init__(self) -> None:
        if isinstance(self.backbone, dict):
            self.backbone = BackboneConfig(**self.backbone)
        if isinstance(self.pyramid, dict):
            self.pyramid = PyramidConfig(**self.pyramid)
        self.class_names = tuple(self.class_names)
        if self.n_class < 1:
            raise ValueError(f"n_class must be >= 1; got {self.n_class}")
        if self.class_names and len(self.class_names) != self.n_class:
            raise ValueError(
                f"class_names must have n_class = {self.n_class} names; got {len(self.class_names)}"
            )
        if self.flip_test not in FLIP_TESTS:
            raise ValueError(
                f"flip_test must be one of {tuple(FLIP_TESTS)}; got {self.flip_test!r}"
            )
        unit_interval(self.score_thresh, "score_thresh")  # 0 keeps the padding's zeroed peaks out
        if self.upsample_mode not in Upsample.MODES:
            raise ValueError(
                f"upsample_mode must be one of {Upsample.MODES}; got {self.upsample_mode!r}"
            )
        n_pool, pools = (
            (self.backbone.n_pool, "backbone.n_pool")
            if self.pyramid is None
            else (self.pyramid.stem_pool, "pyramid.stem_pool")
        )
        if not 0 <= self.n_upsample <= n_pool:
            raise ValueError(
                f"n_upsample must be in [0, {pools} = {n_pool}]; got {self.n_upsample}"
            )
        for name in ("upsample_channels", "head_channels", "max_detections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("min_radius", "reg_radius"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if not 0 < self.min_overlap <= 1:
            raise ValueError(f"min_overlap must be in (0, 1]; got {self.min_overlap}")
        check_group_norm(self.group_norm, self.upsample_channels, "upsample_channels")
        heatmap_prior_bias(self.prior)  # checks 0 < prior < 1

    @property
    def stride(self) -> int:
        """R, image pixels per output cell."""
        if self.pyramid is not None:
            return self.pyramid.strides[0] // 2**self.n_upsample
        return 2 ** (self.backbone.n_pool - self.n_upsample)


def _head(c_in: int, c_mid: int, c_out: int, bias: float, rng: np.random.Generator) -> Sequential:
    """The paper's head: 3x3 conv, ReLU, 1x1 conv to the output channels.

    The last layer starts with N(0, 0.01^2) weights (RetinaNet's and the
    reference code's small init of the output layers) and a constant bias, so
    that every cell starts at the same output: the prior score for the
    heatmap, 0 for size and offset.
    """
    last = Conv2d(c_mid, c_out, 1, rng=rng)
    init.normal_(last.weight, rng, std=init.HEAD_STD)
    init.constant_(last.bias, bias)
    return Sequential(Conv2d(c_in, c_mid, 3, padding=1, rng=rng), ReLU(), last)


class CenterNet(Detector):
    r"""The anchor-free one-stage detector: objects as heatmap peaks, with size and offset.

    Notation: N images of H x W pixels, K classes, R the output stride, a
    (H/R) x (W/R) output grid.

    Parameters
    ----------
    config : CenterNetConfig
    rng : numpy.random.Generator
        Source of the weight initialisation.

    Attributes
    ----------
    backbone : Backbone or PyramidBackbone
        The latter when ``config.pyramid`` is set.
    fpn : FPN or None
        The top-down pathway that yields P3 (``config.pyramid`` set), else None.
    neck : Sequential or None
        The up-sampling stages (``config.n_upsample`` of them).
    heatmap_head, size_head, offset_head : Sequential
    stride : int
        R.

    Examples
    --------
    >>> from bboxcore.models.base import Target
    >>> cfg = CenterNetConfig(n_class=2, backbone=BackboneConfig((4, 8), n_pool=2),
    ...                       head_channels=8)
    >>> model = CenterNet(cfg, np.random.default_rng(0))
    >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    >>> losses = model.loss(image, [Target(np.array([[4., 4., 20., 24.]]), np.array([1]))])
    >>> list(losses)
    ['heatmap', 'size', 'offset']
    >>> sum(losses.values()).backward()
    >>> bbox, label, score = model.predict(image)[0]
    >>> bbox.shape[1], label.dtype, bool(np.allclose(score, 0.1, atol=0.02))  # σ(-2.19) = π
    (4, dtype('int64'), True)
    """

    loss_names = LOSS_NAMES

    def __init__(self, config: CenterNetConfig, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        if config.pyramid is None:
            self.backbone = Backbone(config.backbone, rng)
            self.fpn = None
            channels = self.backbone.out_channels
        else:  # C3..C5 -> P3 only: the coarser levels reach it through the top-down pathway
            self.backbone = PyramidBackbone(config.pyramid, rng)
            channels = config.pyramid.fpn_channels
            self.fpn = FPN(self.backbone.out_channels, channels, rng, n_output=1)
        self.neck = None
        if config.n_upsample:
            self.neck = self._upsampling(channels, config, rng)
            channels = config.upsample_channels
        k, mid = config.n_class, config.head_channels
        # every heatmap cell starts at score π (0.1): b = -log((1 - π) / π) = -2.19
        self.heatmap_head = _head(channels, mid, k, heatmap_prior_bias(config.prior), rng)
        self.size_head = _head(channels, mid, 2, 0.0, rng)
        self.offset_head = _head(channels, mid, 2, 0.0, rng)
        self.stride = config.stride

    @staticmethod
    def _upsampling(channels: int, config: CenterNetConfig, rng) -> Sequential:
        """``n_upsample`` x [x2 up-sampling, 3x3 conv, [GN], ReLU]: from stride s to R = s / 2^n."""
        layers: list[Module] = []
        for _ in range(config.n_upsample):
            layers += [
                Upsample(2, config.upsample_mode),  # (N, C, h, w) -> (N, C, 2h, 2w)
                Conv2d(channels, config.upsample_channels, 3, padding=1, rng=rng),
            ]
            if config.group_norm:
                layers.append(GroupNorm(config.group_norm, config.upsample_channels))
            layers.append(ReLU())
            channels = config.upsample_channels
        return Sequential(*layers)

    # ------------------------------------------------------------------ the registry's needs
    @classmethod
    def config_from_dict(cls, data: dict) -> CenterNetConfig:
        """Inverse of :func:`~bboxcore.models.config.config_to_dict` for a CenterNetConfig."""
        return _from_dict(CenterNetConfig, data)

    @classmethod
    def default_config(cls, dataset: str, class_names: Sequence[str]) -> CenterNetConfig:
        """:func:`~bboxcore.models.centernet.centernet_config`: the preset of ``dataset``."""

        return centernet_config(dataset, class_names)

    @classmethod
    def train_defaults(cls, dataset: str) -> dict:
        """MNIST scenes: Adam 4e-3, batch 8, 4 epochs, 200 warm-up steps (AP50 0.979).

        The heatmap focal loss over every output cell gives a small, noisy
        gradient per image; larger batches and Adam train it in the time
        SGD needs to leave the −2.19 prior (:class:`CenterNet`).

        NEON tiles: YOLOv4's mosaic on half of the training images (Bochkovskiy,
        Wang & Liao, arXiv:2004.10934, Sec. 3.3; *Detection – 3 stages* §H), with
        the pyramid preset (:func:`centernet_config`), for 100 epochs. On fold 0,
        AP50 0.398 in 60 epochs against 0.337 without mosaic (0.307 and 0.294 with
        the plain stack), and 0.431 in 100: with mosaic the training tiles are
        not learnt by heart (AP50 0.55 after 60 epochs), and CenterNet, with one
        regression sample per object, trains slowly (TTFNet, arXiv:1909.00700).
        """
        if dataset == "mnist-det":
            return {"optimizer": "adam", "lr": 4e-3, "batch_size": 8, "epochs": 4,
                    "warmup_iters": 200}  # fmt: skip
        return {"epochs": 100, "mosaic": 0.5} if dataset == "neon-trees" else {}

    def summary(self) -> dict:
        """The receptive field of one output cell (px) and the output stride R."""
        return {"receptive_field": self.receptive_field(), "output_stride": self.stride}

    def receptive_field(self) -> int:
        r"""Image pixels seen by one cell of the heads' outputs.

        The backbone's field (:meth:`Backbone.receptive_field` counts a final 3x3
        window at stride s), plus :math:`(3 - 1) \cdot s'` for every 3x3 conv at
        stride s' after it: one per up-sampling stage (nearest up-sampling copies a
        cell and widens nothing) and the heads' 3x3 at stride R.

        With a pyramid, the field of the top level C5
        (:meth:`~bboxcore.models.fpn.PyramidBackbone.layers`) takes the backbone's
        place: P3 = conv3x3(L3(C3) + up2(L4(C4) + up2(L5(C5)))) sees C5's field
        through the top-down pathway, which is wider than those of C3 and C4,
        plus its 3x3 output conv at stride s = 8. The count is exact (an
        interior cell; nearest up-sampling of an odd window of cells): the
        tests measure it by perturbing single pixels.
        """
        if self.fpn is not None:
            s = self.backbone.strides[0]
            field = receptive_field(self.backbone.layers()) + 2 * s  # C5, then P3's 3x3 conv
        else:
            s = self.backbone.feat_stride
            field = self.backbone.receptive_field() - 2 * s  # the backbone alone
        for _ in range(self.config.n_upsample):
            s //= 2
            field += 2 * s  # the stage's 3x3 conv at the finer stride
        return field + 2 * s  # the heads' 3x3 conv at stride R

    # ------------------------------------------------------------------ the figure
    def preprocess(self, images) -> Tensor:
        """(N, H, W, 3) or (H, W, 3) images in [0, 1] -> normalised (N, 3, H, W) float32 Tensor.

        With a pyramid, H and W are zero-padded at the bottom and right to the
        next multiples of the top stride (:func:`~bboxcore.models.fpn.pad_images`).
        """
        if self.fpn is not None:
            return pad_images(images, self.backbone.strides[-1])[0]
        return Tensor(_normalized(images))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, 3, H, W) -> heatmap logits (N, K, h, w), size (N, 2, h, w), offset (N, 2, h, w).

        With a pyramid, H and W must be multiples of its top stride (32).
        """
        if self.fpn is None:
            features = self.backbone(x)  # (N, C, H/s, W/s)
        else:
            features = self.fpn(self.backbone(x))[0]  # P3, (N, C, H/8, W/8)
        if self.neck is not None:
            features = self.neck(features)  # (N, C', H/R, W/R)
        heat = self.heatmap_head(features)
        if not np.isfinite(heat.data).all():
            raise FloatingPointError("heatmap logits hold NaN or inf: the weights have diverged")
        return heat, self.size_head(features), self.offset_head(features)

    # ------------------------------------------------------------------ training
    def loss(self, images, targets: Sequence, rng: np.random.Generator | None = None):
        r"""CenterNet's three losses of one batch of same-size images.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
            Pixels in [0, 1].
        targets : sequence of N :class:`~bboxcore.models.base.Target`
            ``bbox`` (R_i, 4) pixels, ``label`` (R_i,) in 0 .. K-1.
        rng : numpy.random.Generator, optional
            Unused (the targets are deterministic); accepted for the interface.

        Returns
        -------
        dict of str to Tensor
            ``heatmap`` (:math:`L_k`), ``size`` (:math:`\lambda_{size} L_{size}`) and
            ``offset`` (:math:`\lambda_{off} L_{off}`), scalars whose sum is
            :math:`L_{det}` (:func:`bboxcore.losses.centernet_loss`).
        """
        x = self.preprocess(images)
        n = x.shape[0]
        targets = as_targets(targets, n)
        heat, size, offset = self(x)
        cfg, grid = self.config, heat.shape[2:]
        per_image = [
            centernet_targets(
                t.bbox, t.label, cfg.n_class, grid, self.stride,
                min_overlap=cfg.min_overlap, min_radius=cfg.min_radius,
            )
            for t in targets
        ]  # fmt: skip
        gt_heat = np.stack([t.heatmap for t in per_image])  # (N, K, h, w)
        mask = np.concatenate([t.mask for t in per_image])  # (M,)
        n_object = max(int(mask.sum()), 1)
        focal = F.centernet_focal_loss(heat, gt_heat, cfg.alpha, cfg.beta, reduction="sum")
        if cfg.reg_radius:  # S samples around the centres, each one's (w, h) and offset
            per_image = [
                centernet_region_targets(t.bbox, grid, self.stride, radius=cfg.reg_radius)
                for t in targets
            ]
            mask = np.ones(sum(len(t.index) for t in per_image), bool)
            n_sample = max(len(mask), 1)
        else:  # the centre cell of every object, M of them
            n_sample = n_object
        image_of = np.concatenate([np.full(len(t.index), i) for i, t in enumerate(per_image)])
        index = np.concatenate([t.index for t in per_image])
        ys, xs = index // grid[1], index % grid[1]
        at_cells = (image_of.astype(np.int64), slice(None), ys, xs)  # gathers (M or S, 2)
        return {
            "heatmap": focal * (1.0 / n_object),
            "size": _l1(size[at_cells], np.concatenate([t.size for t in per_image]), mask,
                        n_sample) * cfg.lambda_size,
            "offset": _l1(offset[at_cells], np.concatenate([t.offset for t in per_image]),
                          mask, n_sample) * cfg.lambda_offset,
        }  # fmt: skip

    # ------------------------------------------------------------------ inference
    def predict(self, images) -> list[Prediction]:
        """Detections of each image: boxes, labels and scores (no NMS).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H_i, W_i, 3)
            Pixels in [0, 1].

        Returns
        -------
        list of Prediction
            Per image: ``bbox`` (D, 4) float32 pixels clipped to the image,
            ``label`` (D,) int64, ``score`` (D,) float32, by decreasing score;
            D <= ``config.max_detections``.
        """
        return _predict_each(self, images)

    def _predict_batch(self, images: np.ndarray) -> list[Prediction]:
        img_size = images.shape[1:3]  # the padded bottom and right of a pyramid's input are cut
        prob, size, offset = self._test_outputs(images)
        h, w = prob.shape[2:]
        corner = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 2) * self.stride
        prob = prob * in_image(corner, img_size).reshape(1, 1, h, w)  # no peak in the padding
        out = []
        for i in range(len(prob)):
            bbox, label, score = centernet_decode(
                prob[i], size[i], offset[i], self.stride,
                k=self.config.max_detections, score_thresh=self.config.score_thresh,
            )  # fmt: skip
            bbox = clip_boxes(np.sort(bbox.reshape(-1, 2, 2), axis=1).reshape(-1, 4), img_size)
            out.append(Prediction(bbox.astype(np.float32), label, score.astype(np.float32)))
        return out

    def _test_outputs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Ŷ = σ(z) (N, K, h, w), sizes and offsets (N, 2, h, w) under ``config.flip_test``.

        One pass, or the mean of :math:`\hat Y` and of the sizes over the flipped
        inputs, each output flipped back first ([1]_ Sec. 5, "Inference": "we
        average the network outputs before decoding"); the offsets are those of
        the plain pass, as the reference code's: a flipped offset belongs to the
        mirrored position inside the cell. Before flipping, the input is
        zero-padded at the bottom and right to a multiple of the backbone's
        stride, so that the mirror image of a cell is a cell. The passes are
        summed in pairs, (plain + left-right) + (upside down + both): flipping
        the input then only swaps the terms of each sum, so the averaged
        heatmap of a flipped image is the flipped averaged heatmap bit for bit.
        """
        flips = FLIP_TESTS[self.config.flip_test]
        if len(flips) > 1 and self.fpn is None:  # the pyramid's input is padded already
            x = pad_images(images, 2**self.config.backbone.n_pool)[0]
        else:
            x = self.preprocess(images)
        probs, sizes, offsets = [], [], []
        for axes in flips:
            heat, size, offset = self(Tensor(np.flip(x.data, axes).copy()) if axes else x)
            probs.append(np.flip(heat.sigmoid().data, axes))  # flipped back
            sizes.append(np.flip(size.data, axes))
            offsets.append(offset.data)
        return _pairwise_mean(probs), _pairwise_mean(sizes), offsets[0]  # flips[0] = ()


def _pairwise_mean(arrays: list[np.ndarray]) -> np.ndarray:
    """The mean of 1, 2 or 4 arrays, summed as (a + b) + (c + d)."""
    if len(arrays) == 4:
        return ((arrays[0] + arrays[1]) + (arrays[2] + arrays[3])) / 4
    return sum(arrays[1:], arrays[0]) / len(arrays)


def _l1(pred: Tensor, target: np.ndarray, mask: np.ndarray, n_object: int) -> Tensor:
    """:func:`bboxcore.losses.centernet_l1_loss` as a graph node of ``pred`` (M, 2)."""
    value = centernet_l1_loss(pred.data, target, mask, n_object)
    return Tensor.from_op(
        np.asarray(value, pred.data.dtype),
        (pred,),
        lambda d: (centernet_l1_loss_backward(d, pred.data, target, mask, n_object),),
        "centernet_l1_loss",
    )


# --------------------------------------------------------------------------- presets
def centernet_config(dataset: str, class_names, neck: str | None = None):
    """CenterNet for a data set: output stride R = 4, a stride-8 backbone and one x2 up-sampling.

    MNIST scenes (128 px, digits 12-40 px): the Faster R-CNN backbone (16-32-64-64
    channels, stride 8, receptive field 54 px), one nearest x2 up-sampling and a
    3x3 conv of 32 channels to R = 4 (a 32 x 32 grid: a digit covers 3-10 cells),
    heads of 32 channels. NEON tiles (320 px, crowns 16-68 px) get the feature
    pyramid of RetinaNet and FCOS (``neck="fpn"``, below; an 80 x 80 grid); with
    ``neck="upsample"`` the batch-norm backbone of 16-32-64-128-128 channels;
    folders (512 px) a stride-16 backbone and two up-samplings. Every preset keeps a Gaussian radius
    of at least one cell: with the paper's radius (:func:`bboxcore.targets.gaussian_radius`,
    r = 0.08 x side at IoU 0.7) objects under 12 cells would get one-cell targets.

    The MNIST result (test AP50 0.979, COCO AP 0.707, 12.5 min of training on the
    shared 2-core machine) was trained with ``bboxcore train --model centernet
    --dataset mnist-det --optimizer adam --lr 4e-3 --batch-size 8 --epochs 4
    --warmup-iters 200``.

    ``neck="fpn"`` gives the pyramid variant, NEON's default: the same config
    with ``pyramid`` set to :func:`~bboxcore.models.fpn.pyramid_config` of the data set, the P3..P5
    pyramid of RetinaNet and FCOS, and one x2 up-sampling from P3 (stride 8)
    to R = 4. Its ``backbone`` field is kept but unused. On NEON tiles the
    receptive field grows from 70 px to 190 px, with the top-down pathway's
    skip connections from every level (DLA-34's aggregation, "Objects as
    Points" Sec. 5, arXiv:1904.07850); 501k weights against 310k, and one
    forward + backward pass of two 320-px tiles takes 0.31 s against 0.33 s
    (one core, one BLAS thread: the pyramid's stem has one 128-channel
    stride-8 conv, the plain stack two). On NEON fold 0 it took AP50 from 0.294
    to 0.337, and to 0.398 with mosaic (:meth:`CenterNet.train_defaults`),
    hence NEON's preset.

    Parameters
    ----------
    dataset : str
        ``'mnist-det'``, ``'neon-trees'``, ``'voc:PATH'`` or ``'coco:PATH'``.
    class_names : sequence of str
    neck : {'upsample', 'fpn'}, optional
        ``'upsample'``: the plain backbone and its up-sampling stages;
        ``'fpn'``: the feature pyramid, then one up-sampling stage. None: the
        data set's, ``'fpn'`` for NEON tiles, ``'upsample'`` otherwise.

    Returns
    -------
    bboxcore.models.centernet.CenterNetConfig

    Raises
    ------
    ValueError
        If ``neck`` is neither ``'upsample'`` nor ``'fpn'``.

    Examples
    --------
    >>> cfg = centernet_config("mnist-det", [str(k) for k in range(10)])
    >>> cfg.stride, cfg.min_radius, cfg.n_class, cfg.pyramid
    (4, 1, 10, None)
    >>> fpn = centernet_config("neon-trees", ["Tree"])
    >>> fpn.stride, fpn.pyramid.strides, fpn.n_upsample
    (4, (8, 16, 32), 1)
    """

    from bboxcore.models.datasets import dataset_kind

    kind = dataset_kind(dataset)
    if neck is None:
        neck = "fpn" if kind == "neon-trees" else "upsample"
    if neck not in ("upsample", "fpn"):
        raise ValueError(f"neck must be 'upsample' or 'fpn'; got {neck!r}")
    if kind == "mnist-det":
        backbone, n_up = BackboneConfig(channels=(16, 32, 64, 64), n_pool=3), 1
    elif kind == "neon-trees":
        backbone = BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=3, batch_norm=True)
        n_up = 1
    else:
        backbone, n_up = BackboneConfig(channels=(16, 32, 64, 128, 128), n_pool=4), 2
    pyramid = None
    if neck == "fpn":  # P3 at stride 8, one x2 up-sampling: R = 4
        pyramid, n_up = pyramid_config(dataset), 1
    return CenterNetConfig(
        n_class=len(class_names),
        class_names=tuple(class_names),
        backbone=backbone,
        pyramid=pyramid,
        n_upsample=n_up,
        upsample_channels=32,
        head_channels=32,
        min_radius=1,
    )
