r"""Boxes: the one convention, area, format conversions, clipping.

The convention
--------------
A box is ``(x_min, y_min, x_max, y_max)`` in **continuous pixel coordinates**:
the top-left corner of the image is ``(0, 0)``, ``x`` grows to the right,
``y`` grows downwards, and a box's width is ``x_max - x_min`` (no "+1").
An array of R boxes is an ``ndarray, shape (R, 4)``. A box with
``x_max == x_min`` (or ``y_max == y_min``) is valid and has zero area; a box
with ``x_max < x_min`` (or ``y_max < y_min``) is *inverted* and rejected by
every function unless it documents otherwise.

Other formats, converted by :func:`box_convert` and the named converters:

======== =========================================== ==========================
name     columns                                     used by
======== =========================================== ==========================
xyxy     (x_min, y_min, x_max, y_max)                bboxcore, VOC, torchvision
xywh     (x_min, y_min, width, height)               COCO annotations
cxcywh   (x_center, y_center, width, height)         YOLO, DETR
yxyx     (y_min, x_min, y_max, x_max)                chainercv
======== =========================================== ==========================

Dtypes: floating inputs keep their dtype (float32 stays float32); integer,
boolean and list inputs become float64. Outputs never alias inputs and inputs
are never modified. Empty inputs (R = 0) are valid.

Validation: every public function taking boxes checks them at its boundary
with :func:`as_boxes` (and :func:`as_float_array`, :func:`check_finite`,
:func:`as_image_size`, :func:`result_float_dtype`), re-exported here from
bboxcore's one private checks module, ``bboxcore._checks``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore._checks import (
    as_boxes,
    as_float_array,
    as_image_size,
    check_finite,
    checked_area,
    result_float_dtype,
)

__all__ = [
    "BOX_FORMATS",
    "as_boxes",
    "as_float_array",
    "as_image_size",
    "box_area",
    "box_convert",
    "check_finite",
    "clip_boxes",
    "cxcywh_to_xyxy",
    "remove_small_boxes",
    "result_float_dtype",
    "xywh_to_xyxy",
    "xyxy_to_cxcywh",
    "xyxy_to_xywh",
    "xyxy_to_yxyx",
    "yxyx_to_xyxy",
]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh", "yxyx")


# --------------------------------------------------------------------------- area
def box_area(boxes) -> np.ndarray:
    r"""Area of each box, :math:`(x_{max} - x_{min})(y_{max} - y_{min})`, in pixels².

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, not inverted.

    Returns
    -------
    area : ndarray, shape (R,)
        Same floating dtype as ``boxes``. Zero-area boxes give 0.

    Raises
    ------
    TypeError
        If ``boxes`` is not numeric.
    ValueError
        If ``boxes`` is not (R, 4), not finite, inverted, or so large that the
        area overflows its dtype.

    Examples
    --------
    >>> box_area([[0, 0, 10, 5], [2, 2, 2, 9]])
    array([50.,  0.])
    """
    b = as_boxes(boxes)
    return checked_area(b, "boxes")


# --------------------------------------------------------------------------- formats
def xyxy_to_xywh(boxes) -> np.ndarray:
    """Convert ``(x_min, y_min, x_max, y_max)`` to COCO's ``(x_min, y_min, w, h)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in xyxy, pixels, not inverted.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in xywh, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite or inverted.

    Examples
    --------
    >>> xyxy_to_xywh([[1, 2, 11, 7]])
    array([[ 1.,  2., 10.,  5.]])
    """
    b = as_boxes(boxes)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def xywh_to_xyxy(boxes) -> np.ndarray:
    """Convert COCO's ``(x_min, y_min, w, h)`` to ``(x_min, y_min, x_max, y_max)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in xywh, pixels; ``w, h >= 0``.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in xyxy, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite, or has a negative width or height.

    Examples
    --------
    >>> xywh_to_xyxy([[1, 2, 10, 5]])
    array([[ 1.,  2., 11.,  7.]])
    """
    b = _as_sized(boxes, "boxes")
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def xyxy_to_cxcywh(boxes) -> np.ndarray:
    """Convert ``(x_min, y_min, x_max, y_max)`` to ``(x_center, y_center, w, h)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in xyxy, pixels, not inverted.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in cxcywh, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite or inverted.

    Examples
    --------
    >>> xyxy_to_cxcywh([[0, 0, 10, 4]])
    array([[ 5.,  2., 10.,  4.]])
    """
    b = as_boxes(boxes)
    wh = b[:, 2:] - b[:, :2]
    return np.concatenate([b[:, :2] + 0.5 * wh, wh], axis=1)


def cxcywh_to_xyxy(boxes) -> np.ndarray:
    """Convert ``(x_center, y_center, w, h)`` to ``(x_min, y_min, x_max, y_max)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in cxcywh, pixels; ``w, h >= 0``.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in xyxy, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite, or has a negative width or height.

    Examples
    --------
    >>> cxcywh_to_xyxy([[5, 2, 10, 4]])
    array([[ 0.,  0., 10.,  4.]])
    """
    b = _as_sized(boxes, "boxes")
    half = 0.5 * b[:, 2:]
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


def xyxy_to_yxyx(boxes) -> np.ndarray:
    """Convert ``(x_min, y_min, x_max, y_max)`` to chainercv's ``(y_min, x_min, y_max, x_max)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in xyxy, pixels, not inverted.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in yxyx, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite or inverted.

    Examples
    --------
    >>> xyxy_to_yxyx([[1, 2, 3, 4]])
    array([[2., 1., 4., 3.]])
    """
    return as_boxes(boxes)[:, [1, 0, 3, 2]]


def yxyx_to_xyxy(boxes) -> np.ndarray:
    """Convert chainercv's ``(y_min, x_min, y_max, x_max)`` to ``(x_min, y_min, x_max, y_max)``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in yxyx, pixels, not inverted.

    Returns
    -------
    ndarray, shape (R, 4)
        Boxes in xyxy, same floating dtype.

    Raises
    ------
    ValueError
        If the input is not (R, 4), not finite or inverted.

    Examples
    --------
    >>> yxyx_to_xyxy([[2, 1, 4, 3]])
    array([[1., 2., 3., 4.]])
    """
    return as_boxes(boxes)[:, [1, 0, 3, 2]]


def _as_sized(boxes, name: str) -> np.ndarray:
    """Validate (R, 4) boxes whose last two columns are a width and a height."""
    b = as_boxes(boxes, name, allow_inverted=True)
    if b.shape[0] and (b[:, 2:] < 0).any():
        i = int(np.flatnonzero((b[:, 2:] < 0).any(axis=1))[0])
        raise ValueError(
            f"{name} has a negative width or height at row {i}: {[float(v) for v in b[i]]}"
        )
    return b


_TO_XYXY = {
    "xyxy": lambda b: as_boxes(b).copy(),
    "xywh": xywh_to_xyxy,
    "cxcywh": cxcywh_to_xyxy,
    "yxyx": yxyx_to_xyxy,
}
_FROM_XYXY = {
    "xyxy": lambda b: b,
    "xywh": xyxy_to_xywh,
    "cxcywh": xyxy_to_cxcywh,
    "yxyx": xyxy_to_yxyx,
}


def box_convert(boxes, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert boxes between the formats ``'xyxy'``, ``'xywh'``, ``'cxcywh'``, ``'yxyx'``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes in ``in_fmt``, pixels.
    in_fmt, out_fmt : {'xyxy', 'xywh', 'cxcywh', 'yxyx'}
        Source and target formats (see the module docstring).

    Returns
    -------
    ndarray, shape (R, 4)
        A new array in ``out_fmt``, same floating dtype.

    Raises
    ------
    ValueError
        If a format name is unknown, or the boxes are not valid in ``in_fmt``.

    Examples
    --------
    >>> box_convert([[5, 2, 10, 4]], "cxcywh", "xywh")
    array([[ 0.,  0., 10.,  4.]])
    """
    for arg, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"{arg} must be one of {BOX_FORMATS}; got {fmt!r}")
    return _FROM_XYXY[out_fmt](_TO_XYXY[in_fmt](boxes))


# --------------------------------------------------------------------------- clip / filter
def clip_boxes(boxes, img_size: Sequence[float]) -> np.ndarray:
    """Clip boxes to the image ``[0, W] x [0, H]``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, not inverted.
    img_size : (H, W)
        Image height and width in pixels.

    Returns
    -------
    ndarray, shape (R, 4)
        A new array, same floating dtype; a box entirely outside the image
        becomes a zero-area box on the border.

    Raises
    ------
    ValueError
        If ``boxes`` is invalid or ``img_size`` is not two positive numbers.

    Examples
    --------
    >>> clip_boxes([[-5, 2, 120, 40]], (30, 100))
    array([[  0.,   2., 100.,  30.]])
    """
    b = as_boxes(boxes)
    big = float(np.finfo(b.dtype).max)  # an img_size beyond the dtype clips nothing
    h, w = (min(v, big) for v in as_image_size(img_size))
    out = b.copy()
    np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
    np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
    return out


def remove_small_boxes(boxes, min_size: float) -> np.ndarray:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels, not inverted.
    min_size : float
        Minimum side in pixels, ``>= 0``.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Indices into ``boxes``, increasing.

    Raises
    ------
    ValueError
        If ``boxes`` is invalid or ``min_size`` is negative or not finite.

    Examples
    --------
    >>> remove_small_boxes([[0, 0, 10, 10], [0, 0, 3, 20]], min_size=5)
    array([0])
    """
    b = as_boxes(boxes)
    min_size = float(min_size)
    if not np.isfinite(min_size) or min_size < 0:
        raise ValueError(f"min_size must be a finite number >= 0; got {min_size}")
    wh = b[:, 2:] - b[:, :2]
    return np.flatnonzero((wh >= min_size).all(axis=1)).astype(np.int64)
