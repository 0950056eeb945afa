r"""Geometric transforms of an image together with its boxes.

Each function takes an image ``ndarray, shape (H, W)`` or ``(H, W, C)`` and
boxes ``(x_min, y_min, x_max, y_max)`` in continuous pixels of that image
(see :mod:`bboxcore.boxes`), and returns the new image with the boxes moved
by exactly the same map:

============== ============================================================
resize         :math:`x' = x \cdot W'/W,\ y' = y \cdot H'/H`
hflip          :math:`x_{min}' = W - x_{max},\ x_{max}' = W - x_{min}`
vflip          :math:`y_{min}' = H - y_{max},\ y_{max}' = H - y_{min}`
crop           :math:`x' = \mathrm{clip}(x - x_0, 0, w)`, boxes kept if at
               least ``min_visible`` of their area is inside the window
============== ============================================================

Inputs are never modified; boxes keep their floating dtype. Functions that
may drop boxes also return ``keep``, the indices of the kept input boxes, so
that labels and flags can follow (``label[keep]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bboxcore.boxes import as_boxes

__all__ = [
    "Tile",
    "crop",
    "crop_boxes",
    "hflip",
    "random_crop",
    "resize",
    "tile_grid",
    "tile_image",
    "vflip",
]


def _as_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(
            f"image must have shape (H, W) or (H, W, C) with H, W > 0; got {img.shape}"
        )
    if img.dtype.kind not in "biuf":
        raise TypeError(f"image must be numeric; got dtype {img.dtype}")
    return img


def resize(image, bbox, size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize an image to ``size = (H', W')`` (bilinear) and scale its boxes.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), float
        Pixels (float, e.g. in [0, 1]).
    bbox : ndarray, shape (R, 4)
        Boxes in pixels of ``image``.
    size : (H', W')
        Output height and width in pixels, positive integers.

    Returns
    -------
    image : ndarray, shape (H', W') or (H', W', C), float32
        Resized with Pillow's bilinear filter (antialiased when shrinking).
    bbox : ndarray, shape (R, 4)
        ``bbox * (W'/W, H'/H, W'/W, H'/H)``, same dtype as ``bbox``.

    Raises
    ------
    ValueError
        If ``size`` is not two positive integers, or the image or boxes are malformed.

    Examples
    --------
    >>> img, box = resize(np.zeros((10, 20, 3)), [[2, 1, 12, 5]], (20, 10))
    >>> img.shape, box
    ((20, 10, 3), array([[ 1.,  2.,  6., 10.]]))
    """
    from PIL import Image

    img = _as_image(image)
    b = as_boxes(bbox, "bbox")
    try:
        new_h, new_w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (H, W), two positive integers; got {size!r}") from None
    if new_h <= 0 or new_w <= 0 or (new_h, new_w) != tuple(size):
        raise ValueError(f"size must be (H, W), two positive integers; got {size!r}")
    h, w = img.shape[:2]
    planes = img[..., None] if img.ndim == 2 else img
    out = np.empty((new_h, new_w, planes.shape[2]), dtype=np.float32)
    for c in range(planes.shape[2]):
        ch = Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32), mode="F")
        out[..., c] = np.asarray(ch.resize((new_w, new_h), Image.Resampling.BILINEAR))
    scale = np.array([new_w / w, new_h / h, new_w / w, new_h / h], dtype=b.dtype)
    return (out[..., 0] if img.ndim == 2 else out), b * scale


def hflip(image, bbox) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right: column ``j`` goes to ``W - 1 - j``, ``x`` goes to ``W - x``.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)

    Returns
    -------
    image : ndarray
        A new array, same dtype.
    bbox : ndarray, shape (R, 4)
        ``(W - x_max, y_min, W - x_min, y_max)``.

    Examples
    --------
    >>> hflip(np.zeros((2, 10)), [[1, 0, 3, 2]])[1]
    array([[7., 0., 9., 2.]])
    """
    img = _as_image(image)
    b = as_boxes(bbox, "bbox")
    w = img.shape[1]
    return img[:, ::-1].copy(), np.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], axis=1)


def vflip(image, bbox) -> tuple[np.ndarray, np.ndarray]:
    """Mirror top-bottom: row ``i`` goes to ``H - 1 - i``, ``y`` goes to ``H - y``.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)

    Returns
    -------
    image : ndarray
    bbox : ndarray, shape (R, 4)
        ``(x_min, H - y_max, x_max, H - y_min)``.

    Examples
    --------
    >>> vflip(np.zeros((10, 2)), [[0, 1, 2, 3]])[1]
    array([[0., 7., 2., 9.]])
    """
    img = _as_image(image)
    b = as_boxes(bbox, "bbox")
    h = img.shape[0]
    return img[::-1].copy(), np.stack([b[:, 0], h - b[:, 3], b[:, 2], h - b[:, 1]], axis=1)


def crop(image, bbox, window: Sequence[int], *, min_visible: float = 0.5, fill: float = 0.0):
    r"""Cut the window ``(x0, y0, x1, y1)`` out of an image, moving and clipping its boxes.

    The window may extend past the image; the outside is filled with ``fill``.
    A box is kept when the share of its area inside the window is at least
    ``min_visible``, and is then clipped to the window:

    .. math::
        \frac{|B \cap \mathrm{window}|}{|B|} \ge \mathrm{min\_visible}

    A zero-area box is kept when it lies inside the window (borders included).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)
        Boxes in pixels of ``image``.
    window : (x0, y0, x1, y1), int
        The crop in image pixels, ``x1 > x0`` and ``y1 > y0``.
    min_visible : float in [0, 1]
        Keep threshold; 0 keeps every box that touches the window (closed).
    fill : float
        Value of pixels outside the image.

    Returns
    -------
    image : ndarray, shape (y1 - y0, x1 - x0[, C])
        Same dtype as the input.
    bbox : ndarray, shape (K, 4)
        Kept boxes, shifted by ``(-x0, -y0)`` and clipped to the window.
    keep : ndarray, shape (K,), int64
        Indices of the kept boxes in ``bbox``.

    Raises
    ------
    ValueError
        If the window is not 4 integers with positive size, or ``min_visible``
        is outside [0, 1].

    Examples
    --------
    >>> img, box, keep = crop(np.zeros((10, 10)), [[2, 2, 6, 6], [7, 7, 9, 9]], (4, 0, 8, 8))
    >>> img.shape, box, keep  # 1st box half inside (kept, clipped); 2nd a quarter (dropped)
    ((8, 4), array([[0., 2., 2., 6.]]), array([0]))
    """
    img = _as_image(image)
    b = as_boxes(bbox, "bbox")
    try:
        x0, y0, x1, y1 = (int(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be 4 integers (x0, y0, x1, y1); got {window!r}") from None
    if tuple(window) != (x0, y0, x1, y1) or x1 <= x0 or y1 <= y0:
        raise ValueError(
            f"window must be 4 integers (x0, y0, x1, y1) with x1 > x0, y1 > y0; got {window!r}"
        )
    h, w = img.shape[:2]
    new_bbox, keep = crop_boxes(b, (x0, y0, x1, y1), min_visible=min_visible)
    out = np.full((y1 - y0, x1 - x0, *img.shape[2:]), fill, dtype=img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out, new_bbox, keep


def crop_boxes(bbox, window: Sequence[int], *, min_visible: float = 0.5):
    """The box part of :func:`crop`: move boxes into a window, clip them, drop the hidden ones.

    Parameters
    ----------
    bbox : ndarray, shape (R, 4)
    window : (x0, y0, x1, y1)
    min_visible : float in [0, 1]
        See :func:`crop`.

    Returns
    -------
    bbox : ndarray, shape (K, 4)
    keep : ndarray, shape (K,), int64

    Raises
    ------
    ValueError
        If ``min_visible`` is outside [0, 1] or the boxes are malformed.

    Examples
    --------
    >>> crop_boxes([[2, 2, 6, 6]], (4, 0, 8, 8))
    (array([[0., 2., 2., 6.]]), array([0]))
    """
    b = as_boxes(bbox, "bbox")
    if not 0.0 <= float(min_visible) <= 1.0:
        raise ValueError(f"min_visible must be in [0, 1]; got {min_visible}")
    x0, y0, x1, y1 = (float(v) for v in window)
    # Boxes in window coordinates, clipped to [0, x1 - x0] x [0, y1 - y0].
    moved = b - np.array([x0, y0, x0, y0], dtype=b.dtype)
    clipped = moved.copy()
    np.clip(clipped[:, 0::2], 0, x1 - x0, out=clipped[:, 0::2])
    np.clip(clipped[:, 1::2], 0, y1 - y0, out=clipped[:, 1::2])
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    inside = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    # NOTE: a zero-area box has no "share": keep it iff clipping did not move it.
    degenerate = area <= 0
    visible = inside / np.where(degenerate, 1, area)
    kept_degenerate = degenerate & (clipped == moved).all(axis=1)
    keep = np.flatnonzero((~degenerate & (visible >= min_visible)) | kept_degenerate)
    return clipped[keep], keep.astype(np.int64)


def random_crop(
    image, bbox, size: Sequence[int], rng: np.random.Generator, *, min_visible: float = 0.5
):
    """Crop a window of ``size = (h, w)`` at a uniformly random integer position.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)
    size : (h, w)
        Crop size in pixels, ``1 <= h <= H`` and ``1 <= w <= W``.
    rng : numpy.random.Generator
        The source of the position.
    min_visible : float
        See :func:`crop`.

    Returns
    -------
    image, bbox, keep
        As for :func:`crop`; the window is ``(x0, y0, x0 + w, y0 + h)`` with
        ``x0`` uniform in ``0 .. W - w`` and ``y0`` in ``0 .. H - h``.

    Raises
    ------
    ValueError
        If ``size`` does not fit in the image.

    Examples
    --------
    >>> img, box, keep = random_crop(np.zeros((8, 8)), [[0, 0, 8, 8]], (4, 4),
    ...                              np.random.default_rng(0), min_visible=0)
    >>> img.shape, box
    ((4, 4), array([[0., 0., 4., 4.]]))
    """
    img = _as_image(image)
    h, w = img.shape[:2]
    ch, cw = (int(v) for v in size)
    if not (1 <= ch <= h and 1 <= cw <= w):
        raise ValueError(
            f"size must fit in the {h}x{w} image (1 <= h <= H, 1 <= w <= W); got {tuple(size)}"
        )
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    return crop(img, bbox, (x0, y0, x0 + cw, y0 + ch), min_visible=min_visible)


def tile_grid(img_size: Sequence[int], tile_size: int) -> np.ndarray:
    """Windows of a grid of non-overlapping ``tile_size`` squares covering an image.

    Parameters
    ----------
    img_size : (H, W)
        Image size in pixels.
    tile_size : int
        Tile side in pixels; the last row and column stick out of the image
        when ``tile_size`` does not divide it (their outside is padding).

    Returns
    -------
    ndarray, shape (ceil(H / t) * ceil(W / t), 4), int64
        Windows ``(x0, y0, x0 + t, y0 + t)`` in row-major order.

    Examples
    --------
    >>> tile_grid((5, 7), 4)
    array([[0, 0, 4, 4],
           [4, 0, 8, 4],
           [0, 4, 4, 8],
           [4, 4, 8, 8]])
    """
    h, w = (int(v) for v in img_size)
    t = int(tile_size)
    if t <= 0 or h <= 0 or w <= 0:
        raise ValueError(f"img_size and tile_size must be positive; got {img_size}, {tile_size}")
    ys, xs = np.meshgrid(np.arange(0, h, t), np.arange(0, w, t), indexing="ij")
    x0, y0 = xs.ravel(), ys.ravel()
    return np.stack([x0, y0, x0 + t, y0 + t], axis=1).astype(np.int64)


class Tile(NamedTuple):
    """One tile of :func:`tile_image`: its window in the source and its content."""

    window: tuple[int, int, int, int]
    image: np.ndarray
    bbox: np.ndarray
    keep: np.ndarray


def tile_image(image, bbox, tile_size: int, *, min_visible: float = 0.5) -> list[Tile]:
    """Cut an image into a grid of ``tile_size`` squares, each with its boxes.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)
    tile_size : int
        Tile side in pixels (see :func:`tile_grid`; edge tiles are zero-padded).
    min_visible : float
        A box cut by a tile edge is kept in a tile holding at least this
        share of its area, clipped (see :func:`crop`). With the default 0.5,
        a box cut by one edge lands in the tile holding its larger part; a box
        cut into four by a tile corner may have less than half in every tile
        and is then in none (compare the union of ``keep`` with ``range(R)``).

    Returns
    -------
    list of Tile
        ``(window, image, bbox, keep)`` in row-major order.

    Examples
    --------
    >>> tiles = tile_image(np.ones((6, 6)), [[1, 1, 5, 3]], 4)
    >>> [(t.window, t.keep.tolist()) for t in tiles]
    [((0, 0, 4, 4), [0]), ((4, 0, 8, 4), []), ((0, 4, 4, 8), []), ((4, 4, 8, 8), [])]
    """
    img = _as_image(image)
    tiles = []
    for win in tile_grid(img.shape[:2], tile_size).tolist():
        t_img, t_box, keep = crop(img, bbox, win, min_visible=min_visible)
        tiles.append(Tile(tuple(win), t_img, t_box, keep))
    return tiles
