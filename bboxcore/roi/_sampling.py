r"""How the RoI ops read a feature map: bilinear weight matrices, separable products, window maxima.

The machinery behind the ops of :mod:`bboxcore.roi` (pool, align, prroi), on inputs
those modules have already validated (no checks here):

* **separable sampling** (RoI Align, PrRoI Pooling): bin (i, j) of RoI r is
  :math:`\sum_{y,x} A^y_{r,i,y} F_{n_r,c,y,x} A^x_{r,j,x}`; :func:`_apply_separable`
  computes it as two matrix products per image and
  :func:`_apply_separable_backward` its transpose;
* **RoI Align weights** (:func:`_align_matrices`): :math:`A^y`, :math:`A^x` from the
  bilinear sampling grid;
* **RoI Pool bins and maxima** (:func:`_pool_bins`, :func:`_window_max_levels`,
  :func:`_pool_block`): the quantised bins and a sparse table of window maxima,
  so that a bin's max costs two look-ups per row instead of a scan.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []  # internal: the public ops are in bboxcore.roi

NO_ARGMAX = -1  # argmax of an empty bin: it read no cell and passes no gradient

#: RoIs per matrix product in the separable engine (keeps the (32*ph, C*W) product in cache).
SEPARABLE_CHUNK = 32


# --------------------------------------------------------------------------- the separable engine
def _image_runs(batch: np.ndarray):
    """Sort the RoIs by image: ``order`` and chunks (n, start, stop), order[start:stop] in image n.

    Runs longer than SEPARABLE_CHUNK RoIs are cut, so temporaries stay cache-sized.
    """
    order = np.argsort(batch, kind="stable")
    b = batch[order]
    cuts = np.flatnonzero(np.diff(b)) + 1
    starts, stops = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(b)]])
    return order, [
        (int(b[a]), int(k), int(min(k + SEPARABLE_CHUNK, z)))
        for a, z in zip(starts, stops)
        for k in range(int(a), int(z), SEPARABLE_CHUNK)
    ]


def _apply_separable(f: np.ndarray, batch: np.ndarray, ay: np.ndarray, ax: np.ndarray):
    """out[r, c, i, j] = sum_{y,x} ay[r, i, y] f[batch[r], c, y, x] ax[r, j, x], image by image."""
    _, c, h, w = f.shape
    r, ph, pw = len(batch), ay.shape[1], ax.shape[1]
    order, runs = _image_runs(batch)
    ay, axt = ay[order], np.ascontiguousarray(ax[order].transpose(0, 2, 1))  # (R, W, pw)
    res = np.empty((r, ph, c, pw), dtype=f.dtype)
    f_t = f.transpose(0, 2, 1, 3).reshape(f.shape[0], h, c * w)  # (N, H, C*W)
    for n, a, z in runs:
        t = ay[a:z].reshape(-1, h) @ f_t[n]  # (Rn*ph, H) @ (H, C*W) -> (Rn*ph, C*W)
        np.matmul(t.reshape(z - a, ph * c, w), axt[a:z], out=res[a:z].reshape(z - a, ph * c, pw))
    out = res.transpose(0, 2, 1, 3)  # (R, ph, C, pw) -> (R, C, ph, pw)
    if r and (order != np.arange(r)).any():
        out = out[np.argsort(order)]
    return np.ascontiguousarray(out)


def _apply_separable_backward(dout: np.ndarray, batch, ay, ax, features_shape) -> np.ndarray:
    """dF[n] = sum_{r in n} ay[r]^T dout[r] ax[r] per channel: the transpose of the forward."""
    n_img, c, h, w = features_shape
    d_t = np.zeros((n_img, h, c * w), dtype=dout.dtype)  # dF as (N, H, C*W)
    ph, pw = dout.shape[2:]
    order, runs = _image_runs(batch)
    g_all = np.ascontiguousarray(dout[order].transpose(0, 2, 1, 3))  # (R, ph, C, pw)
    ay, ax = ay[order], ax[order]
    for n, a, z in runs:
        g = g_all[a:z].reshape(z - a, ph * c, pw) @ ax[a:z]  # (Rn, ph*C, W)
        d_t[n] += ay[a:z].reshape(-1, h).T @ g.reshape(-1, c * w)  # (H, Rn*ph) @ (Rn*ph, C*W)
    return np.ascontiguousarray(d_t.reshape(n_img, h, c, w).transpose(0, 2, 1, 3))


def _bilinear_weights(start, bin_size, grid, n_bins: int, size: int) -> np.ndarray:
    """RoI Align weights along one axis: a[r, i, y], shape (R, n_bins, size), float64.

    Bin i of RoI r averages ``grid[r]`` samples at ``start + i*bin + (k + 0.5)*bin/grid``
    (k = 0..grid-1), each split between its two neighbouring cells with the linear
    weights (1 - l, l). Border rules of Detectron2/torchvision: a sample beyond
    [-1, size] reads 0; one in [-1, 0) reads cell 0; one at or past size - 1 reads
    cell size - 1.
    """
    r = len(start)
    if r == 0 or size == 0:
        return np.zeros((r, n_bins, size))
    has = grid > 0
    step = np.where(has, bin_size / np.where(has, grid, 1), 1.0)[:, None]  # (R, 1)
    base = start[:, None] + np.arange(n_bins) * bin_size[:, None]  # (R, n_bins)
    # Only samples that can land in [-1, size] matter: index range [lo, hi] (with a margin of
    # one sample on each side, re-checked exactly below), so a huge RoI costs no more than the map.
    # A zero-size bin with a fixed sampling_ratio stacks all its samples on one point (step 0).
    top = (grid - 1)[:, None]
    moving = step > 0
    safe = np.where(moving, step, 1.0)
    with np.errstate(over="ignore"):  # absurdly far RoIs give +-inf here, clipped right away
        lo = np.where(moving, np.clip(np.floor((-1 - base) / safe - 0.5) - 1, 0, top), 0)
        hi = np.where(moving, np.clip(np.ceil((size - base) / safe - 0.5) + 1, -1, top), top)
    count = np.where(has[:, None], hi - lo + 1, 0).astype(np.int64)  # (R, n_bins)
    k = lo[..., None] + np.arange(max(int(count.max()), 0))  # (R, n_bins, G) sample numbers
    coord = base[..., None] + (k + 0.5) * step[..., None]
    valid = (k <= hi[..., None]) & has[:, None, None] & (coord >= -1) & (coord <= size)
    coord = np.clip(coord, 0, size - 1)  # [-1, 0) reads cell 0, [size - 1, size] cell size - 1
    low = np.floor(coord).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = coord - low  # l: the weight of the higher cell
    scale = valid / np.where(has, grid, 1)[:, None, None]  # average over the grid samples
    row = (np.arange(r)[:, None] * n_bins + np.arange(n_bins))[..., None] * size  # (R, n_bins, 1)
    flat = np.concatenate([(row + low).ravel(), (row + high).ravel()])
    weight = np.concatenate([((1 - frac) * scale).ravel(), (frac * scale).ravel()])
    return np.bincount(flat, weight, minlength=r * n_bins * size).reshape(r, n_bins, size)


def _align_matrices(boxes, out_hw, feat_hw, spatial_scale, sampling_ratio, aligned):
    """The (R, ph, H) and (R, pw, W) weight matrices of RoI Align."""
    offset = 0.5 if aligned else 0.0
    s = boxes * spatial_scale - offset  # (x1, y1, x2, y2) in feature-cell coordinates
    size = s[:, 2:] - s[:, :2]  # (R, 2): roi_w, roi_h
    if not aligned:
        size = np.maximum(size, 1.0)  # NOTE: the legacy op forces RoIs to at least 1 x 1 cell
    mats = []
    for axis, (n_bins, n_cells) in zip((1, 0), zip(out_hw, feat_hw)):  # y then x
        bin_size = size[:, axis] / n_bins
        if sampling_ratio > 0:
            grid = np.full(len(s), float(sampling_ratio))
        else:
            grid = np.ceil(size[:, axis] / n_bins)  # adaptive: about one sample per cell
        mats.append(_bilinear_weights(s[:, axis], bin_size, grid, n_bins, n_cells))
    return mats[0], mats[1]


#: RoI corners are clipped to +-2^31 cells before the integer bin arithmetic (no overflow).
POOL_COORD_LIMIT = float(2**31)


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """C's ``round``: halves go away from zero (NumPy's ``np.round`` goes to even)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _pool_bins(boxes, out_hw, feat_hw, spatial_scale):
    """Integer bin edges of RoI Pool: [(start, end) (R, ph) in y, (start, end) (R, pw) in x]."""
    q = _round_half_away(np.clip(boxes * spatial_scale, -POOL_COORD_LIMIT, POOL_COORD_LIMIT))
    q = q.astype(np.int64)  # quantisation 1: the RoI snaps to whole cells
    edges = []
    for axis, n_bins, n_cells in ((1, out_hw[0], feat_hw[0]), (0, out_hw[1], feat_hw[1])):
        first = q[:, axis][:, None]
        length = np.maximum(q[:, axis + 2][:, None] - first + 1, 1)  # cells, both ends included
        i = np.arange(n_bins)
        # quantisation 2: bin i covers [floor(i L / n), ceil((i + 1) L / n)), exact in integers
        lo = (i * length) // n_bins + first
        hi = -((-(i + 1) * length) // n_bins) + first
        edges.append((np.clip(lo, 0, n_cells), np.clip(hi, 0, n_cells)))
    return edges


def _window_max_levels(f: np.ndarray, max_width: int):
    """Sparse table of row-window maxima of ``f`` (N, C, H, W), channels last.

    Returns ``vals, args``, both (K, N, H, W, C) flattened to (K*N*H*W, C): level k holds
    max(f[n, c, y, x : x + 2^k]) and the column of its first maximum, for 2^k <= max_width.
    (Near the right border a window is cut at W; queries never reach there.)
    """
    n, c, h, w = f.shape
    levels = max(int(max_width), 1).bit_length()  # K: 2^(K-1) <= max_width < 2^K
    vals = np.empty((levels, n, h, w, c), dtype=f.dtype)
    args = np.empty((levels, n, h, w, c), dtype=np.int32)
    vals[0] = f.transpose(0, 2, 3, 1)  # (N, H, W, C): one gather then reads C values at once
    args[0] = np.arange(w, dtype=np.int32)[:, None]
    for k in range(1, levels):
        half = 1 << (k - 1)
        v, g = vals[k - 1], args[k - 1]
        lv, rv = v[:, :, : w - half], v[:, :, half:]
        take = rv > lv  # NOTE: ties keep the left (earlier) maximum
        vals[k, :, :, : w - half] = np.where(take, rv, lv)
        args[k, :, :, : w - half] = np.where(take, g[:, :, half:], g[:, :, : w - half])
        vals[k, :, :, w - half :], args[k, :, :, w - half :] = (
            v[:, :, w - half :],
            g[:, :, w - half :],
        )
    return vals.reshape(-1, c), args.reshape(-1, c)


def _pool_block(vals, args, batch, ys, xs, f_shape):
    """RoI Pool of a block of RoIs: values and flat argmax, both (Rb, ph, pw, C).

    Row by row of the bins (b = 0 .. tallest bin - 1): row y0 + b of every bin (i, j) is
    reduced over the bin's columns [x0, x1) by two overlapping look-ups of width 2^k in
    the sparse table, and a running max over b finishes the bin.
    """
    (y0, y1), (x0, x1) = ys, xs
    n_img, c, h, w = f_shape
    level = np.floor(np.log2(np.maximum(x1 - x0, 1))).astype(np.int64)  # (Rb, pw)
    xl = np.minimum(x0, w - 1)  # an empty bin may start at W; it is masked below
    xr = np.maximum(x1 - (1 << level), xl)  # second window, overlapping: [x1 - 2^k, x1)
    plane = (level * n_img + batch[:, None])[:, None, :] * h  # (Rb, 1, pw)
    shape = (len(batch), y0.shape[1], x0.shape[1], c)
    value = np.full(shape, -np.inf, dtype=vals.dtype)
    y, x = np.zeros(shape, dtype=np.int32), np.zeros(shape, dtype=np.int32)
    # work buffers, reused row after row; branch-free updates (x += take * (rx - x) etc.)
    lv, rv = np.empty(shape, dtype=vals.dtype), np.empty(shape, dtype=vals.dtype)
    lx, rx = np.empty(shape, dtype=np.int32), np.empty(shape, dtype=np.int32)
    take, better = np.empty(shape, dtype=bool), np.empty(shape, dtype=bool)
    for b in range(max(int((y1 - y0).max(initial=1)), 1)):
        # rows past the bin's bottom repeat its last row, which cannot beat itself (strict >)
        row = np.clip(np.minimum(y0 + b, y1 - 1), 0, h - 1)[:, :, None]  # (Rb, ph, 1)
        left = (plane + row) * w + xl[:, None, :]  # (Rb, ph, pw) rows of the table
        right = (plane + row) * w + xr[:, None, :]
        np.take(vals, left, axis=0, out=lv)
        np.take(vals, right, axis=0, out=rv)
        np.take(args, left, axis=0, out=lx)
        np.take(args, right, axis=0, out=rx)
        np.greater(rv, lv, out=take)  # NOTE: ties keep the leftmost column
        np.maximum(lv, rv, out=lv)  # lv: max of this row over the bin's columns
        rx -= lx
        rx *= take
        lx += rx  # lx: its column
        # NOTE: strict > keeps the top row at a tie: the first maximum in row-major order
        np.greater(lv, value, out=better)
        np.maximum(value, lv, out=value)
        y += better * (row[..., None].astype(np.int32) - y)
        lx -= x
        lx *= better
        x += lx
    empty = ((y1 <= y0)[:, :, None] | (x1 <= x0)[:, None, :])[..., None]  # (Rb, ph, pw, 1)
    value = np.where(empty, 0, value)
    flat = np.where(empty, NO_ARGMAX, y.astype(np.int64) * w + x)
    return value, flat
