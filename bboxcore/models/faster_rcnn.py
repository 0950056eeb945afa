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

Training [1]_ (*Object Detection: Faster R-CNN*, "Faster R-CNN 训练"; *The losses of
Faster R-CNN*): the ``AnchorTargetCreator`` labels the anchors for the RPN loss
(smooth-L1 σ = 3), the ``ProposalTargetCreator`` samples the RoIs for the head
loss (σ = 1); the target creators are plain NumPy, outside the graph.
:meth:`FasterRCNN.loss` returns the four losses; summing them and calling
``backward()`` is *approximate joint training* (no gradient through the
proposals' coordinates). Its keyword options (which heads, given proposals, a
frozen backbone) are what the 4-step alternating training of
:mod:`bboxcore.models.schemes` needs; the scheme itself lives with the trainer.

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from bboxcore.models.backbone import Backbone
from bboxcore.models.base import (
    PIXEL_MEAN,
    PIXEL_STD,
    Detector,
    Prediction,
    _normalized,
    as_targets,
)
from bboxcore.models.config import ModelConfig, model_config_from_dict
from bboxcore.models.postprocess import suppress
from bboxcore.models.roi_head import RoIHead
from bboxcore.models.rpn import RegionProposalNetwork
from bboxcore.nn import functional as F
from bboxcore.nn.tensor import Tensor, no_grad
from bboxcore.targets import AnchorTargetCreator, ProposalTargetCreator

__all__ = ["HEADS", "LOSS_NAMES", "PIXEL_MEAN", "PIXEL_STD", "FasterRCNN"]

#: The four terms of the Faster R-CNN objective, in the order they are logged.
LOSS_NAMES = ("rpn_cls", "rpn_loc", "roi_cls", "roi_loc")
#: The two heads whose losses :meth:`FasterRCNN.loss` can compute: the RPN and the RoI head.
HEADS = ("rpn", "head")


def _check_finite(t: Tensor, name: str) -> None:
    """Raise FloatingPointError if the network produced NaN/inf (diverged weights)."""
    if not np.isfinite(t.data).all():
        raise FloatingPointError(f"{name} holds NaN or inf: the weights have diverged")


class FasterRCNN(Detector):
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
    anchor_target_creator, proposal_target_creator
        The target creators of the two losses (:mod:`bboxcore.targets`).

    Examples
    --------
    >>> from bboxcore.models.base import Target
    >>> from bboxcore.models.config import BackboneConfig, HeadConfig, RPNConfig
    >>> cfg = ModelConfig(n_class=2, backbone=BackboneConfig((4, 8), n_pool=2),
    ...                   rpn=RPNConfig(mid_channels=8), head=HeadConfig(fc_dim=16))
    >>> model = FasterRCNN(cfg, np.random.default_rng(0))
    >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    >>> target = Target(np.array([[4., 4., 20., 24.]], np.float32), np.array([1]))
    >>> losses = model.loss(image, [target], np.random.default_rng(2))
    >>> sorted(losses)
    ['roi_cls', 'roi_loc', 'rpn_cls', 'rpn_loc']
    >>> sum(losses.values()).backward()
    >>> bbox, label, score = model.predict(image)[0]
    >>> bbox.shape[1], label.dtype
    (4, dtype('int64'))
    """

    loss_names = LOSS_NAMES

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

    # ------------------------------------------------------------------ the registry's needs
    @classmethod
    def config_from_dict(cls, data: dict) -> ModelConfig:
        """:func:`~bboxcore.models.config.model_config_from_dict`."""
        return model_config_from_dict(data)

    @classmethod
    def default_config(cls, dataset: str, class_names: Sequence[str]) -> ModelConfig:
        """:func:`~bboxcore.models.presets.dataset_config`: the preset of ``dataset``."""
        from bboxcore.models.presets import dataset_config

        return dataset_config(dataset, class_names)

    def summary(self) -> dict:
        """``{'receptive_field': px}`` of a unit of the RPN's sliding window."""
        return {"receptive_field": self.backbone.receptive_field()}

    # ------------------------------------------------------------------ the figure
    def preprocess(self, images) -> Tensor:
        """(N, H, W, 3) or (H, W, 3) images in [0, 1] -> normalised (N, 3, H, W) float32 Tensor."""
        return Tensor(_normalized(images))

    def features(self, x: Tensor, frozen: bool = False) -> Tensor:
        """Backbone: (N, 3, H, W) -> (N, C, H/s, W/s).

        ``frozen``: no graph, no gradient, and batch norm (if any) uses its running
        statistics without updating them, so the shared layers stay fixed.
        """
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
        rois = self.rpn.propose(rpn_loc.data, rpn_score.data, anchor, img_size, self.training)
        return rpn_loc, rpn_score, anchor, rois

    def propose(self, images) -> list[np.ndarray]:
        """The RPN's proposals for a batch (no gradient; backbone run frozen).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
            Pixels in [0, 1].

        Returns
        -------
        list of ndarray, shape (R_i, 4)
            The RoIs of each image, as :meth:`loss` takes them in ``proposals``
            (the training-time numbers of proposals when the model is in training mode).
        """
        x = self.preprocess(images)
        with no_grad():
            return self.proposals(self.features(x, frozen=True), x.shape[2:])[3]

    def rpn_forward(self, features: Tensor) -> tuple[Tensor, Tensor, np.ndarray]:
        """The RPN's offsets (N, S, 4), objectness (N, S, 2) or (N, S), and anchors (S, 4)."""
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
        pooled = self.head.roi_features(features, rois5.astype(np.float32))  # (R, C, 7, 7)
        roi_cls_loc, roi_score = self.head.classify(pooled)
        _check_finite(roi_cls_loc, "roi_cls_loc")
        _check_finite(roi_score, "roi_score")
        return roi_cls_loc, roi_score

    # ------------------------------------------------------------------ training
    def loss(
        self,
        images,
        targets: Sequence,
        rng: np.random.Generator | None = None,
        *,
        heads: Sequence[str] = HEADS,
        proposals: Sequence[np.ndarray] | None = None,
        frozen_backbone: bool = False,
    ) -> dict[str, Tensor]:
        r"""The Faster R-CNN losses of one batch of same-size images.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
            Pixels in [0, 1].
        targets : sequence of N :class:`~bboxcore.models.base.Target`
            Per image, ``bbox`` (R_i, 4) ground-truth boxes in pixels (R_i = 0
            allowed) and ``label`` (R_i,) their classes, 0 .. K-1.
        rng : numpy.random.Generator, optional
            Source of the target creators' sampling (None: ``default_rng(0)``).
        heads : sequence of {'rpn', 'head'}
            Whose losses: both (approximate joint training), the RPN's two or the
            RoI head's two.
        proposals : sequence of N ndarray, shape (R_i, 4), optional
            RoIs for the head loss instead of this model's own proposals (e.g.
            those of another network's :meth:`propose`).
        frozen_backbone : bool
            Compute the features without a gradient (the shared convolutional
            layers stay fixed).

        Returns
        -------
        dict of str to Tensor
            The terms of :data:`LOSS_NAMES` of the chosen heads: ``rpn_cls``,
            ``rpn_loc`` (σ = 3), ``roi_cls``, ``roi_loc`` (σ = 1), each a scalar.

        Raises
        ------
        ValueError
            If the images are not (N, H, W, 3), ``targets`` or ``proposals`` do
            not hold N entries, or ``heads`` names an unknown head.

        Notes
        -----
        The RPN loss is :math:`\frac{1}{N_{cls}}\sum_i L_{cls}(p_i, p_i^*) +
        \lambda \frac{1}{N_{reg}} \sum_i p_i^* L_{reg}(t_i, t_i^*)` over the
        anchors sampled by the ``AnchorTargetCreator`` in all images (Eq. 1); the
        head loss is :math:`L_{cls}(p, u) + \lambda [u \ge 1] L_{loc}(t^u, v)`
        over the sampled RoIs (Fast R-CNN Eq. 1).
        """
        heads = tuple(heads)
        unknown = sorted(set(heads) - set(HEADS))
        if unknown or not heads:
            raise ValueError(f"heads must be a non-empty subset of {HEADS}; got {heads}")
        rng = np.random.default_rng(0) if rng is None else rng
        x = self.preprocess(images)
        n, _, height, width = x.shape
        img_size = (height, width)
        targets = as_targets(targets, n)
        if proposals is not None and len(proposals) != n:
            raise ValueError(f"proposals must have N = {n} entries; got {len(proposals)}")
        features = self.features(x, frozen=frozen_backbone)
        train_rpn, train_head = "rpn" in heads, "head" in heads
        if train_rpn or proposals is None:  # RPN outputs for its loss and/or for proposals
            with contextlib.nullcontext() if train_rpn else no_grad():
                rpn_loc, rpn_score, anchor = self.rpn_forward(features)
        if train_head and proposals is None:
            proposals = self.rpn.propose(rpn_loc.data, rpn_score.data, anchor, img_size, True)
        losses: dict[str, Tensor] = {}
        if train_rpn:
            gt = [self.anchor_target_creator(t.bbox, anchor, img_size, rng) for t in targets]
            gt_rpn_loc = np.concatenate([g[0] for g in gt])  # (N S, 4)
            gt_rpn_label = np.concatenate([g[1] for g in gt])  # (N S,)
            rpn_score = rpn_score.reshape(n * anchor.shape[0], *rpn_score.shape[2:])
            losses["rpn_loc"], losses["rpn_cls"] = F.rpn_loss(
                rpn_loc.reshape(-1, 4), rpn_score, gt_rpn_loc, gt_rpn_label,
                sigma=self.config.rpn.sigma,
            )  # fmt: skip
        if train_head:
            head = self.config.head
            samples = [
                self.proposal_target_creator(
                    roi, t.bbox, t.label, rng, head.loc_normalize_mean, head.loc_normalize_std
                )
                for roi, t in zip(proposals, targets)
            ]
            roi_cls_loc, roi_score = self.detect_head(features, [s[0] for s in samples])
            losses["roi_loc"], losses["roi_cls"] = F.roi_head_loss(
                roi_cls_loc,
                roi_score,
                np.concatenate([s[1] for s in samples]),
                np.concatenate([s[2] for s in samples]),
                sigma=head.sigma,
            )
        return losses

    # ------------------------------------------------------------------ inference
    def predict(self, images) -> list[Prediction]:
        """Detections of each image: boxes, labels and scores.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3) or (H, W, 3), or a list of (H_i, W_i, 3)
            Pixels in [0, 1]; images of different sizes are run one at a time.

        Returns
        -------
        list of Prediction
            Per image ``(bbox, label, score)``: ``bbox`` (D, 4) float32 pixels,
            ``label`` (D,) int64 in 0 .. K-1, ``score`` (D,) float32, by decreasing score.
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

    def _predict_batch(self, images: np.ndarray) -> list[Prediction]:
        x = self.preprocess(images)
        img_size = x.shape[2:]
        features = self.features(x)
        rois = self.proposals(features, img_size)[3]
        if sum(len(r) for r in rois) == 0:
            return [
                Prediction(
                    *suppress(
                        r,
                        np.zeros((0, 4 * (self.config.n_class + 1))),
                        np.zeros((0, self.config.n_class + 1)),
                        img_size,
                        loc_normalize_mean=self.config.head.loc_normalize_mean,
                        loc_normalize_std=self.config.head.loc_normalize_std,
                    )
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
                Prediction(
                    *suppress(
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
            )
            start = stop
        return det
