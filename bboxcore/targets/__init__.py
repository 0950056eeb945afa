"""Target assignment: which anchor or RoI learns what, one module per detector family.

Target assigners are plain NumPy with no gradient: they take part in the forward
pass only, and draw every random choice from an explicit ``rng``.

* :mod:`bboxcore.targets.faster_rcnn` — :class:`AnchorTargetCreator` (RPN labels and
  offsets), :class:`ProposalCreator` (the proposal layer) and
  :class:`ProposalTargetCreator` (RoI sampling for the head), Faster R-CNN.
* :mod:`bboxcore.targets.centernet` — Gaussian heatmap, size and offset targets,
  CornerNet's radius and the NMS-free decoding, CenterNet.
* :mod:`bboxcore.targets.yolo` — YOLO's box coding and the v1 and v3 target assignment.
* :mod:`bboxcore.targets.retinanet` — RetinaNet's pyramid anchors and IoU matching.
* :mod:`bboxcore.targets.fcos` — FCOS's locations, (l, t, r, b) targets and centre-ness.

Every public name is re-exported here and by :mod:`bboxcore`.
"""

from bboxcore.targets.centernet import (
    CenterNetRegionTargets,
    CenterNetTargets,
    centernet_decode,
    centernet_region_targets,
    centernet_targets,
    gaussian_radius,
)
from bboxcore.targets.faster_rcnn import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    AnchorTargetCreator,
    ProposalCreator,
    ProposalTargetCreator,
)
from bboxcore.targets.fcos import FcosTargets, centerness, fcos_decode, fcos_locations, fcos_targets
from bboxcore.targets.retinanet import RetinaNetTargets, retinanet_anchors, retinanet_targets
from bboxcore.targets.yolo import (
    YoloGrid,
    Yolov1Targets,
    Yolov3Targets,
    yolo_decode,
    yolo_encode,
    yolo_grid,
    yolov1_decode,
    yolov1_targets,
    yolov3_targets,
)

__all__ = [
    "IGNORE",
    "NEGATIVE",
    "POSITIVE",
    "AnchorTargetCreator",
    "CenterNetRegionTargets",
    "CenterNetTargets",
    "ProposalCreator",
    "ProposalTargetCreator",
    "centernet_decode",
    "centernet_region_targets",
    "centernet_targets",
    "gaussian_radius",
    "YoloGrid",
    "Yolov1Targets",
    "Yolov3Targets",
    "yolo_decode",
    "yolo_encode",
    "yolo_grid",
    "yolov1_decode",
    "yolov1_targets",
    "yolov3_targets",
    "FcosTargets",
    "centerness",
    "fcos_decode",
    "fcos_locations",
    "fcos_targets",
    "RetinaNetTargets",
    "retinanet_anchors",
    "retinanet_targets",
]
