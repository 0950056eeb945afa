r"""Element-wise detection losses, each with its analytic gradient beside it.

The API convention (one rule for every loss in bboxcore)
--------------------------------------------------------
Every loss is a pair of functions::

    loss  = <name>(inputs..., reduction=...)
    dpred = <name>_backward(dloss, inputs..., reduction=...)

* ``<name>`` returns the loss: an array of the element-wise losses when
  ``reduction='none'``, a NumPy scalar for ``'sum'`` and ``'mean'``.
* ``<name>_backward`` takes the **upstream gradient** ``dloss`` (the gradient of
  the final objective w.r.t. the returned loss: a scalar for ``'sum'`` and
  ``'mean'``, an array broadcastable to the loss for ``'none'``) plus the same
  inputs, and returns the gradient w.r.t. the differentiable input (``x`` or
  ``logits``), same shape and floating dtype. Targets and labels get no
  gradient (they come from the target creators, which sit outside the graph).
* ``reduction='mean'`` divides the sum by the number of elements that count:
  all elements, except where a function documents otherwise (the
  non-ignored rows of :func:`softmax_cross_entropy`, the object centres of
  ``centernet_focal_loss``); an empty mean is 0, never NaN.

The autograd layer wraps each pair as one ``Function`` (forward calls
``<name>``, backward calls ``<name>_backward``). Floating inputs keep their
dtype; integer and list inputs become float64. Inputs are never modified.
NaN or inf inputs raise ``ValueError``; finite inputs so large that a loss
exceeds the dtype's range (:math:`|z| \sim 10^{38}` in float32) give ``inf``, never NaN.

The family, one module per kind of loss (all re-exported here and by :mod:`bboxcore`):

* :mod:`bboxcore.losses.basic` — smooth L1, softmax cross-entropy, sigmoid BCE;
* :mod:`bboxcore.losses.focal` — RetinaNet's and CenterNet's focal losses;
* :mod:`bboxcore.losses.box` — the losses on whole boxes (UnitBox IoU, GIoU);
* :mod:`bboxcore.losses.detection` — the RPN and Fast R-CNN head multi-task losses;
* :mod:`bboxcore.losses.yolo` — the YOLOv1 and YOLOv3 losses, term by term;
* :mod:`bboxcore.losses.centernet` — CenterNet's size/offset L1 and its whole objective.

The shared reductions and upstream-gradient helpers are in the private
``bboxcore.losses._common``.
"""

from bboxcore.losses._common import REDUCTIONS
from bboxcore.losses.basic import (
    sigmoid_binary_cross_entropy,
    sigmoid_binary_cross_entropy_backward,
    smooth_l1,
    smooth_l1_backward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from bboxcore.losses.box import (
    IOU_LOSS_EPS,
    giou_loss,
    giou_loss_backward,
    iou_loss,
    iou_loss_backward,
)
from bboxcore.losses.centernet import (
    CENTERNET_LOSS_NAMES,
    centernet_l1_loss,
    centernet_l1_loss_backward,
    centernet_loss,
    centernet_loss_backward,
)
from bboxcore.losses.detection import (
    IGNORE_LABEL,
    roi_head_loss,
    roi_head_loss_backward,
    rpn_loss,
    rpn_loss_backward,
)
from bboxcore.losses.focal import (
    centernet_focal_loss,
    centernet_focal_loss_backward,
    sigmoid_focal_loss,
    sigmoid_focal_loss_backward,
)
from bboxcore.losses.yolo import (
    yolov1_loss,
    yolov1_loss_backward,
    yolov3_loss,
    yolov3_loss_backward,
)

__all__ = [
    "CENTERNET_LOSS_NAMES",
    "IGNORE_LABEL",
    "IOU_LOSS_EPS",
    "REDUCTIONS",
    "centernet_focal_loss",
    "centernet_focal_loss_backward",
    "centernet_l1_loss",
    "centernet_l1_loss_backward",
    "centernet_loss",
    "centernet_loss_backward",
    "giou_loss",
    "giou_loss_backward",
    "iou_loss",
    "iou_loss_backward",
    "roi_head_loss",
    "roi_head_loss_backward",
    "rpn_loss",
    "rpn_loss_backward",
    "sigmoid_binary_cross_entropy",
    "sigmoid_binary_cross_entropy_backward",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_backward",
    "smooth_l1",
    "smooth_l1_backward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "yolov1_loss",
    "yolov1_loss_backward",
    "yolov3_loss",
    "yolov3_loss_backward",
]
