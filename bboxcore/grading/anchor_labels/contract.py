"""The contract of the anchor_labels assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["ANCHOR_LABELS_CONTRACT", "ANCHOR_LABELS_SIGNATURE"]

#: The signature as the student writes it.
ANCHOR_LABELS_SIGNATURE = "anchor_labels(anchor, bbox, img_size, pos_thresh, neg_thresh)"
#: The contract, one paragraph.
ANCHOR_LABELS_CONTRACT = (
    "anchor is an (S, 4) float array of anchors and bbox an (R, 4) array of ground-truth "
    "boxes, both (x_min, y_min, x_max, y_max) in pixels; img_size is (H, W); pos_thresh "
    "(0.7) and neg_thresh (0.3) are floats. Return the (S,) integer labels of Faster "
    "R-CNN's AnchorTargetCreator without subsampling: an anchor not entirely inside the "
    "image (x_min >= 0, y_min >= 0, x_max <= W, y_max <= H; touching the border is inside) "
    "is -1; among the inside anchors, 0 (negative) if its IoU with every GT box is < "
    "neg_thresh, then 1 (positive), overriding 0, if its IoU with some GT box is >= "
    "pos_thresh or it has the highest IoU of all inside anchors with some GT box (every "
    "anchor tied at that highest IoU; a GT box that overlaps no inside anchor has none); "
    "-1 (ignored) otherwise. With R = 0 every inside anchor is 0. An IoU within its float32 "
    "error bound of a threshold, or of a GT's highest IoU, may be decided either way, "
    "unless it is exactly there in every float arithmetic (e.g. 2/4 at 0.5)."
)
