r"""The detection head of Fast R-CNN: RoI features -> class scores and class-specific boxes.

Every region of interest (a proposal of the RPN) is cut out of the shared
feature map and resampled to a fixed 7 x 7 grid, by RoI Align (bilinear
sampling, no rounding; Mask R-CNN) or RoI Pool (max over rounded bins; Fast
R-CNN) — *Detection – 3 stages* gives both, with their backward passes. Then, as in Fast
R-CNN [1]_ (Fig. 1)::

    RoI features (R, C, 7, 7) -> flatten (R, 49 C)
      -> fc + ReLU -> fc + ReLU                     (R, fc_dim)
      -> cls_score: K + 1 class scores              (R, K + 1)      0 = background
      -> cls_loc: 4 offsets per class               (R, 4 (K + 1))  class-specific

The offsets are normalised by std (0.1, 0.1, 0.2, 0.2) (*The losses of Faster R-CNN*) — the
head learns :math:`\tilde t = (t - \mu) / \sigma` — and are decoded by
:func:`bboxcore.models.predict.suppress`.

References
----------
.. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.
.. [2] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
"""

from __future__ import annotations

import numpy as np

from bboxcore.models.config import HeadConfig
from bboxcore.nn import init
from bboxcore.nn.functional import roi_align, roi_pool
from bboxcore.nn.modules import Linear, Module
from bboxcore.nn.tensor import Tensor

__all__ = ["CLS_LOC_STD", "RoIHead"]

#: Std of the Gaussian init of the box regressor (Fast R-CNN: 0.001; the classifier uses 0.01).
CLS_LOC_STD = 0.001


class RoIHead(Module):
    r"""RoI Align (or Pool) 7 x 7, two FC layers, K + 1 scores, 4 (K + 1) offsets.

    Notation: R RoIs over the batch, C feature channels, K object classes.

    Parameters
    ----------
    in_channels : int
        C, channels of the feature map.
    n_class : int
        K, object classes (the head outputs K + 1 with the background).
    feat_stride : int
        Image pixels per feature cell; the RoI op's ``spatial_scale`` is ``1 / feat_stride``.
    config : HeadConfig
        RoI op and size, FC width.
    rng : numpy.random.Generator
        Source of the initialisation: He-normal for the FC layers,
        :math:`\mathcal N(0, 0.01^2)` for the scores, :math:`\mathcal N(0, 0.001^2)`
        for the offsets (Fast R-CNN).

    Examples
    --------
    >>> head = RoIHead(4, 2, 8, HeadConfig(roi_size=2, fc_dim=8), np.random.default_rng(0))
    >>> features = Tensor(np.ones((1, 4, 6, 6), np.float32))
    >>> rois = np.array([[0, 0., 0., 16., 16.], [0, 8., 8., 40., 32.]], np.float32)
    >>> cls_loc, score = head(features, rois)
    >>> cls_loc.shape, score.shape  # 4 (K + 1) offsets and K + 1 scores per RoI
    ((2, 12), (2, 3))
    """

    def __init__(
        self,
        in_channels: int,
        n_class: int,
        feat_stride: int,
        config: HeadConfig,
        rng: np.random.Generator,
    ) -> None:
        super().__init__()
        self.config = config
        self.n_class = int(n_class)  # K
        self.spatial_scale = 1.0 / feat_stride
        n_in = in_channels * config.roi_size * config.roi_size
        self.fc1 = Linear(n_in, config.fc_dim, rng=rng)
        self.fc2 = Linear(config.fc_dim, config.fc_dim, rng=rng)
        self.cls_score = Linear(config.fc_dim, self.n_class + 1, rng=rng)
        self.cls_loc = Linear(config.fc_dim, 4 * (self.n_class + 1), rng=rng)
        init.normal_(self.cls_score.weight, rng, std=init.HEAD_STD)
        init.normal_(self.cls_loc.weight, rng, std=CLS_LOC_STD)

    def roi_features(self, features: Tensor, rois: np.ndarray) -> Tensor:
        """(N, C, H, W) features, (R, 5) rois -> (R, C, S, S) RoI features, S = ``roi_size``.

        ``rois`` rows are ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels.
        """
        cfg = self.config
        if cfg.roi_op == "align":
            return roi_align(
                features, rois, cfg.roi_size, self.spatial_scale, sampling_ratio=cfg.sampling_ratio
            )
        return roi_pool(features, rois, cfg.roi_size, self.spatial_scale)

    def forward(self, features: Tensor, rois: np.ndarray) -> tuple[Tensor, Tensor]:
        """Class-specific offsets and class scores of each RoI.

        Parameters
        ----------
        features : Tensor, shape (N, C, H, W)
        rois : ndarray, shape (R, 5)
            ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels.

        Returns
        -------
        roi_cls_loc : Tensor, shape (R, 4 (K + 1))
            Normalised offsets, class k in columns ``4k .. 4k + 3``.
        roi_score : Tensor, shape (R, K + 1)
            Softmax logits, column 0 the background.
        """
        return self.classify(self.roi_features(features, rois))

    def classify(self, pooled: Tensor) -> tuple[Tensor, Tensor]:
        """(R, C, S, S) RoI features -> (R, 4 (K + 1)) offsets and (R, K + 1) scores."""
        h = pooled.reshape(pooled.shape[0], -1)  # (R, C, S, S) -> (R, C S S)
        h = self.fc1(h).relu()  # (R, fc_dim)
        h = self.fc2(h).relu()  # (R, fc_dim)
        return self.cls_loc(h), self.cls_score(h)
