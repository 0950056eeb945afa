"""COCO JSON: the ground-truth file (``instances_*.json``) and the result file.

The ground-truth file holds three lists::

    {"images":      [{"id": 42, "file_name": "a.jpg", "width": 640, "height": 480}, ...],
     "annotations": [{"id": 1, "image_id": 42, "category_id": 18,
                      "bbox": [x, y, w, h], "area": 1035.5, "iscrowd": 0}, ...],
     "categories":  [{"id": 18, "name": "dog"}, ...]}

and a result file is one list ``[{"image_id": 42, "category_id": 18,
"bbox": [x, y, w, h], "score": 0.93}, ...]``. COCO boxes are ``(x, y, w,
h)`` in continuous pixels; bboxcore converts them to ``(x_min, y_min, x_max,
y_max)``. Labels are ``0 .. K-1`` in the order of increasing category id
(the order of the official evaluation), and images are sorted by id.

Every malformed file raises :class:`~bboxcore.data.sample.FormatError`
naming the file and the problem (truncated JSON, a missing key, a box with a
negative size, an unknown image or category id).

Boxes are kept as the file gives them, also where they stick out of their
image, as the official evaluation (``pycocotools``) does: clipping changes
the IoUs and so the AP. ``read_coco(path, clip=True)`` clips them when asked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bboxcore.data.sample import Annotation, AnnotationSet, Detection, FormatError

__all__ = [
    "read_coco",
    "read_coco_results",
    "write_coco",
    "write_coco_results",
]


def _load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise FormatError(path, f"not valid JSON (truncated?): {err}") from None
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not UTF-8 text: {err}") from None


def _get(entry, key: str, path, where: str):
    if not isinstance(entry, dict):
        raise FormatError(path, f"{where} must be a JSON object; got {type(entry).__name__}")
    if key not in entry:
        raise FormatError(path, f"{where} has no {key!r}")
    return entry[key]


def _integer(value, path, where: str, positive: bool = False) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value != int(value):
        raise FormatError(path, f"{where} must be an integer; got {value!r}")
    if positive and value <= 0:
        raise FormatError(path, f"{where} must be positive; got {value!r}")
    return int(value)


def _id(value, path, where: str):
    """An image or category id: a number or a string (the official tool compares them with ==)."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        raise FormatError(path, f"{where} must be a number or a string; got {value!r}")
    return value


def _xywh(entry, path, where: str) -> list[float]:
    b = _get(entry, "bbox", path, where)
    ok = isinstance(b, list) and len(b) == 4
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in b)
    if not ok or not all(math.isfinite(v) for v in b):
        raise FormatError(path, f"{where} bbox must be 4 finite numbers [x, y, w, h]; got {b!r}")
    if b[2] < 0 or b[3] < 0:
        raise FormatError(path, f"{where} bbox has a negative size (x_max < x_min): {b!r}")
    return [float(v) for v in b]


def read_coco(path, *, clip: bool = False) -> AnnotationSet:
    """Read a COCO ground-truth JSON file.

    Parameters
    ----------
    path : str or Path
    clip : bool
        Clip each box to its image (when the image has ``width`` and
        ``height``). Off by default: the boxes are kept as written, as the
        official evaluation keeps them, so that AP equals ``pycocotools``'.

    Returns
    -------
    AnnotationSet
        One :class:`Annotation` per image, sorted by image id, with
        ``image_id``, ``img_size`` (when ``width``/``height`` are given),
        ``filename``, ``iscrowd`` and ``area`` (the file's ``area`` field,
        else the box area); ``class_names`` and ``category_ids`` sorted by id.

    Raises
    ------
    FormatError
        Naming the file and the problem: not valid JSON, not an object, a
        missing ``images``/``annotations``/``categories`` list or key, a
        duplicate id, an id that is not a number or a string, an annotation
        whose image or category id is unknown (``"1"`` is not ``1``), or a
        bbox that is not 4 finite numbers or has a negative size.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gt.json"
    >>> write_coco(p, [Annotation([[1, 2, 11, 7]], [0], image_id=3, img_size=(20, 30))], ["dog"])
    >>> s = read_coco(p)
    >>> s[0].bbox, s.category_ids, s[0].image_id
    (array([[ 1.,  2., 11.,  7.]], dtype=float32), (1,), 3)
    """
    data = _load_json(path)
    if not isinstance(data, dict):
        raise FormatError(path, f"top level must be a JSON object; got {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise FormatError(path, f"has no list {key!r}")
    cats = sorted(
        (
            _integer(_get(c, "id", path, f"categories[{k}]"), path, f"categories[{k}] id"),
            str(_get(c, "name", path, f"categories[{k}]")),
        )
        for k, c in enumerate(data["categories"])
    )
    cat_ids = [c for c, _ in cats]
    if len(set(cat_ids)) != len(cat_ids):
        raise FormatError(path, "duplicate category ids")
    cat_index = {c: k for k, c in enumerate(cat_ids)}
    images = {}
    for k, im in enumerate(data["images"]):
        iid = _id(_get(im, "id", path, f"images[{k}]"), path, f"images[{k}] id")
        if iid in images:
            raise FormatError(path, f"duplicate image id {iid!r}")
        for key in ("width", "height"):
            if key in im:
                _integer(im[key], path, f"images[{k}] {key}", positive=True)
        images[iid] = im
    per_image = {iid: [] for iid in images}
    for k, a in enumerate(data["annotations"]):
        where = f"annotations[{k}]"
        iid = _id(_get(a, "image_id", path, where), path, f"{where} image_id")
        cid = _id(_get(a, "category_id", path, where), path, f"{where} category_id")
        if iid not in images:
            raise FormatError(path, f"{where} has unknown image_id {iid!r}")
        if cid not in cat_index:
            raise FormatError(path, f"{where} has unknown category_id {cid!r}; known: {cat_ids}")
        x, y, w, h = _xywh(a, path, where)
        box = [x, y, x + w, y + h]
        im = images[iid]
        if clip and "width" in im and "height" in im:
            W, H = float(im["width"]), float(im["height"])
            box = [min(max(v, 0.0), lim) for v, lim in zip(box, (W, H, W, H))]
        area = float(a.get("area", w * h))
        per_image[iid].append((box, cat_index[cid], bool(a.get("iscrowd", 0)), area))
    annotations, paths = [], []
    for iid in sorted(images, key=_sort_key):
        rows, im = per_image[iid], images[iid]
        size = (int(im["height"]), int(im["width"])) if "width" in im and "height" in im else None
        annotations.append(
            Annotation(
                np.array([r[0] for r in rows], dtype=np.float32).reshape(-1, 4),
                np.array([r[1] for r in rows], dtype=np.int64),
                iscrowd=np.array([r[2] for r in rows], dtype=bool),
                area=np.array([r[3] for r in rows], dtype=np.float64),
                image_id=iid,
                img_size=size,
                filename=im.get("file_name"),
            )
        )
        fn = im.get("file_name")
        paths.append(Path(path).parent / fn if fn else None)
    return AnnotationSet(annotations, tuple(n for _, n in cats), paths, tuple(cat_ids))


def _sort_key(iid):
    return (0, iid, "") if isinstance(iid, int | float) else (1, 0, str(iid))


def read_coco_results(path, gt: AnnotationSet) -> list[Detection]:
    """Read a COCO result file and group it by the images of ``gt``.

    Parameters
    ----------
    path : str or Path
        A JSON list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``.
    gt : AnnotationSet
        The ground truth (e.g. from :func:`read_coco`): gives the image ids and
        the category id -> label map. For VOC/YOLO ground truth
        (``gt.category_ids`` is None) a ``category_id`` is the label ``k`` or
        the class name, and an ``image_id`` the file stem (``5`` matches a
        stem ``"5"``) or the image's file name (``"5.jpg"``); a
        ``"category_name"``, when a result has one, decides its class. So the
        ``detections.json`` of ``bboxcore detect`` (file names, COCO's
        1-based ``category_id`` with the ``category_name``) is read right. For
        COCO ground truth the ids must be equal, type included (``"5"`` is not
        ``5``), as in ``pycocotools``, and ``category_name`` is not read.

    Returns
    -------
    list of Detection
        ``detections[i]`` are the results on image ``gt[i]``, in file order.

    Raises
    ------
    FormatError
        If the file is not valid JSON, not a list, an entry misses a key, has
        a bad bbox or a non-finite score, or names an image id or category id
        that ``gt`` does not have (the official tool also refuses unknown
        images; an unknown category is usually an off-by-one label map).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> gt = AnnotationSet([Annotation([[0, 0, 4, 4]], [0], image_id=7)], ("dog",), None, (1,))
    >>> write_coco_results(d / "r.json", [Detection([[0, 0, 4, 2]], [0], [0.5])], gt)
    >>> read_coco_results(d / "r.json", gt)[0].bbox
    array([[0., 0., 4., 2.]], dtype=float32)
    """
    data = _load_json(path)
    if not isinstance(data, list):
        raise FormatError(path, f"a result file must be a JSON list; got {type(data).__name__}")
    image_index = {a.image_id: i for i, a in enumerate(gt.annotations)}
    # Ids of VOC/YOLO images are file stems: also accept them written as numbers.
    by_text = {str(a.image_id): i for i, a in enumerate(gt.annotations)}
    cat_ids = gt.category_ids or tuple(range(len(gt.class_names)))
    cat_index = {c: k for k, c in enumerate(cat_ids)}
    by_name = {name: k for k, name in enumerate(gt.class_names)}
    if gt.category_ids is None:  # VOC/YOLO ground truth: also file names and class names
        for i, a in enumerate(gt.annotations):
            if a.filename is not None:
                by_text.setdefault(str(a.filename), i)
        cat_index.update(by_name)
    rows = [[] for _ in gt.annotations]
    for k, r in enumerate(data):
        where = f"result {k}"
        iid = _id(_get(r, "image_id", path, where), path, f"{where} image_id")
        cid = _id(_get(r, "category_id", path, where), path, f"{where} category_id")
        score = _get(r, "score", path, where)
        if iid not in image_index and str(iid) in by_text:
            if gt.category_ids is not None:  # COCO: "5" is not 5, as in pycocotools
                other = gt.annotations[by_text[str(iid)]].image_id
                raise FormatError(
                    path,
                    f"{where} has image_id {iid!r} ({type(iid).__name__}), but the ground "
                    f"truth's id is {other!r} ({type(other).__name__}): ids must match in type",
                )
            iid = gt.annotations[by_text[str(iid)]].image_id
        if iid not in image_index:
            raise FormatError(
                path, f"{where} has image_id {iid!r}, which is not in the ground truth"
            )
        if gt.category_ids is None and "category_name" in r:
            name = r["category_name"]
            if name not in by_name:
                raise FormatError(
                    path,
                    f"{where} has unknown category_name {name!r}; known: {list(gt.class_names)}",
                )
            label = by_name[name]
        elif cid not in cat_index:
            raise FormatError(
                path, f"{where} has unknown category_id {cid!r}; known: {list(cat_ids)}"
            )
        else:
            label = cat_index[cid]
        if (
            not isinstance(score, int | float)
            or isinstance(score, bool)
            or not math.isfinite(score)
        ):
            raise FormatError(path, f"{where} score must be a finite number; got {score!r}")
        x, y, w, h = _xywh(r, path, where)
        rows[image_index[iid]].append(([x, y, x + w, y + h], label, float(score)))
    return [
        Detection(
            np.array([r[0] for r in rs], dtype=np.float32).reshape(-1, 4),
            np.array([r[1] for r in rs], dtype=np.int64),
            np.array([r[2] for r in rs], dtype=np.float64),
            image_id=a.image_id,
        )
        for rs, a in zip(rows, gt.annotations)
    ]


def _xywh_rows(bbox: np.ndarray) -> list[list[float]]:
    b = bbox.astype(np.float64)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).tolist()


def write_coco_results(path, detections: Sequence[Detection], gt: AnnotationSet) -> None:
    """Write detections as a COCO result file (the format of the official evaluation).

    Parameters
    ----------
    path : str or Path
    detections : sequence of Detection
        ``detections[i]`` belong to image ``gt[i]``.
    gt : AnnotationSet
        Gives each image's id and each label's category id.

    Raises
    ------
    ValueError
        If the lengths differ or a label has no category.

    Examples
    --------
    See :func:`read_coco_results`.
    """
    if len(detections) != len(gt):
        raise ValueError(
            f"detections must have one entry per gt image ({len(gt)}); got {len(detections)}"
        )
    cat_ids = gt.category_ids or tuple(range(len(gt.class_names)))
    out = []
    for det, ann in zip(detections, gt.annotations):
        if len(det.label) and det.label.max() >= len(cat_ids):
            raise ValueError(
                f"label {int(det.label.max())} has no category id ({len(cat_ids)} known)"
            )
        for box, lab, s in zip(_xywh_rows(det.bbox), det.label.tolist(), det.score.tolist()):
            out.append(
                {"image_id": ann.image_id, "category_id": cat_ids[lab], "bbox": box, "score": s}
            )
    Path(path).write_text(json.dumps(out))


def write_coco(
    path,
    annotations: Sequence[Annotation],
    class_names: Sequence[str],
    category_ids: Sequence[int] | None = None,
) -> None:
    """Write ground truth as a COCO JSON file (the inverse of :func:`read_coco`).

    Parameters
    ----------
    path : str or Path
    annotations : sequence of Annotation
        Each needs an ``image_id`` (its index when None); ``img_size`` gives
        ``width``/``height`` when known.
    class_names : sequence of str
    category_ids : sequence of int, optional
        Category id of each label; ``1 .. K`` when omitted.

    Raises
    ------
    ValueError
        If a label has no class name, or the ids do not match the names.

    Examples
    --------
    See :func:`read_coco`.
    """
    cat_ids = (
        list(category_ids) if category_ids is not None else list(range(1, len(class_names) + 1))
    )
    if len(cat_ids) != len(class_names):
        raise ValueError(
            f"category_ids must have one id per class name ({len(class_names)}); got {len(cat_ids)}"
        )
    images, anns = [], []
    for i, a in enumerate(annotations):
        iid = a.image_id if a.image_id is not None else i
        im = {"id": iid, "file_name": a.filename or f"{iid}.jpg"}
        if a.img_size is not None:
            im["height"], im["width"] = a.img_size
        images.append(im)
        if len(a.label) and a.label.max() >= len(class_names):
            raise ValueError(f"label {int(a.label.max())} has no class name")
        area = a.box_area().astype(np.float64).tolist()
        for box, lab, crowd, ar in zip(
            _xywh_rows(a.bbox), a.label.tolist(), a.iscrowd.tolist(), area
        ):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": iid,
                    "category_id": cat_ids[lab],
                    "bbox": box,
                    "area": ar,
                    "iscrowd": int(crowd),
                }
            )
    cats = [{"id": c, "name": n} for c, n in zip(cat_ids, class_names)]
    Path(path).write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
