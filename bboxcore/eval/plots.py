"""Pictures of the metrics: PR curves, recall-IoU curves, boxes on an image (matplotlib).

Each function draws into ``ax`` (a new figure when omitted) and returns the
axes, so that a notebook can combine them. matplotlib is imported when a
function is called, not when this module is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_detections", "plot_pr_curves", "plot_recall_iou"]

GT_COLOR = "tab:green"
PRED_COLOR = "tab:red"


def _axes(ax, figsize=(5, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def plot_pr_curves(result, class_names: Sequence[str] | None = None, ax=None):
    """Precision-recall curve of each class, with its AP in the legend.

    Parameters
    ----------
    result : VOCResult or COCOResult
        From :func:`bboxcore.eval.voc_ap` (the raw curve of ranked detections,
        as a step plot) or :func:`bboxcore.eval.coco_ap` (the interpolated
        precision at IoU 0.5, all areas, 100 detections, over the 101 recall
        thresholds).
    class_names : sequence of str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from bboxcore.eval import voc_ap
    >>> r = voc_ap([{"bbox": [[0, 0, 4, 4]], "label": [0], "score": [1.0]}],
    ...            [{"bbox": [[0, 0, 4, 4]], "label": [0]}])
    >>> plot_pr_curves(r, ["dog"]).get_xlabel()
    'recall'
    """
    from bboxcore.eval.coco import RECALL_THRESHOLDS, COCOResult

    ax = _axes(ax)
    if isinstance(result, COCOResult):
        prec = result.precision[0, :, :, 0, -1]  # (R, K) at IoU 0.5, all areas, 100 dets
        for k in range(prec.shape[1]):
            if prec[0, k] < 0:
                continue  # a class without boxes
            name = class_names[k] if class_names else str(k)
            ax.plot(RECALL_THRESHOLDS, prec[:, k], label=f"{name} (AP50 {prec[:, k].mean():.3f})")
        ax.set_title("COCO PR curves @ IoU 0.5 (interpolated)")
    else:
        for k, (p, r) in enumerate(zip(result.precision, result.recall)):
            if np.isnan(result.ap[k]):
                continue
            name = class_names[k] if class_names else str(k)
            ax.step(
                np.r_[0.0, r], np.r_[1.0, p], where="post", label=f"{name} (AP {result.ap[k]:.3f})"
            )
        ax.set_title(f"VOC PR curves @ IoU {result.iou_thresh:g}, mAP {result.map:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower left", fontsize="small")
    return ax


def plot_recall_iou(recall, thresholds, n_proposals: Sequence[int] | None = None, ax=None):
    """Recall against the IoU threshold, one curve per number of proposals (Faster R-CNN Fig. 4).

    Parameters
    ----------
    recall : ndarray, shape (T,) or (P, T)
        From :func:`bboxcore.eval.recall_at_iou`.
    thresholds : array_like, shape (T,)
    n_proposals : sequence of int, optional
        The P numbers of proposals, for the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> plot_recall_iou(np.array([[0.9, 0.5], [1.0, 0.6]]), [0.5, 0.7], [300, 2000]).get_ylabel()
    'recall'
    """
    ax = _axes(ax)
    rec = np.atleast_2d(np.asarray(recall, dtype=np.float64))
    thr = np.asarray(thresholds, dtype=np.float64)
    for i, row in enumerate(rec):
        label = f"{n_proposals[i]} proposals" if n_proposals is not None else None
        ax.plot(thr, row, marker=".", label=label)
    ax.set_xlabel("IoU threshold")
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1.05)
    if n_proposals is not None:
        ax.legend(fontsize="small")
    return ax


def plot_detections(
    image,
    gt=None,
    pred=None,
    class_names: Sequence[str] | None = None,
    *,
    score_thresh: float = 0.0,
    ax=None,
):
    """An image with its ground-truth boxes (green) and predicted boxes (red, dashed, scored).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3) or (H, W)
        Pixels in [0, 1] (or uint8).
    gt : object with ``bbox`` and ``label``, optional
        E.g. a :class:`~bboxcore.data.sample.Sample` or ``Annotation``.
    pred : object with ``bbox``, ``label`` and ``score``, optional
        E.g. a :class:`~bboxcore.data.sample.Detection`; boxes with a score
        below ``score_thresh`` are not drawn.
    class_names : sequence of str, optional
    score_thresh : float
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from bboxcore.data import Annotation, Detection
    >>> ax = plot_detections(np.zeros((8, 8, 3)), Annotation([[1, 1, 5, 5]], [0]),
    ...                      Detection([[2, 1, 6, 5]], [0], [0.8]), ["dog"])
    >>> len(ax.patches)
    2
    """
    from matplotlib.patches import Rectangle

    ax = _axes(ax, figsize=(6, 6))
    ax.imshow(image, cmap="gray" if np.ndim(image) == 2 else None)

    def name(k):
        return class_names[int(k)] if class_names else str(int(k))

    def draw(bbox, labels, scores, color, style):
        for i, (x1, y1, x2, y2) in enumerate(np.asarray(bbox, dtype=np.float64)):
            ax.add_patch(
                Rectangle(
                    (x1, y1),
                    x2 - x1,
                    y2 - y1,
                    fill=False,
                    edgecolor=color,
                    linestyle=style,
                    linewidth=1.5,
                )
            )
            text = name(labels[i]) + (f" {scores[i]:.2f}" if scores is not None else "")
            ax.text(
                x1,
                y1,
                text,
                color="white",
                fontsize=7,
                va="bottom",
                bbox={"facecolor": color, "alpha": 0.7, "pad": 1, "linewidth": 0},
            )

    if gt is not None:
        draw(gt.bbox, gt.label, None, GT_COLOR, "-")
    if pred is not None:
        keep = np.asarray(pred.score) >= score_thresh
        draw(
            np.asarray(pred.bbox)[keep],
            np.asarray(pred.label)[keep],
            np.asarray(pred.score)[keep],
            PRED_COLOR,
            "--",
        )
    ax.set_axis_off()
    return ax
