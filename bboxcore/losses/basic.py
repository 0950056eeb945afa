r"""The element-wise losses: smooth L1, softmax cross-entropy, sigmoid binary cross-entropy.

Each comes with its analytic gradient beside it, following the loss / backward
convention of :mod:`bboxcore.losses`.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import non_negative, positive
from bboxcore.losses._common import (
    REDUCTIONS,
    _as_logits,
    _check_reduction,
    _check_targets,
    _reduce,
    _sigmoid,
    _softplus,
    _upstream,
)

__all__ = [
    "REDUCTIONS",
    "sigmoid_binary_cross_entropy",
    "sigmoid_binary_cross_entropy_backward",
    "smooth_l1",
    "smooth_l1_backward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]


# --------------------------------------------------------------------------- smooth L1
def smooth_l1(x, sigma: float = 1.0, *, beta: float | None = None, reduction: str = "none"):
    r"""Smooth-L1 loss of the residual ``x``: quadratic near 0, linear beyond 1/σ².

    Faster R-CNN's form with σ (*Detection – 3 stages*, §C2.2.1) [1]_:

    .. math::
        \mathrm{smooth}_{L_1}(x) = \begin{cases}
            \tfrac12 (\sigma x)^2 & |x| < 1/\sigma^2 \\
            |x| - \tfrac{0.5}{\sigma^2} & \text{otherwise}
        \end{cases}

    σ = 1 gives Fast R-CNN's :math:`0.5 x^2` if :math:`|x| < 1` else
    :math:`|x| - 0.5` [2]_ (Eq. 3; *Object Detection – BBOX Regression*). Other
    libraries (torchvision, detectron2) write the same function with ``beta`` = β = 1/σ²:
    :math:`0.5 x^2 / \beta` if :math:`|x| < \beta` else :math:`|x| - 0.5\beta`;
    pass either ``sigma`` or ``beta`` (``beta`` wins; ``beta=0`` is plain L1).

    Parameters
    ----------
    x : array_like, any shape, float
        Residuals, e.g. ``pred_loc - gt_loc`` (unitless offsets).
    sigma : float, default 1.0
        σ > 0; Faster R-CNN uses 3 for the RPN and 1 for the head.
    beta : float, optional
        β = 1/σ² >= 0, the libraries' parametrisation; overrides ``sigma``.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'none'`` returns the element-wise loss, shape of ``x``.

    Returns
    -------
    loss : ndarray (shape of ``x``) or scalar
        Same floating dtype as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` holds NaN/inf, ``sigma`` is not > 0, ``beta`` is negative, or
        ``reduction`` is unknown.

    Notes
    -----
    The gradient (:func:`smooth_l1_backward`) is :math:`\sigma^2 x` inside and
    :math:`\operatorname{sign}(x)` outside. Both pieces meet at
    :math:`|x| = 1/\sigma^2` with value :math:`0.5/\sigma^2` and slope ±1, so
    the loss is C¹; L2 near the target (fast convergence), L1 far from it
    (robust to outliers), as *Object Detection – BBOX Regression* explains.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.
    .. [2] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> smooth_l1(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))
    array([1.5  , 0.125, 0.   , 0.125, 1.5  ])
    >>> smooth_l1(np.array([0.1, 1.0]), sigma=3.0)  # switch at 1/9
    array([0.045     , 0.94444444])
    >>> float(smooth_l1(np.array([0.5, 2.0]), beta=1.0, reduction="sum"))
    1.625
    """
    _check_reduction(reduction)
    x = _as_logits(x, "x")
    b = _switch_point(sigma, beta)
    b = x.dtype.type(b)  # a β below the dtype's range is 0: plain L1
    ax = np.abs(x)
    loss = ax - b / 2  # the linear piece |x| - 0.5/σ²
    if b > 0:
        inside = np.where(ax < b, x, 0)  # |x| < 1/σ²; 0 elsewhere so that x² cannot overflow
        loss = np.where(ax < b, (inside / b) * inside / 2, loss)  # 0.5 σ² x² = 0.5 (x/β) x
    return _reduce(loss.astype(x.dtype, copy=False), reduction)


def smooth_l1_backward(
    dloss, x, sigma: float = 1.0, *, beta: float | None = None, reduction: str = "none"
) -> np.ndarray:
    r"""Gradient of :func:`smooth_l1` w.r.t. ``x``: ``dloss`` times σ²x inside, sign(x) outside.

    .. math::
        \frac{\partial\,\mathrm{smooth}_{L_1}}{\partial x} = \begin{cases}
            \sigma^2 x & |x| < 1/\sigma^2 \\ \operatorname{sign}(x) & \text{otherwise}
        \end{cases}

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: a scalar for ``'mean'``/``'sum'``, broadcastable to
        ``x.shape`` for ``'none'`` (``1.0`` gives the plain derivative).
    x, sigma, beta, reduction
        As in :func:`smooth_l1`.

    Returns
    -------
    dx : ndarray, shape of ``x``
        Same floating dtype as ``x``.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        As :func:`smooth_l1`, or if ``dloss`` has the wrong shape or is not finite.

    Notes
    -----
    The derivative is continuous at the switch (σ²·(1/σ²) = 1 = sign); only the
    curvature jumps, from σ² to 0. At ``x = 0`` it is 0.

    Examples
    --------
    >>> smooth_l1_backward(1.0, np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))
    array([-1. , -0.5,  0. ,  0.5,  1. ])
    >>> smooth_l1_backward(1.0, np.array([0.1, 1.0]), sigma=3.0)
    array([0.9, 1. ])
    """
    _check_reduction(reduction)
    x = _as_logits(x, "x")
    b = _switch_point(sigma, beta)
    up = _upstream(dloss, x.shape, x.dtype, reduction)
    # NOTE: kink of the second derivative at |x| = 1/σ²: |x| == 1/σ² takes the
    # linear branch, where sign(x) = σ² x anyway, so the gradient is continuous.
    b = x.dtype.type(b)
    grad = np.sign(x)
    if b > 0:
        inside = np.abs(x) < b
        grad = np.where(inside, np.where(inside, x, 0) / b, grad)  # σ² x = x / β
    return (up * grad).astype(x.dtype, copy=False)


def _switch_point(sigma, beta) -> float:
    """The switch point β = 1/σ² of smooth L1 from either parametrisation, validated."""
    return 1.0 / positive(sigma, "sigma") ** 2 if beta is None else non_negative(beta, "beta")


# --------------------------------------------------------------------------- cross-entropy
def _check_labels(labels, n: int, n_class: int, ignore_index: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array; got dtype {lab.dtype}")
    if lab.shape != (n,):
        raise ValueError(f"labels must have shape (N,) = ({n},) matching logits; got {lab.shape}")
    bad = ((lab < 0) | (lab >= n_class)) & (lab != ignore_index)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"labels must be in [0, {n_class}) or ignore_index={ignore_index}; "
            f"got {int(lab[i])} at index {i}"
        )
    return lab


def _ce_parts(logits, labels, ignore_index):
    z = _as_logits(logits, "logits")
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with C >= 1; got {z.shape}")
    lab = _check_labels(labels, z.shape[0], z.shape[1], ignore_index)
    valid = lab != ignore_index
    safe = np.where(valid, lab, 0)
    with np.errstate(over="ignore"):  # z - max may reach -inf for |z| ~ 1e38: p = 0, L = inf
        shifted = z - z.max(axis=1, keepdims=True)  # log-sum-exp trick
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    return z, safe, valid, log_prob


def softmax_cross_entropy(logits, labels, ignore_index: int = -1, *, reduction: str = "mean"):
    r"""Softmax cross-entropy :math:`-\log p_u` of the true class u; ``ignore_index`` rows skipped.

    The :math:`L_{cls}` of Fast R-CNN (:math:`K + 1` classes) and of the
    two-class RPN (*Object Detection: Faster R-CNN*) [1]_:

    .. math::
        L_{cls}(z, u) = -\log \frac{e^{z_u}}{\sum_k e^{z_k}}
            = \log\sum_k e^{z_k - m} - (z_u - m),\quad m = \max_k z_k

    Parameters
    ----------
    logits : array_like, shape (N, C), float
        Unnormalised class scores (C = K + 1 for the head, 2 for the RPN).
    labels : array_like of int, shape (N,)
        True class in ``[0, C)`` (0 = background), or ``ignore_index``.
    ignore_index : int, default -1
        Label of the rows that count for nothing (the anchors labelled -1).
    reduction : {'none', 'mean', 'sum'}, default 'mean'
        ``'mean'`` divides by the number of non-ignored rows (0 if none);
        ``'none'`` returns shape (N,) with 0 on ignored rows.

    Returns
    -------
    loss : ndarray, shape (N,), or scalar
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError
        If ``logits`` is not numeric or ``labels`` not integer.
    ValueError
        If the shapes disagree, ``logits`` is not finite, or a label is out of range.

    Notes
    -----
    Gradient (:func:`softmax_cross_entropy_backward`):
    :math:`\partial L / \partial z_k = p_k - [k = u]`.

    References
    ----------
    .. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> z = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    >>> softmax_cross_entropy(z, np.array([1, 0, -1]), reduction="none")  # log 2, log(1 + e^-2)
    array([0.69314718, 0.12692801, 0.        ])
    >>> round(float(softmax_cross_entropy(z, np.array([1, 0, -1]))), 6)  # over 2 rows
    0.410038
    """
    _check_reduction(reduction)
    z, safe, valid, log_prob = _ce_parts(logits, labels, ignore_index)
    loss = np.where(valid, -log_prob[np.arange(z.shape[0]), safe], 0).astype(z.dtype, copy=False)
    return _reduce(loss, reduction, int(valid.sum()))


def softmax_cross_entropy_backward(
    dloss, logits, labels, ignore_index: int = -1, *, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`softmax_cross_entropy` w.r.t. ``logits``: ``(softmax - onehot) * dloss``.

    .. math::
        \frac{\partial L}{\partial z_{ik}} = \frac{\partial \ell}{\partial L_i}
            \left(p_{ik} - [k = u_i]\right),\quad 0 \text{ on ignored rows}

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, shape (N,) for ``'none'``.
    logits, labels, ignore_index, reduction
        As in :func:`softmax_cross_entropy`.

    Returns
    -------
    dlogits : ndarray, shape (N, C)
        Same floating dtype as ``logits``; ignored rows are exactly 0.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax_cross_entropy`, or if ``dloss`` is badly shaped.

    Examples
    --------
    >>> softmax_cross_entropy_backward(1.0, np.array([[0.0, 0.0], [1.0, 3.0]]), np.array([1, -1]))
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    _check_reduction(reduction)
    z, safe, valid, log_prob = _ce_parts(logits, labels, ignore_index)
    up = _upstream(dloss, (z.shape[0],), z.dtype, reduction, int(valid.sum()))
    dz = np.exp(log_prob)  # softmax p, (N, C)
    dz[np.arange(z.shape[0]), safe] -= 1
    return np.where(valid[:, None], dz * up[:, None], 0).astype(z.dtype, copy=False)


def sigmoid_binary_cross_entropy(logits, targets, *, reduction: str = "mean"):
    r"""Binary cross-entropy of ``sigmoid(logits)`` against ``targets`` in [0, 1].

    The binary :math:`L_{cls}` of the RPN (one score per anchor, *Object Detection: Faster R-CNN*):

    .. math::
        L = -[t \log p + (1 - t)\log(1 - p)],\ p = \sigma(z)
          = \max(z, 0) - z t + \log(1 + e^{-|z|})

    Parameters
    ----------
    logits : array_like, any shape, float
        Scores z before the sigmoid.
    targets : array_like, shape of ``logits``
        Labels p* in [0, 1] (1 = object, 0 = background; soft labels allowed).
    reduction : {'none', 'mean', 'sum'}, default 'mean'
        ``'mean'`` divides by the number of elements.

    Returns
    -------
    loss : ndarray (shape of ``logits``) or scalar
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If the shapes differ, a value is NaN/inf, or a target is outside [0, 1].

    Notes
    -----
    Gradient (:func:`sigmoid_binary_cross_entropy_backward`):
    :math:`\partial L / \partial z = \sigma(z) - t`.

    Examples
    --------
    >>> sigmoid_binary_cross_entropy(np.array([0.0, 0.0, 100.0]), np.array([1.0, 0.0, 1.0]),
    ...                              reduction="none")
    array([0.69314718, 0.69314718, 0.        ])
    """
    _check_reduction(reduction)
    z = _as_logits(logits, "logits")
    t = _check_targets(targets, z.shape, z.dtype)
    return _reduce((_softplus(z) - z * t).astype(z.dtype, copy=False), reduction)


def sigmoid_binary_cross_entropy_backward(
    dloss, logits, targets, *, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`sigmoid_binary_cross_entropy` w.r.t. ``logits``: ``(σ(z) - t) * dloss``.

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, broadcastable to the
        shape of ``logits`` for ``'none'``.
    logits, targets, reduction
        As in :func:`sigmoid_binary_cross_entropy`.

    Returns
    -------
    dlogits : ndarray, shape of ``logits``
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sigmoid_binary_cross_entropy`, or if ``dloss`` is badly shaped.

    Examples
    --------
    >>> sigmoid_binary_cross_entropy_backward(1.0, np.array([0.0, 0.0]), np.array([1.0, 0.0]))
    array([-0.25,  0.25])
    """
    _check_reduction(reduction)
    z = _as_logits(logits, "logits")
    t = _check_targets(targets, z.shape, z.dtype)
    up = _upstream(dloss, z.shape, z.dtype, reduction)
    return (up * (_sigmoid(z) - t)).astype(z.dtype, copy=False)
