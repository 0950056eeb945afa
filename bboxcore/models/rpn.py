r"""The region proposal network: a 3x3 sliding window with two 1x1 siblings.

At every cell of the shared feature map the RPN [1]_ (Sec. 3.1) looks at a
3x3 window and, for each of the A anchors centred there, predicts

* an **objectness** score — 2 softmax scores (background, object) per anchor,
  the 2A-channel variant of the paper, or 1 sigmoid logit per anchor, the
  A-channel binary-cross-entropy variant (*Object Detection: Faster R-CNN*);
* a **loc**, the offsets :math:`(t_x, t_y, t_w, t_h)` of Eq. 2 from the anchor
  to the object, 4A channels.

Seed 002 (C2): a 38 x 50 map with A = 9 gives scores (1, 18, 38, 50) and
locs (1, 36, 38, 50), that is 17100 anchors. The outputs are laid out cell by
cell, anchor by anchor — ``(N, A·4, H, W) -> (N, H, W, A, 4) -> (N, H·W·A, 4)``
— which is the row order of :func:`bboxcore.anchors.grid_anchors`, so row s
of the loc is the offset of anchor s.

The :class:`~bboxcore.targets.ProposalCreator` then decodes the offsets,
clips, drops tiny boxes, keeps the top scores and applies NMS at IoU 0.7:
the proposals (RoIs). That step is plain NumPy, outside the graph: no
gradient flows through the proposals' coordinates (the "approximate" of
approximate joint training).

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import numpy as np

from bboxcore.anchors import generate_anchor_base, grid_anchors
from bboxcore.models.config import AnchorConfig, RPNConfig
from bboxcore.nn import init
from bboxcore.nn.modules import Conv2d, Module
from bboxcore.nn.tensor import Tensor
from bboxcore.targets import ProposalCreator

__all__ = ["RegionProposalNetwork"]


class RegionProposalNetwork(Module):
    r"""Features -> per-anchor objectness and offsets -> proposals.

    Notation: N images, C feature channels, H x W feature cells, A anchors
    per cell, S = H·W·A anchors per image.

    Parameters
    ----------
    in_channels : int
        C, channels of the backbone's feature map.
    feat_stride : int
        Image pixels per feature cell.
    anchor : AnchorConfig
        Base size, ratios and scales of the anchors.
    config : RPNConfig
        Width of the 3x3 conv, objectness variant, proposal settings.
    rng : numpy.random.Generator
        Source of the initialisation: He-normal for the 3x3 conv,
        :math:`\mathcal N(0, 0.01^2)` for the two 1x1 convs (the paper's init).

    Examples
    --------
    >>> rng, anchor = np.random.default_rng(0), AnchorConfig(4, ratios=(1.0,), scales=(2.0,))
    >>> rpn = RegionProposalNetwork(8, 4, anchor, RPNConfig(mid_channels=8), rng)
    >>> loc, score, anchor = rpn(Tensor(np.zeros((1, 8, 5, 6), np.float32)))
    >>> loc.shape, score.shape, anchor.shape  # S = 5 * 6 * 1 anchors
    ((1, 30, 4), (1, 30, 2), (30, 4))
    """

    def __init__(
        self,
        in_channels: int,
        feat_stride: int,
        anchor: AnchorConfig,
        config: RPNConfig,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        self.config = config
        self.feat_stride = int(feat_stride)
        self.anchor_base = generate_anchor_base(anchor.base_size, anchor.ratios, anchor.scales)
        self.n_anchor = len(self.anchor_base)  # A
        # 2 softmax scores (background, object) per anchor, or 1 sigmoid logit (Faster R-CNN slides)
        self.n_score = 2 if config.objectness == "softmax" else 1
        mid = config.mid_channels
        self.conv = Conv2d(in_channels, mid, 3, padding=1, rng=rng)  # the 3x3 sliding window
        self.score = Conv2d(mid, self.n_score * self.n_anchor, 1, rng=rng)
        self.loc = Conv2d(mid, 4 * self.n_anchor, 1, rng=rng)
        for layer in (self.score, self.loc):
            init.normal_(layer.weight, rng, std=init.HEAD_STD)
            init.zeros_(layer.bias)
        self.proposal_creator = ProposalCreator(
            nms_thresh=config.nms_thresh,
            n_train_pre_nms=config.n_train_pre_nms,
            n_train_post_nms=config.n_train_post_nms,
            n_test_pre_nms=config.n_test_pre_nms,
            n_test_post_nms=config.n_test_post_nms,
            min_size=config.min_size,
        )
        self._anchor_cache: dict[tuple[int, int], np.ndarray] = {}

    def anchors(self, feat_size: tuple[int, int]) -> np.ndarray:
        """The S = H·W·A anchors of an H x W feature map, image pixels, float32 (cached)."""
        key = (int(feat_size[0]), int(feat_size[1]))
        if key not in self._anchor_cache:
            self._anchor_cache[key] = grid_anchors(self.anchor_base, self.feat_stride, key).astype(
                np.float32
            )
        return self._anchor_cache[key]

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, np.ndarray]:
        """Objectness and offsets of every anchor.

        Parameters
        ----------
        features : Tensor, shape (N, C, H, W)

        Returns
        -------
        rpn_loc : Tensor, shape (N, S, 4)
            Offsets ``(t_x, t_y, t_w, t_h)``, row s for anchor s.
        rpn_score : Tensor, shape (N, S, 2) or (N, S)
            Softmax logits (background, object), or one sigmoid logit per anchor.
        anchor : ndarray, shape (S, 4)
            The anchors, in pixels.
        """
        n, _, hh, ww = features.shape
        h = self.conv(features).relu()  # (N, mid, H, W)
        # (N, 4A, H, W) -> (N, H, W, 4A) -> (N, H W A, 4): anchor order of grid_anchors
        rpn_loc = self.loc(h).transpose(0, 2, 3, 1).reshape(n, -1, 4)
        rpn_score = self.score(h).transpose(0, 2, 3, 1)  # (N, H, W, n_score A)
        if self.n_score == 2:
            rpn_score = rpn_score.reshape(n, -1, 2)  # (N, S, 2)
        else:
            rpn_score = rpn_score.reshape(n, -1)  # (N, S)
        return rpn_loc, rpn_score, self.anchors((hh, ww))

    def objectness(self, rpn_score: np.ndarray) -> np.ndarray:
        """A score per anchor that orders anchors like P(object): (S, 2) or (S,) -> (S,).

        For the softmax variant :math:`P(\\text{object}) = \\sigma(s_1 - s_0)`, which is
        increasing in the logit difference :math:`s_1 - s_0`; for the sigmoid variant the
        logit itself. Only the order matters to the :class:`~bboxcore.targets.ProposalCreator`.
        """
        return rpn_score[:, 1] - rpn_score[:, 0] if rpn_score.ndim == 2 else rpn_score

    def propose(
        self,
        rpn_loc: np.ndarray,
        rpn_score: np.ndarray,
        anchor: np.ndarray,
        img_size,
        training: bool,
    ) -> list[np.ndarray]:
        """Proposals of each image of the batch (no gradient).

        Parameters
        ----------
        rpn_loc : ndarray, shape (N, S, 4)
        rpn_score : ndarray, shape (N, S, 2) or (N, S)
        anchor : ndarray, shape (S, 4)
        img_size : (H, W)
            Image size in pixels.
        training : bool
            Use the training counts (pre/post NMS) of the config.

        Returns
        -------
        list of ndarray, shape (R_i, 4), float32
            The RoIs of image i in pixels, by decreasing objectness.
        """
        return [
            self.proposal_creator(
                rpn_loc[i], self.objectness(rpn_score[i]), anchor, img_size, training=training
            ).astype(np.float32)
            for i in range(rpn_loc.shape[0])
        ]
