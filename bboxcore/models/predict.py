r"""Evaluate a detector on a data set, and rebuild a trained detector from its checkpoint.

:func:`evaluate` runs any :class:`~bboxcore.models.base.Detector` over a data
set and scores it (VOC AP50 and COCO AP); :func:`load_detector` rebuilds the
detector a checkpoint names (:data:`bboxcore.models.registry.MODELS`).

Moved, re-exported here for the old imports: :func:`suppress` (the Faster
R-CNN post-processing) is in :mod:`bboxcore.models.postprocess`, and
:func:`~bboxcore.models.detect.detect_images` (``bboxcore detect``) in
:mod:`bboxcore.models.detect`.
"""

from __future__ import annotations

import time
from pathlib import Path

from bboxcore.models.base import Prediction
from bboxcore.models.detect import detect_images  # moved there; re-exported for old imports
from bboxcore.models.postprocess import suppress  # moved there; re-exported for old imports

__all__ = ["detect_images", "evaluate", "load_detector", "suppress"]


def evaluate(model, dataset, *, n_images: int | None = None, progress: bool = False) -> dict:
    """VOC AP50 (all-point) and COCO AP of ``model`` on the first ``n_images`` of ``dataset``.

    Parameters
    ----------
    model : Detector
        Any :class:`~bboxcore.models.base.Detector`.
    dataset
        ``ds[i].image`` and ``ds.annotation(i)`` (see :mod:`bboxcore.models.datasets`).
    n_images : int, optional
        Evaluate on the first ``n_images`` only (all when None).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``ap50`` — VOC mAP at IoU 0.5, all-point (:func:`bboxcore.eval.voc_ap`);
        ``coco_ap`` and ``coco_ap50`` — COCO AP over IoU 0.5:0.95 and at 0.5
        (:func:`bboxcore.eval.coco_ap`); ``ap50_per_class`` (list of K);
        ``n_images``; ``seconds``; ``predictions`` (list of
        :class:`~bboxcore.data.Detection`).

    Examples
    --------
    An untrained YOLOv1 on two blank images (any object with ``len``,
    ``ds[i].image`` and ``ds.annotation(i)`` will do):

    >>> from types import SimpleNamespace
    >>> from bboxcore.data.sample import Annotation
    >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> model = YOLOv1(cfg, np.random.default_rng(0)).eval()
    >>> class TwoImages:
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, i):
    ...         return SimpleNamespace(image=np.zeros((32, 32, 3), np.float32))
    ...     def annotation(self, i):
    ...         return Annotation([[4, 4, 20, 24]], [1], image_id=i)
    >>> result = evaluate(model, TwoImages())
    >>> result["n_images"], 0.0 <= result["ap50"] <= 1.0, len(result["ap50_per_class"])
    (2, True, 2)
    """
    from tqdm.auto import tqdm

    from bboxcore.eval import coco_ap, voc_ap

    n = len(dataset) if n_images is None else min(n_images, len(dataset))
    t0 = time.perf_counter()
    pred, gt = [], []
    for i in tqdm(range(n), desc="evaluate", disable=not progress, leave=False):
        pred.append(Prediction(*model.predict(dataset[i].image)[0]).to_detection(image_id=i))
        gt.append(dataset.annotation(i))
    voc = voc_ap(pred, gt, n_class=model.n_class)
    coco = coco_ap(pred, gt).as_dict()
    return {
        "ap50": float(voc.map),
        "coco_ap": float(coco["AP"]),
        "coco_ap50": float(coco["AP50"]),
        "ap50_per_class": [float(a) for a in voc.ap],
        "n_images": n,
        "seconds": time.perf_counter() - t0,
        "predictions": pred,
    }


def load_detector(checkpoint: str | Path):
    """Rebuild a trained detector from a checkpoint (any registered detector).

    Parameters
    ----------
    checkpoint : str or Path
        A ``checkpoint.npz`` written by the trainer, or the run folder holding it.

    Returns
    -------
    Detector
        In evaluation mode, with the config and weights of the checkpoint; its
        class is the checkpoint's ``model_name`` (:data:`bboxcore.models.registry.MODELS`;
        Faster R-CNN for checkpoints that name none).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        (:class:`~bboxcore.models.checkpoint.CheckpointError`) If the file is
        truncated, corrupt or not a bboxcore training checkpoint; the message
        names the file.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from bboxcore.models.config import config_to_dict
    >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
    >>> from bboxcore.nn import serialization
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> state = {"model_name": "yolov1", "model_config": json.dumps(config_to_dict(cfg)),
    ...          "model": YOLOv1(cfg, np.random.default_rng(0)).state_dict()}
    >>> with tempfile.TemporaryDirectory() as run:
    ...     serialization.save(os.path.join(run, "checkpoint.npz"), state)
    ...     model = load_detector(run)  # the run folder or the file
    >>> type(model).__name__, model.training
    ('YOLOv1', False)
    """
    from bboxcore.models.checkpoint import checkpoint_path, detector_from_state, read_checkpoint

    path = checkpoint_path(checkpoint)
    return detector_from_state(read_checkpoint(path), path)
