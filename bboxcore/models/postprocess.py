r"""Post-processing of the two-stage head: from RoI scores and offsets to detections.

The last box of the Faster R-CNN figure [1]_: every RoI carries K + 1 class
probabilities and K + 1 class-specific offsets. :func:`suppress` turns them
into the final detections of one image,

1. **decode** each class's offsets against its RoI with :func:`~bboxcore.encoding.loc2bbox`
   after undoing the normalisation (std (0.1, 0.1, 0.2, 0.2), *The losses of
   Faster R-CNN*, the Fast R-CNN loss),
2. **clip** to the image,
3. **score threshold**: keep (RoI, class) pairs whose probability exceeds ``score_thresh``,
4. **per-class NMS** (:func:`~bboxcore.nms.batched_nms`),
5. **top-k**: the ``max_detections`` highest scores.

It depends only on the formula modules (encoding, boxes, NMS), so that the
model (:mod:`bboxcore.models.faster_rcnn`) and the evaluation
(:mod:`bboxcore.models.predict`) can both import it without a circle.

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bboxcore.boxes import clip_boxes
from bboxcore.encoding import loc2bbox
from bboxcore.nms import batched_nms

__all__ = ["suppress"]


def suppress(
    roi: np.ndarray,
    roi_cls_loc: np.ndarray,
    prob: np.ndarray,
    img_size: tuple[int, int],
    *,
    loc_normalize_mean: Sequence[float],
    loc_normalize_std: Sequence[float],
    nms_thresh: float = 0.3,
    score_thresh: float = 0.05,
    max_detections: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Decode, clip, threshold, per-class NMS and top-k: the detections of one image.

    Notation: R RoIs, K object classes (the head has K + 1 outputs, 0 =
    background), D detections.

    Parameters
    ----------
    roi : ndarray, shape (R, 4)
        Proposals ``(x_min, y_min, x_max, y_max)`` in image pixels.
    roi_cls_loc : ndarray, shape (R, 4(K+1))
        Normalised class-specific offsets ``(t_x, t_y, t_w, t_h)`` per class.
    prob : ndarray, shape (R, K+1)
        Softmax class probabilities, column 0 the background.
    img_size : (H, W)
        Image height and width in pixels.
    loc_normalize_mean, loc_normalize_std : sequence of 4 floats
        The normalisation the head was trained with.
    nms_thresh : float
        IoU above which a lower-scored box of the same class is removed.
    score_thresh : float
        Pairs with probability ``<= score_thresh`` are dropped.
    max_detections : int
        At most this many detections.

    Returns
    -------
    bbox : ndarray, shape (D, 4), float32
        Boxes in pixels, by decreasing score.
    label : ndarray, shape (D,), int64
        Classes in ``0 .. K-1`` (the head's class minus one).
    score : ndarray, shape (D,), float32
        The class probabilities.

    Raises
    ------
    ValueError
        If the shapes do not match (R, 4), (R, 4(K+1)), (R, K+1).

    Notes
    -----
    Each RoI yields up to K detections, one per class, each decoded with its
    own offsets :math:`t^k` ([1]_ Eq. 2; Fast R-CNN's class-specific regression).
    Background (class 0) is never output.

    Examples
    --------
    >>> roi = np.array([[10., 10., 30., 30.], [11., 10., 31., 30.]])
    >>> prob = np.array([[0.1, 0.9], [0.2, 0.8]])
    >>> bbox, label, score = suppress(roi, np.zeros((2, 8)), prob, (64, 64),
    ...     loc_normalize_mean=(0, 0, 0, 0), loc_normalize_std=(0.1, 0.1, 0.2, 0.2))
    >>> bbox, label, score  # the second box overlaps the first (IoU 0.9) and goes
    (array([[10., 10., 30., 30.]], dtype=float32), array([0]), array([0.9], dtype=float32))
    """
    n_roi = roi.shape[0]
    if roi.ndim != 2 or roi.shape[1] != 4:
        raise ValueError(f"roi must have shape (R, 4); got {roi.shape}")
    if prob.ndim != 2 or prob.shape[0] != n_roi or prob.shape[1] < 2:
        raise ValueError(f"prob must have shape (R, K+1) = ({n_roi}, >= 2); got {prob.shape}")
    n_class = prob.shape[1]  # K + 1
    if roi_cls_loc.shape != (n_roi, 4 * n_class):
        raise ValueError(
            f"roi_cls_loc must have shape (R, 4(K+1)) = ({n_roi}, {4 * n_class}); "
            f"got {roi_cls_loc.shape}"
        )
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if n_roi == 0:
        return empty
    cls_bbox = loc2bbox(roi, roi_cls_loc, mean=loc_normalize_mean, std=loc_normalize_std)
    cls_bbox = cls_bbox.reshape(n_roi, n_class, 4)[:, 1:]  # (R, K, 4): drop the background
    bbox = clip_boxes(cls_bbox.reshape(-1, 4), img_size)  # (R K, 4)
    score = prob[:, 1:].reshape(-1)  # (R K,), row-major like bbox
    label = np.tile(np.arange(n_class - 1), n_roi)  # (R K,): 0 .. K-1 for every RoI
    candidate = np.flatnonzero(score > score_thresh)
    if candidate.size == 0:
        return empty
    bbox, score, label = bbox[candidate], score[candidate], label[candidate]
    keep = batched_nms(bbox, score, label, nms_thresh, max_output=max_detections)
    return (
        bbox[keep].astype(np.float32),
        label[keep].astype(np.int64),
        score[keep].astype(np.float32),
    )
