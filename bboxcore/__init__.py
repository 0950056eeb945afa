"""bboxcore: object detection's building blocks in readable, tested NumPy.

Boxes are ``(x_min, y_min, x_max, y_max)`` in continuous pixels; offsets
("loc") are ``(t_x, t_y, t_w, t_h)`` (Faster R-CNN Eq. 2). See
:mod:`bboxcore.boxes` for the full conventions.
"""

from bboxcore.anchors import (
    generate_anchor_base,
    grid_anchors,
    inside_image,
    kmeans_anchors,
    pyramid_anchors,
    receptive_field,
    ssd_prior_boxes,
)
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
    box_iou_reference,
    complete_box_iou,
    complete_box_iou_aligned,
    distance_box_iou,
    distance_box_iou_aligned,
    generalized_box_iou,
    generalized_box_iou_aligned,
)
from bboxcore.losses import (
    centernet_focal_loss,
    centernet_focal_loss_backward,
    centernet_l1_loss,
    centernet_l1_loss_backward,
    centernet_loss,
    centernet_loss_backward,
    giou_loss,
    giou_loss_backward,
    iou_loss,
    iou_loss_backward,
    roi_head_loss,
    roi_head_loss_backward,
    rpn_loss,
    rpn_loss_backward,
    sigmoid_binary_cross_entropy,
    sigmoid_binary_cross_entropy_backward,
    sigmoid_focal_loss,
    sigmoid_focal_loss_backward,
    smooth_l1,
    smooth_l1_backward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    yolov1_loss,
    yolov1_loss_backward,
    yolov3_loss,
    yolov3_loss_backward,
)
from bboxcore.nms import batched_nms, nms, nms_reference
from bboxcore.nms_variants import heatmap_peaks, soft_nms
from bboxcore.roi import (
    prroi_pool,
    prroi_pool_backward,
    roi_align,
    roi_align_backward,
    roi_pool,
    roi_pool_backward,
)
from bboxcore.targets import (
    AnchorTargetCreator,
    ProposalCreator,
    ProposalTargetCreator,
    centerness,
    centernet_decode,
    centernet_region_targets,
    centernet_targets,
    fcos_decode,
    fcos_locations,
    fcos_targets,
    gaussian_radius,
    retinanet_anchors,
    retinanet_targets,
    yolo_decode,
    yolo_encode,
    yolo_grid,
    yolov1_decode,
    yolov1_targets,
    yolov3_targets,
)

__version__ = "0.1.0"
