"""Random but realistic detection results, for benchmarks, tests and notebooks.

A "detector" that sees each ground-truth box a few times with jitter (and
sometimes the wrong class), plus boxes anywhere: scores are uniform, so the
AP is low but every branch of the matching rules is exercised.
"""

from __future__ import annotations

import numpy as np

from bboxcore.data.sample import Annotation, Detection

__all__ = ["random_detection_set"]


def random_detection_set(
    rng: np.random.Generator,
    n_image: int = 100,
    n_gt: int = 10,
    n_det: int = 100,
    n_class: int = 10,
    img_size: int = 640,
    *,
    hit_rate: float = 0.3,
    jitter: float = 6.0,
    crowd_rate: float = 0.0,
):
    """Ground truth and detections for ``n_image`` images.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_image, n_gt, n_det : int
        Images; boxes and detections per image.
    n_class : int
        Classes; labels uniform in ``0 .. n_class - 1``.
    img_size : int
        Side of the square images in pixels; box sides are 8 to 200 px.
    hit_rate : float
        Share of detections that are jittered copies of a ground-truth box
        (90 % of them with its class); the rest are random boxes.
    jitter : float
        Standard deviation in pixels of the copies' corners.
    crowd_rate : float
        Share of ground-truth boxes flagged ``iscrowd``.

    Returns
    -------
    pred : list of Detection
    gt : list of Annotation

    Examples
    --------
    >>> pred, gt = random_detection_set(np.random.default_rng(0), n_image=2)
    >>> len(pred), pred[0].bbox.shape, gt[0].bbox.shape
    (2, (100, 4), (10, 4))
    """
    shape = (n_image, n_gt)
    wh = rng.uniform(8, 200, (*shape, 2))
    xy = rng.uniform(0, img_size - 200, (*shape, 2))
    g_box = np.concatenate([xy, xy + wh], axis=-1)
    g_label = rng.integers(0, n_class, shape)
    crowd = rng.random(shape) < crowd_rate
    src = rng.integers(0, n_gt, (n_image, n_det))  # which box a copy imitates
    copy = np.take_along_axis(g_box, src[..., None], axis=1) + rng.normal(
        0, jitter, (*src.shape, 4)
    )
    anywhere = np.concatenate([rng.uniform(0, img_size - 200, (*src.shape, 2))] * 2, axis=-1)
    anywhere[..., 2:] += rng.uniform(8, 200, (*src.shape, 2))
    is_copy = rng.random(src.shape) < hit_rate
    d_box = np.where(is_copy[..., None], copy, anywhere)
    d_box[..., 2:] = np.maximum(d_box[..., 2:], d_box[..., :2] + 1)
    same = is_copy & (rng.random(src.shape) < 0.9)
    d_label = np.where(
        same, np.take_along_axis(g_label, src, 1), rng.integers(0, n_class, src.shape)
    )
    score = rng.random(src.shape)
    gt = [
        Annotation(
            g_box[i], g_label[i], iscrowd=crowd[i], image_id=i + 1, img_size=(img_size, img_size)
        )
        for i in range(n_image)
    ]
    pred = [Detection(d_box[i], d_label[i], score[i], image_id=i + 1) for i in range(n_image)]
    return pred, gt
