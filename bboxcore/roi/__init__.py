r"""RoI ops: fixed-size features for boxes of any size (RoI Pool, RoI Align, PrRoI Pool).

Conventions shared by every RoI op of this package:

* ``features`` is ``ndarray, shape (N, C, H, W)``: N images, C channels, an
  H x W feature map whose cell (y, x) covers the image pixels
  ``[x / s, (x + 1) / s) x [y / s, (y + 1) / s)`` for ``spatial_scale`` s =
  1 / stride (1/16 for VGG16's conv5).
* ``rois`` is ``ndarray, shape (R, 5)``: ``(batch_index, x_min, y_min, x_max,
  y_max)``, the box in **image pixels** (the bboxcore box convention) and the
  index of its image in ``features``.
* ``output_size`` is ``(ph, pw)`` (or one int for a square); outputs are
  ``(R, C, ph, pw)``, bin (i, j) being row i, column j of the RoI's grid.
* Each backward takes the upstream gradient ``dout`` (R, C, ph, pw) and returns
  ``dfeatures`` (N, C, H, W), the sum over every RoI and bin that read a cell.

RoI Align (and PrRoI Pooling) are **separable**: the value of bin (i, j) is
:math:`\sum_{y,x} A^y_{r,i,y}\,F_{n_r,c,y,x}\,A^x_{r,j,x}`, where the row
weights :math:`A^y` (R, ph, H) depend only on the RoI's vertical extent and the
column weights :math:`A^x` (R, pw, W) only on its horizontal one (a bilinear
weight is a product of a weight in y and one in x). So the forward is two
matrix products per image and the backward their transpose,
:math:`dF = \sum_r A^{y\top}_r\, dY_r\, A^x_r` — exactly the sum "to the four
neighbours with the bilinear weights" of *Detection – 3 stages*, §B*, done by BLAS.

The family, one module per op (all re-exported here and by :mod:`bboxcore`):

* :mod:`bboxcore.roi.pool` — Fast R-CNN's RoI max pooling and its backward;
* :mod:`bboxcore.roi.align` — Mask R-CNN's RoI Align and its backward;
* :mod:`bboxcore.roi.prroi` — IoU-Net's Precise RoI Pooling and its backward;
* :mod:`bboxcore.roi.reference` — slow loop versions of the three, the tests' yardstick;
* ``bboxcore.roi._sampling`` (private) — the weight matrices, separable products and
  window maxima they share; ``bboxcore.roi._inputs`` (private) — their argument checks.

References
----------
.. [1] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.
.. [2] K. He, G. Gkioxari, P. Dollár, R. Girshick. "Mask R-CNN." ICCV 2017,
   arXiv:1703.06870.
"""

from bboxcore.roi.align import roi_align, roi_align_backward
from bboxcore.roi.pool import NO_ARGMAX, ROI_BLOCK_BUDGET, roi_pool, roi_pool_backward
from bboxcore.roi.prroi import PRROI_MIN_GRAD_SIDE, prroi_pool, prroi_pool_backward
from bboxcore.roi.reference import prroi_pool_reference, roi_align_reference, roi_pool_reference

__all__ = [
    "NO_ARGMAX",
    "PRROI_MIN_GRAD_SIDE",
    "ROI_BLOCK_BUDGET",
    "prroi_pool",
    "prroi_pool_backward",
    "prroi_pool_reference",
    "roi_align",
    "roi_align_backward",
    "roi_align_reference",
    "roi_pool",
    "roi_pool_backward",
    "roi_pool_reference",
]
