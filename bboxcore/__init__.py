"""bboxcore: object detection's building blocks in readable, tested NumPy.

Boxes are ``(x_min, y_min, x_max, y_max)`` in continuous pixels; offsets
("loc") are ``(t_x, t_y, t_w, t_h)`` (Faster R-CNN Eq. 2). See
:mod:`bboxcore.boxes` for the full conventions.
"""

from bboxcore.boxes import (
    box_area,
    box_convert,
    clip_boxes,
    cxcywh_to_xyxy,
    remove_small_boxes,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
    xyxy_to_xywh,
    xyxy_to_yxyx,
    yxyx_to_xyxy,
)
from bboxcore.encoding import LOC_CLIP, LOC_NORMALIZE_MEAN, LOC_NORMALIZE_STD, bbox2loc, loc2bbox
from bboxcore.iou import (
    box_iou,
    box_iou_aligned,
    complete_box_iou,
    complete_box_iou_aligned,
    distance_box_iou,
    distance_box_iou_aligned,
    generalized_box_iou,
    generalized_box_iou_aligned,
)

__version__ = "0.1.0"
