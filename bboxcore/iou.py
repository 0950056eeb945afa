r"""Intersection over union and its generalisations: IoU, GIoU, DIoU, CIoU.

All functions take boxes ``(x_min, y_min, x_max, y_max)`` in continuous pixel
coordinates (see :mod:`bboxcore.boxes`). The module reads top to bottom:

1. **the formulas** — each term written once, on broadcastable box arrays
   ``(..., 4)``: intersection and union, the enclosing box, then IoU, GIoU,
   DIoU and CIoU;
2. **the public functions**, each in two forms —

   * **pairwise** — ``box_iou(a, b)`` compares every box of ``a`` (N, 4) with
     every box of ``b`` (M, 4) and returns an (N, M) matrix;
   * **aligned** — ``box_iou_aligned(a, b)`` compares ``a[i]`` with ``b[i]``
     and returns an (N,) vector (the diagonal of the pairwise matrix);

   and :func:`box_iou_reference`, the formula broadcast to (N, M) in one
   expression: the plain version to read and the yardstick of the fast path;
3. **the blocked kernel** behind :func:`box_iou` (:func:`pairwise_iou_unchecked`),
   the same arithmetic block by block over the rows of ``a`` so that the
   temporaries never exceed :data:`IOU_BLOCK_BUDGET` elements beyond the
   output: 200 000 × 2 000 boxes need the 1.6 GB float32 output and a few MB more.

Notation: for boxes A and B, :math:`I = |A \cap B|`, :math:`U = |A| + |B| - I`,
C is the smallest box enclosing both, :math:`\rho` the distance between their
centres and :math:`c` the diagonal of C.

Degenerate boxes: a zero-area box has IoU 0 with everything (itself included),
never NaN. The float dtype follows the inputs (float32 only if both are).
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import as_boxes, result_float_dtype

__all__ = [
    "IOU_BLOCK_BUDGET",
    "aligned_iou_unchecked",
    "box_iou",
    "box_iou_aligned",
    "box_iou_reference",
    "complete_box_iou",
    "complete_box_iou_aligned",
    "distance_box_iou",
    "distance_box_iou_aligned",
    "generalized_box_iou",
    "generalized_box_iou_aligned",
    "pairwise_iou_unchecked",
]

#: Maximum number of elements of one block of temporaries in the pairwise
#: functions (2**16 float32 = 256 KiB each, about the size of a core's L2 cache).
IOU_BLOCK_BUDGET = 1 << 16


# --------------------------------------------------------------------------- the formulas
def _intersection_union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Intersection :math:`I = |A \cap B|` and union :math:`U = |A| + |B| - I`.

    .. math::
        I = \max(0, \min(x^A_2, x^B_2) - \max(x^A_1, x^B_1))
            \cdot \max(0, \min(y^A_2, y^B_2) - \max(y^A_1, y^B_1))

    ``a`` and ``b`` are broadcastable arrays of validated boxes ``(..., 4)`` of
    one floating dtype; the results have their broadcast shape without the last
    axis. This is the one sequence of operations every IoU of bboxcore performs
    (the blocked kernel too), so all give bit-identical values.
    """
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter, area_a + area_b - inter


def aligned_iou_unchecked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""IoU :math:`= I / U` of broadcastable, already validated box arrays ``(..., 4)``.

    The formula itself, vectorised by broadcasting: ``a`` (R, 4) with ``b``
    (R, 4) gives the aligned IoU (R,), ``a[:, None]`` with ``b[None]`` the
    pairwise (N, M) matrix. No validation: the boxes must be finite,
    non-inverted and of one floating dtype (as :func:`box_iou` checks them).
    The engine of :func:`box_iou_aligned` and :func:`box_iou_reference`, and
    of the NMS engine on scattered pairs.

    Parameters
    ----------
    a, b : ndarray, shape (..., 4), float
        Broadcastable boxes ``(x_min, y_min, x_max, y_max)``.

    Returns
    -------
    iou : ndarray
        The broadcast shape of ``a`` and ``b`` without the last axis; in [0, 1].

    Notes
    -----
    :math:`U = 0` only when both boxes have zero area, and then :math:`I = 0`:
    dividing by :math:`\max(U, \text{tiny})` turns 0/0 into 0 and changes no
    positive U.

    Examples
    --------
    >>> aligned_iou_unchecked(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]]))
    array([0.33333333])
    """
    inter, union = _intersection_union(a, b)
    return inter / np.maximum(union, np.finfo(inter.dtype).tiny)


def _enclosing_box(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """The smallest box C enclosing A and B, as its four coordinates ``(cx1, cy1, cx2, cy2)``."""
    return (
        np.minimum(a[..., 0], b[..., 0]),
        np.minimum(a[..., 1], b[..., 1]),
        np.maximum(a[..., 2], b[..., 2]),
        np.maximum(a[..., 3], b[..., 3]),
    )


def _giou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""GIoU :math:`= \mathrm{IoU} - (|C| - U) / |C|` (penalty 0 when :math:`|C| = 0`)."""
    inter, union = _intersection_union(a, b)
    iou = inter / np.maximum(union, np.finfo(inter.dtype).tiny)
    cx1, cy1, cx2, cy2 = _enclosing_box(a, b)
    area_c = (cx2 - cx1) * (cy2 - cy1)
    return iou - _safe_ratio(area_c - union, area_c)


def _diou_terms(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""IoU and the DIoU penalty :math:`\rho^2 / c^2` (0 when :math:`c = 0`).

    :math:`\rho^2` is the squared distance between the centres of A and B,
    :math:`c^2` the squared diagonal of C.
    """
    iou = aligned_iou_unchecked(a, b)
    cx1, cy1, cx2, cy2 = _enclosing_box(a, b)
    rho2 = ((a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2])) ** 2 / 4 + (
        (a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3])
    ) ** 2 / 4
    c2 = (cx2 - cx1) ** 2 + (cy2 - cy1) ** 2
    return iou, _safe_ratio(rho2, c2)


def _diou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""DIoU :math:`= \mathrm{IoU} - \rho^2 / c^2`."""
    iou, penalty = _diou_terms(a, b)
    return iou - penalty


def _ciou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""CIoU :math:`= \mathrm{IoU} - \rho^2 / c^2 - \alpha v`, with the aspect-ratio term αv.

    :math:`v = \frac{4}{\pi^2}(\arctan\frac{w_B}{h_B} - \arctan\frac{w_A}{h_A})^2`
    and :math:`\alpha = v / ((1 - \mathrm{IoU}) + v)` (0 where v = 0).
    """
    iou, penalty = _diou_terms(a, b)
    # arctan2(w, h) keeps h = 0 finite (pi/2)
    atan_a = np.arctan2(a[..., 2] - a[..., 0], a[..., 3] - a[..., 1])
    atan_b = np.arctan2(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])
    v = (4 / np.pi**2) * (atan_b - atan_a) ** 2
    alpha = _safe_ratio(v, (1 - iou) + v)  # v = 0 -> alpha = 0 (and 0/0 at IoU = 1)
    return (iou - penalty - alpha * v).astype(iou.dtype, copy=False)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else 0 (the penalties vanish with their denominator)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.result_type(num, den))
    np.divide(num, den, out=out, where=den > 0)
    return out


# --------------------------------------------------------------------------- IoU
def box_iou_reference(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise IoU written as plainly as possible: the formula broadcast to (N, M).

    .. math::
        \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}

    One broadcasting expression, ``(N, 1, 4)`` against ``(1, M, 4)``: the
    version to read, and the yardstick :func:`box_iou` is tested equal to (bit
    for bit). It builds several (N, M) temporaries at once, so prefer
    :func:`box_iou` on large inputs.

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    boxes2 : array_like, shape (M, 4)
        Boxes in the same format.

    Returns
    -------
    iou : ndarray, shape (N, M)
        As :func:`box_iou`.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        As :func:`box_iou`.

    See Also
    --------
    box_iou : the same values, block by block in bounded memory.

    Examples
    --------
    >>> box_iou_reference([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30]])
    array([[0.33333333, 0.        ]])
    """
    a, b, _ = _validate_pair(boxes1, boxes2, aligned=False)
    return aligned_iou_unchecked(a[:, None, :], b[None, :, :])  # (N, 1, 4) vs (1, M, 4) -> (N, M)


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
    (N, M) output stays bounded whatever N and M; the values are those of
    :func:`box_iou_reference`, bit for bit.

    See Also
    --------
    box_iou_reference : the formula as one broadcasting expression.
    box_iou_aligned : ``boxes1[i]`` with ``boxes2[i]`` only.

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
    r"""Element-wise :func:`box_iou` of ``boxes1[i]`` and ``boxes2[i]``, shape (R,).

    Same formula, conventions, dtype rule and errors as the pairwise form (and a
    ``ValueError`` if the two R differ); the diagonal of the pairwise matrix, in [0, 1].

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, paired row by row.

    Returns
    -------
    ndarray, shape (R,)
        One value per pair, floating dtype of the inputs.

    See Also
    --------
    box_iou : the formula, parameters, notes and references.

    Examples
    --------
    >>> box_iou_aligned([[0, 0, 2, 2], [0, 0, 1, 1]], [[1, 0, 3, 2], [0, 0, 1, 1]])
    array([0.33333333, 1.        ])
    """
    return aligned_iou_unchecked(*_validate_pair(boxes1, boxes2, aligned=True)[:2])


# --------------------------------------------------------------------------- GIoU / DIoU / CIoU
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
    r"""Element-wise :func:`generalized_box_iou` of ``boxes1[i]`` and ``boxes2[i]``, shape (R,).

    Same formula, conventions, dtype rule and errors as the pairwise form (and a
    ``ValueError`` if the two R differ); the diagonal of the pairwise matrix, in [-1, 1].

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, paired row by row.

    Returns
    -------
    ndarray, shape (R,)
        One value per pair, floating dtype of the inputs.

    See Also
    --------
    generalized_box_iou : the formula, parameters, notes and references.

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
    r"""Element-wise :func:`distance_box_iou` of ``boxes1[i]`` and ``boxes2[i]``, shape (R,).

    Same formula, conventions, dtype rule and errors as the pairwise form (and a
    ``ValueError`` if the two R differ); the diagonal of the pairwise matrix, in (-1, 1].

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, paired row by row.

    Returns
    -------
    ndarray, shape (R,)
        One value per pair, floating dtype of the inputs.

    See Also
    --------
    distance_box_iou : the formula, parameters, notes and references.

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
    r"""Element-wise :func:`complete_box_iou` of ``boxes1[i]`` and ``boxes2[i]``, shape (R,).

    Same formula, conventions, dtype rule and errors as the pairwise form (and a
    ``ValueError`` if the two R differ); the diagonal of the pairwise matrix, in [-1.5, 1].

    Parameters
    ----------
    boxes1, boxes2 : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, paired row by row.

    Returns
    -------
    ndarray, shape (R,)
        One value per pair, floating dtype of the inputs.

    See Also
    --------
    complete_box_iou : the formula, parameters, notes and references.

    Examples
    --------
    IoU 1/2, rho^2 / c^2 = 0.25 / 8, v = 4/pi^2 (atan 2 - atan 1)^2, alpha = v / (1/2 + v):

    >>> complete_box_iou_aligned([[0, 0, 2, 2], [0, 0, 2, 2]], [[0, 0, 2, 2], [0, 0, 2, 1]])
    array([1.        , 0.46550187])
    """
    return _aligned(_ciou, boxes1, boxes2)


# --------------------------------------------------------------------------- validation
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


def _pairwise(fn, boxes1, boxes2):
    """``fn`` on every pair, block by block over the rows of ``boxes1`` (bounded memory)."""
    a, b, dtype = _validate_pair(boxes1, boxes2, aligned=False)
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    rows = max(1, IOU_BLOCK_BUDGET // max(1, b.shape[0]))
    for start in range(0, a.shape[0], rows):
        out[start : start + rows] = fn(a[start : start + rows, None, :], b[None, :, :])
    return out


def _aligned(fn, boxes1, boxes2):
    a, b, _ = _validate_pair(boxes1, boxes2, aligned=True)
    return fn(a, b)


# --------------------------------------------------------------------------- the blocked kernel
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
