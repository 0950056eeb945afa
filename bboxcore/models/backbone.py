r"""The backbone: a small CNN that turns an image into a feature map.

Faster R-CNN [1]_ shares the convolutional layers of an ImageNet classifier
(ZF-net, VGG-16) between the RPN and the detection head. We have no
pretrained network and a 2-core CPU, so the backbone is a VGG-like stack
sized for speed: ``len(channels)`` blocks of 3x3 convolution (padding 1) +
ReLU, the first ``n_pool`` of them followed by a 2x2/2 max-pool. The default
``(16, 32, 64, 64)`` with three pools gives stride 8::

    image (N, 3, H, W)
      conv3x3 3->16, ReLU, maxpool 2     (N, 16, H/2, W/2)
      conv3x3 16->32, ReLU, maxpool 2    (N, 32, H/4, W/4)
      conv3x3 32->64, ReLU, maxpool 2    (N, 64, H/8, W/8)
      conv3x3 64->64, ReLU               (N, 64, H/8, W/8)   = the shared feature map

Its receptive field, seen through the RPN's 3x3 window, follows the
recurrence :math:`F(i) = (F(i+1) - 1)\,\mathrm{stride}_i + \mathrm{ksize}_i`
of the lecture slides *Object Detection: Faster R-CNN*
(:func:`bboxcore.anchors.receptive_field`): 54 px for the default
(ZF-net: 171 px, VGG-16: 228 px).

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import numpy as np

from bboxcore.anchors import receptive_field
from bboxcore.models.config import BackboneConfig
from bboxcore.nn.modules import BatchNorm2d, Conv2d, MaxPool2d, Module, ReLU, Sequential
from bboxcore.nn.tensor import Tensor

__all__ = ["CONV_KSIZE", "POOL_KSIZE", "RPN_WINDOW", "Backbone"]

#: Kernel side of every backbone convolution (stride 1, padding 1: the size is kept).
CONV_KSIZE = 3
#: Kernel side and stride of the max-pools (each halves the feature map).
POOL_KSIZE = 2
#: (ksize, stride) of the RPN's sliding window, counted in the receptive field
#: (*Object Detection: Faster R-CNN*).
RPN_WINDOW = (3, 1)


class Backbone(Module):
    r"""Image -> shared feature map: conv3x3 + ReLU blocks with 2x2 max-pools.

    Parameters
    ----------
    config : BackboneConfig
        ``channels`` of each block and ``n_pool`` pooled blocks (stride ``2 ** n_pool``).
    rng : numpy.random.Generator
        Source of the He-normal initialisation.

    Attributes
    ----------
    feat_stride : int
        Image pixels per feature-map cell.
    out_channels : int
        C of the feature map.

    Examples
    --------
    >>> net = Backbone(BackboneConfig((4, 8), n_pool=1), np.random.default_rng(0))
    >>> net(Tensor(np.zeros((1, 3, 16, 16), np.float32))).shape
    (1, 8, 8, 8)
    >>> net.receptive_field()  # 3x3, pool 2, 3x3, then the RPN's 3x3
    12
    """

    def __init__(self, config: BackboneConfig, rng: np.random.Generator) -> None:
        super().__init__()
        self.config = config
        layers: list[Module] = []
        c_in = config.in_channels
        for i, c_out in enumerate(config.channels):
            bias = not config.batch_norm  # batch norm's beta replaces the bias
            layers.append(
                Conv2d(c_in, c_out, CONV_KSIZE, padding=CONV_KSIZE // 2, bias=bias, rng=rng)
            )
            if config.batch_norm:
                layers.append(BatchNorm2d(c_out))
            layers.append(ReLU())
            if i < config.n_pool:
                layers.append(MaxPool2d(POOL_KSIZE))
            c_in = c_out
        self.body = Sequential(*layers)
        self.feat_stride = config.feat_stride
        self.out_channels = config.channels[-1]

    def forward(self, x: Tensor) -> Tensor:
        """(N, 3, H, W) images -> (N, C, H / stride, W / stride) features (floor division)."""
        return self.body(x)

    def layers(self) -> list[tuple[int, int]]:
        """``(ksize, stride)`` of every conv and pool, input to output, then the RPN window."""
        out = []
        for i in range(len(self.config.channels)):
            out.append((CONV_KSIZE, 1))
            if i < self.config.n_pool:
                out.append((POOL_KSIZE, POOL_KSIZE))
        return [*out, RPN_WINDOW]

    def receptive_field(self) -> int:
        """Image pixels seen by one 3x3 RPN window (:func:`bboxcore.anchors.receptive_field`)."""
        return receptive_field(self.layers())
