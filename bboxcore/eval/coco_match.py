"""The vectorised greedy matching behind :func:`bboxcore.eval.coco_ap`.

The official code loops, in Python, over images x classes x area ranges x
IoU thresholds x detections x boxes. Here the only Python loop is over the
rank ``j`` of a detection inside its (image, class) group: step j matches the
j-th candidate detection of *every* group, for every area range and IoU
threshold at once, against the boxes still free. Two things keep it short:

* only *candidates* — detections whose IoU with some box of their group is at
  least the lowest threshold, 0.5 — enter the loop; the others match nothing;
* groups are padded into blocks of equal box count G, rows sorted by their
  number of candidates (decreasing), so that step j works on a prefix.

The rules themselves (which box a detection takes) are in
:mod:`bboxcore.eval.coco`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bboxcore.eval.inputs import (
    FlatDetections,
    FlatGroundTruth,
    concat_ranges,
    group_pairs,
    max_per_run,
)
from bboxcore.iou import box_iou_aligned

__all__ = ["AREA_RANGES", "IOU_THRESHOLDS", "MAX_DETS", "Matches", "match_detections"]

#: The ten IoU thresholds 0.50:0.05:0.95, built exactly as the official code does.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
#: Most detections per image and class that are looked at, for AP and AR@1/10/100.
MAX_DETS = (1, 10, 100)
#: Area ranges in pixels², inclusive at both ends: all, small, medium, large.
AREA_RANGES = ((0.0, 1e5**2), (0.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
#: Elements per temporary of the matching loop and of the pair IoU (bounds memory).
BLOCK_BUDGET = 1 << 22


@dataclass
class Matches:
    """Every kept detection (the first ``MAX_DETS[-1]`` of each image and class), ranked.

    Order: by class, then decreasing score; ties keep image order, then the
    rank inside the image (the official accumulation order).

    Attributes
    ----------
    label, rank : ndarray, shape (N,)
        Class, and rank inside its (image, class) group (0 = best score).
    matched, ignored : ndarray, shape (A, T, N), bool
        Matched to a box / ignored, per area range and IoU threshold.
    n_pos : ndarray, shape (A, K)
        Non-ignored boxes per area range and class.
    """

    label: np.ndarray
    rank: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray
    n_pos: np.ndarray


def _crowd_iou(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``|D ∩ G| / |D|`` of aligned boxes: COCO's overlap with a crowd region."""
    iw = np.clip(np.minimum(d[:, 2], g[:, 2]) - np.maximum(d[:, 0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(d[:, 3], g[:, 3]) - np.maximum(d[:, 1], g[:, 1]), 0, None)
    area = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])
    return np.divide(iw * ih, area, out=np.zeros_like(area), where=area > 0)


def _pair_iou(d_box, g_box, g_crowd, pair_det, pair_gt) -> np.ndarray:
    """IoU of each (detection, box) pair, IoA for crowd boxes, in chunks."""
    out = np.empty(len(pair_det))
    step = BLOCK_BUDGET // 8
    for s in range(0, len(pair_det), step):
        pd, pg = pair_det[s : s + step], pair_gt[s : s + step]
        a, b = d_box[pd], g_box[pg]
        iou = box_iou_aligned(a, b)
        crowd = g_crowd[pg]
        if crowd.any():
            iou[crowd] = _crowd_iou(a[crowd], b[crowd])
        out[s : s + step] = iou
    return out


def _match_block(iou, n_det, g_ignore, g_crowd):
    """The greedy matching of a block of groups, every (area, threshold) at once.

    ``iou`` (n, C, G): IoU of each group's c-th candidate (in rank order) with its
    boxes, -1 for padding. The box axis is *reversed* (column 0 holds the group's
    last box), so that NumPy's argmax, which returns the first maximum, picks the
    official *last* one. Rows are sorted by ``n_det`` (candidates per row),
    decreasing, so step j works on a prefix. ``g_ignore`` (A, n, G): box ignored
    in area range a; ``g_crowd`` (n, G). Returns matched, matched_ignored (A, T, n, C).
    """
    n, c_max, g_max = iou.shape
    a_n, t_n = g_ignore.shape[0], len(IOU_THRESHOLDS)
    taken = np.zeros((a_n, t_n, n, g_max), dtype=bool)
    matched = np.zeros((a_n, t_n, n, c_max), dtype=bool)
    matched_ig = np.zeros_like(matched)
    thr = IOU_THRESHOLDS[None, :, None, None]
    regular = ~g_ignore[:, None]  # (A, 1, n, G)
    for j in range(c_max):
        k = int(np.count_nonzero(n_det > j))  # the rows that still have a j-th candidate
        v = iou[:k, j, :]  # (k, G)
        # NOTE: one key orders the boxes the official way: any regular candidate (key = IoU
        # in [0.5, 1]) beats any ignored one (key = IoU - 1 in [-0.5, 0], exact by Sterbenz's
        # lemma), which beats a non-candidate (-2). Crowd boxes are never used up.
        cand = (~taken[:, :, :k] | g_crowd[:k]) & (v >= thr)  # (A, T, k, G)
        key = np.where(cand, np.where(regular[:, :, :k], v, v - 1.0), -2.0)
        m = key.argmax(axis=-1)  # (A, T, k)
        best = np.take_along_axis(key, m[..., None], axis=-1)[..., 0]
        hit = best > -1.0
        matched[:, :, :k, j] = hit
        matched_ig[:, :, :k, j] = hit & (best <= 0.0)
        ai, ti, ni = np.nonzero(hit)
        taken[ai, ti, ni, m[ai, ti, ni]] = True
    return matched, matched_ig


def _match_groups(blk, cand, c_first, c_count, g_start, size, pair_det, iou, g_ignore, g_crowd):
    """Pad one block of groups (all with ``size`` boxes) into arrays and match them.

    Returns the candidates' indices and their matched / matched-to-ignored flags (A, T, n).
    """
    blk = blk[np.argsort(-c_count[blk], kind="stable")]  # most candidates first
    n, c_max = len(blk), int(c_count[blk].max())
    rows = np.repeat(np.arange(n), c_count[blk])  # block row of each candidate
    cols = concat_ranges(np.zeros(n, np.int64), c_count[blk])  # its rank among candidates
    dets = cand[concat_ranges(c_first[blk], c_count[blk])]
    # Each candidate's `size` pairs are contiguous in the flat pair arrays.
    pair_start = np.searchsorted(pair_det, dets)
    iou_pad = np.empty((n, c_max, size))
    iou_pad.fill(-1.0)
    rev = size - 1 - np.arange(size)  # column c holds box size - 1 - c (see _match_block)
    iou_pad[rows, cols] = iou[pair_start[:, None] + rev[None, :]]
    box_idx = g_start[blk][:, None] + rev[None, :]  # (n, G)
    m, mi = _match_block(iou_pad, c_count[blk], g_ignore[:, box_idx], g_crowd[box_idx])
    return dets, m[:, :, rows, cols], mi[:, :, rows, cols]


def match_detections(d: FlatDetections, g: FlatGroundTruth, k_class: int, n_image: int) -> Matches:
    """Match every detection to the ground truth, per area range and IoU threshold.

    COCO's greedy rule, for each (image, class) group, area range ``a`` and
    threshold ``t`` of :data:`IOU_THRESHOLDS`: detections are taken in order of
    decreasing score, and each one takes the free box with which it has the
    highest IoU, provided it is at least ``t`` (regular boxes before ignored
    ones; crowd boxes, matched by IoA, are never used up). Only the first
    ``MAX_DETS[-1]`` detections of each group are kept. The rules are stated in
    :mod:`bboxcore.eval.coco`; this is the vectorised engine behind
    :func:`bboxcore.eval.coco_ap`.

    Parameters
    ----------
    d : FlatDetections
        All detections, from :func:`bboxcore.eval.inputs.flatten_detections`:
        N boxes ``(x_min, y_min, x_max, y_max)`` in pixels with image index,
        label and score.
    g : FlatGroundTruth
        All ground-truth boxes, from
        :func:`bboxcore.eval.inputs.flatten_ground_truth`.
    k_class : int
        Number of classes K; every label of ``d`` and ``g`` must be below it.
    n_image : int
        Number of images; every image index must be below it.

    Returns
    -------
    Matches
        The kept detections ranked by class, then decreasing score, with
        ``matched`` and ``ignored`` of shape ``(A, T, N)`` (A =
        ``len(AREA_RANGES)``, T = ``len(IOU_THRESHOLDS)``) and the per-range,
        per-class box counts ``n_pos``.

    Notes
    -----
    Nothing is validated here: :func:`~bboxcore.eval.inputs.flatten_detections`
    and :func:`~bboxcore.eval.inputs.flatten_ground_truth` already did, and
    :func:`bboxcore.eval.coco_ap` derives ``k_class`` and ``n_image`` from the
    inputs. A label or image index out of range gives a NumPy error or wrong
    matches, not a message naming the argument.

    Examples
    --------
    One box and two detections of it: the better-scored one (IoU 0.8) takes
    the box up to the threshold 0.80; above that the box is free and the
    second one (IoU 0.9) takes it at 0.85 and 0.90. At 0.95 neither does.

    >>> from bboxcore.eval.inputs import flatten_detections, flatten_ground_truth
    >>> g = flatten_ground_truth([{"bbox": [[0, 0, 10, 10]], "label": [0]}])
    >>> bbox = [[0, 0, 10, 8], [0, 0, 10, 9]]
    >>> d = flatten_detections([{"bbox": bbox, "label": [0, 0], "score": [0.9, 0.8]}])
    >>> m = match_detections(d, g, k_class=1, n_image=1)
    >>> m.matched[0].T.astype(int)  # area range 'all'; rows: detections, columns: thresholds
    array([[1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 1, 1, 0]])
    >>> m.n_pos[:, 0].tolist()  # the 10 x 10 box counts in 'all' and 'small'
    [1, 1, 0, 0]
    """
    a_n, t_n = len(AREA_RANGES), len(IOU_THRESHOLDS)
    n_group = n_image * k_class
    # Detections by (image, class) group, then decreasing score; stable (ties: input order).
    d_group = d.image * k_class + d.label
    order = np.lexsort((-d.score, d_group))
    d_group = d_group[order]
    d_count = np.bincount(d_group, minlength=n_group)
    rank = np.arange(len(order)) - np.repeat(np.cumsum(d_count) - d_count, d_count)
    keep = rank < MAX_DETS[-1]
    order, d_group, rank = order[keep], d_group[keep], rank[keep]
    d_box, score, label = d.bbox[order], d.score[order], d_group % max(k_class, 1)
    # The final ranking per class: stable on -score keeps (image, rank) order for ties.
    ranked = np.lexsort((-score, label))
    pos = np.empty_like(ranked)
    pos[ranked] = np.arange(len(ranked))
    # Ground truth by group, in input order, and which boxes each area range ignores.
    g_group = g.image * k_class + g.label
    g_order = np.argsort(g_group, kind="stable")
    g_box, g_crowd, g_area = g.bbox[g_order], g.iscrowd[g_order], g.area[g_order]
    g_count = np.bincount(g_group, minlength=n_group)
    g_start = np.cumsum(g_count) - g_count
    lo, hi = (np.array(r)[:, None] for r in zip(*AREA_RANGES))
    g_ignore = g_crowd[None, :] | (g_area[None, :] < lo) | (g_area[None, :] > hi)  # (A, M)
    n_pos = np.stack([np.bincount(g.label[g_order][~ig], minlength=k_class) for ig in g_ignore])

    pair_det, pair_gt = group_pairs(d_group, g_start, g_count)
    iou = _pair_iou(d_box, g_box, g_crowd, pair_det, pair_gt)
    best = max_per_run(iou, g_count[d_group], empty=-1.0)
    matched = np.zeros((a_n, t_n, len(d_group)), dtype=bool)
    matched_ig = np.zeros_like(matched)
    cand = np.flatnonzero(best >= IOU_THRESHOLDS[0])  # only these can match anything
    groups, c_first, c_count = np.unique(d_group[cand], return_index=True, return_counts=True)
    per_row = max(a_n * t_n, int(c_count.max(initial=0)))
    for size in np.unique(g_count[groups]).tolist():
        same = np.flatnonzero(g_count[groups] == size)
        rows = max(1, BLOCK_BUDGET // (size * per_row))
        for b0 in range(0, len(same), rows):
            blk = same[b0 : b0 + rows]
            dets, m, mi = _match_groups(
                blk, cand, c_first, c_count, g_start[groups], size, pair_det, iou, g_ignore, g_crowd
            )
            matched[:, :, pos[dets]] = m
            matched_ig[:, :, pos[dets]] = mi
    d_area = (d_box[ranked, 2] - d_box[ranked, 0]) * (d_box[ranked, 3] - d_box[ranked, 1])
    d_out = (d_area[None, :] < lo) | (d_area[None, :] > hi)  # (A, N)
    ignored = matched_ig | (~matched & d_out[:, None, :])
    return Matches(label[ranked], rank[ranked], matched, ignored, n_pos)
