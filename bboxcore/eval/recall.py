r"""Proposal recall: how many ground-truth boxes the top-N region proposals cover.

The measure behind the Faster R-CNN paper's Fig. 4 [1]_ (recall of the RPN's
proposals against IoU, for 300, 1000 and 2000 proposals), after Hosang et
al. [2]_: a ground-truth box is *recalled* at threshold t by the first N
proposals of its image when one of them overlaps it by IoU >= t,

.. math::
    \mathrm{recall}(t, N) = \frac{1}{|G|} \sum_{g \in G}
    \left[\max_{n \le N} \mathrm{IoU}(p_n, g) \ge t\right]

over all ground-truth boxes G of all images. A proposal may recall several
boxes (no one-to-one assignment), and classes are not looked at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bboxcore.boxes import as_boxes
from bboxcore.iou import box_iou

__all__ = ["DEFAULT_THRESHOLDS", "recall_at_iou"]

#: IoU thresholds 0.5, 0.55, ..., 1.0 (the x axis of Faster R-CNN Fig. 4).
DEFAULT_THRESHOLDS = np.linspace(0.5, 1.0, 11)


def _boxes_of(item, name: str) -> np.ndarray:
    """An (R, 4) array from an array or an object/mapping with ``bbox`` (sorted by ``score``)."""
    if isinstance(item, Mapping) or hasattr(item, "bbox"):
        get = item.get if isinstance(item, Mapping) else lambda k, d=None: getattr(item, k, d)
        box = as_boxes(get("bbox"), name).astype(np.float64)
        score = get("score")
        if score is not None:
            score = np.asarray(score, dtype=np.float64)
            if score.shape != (len(box),):
                raise ValueError(f"{name} score must have shape ({len(box)},); got {score.shape}")
            box = box[np.argsort(-score, kind="stable")]
        return box
    return as_boxes(item, name).astype(np.float64)


def recall_at_iou(
    proposals: Sequence,
    gt: Sequence,
    thresholds=DEFAULT_THRESHOLDS,
    n_proposals: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Recall of the top-N proposals of each image against IoU thresholds.

    Parameters
    ----------
    proposals : sequence, one entry per image
        ``ndarray, shape (R, 4)`` of proposals in rank order (best first), or
        objects/mappings with ``bbox`` (and ``score``, then sorted by it).
    gt : sequence, one entry per image
        ``ndarray, shape (G, 4)`` of ground-truth boxes, or objects/mappings
        with ``bbox`` (e.g. :class:`~bboxcore.data.sample.Annotation`).
    thresholds : array_like, shape (T,)
        IoU thresholds in [0, 1].
    n_proposals : int or sequence of int, optional
        Use only the first N proposals of each image (all when None). A
        sequence of P values gives one row per value.

    Returns
    -------
    recall : ndarray, shape (T,) or (P, T)
        Share of all ground-truth boxes recalled at each threshold; (P, T)
        when ``n_proposals`` is a sequence.

    Raises
    ------
    ValueError
        If the lengths differ, a box array is malformed, a threshold is
        outside [0, 1], ``n_proposals`` is not positive, or there is no
        ground-truth box at all (recall is undefined).

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497, Fig. 4.
    .. [2] J. Hosang, R. Benenson, P. Dollár, B. Schiele. "What makes for
       effective detection proposals?" TPAMI 2016, arXiv:1502.05082.

    Examples
    --------
    >>> gt = [np.array([[0., 0., 10., 10.], [20., 20., 30., 30.]])]
    >>> prop = [np.array([[0., 0., 10., 8.], [50., 50., 60., 60.]])]  # IoU 0.8 with box 0
    >>> recall_at_iou(prop, gt, [0.5, 0.9])
    array([0.5, 0. ])
    >>> recall_at_iou(prop, gt, [0.5], n_proposals=[1, 2])
    array([[0.5],
           [0.5]])
    """
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if not (np.all(thr >= 0) and np.all(thr <= 1)):
        raise ValueError(f"thresholds must be in [0, 1]; got {thr}")
    if len(proposals) != len(gt):
        raise ValueError(
            f"proposals and gt must have one entry per image; got {len(proposals)} and {len(gt)}"
        )
    many = n_proposals is not None and not np.isscalar(n_proposals)
    ns = list(n_proposals) if many else [n_proposals]
    for n in ns:
        if n is not None and (int(n) != n or n < 1):
            raise ValueError(f"n_proposals must be positive integers; got {n_proposals!r}")
    # best[p][g]: the best IoU of each ground-truth box among the first N_p proposals.
    best = [[] for _ in ns]
    for i, (p, g) in enumerate(zip(proposals, gt)):
        g_box = _boxes_of(g, f"gt[{i}]")
        p_box = _boxes_of(p, f"proposals[{i}]")
        if len(g_box) == 0:
            continue
        iou = box_iou(g_box, p_box)  # (G, R)
        running = np.maximum.accumulate(iou, axis=1) if iou.shape[1] else iou
        for k, n in enumerate(ns):
            upto = iou.shape[1] if n is None else min(int(n), iou.shape[1])
            best[k].append(running[:, upto - 1] if upto else np.zeros(len(g_box)))
    if not best[0]:
        raise ValueError("gt has no boxes at all: recall is undefined")
    out = np.stack([(np.concatenate(b)[None, :] >= thr[:, None]).mean(axis=1) for b in best])
    return out if many else out[0]
