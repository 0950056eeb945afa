"""Synthetic inputs shared by the tests, the benchmarks and the notebooks.

Uniform and clustered boxes (like RPN proposals before NMS), random scenes for
profiling a detector, and random but realistic detection results for the
evaluators. None of it is a formula; all of it is seeded by an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from bboxcore.data.sample import Annotation, Detection

__all__ = ["clustered_boxes", "random_boxes", "random_detection_set", "random_scenes"]

#: Objects per random scene and their side range in pixels.
SCENE_OBJECTS = 3
SCENE_SIDES = (16, 48)


def random_boxes(
    rng: np.random.Generator, n: int, img_size=(800, 1000), side=(8, 160), dtype=np.float32
):
    """``n`` uniform boxes inside an ``img_size = (H, W)`` image with sides in ``side`` pixels.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    img_size : (H, W)
    side : (min, max)
    dtype : dtype

    Returns
    -------
    ndarray, shape (n, 4)

    Examples
    --------
    >>> random_boxes(np.random.default_rng(0), 3).shape
    (3, 4)
    """
    h, w = img_size
    wh = rng.uniform(side[0], side[1], size=(n, 2))
    xy = rng.uniform(0, 1, size=(n, 2)) * (np.array([w, h]) - wh)
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


def clustered_boxes(
    rng: np.random.Generator,
    n: int,
    n_centres=200,
    img_size=(800, 1000),
    jitter=0.1,
    dtype=np.float32,
):
    """``n`` boxes jittered around ``n_centres`` uniform boxes, like RPN proposals before NMS.

    Each box copies a random centre box, moves its centre by ``N(0, jitter)``
    times the centre box's side and scales its sides by ``exp(N(0, jitter))``;
    it is then clipped to the image. At IoU 0.7 NMS keeps about a quarter.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    n_centres : int
    img_size : (H, W)
    jitter : float
    dtype : dtype

    Returns
    -------
    ndarray, shape (n, 4)

    Examples
    --------
    >>> clustered_boxes(np.random.default_rng(0), 5).shape
    (5, 4)
    """
    h, w = img_size
    centre = random_boxes(rng, n_centres, img_size, dtype=np.float64)[rng.integers(0, n_centres, n)]
    wh = centre[:, 2:] - centre[:, :2]  # (n, 2)
    mid = (centre[:, :2] + centre[:, 2:]) / 2 + rng.normal(0, jitter, (n, 2)) * wh
    wh = wh * np.exp(rng.normal(0, jitter, (n, 2)))
    out = np.concatenate([mid - wh / 2, mid + wh / 2], axis=1)
    np.clip(out, 0, [w, h, w, h], out=out)
    return out.astype(dtype)


def random_scenes(rng: np.random.Generator, n: int, size: int, n_class: int):
    """``n`` random images (N, size, size, 3) with ``SCENE_OBJECTS`` random boxes and labels each.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of all randomness.
    n : int
        Number of images.
    size : int
        Side of the square images, pixels.
    n_class : int
        Labels are drawn from ``0..n_class-1``.

    Returns
    -------
    images : ndarray, shape (n, size, size, 3), float32
    bboxes : list of ndarray, shape (SCENE_OBJECTS, 4), float32
    labels : list of ndarray, shape (SCENE_OBJECTS,), int64

    Examples
    --------
    >>> images, bboxes, labels = random_scenes(np.random.default_rng(0), 2, 64, 3)
    >>> images.shape, bboxes[0].shape, labels[0].dtype
    ((2, 64, 64, 3), (3, 4), dtype('int64'))
    """
    images = rng.random((n, size, size, 3), dtype=np.float32)
    bboxes, labels = [], []
    for _ in range(n):
        wh = rng.uniform(*SCENE_SIDES, size=(SCENE_OBJECTS, 2))
        xy = rng.uniform(0, 1, size=(SCENE_OBJECTS, 2)) * (size - wh)
        bboxes.append(np.concatenate([xy, xy + wh], axis=1).astype(np.float32))
        labels.append(rng.integers(0, n_class, SCENE_OBJECTS).astype(np.int64))
    return images, bboxes, labels


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
