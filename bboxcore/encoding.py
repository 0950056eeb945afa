r"""Box encoding: offsets ("loc") between a reference box and a target box.

A reference box P (an anchor or a RoI) with centre :math:`(p_x, p_y)` and
size :math:`(p_w, p_h)` and a target box G are related by the offsets
:math:`t = (t_x, t_y, t_w, t_h)` of Faster R-CNN [1]_ (Eq. 2) and R-CNN [2]_
(Appendix C), the formulas of the course (*Object Detection – BBOX Regression*;
*Detection – 3 stages*, §C2.2.1):

.. math::
    t_x = \frac{g_x - p_x}{p_w},\quad t_y = \frac{g_y - p_y}{p_h},\quad
    t_w = \log\frac{g_w}{p_w},\quad t_h = \log\frac{g_h}{p_h}

Dividing by :math:`p_w, p_h` makes the offsets invariant to the scale of the
pair (a large and a small box equally misplaced get the same t), and the log
makes every decoded width :math:`p_w e^{t_w}` positive, whatever the
regressor predicts.

Boxes are ``(x_min, y_min, x_max, y_max)`` in continuous pixels (no "+1");
offsets are ``(t_x, t_y, t_w, t_h)`` in that order. Optionally the offsets are
normalised, :math:`\tilde t = (t - \mu) / \sigma`, with the
:data:`LOC_NORMALIZE_STD` = (0.1, 0.1, 0.2, 0.2) of the RoI head (*The losses of Faster R-CNN*).
"""

from __future__ import annotations

import math

import numpy as np

from bboxcore.boxes import as_boxes, as_float_array, check_finite, result_float_dtype

__all__ = ["LOC_CLIP", "LOC_NORMALIZE_MEAN", "LOC_NORMALIZE_STD", "bbox2loc", "loc2bbox"]

#: Upper bound on t_w, t_h before ``exp`` in :func:`loc2bbox`: a box may grow at
#: most 1000/16 = 62.5 times its reference, which keeps ``exp()`` finite for an
#: untrained head (the value of Detectron and torchvision).
LOC_CLIP = math.log(1000.0 / 16)

#: The RoI head's offset normalisation (*The losses of Faster R-CNN*): mean 0,
#: std (0.1, 0.1, 0.2, 0.2).
LOC_NORMALIZE_MEAN = (0.0, 0.0, 0.0, 0.0)
LOC_NORMALIZE_STD = (0.1, 0.1, 0.2, 0.2)


def bbox2loc(src_bbox, dst_bbox, *, mean=None, std=None) -> np.ndarray:
    r"""Encode target boxes ``dst_bbox`` as offsets from reference boxes ``src_bbox``.

    For a reference box P (centre :math:`p_x, p_y`, size :math:`p_w, p_h`) and
    a target box G, [1]_ (Eq. 2), *Object Detection – BBOX Regression* and
    *Detection – 3 stages* (§C2.2.1):

    .. math::
        t_x = \frac{g_x - p_x}{p_w},\quad t_y = \frac{g_y - p_y}{p_h},\quad
        t_w = \log\frac{g_w}{p_w},\quad t_h = \log\frac{g_h}{p_h}

    and, when ``mean``/``std`` are given, :math:`\tilde t = (t - \mu) / \sigma`.

    Parameters
    ----------
    src_bbox : array_like, shape (R, 4)
        Reference boxes (anchors or RoIs) ``(x_min, y_min, x_max, y_max)`` in
        pixels; width and height must be positive.
    dst_bbox : array_like, shape (R, 4)
        Target boxes (ground truth) in the same format; width and height must
        be positive (:math:`\log 0` is undefined).
    mean, std : array_like, shape (4,), optional
        Normalisation of the offsets, e.g. ``std=LOC_NORMALIZE_STD``
        (0.1, 0.1, 0.2, 0.2) for the RoI head (*The losses of Faster R-CNN*).
        ``std`` must be positive.

    Returns
    -------
    loc : ndarray, shape (R, 4)
        Offsets ``(t_x, t_y, t_w, t_h)``; float32 only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), the two R differ, a value is NaN/inf, a box
        is inverted or has zero width or height, ``mean``/``std`` are not
        (4,) finite values (``std`` > 0), or the offsets overflow the dtype.

    See Also
    --------
    loc2bbox : the inverse.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.
    .. [2] R. Girshick, J. Donahue, T. Darrell, J. Malik. "Rich feature
       hierarchies for accurate object detection and semantic segmentation."
       CVPR 2014, arXiv:1311.2524.

    Examples
    --------
    A ground-truth box twice as wide as its anchor and shifted right by half
    the anchor's width:

    >>> anchor = np.array([[0., 0., 10., 20.]])
    >>> gt = np.array([[0., 0., 20., 20.]])
    >>> bbox2loc(anchor, gt)  # t_x = (10 - 5) / 10, t_w = log(20 / 10)
    array([[0.5       , 0.        , 0.69314718, 0.        ]])
    >>> bbox2loc(anchor, gt, std=(0.1, 0.1, 0.2, 0.2))
    array([[5.        , 0.        , 3.46573590, 0.        ]])
    """
    src = as_boxes(src_bbox, "src_bbox")
    dst = as_boxes(dst_bbox, "dst_bbox")
    if src.shape[0] != dst.shape[0]:
        raise ValueError(
            f"src_bbox and dst_bbox must have the same number of boxes R; "
            f"got {src.shape[0]} and {dst.shape[0]}"
        )
    dtype = result_float_dtype(src, dst)
    src, dst = src.astype(dtype, copy=False), dst.astype(dtype, copy=False)
    mean_, std_ = _mean_std(mean, std, dtype)
    px, py, pw, ph = _sizes(src, "src_bbox")
    gx, gy, gw, gh = _sizes(dst, "dst_bbox")
    with np.errstate(over="ignore"):
        loc = np.stack([(gx - px) / pw, (gy - py) / ph, np.log(gw / pw), np.log(gh / ph)], axis=1)
        if mean_ is not None:
            loc -= mean_
        if std_ is not None:
            loc /= std_
    if loc.size and not np.isfinite(loc).all():
        i = int(np.flatnonzero(~np.isfinite(loc).all(axis=1))[0])
        raise ValueError(
            f"offsets overflow {dtype} at row {i} (src_bbox {src[i].tolist()}, "
            f"dst_bbox {dst[i].tolist()}); use float64 or smaller coordinates"
        )
    return loc


def loc2bbox(
    src_bbox, loc, *, mean=None, std=None, loc_clip: float | None = LOC_CLIP
) -> np.ndarray:
    r"""Decode offsets ``loc`` into boxes; the inverse of :func:`bbox2loc`.

    A reference box with centre :math:`(p_x, p_y)` and size :math:`(p_w, p_h)`
    is moved by :math:`(t_x, t_y, t_w, t_h)` [1]_ (Eq. 2), *Object Detection – BBOX Regression*:

    .. math::
        \hat g_x = p_w t_x + p_x,\quad \hat g_y = p_h t_y + p_y,\quad
        \hat g_w = p_w e^{t_w},\quad \hat g_h = p_h e^{t_h}

    after undoing the normalisation, :math:`t = \sigma \tilde t + \mu`, when
    ``mean``/``std`` are given.

    Parameters
    ----------
    src_bbox : array_like, shape (R, 4)
        Reference boxes ``(x_min, y_min, x_max, y_max)`` in pixels; width and
        height must be positive.
    loc : array_like, shape (R, 4) or (R, 4K)
        Offsets ``(t_x, t_y, t_w, t_h)``, e.g. from :func:`bbox2loc`; with
        4K columns, K class-specific offsets per box (the RoI head's output),
        each decoded against the same reference box.
    mean, std : array_like, shape (4,), optional
        The normalisation that was applied to the offsets (see :func:`bbox2loc`).
    loc_clip : float or None
        Upper bound on :math:`t_w, t_h` before ``exp``; default
        :data:`LOC_CLIP` = log(1000/16). ``None`` disables the clip.

    Returns
    -------
    dst_bbox : ndarray, shape (R, 4) or (R, 4K)
        Decoded boxes, same shape as ``loc``; float32 only if both inputs are
        float32. Widths and heights are never negative.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If ``src_bbox`` is not (R, 4), a reference box is inverted or has zero
        width or height, ``loc`` is not (R, 4K) with the same R, a value is
        NaN/inf, ``mean``/``std``/``loc_clip`` are invalid, or a decoded box
        overflows the dtype (only possible for huge ``t_x``/``t_y`` or with
        ``loc_clip=None``).

    Notes
    -----
    ``t_w`` and ``t_h`` are clipped at ``loc_clip`` so that an untrained head
    cannot overflow ``exp``: with the default a decoded box is at most 62.5
    times its reference. Very negative ``t_w`` (below about -87 in float32)
    underflow to width 0. R = 0 gives shape (0, 4K).

    See Also
    --------
    bbox2loc : the inverse.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.

    Examples
    --------
    >>> anchor = np.array([[0., 0., 10., 20.]])
    >>> loc2bbox(anchor, np.zeros((1, 4)))
    array([[ 0.,  0., 10., 20.]])
    >>> loc2bbox(anchor, np.array([[0.5, 0., np.log(2), 0.]]))
    array([[ 0.,  0., 20., 20.]])

    Two classes (K = 2) decoded against one RoI:

    >>> loc2bbox(anchor, [[0., 0., 0., 0., 1., 0., 0., 0.]])
    array([[ 0.,  0., 10., 20., 10.,  0., 20., 20.]])
    """
    src = as_boxes(src_bbox, "src_bbox")
    t = as_float_array(loc, "loc")
    if t.ndim != 2 or t.shape[1] == 0 or t.shape[1] % 4:
        raise ValueError(f"loc must have shape (R, 4) or (R, 4K); got {t.shape}")
    if t.shape[0] != src.shape[0]:
        raise ValueError(
            f"loc must have one row per src_bbox row; "
            f"got {t.shape[0]} rows for {src.shape[0]} boxes"
        )
    check_finite(t, "loc")
    dtype = result_float_dtype(src, t)
    src = src.astype(dtype, copy=False)
    mean_, std_ = _mean_std(mean, std, dtype)
    if loc_clip is not None:
        loc_clip = float(loc_clip)
        if not np.isfinite(loc_clip):
            raise ValueError(f"loc_clip must be a finite number or None; got {loc_clip}")
    px, py, pw, ph = (v[:, None] for v in _sizes(src, "src_bbox"))  # (R, 1) each
    t = t.reshape(t.shape[0], t.shape[1] // 4, 4).astype(dtype)  # (R, K, 4): a copy; loc untouched
    with np.errstate(over="ignore", invalid="ignore"):
        if std_ is not None:
            t *= std_
        if mean_ is not None:
            t += mean_
        tw, th = t[..., 2], t[..., 3]
        if loc_clip is not None:
            np.minimum(tw, loc_clip, out=tw)
            np.minimum(th, loc_clip, out=th)
        cx = t[..., 0] * pw + px  # (R, K)
        cy = t[..., 1] * ph + py
        w = pw * np.exp(tw)
        h = ph * np.exp(th)
        dst = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=2)
    dst = dst.reshape(t.shape[0], 4 * t.shape[1])  # (R, K, 4) -> (R, 4K)
    if dst.size and not np.isfinite(dst).all():
        i = int(np.flatnonzero(~np.isfinite(dst).all(axis=1))[0])
        raise ValueError(
            f"loc row {i} decodes to a box that overflows {dtype} (src_bbox {src[i].tolist()}); "
            f"keep loc_clip or use smaller offsets"
        )
    return dst


# --------------------------------------------------------------------------- input checks
def _sizes(b: np.ndarray, name: str) -> tuple[np.ndarray, ...]:
    """Centres and sizes of validated boxes; ``ValueError`` unless every side is positive."""
    with np.errstate(over="ignore"):
        w = b[:, 2] - b[:, 0]
        h = b[:, 3] - b[:, 1]
    bad = ~((w > 0) & (h > 0) & np.isfinite(w) & np.isfinite(h))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must have positive, finite width and height; row {i} is "
            f"{[float(v) for v in b[i]]} (width {float(w[i])}, height {float(h[i])})"
        )
    return b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h, w, h


def _mean_std(mean, std, dtype) -> tuple[np.ndarray | None, np.ndarray | None]:
    out = []
    for name, v in (("mean", mean), ("std", std)):
        if v is None:
            out.append(None)
            continue
        arr = as_float_array(v, name).astype(dtype)
        if arr.shape != (4,):
            raise ValueError(
                f"{name} must have shape (4,) for (t_x, t_y, t_w, t_h); got {arr.shape}"
            )
        check_finite(arr, name)
        if name == "std" and (arr <= 0).any():
            raise ValueError(f"std must be positive; got {arr.tolist()}")
        out.append(arr)
    return out[0], out[1]
