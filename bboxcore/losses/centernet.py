r"""CenterNet's training objective: heatmap focal loss plus L1 on size and offset [1]_.

.. math::
    L_{det} = L_k + \lambda_{size} L_{size} + \lambda_{off} L_{off},\qquad
    \lambda_{size} = 0.1,\ \lambda_{off} = 1

(Eq. 5; course deck *Detection – 3 stages*, §M). :math:`L_k` is the
penalty-reduced focal loss of :func:`bboxcore.losses.centernet_focal_loss`;
this module adds the two L1 terms, read at the object centres only
(:func:`centernet_l1_loss`), and the assembly (:func:`centernet_loss`), each
with its analytic backward, following the ``loss`` / ``loss_backward``
convention of :mod:`bboxcore.losses`. The targets come from
:func:`bboxcore.targets.centernet_targets`.

References
----------
.. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
   arXiv:1904.07850, 2019.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import as_float_array, check_finite, count, finite_scalar, non_negative
from bboxcore.losses.focal import centernet_focal_loss, centernet_focal_loss_backward

__all__ = [
    "CENTERNET_LOSS_NAMES",
    "centernet_l1_loss",
    "centernet_l1_loss_backward",
    "centernet_loss",
    "centernet_loss_backward",
]

#: The three terms of :func:`centernet_loss`, in the order they are logged.
CENTERNET_LOSS_NAMES = ("heatmap", "size", "offset")


def _l1_inputs(pred, target, mask):
    p = as_float_array(pred, "pred")
    if p.ndim != 2:
        raise ValueError(f"pred must have shape (M, D); got {p.shape}")
    t = as_float_array(target, "target").astype(p.dtype, copy=False)
    if t.shape != p.shape:
        raise ValueError(f"target must have the shape of pred {p.shape}; got {t.shape}")
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"mask must be a boolean array; got dtype {m.dtype}")
    if m.shape != (p.shape[0],):
        raise ValueError(f"mask must have shape (M,) = ({p.shape[0]},); got {m.shape}")
    check_finite(p, "pred")
    check_finite(t, "target")
    return p, t, m


def _n_object(mask: np.ndarray, n_object) -> int:
    n = count(n_object, "n_object", minimum=1, allow_none=True)
    return max(int(mask.sum()), 1) if n is None else n


def centernet_l1_loss(pred, target, mask, n_object: int | None = None):
    r"""L1 loss of a regression head read at the object centres (CenterNet's size and offset).

    .. math::
        L = \frac{1}{N} \sum_{k=1}^{M} [\mathrm{mask}_k]\,
            \lVert \hat S_{\tilde p_k} - s_k \rVert_1,\qquad
        N = \textstyle\sum_k [\mathrm{mask}_k]

    ([1]_, Eq. 2 for the offset and Eq. 3 for the size; *Detection – 3
    stages*, §M): only the cells of the object centres are trained, every
    other cell of the size and offset maps gets no gradient.

    Parameters
    ----------
    pred : array_like, shape (M, D), float
        The head's prediction gathered at the M centre cells (D = 2: (w, h) or
        (dx, dy)).
    target : array_like, shape (M, D)
        :attr:`CenterNetTargets.size` or ``.offset``.
    mask : array_like, shape (M,), bool
        Which rows are objects (:attr:`CenterNetTargets.mask`).
    n_object : int, optional
        N; default the number of True entries of ``mask`` (at least 1). Pass
        the count of a whole batch when ``pred`` holds one image of it.

    Returns
    -------
    loss : scalar of ``pred``'s floating dtype
        0 when no row is masked in.

    Raises
    ------
    TypeError
        If an input is not numeric or ``mask`` is not boolean.
    ValueError
        If the shapes differ, a value is NaN/inf, or ``n_object`` < 1.

    Notes
    -----
    The L1 norm of each D-vector is summed and divided by N, as the paper's
    equations write it. The reference code (``RegL1Loss``) divides by the
    number of masked *elements*, D N: half of this loss for D = 2, which is
    the same as halving λ. The gradient (:func:`centernet_l1_loss_backward`)
    is :math:`[\mathrm{mask}_k]\,\mathrm{sign}(\hat S - s) / N`.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> pred = np.array([[3.0, 4.0], [9.0, 9.0]])
    >>> target = np.array([[2.5, 5.0], [0.0, 0.0]])
    >>> centernet_l1_loss(pred, target, np.array([True, False]))  # (0.5 + 1) / 1
    np.float64(1.5)
    """
    p, t, m = _l1_inputs(pred, target, mask)
    n = _n_object(m, n_object)
    return np.abs(p - t)[m].sum(dtype=p.dtype) / p.dtype.type(n)


def centernet_l1_loss_backward(dloss, pred, target, mask, n_object: int | None = None):
    r"""Gradient of :func:`centernet_l1_loss` w.r.t. ``pred``.

    .. math::
        \frac{\partial L}{\partial \hat S_{k}} = [\mathrm{mask}_k]\,
            \frac{\mathrm{sign}(\hat S_k - s_k)}{N}

    Parameters
    ----------
    dloss : float
        Upstream gradient of the scalar loss.
    pred, target, mask, n_object
        As in :func:`centernet_l1_loss`.

    Returns
    -------
    dpred : ndarray, shape (M, D)
        Floating dtype of ``pred``; zero on the rows masked out.

    Raises
    ------
    TypeError, ValueError
        As :func:`centernet_l1_loss`, or if ``dloss`` is not a finite scalar.

    Notes
    -----
    NOTE: :math:`|x|` has a kink at 0; the sub-gradient used there is 0 (``np.sign``).

    Examples
    --------
    >>> centernet_l1_loss_backward(1.0, [[3.0, 4.0]], [[2.5, 5.0]], np.array([True]))
    array([[ 1., -1.]])
    """
    p, t, m = _l1_inputs(pred, target, mask)
    n = _n_object(m, n_object)
    d = finite_scalar(dloss, "dloss")
    return (np.sign(p - t) * m[:, None] * (d / n)).astype(p.dtype, copy=False)


def _lambdas(lambda_size, lambda_offset) -> tuple[float, float]:
    return non_negative(lambda_size, "lambda_size"), non_negative(lambda_offset, "lambda_offset")


def centernet_loss(
    heatmap_logits,
    heatmap,
    size_pred,
    size_target,
    offset_pred,
    offset_target,
    mask,
    *,
    lambda_size: float = 0.1,
    lambda_offset: float = 1.0,
    alpha: float = 2.0,
    beta: float = 4.0,
) -> dict[str, float]:
    r"""The three weighted terms of CenterNet's loss, all normalised by the number of objects.

    .. math::
        L_{det} = \underbrace{\frac{-1}{N}\sum_{xyc} FL(\hat Y_{xyc}, Y_{xyc})}_{L_k}
            + \lambda_{size}\,\frac{1}{N}\sum_k \lvert \hat S_{\tilde p_k} - s_k \rvert
            + \lambda_{off}\,\frac{1}{N}\sum_k \Bigl\lvert \hat O_{\tilde p_k}
              - \Bigl(\frac{p_k}{R} - \tilde p_k\Bigr) \Bigr\rvert

    ([1]_, Eqs. 1-3 and 5; *Detection – 3 stages*, §M), with
    :math:`\hat Y = \sigma(z)`, FL the penalty-reduced focal loss
    (:func:`bboxcore.losses.centernet_focal_loss`, α = 2, β = 4) and N the
    number of objects (``mask.sum()``, at least 1) of the whole batch.

    Parameters
    ----------
    heatmap_logits : array_like, e.g. (N_img, C, H_o, W_o)
        The heatmap head's output z before the sigmoid.
    heatmap : array_like, shape of ``heatmap_logits``
        The Gaussian targets Y (:attr:`CenterNetTargets.heatmap`, stacked).
    size_pred, offset_pred : array_like, shape (M, 2)
        The size and offset heads gathered at the M centre cells of the batch.
    size_target, offset_target : array_like, shape (M, 2)
        Their targets, in cells.
    mask : array_like, shape (M,), bool
        Which rows are objects.
    lambda_size, lambda_offset : float >= 0
        The weights λ_size = 0.1 and λ_off = 1 of the paper.
    alpha, beta : float >= 0
        The focal loss's exponents (2 and 4).

    Returns
    -------
    dict of str to float
        ``{'heatmap': L_k, 'size': λ_size L_size, 'offset': λ_off L_off}``
        (:data:`CENTERNET_LOSS_NAMES`); their sum is :math:`L_{det}`.

    Raises
    ------
    TypeError, ValueError
        As :func:`centernet_l1_loss` and
        :func:`bboxcore.losses.centernet_focal_loss`, or for a negative λ.

    Notes
    -----
    The paper's N is the number of keypoints; the reference code divides
    :math:`L_k` by the number of cells where Y = 1. They differ only when two
    objects of one class share a centre cell (then one peak stands for two
    objects).

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krähenbühl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> y = np.zeros((1, 1, 2, 2)); y[0, 0, 0, 0] = 1.0
    >>> z = np.zeros((1, 1, 2, 2))  # p = 0.5 everywhere: 4 terms of 0.25 log 2
    >>> terms = centernet_loss(z, y, [[2.0, 2.0]], [[3.0, 1.0]], [[0.5, 0.5]], [[0.5, 0.25]],
    ...                        np.array([True]))
    >>> {k: round(float(v), 4) for k, v in terms.items()}  # L_size = 2, L_off = 0.25
    {'heatmap': 0.6931, 'size': 0.2, 'offset': 0.25}
    """
    lam_size, lam_off = _lambdas(lambda_size, lambda_offset)
    m = np.asarray(mask)
    n = max(int(m.sum()), 1) if m.dtype == bool else None
    focal = centernet_focal_loss(heatmap_logits, heatmap, alpha, beta, reduction="sum")
    return {
        "heatmap": focal / focal.dtype.type(n if n is not None else 1),
        "size": lam_size * centernet_l1_loss(size_pred, size_target, m, n),
        "offset": lam_off * centernet_l1_loss(offset_pred, offset_target, m, n),
    }


def centernet_loss_backward(
    dloss,
    heatmap_logits,
    heatmap,
    size_pred,
    size_target,
    offset_pred,
    offset_target,
    mask,
    *,
    lambda_size: float = 0.1,
    lambda_offset: float = 1.0,
    alpha: float = 2.0,
    beta: float = 4.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradient of :math:`L_{det}`, the sum of :func:`centernet_loss`'s terms, w.r.t. its inputs.

    .. math::
        \frac{\partial L_{det}}{\partial z} = \frac{1}{N}\frac{\partial\, FL}{\partial z},\quad
        \frac{\partial L_{det}}{\partial \hat S_k} =
            \lambda_{size}\frac{[\mathrm{mask}_k]\,\mathrm{sign}(\hat S_k - s_k)}{N},\quad
        \frac{\partial L_{det}}{\partial \hat O_k} =
            \lambda_{off}\frac{[\mathrm{mask}_k]\,\mathrm{sign}(\hat O_k - o_k)}{N}

    (the focal term's derivative is in :func:`bboxcore.losses.centernet_focal_loss`).

    Parameters
    ----------
    dloss : float
        Upstream gradient of :math:`L_{det}`.
    heatmap_logits, heatmap, size_pred, size_target, offset_pred, offset_target, mask
        As in :func:`centernet_loss`.
    lambda_size, lambda_offset, alpha, beta : float
        As in :func:`centernet_loss`.

    Returns
    -------
    dlogits : ndarray, shape of ``heatmap_logits``
    dsize : ndarray, shape (M, 2)
    doffset : ndarray, shape (M, 2)

    Raises
    ------
    TypeError, ValueError
        As :func:`centernet_loss`.

    Examples
    --------
    >>> y = np.array([[1.0, 0.0]]); z = np.zeros((1, 2)); keep = np.array([True])
    >>> dz, ds, do = centernet_loss_backward(1.0, z, y, [[2.0, 2.0]], [[3.0, 1.0]],
    ...                                      [[0.5, 0.5]], [[0.5, 0.25]], keep)
    >>> dz  # at p = 1/2: -(1/4)(log 2 + 1/2) at the centre, +(1/4)(1/2 + log 2) off it
    array([[-0.2982868,  0.2982868]])
    >>> ds, do  # λ sign(pred - target) / N, and 0 where the offset is exact
    (array([[-0.1,  0.1]]), array([[0., 1.]]))
    """
    lam_size, lam_off = _lambdas(lambda_size, lambda_offset)
    m = np.asarray(mask)
    n = max(int(m.sum()), 1) if m.dtype == bool else None
    d = finite_scalar(dloss, "dloss")
    dz = centernet_focal_loss_backward(
        d / (n or 1), heatmap_logits, heatmap, alpha, beta, reduction="sum"
    )
    dsize = centernet_l1_loss_backward(d * lam_size, size_pred, size_target, m, n)
    doff = centernet_l1_loss_backward(d * lam_off, offset_pred, offset_target, m, n)
    return dz, dsize, doff
