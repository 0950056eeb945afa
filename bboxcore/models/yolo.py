r"""YOLOv1 and YOLOv3, top to bottom like the papers' figures.

YOLOv1 [1]_ (Fig. 3; the course deck *Detection – 3 stages*, §E)::

    image (N, H, W, 3) in [0, 1], normalised, (N, 3, H, W)
      ▼
    conv3x3 + BN + leaky ReLU blocks, 2x2 max-pools ──► (N, C, S, S)    S = H / stride
      ▼
    head="fc" (the paper):   flatten, FC + leaky ReLU, FC ──► (N, S, S, 5B + C)
    head="conv" (presets):   conv3x3 + BN + leaky, conv1x1 ──► (N, S, S, 5B + C)
                             per cell B x (x, y, w, h, C), then Pr(c | obj)
    activation="linear" (the paper) or "sigmoid" (presets) on all 5B + C outputs
      ▼
    boxes (yolov1_decode), class-specific confidence Pr(c | obj) · C, per-class NMS

YOLOv3 [2]_ (Sec. 2.3; *Detection – 3 stages*, §G)::

    image ─► stride-2 conv3x3 + BN + leaky blocks ─► C3 (/8) ─► C4 (/16) ─► C5 (/32)
    C5 ─► conv ─► P5 ────────────────────────────────────────► head /32 (large anchors)
    P5 ─► conv1x1, up-sample x2, concat C4 ─► conv ─► P4 ─────► head /16 (medium anchors)
    P4 ─► conv1x1, up-sample x2, concat C3 ─► conv ─► P3 ─────► head /8  (small anchors)
    each head: 2 x conv3x3, conv1x1 ─► A x (t_x, t_y, t_w, t_h, t_o, C class logits)
      ▼
    yolo_decode, score σ(t_o) σ(t_c), per-class NMS

The targets (:mod:`bboxcore.targets.yolo`) and the losses
(:mod:`bboxcore.losses.yolo`) are the formula modules' functions; here they are
only wired into the autograd graph. Both detectors are trained from scratch on
a 2-core CPU, so they are small (:mod:`bboxcore.models.presets`) and, unlike
the original YOLOv1, use batch norm (YOLOv2's first change, deck §F1.1),
which makes training from scratch converge in minutes.

The YOLOv1 preset departs from the paper in one more place, its head: the
paper's two fully connected layers (``head="fc"``, kept as an option) learn
from scratch too slowly to be trained on a CPU — each cell's outputs have their
own weights, so each is learnt only from the objects that fall into that cell
(after 600 Adam steps on MNIST scenes the FC head had learnt neither where the
digits are nor which they are: test AP50 0.005). The preset's ``head="conv"``
predicts every cell's ``5B + C`` numbers with the same 3×3 + 1×1 convolutions
(YOLOv2's change, deck §F1), so every object trains them. The paper's outputs
are linear; the preset squashes them all with a sigmoid (``activation=
"sigmoid"``, a common practical departure): x, y, w, h, C and Pr(c | obj) all
live in [0, 1], so a prediction can neither leave its range nor reach the
steep √w continuation below ``WH_SQRT_EPS``. After the same 600 steps the
convolutional head gave AP50 0.71 with linear outputs and 0.86 with the
sigmoid. The grid, the targets, the loss (Eq. 3, applied to the outputs after
the sigmoid) and the decoding are the paper's.

References
----------
.. [1] J. Redmon, S. Divvala, R. Girshick, A. Farhadi. "You Only Look Once:
   Unified, Real-Time Object Detection." CVPR 2016, arXiv:1506.02640.
.. [2] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
   arXiv:1804.02767, 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bboxcore.boxes import clip_boxes
from bboxcore.losses.yolo import (
    YOLO_TERMS,
    yolov1_loss,
    yolov1_loss_backward,
    yolov3_loss,
    yolov3_loss_backward,
)
from bboxcore.models.base import Detector, Prediction, _normalized, _predict_each, as_targets
from bboxcore.models.config import _from_dict
from bboxcore.nms import batched_nms
from bboxcore.nn import functional as F
from bboxcore.nn.modules import BatchNorm2d, Conv2d, LeakyReLU, Linear, MaxPool2d, Sequential
from bboxcore.nn.ops import clipped_exp, concatenate
from bboxcore.nn.resample import upsample_nearest
from bboxcore.nn.tensor import Tensor
from bboxcore.targets.yolo import (
    YOLO_T_CLIP,
    yolo_decode,
    yolo_grid,
    yolov1_decode,
    yolov1_targets,
    yolov3_targets,
)

__all__ = ["YOLOv1", "YOLOv3", "Yolov1Config", "Yolov3Config"]

#: Slope of the leaky ReLU for x < 0 (YOLOv1 Eq. 2, darknet's "leaky").
LEAKY_SLOPE = 0.1
#: YOLOv1's heads: the paper's fully connected layers, or a per-cell convolutional head.
YOLOV1_HEADS = ("fc", "conv")
#: YOLOv1's output activations: the paper's linear layer, or a sigmoid on every output.
YOLOV1_ACTIVATIONS = ("linear", "sigmoid")
#: YOLOv3's box losses: the paper's on t, or GIoU on the decoded boxes.
YOLOV3_BOX_LOSSES = ("mse", "giou")


# --------------------------------------------------------------------------- shared pieces
def conv_bn_leaky(c_in: int, c_out: int, k: int, stride: int, rng) -> Sequential:
    """darknet's convolutional block: conv (no bias), batch norm, leaky ReLU.

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    k : int
        Kernel side (odd: the padding ``k // 2`` keeps the size at stride 1).
    stride : int
        Convolution stride.
    rng : numpy.random.Generator
        Draws the convolution weights.

    Returns
    -------
    Sequential
        Maps (N, c_in, H, W) to (N, c_out, ceil(H / stride), ceil(W / stride))
        for odd ``k``; the leaky ReLU's slope is :data:`LEAKY_SLOPE`.

    Examples
    --------
    >>> block = conv_bn_leaky(3, 8, 3, 2, np.random.default_rng(0))
    >>> [type(m).__name__ for m in block]
    ['Conv2d', 'BatchNorm2d', 'LeakyReLU']
    >>> block(Tensor(np.zeros((1, 3, 9, 9), np.float32))).shape
    (1, 8, 5, 5)
    """
    return Sequential(
        Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False, rng=rng),
        BatchNorm2d(c_out),
        LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def _preprocess(images) -> Tensor:
    """(N, H, W, 3) or (H, W, 3) images in [0, 1] -> normalised (N, 3, H, W) float32 Tensor."""
    return Tensor(_normalized(images))


def _loss_nodes(pred: Tensor, forward, backward, args: tuple, kwargs: dict) -> dict[str, Tensor]:
    """One graph node per loss term, each a function of ``pred`` only (targets are constants)."""
    values = forward(pred.data, *args, **kwargs)

    def node(term: str) -> Tensor:
        def grad(d):
            return (backward({term: d}, pred.data, *args, **kwargs),)

        return Tensor.from_op(values[term], (pred,), grad, f"yolo_{term}")

    return {term: node(term) for term in YOLO_TERMS}


def _nms(bbox, score, img_size, cfg) -> Prediction:
    """Threshold the (D, K) class scores, clip, per-class NMS, top-k: one image's detections."""
    box_i, label = np.nonzero(score > cfg.score_thresh)  # (box, class) pairs
    s = score[box_i, label]
    b = clip_boxes(bbox[box_i], img_size)
    keep = batched_nms(b, s, label, cfg.nms_thresh)[: cfg.max_detections]
    return Prediction(b[keep].astype(np.float32), label[keep].astype(np.int64),
                      s[keep].astype(np.float32))  # fmt: skip


def _check_config(cfg) -> None:
    cfg.class_names = tuple(cfg.class_names)
    if cfg.n_class < 1:
        raise ValueError(f"n_class must be >= 1; got {cfg.n_class}")
    if cfg.class_names and len(cfg.class_names) != cfg.n_class:
        raise ValueError(
            f"class_names must have n_class = {cfg.n_class} names; got {len(cfg.class_names)}"
        )
    for name in ("score_thresh", "nms_thresh"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise ValueError(f"{name} must be in [0, 1]; got {getattr(cfg, name)}")
    if cfg.max_detections < 1:
        raise ValueError(f"max_detections must be >= 1; got {cfg.max_detections}")


# --------------------------------------------------------------------------- YOLOv1
@dataclass
class Yolov1Config:
    """Every hyper-parameter of YOLOv1 (a preset per data set in :mod:`bboxcore.models.presets`).

    Parameters
    ----------
    n_class : int
        C, the number of classes.
    class_names : tuple of str
    img_size : (H, W)
        The fixed input size (the fully connected layers fix it), pixels.
    head : {'fc', 'conv'}
        ``'fc'``: the paper's head, flatten, FC + leaky ReLU, FC (Fig. 3).
        ``'conv'`` (the presets; a departure from the paper, YOLOv2's): a 3×3
        conv + BN + leaky ReLU of ``channels[-1]`` channels and a 1×1 conv
        to ``5B + C``, the same weights for every cell.
    activation : {'linear', 'sigmoid'}
        ``'linear'``: the paper's last layer. ``'sigmoid'`` (the presets; a
        departure from the paper): σ on every output, so that x, y, w, h, C
        and Pr(c | obj) stay in [0, 1]; the loss and the decoding read the
        outputs after it.
    channels : tuple of int
        Output channels of the conv blocks; each but the last is followed by a
        2x2 max-pool, so the grid is S = H / 2^(len(channels) - 1).
    n_box : int
        B, boxes per cell (2 in the paper).
    fc_channels : int
        Width of the hidden fully connected layer (4096 in the paper); ``head='fc'`` only.
    lambda_coord, lambda_noobj : float
        The loss weights (5 and 0.5).
    score_thresh, nms_thresh : float
        Detections below the class-specific confidence are dropped; per-class NMS IoU.
    max_detections : int
    """

    n_class: int = 10
    class_names: tuple[str, ...] = ()
    img_size: tuple[int, int] = (128, 128)
    head: str = "fc"
    activation: str = "linear"
    channels: tuple[int, ...] = (16, 32, 64, 128, 128)
    n_box: int = 2
    fc_channels: int = 256
    lambda_coord: float = 5.0
    lambda_noobj: float = 0.5
    score_thresh: float = 0.02
    nms_thresh: float = 0.45
    max_detections: int = 100

    def __post_init__(self) -> None:
        _check_config(self)
        self.img_size = tuple(int(v) for v in self.img_size)
        self.channels = tuple(int(c) for c in self.channels)
        stride = self.stride
        if any(v % stride for v in self.img_size) or self.img_size[0] != self.img_size[1]:
            raise ValueError(
                f"img_size must be square, a multiple of the stride {stride}; got {self.img_size}"
            )
        if self.n_box < 1:
            raise ValueError(f"n_box must be >= 1; got {self.n_box}")
        if self.head not in YOLOV1_HEADS:
            raise ValueError(f"head must be one of {YOLOV1_HEADS}; got {self.head!r}")
        if self.activation not in YOLOV1_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {YOLOV1_ACTIVATIONS}; got {self.activation!r}"
            )

    @property
    def stride(self) -> int:
        """Pixels per grid cell, 2 ** (number of max-pools)."""
        return 2 ** (len(self.channels) - 1)

    @property
    def grid_size(self) -> int:
        """S."""
        return self.img_size[0] // self.stride


class YOLOv1(Detector):
    r"""YOLOv1: one network from pixels to an S×S×(5B + C) grid of boxes and class probabilities.

    Its input side is fixed (``config.img_size``: the paper's fully connected
    layers fix it), so it cannot be trained at several scales (``fully_convolutional`` is False).

    Parameters
    ----------
    config : Yolov1Config
    rng : numpy.random.Generator
        Source of the weight initialisation.

    Examples
    --------
    >>> from bboxcore.models.base import Target
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> model = YOLOv1(cfg, np.random.default_rng(0))
    >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    >>> losses = model.loss(image, [Target(np.array([[4., 4., 20., 24.]]), np.array([1]))])
    >>> list(losses)
    ['xy', 'wh', 'obj', 'noobj', 'cls']
    >>> sum(losses.values()).backward()
    >>> model.predict(image)[0].bbox.shape[1]
    4
    """

    loss_names = YOLO_TERMS
    fully_convolutional = False

    def __init__(self, config: Yolov1Config, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        layers, c_in = [], 3
        for i, c in enumerate(config.channels):
            layers.append(conv_bn_leaky(c_in, c, 3, 1, rng))
            if i < len(config.channels) - 1:
                layers.append(MaxPool2d(2))
            c_in = c
        self.backbone = Sequential(*layers)
        s, out = config.grid_size, 5 * config.n_box + config.n_class
        if config.head == "fc":
            self.fc1 = Linear(c_in * s * s, config.fc_channels, rng=rng)
            self.act = LeakyReLU(LEAKY_SLOPE)
            self.fc2 = Linear(config.fc_channels, s * s * out, rng=rng)
            last = self.fc2
        else:  # the same 3x3 + 1x1 convolutions for every cell
            self.head_conv = conv_bn_leaky(c_in, c_in, 3, 1, rng)
            self.head_out = Conv2d(c_in, out, 1, rng=rng)
            last = self.head_out
        last.weight.data[...] *= 0.1  # start near 0: small boxes, confidences and classes

    @classmethod
    def config_from_dict(cls, data: dict) -> Yolov1Config:
        """Inverse of :func:`~bboxcore.models.config.config_to_dict`."""
        return _from_dict(Yolov1Config, data)

    @classmethod
    def default_config(cls, dataset: str, class_names: Sequence[str]) -> Yolov1Config:
        """:func:`~bboxcore.models.yolo.yolov1_config`: the preset of ``dataset``."""

        return yolov1_config(dataset, class_names)

    @classmethod
    def train_defaults(cls, dataset: str) -> dict:
        """MNIST scenes: Adam 1e-3, 8 scenes per step (batch norm), 4 epochs (AP50 0.964)."""
        if dataset == "mnist-det":
            return {"optimizer": "adam", "lr": 1e-3, "batch_size": 8, "epochs": 4}
        return {}

    def summary(self) -> dict:
        """The grid S, the stride, B, the head and the output activation."""
        cfg = self.config
        return {"grid_size": cfg.grid_size, "stride": cfg.stride, "n_box": cfg.n_box,
                "head": cfg.head, "activation": cfg.activation}  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        """(N, 3, H, W) -> (N, S, S, 5B + C): linear as in the paper, or all through σ."""
        cfg = self.config
        if tuple(x.shape[2:]) != cfg.img_size:
            raise ValueError(
                f"YOLOv1 takes {cfg.img_size} images (config.img_size); got {x.shape[2:]}"
            )
        f = self.backbone(x)  # (N, C, S, S)
        if cfg.head == "conv":
            out = self.head_out(self.head_conv(f)).transpose(0, 2, 3, 1)  # (N, S, S, 5B + C)
        else:
            n, s = f.shape[0], cfg.grid_size
            h = self.act(self.fc1(f.reshape(n, -1)))  # (N, fc)
            out = self.fc2(h).reshape(n, s, s, 5 * cfg.n_box + cfg.n_class)
        return out.sigmoid() if cfg.activation == "sigmoid" else out

    def loss(self, images, targets: Sequence, rng: np.random.Generator | None = None):
        """The five sums of YOLOv1's Eq. 3 for one batch (:func:`bboxcore.losses.yolov1_loss`).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
        targets : sequence of N :class:`~bboxcore.models.base.Target`
        rng : numpy.random.Generator, optional
            Unused (the targets are deterministic).

        Returns
        -------
        dict of str to Tensor
            ``xy``, ``wh``, ``obj``, ``noobj``, ``cls``.
        """
        x = _preprocess(images)
        targets = as_targets(targets, x.shape[0])
        pred = self(x)
        cfg = self.config
        per_image = [
            yolov1_targets(t.bbox, t.label, cfg.img_size, cfg.grid_size, cfg.n_class)
            for t in targets
        ]
        args = (
            np.stack([t.obj_mask for t in per_image]),  # (N, S, S)
            np.stack([t.box for t in per_image]),  # (N, S, S, 4)
            np.stack([t.cls for t in per_image]),  # (N, S, S, C)
        )
        kwargs = {"n_box": cfg.n_box, "lambda_coord": cfg.lambda_coord,
                  "lambda_noobj": cfg.lambda_noobj}  # fmt: skip
        return _loss_nodes(pred, yolov1_loss, yolov1_loss_backward, args, kwargs)

    def predict(self, images) -> list[Prediction]:
        """Detections of each image: class-specific confidence, per-class NMS, top-k.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H, W, 3)

        Returns
        -------
        list of Prediction
        """
        return _predict_each(self, images)

    def _predict_batch(self, images: np.ndarray) -> list[Prediction]:
        pred = self(_preprocess(images)).data  # (N, S, S, 5B + C)
        cfg = self.config
        out = []
        for p in pred:
            bbox, score = yolov1_decode(p, cfg.img_size, cfg.n_box)  # (S·S·B, 4), (S·S·B, C)
            out.append(_nms(bbox, score, cfg.img_size, cfg))
        return out


# --------------------------------------------------------------------------- YOLOv3
@dataclass
class Yolov3Config:
    """Every hyper-parameter of YOLOv3 (a preset per data set in :mod:`bboxcore.models.presets`).

    Parameters
    ----------
    n_class : int
        C.
    class_names : tuple of str
    anchors : tuple of (w, h)
        3 x len(strides) anchor sizes in pixels sorted by area: k-means of the
        training boxes (:func:`bboxcore.anchors.kmeans_anchors`).
    channels : tuple of int
        Channels of the stride-2 stem and the four stride-2 stages; the last
        three are C3, C4, C5 at strides 8, 16, 32 (so ``len(channels) == 5``).
    neck_channels : int
        Channels of P3, P4, P5 (the 1x1 lateral convs use half).
    ignore_thresh : float
        The paper's 0.5.
    anchor_iou_thresh : float or None
        None: one anchor per object (the paper). A number: also the anchors whose
        shape IoU with the object exceeds it (:func:`bboxcore.targets.yolov3_targets`).
    scale_xy : float >= 1
        α of YOLOv4's grid-sensitive decoding (:func:`bboxcore.targets.yolo_decode`;
        1: YOLOv3's).
    neighbour_cells : bool
        Also the two neighbouring cells nearest to an object's centre are
        responsible for it (:func:`bboxcore.targets.yolov3_targets`; needs
        ``scale_xy >= 2``).
    box_loss : {'mse', 'giou'}
        The paper's loss on ``t`` (terms ``xy`` and ``wh``), or the GIoU loss of
        the decoded boxes (term ``giou``; Rezatofighi et al., arXiv:1902.09630,
        who trained YOLOv3 with it, Sec. 5.1).
    lambda_giou : float
        Weight of the ``giou`` term.
    score_thresh, nms_thresh : float
    max_detections : int
    """

    n_class: int = 10
    class_names: tuple[str, ...] = ()
    anchors: tuple = ((8.0, 8.0),) * 9
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    neck_channels: int = 64
    ignore_thresh: float = 0.5
    anchor_iou_thresh: float | None = None
    scale_xy: float = 1.0
    neighbour_cells: bool = False
    box_loss: str = "mse"
    lambda_giou: float = 1.0
    score_thresh: float = 0.02
    nms_thresh: float = 0.45
    max_detections: int = 100

    def __post_init__(self) -> None:
        _check_config(self)
        if self.box_loss not in YOLOV3_BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {YOLOV3_BOX_LOSSES}; got {self.box_loss!r}")
        if not (np.isfinite(self.scale_xy) and self.scale_xy >= 1):
            raise ValueError(f"scale_xy must be a finite number >= 1; got {self.scale_xy}")
        if self.neighbour_cells and self.scale_xy < 2:
            raise ValueError(f"neighbour_cells needs scale_xy >= 2; got {self.scale_xy}")
        if not (np.isfinite(self.lambda_giou) and self.lambda_giou > 0):
            raise ValueError(f"lambda_giou must be a positive number; got {self.lambda_giou}")
        self.anchors = tuple((float(w), float(h)) for w, h in self.anchors)
        self.channels = tuple(int(c) for c in self.channels)
        if len(self.anchors) != 9 or any(w <= 0 or h <= 0 for w, h in self.anchors):
            raise ValueError(f"anchors must be 9 positive (w, h); got {self.anchors}")
        if len(self.channels) != 5:
            raise ValueError(f"channels must have 5 stages (strides 2 .. 32); got {self.channels}")
        if not 0 <= self.ignore_thresh <= 1:
            raise ValueError(f"ignore_thresh must be in [0, 1]; got {self.ignore_thresh}")

    strides = (8, 16, 32)


class YOLOv3(Detector):
    r"""YOLOv3: a small darknet-style backbone, an FPN-style neck, three anchor heads.

    Parameters
    ----------
    config : Yolov3Config
    rng : numpy.random.Generator

    Examples
    --------
    >>> from bboxcore.models.base import Target
    >>> anchors = [(s, s) for s in (4., 6., 8., 10., 12., 14., 16., 20., 24.)]
    >>> cfg = Yolov3Config(n_class=2, anchors=anchors, channels=(4, 4, 8, 8, 8), neck_channels=8)
    >>> model = YOLOv3(cfg, np.random.default_rng(0))
    >>> image = np.random.default_rng(1).random((1, 64, 64, 3), dtype=np.float32)
    >>> losses = model.loss(image, [Target(np.array([[4., 4., 20., 24.]]), np.array([1]))])
    >>> sorted(losses) == sorted(['xy', 'wh', 'obj', 'noobj', 'cls'])
    True
    >>> sum(losses.values()).backward()
    >>> model.predict(image)[0].bbox.shape[1]
    4
    """

    loss_names = YOLO_TERMS

    def __init__(self, config: Yolov3Config, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        if config.box_loss == "giou":  # this model's terms: 'giou' replaces 'xy' and 'wh'
            self.loss_names = ("giou", *YOLO_TERMS[2:])
        c1, c2, c3, c4, c5 = config.channels
        a, out = 3, 5 + config.n_class  # anchors per scale, outputs per anchor
        nc = config.neck_channels
        # backbone: a 3x3/2 stem, then four stride-2 stages (each: 3x3/2 conv, 3x3 conv)
        self.stem = conv_bn_leaky(3, c1, 3, 2, rng)  # (N, c1, H/2, W/2)
        stages, c_in = [], c1
        for c in config.channels[1:]:
            stages.append(Sequential(conv_bn_leaky(c_in, c, 3, 2, rng),
                                     conv_bn_leaky(c, c, 3, 1, rng)))  # fmt: skip
            c_in = c
        self.stage2, self.stage3, self.stage4, self.stage5 = stages
        # neck: top-down, up-sample x2 + concatenation (deck §G3, "like U-Net")
        self.p5 = conv_bn_leaky(c5, nc, 3, 1, rng)
        self.lat5 = conv_bn_leaky(nc, nc // 2, 1, 1, rng)
        self.p4 = conv_bn_leaky(c4 + nc // 2, nc, 3, 1, rng)
        self.lat4 = conv_bn_leaky(nc, nc // 2, 1, 1, rng)
        self.p3 = conv_bn_leaky(c3 + nc // 2, nc, 3, 1, rng)
        heads = [  # two 3x3 conv blocks (darknet stacks 3x3 and 1x1 ones), then the 1x1 output
            Sequential(
                conv_bn_leaky(nc, nc, 3, 1, rng),
                conv_bn_leaky(nc, nc, 3, 1, rng),
                Conv2d(nc, a * out, 1, rng=rng),
            )  # fmt: skip
            for _ in range(3)
        ]
        self.head3, self.head4, self.head5 = heads
        for head in heads:
            # He-initialised outputs (a smaller scale starves the classes' features early);
            # objectness starts at σ(-4.6) ≈ 0.01 (as RetinaNet's prior): few false positives
            bias = head[2].bias.data.reshape(a, out)
            bias[:, 4] = -4.6

    @classmethod
    def config_from_dict(cls, data: dict) -> Yolov3Config:
        """Inverse of :func:`~bboxcore.models.config.config_to_dict`."""
        return _from_dict(Yolov3Config, data)

    @classmethod
    def default_config(cls, dataset: str, class_names: Sequence[str]) -> Yolov3Config:
        """:func:`~bboxcore.models.yolo.yolov3_config`: k-means anchors of the training boxes."""

        return yolov3_config(dataset, class_names)

    @classmethod
    def train_defaults(cls, dataset: str) -> dict:
        """MNIST scenes: SGD 0.01, weight decay 5e-4 (the darknet cfg's), 5 epochs (AP50 0.960).

        NEON tiles: YOLOv2's multi-scale training (Redmon & Farhadi, arXiv:1612.08242,
        Sec. "Multi-Scale Training"; *Detection – 3 stages* §II F1), sides 256, 320 and
        384 px drawn every 10 steps, and YOLOv4's mosaic (Bochkovskiy et al.,
        arXiv:2004.10934, Sec. 3.3; §H) on half of the training images, for 100
        epochs. The 66 training tiles are learnt by heart otherwise (training AP50
        0.81, test 0.39); on fold 0 AP50 0.239 without either, 0.309 with
        multi-scale, 0.359 with both in 60 epochs, where the training tiles' AP50
        is down to 0.42 (so the model now underfits), and 0.408 in 100 epochs.
        """
        if dataset == "mnist-det":
            return {"optimizer": "sgd", "lr": 0.01, "weight_decay": 5e-4, "epochs": 5}
        if dataset == "neon-trees":
            return {"epochs": 100, "multiscale": (256, 320, 384), "mosaic": 0.5}
        return {}

    def summary(self) -> dict:
        """Strides and anchors of the three scales."""
        return {
            "strides": list(self.config.strides),
            "anchors": [list(a) for a in self.config.anchors],
        }

    def forward(self, x: Tensor) -> list[Tensor]:
        """(N, 3, H, W) -> three maps (N, 3(5 + C), H/s, W/s) for s = 8, 16, 32."""
        h, w = x.shape[2:]
        if h % 32 or w % 32:
            raise ValueError(f"YOLOv3 takes images whose sides are multiples of 32; got {(h, w)}")
        c3 = self.stage3(self.stage2(self.stem(x)))  # (N, c3, H/8, W/8)
        c4 = self.stage4(c3)  # (N, c4, H/16, W/16)
        c5 = self.stage5(c4)  # (N, c5, H/32, W/32)
        p5 = self.p5(c5)
        p4 = self.p4(
            concatenate([c4, upsample_nearest(self.lat5(p5), 2)], axis=1)
        )  # (N, nc, H/16, W/16)
        p3 = self.p3(
            concatenate([c3, upsample_nearest(self.lat4(p4), 2)], axis=1)
        )  # (N, nc, H/8, W/8)
        return [self.head3(p3), self.head4(p4), self.head5(p5)]

    def _flat(self, maps: list[Tensor]) -> Tensor:
        """Three (N, A(5 + C), h, w) maps -> (N, M, 5 + C) in :func:`yolo_grid`'s order."""
        k = 5 + self.config.n_class
        flat = []
        for m in maps:
            n, _, h, w = m.shape
            # (N, A·k, h, w) -> (N, h, w, A·k) -> (N, h·w·A, k): row-major cells, anchor last
            flat.append(m.transpose(0, 2, 3, 1).reshape(n, h * w * 3, k))
        return concatenate(flat, axis=1)

    def _decode(self, pred: np.ndarray, img_size) -> tuple[np.ndarray, object]:
        """(N, M, 5 + C) raw outputs -> decoded boxes (N, M, 4) in pixels, and the grid."""
        grid = yolo_grid(img_size, np.asarray(self.config.anchors), self.config.strides)
        boxes = yolo_decode(pred[..., :4], grid.cells, grid.anchors, grid.stride,
                            scale_xy=self.config.scale_xy)  # fmt: skip
        return boxes, grid

    def loss(self, images, targets: Sequence, rng: np.random.Generator | None = None):
        """YOLOv3's loss terms for one batch (:func:`bboxcore.losses.yolov3_loss`).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
        targets : sequence of N :class:`~bboxcore.models.base.Target`
        rng : numpy.random.Generator, optional
            Unused.

        Returns
        -------
        dict of str to Tensor
            ``xy``, ``wh``, ``obj``, ``noobj``, ``cls``; with ``box_loss='giou'``
            ``giou`` (:meth:`_giou_term`) instead of ``xy`` and ``wh``.
        """
        x = _preprocess(images)
        targets = as_targets(targets, x.shape[0])
        img_size = tuple(x.shape[2:])
        pred = self._flat(self(x))  # (N, M, 5 + C)
        boxes, grid = self._decode(pred.data, img_size)  # the ignore rule's boxes; GIoU's grid
        cfg = self.config
        per_image = [
            yolov3_targets(t.bbox, t.label, img_size, np.asarray(cfg.anchors), cfg.strides,
                           cfg.n_class, pred_bbox=b, ignore_thresh=cfg.ignore_thresh,
                           anchor_iou_thresh=cfg.anchor_iou_thresh, scale_xy=cfg.scale_xy,
                           neighbour_cells=cfg.neighbour_cells)
            for t, b in zip(targets, boxes)
        ]  # fmt: skip
        args = tuple(np.stack([getattr(t, f) for t in per_image]) for f in per_image[0]._fields)
        terms = _loss_nodes(pred, yolov3_loss, yolov3_loss_backward, args, {})
        if cfg.box_loss == "giou":
            obj, loc = args[0], args[1]
            del terms["xy"], terms["wh"]
            giou = self._giou_term(pred, obj, loc, grid, cfg.scale_xy)
            terms = {"giou": giou * cfg.lambda_giou, **terms}
        return terms

    @staticmethod
    def _giou_term(pred: Tensor, obj: np.ndarray, loc: np.ndarray, grid, scale_xy=1.0) -> Tensor:
        r"""GIoU loss of the responsible predictions' decoded boxes, summed, divided by N.

        .. math::
            \mathcal L_{giou} = \frac1N \sum_P \bigl(1 - \mathrm{GIoU}(b, \hat b)\bigr),
            \quad b = \bigl((\alpha\sigma(t_x) - \tfrac{\alpha - 1}2 + c_x)s,\ \ldots,\
            p_w e^{t_w},\ p_h e^{t_h}\bigr)

        (Rezatofighi et al., "Generalized Intersection over Union", CVPR 2019,
        arXiv:1902.09630, Eq. 1 and Sec. 5.1, where it replaces YOLOv3's box
        loss), with :math:`\hat b` the target box decoded from the same cell
        and anchor, :math:`((\alpha\hat u - \tfrac{\alpha - 1}2 + c_x)s, \ldots,
        p_w e^{\hat t_w}, p_h e^{\hat t_h})` with :math:`\hat u` the target of σ(t_x)
        (:func:`bboxcore.targets.yolov3_targets`' ``loc``; α = ``scale_xy``). The
        gradient reaches ``t`` through σ and exp by the autograd graph, from
        :func:`bboxcore.nn.functional.giou_loss`'s analytic one.
        """
        n = obj.shape[0]
        image, m = np.nonzero(obj == 1)  # the P responsible predictions
        if len(m) == 0:
            return Tensor(np.zeros((), pred.data.dtype))  # no object, no box loss
        t = pred[image, m]  # (P, 5 + C)
        dtype = pred.data.dtype  # float64 grids would promote the graph
        cells, anchors, stride = (
            a[m].astype(dtype) for a in (grid.cells, grid.anchors, grid.stride)
        )
        shift = (scale_xy - 1) / 2
        centre = (t[:, 0:2].sigmoid() * scale_xy + (cells - shift)) * stride  # pixels
        size = clipped_exp(t[:, 2:4], YOLO_T_CLIP) * anchors  # p e^t, pixels
        half = size * 0.5
        bbox = concatenate([centre - half, centre + half], axis=1)  # (P, 4)
        goal = loc[image, m]  # (x̂, ŷ, t̂_w, t̂_h)
        goal_centre = (goal[:, 0:2] * scale_xy - shift + cells) * stride
        goal_half = np.exp(goal[:, 2:4]) * anchors / 2
        target = np.concatenate([goal_centre - goal_half, goal_centre + goal_half], axis=1)
        target = target.astype(dtype)
        return F.giou_loss(bbox, target, reduction="sum") * (1.0 / n)

    def predict(self, images) -> list[Prediction]:
        """Detections of each image: score σ(t_o) σ(t_c), per-class NMS, top-k.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H_i, W_i, 3)

        Returns
        -------
        list of Prediction
        """
        return _predict_each(self, images)

    def dense_predictions(self, images) -> tuple[np.ndarray, np.ndarray, object]:
        """Every prediction of a batch before thresholds and NMS, decoded.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3)
            Pixels in [0, 1]; H and W multiples of 32.

        Returns
        -------
        bbox : ndarray, shape (N, M, 4)
            Decoded boxes in pixels (:func:`bboxcore.targets.yolo_decode`), not clipped.
        score : ndarray, shape (N, M, C)
            σ(t_o) σ(t_c), the class-specific confidences.
        grid : bboxcore.targets.YoloGrid
            Cell, anchor and stride of each of the M predictions.

        Examples
        --------
        >>> anchors = [(s, s) for s in (4., 6., 8., 10., 12., 14., 16., 20., 24.)]
        >>> cfg = Yolov3Config(n_class=2, anchors=anchors, channels=(4, 4, 8, 8, 8),
        ...                    neck_channels=8)
        >>> model = YOLOv3(cfg, np.random.default_rng(0)).eval()
        >>> bbox, score, grid = model.dense_predictions(np.zeros((1, 64, 64, 3), np.float32))
        >>> bbox.shape, score.shape  # (8² + 4² + 2²) cells x 3 anchors
        ((1, 252, 4), (1, 252, 2))
        """
        x = _preprocess(images)
        pred = self._flat(self(x)).data  # (N, M, 5 + C)
        boxes, grid = self._decode(pred, tuple(x.shape[2:]))
        prob = 1 / (1 + np.exp(-np.clip(pred[..., 4:], -50, 50)))  # σ, (N, M, 1 + C)
        return boxes, prob[..., :1] * prob[..., 1:], grid  # Pr(obj) Pr(c | obj), (N, M, C)

    def _predict_batch(self, images: np.ndarray) -> list[Prediction]:
        img_size = images.shape[1:3]
        boxes, score, _ = self.dense_predictions(images)
        return [_nms(b, s, img_size, self.config) for b, s in zip(boxes, score)]


# --------------------------------------------------------------------------- presets
#: Shape IoU above which an anchor besides the best one is responsible (None: the paper).
YOLOV3_ANCHOR_IOU_THRESH = 0.5


#: Input side of the YOLO presets per data set: MNIST scenes, NEON tiles, VOC/COCO folders.
YOLO_IMAGE_SIZE = {"mnist-det": 128, "neon-trees": 320}


def yolov1_config(dataset: str, class_names):
    """YOLOv1 for a data set: the grid S chosen so that a cell is about the size of an object.

    MNIST scenes (128 px, digits 12-40 px): five conv blocks of 16-32-64-128-128
    channels and four max-pools, stride 16, an 8×8 grid (16-px cells). NEON
    tiles (320 px, crowns 16-68 px) and folders (512 px): a sixth block and a
    fifth pool, stride 32, a 10×10 or 16×16 grid. B = 2 (the paper: S = 7 at
    448 px). Two departures from the paper (module docstring), without which
    YOLOv1 does not learn in a CPU budget: a convolutional head
    (``head="conv"``) instead of the two FC layers, and a sigmoid on every
    output (``activation="sigmoid"``). ``Yolov1Config(head="fc",
    activation="linear")`` builds the paper's.

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

    from bboxcore.models.datasets import dataset_kind

    side = YOLO_IMAGE_SIZE.get(dataset_kind(dataset), 512)
    channels = (16, 32, 64, 128, 128) if side == 128 else (16, 32, 64, 128, 128, 128)
    return Yolov1Config(
        n_class=len(class_names),
        class_names=tuple(class_names),
        img_size=(side, side),
        head="conv",
        activation="sigmoid",
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
