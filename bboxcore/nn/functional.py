"""The differentiable functions in one namespace, as ``torch.nn.functional``: activations,
convolutions, pooling, resampling, normalisation, gather, and the detection losses and RoI ops.

Each function wraps a forward / analytic-backward pair of the core
(:mod:`bboxcore.losses`, :mod:`bboxcore.focal_losses`, :mod:`bboxcore.box_losses`,
:mod:`bboxcore.detection_losses`, :mod:`bboxcore.roi`, :mod:`bboxcore.prroi`) as a
graph node, so each formula exists once::

    from bboxcore.nn import functional as F
    loc_loss, cls_loss = F.rpn_loss(rpn_loc, rpn_score, gt_loc, gt_label, sigma=3.0)
    pooled = F.roi_align(features, rois, 7, 1 / 16)

The wrappers are defined in :mod:`bboxcore.nn.loss_functions` and
:mod:`bboxcore.nn.roi_functions`.
"""

from __future__ import annotations

from bboxcore.nn.activations import leaky_relu, log_sigmoid, relu, sigmoid, softplus
from bboxcore.nn.conv import avg_pool2d, conv2d, conv_transpose2d, max_pool2d
from bboxcore.nn.loss_functions import (
    centernet_focal_loss,
    giou_loss,
    iou_loss,
    roi_head_loss,
    rpn_loss,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_l1,
    softmax_cross_entropy,
)
from bboxcore.nn.normalization import batch_norm, dropout, group_norm
from bboxcore.nn.ops import concatenate, gather, stack, take_along_axis
from bboxcore.nn.resample import space_to_depth, upsample_bilinear, upsample_nearest
from bboxcore.nn.roi_functions import prroi_pool, roi_align, roi_pool

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "centernet_focal_loss",
    "concatenate",
    "conv2d",
    "conv_transpose2d",
    "dropout",
    "gather",
    "giou_loss",
    "group_norm",
    "iou_loss",
    "leaky_relu",
    "log_sigmoid",
    "max_pool2d",
    "prroi_pool",
    "relu",
    "roi_align",
    "roi_head_loss",
    "roi_pool",
    "rpn_loss",
    "sigmoid",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_l1",
    "softmax_cross_entropy",
    "softplus",
    "space_to_depth",
    "stack",
    "take_along_axis",
    "upsample_bilinear",
    "upsample_nearest",
]
