"""Small helpers shared by the assignments of :mod:`bboxcore.grading` (and only by them).

Public within the grading package: the assignment sub-packages import these
names; nothing outside :mod:`bboxcore.grading` should.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INDEX_MAX", "fmt", "grid_boxes", "short", "xywh_read"]

#: Float "indices" must stay below this to be read as integers (2**53: exact in float64).
INDEX_MAX = 2.0**53


def grid_boxes(rng: np.random.Generator, n: int, *, side: float = 64.0, min_size: float = 0.25):
    """n random boxes on the 1/4-pixel grid (exact in float32), sides >= ``min_size``.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of boxes.
    side : float
        Corners fall in ``[0, side)``; sides are below ``side / 2``.
    min_size : float
        Smallest width and height, in pixels.

    Returns
    -------
    ndarray, shape (n, 4), float64
        Boxes ``(x_min, y_min, x_max, y_max)``.

    Examples
    --------
    >>> b = grid_boxes(np.random.default_rng(0), 3)
    >>> b.shape, bool(((b * 4) % 1 == 0).all()), bool((b[:, 2:] > b[:, :2]).all())
    ((3, 4), True, True)
    """
    xy = rng.integers(0, int(4 * side), size=(n, 2)) / 4.0
    wh = rng.integers(int(4 * min_size), int(4 * side / 2), size=(n, 2)) / 4.0
    return np.concatenate([xy, xy + wh], axis=1)


def xywh_read(b: np.ndarray) -> np.ndarray:
    """Boxes as a student reading columns 2, 3 as width and height sees them (corners out).

    Examples
    --------
    >>> xywh_read(np.array([[1., 2., 3., 4.]]))
    array([[1., 2., 4., 6.]])
    """
    b = np.asarray(b, dtype=np.float64)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def short(arr, limit: int = 8) -> str:
    """A 1-D sequence as ``[a, b, ...]``, at most ``limit`` items.

    Examples
    --------
    >>> short([3, 1, 2], limit=2)
    '[3, 1, ...]'
    """
    items = [f"{v:g}" if isinstance(v, float) else str(v) for v in np.asarray(arr).tolist()[:limit]]
    return "[" + ", ".join(items) + (", ...]" if len(arr) > limit else "]")


def fmt(v) -> str:
    """A number with 6 significant digits.

    Examples
    --------
    >>> fmt(1 / 3)
    '0.333333'
    """
    return f"{float(v):.6g}"
