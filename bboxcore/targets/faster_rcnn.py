r"""Target assignment for Faster R-CNN's two heads, and the proposal layer between them.

Three callables, in the order a training step meets them [1]_ (*The losses of Faster R-CNN*):

* :class:`AnchorTargetCreator` — labels and regression targets for the RPN:
  which anchors are objects (1), background (0) or ignored (-1);
* :class:`ProposalCreator` — the RPN's scored, decoded anchors turned into
  region proposals (RoIs): clip, drop tiny boxes, top-n, NMS, top-n;
* :class:`ProposalTargetCreator` — samples RoIs for the head and gives each
  its class (0 = background, 1..K) and normalised regression target.

They are plain NumPy and have no gradient: they only take part in the
forward pass (*The losses of Faster R-CNN*). All randomness comes from the ``rng`` argument, so
a seed reproduces a training step exactly. Boxes are ``(x_min, y_min, x_max,
y_max)`` in image pixels; offsets ``(t_x, t_y, t_w, t_h)`` (see
:mod:`bboxcore.encoding`).

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bboxcore._checks import (
    as_boxes,
    as_float_array,
    as_image_size,
    check_finite,
    check_rng,
    checked_area,
    count,
    non_negative,
    positive,
    result_float_dtype,
    unit_interval,
)
from bboxcore.anchors import inside_image
from bboxcore.boxes import clip_boxes, remove_small_boxes
from bboxcore.encoding import LOC_NORMALIZE_MEAN, LOC_NORMALIZE_STD, bbox2loc, loc2bbox
from bboxcore.iou import box_iou
from bboxcore.nms import nms

__all__ = [
    "IGNORE",
    "NEGATIVE",
    "POSITIVE",
    "AnchorTargetCreator",
    "ProposalCreator",
    "ProposalTargetCreator",
]

#: Anchor labels of the RPN (*The losses of Faster R-CNN*): object, background, not used
#: by the loss.
POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


# --------------------------------------------------------------------------- RPN targets
@dataclass
class AnchorTargetCreator:
    r"""Assign ground-truth boxes to anchors: the RPN's labels and offsets.

    Notation: S anchors, R ground-truth boxes. Following [1]_ (Sec. 3.1.2) and
    the code of *The losses of Faster R-CNN*, among the anchors that lie inside the image:

    1. **negative** (0) if its IoU with every GT box is below ``neg_iou_thresh``;
    2. **positive** (1), overriding step 1, if it has the highest IoU with some GT
       box (ties included: "the anchor/anchors", *Object Detection: Faster R-CNN*), or an IoU of at
       least ``pos_iou_thresh`` with any GT box;

       NOTE: "at least" (``>=``, an anchor at exactly 0.7 is positive) follows the code of
       *The losses of Faster R-CNN*; the slides say "IoU > 0.7" (*Detection – 3 stages*,
       §C2.3) and the paper "higher than 0.7" (Sec. 3.1.2).
    3. positives are subsampled at random to at most
       ``int(pos_ratio * n_sample)``, negatives to ``n_sample`` minus the
       positives kept; the rest become -1 (ignored).

    Anchors outside the image are -1. A positive anchor regresses to the GT
    box it overlaps most, :math:`t = \mathrm{bbox2loc}(\text{anchor}, \text{gt})`
    (Eq. 2); the offsets of all other anchors are 0.

    Parameters
    ----------
    n_sample : int
        Anchors sampled per image (256).
    pos_iou_thresh : float
        IoU from which an anchor is positive, in (0, 1] (0.7).
    neg_iou_thresh : float
        IoU below which an anchor is negative, in [0, pos_iou_thresh] (0.3).
    pos_ratio : float
        Largest fraction of positives in the sample, in [0, 1] (0.5; fewer
        positives are padded with negatives).

    Raises
    ------
    ValueError
        If a hyperparameter is out of range.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.

    Examples
    --------
    >>> anchor = np.array([[0., 0., 10., 10.], [5., 0., 15., 10.], [20., 20., 30., 30.]])
    >>> gt = np.array([[0., 0., 10., 10.]])
    >>> loc, label = AnchorTargetCreator()(gt, anchor, (40, 40), np.random.default_rng(0))
    >>> label  # a perfect match, IoU 1/3 (neither), IoU 0 (background)
    array([ 1, -1,  0], dtype=int32)
    """

    n_sample: int = 256
    pos_iou_thresh: float = 0.7
    neg_iou_thresh: float = 0.3
    pos_ratio: float = 0.5

    def __post_init__(self):
        self.n_sample = count(self.n_sample, "n_sample", minimum=1)
        self.pos_iou_thresh = unit_interval(self.pos_iou_thresh, "pos_iou_thresh")
        self.neg_iou_thresh = unit_interval(self.neg_iou_thresh, "neg_iou_thresh")
        self.pos_ratio = unit_interval(self.pos_ratio, "pos_ratio")
        if self.pos_iou_thresh == 0 or self.neg_iou_thresh > self.pos_iou_thresh:
            raise ValueError(
                f"need 0 <= neg_iou_thresh <= pos_iou_thresh and pos_iou_thresh > 0; got "
                f"neg_iou_thresh={self.neg_iou_thresh}, pos_iou_thresh={self.pos_iou_thresh}"
            )

    def __call__(
        self, bbox, anchor, img_size, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Label the anchors and compute the positives' offsets.

        Parameters
        ----------
        bbox : array_like, shape (R, 4)
            Ground-truth boxes ``(x_min, y_min, x_max, y_max)`` in pixels;
            R = 0 (an image without objects) is allowed.
        anchor : array_like, shape (S, 4)
            Anchors in pixels, e.g. from :func:`bboxcore.anchors.grid_anchors`.
        img_size : (H, W)
            Image height and width in pixels.
        rng : numpy.random.Generator
            Source of the subsampling.

        Returns
        -------
        loc : ndarray, shape (S, 4)
            Offsets ``(t_x, t_y, t_w, t_h)`` from each positive anchor to its
            GT box, 0 elsewhere; float32 only if both inputs are float32.
        label : ndarray, shape (S,), int32
            1 = positive, 0 = negative, -1 = ignore. At most ``n_sample``
            are not -1, at most ``int(pos_ratio * n_sample)`` are 1. With
            R = 0 every sampled anchor is 0.

        Raises
        ------
        TypeError
            If ``rng`` is not a Generator or an input is not numeric.
        ValueError
            If ``bbox`` or ``anchor`` is not valid (R, 4) boxes or
            ``img_size`` is not two positive numbers.
        """
        bbox = as_boxes(bbox, "bbox")
        anchor = as_boxes(anchor, "anchor")
        checked_area(bbox, "bbox")  # areas must not overflow the dtype in the IoU
        checked_area(anchor, "anchor")
        img_h, img_w = as_image_size(img_size)
        rng = check_rng(rng)
        dtype = result_float_dtype(anchor, bbox)
        bbox = bbox.astype(dtype, copy=False)
        inside = inside_image(anchor, (img_h, img_w))  # (S_in,)
        a = anchor[inside].astype(dtype, copy=False)  # (S_in, 4)

        label_in = np.full(len(inside), IGNORE, dtype=np.int32)
        argmax_iou = np.zeros(len(inside), dtype=np.int64)  # each anchor's best GT
        if len(bbox) == 0:
            label_in[:] = NEGATIVE  # no object: every inside anchor is background
        elif len(inside):
            iou = box_iou(a, bbox)  # (S_in, R)
            argmax_iou = iou.argmax(axis=1)  # each anchor's best GT (first on ties)
            max_iou = iou[np.arange(len(inside)), argmax_iou]
            gt_max_iou = iou.max(axis=0)  # (R,)
            # NOTE: tie — every anchor reaching a GT's maximum IoU is that GT's best
            # anchor. A GT that overlaps no inside anchor (maximum 0) has none: without
            # the "> 0" every anchor would tie at 0 and turn positive.
            is_gt_best = ((iou == gt_max_iou) & (gt_max_iou > 0)).any(axis=1)
            label_in[max_iou < self.neg_iou_thresh] = NEGATIVE  # first, so positives win
            label_in[is_gt_best] = POSITIVE
            label_in[max_iou >= self.pos_iou_thresh] = POSITIVE

        # Subsample: at most pos_ratio * n_sample positives, negatives fill the rest.
        pos_index = np.flatnonzero(label_in == POSITIVE)
        keep_pos = _sample(pos_index, int(self.pos_ratio * self.n_sample), rng)
        label_in[pos_index] = IGNORE
        label_in[keep_pos] = POSITIVE
        neg_index = np.flatnonzero(label_in == NEGATIVE)
        keep_neg = _sample(neg_index, self.n_sample - len(keep_pos), rng)
        label_in[neg_index] = IGNORE
        label_in[keep_neg] = NEGATIVE

        label = np.full(len(anchor), IGNORE, dtype=np.int32)
        label[inside] = label_in
        loc = np.zeros((len(anchor), 4), dtype=dtype)
        pos = np.sort(keep_pos)
        if len(pos):
            loc[inside[pos]] = bbox2loc(a[pos], bbox[argmax_iou[pos]])
        return loc, label


# --------------------------------------------------------------------------- proposals
@dataclass
class ProposalCreator:
    r"""Turn the RPN's outputs into region proposals (RoIs).

    For S anchors with predicted offsets and objectness scores [1]_ (Sec. 3.3;
    *Object Detection: Faster R-CNN*: ~20k anchors -> 2k proposals after NMS at IoU 0.7):

    1. decode, :math:`\text{roi} = \mathrm{loc2bbox}(\text{anchor}, \text{loc})`;
    2. clip to the image :math:`[0, W] \times [0, H]`;
    3. drop boxes whose width or height is below ``min_size * scale``;
    4. keep the ``n_pre_nms`` highest scores;
    5. non-maximum suppression at ``nms_thresh``;
    6. keep the ``n_post_nms`` highest scores.

    ``n_pre_nms``/``n_post_nms`` are the ``n_train_*`` values when
    ``training=True``, else the ``n_test_*`` ones.

    Parameters
    ----------
    nms_thresh : float
        IoU above which NMS removes the lower-scored box (0.7).
    n_train_pre_nms, n_train_post_nms : int
        Boxes kept before and after NMS in training (12000, 2000).
    n_test_pre_nms, n_test_post_nms : int
        Boxes kept before and after NMS at test time (6000, 300).
    min_size : float
        Smallest side, in pixels of the original image (16); multiplied by
        the ``scale`` of each call.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range.

    References
    ----------
    .. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks." NeurIPS 2015,
       arXiv:1506.01497.

    Examples
    --------
    >>> anchor = np.array([[0., 0., 32., 32.], [2., 0., 34., 32.], [50., 50., 90., 90.]])
    >>> score = np.array([0.9, 0.8, 0.7])
    >>> ProposalCreator()(np.zeros((3, 4)), score, anchor, (80, 80))  # the 2nd is suppressed
    array([[ 0.,  0., 32., 32.],
           [50., 50., 80., 80.]])
    >>> ProposalCreator()(np.zeros((3, 4)), score, anchor, (64, 64))  # the 3rd is now 14 px
    array([[ 0.,  0., 32., 32.]])
    """

    nms_thresh: float = 0.7
    n_train_pre_nms: int = 12000
    n_train_post_nms: int = 2000
    n_test_pre_nms: int = 6000
    n_test_post_nms: int = 300
    min_size: float = 16

    def __post_init__(self):
        self.nms_thresh = unit_interval(self.nms_thresh, "nms_thresh")
        for name in ("n_train_pre_nms", "n_train_post_nms", "n_test_pre_nms", "n_test_post_nms"):
            setattr(self, name, count(getattr(self, name), name, minimum=1))
        self.min_size = non_negative(self.min_size, "min_size")

    def __call__(
        self,
        loc,
        score,
        anchor,
        img_size,
        scale: float = 1.0,
        training: bool = False,
        *,
        return_score: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        r"""Decode, clip, filter, rank and suppress: the proposals of one image.

        Parameters
        ----------
        loc : array_like, shape (S, 4)
            Predicted offsets ``(t_x, t_y, t_w, t_h)``, one row per anchor
            (an RPN head's ``(A·4, H, W)`` output ``.transpose(1, 2, 0).reshape(-1, 4)``).
        score : array_like, shape (S,)
            Objectness of each anchor (probability or logit: only the order matters).
        anchor : array_like, shape (S, 4)
            Anchors in pixels, positive width and height.
        img_size : (H, W)
            Image height and width in pixels (after resizing).
        scale : float
            Factor by which the image was resized; the minimum side is
            ``min_size * scale``.
        training : bool
            Use the training counts (12000 -> 2000) instead of the test ones
            (6000 -> 300).
        return_score : bool
            Also return the score of each RoI.

        Returns
        -------
        roi : ndarray, shape (R, 4)
            Proposals ``(x_min, y_min, x_max, y_max)`` in image pixels, by
            decreasing score, R <= ``n_post_nms``; float32 only if ``loc``
            and ``anchor`` are. The model adds the batch index itself.
        score : ndarray, shape (R,)
            Only with ``return_score=True``: the scores of the RoIs.

        Raises
        ------
        TypeError
            If an input is not numeric.
        ValueError
            If ``anchor`` is not valid boxes with positive sides, ``loc`` is
            not (S, 4), ``score`` is not (S,), a value is NaN/inf, or
            ``img_size``/``scale`` are invalid.
        """
        anchor = as_boxes(anchor, "anchor")
        loc = as_float_array(loc, "loc")
        score = as_float_array(score, "score")
        if loc.shape != anchor.shape:
            raise ValueError(
                f"loc must have shape (S, 4) matching anchor {anchor.shape}; got {loc.shape}"
            )
        if score.shape != (len(anchor),):
            raise ValueError(f"score must have shape (S,) = ({len(anchor)},); got {score.shape}")
        check_finite(score, "score")
        side = anchor[:, 2:] - anchor[:, :2]
        if (side <= 0).any():  # loc2bbox scales by the anchor's width and height
            i = int(np.flatnonzero((side <= 0).any(axis=1))[0])
            raise ValueError(
                f"anchor must have positive width and height; row {i} is {anchor[i].tolist()}"
            )
        scale = positive(scale, "scale")
        if training:
            n_pre, n_post = self.n_train_pre_nms, self.n_train_post_nms
        else:
            n_pre, n_post = self.n_test_pre_nms, self.n_test_post_nms

        roi = clip_boxes(loc2bbox(anchor, loc), img_size)  # steps 1-2
        keep = remove_small_boxes(roi, self.min_size * scale)  # step 3
        roi, score = roi[keep], score[keep]
        order = _top_n(score, n_pre)  # step 4
        roi, score = roi[order], score[order]
        keep = nms(roi, score, self.nms_thresh, max_output=n_post)  # steps 5-6
        roi, score = roi[keep], score[keep]
        return (roi, score) if return_score else roi


# --------------------------------------------------------------------------- head targets
@dataclass
class ProposalTargetCreator:
    r"""Sample RoIs for the detection head and give each its class and offsets.

    Notation: R RoIs, R' ground-truth boxes, S sampled RoIs, K object classes.
    Following Fast R-CNN [2]_ (Sec. 2.3) and the code of *The losses of Faster R-CNN*:

    1. the GT boxes are appended to the RoIs (so every GT has a perfect RoI);
    2. each RoI is matched to the GT box of highest IoU;
    3. **foreground**: IoU >= ``pos_iou_thresh``, at most
       ``round(pos_ratio * n_sample)`` drawn at random; class = GT class + 1;
    4. **background**: IoU in [``neg_iou_thresh_lo``, ``neg_iou_thresh_hi``),
       filling up to ``n_sample``; class 0;
    5. offsets :math:`\tilde t = (\mathrm{bbox2loc}(\text{roi}, \text{gt}) - \mu) / \sigma`
       with :math:`\sigma` = (0.1, 0.1, 0.2, 0.2); 0 for background, which
       adds no localisation loss (*The losses of Faster R-CNN*).

    Parameters
    ----------
    n_sample : int
        RoIs sampled per image (128; the slides' 64 in *Detection – 3 stages*).
    pos_ratio : float
        Largest fraction of foreground RoIs (0.25).
    pos_iou_thresh : float
        IoU from which a RoI is foreground, in (0, 1] (0.5).
    neg_iou_thresh_hi, neg_iou_thresh_lo : float
        Background IoU range [lo, hi) (0.5 and 0.0; Fast R-CNN uses lo = 0.1,
        *Detection – 3 stages*). Requires ``lo <= hi <= pos_iou_thresh``.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range.

    References
    ----------
    .. [2] R. Girshick. "Fast R-CNN." ICCV 2015, arXiv:1504.08083.

    Examples
    --------
    >>> roi = np.array([[0., 0., 10., 10.], [1., 0., 11., 10.], [30., 30., 40., 40.]])
    >>> gt, gt_label = np.array([[0., 0., 10., 10.]]), np.array([4])
    >>> creator = ProposalTargetCreator(n_sample=4, pos_ratio=0.5)
    >>> sample_roi, gt_roi_loc, gt_roi_label = creator(roi, gt, gt_label, np.random.default_rng(0))
    >>> gt_roi_label  # 2 of the 3 foreground RoIs (class 4 + 1), then the background one
    array([5, 5, 0], dtype=int32)
    >>> sample_roi[2], gt_roi_loc[2]
    (array([30., 30., 40., 40.]), array([0., 0., 0., 0.]))
    """

    n_sample: int = 128
    pos_ratio: float = 0.25
    pos_iou_thresh: float = 0.5
    neg_iou_thresh_hi: float = 0.5
    neg_iou_thresh_lo: float = 0.0

    def __post_init__(self):
        self.n_sample = count(self.n_sample, "n_sample", minimum=1)
        for name in ("pos_ratio", "pos_iou_thresh", "neg_iou_thresh_hi", "neg_iou_thresh_lo"):
            setattr(self, name, unit_interval(getattr(self, name), name))
        if not (
            0 <= self.neg_iou_thresh_lo <= self.neg_iou_thresh_hi <= self.pos_iou_thresh
            and self.pos_iou_thresh > 0
        ):
            raise ValueError(
                f"need neg_iou_thresh_lo <= neg_iou_thresh_hi <= pos_iou_thresh and "
                f"pos_iou_thresh > 0; got {self.neg_iou_thresh_lo}, {self.neg_iou_thresh_hi}, "
                f"{self.pos_iou_thresh}"
            )

    def __call__(
        self,
        roi,
        bbox,
        label,
        rng: np.random.Generator,
        loc_normalize_mean=LOC_NORMALIZE_MEAN,
        loc_normalize_std=LOC_NORMALIZE_STD,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Sample RoIs and compute their classes and normalised offsets.

        Parameters
        ----------
        roi : array_like, shape (R, 4)
            Proposals in pixels, e.g. from :class:`ProposalCreator`.
        bbox : array_like, shape (R', 4)
            Ground-truth boxes in pixels; R' = 0 is allowed.
        label : array_like of int, shape (R',)
            Class of each GT box, 0..K-1.
        rng : numpy.random.Generator
            Source of the sampling.
        loc_normalize_mean, loc_normalize_std : array_like, shape (4,)
            :math:`\mu` and :math:`\sigma` of the offsets
            (:data:`~bboxcore.encoding.LOC_NORMALIZE_MEAN`, ``..._STD``).

        Returns
        -------
        sample_roi : ndarray, shape (S, 4)
            The sampled RoIs, foreground first; S <= ``n_sample`` (fewer when
            there are not enough background candidates).
        gt_roi_loc : ndarray, shape (S, 4)
            Normalised offsets to the matched GT box; 0 for background.
        gt_roi_label : ndarray, shape (S,), int32
            0 = background, 1..K = object class + 1.

        Raises
        ------
        TypeError
            If ``rng`` is not a Generator, an input is not numeric or
            ``label`` is not integer.
        ValueError
            If ``roi``/``bbox`` are not valid boxes, ``label`` is not (R',)
            with values >= 0, or the normalisation is invalid.
        """
        roi = as_boxes(roi, "roi")
        bbox = as_boxes(bbox, "bbox")
        checked_area(roi, "roi")  # areas must not overflow the dtype in the IoU
        checked_area(bbox, "bbox")
        label = np.asarray(label)
        if label.size and label.dtype.kind not in "iu":
            raise TypeError(
                f"label must hold integer class indices 0..K-1; got dtype {label.dtype}"
            )
        if label.shape != (len(bbox),):
            raise ValueError(f"label must have shape (R',) = ({len(bbox)},); got {label.shape}")
        if label.size and label.min() < 0:
            raise ValueError(f"label must be class indices >= 0; got {int(label.min())}")
        label = label.astype(np.int64)  # so that label + 1 cannot wrap around (uint8 255)
        rng = check_rng(rng)
        dtype = result_float_dtype(roi, bbox)
        bbox = bbox.astype(dtype, copy=False)
        roi = np.concatenate([roi.astype(dtype, copy=False), bbox])  # (R + R', 4)

        if len(bbox):
            iou = box_iou(roi, bbox)  # (R + R', R')
            gt_assignment = iou.argmax(axis=1)  # first GT on ties
            max_iou = iou[np.arange(len(roi)), gt_assignment]
        else:  # no object: every RoI has IoU 0
            gt_assignment = np.zeros(len(roi), dtype=np.int64)
            max_iou = np.zeros(len(roi), dtype=dtype)

        n_pos_max = int(np.round(self.pos_ratio * self.n_sample))
        pos_index = _sample(np.flatnonzero(max_iou >= self.pos_iou_thresh), n_pos_max, rng)
        is_neg = (max_iou < self.neg_iou_thresh_hi) & (max_iou >= self.neg_iou_thresh_lo)
        neg_index = _sample(np.flatnonzero(is_neg), self.n_sample - len(pos_index), rng)
        keep = np.concatenate([pos_index, neg_index]).astype(np.int64)

        sample_roi = roi[keep]
        gt_roi_label = np.zeros(len(keep), dtype=np.int32)
        gt_roi_label[: len(pos_index)] = label[gt_assignment[pos_index]] + 1  # 0 = background
        gt_roi_loc = np.zeros((len(keep), 4), dtype=dtype)
        gt_roi_loc[: len(pos_index)] = bbox2loc(
            sample_roi[: len(pos_index)],
            bbox[gt_assignment[pos_index]],
            mean=loc_normalize_mean,
            std=loc_normalize_std,
        )
        return sample_roi, gt_roi_loc, gt_roi_label


# --------------------------------------------------------------------------- sampling helpers
def _sample(index: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` entries of ``index`` drawn uniformly without replacement (all if fewer)."""
    if len(index) <= size:
        return index
    return rng.choice(index, size=size, replace=False)


def _top_n(score: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores, by decreasing score, equal scores by lower index."""
    neg = -score
    if n < len(score):  # keep only the candidates: everything down to the n-th score
        nth = np.partition(neg, n - 1)[n - 1]
        # NOTE: ties at the cut — every score equal to the n-th is a candidate, in index
        # order, so the stable sort below keeps the lowest indices among them.
        cand = np.flatnonzero(neg <= nth)
    else:
        cand = np.arange(len(score))
    return cand[np.argsort(neg[cand], kind="stable")][:n]
