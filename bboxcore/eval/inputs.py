"""The metrics' inputs: per-image predictions and ground truth, flattened into arrays.

Every metric of :mod:`bboxcore.eval` takes two sequences of the same length,
one entry per image:

* ``pred[i]`` — the detections on image i: a
  :class:`~bboxcore.data.sample.Detection` or anything with ``bbox``,
  ``label`` and ``score`` (attributes or mapping keys);
* ``gt[i]`` — its ground truth: an :class:`~bboxcore.data.sample.Annotation`,
  a :class:`~bboxcore.data.sample.Sample`, or anything with ``bbox``,
  ``label`` and optionally ``difficult``, ``iscrowd``, ``area``.

They are validated by building the bboxcore types, then concatenated into
flat arrays with an image index, which the vectorised metrics work on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bboxcore.data.sample import Annotation, Detection

__all__ = [
    "max_per_run",
    "FlatDetections",
    "FlatGroundTruth",
    "concat_ranges",
    "flatten_detections",
    "flatten_ground_truth",
    "group_pairs",
]


def _field(item, name: str, default=None):
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


@dataclass
class FlatDetections:
    """All detections: ``image`` (N,) index, ``bbox`` (N, 4) float64, ``label``, ``score``."""

    image: np.ndarray
    bbox: np.ndarray
    label: np.ndarray
    score: np.ndarray


@dataclass
class FlatGroundTruth:
    """All ground-truth boxes: ``image`` (M,), ``bbox``, ``label``, flags and ``area``."""

    image: np.ndarray
    bbox: np.ndarray
    label: np.ndarray
    difficult: np.ndarray
    iscrowd: np.ndarray
    area: np.ndarray


def _check_len(items, name: str) -> None:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise TypeError(
            f"{name} must be a sequence with one entry per image; got {type(items).__name__}"
        )


def flatten_detections(pred: Sequence, n_image: int | None = None) -> FlatDetections:
    """Validate per-image detections and concatenate them.

    Parameters
    ----------
    pred : sequence
        ``pred[i]`` has ``bbox`` (R, 4), ``label`` (R,) and ``score`` (R,).
    n_image : int, optional
        Required length of ``pred`` (the number of ground-truth images).

    Returns
    -------
    FlatDetections

    Raises
    ------
    ValueError, TypeError
        If the length differs from ``n_image`` or an entry is malformed (the
        message names the image index).

    Examples
    --------
    >>> flatten_detections([{"bbox": [[0, 0, 1, 1]], "label": [2], "score": [0.5]}]).label
    array([2])
    """
    _check_len(pred, "pred")
    if n_image is not None and len(pred) != n_image:
        raise ValueError(
            f"pred must have one entry per ground-truth image ({n_image}); got {len(pred)}"
        )
    dets = []
    for i, p in enumerate(pred):
        try:
            dets.append(
                p
                if isinstance(p, Detection)
                else Detection(_field(p, "bbox"), _field(p, "label"), _field(p, "score"))
            )
        except (ValueError, TypeError) as err:
            raise type(err)(f"pred[{i}]: {err}") from None
    sizes = [len(d.label) for d in dets]
    return FlatDetections(
        np.repeat(np.arange(len(dets)), sizes).astype(np.int64),
        np.concatenate([d.bbox for d in dets] or [np.zeros((0, 4))]).astype(np.float64),
        np.concatenate([d.label for d in dets] or [np.zeros(0, np.int64)]).astype(np.int64),
        np.concatenate([d.score for d in dets] or [np.zeros(0)]).astype(np.float64),
    )


def flatten_ground_truth(gt: Sequence) -> FlatGroundTruth:
    """Validate per-image ground truth and concatenate it.

    Parameters
    ----------
    gt : sequence
        ``gt[i]`` has ``bbox`` (R, 4) and ``label`` (R,), optionally
        ``difficult``, ``iscrowd`` (bool, default False) and ``area``
        (default: the box area).

    Returns
    -------
    FlatGroundTruth

    Raises
    ------
    ValueError, TypeError
        If an entry is malformed (the message names the image index).

    Examples
    --------
    >>> flatten_ground_truth([{"bbox": [[0, 0, 2, 1]], "label": [0]}]).area
    array([2.])
    """
    _check_len(gt, "gt")
    anns = []
    for i, g in enumerate(gt):
        try:
            anns.append(
                g
                if isinstance(g, Annotation)
                else Annotation(
                    _field(g, "bbox"),
                    _field(g, "label"),
                    _field(g, "difficult"),
                    _field(g, "iscrowd"),
                    _field(g, "area"),
                )
            )
        except (ValueError, TypeError) as err:
            raise type(err)(f"gt[{i}]: {err}") from None
    sizes = [len(a.label) for a in anns]

    def cat(arrays, empty):
        return np.concatenate(arrays) if arrays else empty

    return FlatGroundTruth(
        np.repeat(np.arange(len(anns)), sizes).astype(np.int64),
        cat([a.bbox for a in anns], np.zeros((0, 4))).astype(np.float64),
        cat([a.label for a in anns], np.zeros(0, np.int64)).astype(np.int64),
        cat([a.difficult for a in anns], np.zeros(0, bool)),
        cat([a.iscrowd for a in anns], np.zeros(0, bool)),
        cat([a.box_area() for a in anns], np.zeros(0)).astype(np.float64),
    )


def group_pairs(det_group: np.ndarray, gt_start: np.ndarray, gt_count: np.ndarray):
    """Every (detection, ground truth) pair that shares a group, in a flat layout.

    Parameters
    ----------
    det_group : ndarray, shape (N,), int64
        Group (e.g. image x class) of each detection.
    gt_start, gt_count : ndarray, shape (n_group,), int64
        The ground-truth boxes of group g are ``gt_start[g] : gt_start[g] + gt_count[g]``
        (ground truth sorted by group).

    Returns
    -------
    pair_det, pair_gt : ndarray, shape (P,), int64
        ``P = sum(gt_count[det_group])`` pairs, ordered by detection, then by
        ground-truth index.

    Examples
    --------
    >>> group_pairs(np.array([0, 1, 1]), np.array([0, 2]), np.array([2, 1]))
    (array([0, 0, 1, 2]), array([0, 1, 2, 2]))
    """
    counts = gt_count[det_group]
    pair_det = np.repeat(np.arange(len(det_group)), counts)
    pair_gt = concat_ranges(gt_start[det_group], counts)
    return pair_det.astype(np.int64), pair_gt


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a loop.

    Parameters
    ----------
    starts, counts : ndarray, shape (n,), int

    Returns
    -------
    ndarray, shape (sum(counts),), int64

    Examples
    --------
    >>> concat_ranges(np.array([5, 0]), np.array([2, 3]))
    array([5, 6, 0, 1, 2])
    """
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    # Position inside each run: arange(total) - (start of the run in the output).
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + (np.arange(int(counts.sum()), dtype=np.int64) - run_start)


def max_per_run(values: np.ndarray, counts: np.ndarray, *, empty: float) -> np.ndarray:
    """Maximum of each consecutive run of ``values``; ``empty`` for a run of length 0.

    Parameters
    ----------
    values : ndarray, shape (sum(counts),)
        Runs laid end to end (e.g. the pair IoUs of :func:`group_pairs`, by detection).
    counts : ndarray, shape (n,), int
        Length of each run.
    empty : float
        Value for runs of length 0.

    Returns
    -------
    ndarray, shape (n,), float64

    Examples
    --------
    >>> max_per_run(np.array([0.2, 0.7, 0.5]), np.array([2, 0, 1]), empty=-1.0)
    array([ 0.7, -1. ,  0.5])
    """
    out = np.full(len(counts), empty, dtype=np.float64)
    has = counts > 0
    if has.any():
        out[has] = np.maximum.reduceat(values, (np.cumsum(counts) - counts)[has])
    return out
