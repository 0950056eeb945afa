r"""Alternatives to hard suppression: Soft-NMS rescoring and CenterNet's heatmap peaks.

* :func:`soft_nms` (*Detection – 3 stages*, §A*; Bodla et al. 2017) does not delete the
  boxes that overlap a selected one: it lowers their scores by a function of
  the overlap, and drops a box only once its score has fallen to
  ``score_thresh``.
* :func:`heatmap_peaks` (*Detection – 3 stages*, §M; CenterNet) needs no NMS at all: a
  detector that predicts one heatmap per class keeps the cells that are the
  maximum of their 3 x 3 neighbourhood and takes the top k.

Both follow the conventions of :mod:`bboxcore.nms` (ranking, ties, IoU
arithmetic); ``soft_nms(..., method='hard')`` is :func:`bboxcore.nms`.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import (
    as_float_array,
    check_finite,
    count,
    in_dtype,
    positive,
    real,
    scored_boxes,
    unit_interval,
)
from bboxcore.iou import pairwise_iou_unchecked

__all__ = ["SOFT_NMS_METHODS", "heatmap_peaks", "soft_nms"]

#: The rescoring functions f(IoU) of :func:`soft_nms`.
SOFT_NMS_METHODS = ("linear", "gaussian", "hard")


def _decay(iou: np.ndarray, method: str, iou_thresh: float, sigma: float) -> np.ndarray:
    """The factor f(IoU) in [0, 1] that multiplies a remaining box's score, in float64."""
    iou_thresh = in_dtype(iou_thresh, iou.dtype)  # compared in the IoU's dtype, as by nms
    iou = iou.astype(np.float64)  # a float32 IoU and a tiny sigma must not underflow
    if method == "linear":  # Eq. 2 (NOTE: a kink at IoU = N_t, where f jumps from 1 to 1 - N_t)
        return np.where(iou > iou_thresh, 1.0 - iou, 1.0)
    if method == "gaussian":  # Eq. 3; IoU^2 / sigma may overflow to inf: exp(-inf) = 0
        with np.errstate(over="ignore"):
            return np.exp(-(iou * iou) / sigma)
    return np.where(iou > iou_thresh, 0.0, 1.0)  # hard: plain NMS, Eq. 1


def soft_nms(
    boxes,
    scores,
    iou_thresh: float = 0.3,
    sigma: float = 0.5,
    score_thresh: float = 0.001,
    method: str = "linear",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Soft-NMS: decay the scores of the boxes that overlap each selected box.

    The deck's pseudo-code (*Detection – 3 stages*, §A*; [1]_, Fig. 2): repeatedly select the
    remaining box :math:`\mathcal M` of highest (decayed) score, move it to the
    output, and multiply the score of every remaining box :math:`b_i` by
    :math:`f(\mathrm{IoU}(\mathcal M, b_i))`:

    .. math::
        f_\text{linear} = \begin{cases} 1 & \mathrm{IoU} \le N_t \\
        1 - \mathrm{IoU} & \mathrm{IoU} > N_t \end{cases}
        \ \text{([1]_, Eq. 2)},\qquad
        f_\text{gaussian} = e^{-\mathrm{IoU}^2 / \sigma}\ \text{([1]_, Eq. 3)},\qquad
        f_\text{hard} = \begin{cases} 1 & \mathrm{IoU} \le N_t \\
        0 & \mathrm{IoU} > N_t \end{cases}

    A box leaves as soon as its score is ``score_thresh`` or below.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    scores : array_like, shape (R,)
        Their scores, finite and ``>= 0`` (a factor in [0, 1] must lower them).
    iou_thresh : float
        :math:`N_t` in [0, 1], for ``'linear'`` and ``'hard'`` (0.3 in [1]_).
    sigma : float
        :math:`\sigma > 0` of the Gaussian penalty (0.5 in [1]_).
    score_thresh : float
        Boxes whose score is at or below this leave (0.001 in [1]_); also
        applies to the initial scores.
    method : {'linear', 'gaussian', 'hard'}
        The rescoring function; ``'hard'`` gives exactly :func:`bboxcore.nms`
        with the same ``score_thresh``.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Indices into ``boxes`` in selection order (decreasing decayed score;
        ties: lower index first).
    decayed_scores : ndarray, shape (K,)
        Their scores when selected, in the floating dtype of ``scores``.

    Raises
    ------
    TypeError
        If an input is not numeric, or a parameter is not a real number.
    ValueError
        If ``boxes`` or ``scores`` are invalid (as :func:`bboxcore.nms`), a
        score is negative or infinite, ``iou_thresh`` is outside [0, 1],
        ``sigma`` is not a positive finite number, ``score_thresh`` is NaN, or
        ``method`` is unknown.

    Notes
    -----
    Limits (checked by the tests): linear with :math:`N_t = 0` decays every box that
    overlaps :math:`\mathcal M` at all, by :math:`1 - \mathrm{IoU}`; Gaussian
    with :math:`\sigma \to 0` sends every overlapping score to 0, i.e. hard NMS
    at :math:`N_t = 0`, and :math:`\sigma \to \infty` changes nothing.

    Conventions, and how they differ from the authors' Cython code
    (``cpu_soft_nms``): that code uses pixel-inclusive areas (``x2 - x1 + 1``)
    where bboxcore uses the continuous ``x2 - x1``; it reorders the boxes
    array in place and returns positions into the *reordered* array, which
    callers often mistake for input indices; it drops a box when its score is
    strictly below the threshold and only after a decay, so an initial score
    under the threshold survives. Here ``keep`` holds input indices, the
    inputs are not modified, and "at or below ``score_thresh``" applies to
    every score. The paper's Eq. 2 decays at :math:`\mathrm{IoU} \ge N_t`;
    like the authors' code and :func:`bboxcore.nms`, bboxcore decays at
    strictly greater. Each step costs O(R), so O(K R) in all.

    References
    ----------
    .. [1] N. Bodla, B. Singh, R. Chellappa, L. S. Davis. "Soft-NMS --
       Improving Object Detection With One Line of Code." ICCV 2017,
       arXiv:1704.04503.

    Examples
    --------
    >>> boxes = [[0, 0, 10, 10], [5, 0, 15, 10], [30, 30, 40, 40]]  # IoU(0, 1) = 1/3
    >>> keep, s = soft_nms(boxes, [0.9, 0.8, 0.7], iou_thresh=0.3, method="linear")
    >>> keep, s  # box 1 decays to 0.8 * (1 - 1/3)
    (array([0, 2, 1]), array([0.9       , 0.7       , 0.53333333]))
    >>> soft_nms(boxes, [0.9, 0.8, 0.7], method="hard")[0]  # = nms: 1/3 > N_t drops box 1
    array([0, 2])
    """
    b, s = scored_boxes(boxes, scores)
    if s.size and not (np.isfinite(s).all() and (s >= 0).all()):
        i = int(np.flatnonzero(~np.isfinite(s) | (s < 0))[0])
        raise ValueError(f"scores must be finite and >= 0 for soft_nms; got {s[i]} at index {i}")
    n_t = unit_interval(iou_thresh, "iou_thresh")
    sigma = positive(sigma, "sigma")
    score_thresh = in_dtype(real(score_thresh, "score_thresh"), s.dtype)  # as nms
    if method not in SOFT_NMS_METHODS:
        raise ValueError(f"method must be one of {SOFT_NMS_METHODS}; got {method!r}")

    s = s.copy()  # the decayed scores, S in the pseudo-code
    remaining = np.flatnonzero(s > score_thresh)  # B, in increasing index order
    keep: list[int] = []
    kept_scores: list[float] = []
    while remaining.size:
        # NOTE: ties. argmax returns the first maximum: the lowest index, as in bboxcore.nms.
        m = remaining[np.argmax(s[remaining])]  # M <- argmax S
        keep.append(int(m))  # D <- D u M
        kept_scores.append(s[m])
        remaining = remaining[remaining != m]  # B <- B - M
        iou = pairwise_iou_unchecked(b[m : m + 1], b[remaining])[0]  # (|B|,)
        s[remaining] = s[remaining] * _decay(iou, method, n_t, sigma)  # s_i <- s_i f(iou)
        remaining = remaining[s[remaining] > score_thresh]
    return np.array(keep, dtype=np.int64), np.array(kept_scores, dtype=s.dtype)


def heatmap_peaks(heatmap, k: int, kernel: int = 3) -> tuple[np.ndarray, ...]:
    r"""CenterNet's NMS-free decoding: the top-k local maxima of per-class heatmaps.

    A cell is a peak when it equals the maximum of its ``kernel x kernel``
    neighbourhood (CenterNet [1]_, Sec. 4: a 3 x 3 max-pooling "instead of
    NMS"; *Detection – 3 stages*, §M); the peaks of all classes are then ranked together:

    .. math::
        \hat P = \{(c, y, x) : \hat Y_{c,y,x} = \max_{|dy|, |dx| \le \lfloor k_s / 2
        \rfloor} \hat Y_{c, y + dy, x + dx}\}

    Parameters
    ----------
    heatmap : array_like, shape (C, H, W)
        One heatmap per class (e.g. the sigmoid of the network's output), for
        one image; H and W count feature-map cells. For a batch (N, C, H, W),
        call it on each image.
    k : int
        How many peaks to return, ``>= 0``.
    kernel : int
        Odd side of the neighbourhood, ``>= 1`` (1 makes every cell a peak).

    Returns
    -------
    scores : ndarray, shape (K,)
        The peak values, decreasing; K = min(k, number of peaks). Floating
        dtype of ``heatmap``.
    class_ids : ndarray, shape (K,), int64
        Channel c of each peak.
    ys, xs : ndarray, shape (K,), int64
        Its cell coordinates (row y, column x).

    Raises
    ------
    TypeError
        If ``heatmap`` is not numeric, or ``k`` or ``kernel`` is not an integer.
    ValueError
        If ``heatmap`` is not 3-D or holds NaN/inf, ``k`` is negative, or
        ``kernel`` is not odd and positive.

    Notes
    -----
    Ties. Neighbours with equal values are all peaks (``hmax == heat`` in
    CenterNet's ``_nms``: a plateau is not thinned, and a flat zero background
    is made of peaks of score 0). Peaks with equal values
    are ranked by flat index (c, y, x), lowest first. The border is padded
    with :math:`-\infty`, as by max-pooling's padding. Unlike CenterNet's
    ``_topk``, which ranks the suppressed map ``heat * keep`` and so may fill
    the top k with zeros, only true peaks are returned.

    References
    ----------
    .. [1] X. Zhou, D. Wang, P. Krahenbuhl. "Objects as Points."
       arXiv:1904.07850, 2019.

    Examples
    --------
    >>> heat = np.zeros((2, 4, 5))
    >>> heat[0, 1, 1], heat[0, 1, 2], heat[1, 3, 4] = 0.9, 0.5, 0.7
    >>> scores, cls, ys, xs = heatmap_peaks(heat, k=2)
    >>> scores, cls, ys, xs  # (0, 1, 2) is not a peak: its neighbour holds 0.9
    (array([0.9, 0.7]), array([0, 1]), array([1, 3]), array([1, 4]))
    """
    heat = as_float_array(heatmap, "heatmap")
    if heat.ndim != 3:
        raise ValueError(f"heatmap must have shape (C, H, W); got {heat.shape}")
    check_finite(heat, "heatmap")
    k = count(k, "k")
    kernel = count(kernel, "kernel", minimum=1)
    if kernel % 2 == 0:
        raise ValueError(f"kernel must be a positive odd integer; got {kernel}")
    if heat.size == 0 or k == 0:
        empty = np.zeros(0, np.int64)
        return np.zeros(0, heat.dtype), empty, empty.copy(), empty.copy()
    pad = kernel // 2
    padded = np.pad(heat, ((0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    window = np.lib.stride_tricks.sliding_window_view
    hmax = window(padded, kernel, axis=2).max(axis=-1)  # (C, H + 2 pad, W): max along x
    hmax = window(hmax, kernel, axis=1).max(axis=-1)  # (C, H, W): then along y
    flat = np.flatnonzero(heat == hmax)  # peaks, by flat index (c, y, x)
    top = flat[np.argsort(-heat.ravel()[flat], kind="stable")[:k]]  # NOTE: ties by index
    c, y, x = np.unravel_index(top, heat.shape)
    return heat.ravel()[top], c.astype(np.int64), y.astype(np.int64), x.astype(np.int64)
