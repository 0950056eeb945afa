"""Argument checks shared by the RoI ops of :mod:`bboxcore.roi` (private)."""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import as_boxes, as_float_array, check_finite


def _output_size(output_size) -> tuple[int, int]:
    size = (output_size, output_size) if np.ndim(output_size) == 0 else tuple(output_size)
    ok = len(size) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in size
    )
    if not ok:
        raise ValueError(f"output_size must be a positive int or (ph, pw); got {output_size!r}")
    return int(size[0]), int(size[1])


def _features_shape(shape) -> tuple[int, int, int, int]:
    try:
        n, c, h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"features_shape must be (N, C, H, W); got {shape!r}") from None
    if min(n, c, h, w) < 0:
        raise ValueError(f"features_shape must be (N, C, H, W) of sizes >= 0; got {shape!r}")
    return n, c, h, w


def _check_rois(rois, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate (R, 5) rois; return the batch indices (R,) int64 and boxes (R, 4) float64."""
    r = as_boxes(rois, "rois", ncols=5).astype(np.float64, copy=False)
    idx = r[:, 0]
    bad = (idx != np.round(idx)) | (idx < 0) | (idx >= n_images)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"rois[:, 0] must be an integer batch index in [0, {n_images}) (N = {n_images}); "
            f"got {idx[i]} at row {i}"
        )
    return idx.astype(np.int64), r[:, 1:]


def _check_features(features) -> np.ndarray:
    f = as_float_array(features, "features")
    if f.ndim != 4:
        raise ValueError(f"features must have shape (N, C, H, W); got {f.shape}")
    check_finite(f, "features")
    return f


def _check_dout(dout, shape: tuple) -> np.ndarray:
    d = as_float_array(dout, "dout")
    if d.shape != shape:
        raise ValueError(f"dout must have shape (R, C, ph, pw) = {shape}; got {d.shape}")
    check_finite(d, "dout")
    return d


def _sampling_ratio(sampling_ratio) -> int:
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int | np.integer):
        raise TypeError(f"sampling_ratio must be an int; got {sampling_ratio!r}")
    return int(sampling_ratio)
