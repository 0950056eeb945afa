"""Small helpers shared by the assignments of :mod:`bboxcore.grading` (and only by them).

Public within the grading package: the assignment sub-packages import these
names; nothing outside :mod:`bboxcore.grading` should.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BOUND_FACTOR",
    "INDEX_MAX",
    "REGIMES",
    "SHOW_ROWS",
    "U32",
    "fmt",
    "grid_boxes",
    "jittered",
    "mixed_boxes",
    "near",
    "regime_boxes",
    "short",
    "xywh_read",
]

#: Unit roundoff of float32: a float32 operation's result is off by at most U32 * |result|.
U32 = 2.0**-24
#: The accepted error is this many times the first-order float32 error bound of the formula
#: (room for a student's different but equivalent order of operations).
BOUND_FACTOR = 4.0
#: Rows of a counterexample shown in the text report (all of them are in the JSON report).
SHOW_ROWS = 8
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


#: Kinds of random boxes: on the 1/4-pixel grid (readable, exact in float32), anywhere in a
#: small image, far from the origin (1000 to 4000 px), and tiny (0.05 to 1 px wide) anywhere
#: in a 4000 px image: the last two are where float32 rounding is largest.
REGIMES = ("grid", "offgrid", "far", "tiny")


def mixed_boxes(rng: np.random.Generator, n: int, regime: str, *, min_size: float = 0.25):
    """n random boxes of one of the :data:`REGIMES` (positive sizes).

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of boxes.
    regime : {'grid', 'offgrid', 'far', 'tiny'}
        ``'grid'``: :func:`grid_boxes` in a square of side ``8 * sqrt(n)``;
        ``'offgrid'``: corners uniform in ``[0, 64)``, sides 1 to 32 px;
        ``'far'``: corners in ``[1000, 4000)``, sides 1 to 300 px;
        ``'tiny'``: corners in ``[0, 4000)``, sides 0.05 to 1 px. Off the
        grid, sides are log-uniform.
    min_size : float
        Smallest side of ``'grid'`` boxes, in pixels (unused by the others).

    Returns
    -------
    ndarray, shape (n, 4), float64
        Boxes ``(x_min, y_min, x_max, y_max)`` with ``x_max > x_min`` and
        ``y_max > y_min``.

    Raises
    ------
    KeyError
        If ``regime`` is not one of :data:`REGIMES`.

    Examples
    --------
    >>> b = mixed_boxes(np.random.default_rng(0), 5, "tiny")
    >>> bool(((b[:, 2:] - b[:, :2]) < 1).all() and (b[:, 2:] > b[:, :2]).all())
    True
    """
    if regime == "grid":
        return grid_boxes(rng, n, side=8.0 * np.sqrt(max(n, 1)), min_size=min_size)
    lo, hi, small, large = {
        "offgrid": (0.0, 64.0, 1.0, 32.0),
        "far": (1000.0, 4000.0, 1.0, 300.0),
        "tiny": (0.0, 4000.0, 0.05, 1.0),
    }[regime]
    xy = rng.uniform(lo, hi, size=(n, 2))
    wh = np.exp(rng.uniform(np.log(small), np.log(large), size=(n, 2)))
    return np.concatenate([xy, xy + wh], axis=1)


def regime_boxes(rng: np.random.Generator, n: int, regime: str, *, min_size: float = 0.25):
    """:func:`mixed_boxes`, or for ``regime='mixed'`` a quarter of the rows from each regime.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of boxes.
    regime : {'grid', 'offgrid', 'far', 'tiny', 'mixed'}
        One of :data:`REGIMES`, or ``'mixed'``: the rows split as evenly as
        :func:`numpy.array_split` does, in the order of :data:`REGIMES`.
    min_size : float
        Smallest side of ``'grid'`` boxes, in pixels.

    Returns
    -------
    ndarray, shape (n, 4), float64
        Boxes ``(x_min, y_min, x_max, y_max)`` with positive sizes.

    Examples
    --------
    >>> b = regime_boxes(np.random.default_rng(0), 8, "mixed")
    >>> b.shape, bool((b[6:, 2:] - b[6:, :2] < 1).all())  # the last quarter is 'tiny'
    ((8, 4), True)
    """
    if regime != "mixed":
        return mixed_boxes(rng, n, regime, min_size=min_size)
    parts = np.array_split(np.arange(n), len(REGIMES))
    return np.concatenate(
        [mixed_boxes(rng, len(p), r, min_size=min_size) for p, r in zip(parts, REGIMES)]
    )


def near(rng: np.random.Generator, boxes: np.ndarray, m: int, regime: str, **kw) -> np.ndarray:
    """m boxes, about half of them jittered copies of ``boxes`` (so that they overlap).

    Grid boxes stay on the grid: the copies are then fresh grid boxes.

    Parameters
    ----------
    rng : numpy.random.Generator
    boxes : ndarray, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` to overlap.
    m : int
        Number of boxes returned.
    regime : str
        As :func:`regime_boxes`; for ``'grid'``, or when R = 0, all m boxes
        are fresh :func:`regime_boxes`.
    **kw
        Passed on to :func:`regime_boxes` (``min_size``).

    Returns
    -------
    ndarray, shape (m, 4), float64
        ``m // 2`` :func:`jittered` copies of rows of ``boxes`` drawn with
        replacement, then ``m - m // 2`` fresh boxes of ``regime``.

    Examples
    --------
    >>> b = np.array([[10., 10., 20., 30.]])
    >>> out = near(np.random.default_rng(0), b, 4, "offgrid")
    >>> out.shape, bool((out[:2, 2:] > b[:, :2]).all() and (out[:2, :2] < b[:, 2:]).all())
    ((4, 4), True)
    """
    if regime == "grid" or len(boxes) == 0:
        return regime_boxes(rng, m, regime, **kw)
    k = m // 2
    copies = jittered(rng, boxes[rng.integers(0, len(boxes), size=k)])
    return np.concatenate([copies, regime_boxes(rng, m - k, regime, **kw)])


def jittered(rng: np.random.Generator, boxes: np.ndarray, amount: float = 0.5) -> np.ndarray:
    """Boxes moved by up to ``amount`` of their size and rescaled by up to e^amount.

    Parameters
    ----------
    rng : numpy.random.Generator
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)``.
    amount : float
        The centre moves by ``u * (w, h)`` and the sides scale by ``exp(v)``,
        with u and v uniform in ``[-amount, amount]``, drawn per coordinate.

    Returns
    -------
    ndarray, shape (R, 4), float64
        The moved boxes; positive sizes stay positive.

    Examples
    --------
    >>> b = np.array([[10., 10., 20., 30.]])
    >>> j = jittered(np.random.default_rng(0), b)
    >>> bool((j[:, 2:] > j[:, :2]).all())
    True
    """
    b = np.asarray(boxes, dtype=np.float64)
    wh = b[:, 2:] - b[:, :2]
    centre = b[:, :2] + wh / 2 + rng.uniform(-amount, amount, size=wh.shape) * wh
    wh = wh * np.exp(rng.uniform(-amount, amount, size=wh.shape))
    return np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)


def xywh_read(b: np.ndarray) -> np.ndarray:
    """Boxes as a student reading columns 2, 3 as width and height sees them (corners out).

    Parameters
    ----------
    b : array_like, shape (R, 4)
        Boxes the student reads as ``(x, y, w, h)``.

    Returns
    -------
    ndarray, shape (R, 4), float64
        ``(x, y, x + w, y + h)``.

    Examples
    --------
    >>> xywh_read(np.array([[1., 2., 3., 4.]]))
    array([[1., 2., 4., 6.]])
    """
    b = np.asarray(b, dtype=np.float64)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def short(arr, limit: int = 8) -> str:
    """A 1-D sequence as ``[a, b, ...]``, at most ``limit`` items.

    Parameters
    ----------
    arr : sequence or ndarray, shape (K,)
    limit : int
        Items shown; ``...`` marks the rest.

    Returns
    -------
    str
        Floats as ``{:g}``, other items as ``str``.

    Examples
    --------
    >>> short([3, 1, 2], limit=2)
    '[3, 1, ...]'
    """
    items = [f"{v:g}" if isinstance(v, float) else str(v) for v in np.asarray(arr).tolist()[:limit]]
    return "[" + ", ".join(items) + (", ...]" if len(arr) > limit else "]")


def fmt(v) -> str:
    """A number with 6 significant digits.

    Parameters
    ----------
    v : float or numpy scalar

    Returns
    -------
    str
        ``{:.6g}`` of ``float(v)``, with ``-0.0`` written ``'0'``.

    Examples
    --------
    >>> fmt(1 / 3), fmt(-0.0)
    ('0.333333', '0')
    """
    return f"{float(v) + 0.0:.6g}"  # + 0.0: no "-0"
