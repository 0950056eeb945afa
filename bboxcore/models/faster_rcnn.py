r"""Faster R-CNN, top to bottom like the paper's figure.

::

    image (N, H, W, 3) in [0, 1]
      │ normalise, (N, 3, H, W)
      ▼
    Backbone ─────────────► feature map (N, C, H/s, W/s)        s = feature stride
      │                          │
      ▼                          │
    RPN: 3x3 conv, 1x1 objectness (2A softmax or A sigmoid), 1x1 loc (4A)
      │   anchors (S, 4), S = H/s · W/s · A
      ▼                          │
    ProposalCreator: decode, clip, top-n, NMS 0.7 ──► RoIs      │
      │  (training: ProposalTargetCreator samples RoIs          │
      │   and gives their class and offset targets)             │
      ▼                          ▼
    RoI Align 7x7 (or RoI Pool) on the feature map ──► (R, C, 7, 7)
      ▼
    head: fc, fc ──► K + 1 class scores, 4 (K + 1) class-specific offsets
      ▼
    decode (loc2bbox, std (0.1, 0.1, 0.2, 0.2)) ──► per-class NMS ──► threshold ──► top-k

Training [1]_ (seed 001, 004): the ``AnchorTargetCreator`` labels the anchors
for the RPN loss (smooth-L1 σ = 3), the ``ProposalTargetCreator`` samples the
RoIs for the head loss (σ = 1); the target creators are plain NumPy, outside
the graph. :meth:`FasterRCNN.loss` returns the four losses; summing them and
calling ``backward()`` is *approximate joint training* (no gradient through
the proposals' coordinates). Its ``step`` argument also runs the single
steps of the paper's 4-step alternating training (see
:mod:`bboxcore.models.train`).

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import numpy as np

from bboxcore.models.backbone import Backbone
from bboxcore.models.config import ModelConfig
from bboxcore.models.predict import suppress
from bboxcore.models.roi_head import RoIHead
from bboxcore.models.rpn import RegionProposalNetwork
from bboxcore.nn import functional as F
from bboxcore.nn.modules import Module
from bboxcore.nn.tensor import Tensor, no_grad
from bboxcore.targets import AnchorTargetCreator, ProposalTargetCreator

__all__ = ["LOSS_NAMES", "PIXEL_MEAN", "PIXEL_STD", "STAGES", "STEPS", "FasterRCNN"]

#: Per-channel RGB mean and std used to normalise images in [0, 1] (the ImageNet values).
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)
#: The four terms of the Faster R-CNN objective, in the order they are logged.
LOSS_NAMES = ("rpn_cls", "rpn_loc", "roi_cls", "roi_loc")
#: What :meth:`FasterRCNN.loss` trains: both heads, the RPN only, or the detection head only.
STEPS = ("joint", "rpn", "head")
#: The forward stages that :attr:`FasterRCNN.timer` splits an iteration into (the trainer
#: adds "data", "backward" and "optimizer").
STAGES = ("backbone", "rpn", "proposals", "targets", "roi_align", "head", "loss")


def _check_finite(t: Tensor, name: str) -> None:
    """Raise FloatingPointError if the network produced NaN/inf (diverged weights)."""
    if not np.isfinite(t.data).all():
        raise FloatingPointError(f"{name} holds NaN or inf: the weights have diverged")


class FasterRCNN(Module):
    r"""The two-stage detector: backbone, RPN, proposals, RoI Align, head, post-processing.

    Notation: N images of H x W pixels, S anchors per image, R RoIs, K classes.

    Parameters
    ----------
    config : ModelConfig
        The parts' configs; ``config.n_class`` = K.
    rng : numpy.random.Generator
        Source of the weight initialisation.

    Attributes
    ----------
    backbone : Backbone
    rpn : RegionProposalNetwork
    head : RoIHead
    timer : dict of str to float or None
        When a dict, every stage of :data:`STAGES` adds its wall time in seconds.

    Examples
    --------
    >>> from bboxcore.models.config import BackboneConfig, HeadConfig, RPNConfig
    >>> cfg = ModelConfig(n_class=2, backbone=BackboneConfig((4, 8), n_pool=2),
    ...                   rpn=RPNConfig(mid_channels=8), head=HeadConfig(fc_dim=16))
    >>> model = FasterRCNN(cfg, np.random.default_rng(0))
    >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    >>> losses = model.loss(image, [np.array([[4., 4., 20., 24.]])], [np.array([1])],
    ...                     np.random.default_rng(2))
    >>> sorted(losses)
    ['roi_cls', 'roi_loc', 'rpn_cls', 'rpn_loc']
    >>> sum(losses.values()).backward()
    >>> bbox, label, score = model.predict(image)[0]
    >>> bbox.shape[1], label.dtype
    (4, dtype('int64'))
    """

    def __init__(self, config: ModelConfig, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.backbone, rng)
        stride, channels = self.backbone.feat_stride, self.backbone.out_channels
        self.rpn = RegionProposalNetwork(channels, stride, config.anchor, config.rpn, rng)
        self.head = RoIHead(channels, config.n_class, stride, config.head, rng)
        rpn, head = config.rpn, config.head
        self.anchor_target_creator = AnchorTargetCreator(
            n_sample=rpn.n_sample,
            pos_iou_thresh=rpn.pos_iou_thresh,
            neg_iou_thresh=rpn.neg_iou_thresh,
            pos_ratio=rpn.pos_ratio,
        )
        self.proposal_target_creator = ProposalTargetCreator(
            n_sample=head.n_sample,
            pos_ratio=head.pos_ratio,
            pos_iou_thresh=head.pos_iou_thresh,
            neg_iou_thresh_hi=head.neg_iou_thresh_hi,
            neg_iou_thresh_lo=head.neg_iou_thresh_lo,
        )
        self.timer: dict[str, float] | None = None

    @contextlib.contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        """Add the wall time of the block to ``timer[name]`` (when timing is on)."""
        if self.timer is None:
            yield
            return
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timer[name] = self.timer.get(name, 0.0) + time.perf_counter() - t0

    # ------------------------------------------------------------------ the figure
    def preprocess(self, images) -> Tensor:
        """(N, H, W, 3) or (H, W, 3) images in [0, 1] -> normalised (N, 3, H, W) float32 Tensor."""
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[3] != 3:
            raise ValueError(f"images must have shape (N, H, W, 3) or (H, W, 3); got {x.shape}")
        mean, std = np.asarray(PIXEL_MEAN, np.float32), np.asarray(PIXEL_STD, np.float32)
        return Tensor(((x - mean) / std).transpose(0, 3, 1, 2))  # (N, H, W, 3) -> (N, 3, H, W)

    def features(self, x: Tensor, frozen: bool = False) -> Tensor:
        """Backbone: (N, 3, H, W) -> (N, C, H/s, W/s).

        ``frozen``: no graph, no gradient, and batch norm (if any) uses its running
        statistics without updating them, so the shared layers stay fixed.
        """
        with self._stage("backbone"):
            if not frozen:
                return self.backbone(x)
            was_training = self.backbone.training
            self.backbone.eval()
            try:
                with no_grad():
                    return self.backbone(x).detach()
            finally:
                self.backbone.train(was_training)

    def proposals(self, features: Tensor, img_size) -> tuple[Tensor, Tensor, np.ndarray, list]:
        """RPN outputs and the proposals of each image (RoIs, no gradient).

        Returns
        -------
        rpn_loc : Tensor, shape (N, S, 4)
        rpn_score : Tensor, shape (N, S, 2) or (N, S)
        anchor : ndarray, shape (S, 4)
        rois : list of ndarray, shape (R_i, 4)
        """
        rpn_loc, rpn_score, anchor = self.rpn_forward(features)
        with self._stage("proposals"):
            rois = self.rpn.propose(rpn_loc.data, rpn_score.data, anchor, img_size, self.training)
        return rpn_loc, rpn_score, anchor, rois

    def rpn_forward(self, features: Tensor) -> tuple[Tensor, Tensor, np.ndarray]:
        """The RPN's offsets (N, S, 4), objectness (N, S, 2) or (N, S), and anchors (S, 4)."""
        with self._stage("rpn"):
            rpn_loc, rpn_score, anchor = self.rpn(features)
            _check_finite(rpn_loc, "rpn_loc")
            _check_finite(rpn_score, "rpn_score")
        return rpn_loc, rpn_score, anchor

    def detect_head(self, features: Tensor, rois: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
        """RoI Align + head on the RoIs of every image; rows in image order.

        Returns
        -------
        roi_cls_loc : Tensor, shape (R, 4 (K + 1))
        roi_score : Tensor, shape (R, K + 1)
        """
        index = np.concatenate([np.full(len(r), i, np.float32) for i, r in enumerate(rois)])
        rois5 = np.concatenate([index[:, None], np.concatenate(rois)], axis=1)  # (R, 5)
        with self._stage("roi_align"):
            pooled = self.head.roi_features(features, rois5.astype(np.float32))  # (R, C, 7, 7)
        with self._stage("head"):
            roi_cls_loc, roi_score = self.head.classify(pooled)
            _check_finite(roi_cls_loc, "roi_cls_loc")
            _check_finite(roi_score, "roi_score")
            return roi_cls_loc, roi_score

    # ------------------------------------------------------------------ training
    def loss(
        self,
        images,
        bboxes: Sequence[np.ndarray],
        labels: Sequence[np.ndarray],
        rng: np.random.Generator,
        *,
        step: str = "joint",
        frozen_backbone: bool = False,
        proposer: FasterRCNN | None = None,
    ) -> dict[str, Tensor]:
        r"""The Faster R-CNN losses of one batch of same-size images.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
            Pixels in [0, 1].
        bboxes : sequence of N ndarray, shape (R_i, 4)
            Ground-truth boxes of each image, pixels (R_i = 0 allowed).
        labels : sequence of N ndarray, shape (R_i,)
            Their classes, 0 .. K-1.
        rng : numpy.random.Generator
            Source of the target creators' sampling.
        step : {'joint', 'rpn', 'head'}
            Which losses: all four (approximate joint training), the RPN's two
            (alternating step 1 and 3) or the head's two (step 2 and 4).
        frozen_backbone : bool
            Compute the features without a gradient (steps 3 and 4: the shared
            convolutional layers are fixed).
        proposer : FasterRCNN, optional
            Take the proposals from this model's backbone and RPN (step 2: Fast
            R-CNN trained on the proposals of the step-1 RPN).

        Returns
        -------
        dict of str to Tensor
            The terms of :data:`LOSS_NAMES` that ``step`` trains: ``rpn_cls``,
            ``rpn_loc`` (σ = 3), ``roi_cls``, ``roi_loc`` (σ = 1), each a scalar.

        Notes
        -----
        The RPN loss is :math:`\frac{1}{N_{cls}}\sum_i L_{cls}(p_i, p_i^*) +
        \lambda \frac{1}{N_{reg}} \sum_i p_i^* L_{reg}(t_i, t_i^*)` over the
        anchors sampled by the ``AnchorTargetCreator`` in all images (Eq. 1); the
        head loss is :math:`L_{cls}(p, u) + \lambda [u \ge 1] L_{loc}(t^u, v)`
        over the sampled RoIs (Fast R-CNN Eq. 1).
        """
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS}; got {step!r}")
        x = self.preprocess(images)
        n, _, height, width = x.shape
        img_size = (height, width)
        if len(bboxes) != n or len(labels) != n:
            raise ValueError(
                f"bboxes and labels must have N = {n} entries; got {len(bboxes)}, {len(labels)}"
            )
        features = self.features(x, frozen=frozen_backbone)
        train_rpn, train_head = step in ("joint", "rpn"), step in ("joint", "head")
        if train_rpn or proposer is None:  # RPN outputs for its loss and/or for proposals
            with contextlib.nullcontext() if train_rpn else no_grad():
                rpn_loc, rpn_score, anchor = self.rpn_forward(features)
        if train_head and proposer is not None:  # alternating step 2: the step-1 RPN proposes
            with no_grad():
                rois = proposer.proposals(proposer.features(x, frozen=True), img_size)[3]
        elif train_head:
            with self._stage("proposals"):
                rois = self.rpn.propose(rpn_loc.data, rpn_score.data, anchor, img_size, True)
        losses: dict[str, Tensor] = {}
        if train_rpn:
            with self._stage("targets"):
                targets = [self.anchor_target_creator(b, anchor, img_size, rng) for b in bboxes]
                gt_rpn_loc = np.concatenate([t[0] for t in targets])  # (N S, 4)
                gt_rpn_label = np.concatenate([t[1] for t in targets])  # (N S,)
            with self._stage("loss"):
                rpn_score = rpn_score.reshape(n * anchor.shape[0], *rpn_score.shape[2:])
                losses["rpn_loc"], losses["rpn_cls"] = F.rpn_loss(
                    rpn_loc.reshape(-1, 4),
                    rpn_score,
                    gt_rpn_loc,
                    gt_rpn_label,
                    sigma=self.config.rpn.sigma,
                )
        if train_head:
            head = self.config.head
            with self._stage("targets"):
                samples = [
                    self.proposal_target_creator(
                        roi, b, lab, rng, head.loc_normalize_mean, head.loc_normalize_std
                    )
                    for roi, b, lab in zip(rois, bboxes, labels)
                ]
            roi_cls_loc, roi_score = self.detect_head(features, [s[0] for s in samples])
            with self._stage("loss"):
                losses["roi_loc"], losses["roi_cls"] = F.roi_head_loss(
                    roi_cls_loc,
                    roi_score,
                    np.concatenate([s[1] for s in samples]),
                    np.concatenate([s[2] for s in samples]),
                    sigma=head.sigma,
                )
        return losses

    # ------------------------------------------------------------------ inference
    def predict(self, images) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Detections of each image: boxes, labels and scores.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H_i, W_i, 3)
            Pixels in [0, 1]; images of different sizes are run one at a time.

        Returns
        -------
        list of (bbox, label, score)
            Per image: ``bbox`` (D, 4) float32 pixels, ``label`` (D,) int64 in
            0 .. K-1, ``score`` (D,) float32, by decreasing score.
        """
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = images[None]
        was_training = self.training
        self.eval()
        try:
            out = []
            with no_grad():
                for image in images:
                    out += self._predict_batch(np.asarray(image, np.float32)[None])
            return out
        finally:
            self.train(was_training)

    def _predict_batch(self, images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        x = self.preprocess(images)
        img_size = x.shape[2:]
        features = self.features(x)
        rois = self.proposals(features, img_size)[3]
        if sum(len(r) for r in rois) == 0:
            return [
                suppress(
                    r,
                    np.zeros((0, 4 * (self.config.n_class + 1))),
                    np.zeros((0, self.config.n_class + 1)),
                    img_size,
                    loc_normalize_mean=self.config.head.loc_normalize_mean,
                    loc_normalize_std=self.config.head.loc_normalize_std,
                )
                for r in rois
            ]
        roi_cls_loc, roi_score = self.detect_head(features, rois)
        logits = roi_score.data
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))  # softmax over K + 1 classes
        prob /= prob.sum(axis=1, keepdims=True)
        det, head, start = [], self.config.head, 0
        for roi in rois:
            stop = start + len(roi)
            det.append(
                suppress(
                    roi,
                    roi_cls_loc.data[start:stop],
                    prob[start:stop],
                    img_size,
                    loc_normalize_mean=head.loc_normalize_mean,
                    loc_normalize_std=head.loc_normalize_std,
                    nms_thresh=self.config.detect.nms_thresh,
                    score_thresh=self.config.detect.score_thresh,
                    max_detections=self.config.detect.max_detections,
                )
            )
            start = stop
        return det
