r"""How far a correct float32 ``bbox2loc`` / ``loc2bbox`` may be from the exact answer.

A forward error analysis, first order in the float32 unit roundoff
:math:`u = 2^{-24}` (every operation's result is off by at most :math:`u` times
its magnitude, every float64 input moves by :math:`u|x|` when cast). Per axis
(x shown; y alike) with corners :math:`x_1, x_2` of the reference box:

.. math::
    e_{p_w} = u (|x_1| + |x_2| + p_w), \qquad
    e_{p_x} = u (|x_1| + |x_2| + |p_x|) + e_{p_w} / 2

``bbox2loc`` (the same for the target's :math:`g_x, g_w`):

.. math::
    e_{t_x} = \frac{e_{g_x} + e_{p_x} + u|g_x - p_x| + |t_x| e_{p_w}}{p_w - e_{p_w}}
              + u |t_x|, \qquad
    e_{t_w} = \frac{e_{g_w}}{g_w} + \frac{e_{p_w}}{p_w}
              + u (1 + |t_w| + |\log g_w| + |\log p_w|)

(the last terms admit ``log(g_w) - log(p_w)`` as well as ``log(g_w / p_w)``).
``loc2bbox``, with :math:`E = e^{t_w}`:

.. math::
    e_{g_x} &= |t_x| e_{p_w} + 3u |p_w t_x| + e_{p_x} + u |g_x|, \qquad
    e_{g_w} = E e_{p_w} + g_w u (|t_w| + 2) \\
    e_{x_{\min}} &= e_{g_x} + e_{g_w} / 2 + u (|x_{\min}| + |g_x| + g_w)

The grader accepts :data:`~bboxcore.grading._common.BOUND_FACTOR` times the
bound: centre/size first or corners directly, loops or broadcasting, float32
or float64 all pass; a 0.1 px box at 3000 px gets the wide bound float32 needs.
"""

from __future__ import annotations

import numpy as np

from bboxcore.grading._common import BOUND_FACTOR, U32

__all__ = ["bbox2loc_error_bound", "loc2bbox_error_bound"]


def _centre_size(lo: np.ndarray, hi: np.ndarray):
    """Centre, size and their float32 error bounds of one axis of boxes."""
    mag = np.abs(lo) + np.abs(hi)
    size = hi - lo
    centre = lo + 0.5 * size
    e_size = U32 * (mag + np.abs(size))
    e_centre = U32 * (mag + np.abs(centre)) + 0.5 * e_size
    return centre, size, e_centre, e_size


def bbox2loc_error_bound(src_bbox, dst_bbox, factor: float = BOUND_FACTOR) -> np.ndarray:
    """The largest error a correct float32 ``bbox2loc`` may make, per offset.

    Parameters
    ----------
    src_bbox, dst_bbox : array_like, shape (R, 4)
        Reference and target boxes ``(x_min, y_min, x_max, y_max)``, positive sizes.
    factor : float
        Multiplies the first-order bound (see the module's docstring).

    Returns
    -------
    bound : ndarray, shape (R, 4), float64
        For ``(t_x, t_y, t_w, t_h)``.

    Examples
    --------
    >>> src = np.array([[0., 0., 10., 20.]])
    >>> bool((bbox2loc_error_bound(src, src) < 1e-5).all())
    True
    >>> tiny = np.array([[3000., 3000., 3000.1, 3000.1]])
    >>> float(bbox2loc_error_bound(tiny, tiny + 0.01)[0, 0]) > 1e-3
    True
    """
    src = np.asarray(src_bbox, dtype=np.float64).reshape(-1, 4)
    dst = np.asarray(dst_bbox, dtype=np.float64).reshape(-1, 4)
    out = np.empty((len(src), 4))
    for axis in (0, 1):
        p_c, p_s, e_pc, e_ps = _centre_size(src[:, axis], src[:, axis + 2])
        g_c, g_s, e_gc, e_gs = _centre_size(dst[:, axis], dst[:, axis + 2])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (g_c - p_c) / p_s
            den = p_s - e_ps
            e_t = (e_gc + e_pc + U32 * np.abs(g_c - p_c) + np.abs(t) * e_ps) / den
            e_t += U32 * np.abs(t)
            t_s = np.log(g_s / p_s)
            e_ts = e_gs / g_s + e_ps / p_s
            e_ts += U32 * (1 + np.abs(t_s) + np.abs(np.log(g_s)) + np.abs(np.log(p_s)))
        out[:, axis] = np.where(den > 0, e_t, np.inf)
        out[:, axis + 2] = np.where((den > 0) & (g_s - e_gs > 0), e_ts, np.inf)
    return factor * out


def loc2bbox_error_bound(src_bbox, loc, factor: float = BOUND_FACTOR) -> np.ndarray:
    """The largest error a correct float32 ``loc2bbox`` may make, per coordinate.

    Parameters
    ----------
    src_bbox : array_like, shape (R, 4)
        Reference boxes ``(x_min, y_min, x_max, y_max)``, positive sizes.
    loc : array_like, shape (R, 4)
        Offsets ``(t_x, t_y, t_w, t_h)``.
    factor : float
        Multiplies the first-order bound (see the module's docstring).

    Returns
    -------
    bound : ndarray, shape (R, 4), float64
        For ``(x_min, y_min, x_max, y_max)``.

    Examples
    --------
    >>> src = np.array([[1000., 2000., 1200., 2100.]])
    >>> b = loc2bbox_error_bound(src, np.array([[0.5, -0.5, 1., 0.]]))
    >>> bool((b > 1e-4).all() and (b < 1e-2).all())  # float32 at 2000 px: about 1e-3
    True
    """
    src = np.asarray(src_bbox, dtype=np.float64).reshape(-1, 4)
    loc = np.asarray(loc, dtype=np.float64).reshape(-1, 4)
    out = np.empty((len(src), 4))
    for axis in (0, 1):
        p_c, p_s, e_pc, e_ps = _centre_size(src[:, axis], src[:, axis + 2])
        t, t_s = loc[:, axis], loc[:, axis + 2]
        g_c = p_s * t + p_c
        e_gc = np.abs(t) * e_ps + 3 * U32 * np.abs(p_s * t) + e_pc + U32 * np.abs(g_c)
        big = np.exp(t_s)
        g_s = p_s * big
        e_gs = big * e_ps + g_s * U32 * (np.abs(t_s) + 2)
        for k, corner in ((axis, g_c - 0.5 * g_s), (axis + 2, g_c + 0.5 * g_s)):
            out[:, k] = e_gc + 0.5 * e_gs + U32 * (np.abs(corner) + np.abs(g_c) + g_s)
    return factor * out
