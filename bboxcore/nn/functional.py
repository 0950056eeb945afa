"""Differentiable detection losses and RoI ops, as in ``torch.nn.functional``.

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
from bboxcore.nn.roi_functions import prroi_pool, roi_align, roi_pool

__all__ = [
    "centernet_focal_loss",
    "giou_loss",
    "iou_loss",
    "prroi_pool",
    "roi_align",
    "roi_head_loss",
    "roi_pool",
    "rpn_loss",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_l1",
    "softmax_cross_entropy",
]
