"""What each assignment asks the student's function to do, in words, by assignment name.

One table for ``bboxcore grade --help``, the reports and ``docs/grading.md``;
each contract itself lives with its assignment (``bboxcore.grading.<name>.contract``).
"""

from __future__ import annotations

from bboxcore.grading.anchor_labels.contract import (
    ANCHOR_LABELS_CONTRACT,
    ANCHOR_LABELS_SIGNATURE,
)
from bboxcore.grading.encoding.contract import (
    BBOX2LOC_CONTRACT,
    BBOX2LOC_SIGNATURE,
    LOC2BBOX_CONTRACT,
    LOC2BBOX_SIGNATURE,
)
from bboxcore.grading.iou.contract import IOU_CONTRACT, IOU_SIGNATURE
from bboxcore.grading.iou_loss_grad.contract import (
    IOU_LOSS_GRAD_CONTRACT,
    IOU_LOSS_GRAD_SIGNATURE,
)
from bboxcore.grading.nms.contract import NMS_CONTRACT, NMS_SIGNATURE
from bboxcore.grading.roi_align.contract import ROI_ALIGN_CONTRACT, ROI_ALIGN_SIGNATURE
from bboxcore.grading.smooth_l1.contract import SMOOTH_L1_CONTRACT, SMOOTH_L1_SIGNATURE
from bboxcore.grading.soft_nms.contract import SOFT_NMS_CONTRACT, SOFT_NMS_SIGNATURE

__all__ = ["CONTRACTS", "SIGNATURES"]

#: assignment -> the signature the student writes.
SIGNATURES: dict[str, str] = {
    "nms": NMS_SIGNATURE,
    "iou": IOU_SIGNATURE,
    "bbox2loc": BBOX2LOC_SIGNATURE,
    "loc2bbox": LOC2BBOX_SIGNATURE,
    "soft_nms": SOFT_NMS_SIGNATURE,
    "smooth_l1": SMOOTH_L1_SIGNATURE,
    "anchor_labels": ANCHOR_LABELS_SIGNATURE,
    "roi_align": ROI_ALIGN_SIGNATURE,
    "iou_loss_grad": IOU_LOSS_GRAD_SIGNATURE,
}

#: assignment -> the contract, one paragraph.
CONTRACTS: dict[str, str] = {
    "nms": NMS_CONTRACT,
    "iou": IOU_CONTRACT,
    "bbox2loc": BBOX2LOC_CONTRACT,
    "loc2bbox": LOC2BBOX_CONTRACT,
    "soft_nms": SOFT_NMS_CONTRACT,
    "smooth_l1": SMOOTH_L1_CONTRACT,
    "anchor_labels": ANCHOR_LABELS_CONTRACT,
    "roi_align": ROI_ALIGN_CONTRACT,
    "iou_loss_grad": IOU_LOSS_GRAD_CONTRACT,
}
