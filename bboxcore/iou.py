r"""Intersection over union and its generalisations: IoU, GIoU, DIoU, CIoU.

All functions take boxes ``(x_min, y_min, x_max, y_max)`` in continuous pixel
coordinates (see :mod:`bboxcore.boxes`). Each comes in two forms:

* **pairwise** — ``box_iou(a, b)`` compares every box of ``a`` (N, 4) with every
  box of ``b`` (M, 4) and returns an (N, M) matrix;
* **aligned** — ``box_iou_aligned(a, b)`` compares ``a[i]`` with ``b[i]`` and
  returns an (N,) vector (the diagonal of the pairwise matrix).

Notation: for boxes A and B, :math:`I = |A \cap B|`, :math:`U = |A| + |B| - I`,
C is the smallest box enclosing both, :math:`\rho` the distance between their
centres and :math:`c` the diagonal of C.

Degenerate boxes: a zero-area box has IoU 0 with everything (itself included),
never NaN. The float dtype follows the inputs (float32 only if both are).

The pairwise functions work block by block over the rows of ``a`` so that the
temporaries never exceed :data:`IOU_BLOCK_BUDGET` elements beyond the output:
200 000 × 2 000 boxes need the 1.6 GB float32 output and a few MB more.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import as_boxes, result_float_dtype

__all__ = [
    "IOU_BLOCK_BUDGET",
    "box_iou",
    "box_iou_aligned",
    "complete_box_iou",
    "complete_box_iou_aligned",
    "distance_box_iou",
    "distance_box_iou_aligned",
    "generalized_box_iou",
    "generalized_box_iou_aligned",
]

#: Maximum number of elements of one block of temporaries in the pairwise
#: functions (2**16 float32 = 256 KiB each, about the size of a core's L2 cache).
IOU_BLOCK_BUDGET = 1 << 16


def _validate_pair(a, b, aligned: bool) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    a = as_boxes(a, "boxes1")
    b = as_boxes(b, "boxes2")
    if aligned and a.shape[0] != b.shape[0]:
        raise ValueError(
            f"boxes1 and boxes2 must have the same length R for the aligned form; "
            f"got {a.shape[0]} and {b.shape[0]}"
        )
    dtype = result_float_dtype(a, b)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    # Widths, areas, |A| + |B| and the enclosing box's area must all stay finite:
    # coordinates within sqrt(max) / 4 (about 4.6e18 px in float32) guarantee it.
    limit = float(np.sqrt(np.finfo(dtype).max)) / 4
    for name, arr in (("boxes1", a), ("boxes2", b)):
        if arr.size and np.abs(arr).max() > limit:
            i = int(np.flatnonzero((np.abs(arr) > limit).any(axis=1))[0])
            raise ValueError(
                f"{name} row {i} is too large for IoU arithmetic in {dtype}: coordinates must "
                f"lie within +-{limit:.3g}; got {arr[i].tolist()}"
            )
    return a, b, dtype


# --------------------------------------------------------------------------- the fast IoU
def pairwise_iou_unchecked(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None):
    """Pairwise IoU of already validated boxes of one dtype, block by block.

    The engine behind :func:`box_iou`, also used by :mod:`bboxcore.nms` on its
    candidate blocks. No validation: ``a`` (N, 4) and ``b`` (M, 4) must be
    finite, non-inverted and of the same floating dtype.

    Parameters
    ----------
    a : ndarray, shape (N, 4)
    b : ndarray, shape (M, 4)
    out : ndarray, shape (N, M), optional
        Where to write the result.

    Returns
    -------
    iou : ndarray, shape (N, M)

    Examples
    --------
    >>> pairwise_iou_unchecked(np.array([[0., 0., 2., 2.]]), np.array([[1., 0., 3., 2.]]))
    array([[0.33333333]])
    """
    n, m = a.shape[0], b.shape[0]
    dtype = a.dtype
    if out is None:
        out = np.empty((n, m), dtype=dtype)
    if n == 0 or m == 0:
        return out
    # Columns as contiguous vectors: (M,) for b, (rows, 1) for a block of a.
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[:, k]) for k in range(4))
    area_b = (bx2 - bx1) * (by2 - by1)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    rows = max(1, IOU_BLOCK_BUDGET // m)
    iw = np.empty((min(rows, n), m), dtype=dtype)
    ih = np.empty_like(iw)
    tiny = np.finfo(dtype).tiny
    for start in range(0, n, rows):
        blk = a[start : start + rows]
        r = blk.shape[0]
        w, h = iw[:r], ih[:r]
        # I = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1))
        np.minimum(blk[:, 2:3], bx2, out=w)  # (r, 1) vs (M,) -> (r, M)
        np.subtract(w, np.maximum(blk[:, 0:1], bx1), out=w)
        np.maximum(w, 0, out=w)
        np.minimum(blk[:, 3:4], by2, out=h)
        np.subtract(h, np.maximum(blk[:, 1:2], by1), out=h)
        np.maximum(h, 0, out=h)
        np.multiply(w, h, out=w)  # w is now I
        # U = |A| + |B| - I; U = 0 only when both boxes have zero area, and then I = 0,
        # so max(U, tiny) turns 0/0 into 0/tiny = 0 and changes no positive U.
        np.add(area_a[start : start + r, None], area_b, out=h)
        np.subtract(h, w, out=h)
        np.maximum(h, tiny, out=h)
        np.divide(w, h, out=out[start : start + r])
    return out


def box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise intersection over union of two sets of boxes.

    .. math::
        \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}

    the Jaccard index, used throughout detection and as a loss in UnitBox [1]_.

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    boxes2 : array_like, shape (M, 4)
        Boxes in the same format.

    Returns
    -------
    iou : ndarray, shape (N, M)
        ``iou[i, j]`` is the IoU of ``boxes1[i]`` and ``boxes2[j]``, in [0, 1];
        float32 only if both inputs are float32, else float64. Zero-area boxes
        give 0.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box, or is so
        large that an area overflows its dtype.

    Notes
    -----
    Computed block by block over ``boxes1`` with at most
    :data:`IOU_BLOCK_BUDGET` elements per temporary, so memory beyond the
    (N, M) output stays bounded whatever N and M.

    References
    ----------
    .. [1] J. Yu, Y. Jiang, Z. Wang, Z. Cao, T. Huang. "UnitBox: An Advanced
       Object Detection Network." ACM MM 2016, arXiv:1608.01471.

    Examples
    --------
    >>> a = np.array([[0., 0., 10., 10.]])
    >>> b = np.array([[5., 0., 15., 10.], [20., 20., 30., 30.]])
    >>> box_iou(a, b)  # 50 / (100 + 100 - 50) = 1/3, and no overlap
    array([[0.33333333, 0.        ]])
    """
    a, b, _ = _validate_pair(boxes1, boxes2, aligned=False)
    return pairwise_iou_unchecked(a, b)


def box_iou_aligned(boxes1, boxes2) -> np.ndarray:
    r"""Element-wise IoU of ``boxes1[i]`` and ``boxes2[i]``.

    .. math::
        \mathrm{IoU}_i = \frac{|A_i \cap B_i|}{|A_i| + |B_i| - |A_i \cap B_i|}

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, same R.

    Returns
    -------
    iou : ndarray, shape (R,)
        In [0, 1]; the diagonal of ``box_iou(boxes1, boxes2)``.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), the two R differ, a value is NaN/inf, or a
        box is inverted.

    Examples
    --------
    >>> box_iou_aligned([[0, 0, 2, 2], [0, 0, 1, 1]], [[1, 0, 3, 2], [0, 0, 1, 1]])
    array([0.33333333, 1.        ])
    """
    a, b, _ = _validate_pair(boxes1, boxes2, aligned=True)
    return _iou_terms(a, b)[0]


# --------------------------------------------------------------------------- GIoU / DIoU / CIoU
def _iou_terms(a: np.ndarray, b: np.ndarray):
    """IoU, union and the enclosing box of broadcastable box arrays ``a[..., 4]``, ``b[..., 4]``.

    Returns ``iou, union, (cx1, cy1, cx2, cy2)`` where the last is the
    smallest enclosing box C.
    """
    ax1, ay1, ax2, ay2 = (a[..., k] for k in range(4))
    bx1, by1, bx2, by2 = (b[..., k] for k in range(4))
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    tiny = np.finfo(inter.dtype).tiny
    iou = inter / np.maximum(union, tiny)  # U = 0 implies I = 0: 0 / tiny = 0
    enclosing = (
        np.minimum(ax1, bx1),
        np.minimum(ay1, by1),
        np.maximum(ax2, bx2),
        np.maximum(ay2, by2),
    )
    return iou, union, enclosing


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else 0 (the penalties vanish with their denominator)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.result_type(num, den))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _giou(a, b):
    iou, union, (cx1, cy1, cx2, cy2) = _iou_terms(a, b)
    area_c = (cx2 - cx1) * (cy2 - cy1)
    return iou - _safe_ratio(area_c - union, area_c)


def _diou_parts(a, b):
    iou, _, (cx1, cy1, cx2, cy2) = _iou_terms(a, b)
    # rho^2: squared distance between centres; c^2: squared diagonal of C
    rho2 = ((a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2])) ** 2 / 4 + (
        (a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3])
    ) ** 2 / 4
    c2 = (cx2 - cx1) ** 2 + (cy2 - cy1) ** 2
    return iou, _safe_ratio(rho2, c2)


def _diou(a, b):
    iou, penalty = _diou_parts(a, b)
    return iou - penalty


def _ciou(a, b):
    iou, penalty = _diou_parts(a, b)
    # v = 4/pi^2 (arctan(w_b/h_b) - arctan(w_a/h_a))^2; arctan2 keeps h = 0 finite (pi/2).
    atan_a = np.arctan2(a[..., 2] - a[..., 0], a[..., 3] - a[..., 1])
    atan_b = np.arctan2(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])
    v = (4 / np.pi**2) * (atan_b - atan_a) ** 2
    alpha = _safe_ratio(v, (1 - iou) + v)  # v = 0 -> alpha = 0 (and 0/0 at IoU = 1)
    return (iou - penalty - alpha * v).astype(iou.dtype, copy=False)


def _pairwise(fn, boxes1, boxes2):
    a, b, dtype = _validate_pair(boxes1, boxes2, aligned=False)
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    rows = max(1, IOU_BLOCK_BUDGET // max(1, b.shape[0]))
    for start in range(0, a.shape[0], rows):
        out[start : start + rows] = fn(a[start : start + rows, None, :], b[None, :, :])
    return out


def _aligned(fn, boxes1, boxes2):
    a, b, _ = _validate_pair(boxes1, boxes2, aligned=True)
    return fn(a, b)


def generalized_box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise generalised IoU: IoU minus the empty share of the enclosing box C [1]_ (Alg. 1).

    .. math::
        \mathrm{GIoU}(A, B) = \mathrm{IoU}(A, B) - \frac{|C| - |A \cup B|}{|C|}

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    boxes2 : array_like, shape (M, 4)
        Boxes in the same format.

    Returns
    -------
    giou : ndarray, shape (N, M)
        ``[i, j]`` compares ``boxes1[i]`` and ``boxes2[j]``; in [-1, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box.

    Notes
    -----
    C is the smallest box enclosing A and B. GIoU lies in [-1, 1], never
    exceeds the IoU, and stays informative for disjoint boxes, where the IoU
    is 0. When :math:`|C| = 0` (two identical points) the penalty is 0.

    References
    ----------
    .. [1] H. Rezatofighi, N. Tsoi, J. Gwak, A. Sadeghian, I. Reid, S. Savarese.
       "Generalized Intersection over Union: A Metric and A Loss for Bounding
       Box Regression." CVPR 2019, arXiv:1902.09630.

    Examples
    --------
    >>> a = [[0., 0., 2., 2.]]
    >>> generalized_box_iou(a, [[1., 0., 3., 2.], [3., 0., 5., 2.]])  # C = U; 1/5 of C empty
    array([[ 0.33333333, -0.2       ]])
    """
    return _pairwise(_giou, boxes1, boxes2)


def generalized_box_iou_aligned(boxes1, boxes2) -> np.ndarray:
    r"""Element-wise generalised IoU of ``boxes1[i]`` and ``boxes2[i]`` [1]_ (Alg. 1).

    .. math::
        \mathrm{GIoU}(A, B) = \mathrm{IoU}(A, B) - \frac{|C| - |A \cup B|}{|C|}

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, same N.

    Returns
    -------
    giou : ndarray, shape (N,)
        Element i compares ``boxes1[i]`` and ``boxes2[i]``; in [-1, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box, or the two lengths differ.

    Notes
    -----
    C is the smallest box enclosing A and B. GIoU lies in [-1, 1], never
    exceeds the IoU, and stays informative for disjoint boxes, where the IoU
    is 0. When :math:`|C| = 0` (two identical points) the penalty is 0.

    References
    ----------
    .. [1] H. Rezatofighi, N. Tsoi, J. Gwak, A. Sadeghian, I. Reid, S. Savarese.
       "Generalized Intersection over Union: A Metric and A Loss for Bounding
       Box Regression." CVPR 2019, arXiv:1902.09630.

    Examples
    --------
    >>> generalized_box_iou_aligned([[0, 0, 1, 1]], [[2, 0, 3, 1]])  # IoU 0, 1/3 of C empty
    array([-0.33333333])
    """
    return _aligned(_giou, boxes1, boxes2)


def distance_box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise distance IoU: the IoU minus the normalised squared centre distance [1]_ (Eq. 6).

    .. math::
        \mathrm{DIoU}(A, B) = \mathrm{IoU}(A, B) - \frac{\rho^2(A, B)}{c^2}

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    boxes2 : array_like, shape (M, 4)
        Boxes in the same format.

    Returns
    -------
    diou : ndarray, shape (N, M)
        ``[i, j]`` compares ``boxes1[i]`` and ``boxes2[j]``; in (-1, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box.

    Notes
    -----
    :math:`\rho` is the distance between the box centres and c the diagonal
    of the smallest enclosing box C ([1]_, Eq. 6). DIoU lies in (-1, 1] and
    equals the IoU for concentric boxes. When c = 0 the penalty is 0.

    References
    ----------
    .. [1] Z. Zheng, P. Wang, W. Liu, J. Li, R. Ye, D. Ren. "Distance-IoU Loss:
       Faster and Better Learning for Bounding Box Regression." AAAI 2020,
       arXiv:1911.08287.

    Examples
    --------
    >>> distance_box_iou([[0, 0, 2, 2]], [[2, 0, 4, 2]])  # IoU 0, rho^2 = 4, c^2 = 16 + 4
    array([[-0.2]])
    """
    return _pairwise(_diou, boxes1, boxes2)


def distance_box_iou_aligned(boxes1, boxes2) -> np.ndarray:
    r"""Element-wise distance IoU of ``boxes1[i]`` and ``boxes2[i]`` [1]_ (Eq. 6).

    .. math::
        \mathrm{DIoU}(A, B) = \mathrm{IoU}(A, B) - \frac{\rho^2(A, B)}{c^2}

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, same N.

    Returns
    -------
    diou : ndarray, shape (N,)
        Element i compares ``boxes1[i]`` and ``boxes2[i]``; in (-1, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box, or the two lengths differ.

    Notes
    -----
    :math:`\rho` is the distance between the box centres and c the diagonal
    of the smallest enclosing box C ([1]_, Eq. 6). DIoU lies in (-1, 1] and
    equals the IoU for concentric boxes. When c = 0 the penalty is 0.

    References
    ----------
    .. [1] Z. Zheng, P. Wang, W. Liu, J. Li, R. Ye, D. Ren. "Distance-IoU Loss:
       Faster and Better Learning for Bounding Box Regression." AAAI 2020,
       arXiv:1911.08287.

    Examples
    --------
    >>> distance_box_iou_aligned([[0, 0, 4, 4]], [[1, 1, 3, 3]])  # concentric: the IoU, 4 / 16
    array([0.25])
    """
    return _aligned(_diou, boxes1, boxes2)


def complete_box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise complete IoU: DIoU minus an aspect-ratio consistency term [1]_ (Eqs. 8-11).

    .. math::
        \mathrm{CIoU} = \mathrm{IoU} - \frac{\rho^2}{c^2} - \alpha v,\quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w_B}{h_B} - \arctan\frac{w_A}{h_A}\Big)^2,\quad
        \alpha = \frac{v}{(1 - \mathrm{IoU}) + v}

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    boxes2 : array_like, shape (M, 4)
        Boxes in the same format.

    Returns
    -------
    ciou : ndarray, shape (N, M)
        ``[i, j]`` compares ``boxes1[i]`` and ``boxes2[j]``; in [-1.5, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box.

    Notes
    -----
    DIoU with an aspect-ratio consistency term ([1]_, Eqs. 8-11). The arctan is
    taken as ``arctan2(w, h)`` so that zero-height boxes give pi/2 instead of
    a division by zero; alpha is 0 where v = 0. CIoU lies in [-1.5, 1] and
    equals the IoU for concentric boxes of the same aspect ratio.

    References
    ----------
    .. [1] Z. Zheng, P. Wang, W. Liu, J. Li, R. Ye, D. Ren. "Distance-IoU Loss:
       Faster and Better Learning for Bounding Box Regression." AAAI 2020,
       arXiv:1911.08287.

    Examples
    --------
    >>> complete_box_iou([[0, 0, 4, 4]], [[1, 1, 3, 3]])  # same centre and aspect: the IoU
    array([[0.25]])
    """
    return _pairwise(_ciou, boxes1, boxes2)


def complete_box_iou_aligned(boxes1, boxes2) -> np.ndarray:
    r"""Element-wise complete IoU of ``boxes1[i]`` and ``boxes2[i]`` [1]_ (Eqs. 8-11).

    .. math::
        \mathrm{CIoU} = \mathrm{IoU} - \frac{\rho^2}{c^2} - \alpha v,\quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w_B}{h_B} - \arctan\frac{w_A}{h_A}\Big)^2,\quad
        \alpha = \frac{v}{(1 - \mathrm{IoU}) + v}

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, same N.

    Returns
    -------
    ciou : ndarray, shape (N,)
        Element i compares ``boxes1[i]`` and ``boxes2[i]``; in [-1.5, 1]. Float32
        only if both inputs are float32.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        If an input is not (R, 4), holds NaN/inf, has an inverted box, or the two lengths differ.

    Notes
    -----
    DIoU with an aspect-ratio consistency term ([1]_, Eqs. 8-11). The arctan is
    taken as ``arctan2(w, h)`` so that zero-height boxes give pi/2 instead of
    a division by zero; alpha is 0 where v = 0. CIoU lies in [-1.5, 1] and
    equals the IoU for concentric boxes of the same aspect ratio.

    References
    ----------
    .. [1] Z. Zheng, P. Wang, W. Liu, J. Li, R. Ye, D. Ren. "Distance-IoU Loss:
       Faster and Better Learning for Bounding Box Regression." AAAI 2020,
       arXiv:1911.08287.

    Examples
    --------
    IoU 1/2, rho^2 / c^2 = 0.25 / 8, v = 4/pi^2 (atan 2 - atan 1)^2, alpha = v / (1/2 + v):

    >>> complete_box_iou_aligned([[0, 0, 2, 2], [0, 0, 2, 2]], [[0, 0, 2, 2], [0, 0, 2, 1]])
    array([1.        , 0.46550187])
    """
    return _aligned(_ciou, boxes1, boxes2)
