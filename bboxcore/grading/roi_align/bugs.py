r"""The usual mistakes of a student's RoI Align, as runnable variants with their hints.

:func:`buggy_roi_align` is RoI Align [1]_ (*Detection – 3 stages*, §B*) with the
aligned half-pixel convention [2]_ and one mistake switched on. The mistakes
are those of students' and forum code: the half-pixel offset forgotten (or the
whole legacy ``aligned=False`` op, which also stretches small RoIs to one
cell), ``spatial_scale`` ignored or divided by, the RoI read as TensorFlow's
``(y1, x1, y2, x2)``, coordinates rounded as RoI Pooling does, the nearest
(floor) cell instead of bilinear interpolation, the bilinear weights swapped,
zero padding instead of clamping at the border, the max of the samples instead
of their mean, their sum, one sample per bin, samples at the bin's corners
(no ``+ 0.5``), the old "+1" RoI width, ``output_size`` read as (pw, ph), and
a channels-last answer. Nothing here decides whether an answer is right.

References
----------
.. [1] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
.. [2] Y. Wu, A. Kirillov, F. Massa, W.-Y. Lo, R. Girshick. "Detectron2." 2019
   (``ROIAlign(aligned=True)``), https://github.com/facebookresearch/detectron2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROI_ALIGN_BUGS", "ROI_ALIGN_HINTS", "buggy_roi_align"]

#: name -> hint, in the order they are tried.
ROI_ALIGN_HINTS: dict[str, str] = {
    "not_aligned": "the box is half a cell off: with the aligned convention a corner u maps "
    "to u * spatial_scale - 0.5 (cell x holds its value at its centre x + 0.5); you forgot "
    "the - 0.5.",
    "legacy_not_aligned": "this is the legacy aligned=False op (no - 0.5, and RoIs "
    "stretched to at least 1 x 1 cell): subtract 0.5 from the scaled corners and do not "
    "enlarge small RoIs.",
    "no_scale": "multiply the RoI's image-pixel coordinates by spatial_scale to get feature "
    "cells: yours reads them as cells directly.",
    "divide_scale": "spatial_scale is feature cells per image pixel (1 / stride): multiply "
    "the coordinates by it, do not divide.",
    "yx_rois": "rois are (x_min, y_min, x_max, y_max): you read them as (y_min, x_min, "
    "y_max, x_max) (TensorFlow's crop_and_resize order).",
    "quantized": "RoI Align rounds nothing: you rounded the scaled RoI corners (RoI "
    "Pooling's quantisation, the misalignment RoI Align removes).",
    "nearest": "each sample is a bilinear interpolation of its four neighbouring cells: "
    "you read the single cell it falls in (int(y), int(x)).",
    "weights_swapped": "the bilinear weights are swapped: the lower cell gets 1 - (y - "
    "y_low), the higher cell y - y_low (the nearer cell weighs more).",
    "zero_padding": "at the border the sample's coordinate is clamped to [0, H - 1] (the "
    "border cell is repeated), not interpolated with zeros beyond the map.",
    "max_samples": "the bin's value is the mean of its samples (RoI Align's average), not "
    "their maximum.",
    "sum_samples": "the bin's value is the mean of its sampling_ratio x sampling_ratio "
    "samples: divide their sum by their number.",
    "one_sample": "each bin averages sampling_ratio x sampling_ratio samples: yours reads "
    "one point per bin.",
    "corner_samples": "the samples of a bin sit at (k + 0.5) / sampling_ratio of the bin, "
    "not at k / sampling_ratio (yours start at the bin's corner).",
    "plus_one_size": "the RoI's width is (x_max - x_min) * spatial_scale, without the old "
    "'+1' of RoI Pooling.",
    "output_size_wh": "output_size is (ph, pw): ph bins along y (rows), pw along x; you "
    "read it as (pw, ph).",
    "channels_last": "return shape (R, C, ph, pw), channels before the bins; yours is "
    "(R, ph, pw, C).",
}


def _axis_weights(start, size, n_bins, grid, n_cells, bug) -> np.ndarray:
    """(n_bins * grid, n_cells): the weight of each cell in each sample along one axis."""
    bin_size = size / n_bins
    k = np.arange(grid) + (0.0 if bug == "corner_samples" else 0.5)
    at = start + (np.arange(n_bins)[:, None] * bin_size + k[None, :] * bin_size / grid).ravel()
    w = np.zeros((len(at), n_cells))
    if n_cells == 0:
        return w
    for s, y in enumerate(at):
        if y < -1.0 or y > n_cells:
            continue
        if bug == "zero_padding":
            low = int(np.floor(y))
            frac = y - low
            for cell, weight in ((low, 1 - frac), (low + 1, frac)):
                if 0 <= cell < n_cells:
                    w[s, cell] += weight
            continue
        y = min(max(y, 0.0), n_cells - 1.0)
        low = int(y)
        high = min(low + 1, n_cells - 1)
        frac = y - low
        if bug == "nearest":
            w[s, low] += 1.0
        elif bug == "weights_swapped":
            w[s, low] += frac
            w[s, high] += 1 - frac
        else:
            w[s, low] += 1 - frac
            w[s, high] += frac
    return w


def buggy_roi_align(
    features, rois, output_size, spatial_scale: float, sampling_ratio: int, bug: str = ""
) -> np.ndarray:
    r"""RoI Align of one image as the buggy variant ``bug`` computes it.

    Parameters
    ----------
    features : array_like, shape (C, H, W)
    rois : array_like, shape (R, 4)
        ``(x_min, y_min, x_max, y_max)`` in image pixels.
    output_size : (int, int)
        ``(ph, pw)``.
    spatial_scale : float
    sampling_ratio : int
        Samples per bin along each axis, >= 1.
    bug : str
        ``''`` is the correct op; the other values are the keys of
        :data:`ROI_ALIGN_HINTS`. Any other string acts as ``''``.

    Returns
    -------
    ndarray, shape (R, C, ph, pw), float64
        ``(R, C, pw, ph)`` for ``'output_size_wh'``, ``(R, ph, pw, C)`` for
        ``'channels_last'``.

    Notes
    -----
    With ``bug=''``, bin (i, j) of RoI r is :math:`\frac{1}{g^2}\sum_{k,l}
    \mathrm{bilinear}(F, p^y_{ik}, p^x_{jl})` with :math:`p_{ik} = s_r - 0.5 +
    (i + (k + 0.5)/g)\,\mathrm{bin}` (the grader's reference is
    :func:`bboxcore.roi.roi_align` with ``aligned=True``). Each axis is a
    weight matrix (samples x cells), so a bin is two small matrix products.

    Examples
    --------
    >>> f = np.arange(16.0).reshape(1, 4, 4)  # value 4y + x at cell (y, x)
    >>> buggy_roi_align(f, [[1, 1, 2, 2]], (1, 1), 1.0, 1).ravel().tolist()
    [5.0]
    >>> buggy_roi_align(f, [[1, 1, 2, 2]], (1, 1), 1.0, 1, "not_aligned").ravel().tolist()
    [7.5]
    """
    f = np.asarray(features, dtype=np.float64)
    boxes = np.asarray(rois, dtype=np.float64).reshape(-1, 4)
    c, h, w = f.shape
    ph, pw = (output_size[1], output_size[0]) if bug == "output_size_wh" else output_size
    if bug == "yx_rois":
        boxes = boxes[:, [1, 0, 3, 2]]
    scale = {"no_scale": 1.0, "divide_scale": 1.0 / spatial_scale}.get(bug, spatial_scale)
    offset = 0.0 if bug in ("not_aligned", "legacy_not_aligned") else 0.5
    s = boxes * scale
    if bug == "quantized":
        s = np.round(s)
    s = s - offset
    size = s[:, 2:] - s[:, :2]
    if bug == "plus_one_size":
        size = size + scale
    if bug == "legacy_not_aligned":
        size = np.maximum(size, 1.0)
    g = 1 if bug == "one_sample" else int(sampling_ratio)
    out = np.zeros((len(boxes), c, ph, pw))
    for r in range(len(boxes)):
        wy = _axis_weights(s[r, 1], size[r, 1], ph, g, h, bug)  # (ph*g, H)
        wx = _axis_weights(s[r, 0], size[r, 0], pw, g, w, bug)  # (pw*g, W)
        v = np.einsum("ay,cyx,bx->cab", wy, f, wx).reshape(c, ph, g, pw, g)
        if bug == "max_samples":
            out[r] = v.max(axis=(2, 4))
        elif bug == "sum_samples":
            out[r] = v.sum(axis=(2, 4))
        else:
            out[r] = v.mean(axis=(2, 4))
    if bug == "channels_last":
        out = out.transpose(0, 2, 3, 1)
    return out


#: name -> (variant(features, rois, output_size, spatial_scale, sampling_ratio), hint).
ROI_ALIGN_BUGS = {
    name: (lambda *args, bug=name: buggy_roi_align(*args, bug=bug), hint)
    for name, hint in ROI_ALIGN_HINTS.items()
}
