r"""The two multi-task losses of Faster R-CNN: the RPN's and the Fast R-CNN head's.

As in *Object Detection: Faster R-CNN* and *The losses of Faster R-CNN*.

Both are built from the element-wise losses of :mod:`bboxcore.losses` (no formula
is re-derived here) and follow its convention, with two loss terms and so two
upstream gradients::

    loc_loss, cls_loss = rpn_loss(rpn_loc, rpn_score, gt_loc, gt_label, sigma=3.0)
    drpn_loc, drpn_score = rpn_loss_backward(dloc_loss, dcls_loss, rpn_loc, rpn_score,
                                             gt_loc, gt_label, sigma=3.0)

The total loss is ``loc_loss + cls_loss`` (λ = 1, see below); pass
``dloc_loss = dcls_loss = 1.0`` to differentiate it.

Normalisation
-------------
The paper writes (Faster R-CNN Eq. 1, *Object Detection: Faster R-CNN*)

.. math::
    L(\{p_i\}, \{t_i\}) = \frac{1}{N_{cls}} \sum_i L_{cls}(p_i, p_i^*)
        + \lambda \frac{1}{N_{reg}} \sum_i p_i^* L_{reg}(t_i, t_i^*)

with :math:`N_{cls} = 256` (the mini-batch of sampled anchors), :math:`N_{reg}
\approx 2400` (the number of anchor *locations*) and λ = 10, so that
:math:`\lambda / N_{reg} \approx 1/240 \approx 1 / N_{cls}`. Like the widely used
chainercv / simple-faster-rcnn implementations, bboxcore takes that balance
literally: **both terms are divided by the same N, the number of non-ignored
labels** (256 for the RPN, 128 for the head), **and λ = 1**. So

* ``cls_loss`` = mean cross-entropy over the labels that are not -1;
* ``loc_loss`` = (sum over the positive / foreground rows of the smooth-L1 of
  their 4 offsets) / N. Negatives, background RoIs and ignored rows add nothing.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import as_float_array, check_finite, finite_scalar
from bboxcore.losses.basic import (
    sigmoid_binary_cross_entropy,
    sigmoid_binary_cross_entropy_backward,
    smooth_l1,
    smooth_l1_backward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)

__all__ = [
    "IGNORE_LABEL",
    "roi_head_loss",
    "roi_head_loss_backward",
    "rpn_loss",
    "rpn_loss_backward",
]

IGNORE_LABEL = -1  # anchors (and RoIs) with this label count for nothing


# --------------------------------------------------------------------------- shared parts
def _n_valid(label: np.ndarray) -> int:
    return int((label != IGNORE_LABEL).sum())


def _loc_loss(pred_loc, gt_loc, label, sigma):
    """Sum of smooth-L1 over the rows with label > 0, divided by the number of non-ignored rows."""
    fg = label > 0
    total = smooth_l1(pred_loc[fg] - gt_loc[fg], sigma, reduction="sum")
    return total / pred_loc.dtype.type(max(_n_valid(label), 1))


def _loc_loss_backward(dloss, pred_loc, gt_loc, label, sigma):
    fg = label > 0
    dpred = np.zeros_like(pred_loc)
    up = np.asarray(dloss, dtype=pred_loc.dtype) / max(_n_valid(label), 1)
    dpred[fg] = smooth_l1_backward(up, pred_loc[fg] - gt_loc[fg], sigma, reduction="sum")
    return dpred


# --------------------------------------------------------------------------- RPN
def _rpn_inputs(rpn_loc, rpn_score, gt_loc, gt_label):
    loc = _as_locs(rpn_loc, "rpn_loc")
    s = loc.shape[0]
    gt = _as_locs(gt_loc, "gt_loc", s).astype(loc.dtype, copy=False)
    label = _as_labels(gt_label, "gt_label", s, 1)
    score = as_float_array(rpn_score, "rpn_score")
    if score.shape not in ((s, 2), (s,)):
        raise ValueError(
            f"rpn_score must have shape ({s}, 2) (softmax) or ({s},) (sigmoid); got {score.shape}"
        )
    check_finite(score, "rpn_score")
    return loc, score, gt, label


def rpn_loss(rpn_loc, rpn_score, gt_loc, gt_label, sigma: float = 3.0):
    r"""The RPN's multi-task loss: objectness cross-entropy + smooth-L1 on positive anchors.

    *Object Detection: Faster R-CNN* (Faster R-CNN Eq. 1, normalised as in the module docstring):

    .. math::
        L_{cls} = \frac{1}{N}\sum_{i: p_i^* \ne -1} L_{cls}(p_i, p_i^*),\quad
        L_{loc} = \frac{1}{N}\sum_{i: p_i^* = 1} \sum_{m \in \{x,y,w,h\}}
            \mathrm{smooth}_{L_1}^{\sigma}(t_{i,m} - t^*_{i,m})

    N = the number of sampled (non-ignored) anchors, 256 by default.

    Parameters
    ----------
    rpn_loc : ndarray, shape (S, 4), float
        Predicted offsets ``(t_x, t_y, t_w, t_h)`` of the S anchors.
    rpn_score : ndarray, shape (S, 2) or (S,), float
        Objectness logits: two per anchor (background, object) for the softmax
        cross-entropy used by the paper's code and chainercv, or one per anchor
        for the binary cross-entropy variant of *Object Detection: Faster R-CNN*.
    gt_loc : ndarray, shape (S, 4)
        Target offsets from :class:`bboxcore.targets.AnchorTargetCreator`.
    gt_label : ndarray of int, shape (S,)
        1 = positive, 0 = negative, -1 = ignore.
    sigma : float, default 3.0
        σ of the smooth-L1 (switch at 1/σ² = 1/9).

    Returns
    -------
    loc_loss, cls_loss : NumPy scalars
        In the floating dtype of ``rpn_loc`` / ``rpn_score``. 0 (not NaN) when
        every label is -1; ``loc_loss`` is 0 when there is no positive.

    Raises
    ------
    TypeError
        If an input is not numeric or ``gt_label`` is not integer.
    ValueError
        If the shapes disagree, a value is NaN/inf, a label is outside
        {-1, 0, 1} or ``sigma`` is not > 0.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.

    Examples
    --------
    >>> loc, gt = np.array([[0.5, 0, 0, 0], [9.0, 9, 9, 9]]), np.zeros((2, 4))
    >>> score = np.zeros((2, 2))  # p = 0.5 everywhere: each CE is log 2
    >>> loc_loss, cls_loss = rpn_loss(loc, score, gt, np.array([1, 0]))
    >>> float(loc_loss)  # (0.5 - 0.5/9) / 2: the negative's offsets do not count
    0.2222222222222222
    >>> round(float(cls_loss), 6)
    0.693147
    """
    loc, score, gt, label = _rpn_inputs(rpn_loc, rpn_score, gt_loc, gt_label)
    loc_loss = _loc_loss(loc, gt, label, sigma)
    valid = label != IGNORE_LABEL  # only the sampled anchors: 256 of ~17000
    forward = softmax_cross_entropy if score.ndim == 2 else sigmoid_binary_cross_entropy
    total = forward(score[valid], label[valid], reduction="sum")
    return loc_loss, total / score.dtype.type(max(_n_valid(label), 1))


def rpn_loss_backward(
    dloc_loss, dcls_loss, rpn_loc, rpn_score, gt_loc, gt_label, sigma: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`rpn_loss` w.r.t. ``rpn_loc`` and ``rpn_score``.

    .. math::
        \frac{\partial L}{\partial t_{i}} = \frac{\partial \ell}{\partial L_{loc}}
            \frac{[p_i^* = 1]}{N} \frac{\partial\,\mathrm{smooth}_{L_1}}{\partial x}(t_i - t_i^*),
        \quad
        \frac{\partial L}{\partial z_{i}} = \frac{\partial \ell}{\partial L_{cls}}
            \frac{[p_i^* \ne -1]}{N} (p_i - \text{onehot}(p_i^*))

    Parameters
    ----------
    dloc_loss, dcls_loss : float
        Upstream gradients w.r.t. the two returned losses (1.0 and 1.0 for
        their sum).
    rpn_loc, rpn_score, gt_loc, gt_label, sigma
        As in :func:`rpn_loss`.

    Returns
    -------
    drpn_loc : ndarray, shape (S, 4)
        Zero on every row that is not positive.
    drpn_score : ndarray, shape of ``rpn_score``
        Zero on ignored rows.

    Raises
    ------
    TypeError, ValueError
        As :func:`rpn_loss`, or if an upstream gradient is not a finite scalar.

    Examples
    --------
    >>> dloc, dscore = rpn_loss_backward(1.0, 1.0, np.array([[0.5, 0, 0, 0], [9.0, 9, 9, 9]]),
    ...                                  np.zeros((2, 2)), np.zeros((2, 4)), np.array([1, -1]))
    >>> dloc  # only the positive row; smooth-L1 slope 1 beyond 1/9, over N = 1
    array([[1., 0., 0., 0.],
           [0., 0., 0., 0.]])
    >>> dscore
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    dloc_up, dcls_up = finite_scalar(dloc_loss, "dloc_loss"), finite_scalar(dcls_loss, "dcls_loss")
    loc, score, gt, label = _rpn_inputs(rpn_loc, rpn_score, gt_loc, gt_label)
    dloc = _loc_loss_backward(dloc_up, loc, gt, label, sigma)
    valid = label != IGNORE_LABEL
    backward = (
        softmax_cross_entropy_backward if score.ndim == 2 else sigmoid_binary_cross_entropy_backward
    )
    dscore = np.zeros_like(score)
    up = score.dtype.type(dcls_up / max(_n_valid(label), 1))
    dscore[valid] = backward(up, score[valid], label[valid], reduction="sum")
    return dloc, dscore


# --------------------------------------------------------------------------- Fast R-CNN head
def _head_inputs(roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label):
    score = as_float_array(roi_score, "roi_score")
    if score.ndim != 2 or score.shape[1] < 1:
        raise ValueError(f"roi_score must have shape (R, K + 1); got {score.shape}")
    check_finite(score, "roi_score")
    r, n_class = score.shape
    cls_loc = _as_locs(roi_cls_loc, "roi_cls_loc", r, 4 * n_class)
    gt = _as_locs(gt_roi_loc, "gt_roi_loc", r).astype(cls_loc.dtype, copy=False)
    label = _as_labels(gt_roi_label, "gt_roi_label", r, n_class - 1)
    return cls_loc, score, gt, label


def _true_class_loc(cls_loc: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The (R, 4) offsets of each RoI's true class, out of the (R, 4(K+1)) head output."""
    per_class = cls_loc.reshape(len(label), cls_loc.shape[1] // 4, 4)  # (R, K+1, 4)
    return per_class[np.arange(len(label)), np.maximum(label, 0)]


def roi_head_loss(roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label, sigma: float = 1.0):
    r"""Fast R-CNN head's multi-task loss :math:`L_{cls}(p, u) + \lambda[u \ge 1] L_{loc}(t^u, v)`.

    *Object Detection: Faster R-CNN* and *Detection – 3 stages*, §B5 (Fast R-CNN
    Eq. 1) [1]_, normalised as in the module docstring:
    the (K+1)-way softmax cross-entropy averaged over the sampled RoIs, plus
    the smooth-L1 of the offsets **of the true class u** (the head predicts
    one (t_x, t_y, t_w, t_h) per class), summed over foreground RoIs (u >= 1)
    and divided by the number of RoIs.

    Parameters
    ----------
    roi_cls_loc : ndarray, shape (R, 4(K + 1)), float
        Class-specific offsets; columns ``4u .. 4u + 3`` belong to class u.
    roi_score : ndarray, shape (R, K + 1), float
        Class logits, column 0 = background.
    gt_roi_loc : ndarray, shape (R, 4)
        Target offsets (normalised by the loc std) from
        :class:`bboxcore.targets.ProposalTargetCreator`.
    gt_roi_label : ndarray of int, shape (R,)
        0 = background, 1..K = class; -1 (ignored) is also accepted.
    sigma : float, default 1.0
        σ of the smooth-L1.

    Returns
    -------
    loc_loss, cls_loss : NumPy scalars
        ``loc_loss`` is 0 when every RoI is background.

    Raises
    ------
    TypeError
        If an input is not numeric or ``gt_roi_label`` is not integer.
    ValueError
        If the shapes disagree (``roi_cls_loc`` must have 4 columns per column
        of ``roi_score``), a value is NaN/inf or a label is outside [-1, K].

    References
    ----------
    .. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> cls_loc = np.zeros((2, 12)); cls_loc[0, 8] = 2.0  # K = 2; RoI 0, class 2, t_x = 2
    >>> loc_loss, cls_loss = roi_head_loss(cls_loc, np.zeros((2, 3)), np.zeros((2, 4)),
    ...                                    np.array([2, 0]))
    >>> float(loc_loss)  # (2 - 0.5) / 2 RoIs; the background RoI adds nothing
    0.75
    >>> round(float(cls_loss), 6)  # log 3
    1.098612
    """
    cls_loc, score, gt, label = _head_inputs(roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label)
    loc_loss = _loc_loss(_true_class_loc(cls_loc, label), gt, label, sigma)
    return loc_loss, softmax_cross_entropy(score, label, IGNORE_LABEL)


def roi_head_loss_backward(
    dloc_loss, dcls_loss, roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label, sigma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`roi_head_loss` w.r.t. ``roi_cls_loc`` and ``roi_score``.

    Only the 4 columns of the true class of a foreground RoI receive a
    localisation gradient; the other classes' offsets get exactly 0.

    Parameters
    ----------
    dloc_loss, dcls_loss : float
        Upstream gradients w.r.t. the two returned losses.
    roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label, sigma
        As in :func:`roi_head_loss`.

    Returns
    -------
    droi_cls_loc : ndarray, shape (R, 4(K + 1))
    droi_score : ndarray, shape (R, K + 1)

    Raises
    ------
    TypeError, ValueError
        As :func:`roi_head_loss`, or if an upstream gradient is not a finite scalar.

    Examples
    --------
    >>> cls_loc = np.zeros((1, 8)); cls_loc[0, 4] = 0.5  # K = 1, class 1, t_x = 0.5
    >>> dloc, dscore = roi_head_loss_backward(1.0, 0.0, cls_loc, np.zeros((1, 2)),
    ...                                       np.zeros((1, 4)), np.array([1]))
    >>> dloc
    array([[0. , 0. , 0. , 0. , 0.5, 0. , 0. , 0. ]])
    """
    dloc_up, dcls_up = finite_scalar(dloc_loss, "dloc_loss"), finite_scalar(dcls_loss, "dcls_loss")
    cls_loc, score, gt, label = _head_inputs(roi_cls_loc, roi_score, gt_roi_loc, gt_roi_label)
    r = len(label)
    d_true = _loc_loss_backward(dloc_up, _true_class_loc(cls_loc, label), gt, label, sigma)
    dcls_loc = np.zeros((r, cls_loc.shape[1] // 4, 4), dtype=cls_loc.dtype)
    dcls_loc[np.arange(r), np.maximum(label, 0)] = d_true  # rows not in the foreground are 0
    dscore = softmax_cross_entropy_backward(dcls_up, score, label, IGNORE_LABEL)
    return dcls_loc.reshape(cls_loc.shape), dscore


# --------------------------------------------------------------------------- input checks
def _as_locs(x, name: str, n: int | None = None, width: int = 4) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != width or (n is not None and arr.shape[0] != n):
        rows = "R" if n is None else str(n)
        raise ValueError(f"{name} must have shape ({rows}, {width}); got {arr.shape}")
    check_finite(arr, name)
    return arr


def _as_labels(x, name: str, n: int, high: int) -> np.ndarray:
    lab = np.asarray(x)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array; got dtype {lab.dtype}")
    if lab.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) matching the predictions; got {lab.shape}")
    bad = (lab < IGNORE_LABEL) | (lab > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be in [-1, {high}]; got {int(lab[i])} at index {i}")
    return lab
