r"""The fast path of :func:`bboxcore.nms`: block-wise greedy NMS with a spatial index.

:func:`nms_sorted` returns exactly what :func:`bboxcore.nms.nms_reference`
returns (the tests check it index for index), but instead of one kept box at a
time it repeats, on boxes already sorted by score:

1. take the next :data:`NMS_BLOCK` boxes not yet suppressed;
2. resolve them among themselves with one (B, B) IoU matrix
   (:func:`_greedy_block`);
3. let the block's kept boxes suppress every later box at once, computing
   the IoU only with the boxes that a spatial index (:class:`_SpatialIndex`)
   says *can* overlap them by more than the threshold.

The IoU is :func:`bboxcore.iou.pairwise_iou_unchecked`'s arithmetic (the
aligned form, :func:`bboxcore.iou.aligned_iou_unchecked`, is the same sequence of
operations), so the
result is bit-for-bit the reference's, float32 included.
"""

from __future__ import annotations

import numpy as np

from bboxcore.iou import aligned_iou_unchecked, pairwise_iou_unchecked

__all__ = ["NMS_BLOCK", "PAIR_BUDGET", "nms_sorted"]

#: Candidates resolved together by the fast path (tuned with ``bboxcore bench nms``).
NMS_BLOCK = 128
#: At most this many (kept box, candidate) pairs are held in memory at once.
PAIR_BUDGET = 1 << 20
# The spatial index of the fast path must never drop a pair whose *computed* IoU exceeds t.
# When every positive area is a normal number (>= tiny / eps), rounding moves a computed IoU
# by a relative ~20 eps (float32: ~1e-6), so the index widens its windows as if t were
# t (1 - _T_SLACK), plus _COORD_SLACK times the largest coordinate for its own float64
# arithmetic. Below these scales (t < _T_MIN, or tiny areas) it uses the t = 0 windows (any
# geometric overlap), which are exact in floating point.
_T_SLACK = 1e-4
_T_MIN = 1e-6
_COORD_SLACK = 1e-12
_COORD_MAX = 1e150  # beyond this the window arithmetic could overflow: one window for all
_ROW_MARGIN = 1e-3  # rows are this much taller than needed, to absorb rounding
_ROW_CAP = 4096  # at most this many rows (keeps row numbers small and exact)
_BAND_CAP = 64  # at most this many area bands
_NEAR = np.array([[-1], [0], [1]])  # a band or row and its two neighbours
_SPARSE_COST = 8  # one candidate pair of the index costs about as much as 8 dense IoUs


class _SpatialIndex:
    """Which boxes *can* have an IoU above ``thresh`` with a given box (a superset).

    Three necessary conditions for IoU(A, B) > t, each a window on a sort key:

    * area: IoU <= min(|A|, |B|) / max(|A|, |B|), so ``|log |A| - log |B|| <
      -log t``. Boxes go in *bands* of log-area that wide: partners lie in the
      same band or a neighbouring one.
    * y: IoU <= ih / h_A (the intersection's height over A's height), so
      ``|y_min(A) - y_min(B)| < (1 - t) max(h_A, h_B)``. Each band cuts the
      image in *rows* that tall: partners lie in the same row or a neighbour.
    * x: likewise ``x_min(B) - x_min(A)`` lies in ``(-(1 - t) w_B, (1 - t)
      w_A)``: one run ``[lo, hi)`` of ranks of ``x_min``.

    One integer key ``(group, band, row, rank of x_min)`` sorts the boxes; the
    candidates of a box are 3 bands x 3 rows = 9 runs of that order. ``group``
    (dense label ids, optional) gives each label its own bands.
    """

    def __init__(self, b: np.ndarray, thresh: float, group: np.ndarray | None = None):
        with np.errstate(over="ignore"):  # near the float64 limit a reach may be inf: harmless
            self._build(b, thresh, group)

    def _build(self, b: np.ndarray, thresh: float, group: np.ndarray | None) -> None:
        n = self.n = b.shape[0]
        c = b.astype(np.float64)  # (n, 4); exact for float32 input
        x1, y1 = self.x1, self.y1 = c[:, 0], c[:, 1]
        w, h = c[:, 2] - x1, c[:, 3] - y1
        big = float(np.abs(c).max()) if n else 0.0
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # in b's dtype, as the IoU has it
        tiny_area = np.finfo(b.dtype).tiny / np.finfo(b.dtype).eps
        exact = thresh >= _T_MIN and not ((area > 0) & (area < tiny_area)).any()
        t_low = thresh * (1.0 - _T_SLACK) if exact else 0.0  # windows as wide as for t_low
        frac, slack = 1.0 - t_low, _COORD_SLACK * big
        self.group = np.zeros(n, np.int64) if group is None else group
        n_group = int(self.group.max(initial=0)) + 1
        self.one_cell = n == 0 or big > _COORD_MAX  # then: one band, one row, one x window
        flat = ~(area > 0)  # zero-area boxes: never candidates, their band does not matter
        band = np.zeros(n, np.int64)
        max_band = 2**62 // (n_group * (_ROW_CAP + 3) * max(n, 1)) - 3  # keys fit in int64
        if not self.one_cell and t_low > 0 and not flat.all() and max_band > 1:
            # NOTE: the areas as the IoU computes them (IoU <= min / max of those, to 4 eps)
            log_area = np.log(np.where(flat, 1.0, area).astype(np.float64))  # (n,)
            width = -np.log(t_low) * (1.0 + _ROW_MARGIN)
            width = max(width, np.ptp(log_area) / min(_BAND_CAP, max_band))
            band = np.floor((log_area - log_area.min()) / width).astype(np.int64)
        # Bands live in slots 1 .. n_band of n_band + 2, so that band +- 1 is always a slot.
        self.slot = band + 1
        self.n_slot = int(band.max(initial=0)) + 3
        near_band = _NEAR if self.n_slot > 3 else _NEAR[1:2]  # one band: no neighbours
        w_slot, h_slot = np.zeros(self.n_slot), np.zeros(self.n_slot)  # widest, tallest
        np.maximum.at(w_slot, self.slot, np.where(flat, 0.0, w))
        np.maximum.at(h_slot, self.slot, np.where(flat, 0.0, h))
        h_near = np.maximum(np.maximum(h_slot[:-2], h_slot[1:-1]), h_slot[2:])  # slot +- 1
        self.row_h = np.full(self.n_slot, np.inf)  # the two empty slots: a single row
        self.row_h[1:-1] = np.maximum((frac * h_near + slack) * (1 + _ROW_MARGIN), 1e-300)
        if not self.one_cell:
            self.row_h[1:-1] = np.maximum(self.row_h[1:-1], np.ptp(y1) / _ROW_CAP)
        self.y_min = float(y1.min()) if n else 0.0
        self.lo_reach = frac * w_slot + slack  # B left of A: x1_A - x1_B < frac w_B
        self.hi_reach = frac * w + slack  # B right of A: x1_B - x1_A < frac w_A
        if self.one_cell:
            self.lo_reach[:], self.hi_reach[:] = np.inf, np.inf
        by_x = np.argsort(x1, kind="stable")
        x_sorted = x1[by_x]
        x_rank = np.empty(n, np.int64)
        x_rank[by_x] = np.arange(n)
        key = self._cell(self.group, self.slot, self._row(self.slot)) * n + x_rank  # (n,)
        self.order = np.argsort(key)  # box of each key, by key
        self.keys = key[self.order]
        # The key runs of each box's candidates: [first, last) in 3 x 3 (or 3) cells.
        slot = self.slot + near_band  # (3, n): band +- 1 (or (1, n))
        # NOTE: speed. Looked up in x order, the queries come nearly sorted: 3x faster.
        lo, hi = np.empty(slot.shape, np.int64), np.empty(n, np.int64)
        lo[:, by_x] = np.searchsorted(x_sorted, x_sorted - self.lo_reach[slot[:, by_x]])
        hi[by_x] = np.searchsorted(x_sorted, x_sorted + self.hi_reach[by_x], side="right")
        row = self._row(slot)[:, None, :] + _NEAR  # (3, 3, n): row +- 1 in each band
        base = self._cell(self.group, slot[:, None, :], row) * n  # (3, 3, n)
        self.first = (base + lo[:, None, :]).reshape(base.shape[0] * 3, n)  # (9, n)
        self.last = (base + hi).reshape(base.shape[0] * 3, n)  # (9, n)

    def _row(self, slot: np.ndarray) -> np.ndarray:
        """Row (from 1, below _ROW_CAP + 2) of every box among the rows of band ``slot``."""
        if self.one_cell:
            return np.ones(slot.shape, np.int64)
        return np.floor((self.y1 - self.y_min) / self.row_h[slot]).astype(np.int64) + 1

    def _cell(self, group, slot, row):
        """One integer per (group, band slot, row); rows 0 and _ROW_CAP + 2 stay empty."""
        return (group * self.n_slot + slot) * (_ROW_CAP + 3) + row

    def drop(self, gone: np.ndarray) -> None:
        """Forget the boxes where the mask ``gone`` (n,) is True; the keys stay sorted."""
        sel = ~gone[self.order]
        self.order, self.keys = self.order[sel], self.keys[sel]

    def windows(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs ``order[starts : starts + counts]`` of candidates: both (9 or 3, |idx|)."""
        starts = np.searchsorted(self.keys, self.first[:, idx])
        return starts, np.searchsorted(self.keys, self.last[:, idx]) - starts


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a loop."""
    first = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) + np.repeat(starts - first, counts)


def _gather(rows: np.ndarray, idx: np.ndarray, dtype) -> np.ndarray:
    """Boxes ``idx`` as a (P, 4) array with contiguous columns (fast column arithmetic)."""
    return np.ascontiguousarray(rows[idx].view(dtype).reshape(-1, 4).T).T


def _greedy_block(iou: np.ndarray, thresh: np.float64, same: np.ndarray | None) -> np.ndarray:
    """Greedy NMS inside one block of candidates in rank order: the kept mask."""
    m = np.triu(iou > thresh, k=1)  # m[i, j]: i ranks above j and suppresses it if kept
    if same is not None:
        m &= same
    keep = np.ones(m.shape[0], dtype=bool)
    # The fixed point of keep[j] = not any_i (keep[i] and m[i, j]) is unique (keep[j] depends
    # on higher ranks only); the iteration reaches it in at most |block| rounds, usually 2-4.
    while True:
        new = ~(m & keep[:, None]).any(axis=0)  # (B, B) -> (B,)
        if np.array_equal(new, keep):
            return keep
        keep = new


def nms_sorted(
    b: np.ndarray, thresh: float, labels: np.ndarray | None = None, limit: int | None = None
) -> np.ndarray:
    """Greedy NMS of validated boxes already in rank order: the positions of the kept ones.

    The engine of :func:`bboxcore.nms` and :func:`bboxcore.batched_nms`, which
    validate, rank and call it. Takes the next :data:`NMS_BLOCK` candidates
    still alive, resolves them among themselves (:func:`_greedy_block`), then
    lets the block's kept boxes suppress every later box in one vectorised
    step, computing IoUs only with the candidates of the spatial index.

    Parameters
    ----------
    b : ndarray, shape (R, 4), float
        Boxes ``(x_min, y_min, x_max, y_max)`` as :func:`bboxcore.boxes.as_boxes`
        returns them (finite, not inverted), sorted by decreasing score: box i
        has rank i.
    thresh : float
        IoU threshold in [0, 1]; suppression needs an IoU strictly above it.
        It is compared exactly: :func:`bboxcore.nms` passes it already rounded
        to the dtype of ``b``.
    labels : ndarray, shape (R,), int, optional
        Boxes with different labels never suppress each other.
    limit : int, optional
        Stop after this many kept boxes.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Positions into ``b`` of the kept boxes, increasing.

    Examples
    --------
    >>> b = np.array([[0.0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]])
    >>> nms_sorted(b, 0.5)
    array([0, 2])
    >>> nms_sorted(b, 0.5, labels=np.array([1, 2, 1]))
    array([0, 1, 2])
    """
    limit = b.shape[0] if limit is None else limit
    n = b.shape[0]
    t = np.float64(thresh)
    flat = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) == 0  # NOTE: IoU 0 with every box
    index = None  # built when a second block is needed
    rows = np.ascontiguousarray(b).view(np.dtype((np.void, 4 * b.itemsize))).ravel()  # (n,)
    alive = np.ones(n, dtype=bool)
    kept: list[np.ndarray] = []
    n_kept, start = 0, 0
    while start < n and n_kept < limit:
        blk = np.flatnonzero(alive[start:])[:NMS_BLOCK] + start  # next alive candidates
        if blk.size == 0:
            break
        same = None if labels is None else labels[blk][:, None] == labels[blk][None, :]
        keep = _greedy_block(pairwise_iou_unchecked(b[blk], b[blk]), t, same)
        alive[blk[~keep]] = False
        kept.append(blk[keep])
        n_kept += kept[-1].size
        start = blk[-1] + 1
        if start >= n:
            break
        if index is None:
            group = None if labels is None else np.unique(labels, return_inverse=True)[1].ravel()
            index = _SpatialIndex(b, thresh, group)
        done = ~alive | flat  # NOTE: a zero-area box can neither be suppressed nor suppress
        done[:start] = True
        index.drop(done)  # the index now holds the later, alive boxes only
        k = blk[keep & ~flat[blk]]
        starts, counts = index.windows(k)  # (9 or 3, |k|)
        if _SPARSE_COST * int(counts.sum()) < k.size * index.order.size:
            _suppress_sparse(rows, b.dtype, k, index.order, starts, counts, t, alive)
        else:  # the windows hold most boxes (e.g. nested boxes): one dense IoU is cheaper
            _suppress_dense(b, k, index.order, t, labels, alive)
    out = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    return out[:limit].astype(np.int64)


def _suppress_sparse(rows, dtype, k, order, starts, counts, t, alive) -> None:
    """Mark dead the candidates (runs of ``order``) that a box of ``k`` overlaps by more than t."""
    cum = np.cumsum(counts.sum(axis=0))  # (|k|,): candidates of k[: i + 1]
    lo = 0
    while lo < k.size:  # chunks of kept boxes with at most PAIR_BUDGET candidates
        before = cum[lo - 1] if lo else 0
        hi = int(np.clip(np.searchsorted(cum, before + PAIR_BUDGET, "right"), lo + 1, k.size))
        c = counts[:, lo:hi].ravel()
        partner = order[_ragged_arange(starts[:, lo:hi].ravel(), c)]  # (P,)
        owner = np.repeat(np.tile(k[lo:hi], len(counts)), c)  # (P,); labels match by the key
        iou = aligned_iou_unchecked(_gather(rows, owner, dtype), _gather(rows, partner, dtype))
        alive[partner[iou > t]] = False
        lo = hi


def _suppress_dense(b, k, later, t, labels, alive) -> None:
    """Mark dead the boxes ``later`` that a box of ``k`` overlaps by more than ``t``."""
    step = max(1, PAIR_BUDGET // max(1, later.size))
    for lo in range(0, k.size, step):
        kk = k[lo : lo + step]
        hit = pairwise_iou_unchecked(b[kk], b[later]) > t  # (|kk|, |later|)
        if labels is not None:
            hit &= labels[kk][:, None] == labels[later][None, :]
        alive[later[hit.any(axis=0)]] = False
