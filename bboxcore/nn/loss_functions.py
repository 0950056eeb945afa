"""The detection losses as differentiable functions of Tensors.

Every formula lives in :mod:`bboxcore.losses`, :mod:`bboxcore.focal_losses`,
:mod:`bboxcore.box_losses` or :mod:`bboxcore.detection_losses`, as a pair
``<name>`` / ``<name>_backward`` written and tested against the slides once.
This module only plugs each pair into the autograd graph: the forward calls
``<name>`` on the tensor's array, the backward calls ``<name>_backward`` with the
upstream gradient. Nothing is re-derived.

Only the predictions (offsets, logits) receive a gradient; targets and labels
come from the target creators, which sit outside the graph (a Tensor passed
there is used as a constant). Import these from :mod:`bboxcore.nn.functional`.
"""

from __future__ import annotations

from collections.abc import Callable

from bboxcore import box_losses, detection_losses, focal_losses, losses
from bboxcore.nn.tensor import Tensor

__all__ = [
    "centernet_focal_loss",
    "giou_loss",
    "iou_loss",
    "roi_head_loss",
    "rpn_loss",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_l1",
    "softmax_cross_entropy",
]


def _constant(x):
    """Targets and labels: arrays without gradient."""
    return x.data if isinstance(x, Tensor) else x


def _loss(forward: Callable, backward: Callable, x, args: tuple, kwargs: dict, op: str) -> Tensor:
    """Wrap a ``(loss, loss_backward)`` pair of the core as one graph node of ``x``."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    args = tuple(_constant(a) for a in args)
    out = forward(x.data, *args, **kwargs)
    # dL/dx = loss_backward(dL/dloss, x, ...): the analytic gradient, written once in the core
    return Tensor.from_op(out, (x,), lambda d: (backward(d, x.data, *args, **kwargs),), op)


def smooth_l1(
    x, sigma: float = 1.0, *, beta: float | None = None, reduction: str = "none"
) -> Tensor:
    """Smooth-L1 loss of a residual Tensor (:func:`bboxcore.losses.smooth_l1`).

    Parameters
    ----------
    x : Tensor
        Residual, e.g. ``pred_loc - gt_loc``.
    sigma, beta, reduction
        As :func:`bboxcore.losses.smooth_l1` (σ = 3 for the RPN, 1 for the head).

    Returns
    -------
    Tensor
        The loss; its backward is :func:`bboxcore.losses.smooth_l1_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.losses.smooth_l1`.

    Examples
    --------
    >>> x = Tensor([-2.0, 0.5], requires_grad=True)
    >>> smooth_l1(x, reduction="sum").backward()  # 1.5 + 0.125
    >>> x.grad  # sign(x) outside, x inside
    array([-1. ,  0.5], dtype=float32)
    """
    return _loss(
        losses.smooth_l1, losses.smooth_l1_backward, x, (sigma,),
        {"beta": beta, "reduction": reduction}, "smooth_l1",
    )  # fmt: skip


def softmax_cross_entropy(
    logits, labels, ignore_index: int = -1, *, reduction: str = "mean"
) -> Tensor:
    """Softmax cross-entropy of (N, C) logits (:func:`bboxcore.losses.softmax_cross_entropy`).

    Parameters
    ----------
    logits : Tensor, shape (N, C)
    labels : ndarray of int, shape (N,)
        True class (0 = background) or ``ignore_index``.
    ignore_index : int
    reduction : {'none', 'mean', 'sum'}

    Returns
    -------
    Tensor
        Backward: :func:`bboxcore.losses.softmax_cross_entropy_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.losses.softmax_cross_entropy`.

    Examples
    --------
    >>> z = Tensor([[0.0, 0.0]], requires_grad=True)
    >>> loss = softmax_cross_entropy(z, np.array([1]))
    >>> round(loss.item(), 4)  # log 2
    0.6931
    >>> loss.backward()
    >>> z.grad  # softmax - onehot
    array([[ 0.5, -0.5]], dtype=float32)
    """
    return _loss(
        losses.softmax_cross_entropy, losses.softmax_cross_entropy_backward, logits,
        (labels, ignore_index), {"reduction": reduction}, "softmax_cross_entropy",
    )  # fmt: skip


def sigmoid_binary_cross_entropy(logits, targets, *, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits (:func:`bboxcore.losses.sigmoid_binary_cross_entropy`).

    Parameters
    ----------
    logits : Tensor, any shape
    targets : ndarray, shape of ``logits``, values in [0, 1]
    reduction : {'none', 'mean', 'sum'}

    Returns
    -------
    Tensor
        Backward: :func:`bboxcore.losses.sigmoid_binary_cross_entropy_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.losses.sigmoid_binary_cross_entropy`.

    Examples
    --------
    >>> z = Tensor([0.0, 0.0], requires_grad=True)
    >>> sigmoid_binary_cross_entropy(z, np.array([1.0, 0.0])).backward()
    >>> z.grad  # (sigmoid(z) - t) / 2
    array([-0.25,  0.25], dtype=float32)
    """
    return _loss(
        losses.sigmoid_binary_cross_entropy, losses.sigmoid_binary_cross_entropy_backward,
        logits, (targets,), {"reduction": reduction}, "sigmoid_binary_cross_entropy",
    )  # fmt: skip


def sigmoid_focal_loss(
    logits, targets, alpha: float | None = 0.25, gamma: float = 2.0, *, reduction: str = "mean"
) -> Tensor:
    """RetinaNet's focal loss on logits (:func:`bboxcore.focal_losses.sigmoid_focal_loss`).

    Parameters
    ----------
    logits : Tensor, any shape
    targets : ndarray, shape of ``logits``, values in [0, 1]
    alpha, gamma, reduction
        As :func:`bboxcore.focal_losses.sigmoid_focal_loss`.

    Returns
    -------
    Tensor
        Backward: :func:`bboxcore.focal_losses.sigmoid_focal_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.focal_losses.sigmoid_focal_loss`.

    Examples
    --------
    >>> z = Tensor([3.0, -3.0], requires_grad=True)
    >>> sigmoid_focal_loss(z, np.array([1.0, 0.0]), reduction="sum").backward()
    >>> bool(np.all(np.abs(z.grad) < 0.01))  # easy examples: almost no gradient
    True
    """
    return _loss(
        focal_losses.sigmoid_focal_loss, focal_losses.sigmoid_focal_loss_backward, logits,
        (targets, alpha, gamma), {"reduction": reduction}, "sigmoid_focal_loss",
    )  # fmt: skip


def centernet_focal_loss(
    logits, heatmap, alpha: float = 2.0, beta: float = 4.0, *, reduction: str = "mean"
) -> Tensor:
    """CenterNet's heatmap focal loss (:func:`bboxcore.focal_losses.centernet_focal_loss`).

    Parameters
    ----------
    logits : Tensor, any shape, e.g. (N, C, H, W)
    heatmap : ndarray, shape of ``logits``, values in [0, 1], 1 at object centres
    alpha, beta, reduction
        As :func:`bboxcore.focal_losses.centernet_focal_loss`.

    Returns
    -------
    Tensor
        Backward: :func:`bboxcore.focal_losses.centernet_focal_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.focal_losses.centernet_focal_loss`.

    Examples
    --------
    >>> z = Tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
    >>> heat = np.array([[[[1.0, 0.5], [0.0, 0.0]]]])
    >>> centernet_focal_loss(z, heat).backward()
    >>> bool(z.grad[0, 0, 0, 0] < 0 < z.grad[0, 0, 1, 1])  # raise the centre, lower the rest
    True
    """
    return _loss(
        focal_losses.centernet_focal_loss, focal_losses.centernet_focal_loss_backward, logits,
        (heatmap, alpha, beta), {"reduction": reduction}, "centernet_focal_loss",
    )  # fmt: skip


def iou_loss(pred_ltrb, target_ltrb, *, eps: float = box_losses.IOU_LOSS_EPS, reduction="mean"):
    """UnitBox / FCOS IoU loss of (l, t, r, b) distances (:func:`bboxcore.box_losses.iou_loss`).

    Parameters
    ----------
    pred_ltrb : Tensor, shape (R, 4)
        Predicted distances to the four sides, in pixels.
    target_ltrb : ndarray, shape (R, 4)
    eps, reduction
        As :func:`bboxcore.box_losses.iou_loss`.

    Returns
    -------
    Tensor
        Backward: the slide's hand-derived :func:`bboxcore.box_losses.iou_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.box_losses.iou_loss`.

    Examples
    --------
    >>> p = Tensor([[1.0, 1.0, 1.0, 1.0]], requires_grad=True)
    >>> loss = iou_loss(p, np.array([[1.0, 1.0, 1.0, 1.0]]))
    >>> round(loss.item(), 6)  # identical boxes: -ln 1
    0.0
    """
    return _loss(
        box_losses.iou_loss, box_losses.iou_loss_backward, pred_ltrb, (target_ltrb,),
        {"eps": eps, "reduction": reduction}, "iou_loss",
    )  # fmt: skip


def giou_loss(pred_boxes, target_boxes, *, reduction: str = "mean") -> Tensor:
    """GIoU loss of (x_min, y_min, x_max, y_max) boxes (:func:`bboxcore.box_losses.giou_loss`).

    Parameters
    ----------
    pred_boxes : Tensor, shape (R, 4)
    target_boxes : ndarray, shape (R, 4)
    reduction : {'none', 'mean', 'sum'}

    Returns
    -------
    Tensor
        Backward: :func:`bboxcore.box_losses.giou_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.box_losses.giou_loss`.

    Examples
    --------
    >>> b = Tensor([[0.0, 0.0, 2.0, 2.0]], requires_grad=True)
    >>> loss = giou_loss(b, np.array([[4.0, 0.0, 6.0, 2.0]]))  # apart: GIoU < 0
    >>> loss.backward()
    >>> bool(b.grad[0, 2] < 0)  # moving x_max right lowers the loss
    True
    """
    return _loss(
        box_losses.giou_loss, box_losses.giou_loss_backward, pred_boxes, (target_boxes,),
        {"reduction": reduction}, "giou_loss",
    )  # fmt: skip


def _two_losses(forward, backward, loc, score, args, sigma, ops) -> tuple[Tensor, Tensor]:
    """Wrap a multi-task pair ``(loc_loss, cls_loss)`` as two graph nodes.

    L_loc depends only on the offsets and L_cls only on the scores, so each node has
    one parent and asks ``backward`` for its own gradient (the other upstream is 0).
    """
    loc = loc if isinstance(loc, Tensor) else Tensor(loc)
    score = score if isinstance(score, Tensor) else Tensor(score)
    args = tuple(_constant(a) for a in args)
    loc_loss, cls_loss = forward(loc.data, score.data, *args, sigma=sigma)

    def dloc(d):
        return (backward(d, 0.0, loc.data, score.data, *args, sigma=sigma)[0],)

    def dscore(d):
        return (backward(0.0, d, loc.data, score.data, *args, sigma=sigma)[1],)

    return Tensor.from_op(loc_loss, (loc,), dloc, ops[0]), Tensor.from_op(
        cls_loss, (score,), dscore, ops[1]
    )


def rpn_loss(rpn_loc, rpn_score, gt_loc, gt_label, sigma: float = 3.0) -> tuple[Tensor, Tensor]:
    """The RPN's multi-task loss (:func:`bboxcore.detection_losses.rpn_loss`).

    Parameters
    ----------
    rpn_loc : Tensor, shape (S, 4)
        Predicted offsets of the S anchors.
    rpn_score : Tensor, shape (S, 2) or (S,)
        Objectness logits (softmax pair or one sigmoid logit).
    gt_loc : ndarray, shape (S, 4)
    gt_label : ndarray of int, shape (S,)
        1 = positive, 0 = negative, -1 = ignore.
    sigma : float
        σ of the smooth-L1 (3 for the RPN).

    Returns
    -------
    loc_loss, cls_loss : Tensor, Tensor
        Scalars; backward: :func:`bboxcore.detection_losses.rpn_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.detection_losses.rpn_loss`.

    Examples
    --------
    >>> loc = Tensor([[0.5, 0, 0, 0], [9.0, 9, 9, 9]], requires_grad=True)
    >>> score = Tensor(np.zeros((2, 2)), requires_grad=True)
    >>> loc_loss, cls_loss = rpn_loss(loc, score, np.zeros((2, 4)), np.array([1, 0]))
    >>> (loc_loss + cls_loss).backward()
    >>> loc.grad  # only the positive anchor's offsets; slope 1 beyond 1/9, over N = 2
    array([[0.5, 0. , 0. , 0. ],
           [0. , 0. , 0. , 0. ]], dtype=float32)
    """
    return _two_losses(
        detection_losses.rpn_loss, detection_losses.rpn_loss_backward, rpn_loc, rpn_score,
        (gt_loc, gt_label), sigma, ("rpn_loc_loss", "rpn_cls_loss"),
    )  # fmt: skip


def roi_head_loss(
    roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label, sigma: float = 1.0
) -> tuple[Tensor, Tensor]:
    """The Fast R-CNN head's multi-task loss (:func:`bboxcore.detection_losses.roi_head_loss`).

    Parameters
    ----------
    roi_cls_loc : Tensor, shape (R, 4 (K + 1))
        Class-specific offsets.
    roi_score : Tensor, shape (R, K + 1)
        Class logits, column 0 = background.
    gt_roi_loc : ndarray, shape (R, 4)
    gt_roi_label : ndarray of int, shape (R,)
        0 = background, 1..K = class.
    sigma : float
        σ of the smooth-L1 (1 for the head).

    Returns
    -------
    loc_loss, cls_loss : Tensor, Tensor
        Scalars; backward: :func:`bboxcore.detection_losses.roi_head_loss_backward`.

    Raises
    ------
    ValueError, TypeError
        As :func:`bboxcore.detection_losses.roi_head_loss`.

    Examples
    --------
    >>> cls_loc = Tensor(np.zeros((2, 12)), requires_grad=True)
    >>> loc_loss, cls_loss = roi_head_loss(cls_loc, Tensor(np.zeros((2, 3))), np.ones((2, 4)),
    ...                                    np.array([2, 0]))
    >>> loc_loss.backward()
    >>> np.flatnonzero(cls_loc.grad)  # only RoI 0's class-2 offsets: columns 8..11
    array([ 8,  9, 10, 11])
    """
    return _two_losses(
        detection_losses.roi_head_loss, detection_losses.roi_head_loss_backward, roi_cls_loc,
        roi_score, (gt_roi_loc, gt_roi_label), sigma, ("roi_loc_loss", "roi_cls_loss"),
    )  # fmt: skip
