"""Evaluation: VOC AP, COCO AP/AR, proposal recall, and their plots.

* :func:`voc_ap` — Pascal VOC per-class AP (11-point or all-point) and mAP.
* :func:`coco_ap` — the twelve numbers of the official COCO evaluation.
* :func:`recall_at_iou` — recall of region proposals against IoU thresholds.
* :mod:`bboxcore.eval.plots` — PR curves, recall-IoU curves, boxes on images.

Inputs are per-image sequences of predictions (``bbox``, ``label``,
``score``) and ground truth (``bbox``, ``label``, ``difficult``/``iscrowd``),
e.g. :class:`bboxcore.data.Detection` and :class:`bboxcore.data.Annotation`.
"""

from bboxcore.eval.coco import COCOResult, coco_ap
from bboxcore.eval.recall import recall_at_iou
from bboxcore.eval.voc import VOCResult, average_precision, voc_ap

__all__ = ["COCOResult", "VOCResult", "average_precision", "coco_ap", "recall_at_iou", "voc_ap"]
