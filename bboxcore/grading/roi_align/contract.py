"""The contract of the roi_align assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["ROI_ALIGN_CONTRACT", "ROI_ALIGN_SIGNATURE"]

#: The signature as the student writes it.
ROI_ALIGN_SIGNATURE = "roi_align(features, rois, output_size, spatial_scale, sampling_ratio)"
#: The contract, one paragraph.
ROI_ALIGN_CONTRACT = (
    "features is a (C, H, W) float array (one image's feature map), rois an (R, 4) array "
    "of (x_min, y_min, x_max, y_max) in image pixels, output_size a pair (ph, pw) of ints, "
    "spatial_scale a float (feature cells per image pixel, 1 / stride), sampling_ratio an "
    "int >= 1. Return the (R, C, ph, pw) RoI Align output, the aligned (half-pixel) "
    "convention of Detectron2 and torchvision's aligned=True: a box corner u maps to u * "
    "spatial_scale - 0.5 in cell coordinates (cell x holds its value at its centre x + "
    "0.5), no rounding anywhere; the box is cut into ph x pw equal bins; bin (i, j) is the "
    "mean of sampling_ratio x sampling_ratio points at (k + 0.5) / sampling_ratio of the "
    "bin along each axis, each read by bilinear interpolation of its four neighbouring "
    "cells. Border: a point below -1 or beyond H (W) reads 0; otherwise its coordinate is "
    "clamped to [0, H - 1] ([0, W - 1]) first. Each entry is accepted within 4 times its "
    "float32 error bound."
)
