r"""Precise RoI Pooling (IoU-Net): the exact mean of the bilinearly interpolated map over each bin.

Same conventions as the other ops of :mod:`bboxcore.roi` (features (N, C, H, W); rois (R, 5) as
``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels; outputs
(R, C, ph, pw)), with one difference inherited from the reference
implementation of IoU-Net: the value of cell (y, x) sits at the **integer**
point (x, y) of the scaled box coordinates (no half-cell shift).

The interpolated map is :math:`f(x, y) = \sum_{i,j} h(x - i)\,h(y - j)\,w_{ij}` with
the hat :math:`h(u) = \max(0, 1 - |u|)` (cells outside the map count as 0). Its
integral over a bin factorises into one integral of h per axis, so PrRoI
Pooling runs on the separable engine of RoI Align
(``bboxcore.roi._sampling``) with exact integral weights instead of sample
weights.
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import positive
from bboxcore.roi._inputs import (
    _check_dout,
    _check_features,
    _check_rois,
    _output_size,
)
from bboxcore.roi._sampling import _apply_separable, _apply_separable_backward

__all__ = ["PRROI_MIN_GRAD_SIDE", "prroi_pool", "prroi_pool_backward"]

#: Bins this thin or thinner (in cells, ~sqrt of float64 eps) get a zero box gradient: the
#: difference quotient of the slide's formula has no significant digits left below it.
PRROI_MIN_GRAD_SIDE = 1.5e-8


def _hat_integrals(start: np.ndarray, end: np.ndarray, n_cells: int) -> np.ndarray:
    r"""k[..., i] = integral of max(0, 1 - |t - i|) over [start, end], for cells i < n_cells.

    The hat is linear on [i - 1, i] and on [i, i + 1], so each piece integrates exactly
    to its overlap length times the hat at the overlap's midpoint (no cancellation,
    so a bin a billionth of a cell wide is as accurate as a wide one).
    """
    i = np.arange(n_cells)
    a, b = start[..., None], end[..., None]
    s, e = np.maximum(a, i - 1), np.minimum(b, i)  # rising piece, hat = t - (i - 1)
    rising = np.maximum(e - s, 0) * ((s + e) / 2 - (i - 1))
    s, e = np.maximum(a, i), np.minimum(b, i + 1)  # falling piece, hat = (i + 1) - t
    falling = np.maximum(e - s, 0) * ((i + 1) - (s + e) / 2)
    return rising + falling


def _bin_edges(lo, hi, n_bins):
    """Edges of the n_bins equal bins of [lo, hi] per RoI: start, end, size, each (R, n_bins)."""
    size = (hi - lo) / n_bins  # (R,)
    k = np.arange(n_bins)
    start = lo[:, None] + k * size[:, None]
    return start, start + size[:, None], np.broadcast_to(size[:, None], start.shape)


def _integral_weights(start, end, size, n_cells):
    """a[r, i, y] = (integral of h(t - y) over [start, end]) / size; 0 for an empty bin."""
    k = _hat_integrals(start, end, n_cells)
    size = np.broadcast_to(size[..., None], k.shape)
    return np.divide(k, size, out=np.zeros_like(k), where=size > 0)


def _hat_weights(at, n_cells):
    """e[r, i, y] = h(at[r, i] - y): the interpolation weights of the line x = at."""
    return np.maximum(0.0, 1.0 - np.abs(at[..., None] - np.arange(n_cells)))


def _prroi_setup(f, rois, output_size, spatial_scale):
    batch, boxes = _check_rois(rois, f.shape[0])
    ph, pw = _output_size(output_size)
    s = boxes * positive(spatial_scale, "spatial_scale")  # (R, 4) in cell coordinates
    ys = _bin_edges(s[:, 1], s[:, 3], ph)
    xs = _bin_edges(s[:, 0], s[:, 2], pw)
    ay = _integral_weights(*ys, f.shape[2])
    ax = _integral_weights(*xs, f.shape[3])
    return batch, (ph, pw), ys, xs, ay, ax


def prroi_pool(features, rois, output_size, spatial_scale: float) -> np.ndarray:
    r"""Precise RoI Pooling: the integral of the interpolated features over each bin, over its area.

    IoU-Net's pooling (*Detection – 3 stages*, §B*) [1]_ (Eq. 2-3): no quantisation, no
    sampling parameter, and every cell under a bin receives gradient:

    .. math::
        \mathrm{PrPool}(\text{bin}, F) = \frac{\int_{y_1}^{y_2}\int_{x_1}^{x_2} f(x, y)\,dx\,dy}
            {(x_2 - x_1)(y_2 - y_1)},\quad
        f(x, y) = \sum_{i,j} \max(0, 1 - |x - i|)\,\max(0, 1 - |y - j|)\,w_{ij}

    (the slide's IC is this product of two hats).

    Parameters
    ----------
    features : ndarray, shape (N, C, H, W), float
        Feature maps; float32 stays float32.
    rois : array_like, shape (R, 5)
        ``(batch_index, x_min, y_min, x_max, y_max)``, boxes in image pixels.
    output_size : int or (int, int)
        ``(ph, pw)``.
    spatial_scale : float
        1 / stride; the box is ``s * (x_min, ..)`` in cell coordinates, where
        cell (y, x) sits at the point (x, y).

    Returns
    -------
    output : ndarray, shape (R, C, ph, pw)
        Same dtype as ``features``; 0 for a bin of zero area.

    Raises
    ------
    TypeError, ValueError
        As :func:`bboxcore.roi.roi_align`.

    Notes
    -----
    The double integral factorises: the pooled value is
    :math:`\sum_{j,i} a^y_j\, w_{ij}\, a^x_i` with
    :math:`a^x_i = \int_{x_1}^{x_2} \max(0, 1 - |x - i|)\,dx \,/\, (x_2 - x_1)`,
    each hat integrated exactly piece by linear piece. Over a whole map the
    result is the trapezoid-rule mean of the features (border cells weigh 1/2).

    References
    ----------
    .. [1] B. Jiang, R. Luo, J. Mao, T. Xiao, Y. Jiang. "Acquisition of
       Localization Confidence for Accurate Object Detection." ECCV 2018,
       arXiv:1807.11590.

    Examples
    --------
    >>> f = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])  # f(x, y) = x + 2y between the cells
    >>> prroi_pool(f, [[0, 0, 0, 1, 1]], 1, 1.0)  # mean of x + 2y over the unit square
    array([[[[1.5]]]])
    >>> prroi_pool(f, [[0, 0, 0, 0.5, 1]], (1, 1), 1.0)  # x in [0, 0.5]: mean x = 0.25
    array([[[[1.25]]]])
    """
    f = _check_features(features)
    batch, _, _, _, ay, ax = _prroi_setup(f, rois, output_size, spatial_scale)
    return _apply_separable(f, batch, ay.astype(f.dtype), ax.astype(f.dtype))


def prroi_pool_backward(
    dout, features, rois, output_size, spatial_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`prroi_pool` w.r.t. the features **and the box coordinates**.

    The features get :math:`\sum_{r,i,j} a^y\, dY\, a^x` (every cell under a bin,
    weighted by its share of the integral). A bin's left edge gets the slide's
    (*Detection – 3 stages*, §B*) [1]_ (Eq. 4)

    .. math::
        \frac{\partial\,\mathrm{PrPool}}{\partial x_1} =
            \frac{\mathrm{PrPool}}{x_2 - x_1}
            - \frac{\int_{y_1}^{y_2} f(x_1, y)\,dy}{(x_2 - x_1)(y_2 - y_1)}

    and symmetrically :math:`x_2, y_1, y_2`. Bin j's edges are
    :math:`x_1 + \tfrac{j}{pw}(x_2 - x_1)` and :math:`x_1 + \tfrac{j+1}{pw}(x_2 - x_1)`
    of the RoI's, which the chain rule sums over, times ``spatial_scale``.

    Parameters
    ----------
    dout : ndarray, shape (R, C, ph, pw), float
        Upstream gradient w.r.t. the output of :func:`prroi_pool`.
    features, rois, output_size, spatial_scale
        Exactly as passed to :func:`prroi_pool` (the box gradient needs the features).

    Returns
    -------
    dfeatures : ndarray, shape (N, C, H, W)
        Same dtype as ``dout``.
    drois : ndarray, shape (R, 5)
        Gradient w.r.t. ``(batch_index, x_min, y_min, x_max, y_max)`` in
        pixels, float64; the batch-index column is 0.

    Raises
    ------
    TypeError, ValueError
        As :func:`prroi_pool`, or if ``dout`` is not (R, C, ph, pw) or not finite.

    Notes
    -----
    NOTE: a zero-area bin pools to 0 (as the reference implementation does),
    which is discontinuous in the box: there, and for bins at most
    ``PRROI_MIN_GRAD_SIDE`` cells wide or tall, the box gradient is set to 0. Elsewhere
    PrPool is C¹ in the coordinates (f is continuous); its second derivative
    jumps when an edge crosses a cell centre.

    Examples
    --------
    >>> f = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> dfeat, drois = prroi_pool_backward(np.ones((1, 1, 1, 1)), f, [[0, 0, 0, 1, 1]], 1, 1.0)
    >>> dfeat  # each corner holds a quarter of the unit square's integral
    array([[[[0.25, 0.25],
             [0.25, 0.25]]]])
    >>> drois  # growing x_max adds the line x = 1 (mean 2) to a mean of 1.5: +0.5
    array([[0. , 0.5, 1. , 0.5, 1. ]])
    """
    f = _check_features(features)
    batch, (ph, pw), ys, xs, ay, ax = _prroi_setup(f, rois, output_size, spatial_scale)
    d = _check_dout(dout, (len(batch), f.shape[1], ph, pw))
    dt = f.dtype
    dfeatures = _apply_separable_backward(d, batch, ay.astype(d.dtype), ax.astype(d.dtype), f.shape)
    drois = np.zeros((len(batch), 5))
    if len(batch) == 0:
        return dfeatures, drois
    (y1, y2, bh), (x1, x2, bw) = ys, xs  # each (R, ph) or (R, pw)
    h, w = f.shape[2:]
    # The pooled value and its line integrals along the four bin edges, two products in all:
    # columns [A^x | h(x1 - x) | h(x2 - x)] share A^y; rows [h(y1 - y) | h(y2 - y)] share A^x.
    cols = np.concatenate([ax, _hat_weights(x1, w), _hat_weights(x2, w)], axis=1)
    rows = np.concatenate([_hat_weights(y1, h), _hat_weights(y2, h)], axis=1)
    by_x = _apply_separable(f, batch, ay.astype(dt), cols.astype(dt))  # (R, C, ph, 3pw)
    by_y = _apply_separable(f, batch, rows.astype(dt), ax.astype(dt))  # (R, C, 2ph, pw)
    d64 = d.astype(np.float64)

    def upstream_sum(x):  # sum_c dout * x: (R, ph, pw)
        return np.einsum("rcij,rcij->rij", d64, x, dtype=np.float64)

    pooled, line_x1, line_x2 = (upstream_sum(by_x[..., k * pw : (k + 1) * pw]) for k in range(3))
    line_y1, line_y2 = (upstream_sum(by_y[:, :, k * ph : (k + 1) * ph]) for k in range(2))
    # NOTE: (PrPool - line) / width loses all precision as the width -> 0 (and PrPool jumps
    # to 0 at width 0): bins at most PRROI_MIN_GRAD_SIDE cells wide get no box gradient.
    inv_w = np.divide(1.0, bw, out=np.zeros_like(bw), where=bw > PRROI_MIN_GRAD_SIDE)[:, None, :]
    inv_h = np.divide(1.0, bh, out=np.zeros_like(bh), where=bh > PRROI_MIN_GRAD_SIDE)[:, :, None]
    live = (inv_w > 0) & (inv_h > 0)  # (R, ph, pw)
    # sum_c dout * d(PrPool)/d(bin edge), (R, ph, pw): (PrPool - line at x1) / bw, ...
    d_x1 = np.where(live, (pooled - line_x1) * inv_w, 0)
    d_x2 = np.where(live, (line_x2 - pooled) * inv_w, 0)
    d_y1 = np.where(live, (pooled - line_y1) * inv_h, 0)
    d_y2 = np.where(live, (line_y2 - pooled) * inv_h, 0)
    # bin edge -> RoI edge: x1_j = X1 + (j/pw)(X2 - X1), x2_j = X1 + ((j+1)/pw)(X2 - X1)
    jx = np.arange(pw) / pw
    iy = np.arange(ph)[:, None] / ph
    s = positive(spatial_scale, "spatial_scale")
    drois[:, 1] = s * (d_x1 * (1 - jx) + d_x2 * (1 - jx - 1 / pw)).sum(axis=(1, 2))
    drois[:, 3] = s * (d_x1 * jx + d_x2 * (jx + 1 / pw)).sum(axis=(1, 2))
    drois[:, 2] = s * (d_y1 * (1 - iy) + d_y2 * (1 - iy - 1 / ph)).sum(axis=(1, 2))
    drois[:, 4] = s * (d_y1 * iy + d_y2 * (iy + 1 / ph)).sum(axis=(1, 2))
    return dfeatures, drois
