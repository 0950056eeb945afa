r"""Non-maximum suppression: greedy NMS, its plain reference, and class-aware NMS.

The semantics, shared by every function here and by :mod:`bboxcore.nms_variants`:

* boxes are ranked by decreasing score; equal scores rank the lower input index
  first (a stable sort; ``-0.0`` equals ``0.0``);
* walking down the ranking, a box is **kept** unless its IoU with an already
  kept, higher-ranked box is **strictly greater** than ``iou_thresh``;
* the IoU is :func:`bboxcore.box_iou`'s arithmetic in the boxes' floating dtype
  (float32 stays float32), and it is compared with the threshold in that dtype,
  as ``iou > iou_thresh`` does in NumPy (the threshold is rounded to float32
  first): a pair whose intersection and union are exact in the dtype and whose
  IoU is exactly ``iou_thresh`` is never suppressed, in float32 as in float64;
* so a zero-area box has IoU 0 with everything: it is never suppressed and
  suppresses nothing; ``iou_thresh = 1`` keeps every box (a computed IoU never
  exceeds 1, identical boxes included); ``iou_thresh = 0`` keeps a set of
  pairwise non-overlapping boxes.

:func:`nms_reference` is the slide's algorithm (*Detection – 3 stages*, §A3.b) written as
plainly as possible, the oracle of the tests; :func:`nms` returns the same
indices on every input, fast (its engine is the private ``bboxcore._nms_fast``).
Soft-NMS and CenterNet's heatmap peaks are in
:mod:`bboxcore.nms_variants` (and importable from here too).

NOTE: the package re-exports the function ``nms``, which hides this module's
name on ``bboxcore``: write ``from bboxcore.nms import nms_reference``, not
``import bboxcore.nms as m`` (that binds the function).
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import count, in_dtype, real, scored_boxes, unit_interval
from bboxcore._nms_fast import nms_sorted
from bboxcore.iou import pairwise_iou_unchecked

__all__ = ["batched_nms", "nms", "nms_reference"]


# --------------------------------------------------------------------------- reference
def nms_reference(boxes, scores, iou_thresh: float) -> np.ndarray:
    """Greedy NMS exactly as on the slide, one kept box at a time: the tests' oracle.

    *Detection – 3 stages*, §A3.b: *sort the boxes by score; take the first one and remove
    those whose IoU with it is higher than the threshold; repeat until no box
    is left.* Same semantics and errors as :func:`nms`, which returns the same
    indices faster; this one takes O(K R) time for K kept boxes.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    scores : array_like, shape (R,)
        Their scores; higher is better.
    iou_thresh : float
        In [0, 1]; a box is removed when its IoU with the taken box is strictly
        greater than this.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Indices into ``boxes`` of the kept boxes, by decreasing score.

    Raises
    ------
    TypeError
        If an input is not numeric.
    ValueError
        As :func:`nms`.

    Examples
    --------
    >>> boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]]
    >>> nms_reference(boxes, [0.9, 0.8, 0.7], iou_thresh=0.5)  # IoU(0, 1) = 90 / 110
    array([0, 2])
    """
    b, s = scored_boxes(boxes, scores)
    thresh = in_dtype(unit_interval(iou_thresh, "iou_thresh"), b.dtype)
    order = _rank(s)  # 1. sort by score
    keep = []
    while order.size > 0:
        top, rest = order[0], order[1:]  # 2. take the first one ...
        keep.append(top)
        iou = pairwise_iou_unchecked(b[top : top + 1], b[rest])[0]  # (1, |rest|) -> (|rest|,)
        order = rest[~(iou > thresh)]  # ... and remove those that overlap it more; 3. repeat
    return np.array(keep, dtype=np.int64)


def _nms_impl(boxes, scores, iou_thresh, labels, score_thresh, max_output) -> np.ndarray:
    b, s = scored_boxes(boxes, scores)
    thresh = float(in_dtype(unit_interval(iou_thresh, "iou_thresh"), b.dtype))
    limit = count(max_output, "max_output", allow_none=True)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.dtype.kind not in "biu" and labels.size:  # [] is float64: accept it
            raise TypeError(f"labels must be an integer array; got dtype {labels.dtype}")
        if labels.shape != (b.shape[0],):
            raise ValueError(
                f"labels must have shape (R,) = ({b.shape[0]},) matching boxes; got {labels.shape}"
            )
    idx = np.arange(b.shape[0])
    if score_thresh is not None:
        idx = np.flatnonzero(s > in_dtype(real(score_thresh, "score_thresh"), s.dtype))
    order = idx[_rank(s[idx])]  # (R',) input indices by rank
    lab = None if labels is None else labels[order]
    keep = nms_sorted(b[order], thresh, lab, limit)
    return order[keep].astype(np.int64)


def nms(boxes, scores, iou_thresh: float, *, score_thresh=None, max_output=None) -> np.ndarray:
    r"""Greedy non-maximum suppression: the highest-scoring box of each overlapping group.

    Boxes are taken by decreasing score; a box is dropped when its IoU with an
    already kept box is strictly greater than ``iou_thresh`` (*Detection – 3 stages*, §A3.b;
    R-CNN [1]_, Sec. 2.2):

    .. math::
        \text{keep } b_j \iff \nexists\, i \in \text{keep},\ \mathrm{rank}(i) < \mathrm{rank}(j):
        \ \mathrm{IoU}(b_i, b_j) > t

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels (continuous
        convention, width = ``x_max - x_min``). The IoU is computed in their
        floating dtype: float32 stays float32.
    scores : array_like, shape (R,)
        Their scores; higher is better; ``inf`` allowed, NaN not.
    iou_thresh : float
        ``t`` in [0, 1]; suppression needs an IoU strictly above it, compared
        in the boxes' dtype (``iou > iou_thresh`` as NumPy evaluates it).
    score_thresh : float, optional
        Only boxes with ``score > score_thresh`` (in the scores' dtype) take
        part; filtering before or after NMS gives the same result, as a low box
        can only suppress lower ones.
    max_output : int, optional
        Return at most this many boxes: the top ones after NMS. The fast path
        stops as soon as it has them.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Indices into ``boxes`` of the kept boxes, by decreasing score (equal
        scores: lower index first). R = 0 gives an empty array.

    Raises
    ------
    TypeError
        If an input is not numeric, or a threshold is not a real number.
    ValueError
        If ``boxes`` is not (R, 4), holds NaN/inf or an inverted box, or is so
        large that the union of two boxes overflows its dtype; if ``scores`` is
        not (R,) or holds NaN; if ``iou_thresh`` is outside [0, 1] or NaN; if
        ``score_thresh`` is NaN; if ``max_output`` is negative.

    Notes
    -----
    The result is identical, index for index, to :func:`nms_reference` (the
    tests check it on random, clustered and adversarial inputs). The fast
    path (``bboxcore._nms_fast``) ranks the boxes, then repeats: take the
    next :data:`~bboxcore.nms_fast.NMS_BLOCK` boxes not yet suppressed;
    resolve them among themselves with one (B, B) IoU matrix; let the kept
    ones suppress all later boxes at once. For that last step a spatial index
    lists only the boxes that can reach IoU > t with a kept box: IoU <= the
    ratio of the two areas, and <= the intersection's width (height) over
    either width (height), so their log-areas, ``x_min`` and ``y_min`` must be
    close. The index widens its windows by more than the rounding error of
    the IoU, so that no pair is missed.

    ``bboxcore bench nms`` times it against the reference: 10-50 ms for
    12 000 float32 proposals, where the reference takes 0.3-2 s.

    References
    ----------
    .. [1] R. Girshick, J. Donahue, T. Darrell, J. Malik. "Rich feature
       hierarchies for accurate object detection and semantic segmentation."
       CVPR 2014, arXiv:1311.2524.

    Examples
    --------
    >>> boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    >>> scores = np.array([0.8, 0.9, 0.7, 0.8])
    >>> nms(boxes, scores, iou_thresh=0.5)  # box 1 (0.9) suppresses 0 and 3 (IoU 90/110)
    array([1, 2])
    >>> nms(boxes, scores, iou_thresh=1.0)  # nothing exceeds IoU 1; ties: lower index first
    array([1, 0, 3, 2])
    >>> nms(boxes, scores, 0.5, score_thresh=0.75, max_output=1)
    array([1])
    """
    return _nms_impl(boxes, scores, iou_thresh, None, score_thresh, max_output)


def batched_nms(
    boxes, scores, labels, iou_thresh: float, *, score_thresh=None, max_output=None
) -> np.ndarray:
    r"""Class-aware NMS: boxes with different labels never suppress each other.

    The same as running :func:`nms` on each label separately and merging the
    kept boxes by decreasing score, but in one pass.

    Parameters
    ----------
    boxes : array_like, shape (R, 4)
        Boxes ``(x_min, y_min, x_max, y_max)`` in pixels.
    scores : array_like, shape (R,)
        Their scores; higher is better.
    labels : array_like, shape (R,), int
        Class of each box (any integers: 1..K, or 0..K-1).
    iou_thresh : float
        In [0, 1]; as in :func:`nms`, within each label.
    score_thresh, max_output
        As in :func:`nms`; ``max_output`` counts boxes of all labels together.

    Returns
    -------
    keep : ndarray, shape (K,), int64
        Indices into ``boxes``, by decreasing score (ties: lower index first).

    Raises
    ------
    TypeError
        If ``labels`` is not an integer array, or as :func:`nms`.
    ValueError
        If ``labels`` is not (R,), or as :func:`nms`.

    Notes
    -----
    The usual one-call trick (torchvision's ``batched_nms``) shifts every box
    by ``label * (max coordinate + 1)`` so that boxes of different labels lie
    far apart and cannot overlap, then runs plain NMS. In float32 the shift
    rounds the coordinates (at 10 000 px, float32 steps are ~0.001 px), which
    changes IoUs near the threshold, so that trick does not always match the
    per-class loop. Here no box moves: the suppression step only counts pairs
    with equal labels, which gives exactly the per-class loop's result.

    Examples
    --------
    >>> boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10]])
    >>> batched_nms(boxes, [0.9, 0.8, 0.7], labels=[1, 2, 1], iou_thresh=0.5)
    array([0, 1])
    """
    return _nms_impl(boxes, scores, iou_thresh, labels, score_thresh, max_output)


# --------------------------------------------------------------------------- ranking
def _rank(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score; equal scores by increasing index."""
    # NOTE: ties. A stable sort of -scores keeps equal scores in input order; -(-0.0) == 0.0
    # compares equal to 0.0, and +-inf sort at the ends, so the ranking is total and stable.
    return np.argsort(-scores, kind="stable")
