r"""Geometric transforms of an image together with its boxes.

Each function takes an image ``ndarray, shape (H, W)`` or ``(H, W, C)`` and
boxes ``(x_min, y_min, x_max, y_max)`` in continuous pixels of that image
(see :mod:`bboxcore.boxes`), and returns the new image with the boxes moved
by exactly the same map:

============== ============================================================
resize         :math:`x' = x \cdot W'/W,\ y' = y \cdot H'/H`
hflip          :math:`x_{min}' = W - x_{max},\ x_{max}' = W - x_{min}`
vflip          :math:`y_{min}' = H - y_{max},\ y_{max}' = H - y_{min}`
transpose      :math:`(x', y') = (y, x)`: boxes become ``(y_min, x_min, y_max, x_max)``
crop           :math:`x' = \mathrm{clip}(x - x_0, 0, w)`, boxes kept if at
               least ``min_visible`` of their area is inside the window
mosaic         four images around a random centre, boxes shifted and clipped
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
    "Mosaic",
    "Tile",
    "crop",
    "crop_boxes",
    "hflip",
    "mosaic",
    "random_crop",
    "resize",
    "tile_grid",
    "tile_image",
    "transpose",
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


def transpose(image, bbox) -> tuple[np.ndarray, np.ndarray]:
    """Swap the x and y axes: pixel ``(i, j)`` goes to ``(j, i)``, point ``(x, y)`` to ``(y, x)``.

    With :func:`hflip` and :func:`vflip` it generates the 8 symmetries of a
    square (aerial images have no "up" and no handedness).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    bbox : ndarray, shape (R, 4)

    Returns
    -------
    image : ndarray, shape (W, H) or (W, H, C)
        A new array, same dtype.
    bbox : ndarray, shape (R, 4)
        ``(y_min, x_min, y_max, x_max)``: a box stays a box (min before max).

    Examples
    --------
    >>> image, bbox = transpose(np.zeros((10, 20)), [[1, 2, 5, 4]])
    >>> image.shape, bbox
    ((20, 10), array([[2., 1., 4., 5.]]))
    """
    img = _as_image(image)
    b = as_boxes(bbox, "bbox")
    return np.swapaxes(img, 0, 1).copy(), b[:, [1, 0, 3, 2]]


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


class Mosaic(NamedTuple):
    """The output of :func:`mosaic`: one image from four, with the boxes that stay visible."""

    image: np.ndarray
    bbox: np.ndarray
    label: np.ndarray
    source: np.ndarray
    keep: np.ndarray


def mosaic(
    images: Sequence,
    bboxes: Sequence,
    labels: Sequence,
    size: Sequence[int],
    rng: np.random.Generator,
    *,
    min_visible: float = 0.0,
    fill: float = 0.0,
) -> Mosaic:
    r"""YOLOv4's mosaic: four images around a random centre, their boxes moved and clipped.

    A centre :math:`(x_c, y_c)` is drawn uniformly (integers) in the middle half of
    the ``size = (H, W)`` canvas, splitting it into four quadrants. Image 0 is
    placed with its bottom-right corner at the centre, image 1 with its
    bottom-left, image 2 with its top-right and image 3 with its top-left, and
    each shows only the part inside its quadrant [1]_ (Sec. 3.3, Fig. 3;
    *Detection – 3 stages*, §H). Image k placed at offset :math:`(o_x, o_y)`
    moves its boxes by the same offset, then clips them to its quadrant Q:

    .. math::
        b' = \mathrm{clip}_Q(b + (o_x, o_y, o_x, o_y))

    A box is kept when its clipped part has a positive area and at least
    ``min_visible`` of its original area; nothing else is dropped, and no box
    comes from anywhere else.

    Parameters
    ----------
    images : sequence of 4 ndarray, shape (H_k, W_k) or (H_k, W_k, C)
        Same number of dimensions (and channels); the output has the first's dtype.
    bboxes : sequence of 4 ndarray, shape (R_k, 4)
        Boxes in pixels of each image.
    labels : sequence of 4 ndarray, shape (R_k,)
        Their labels (any dtype; concatenated as given).
    size : (H, W)
        Canvas size in pixels, each >= 2.
    rng : numpy.random.Generator
        Source of the centre.
    min_visible : float in [0, 1], default 0.0
        Keep threshold on the visible share of a box's area.
    fill : float, default 0.0
        Value of canvas pixels that no image covers.

    Returns
    -------
    Mosaic
        ``image (H, W[, C])``; ``bbox (K, 4)`` in canvas pixels (float32 if all
        boxes are float32, else float64); ``label (K,)``; ``source (K,)`` the
        image each box came from and ``keep (K,)`` its row there.

    Raises
    ------
    ValueError
        If there are not four images, boxes and labels, shapes disagree,
        ``size`` is not two integers >= 2, or ``min_visible`` is outside [0, 1].
    TypeError
        If ``rng`` is not a numpy Generator.

    References
    ----------
    .. [1] A. Bochkovskiy, C.-Y. Wang, H.-Y. M. Liao. "YOLOv4: Optimal Speed and
       Accuracy of Object Detection." arXiv:2004.10934, 2020.

    Examples
    --------
    >>> imgs = [np.full((8, 8), k, np.float32) for k in range(4)]
    >>> boxes = [np.array([[2., 2., 8., 8.]])] * 4
    >>> m = mosaic(imgs, boxes, [np.array([k]) for k in range(4)], (8, 8),
    ...            np.random.default_rng(0))
    >>> m.image.shape, len(m.bbox), m.source.tolist()
    ((8, 8), 2, [0, 2])
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if not (len(images) == len(bboxes) == len(labels) == 4):
        raise ValueError(
            "mosaic needs 4 images, 4 box arrays and 4 label arrays; "
            f"got {len(images)}, {len(bboxes)}, {len(labels)}"
        )
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be two integers (H, W) >= 2; got {size!r}") from None
    if tuple(size) != (h, w) or h < 2 or w < 2:
        raise ValueError(f"size must be two integers (H, W) >= 2; got {size!r}")
    if not 0.0 <= float(min_visible) <= 1.0:
        raise ValueError(f"min_visible must be in [0, 1]; got {min_visible}")
    imgs = [_as_image(im) for im in images]
    if any(im.shape[2:] != imgs[0].shape[2:] for im in imgs):
        raise ValueError(
            f"images must share their channels; got shapes {[im.shape for im in imgs]}"
        )
    boxes = [as_boxes(b, f"bboxes[{k}]") for k, b in enumerate(bboxes)]
    labs = [np.asarray(lab).reshape(-1) for lab in labels]
    for k, (b, lab) in enumerate(zip(boxes, labs)):
        if len(lab) != len(b):
            raise ValueError(
                f"labels[{k}] must have {len(b)} entries (one per box); got {len(lab)}"
            )
    dtype = np.result_type(*[b.dtype for b in boxes], np.float32)
    xc = int(rng.integers(w // 4, w - w // 4 + 1))  # the middle half of the canvas
    yc = int(rng.integers(h // 4, h - h // 4 + 1))
    quadrants = [(0, 0, xc, yc), (xc, 0, w, yc), (0, yc, xc, h), (xc, yc, w, h)]
    canvas = np.full((h, w, *imgs[0].shape[2:]), fill, dtype=imgs[0].dtype)
    out_box, out_label, out_src, out_keep = [], [], [], []
    for k, (img, b, lab, quad) in enumerate(zip(imgs, boxes, labs, quadrants)):
        ih, iw = img.shape[:2]
        ox = xc - iw if k in (0, 2) else xc  # the image's (0, 0) on the canvas
        oy = yc - ih if k in (0, 1) else yc
        qx0, qy0, qx1, qy1 = quad
        # Pixels: the part of the placed image inside its quadrant.
        x0, y0, x1, y1 = max(ox, qx0), max(oy, qy0), min(ox + iw, qx1), min(oy + ih, qy1)
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = img[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        # Boxes: the same shift, clipped to the quadrant.
        moved = b.astype(dtype) + np.array([ox, oy, ox, oy], dtype)
        clipped = moved.copy()
        np.clip(clipped[:, 0::2], qx0, qx1, out=clipped[:, 0::2])
        np.clip(clipped[:, 1::2], qy0, qy1, out=clipped[:, 1::2])
        area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
        visible = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        # NOTE: a zero-area input box has no visible area: it cannot be kept.
        kept = np.flatnonzero((visible > 0) & (visible >= min_visible * area))
        out_box.append(clipped[kept])
        out_label.append(lab[kept])
        out_src.append(np.full(len(kept), k, np.int64))
        out_keep.append(kept.astype(np.int64))
    return Mosaic(
        canvas,
        np.concatenate(out_box).reshape(-1, 4),
        np.concatenate(out_label),
        np.concatenate(out_src),
        np.concatenate(out_keep),
    )
