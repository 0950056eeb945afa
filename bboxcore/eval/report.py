"""Evaluate prediction files against ground-truth files: the work of ``bboxcore eval``.

Ground truth: a COCO JSON file, a Pascal VOC folder or a YOLO folder
(:func:`bboxcore.data.formats.read_annotations`). Predictions: a COCO result
JSON file (:func:`bboxcore.data.coco.read_coco_results`), whose ``image_id``
is the COCO id, or the file stem for VOC/YOLO, and whose ``category_id`` is
the COCO category id, or the label index / class name for VOC/YOLO.

Ground-truth boxes are evaluated as the files give them, also where they
stick out of their image, as ``pycocotools`` does (the numbers are then
equal); ``clip=True`` (``bboxcore eval --clip``) clips them to their images
first. The report says how many stick out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bboxcore.atomic import atomic_write

__all__ = ["EVAL_METRICS", "evaluate_files", "write_json"]

EVAL_METRICS = ("coco", "voc", "voc07", "all")


def evaluate_files(
    gt_path,
    pred_path,
    *,
    metric: str = "all",
    iou_thresh: float = 0.5,
    plus_one: bool = False,
    class_names: Sequence[str] | None = None,
    plot: str | Path | None = None,
    clip: bool = False,
) -> tuple[dict, str]:
    """Compute the chosen metrics of a prediction file against a ground-truth file.

    Parameters
    ----------
    gt_path : str or Path
        COCO JSON file, VOC folder or YOLO folder.
    pred_path : str or Path
        COCO result JSON file.
    metric : {'coco', 'voc', 'voc07', 'all'}
        COCO's twelve numbers, VOC all-point AP, VOC2007 11-point AP, or all three.
    iou_thresh : float
        The VOC matching threshold.
    plus_one : bool
        VOC devkit's "+1 pixel" box convention.
    class_names : sequence of str, optional
        Label order of a VOC/YOLO folder.
    plot : str or Path, optional
        Write the PR curves (VOC if computed, else COCO) to this image file;
        its suffix gives the type (``.png`` added when there is none).
    clip : bool
        Clip the ground-truth boxes to their images before evaluating. Off by
        default, as in ``pycocotools``: a box that sticks out of its image is
        evaluated as written (a clipped box has other IoUs, so another AP).

    Returns
    -------
    numbers : dict
        ``{'coco': {'AP': ...}, 'voc': {'mAP': ..., 'AP': {class: ap}}, ...}``.
    text : str
        The human-readable report.

    Raises
    ------
    ValueError
        If ``metric`` is unknown, or ``clip`` is asked for and an image has no
        known size.
    FileNotFoundError, bboxcore.data.FormatError
        If a file is missing or malformed, or ``pred_path`` is a folder.

    Examples
    --------
    One 10 x 10 box and one detection covering 8 of its 10 rows (IoU 0.8):
    a hit at the VOC threshold 0.5.

    >>> import tempfile, pathlib
    >>> from bboxcore.data import Annotation, Detection, read_coco, write_coco
    >>> from bboxcore.data import write_coco_results
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_coco(d / "gt.json", [Annotation([[0, 0, 10, 10]], [0], image_id=1)], ["dog"])
    >>> det = Detection([[0, 0, 10, 8]], [0], [0.9])
    >>> write_coco_results(d / "pred.json", [det], read_coco(d / "gt.json"))
    >>> numbers, text = evaluate_files(d / "gt.json", d / "pred.json", metric="voc")
    >>> numbers["voc"]["AP"]
    {'dog': 1.0}
    >>> print(text.splitlines()[0])
    1 images, 1 ground-truth boxes, 1 detections, 1 classes
    >>> evaluate_files(d / "gt.json", d / "pred.json", metric="f1")
    Traceback (most recent call last):
        ...
    ValueError: metric must be one of ('coco', 'voc', 'voc07', 'all'); got 'f1'
    """
    from bboxcore.data.coco import read_coco_results
    from bboxcore.data.formats import read_annotations
    from bboxcore.data.sample import FormatError
    from bboxcore.eval.coco import coco_ap
    from bboxcore.eval.voc import voc_ap

    if metric not in EVAL_METRICS:
        raise ValueError(f"metric must be one of {EVAL_METRICS}; got {metric!r}")
    if Path(pred_path).is_dir():
        raise FormatError(pred_path, "is a folder, not a COCO result .json file (a JSON list)")
    gt = read_annotations(gt_path, class_names)
    pred = read_coco_results(pred_path, gt)
    names = gt.class_names
    numbers, parts, curves = {}, [], None
    n_det = sum(len(p.label) for p in pred)
    n_box = sum(len(a.label) for a in gt.annotations)
    parts.append(
        f"{len(gt)} images, {n_box} ground-truth boxes, {n_det} detections, {len(names)} classes"
    )
    n_out = sum(int(_outside(a).sum()) for a in gt.annotations)
    if clip:
        gt = dataclasses.replace(gt, annotations=[_clipped(a) for a in gt.annotations])
    if n_out:
        parts.append(
            f"{n_out} ground-truth box(es) stick out of their image: "
            + ("clipped to it (clip)" if clip else "evaluated as written, as pycocotools does")
        )
    if metric in ("coco", "all"):
        r = coco_ap(pred, gt.annotations)
        numbers["coco"] = r.as_dict()
        parts.append("COCO:\n" + r.summary())
        curves = r
    for name, kind in (("voc", "all_point"), ("voc07", "11_point")):
        if metric in (name, "all"):
            r = voc_ap(
                pred,
                gt.annotations,
                iou_thresh=iou_thresh,
                metric=kind,
                plus_one=plus_one,
                n_class=len(names),
            )
            numbers[name] = {
                "mAP": r.map,
                "AP": dict(zip(names, r.ap.tolist())),
                "iou_thresh": iou_thresh,
                "plus_one": plus_one,
            }
            parts.append(r.summary(names))
            curves = r if name == "voc" or curves is None else curves
    if plot is not None:
        import matplotlib.pyplot as plt

        from bboxcore.eval.plots import plot_pr_curves

        plot = Path(plot) if Path(plot).suffix else Path(plot).with_suffix(".png")
        fig, ax = plt.subplots(figsize=(6, 5))
        plot_pr_curves(curves, names, ax=ax)
        fig.savefig(plot, dpi=100, bbox_inches="tight")
        plt.close(fig)
        parts.append(f"PR curves written to {plot}")
    return numbers, "\n".join(parts)


def _outside(ann) -> np.ndarray:
    """(R,) bool: which boxes of ``ann`` stick out of its image (False when the size is unknown)."""
    if ann.img_size is None:
        return np.zeros(len(ann.label), dtype=bool)
    h, w = ann.img_size
    b = ann.bbox
    return (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 2] > w) | (b[:, 3] > h)


def _clipped(ann):
    """``ann`` with its boxes clipped to ``[0, W] x [0, H]``."""
    from bboxcore.boxes import clip_boxes

    if ann.img_size is None:
        raise ValueError(f"clip needs the size of every image; image {ann.image_id!r} has none")
    return dataclasses.replace(ann, bbox=clip_boxes(ann.bbox, ann.img_size))


def write_json(numbers: dict, path) -> None:
    """Write the numbers of :func:`evaluate_files` as JSON (NaN becomes null).

    JSON has no NaN (Python's ``json`` would write the non-standard ``NaN``),
    and an AP is NaN for a class without ground-truth boxes: such a value is
    written as ``null``. The file is indented by 2 spaces, and written to a
    temporary file first, then renamed: it is never left half-written.

    Parameters
    ----------
    numbers : dict
        Nested dicts and lists of numbers, strings and booleans, as the first
        value returned by :func:`evaluate_files`; float NaN or infinity at
        any depth becomes ``null``, NumPy scalars become Python numbers.
    path : str or Path
        The JSON file to write (replaced if it exists).

    Raises
    ------
    TypeError
        If a value is not JSON-serialisable (e.g. a NumPy array).
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "numbers.json"
    >>> write_json({"voc": {"mAP": 0.5, "AP": {"dog": 1.0, "cat": float("nan")}}}, p)
    >>> json.loads(p.read_text())["voc"]["AP"]
    {'dog': 1.0, 'cat': None}
    >>> write_json({"ap": [0.5, float("nan")]}, p)  # inside lists too
    >>> json.loads(p.read_text())
    {'ap': [0.5, None]}
    """

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            x = x.item()
        return None if isinstance(x, float) and not math.isfinite(x) else x

    text = json.dumps(clean(numbers), indent=2, allow_nan=False)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
