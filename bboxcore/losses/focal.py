r"""Focal losses: RetinaNet's and CenterNet's heatmap variant (*Detection – 3 stages*, §I, §M).

Both take **logits** z and work with :math:`p = \sigma(z)`, so that every
logarithm is a stable softplus (:math:`-\log p = \mathrm{softplus}(-z)`,
:math:`-\log(1 - p) = \mathrm{softplus}(z)`) and no clamping of p is needed.
They follow the loss/backward convention of :mod:`bboxcore.losses`::

    loss   = sigmoid_focal_loss(logits, targets, alpha, gamma, reduction=...)
    dlogit = sigmoid_focal_loss_backward(dloss, logits, targets, alpha, gamma, reduction=...)
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import non_negative, unit_interval
from bboxcore.losses._common import (
    _as_logits,
    _check_reduction,
    _check_targets,
    _reduce,
    _sigmoid,
    _softplus,
    _upstream,
)

__all__ = [
    "centernet_focal_loss",
    "centernet_focal_loss_backward",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_backward",
]


# --------------------------------------------------------------------------- RetinaNet
def _focal_parts(logits, targets, alpha, gamma):
    z = _as_logits(logits, "logits")
    t = _check_targets(targets, z.shape, z.dtype)
    alpha = None if alpha is None else unit_interval(alpha, "alpha")
    gamma = non_negative(gamma, "gamma")
    p, q = _sigmoid(z), _sigmoid(-z)  # p and 1 - p, each accurate near 0
    m = t * q + (1 - t) * p  # 1 - p_t
    ce = _softplus(z) - z * t  # -log p_t for hard t (BCE for soft t)
    a_t = 1.0 if alpha is None else alpha * t + (1 - alpha) * (1 - t)
    return z, t, p, q, m, ce, a_t, gamma


def sigmoid_focal_loss(
    logits, targets, alpha: float | None = 0.25, gamma: float = 2.0, *, reduction: str = "mean"
):
    r"""RetinaNet's focal loss :math:`-\alpha_t (1 - p_t)^\gamma \log p_t` on sigmoid logits.

    The cross-entropy of each element is scaled down by :math:`(1 - p_t)^\gamma`
    when it is already well classified, so the many easy negatives of a
    one-stage detector stop dominating the gradient (*Detection – 3 stages*, §I) [1]_ (Eq. 5):

    .. math::
        FL(p_t) = -\alpha_t (1 - p_t)^\gamma \log p_t,\quad
        p_t = \begin{cases} p & t = 1 \\ 1 - p & t = 0 \end{cases},\quad
        \alpha_t = \begin{cases} \alpha & t = 1 \\ 1 - \alpha & t = 0 \end{cases}

    Soft targets t in [0, 1] use the linear interpolations
    :math:`p_t = tp + (1-t)(1-p)`, :math:`\alpha_t = t\alpha + (1-t)(1-\alpha)` and
    the binary cross-entropy in place of :math:`-\log p_t` (as torchvision).

    Parameters
    ----------
    logits : array_like, any shape, float
        Class scores z before the sigmoid, one per anchor and class.
    targets : array_like, shape of ``logits``
        1 for the true class of a positive anchor, 0 elsewhere (soft labels allowed).
    alpha : float in [0, 1] or None, default 0.25
        Weight of the positives; None disables the weighting (:math:`\alpha_t = 1`).
    gamma : float >= 0, default 2.0
        Focusing parameter; γ = 0 gives the (α-weighted) cross-entropy.
    reduction : {'none', 'mean', 'sum'}, default 'mean'
        ``'mean'`` divides by the number of elements. RetinaNet itself uses
        ``'sum'`` divided by the number of positive anchors.

    Returns
    -------
    loss : ndarray (shape of ``logits``) or scalar
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If the shapes differ, a value is NaN/inf, a target is outside [0, 1],
        ``alpha`` is outside [0, 1] or ``gamma`` is negative.

    Notes
    -----
    With :math:`m = 1 - p_t`, :math:`dm/dz = (1 - 2t)\,p(1-p)` and
    :math:`d(\mathrm{CE})/dz = p - t`, so (:func:`sigmoid_focal_loss_backward`)

    .. math::
        \frac{\partial FL}{\partial z} = \alpha_t \left[ m^\gamma (p - t)
            + \gamma\, m^{\gamma - 1} (1 - 2t)\, p (1 - p)\, \mathrm{CE} \right]

    γ = 0 and α = 0.5 give exactly half the binary cross-entropy.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. "Focal Loss for
       Dense Object Detection." ICCV 2017, arXiv:1708.02002.

    Examples
    --------
    >>> z, t = np.array([0.0, 2.0, -2.0]), np.array([1.0, 1.0, 0.0])
    >>> sigmoid_focal_loss(z, t, reduction="none")  # the two easy ones almost vanish
    array([0.0433217 , 0.00045089, 0.00135267])
    """
    _check_reduction(reduction)
    z, _, _, _, m, ce, a_t, gamma = _focal_parts(logits, targets, alpha, gamma)
    return _reduce((a_t * m**gamma * ce).astype(z.dtype, copy=False), reduction)


def sigmoid_focal_loss_backward(
    dloss,
    logits,
    targets,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    *,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`sigmoid_focal_loss` w.r.t. ``logits`` (formula in its Notes).

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, broadcastable to
        the shape of ``logits`` for ``'none'``.
    logits, targets, alpha, gamma, reduction
        As in :func:`sigmoid_focal_loss`.

    Returns
    -------
    dlogits : ndarray, shape of ``logits``
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sigmoid_focal_loss`, or if ``dloss`` is badly shaped.

    Examples
    --------
    >>> sigmoid_focal_loss_backward(1.0, np.array([0.0]), np.array([1.0]), alpha=None, gamma=0.0)
    array([-0.5])
    """
    _check_reduction(reduction)
    z, t, p, q, m, ce, a_t, gamma = _focal_parts(logits, targets, alpha, gamma)
    up = _upstream(dloss, z.shape, z.dtype, reduction)
    # γ m^{γ-1} p q written as γ m^γ (p q / m): finite for γ < 1 too.
    # NOTE: m = 0 (a perfectly classified element, p_t = 1 in floating point)
    # has p q = 0 as well; the term is taken as 0 there, its limit for γ > 0.
    pq_over_m = np.divide(p * q, m, out=np.zeros_like(m), where=m > 0)
    m_gamma = m**gamma
    grad = a_t * (m_gamma * (p - t) + gamma * m_gamma * (1 - 2 * t) * pq_over_m * ce)
    return (up * grad).astype(z.dtype, copy=False)


# --------------------------------------------------------------------------- CenterNet
def _centernet_parts(logits, heatmap, alpha, beta):
    z = _as_logits(logits, "logits")
    y = _check_targets(heatmap, z.shape, z.dtype, "heatmap")
    alpha, beta = non_negative(alpha, "alpha"), non_negative(beta, "beta")
    pos = y == 1  # an object centre: the peak of its Gaussian
    return z, y, pos, _sigmoid(z), _sigmoid(-z), alpha, beta


def centernet_focal_loss(
    logits, heatmap, alpha: float = 2.0, beta: float = 4.0, *, reduction: str = "mean"
):
    r"""CenterNet's penalty-reduced focal loss on a Gaussian centre heatmap.

    Ŷ = σ(z) is the predicted heatmap and Y the target, a Gaussian bump of
    peak 1 at each object centre (*Detection – 3 stages*, §M) [1]_ (Eq. 1):

    .. math::
        L_k = \frac{-1}{N} \sum_{xyc} \begin{cases}
            (1 - \hat Y_{xyc})^\alpha \log \hat Y_{xyc} & Y_{xyc} = 1 \\
            (1 - Y_{xyc})^\beta\, \hat Y_{xyc}^\alpha \log(1 - \hat Y_{xyc}) & \text{otherwise}
        \end{cases}

    N is the number of object centres (elements with Y = 1). Near a centre the
    weight :math:`(1 - Y)^\beta` forgives a high score.

    Parameters
    ----------
    logits : array_like, any shape, e.g. (N, C, H, W), float
        Heatmap scores z before the sigmoid.
    heatmap : array_like, shape of ``logits``
        Target Y in [0, 1], exactly 1 at the centres.
    alpha : float >= 0, default 2.0
        Focusing exponent α.
    beta : float >= 0, default 4.0
        Penalty-reduction exponent β.
    reduction : {'none', 'mean', 'sum'}, default 'mean'
        ``'mean'`` is the paper's normalisation: the sum divided by N, the number
        of centres (by 1 if there are none); ``'none'`` returns the element-wise
        terms (without the minus sign's 1/N).

    Returns
    -------
    loss : ndarray (shape of ``logits``) or scalar
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If the shapes differ, a value is NaN/inf, the heatmap leaves [0, 1], or
        ``alpha``/``beta`` is negative.

    Notes
    -----
    With :math:`p = \hat Y = \sigma(z)` (:func:`centernet_focal_loss_backward`):

    .. math::
        \frac{\partial L}{\partial z} = \begin{cases}
            (1 - p)^\alpha \left[\alpha\, p \log p - (1 - p)\right] & Y = 1 \\
            (1 - Y)^\beta p^\alpha \left[p - \alpha (1 - p) \log(1 - p)\right] & \text{otherwise}
        \end{cases}

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> z = np.array([0.0, 0.0, 0.0])
    >>> y = np.array([1.0, 0.5, 0.0])
    >>> centernet_focal_loss(z, y, reduction="none")  # 0.25 log 2, 0.0625 * 0.25 log 2, 0.25 log 2
    array([0.1732868 , 0.01083042, 0.1732868 ])
    """
    _check_reduction(reduction)
    z, y, pos, p, q, alpha, beta = _centernet_parts(logits, heatmap, alpha, beta)
    pos_term = q**alpha * _softplus(-z)  # -(1 - p)^α log p
    neg_term = (1 - y) ** beta * p**alpha * _softplus(z)  # -(1 - Y)^β p^α log(1 - p)
    loss = np.where(pos, pos_term, neg_term).astype(z.dtype, copy=False)
    return _reduce(loss, reduction, int(pos.sum()))


def centernet_focal_loss_backward(
    dloss, logits, heatmap, alpha: float = 2.0, beta: float = 4.0, *, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`centernet_focal_loss` w.r.t. ``logits`` (formula in its Notes).

    Parameters
    ----------
    dloss : float or array_like
        Upstream gradient: scalar for ``'mean'``/``'sum'``, broadcastable to
        the shape of ``logits`` for ``'none'``.
    logits, heatmap, alpha, beta, reduction
        As in :func:`centernet_focal_loss`.

    Returns
    -------
    dlogits : ndarray, shape of ``logits``
        Same floating dtype as ``logits``.

    Raises
    ------
    TypeError, ValueError
        As :func:`centernet_focal_loss`, or if ``dloss`` is badly shaped.

    Examples
    --------
    >>> centernet_focal_loss_backward(1.0, np.array([0.0]), np.array([1.0]), alpha=0.0)
    array([-0.5])
    """
    _check_reduction(reduction)
    z, y, pos, p, q, alpha, beta = _centernet_parts(logits, heatmap, alpha, beta)
    up = _upstream(dloss, z.shape, z.dtype, reduction, int(pos.sum()))
    # log p = -softplus(-z), log(1 - p) = -softplus(z); dp/dz = p q
    pos_grad = q**alpha * (-alpha * p * _softplus(-z) - q)
    neg_grad = (1 - y) ** beta * p**alpha * (p + alpha * q * _softplus(z))
    return (up * np.where(pos, pos_grad, neg_grad)).astype(z.dtype, copy=False)
