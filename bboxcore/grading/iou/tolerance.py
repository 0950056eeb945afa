r"""How far a correct float32 IoU may be from the exact one: a forward error analysis.

A float32 operation returns its exact result times :math:`(1 + \delta)`,
:math:`|\delta| \le u = 2^{-24}`; an input rounded to float32 moves by at most
:math:`u|x|`. Following the IoU through its intermediates (first order in u),
with :math:`X_w = |a_{x1}| + |a_{x2}| + |b_{x1}| + |b_{x2}|` the magnitudes of the
four x coordinates involved:

.. math::
    e_{w_\cap} &= u (X_w + |w_\cap|), \qquad
    e_{I} = (w_\cap + e_{w_\cap}) e_{h_\cap} + h_\cap e_{w_\cap} + u I \\
    e_{w_a} &= u (|a_{x1}| + |a_{x2}| + w_a), \qquad
    e_{A_a} = w_a e_{h_a} + h_a e_{w_a} + e_{w_a} e_{h_a} + u A_a \\
    e_{U} &= e_{A_a} + e_{A_b} + e_I + 2u (A_a + A_b + I), \qquad
    e_{\mathrm{IoU}} = \frac{e_I + \mathrm{IoU}\, e_U}{U - e_U} + u\,\mathrm{IoU}

(:math:`w_\cap, h_\cap` clipped at 0, their error bound taken before the clip,
so that two boxes that barely miss each other may show a tiny positive IoU).
The grader accepts :data:`~bboxcore.grading._common.BOUND_FACTOR` times this
bound, which leaves room for any reasonable order of the same operations
(centre/size conversions first, loops, broadcasting). Tiny boxes far from the
origin get a wide bound — float32 cannot do better there — and grid-aligned
boxes near the origin a bound of a few ulps.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import BOUND_FACTOR, U32

__all__ = ["iou_error_bound"]


def _side_terms(lo_a, hi_a, lo_b, hi_b):
    """Overlap side (clipped), its error bound, and each box's side with its error bound."""
    mag = np.abs(lo_a)[:, None] + np.abs(hi_a)[:, None] + np.abs(lo_b)[None] + np.abs(hi_b)[None]
    raw = np.minimum(hi_a[:, None], hi_b[None]) - np.maximum(lo_a[:, None], lo_b[None])
    e_raw = U32 * (mag + np.abs(raw))
    side_a, side_b = hi_a - lo_a, hi_b - lo_b
    e_a = U32 * (np.abs(lo_a) + np.abs(hi_a) + np.abs(side_a))
    e_b = U32 * (np.abs(lo_b) + np.abs(hi_b) + np.abs(side_b))
    return np.maximum(raw, 0.0), e_raw, side_a, e_a, side_b, e_b


def iou_error_bound(boxes1, boxes2, factor: float = BOUND_FACTOR) -> np.ndarray:
    """The largest error a correct float32 IoU may make, per pair.

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
    boxes2 : array_like, shape (M, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels (float64 values).
    factor : float
        Multiplies the first-order bound (see the module's docstring).

    Returns
    -------
    bound : ndarray, shape (N, M), float64
        ``factor`` times the first-order bound; 1 (anything in [0, 1]) where
        the union is within its own error bound of 0.

    Examples
    --------
    >>> b = np.array([[0., 0., 4., 4.], [2., 0., 6., 4.]])
    >>> bool((iou_error_bound(b, b) < 1e-5).all())
    True
    >>> far = np.array([[3000., 3000., 3000.1, 3000.1]])  # 0.1 px wide, far away
    >>> float(iou_error_bound(far, far + 0.05)[0, 0]) > 1e-3
    True
    """
    a = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    iw, e_iw, wa, e_wa, wb, e_wb = _side_terms(a[:, 0], a[:, 2], b[:, 0], b[:, 2])
    ih, e_ih, ha, e_ha, hb, e_hb = _side_terms(a[:, 1], a[:, 3], b[:, 1], b[:, 3])
    inter = iw * ih  # (N, M)
    e_inter = (iw + e_iw) * e_ih + ih * e_iw + U32 * inter
    area_a, area_b = wa * ha, wb * hb
    e_area_a = (wa * e_ha + ha * e_wa + e_wa * e_ha + U32 * area_a)[:, None]
    e_area_b = (wb * e_hb + hb * e_wb + e_wb * e_hb + U32 * area_b)[None, :]
    area_sum = area_a[:, None] + area_b[None, :]
    union = area_sum - inter
    e_union = e_area_a + e_area_b + e_inter + 2 * U32 * (area_sum + inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
        e_iou = (e_inter + iou * e_union) / (union - e_union) + U32 * iou
    e_iou = np.where(union - e_union > 0, e_iou, 1.0)
    return np.minimum(factor * e_iou, 1.0)
