r"""The YOLOv1 and YOLOv3 losses, each term by name, with their analytic gradients.

Both return a dict of the loss's terms (``'xy'``, ``'wh'``, ``'obj'``,
``'noobj'``, ``'cls'``), each summed over cells and predictors and divided by
the number of images N; their sum is the paper's loss. The ``*_backward``
functions take the upstream gradient of the sum (a scalar) or one upstream
per term (a dict; missing terms count as 0), and return the gradient w.r.t.
the network's output. Targets come from :mod:`bboxcore.targets.yolo` and are
constants.

References
----------
.. [1] J. Redmon, S. Divvala, R. Girshick, A. Farhadi. "You Only Look Once:
   Unified, Real-Time Object Detection." CVPR 2016, arXiv:1506.02640.
.. [2] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
   arXiv:1804.02767, 2018.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bboxcore._checks import count, non_negative
from bboxcore.boxes import as_float_array, check_finite
from bboxcore.iou import box_iou_aligned
from bboxcore.losses._common import _sigmoid, _softplus

__all__ = [
    "WH_SQRT_EPS",
    "YOLO_TERMS",
    "yolov1_loss",
    "yolov1_loss_backward",
    "yolov3_loss",
    "yolov3_loss_backward",
]

#: The names of the terms returned by :func:`yolov1_loss` and :func:`yolov3_loss`.
YOLO_TERMS = ("xy", "wh", "obj", "noobj", "cls")
#: Below this predicted width (or height, as a fraction of the image), √w is continued
#: by its tangent line: finite, differentiable, and still pushing a negative width up.
WH_SQRT_EPS = 1e-3


def _checked(x, name: str, shape: tuple | None = None) -> np.ndarray:
    arr = as_float_array(x, name)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    check_finite(arr, name)
    return arr


def _upstreams(dloss, dtype) -> dict[str, float]:
    """One upstream gradient per term from a scalar (all equal) or a dict (missing = 0)."""
    if isinstance(dloss, Mapping):
        unknown = set(dloss) - set(YOLO_TERMS)
        if unknown:
            raise ValueError(f"dloss keys must be among {YOLO_TERMS}; got {sorted(unknown)}")
        d = {k: dloss.get(k, 0.0) for k in YOLO_TERMS}
    else:
        d = dict.fromkeys(YOLO_TERMS, dloss)
    out = {}
    for k, v in d.items():
        arr = np.asarray(v.data if hasattr(v, "data") and not isinstance(v, np.ndarray) else v)
        if arr.ndim != 0 or arr.dtype.kind not in "biuf" or not np.isfinite(arr):
            raise ValueError(f"dloss[{k!r}] must be a finite scalar; got {v!r}")
        out[k] = dtype.type(arr)
    return out


# --------------------------------------------------------------------------- YOLOv1
def _sqrt_ext(w: np.ndarray) -> np.ndarray:
    """√w for w >= ε, its tangent √ε + (w - ε) / (2√ε) below (C¹ at ε)."""
    r = np.sqrt(WH_SQRT_EPS)
    return np.where(
        w >= WH_SQRT_EPS, np.sqrt(np.maximum(w, WH_SQRT_EPS)), r + (w - WH_SQRT_EPS) / (2 * r)
    )


def _dsqrt_ext(w: np.ndarray) -> np.ndarray:
    """d√w/dw = 1 / (2√w), frozen at 1 / (2√ε) below ε."""
    return 1 / (2 * np.sqrt(np.maximum(w, WH_SQRT_EPS)))


def _yolov1_inputs(pred, obj_mask, box_target, cls_target, n_box, lambda_coord, lambda_noobj):
    p = as_float_array(pred, "pred")
    if p.ndim != 4 or p.shape[1] != p.shape[2]:
        raise ValueError(f"pred must have shape (N, S, S, 5B + C); got {p.shape}")
    check_finite(p, "pred")
    n_box = count(n_box, "n_box", minimum=1)
    n, s = p.shape[:2]
    n_class = p.shape[3] - 5 * n_box
    if n_class < 1:
        raise ValueError(
            f"pred's last axis must be 5*n_box + C = 5*{n_box} + C, C >= 1; got {p.shape[3]}"
        )
    mask = np.asarray(obj_mask)
    if mask.shape != (n, s, s) or mask.dtype != bool:
        raise ValueError(
            f"obj_mask must be a bool array of shape {(n, s, s)}; got {mask.dtype} {mask.shape}"
        )
    box = _checked(box_target, "box_target", (n, s, s, 4)).astype(p.dtype, copy=False)
    if (box[..., 2:] < 0).any():
        raise ValueError("box_target sizes (w, h) must be >= 0")
    cls = _checked(cls_target, "cls_target", (n, s, s, n_class)).astype(p.dtype, copy=False)
    lc = non_negative(lambda_coord, "lambda_coord")
    ln = non_negative(lambda_noobj, "lambda_noobj")
    return p, mask, box, cls, lc, ln


def _cell_boxes(xywh: np.ndarray, s: int) -> np.ndarray:
    """(…, S, S, [B,] 4) cell-relative (x, y, w, h) -> image-fraction boxes (x_min, …, y_max)."""
    rows, cols = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")  # (S, S)
    extra = (None,) * (xywh.ndim - 4)  # the [B] axis after (S, S), if any
    cx = (cols[(..., *extra)] + xywh[..., 0]) / s
    cy = (rows[(..., *extra)] + xywh[..., 1]) / s
    w, h = np.maximum(xywh[..., 2], 0), np.maximum(xywh[..., 3], 0)  # IoU of a negative size: 0
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def _yolov1_parts(p, mask, box, n_box):
    """Split the output and pick the responsible predictor of each object cell.

    Returns the per-predictor arrays (N, S, S, B, 5), the responsibility
    indicator 1_ij^obj (N, S, S, B) and the confidence target IoU (N, S, S, B).
    """
    n, s = p.shape[:2]
    boxes = p[..., : 5 * n_box].reshape(n, s, s, n_box, 5)  # (N, S, S, B, 5)
    pred_xyxy = _cell_boxes(boxes[..., :4], s)  # (N, S, S, B, 4)
    gt_xyxy = _cell_boxes(box, s)[..., None, :]  # (N, S, S, 1, 4)
    iou = box_iou_aligned(
        pred_xyxy.reshape(-1, 4), np.broadcast_to(gt_xyxy, pred_xyxy.shape).reshape(-1, 4)
    ).reshape(n, s, s, n_box)
    # The responsible predictor: the highest IoU; if no predictor overlaps the truth yet
    # (early training), the closest in (x, y, √w, √h) as darknet's detection_layer.c does.
    gt_code = np.concatenate([box[..., :2], np.sqrt(box[..., 2:])], axis=-1)[..., None, :]
    pred_code = np.concatenate([boxes[..., :2], _sqrt_ext(boxes[..., 2:4])], axis=-1)
    dist = ((pred_code - gt_code) ** 2).sum(-1)  # (N, S, S, B)
    best = np.where(iou.max(-1) > 0, iou.argmax(-1), dist.argmin(-1))  # (N, S, S)
    resp = (np.arange(n_box) == best[..., None]) & mask[..., None]  # 1_ij^obj: (N, S, S, B)
    return boxes, resp, iou.astype(p.dtype, copy=False)


def yolov1_loss(
    pred,
    obj_mask,
    box_target,
    cls_target,
    *,
    n_box: int = 2,
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
) -> dict[str, np.ndarray]:
    r"""YOLOv1's sum-squared loss, Eq. 3 of the paper, term by term.

    With :math:`\mathbb{1}_i^{obj}` the cells holding an object
    (:func:`~bboxcore.targets.yolov1_targets`) and :math:`\mathbb{1}_{ij}^{obj}`
    their responsible predictor — "whichever predictor has the highest current
    IoU with the ground truth" — [1]_ (Eq. 3; *Detection – 3 stages*, §E2):

    .. math::
        \mathcal{L} = \lambda_{coord}\sum_{i,j}\mathbb{1}_{ij}^{obj}
            \big[(x_i-\hat x_i)^2+(y_i-\hat y_i)^2\big]
        + \lambda_{coord}\sum_{i,j}\mathbb{1}_{ij}^{obj}
            \big[(\sqrt{w_i}-\sqrt{\hat w_i})^2+(\sqrt{h_i}-\sqrt{\hat h_i})^2\big] \\
        + \sum_{i,j}\mathbb{1}_{ij}^{obj}(C_i-\hat C_i)^2
        + \lambda_{noobj}\sum_{i,j}\mathbb{1}_{ij}^{noobj}(C_i-0)^2
        + \sum_i \mathbb{1}_i^{obj}\sum_c (p_i(c)-\hat p_i(c))^2

    with :math:`\hat C_i = \mathrm{IoU}(\text{pred}, \text{truth})` for the
    responsible predictors and :math:`\mathbb{1}_{ij}^{noobj} = 1 -
    \mathbb{1}_{ij}^{obj}` (the other predictor of an object cell included).

    Parameters
    ----------
    pred : array_like, shape (N, S, S, 5B + C), float
        The network's output: per cell, B times ``(x, y, w, h, C)`` (centre
        relative to the cell, size relative to the image, confidence), then
        the C class probabilities ``p(c)``; all linear, as in the paper.
    obj_mask : ndarray, shape (N, S, S), bool
        :math:`\mathbb{1}_i^{obj}`.
    box_target : array_like, shape (N, S, S, 4)
        ``(x̂, ŷ, ŵ, ĥ)``, sizes >= 0 (:class:`~bboxcore.targets.Yolov1Targets`).
    cls_target : array_like, shape (N, S, S, C)
        :math:`\hat p_i(c)`.
    n_box : int, default 2
        B.
    lambda_coord, lambda_noobj : float, default 5.0 and 0.5
        The paper's weights.

    Returns
    -------
    dict of str to 0-d ndarray
        ``'xy'``, ``'wh'``, ``'obj'``, ``'noobj'``, ``'cls'``: the five sums of
        Eq. 3 (weights included), each divided by N; pred's floating dtype.

    Raises
    ------
    ValueError
        If a shape does not match, a value is not finite, a target size is
        negative, or a weight is negative.

    Notes
    -----
    * :math:`\hat C` is the IoU of the current prediction, a constant of the
      loss (no gradient flows through it), as in darknet's ``detection_layer.c``.
    * If none of the B predictors overlaps the truth (IoU = 0, common early in
      training), the responsible one is the closest in
      :math:`(x, y, \sqrt w, \sqrt h)`, darknet's rule.
    * The paper regresses w and predicts √w in the loss; darknet's code instead
      outputs √w directly. We follow the paper, and :math:`\sqrt w` is undefined
      for w < 0 and has an infinite slope at 0: below ``WH_SQRT_EPS`` it is
      replaced by its tangent at ``WH_SQRT_EPS`` (see
      :func:`yolov1_loss_backward`).

    References
    ----------
    .. [1] J. Redmon, S. Divvala, R. Girshick, A. Farhadi. "You Only Look Once:
       Unified, Real-Time Object Detection." CVPR 2016, arXiv:1506.02640.

    Examples
    --------
    One 1×1 grid, B = 1, C = 1, a perfect box with confidence 0.5 and class 1:

    >>> pred = np.array([0.5, 0.5, 0.25, 0.25, 0.5, 1.0]).reshape(1, 1, 1, 6)
    >>> box = np.array([0.5, 0.5, 0.25, 0.25]).reshape(1, 1, 1, 4)
    >>> terms = yolov1_loss(pred, np.ones((1, 1, 1), bool), box, np.ones((1, 1, 1, 1)), n_box=1)
    >>> {k: float(v) for k, v in terms.items()}  # (0.5 - IoU=1)²
    {'xy': 0.0, 'wh': 0.0, 'obj': 0.25, 'noobj': 0.0, 'cls': 0.0}
    """
    p, mask, box, cls, lc, ln = _yolov1_inputs(
        pred, obj_mask, box_target, cls_target, n_box, lambda_coord, lambda_noobj
    )
    boxes, resp, iou = _yolov1_parts(p, mask, box, n_box)
    n = p.shape[0]
    r = resp.astype(p.dtype)  # (N, S, S, B)
    dxy = boxes[..., :2] - box[..., None, :2]  # (N, S, S, B, 2)
    dwh = _sqrt_ext(boxes[..., 2:4]) - np.sqrt(box[..., None, 2:])
    conf = boxes[..., 4]
    dcls = p[..., 5 * n_box :] - cls  # (N, S, S, C)
    terms = {
        "xy": lc * (r[..., None] * dxy**2).sum(),
        "wh": lc * (r[..., None] * dwh**2).sum(),
        "obj": (r * (conf - iou) ** 2).sum(),
        "noobj": ln * ((1 - r) * conf**2).sum(),
        "cls": (mask[..., None] * dcls**2).sum(),
    }
    return {k: np.asarray(v / n, dtype=p.dtype) for k, v in terms.items()}


def yolov1_loss_backward(
    dloss,
    pred,
    obj_mask,
    box_target,
    cls_target,
    *,
    n_box: int = 2,
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
) -> np.ndarray:
    r"""Gradient of :func:`yolov1_loss` w.r.t. ``pred``, term by term.

    For the responsible predictor j of cell i (:math:`\mathbb{1}_{ij}^{obj}=1`)
    and the upstream gradients :math:`g_{term}` (divided by N):

    .. math::
        \frac{\partial\mathcal L}{\partial x} = 2\lambda_{coord}\,g_{xy}(x-\hat x),\quad
        \frac{\partial\mathcal L}{\partial w} = 2\lambda_{coord}\,g_{wh}
            (\sqrt w-\sqrt{\hat w})\,\frac{1}{2\sqrt w},\quad
        \frac{\partial\mathcal L}{\partial C} = 2 g_{obj}(C - \hat C)

    (same for y and h); for every other predictor
    :math:`\partial\mathcal L/\partial C = 2\lambda_{noobj} g_{noobj} C`; for
    the class probabilities of an object cell
    :math:`\partial\mathcal L/\partial p(c) = 2 g_{cls}(p(c)-\hat p(c))`.
    Everything else gets 0.

    Parameters
    ----------
    dloss : float or dict of str to float
        Upstream gradient of the sum of the terms, or one per term (missing = 0).
    pred, obj_mask, box_target, cls_target, n_box, lambda_coord, lambda_noobj
        As in :func:`yolov1_loss`.

    Returns
    -------
    dpred : ndarray, shape (N, S, S, 5B + C)
        Same floating dtype as ``pred``.

    Raises
    ------
    ValueError
        As :func:`yolov1_loss`; also if an upstream gradient is not a finite scalar.

    Notes
    -----
    NOTE: :math:`\frac{1}{2\sqrt w}` is infinite at w = 0 and √w undefined below:
    for :math:`w < \varepsilon` = ``WH_SQRT_EPS`` the loss uses the tangent
    :math:`\sqrt\varepsilon + (w-\varepsilon)/(2\sqrt\varepsilon)`, so the
    slope is frozen at :math:`1/(2\sqrt\varepsilon)` and a width predicted
    negative is still pulled towards :math:`\sqrt{\hat w}`. The choice of the
    responsible predictor (an argmax) and :math:`\hat C` (an IoU) are
    piecewise constant: treated as constants, as in the reference code.

    Examples
    --------
    >>> pred = np.array([0.5, 0.5, 0.25, 0.25, 0.5, 1.0]).reshape(1, 1, 1, 6)
    >>> box = np.array([0.4, 0.5, 0.25, 0.25]).reshape(1, 1, 1, 4)
    >>> yolov1_loss_backward({"xy": 1.0}, pred, np.ones((1, 1, 1), bool), box,
    ...                      np.ones((1, 1, 1, 1)), n_box=1).round(6).ravel().tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    p, mask, box, cls, lc, ln = _yolov1_inputs(
        pred, obj_mask, box_target, cls_target, n_box, lambda_coord, lambda_noobj
    )
    g = _upstreams(dloss, p.dtype)
    boxes, resp, iou = _yolov1_parts(p, mask, box, n_box)
    n = p.shape[0]
    r = resp.astype(p.dtype)[..., None]  # (N, S, S, B, 1)
    dboxes = np.zeros_like(boxes)  # (N, S, S, B, 5)
    dboxes[..., :2] = 2 * lc * g["xy"] * r * (boxes[..., :2] - box[..., None, :2])
    wh = boxes[..., 2:4]
    # d/dw (√w - √ŵ)² = 2 (√w - √ŵ) · 1/(2√w)   (tangent continuation below ε)
    dboxes[..., 2:4] = (
        2 * lc * g["wh"] * r * (_sqrt_ext(wh) - np.sqrt(box[..., None, 2:])) * _dsqrt_ext(wh)
    )
    conf = boxes[..., 4]
    r = r[..., 0]
    dboxes[..., 4] = 2 * g["obj"] * r * (conf - iou) + 2 * ln * g["noobj"] * (1 - r) * conf
    dcls = 2 * g["cls"] * mask[..., None] * (p[..., 5 * n_box :] - cls)
    dpred = np.concatenate([dboxes.reshape(*p.shape[:3], -1), dcls], axis=-1) / n
    return dpred.astype(p.dtype, copy=False)


# --------------------------------------------------------------------------- YOLOv3
def _yolov3_inputs(pred, obj, loc, box_weight, cls):
    p = as_float_array(pred, "pred")
    if p.ndim != 3 or p.shape[2] < 6:
        raise ValueError(f"pred must have shape (N, M, 5 + C) with C >= 1; got {p.shape}")
    check_finite(p, "pred")
    n, m, k = p.shape
    o = np.asarray(obj)
    if (
        o.shape != (n, m)
        or o.dtype.kind not in "iu"
        or (o.size and not np.isin(o, (-1, 0, 1)).all())
    ):
        raise ValueError(
            f"obj must be integers in {{-1, 0, 1}} of shape {(n, m)}; got {o.dtype} {o.shape}"
        )
    t = _checked(loc, "loc", (n, m, 4)).astype(p.dtype, copy=False)
    pos = o == 1
    if pos.any() and ((t[pos, :2] < 0).any() or (t[pos, :2] > 1).any()):
        raise ValueError("loc's (x̂, ŷ) targets must be in [0, 1] for positives")
    w = _checked(box_weight, "box_weight", (n, m)).astype(p.dtype, copy=False)
    if (w < 0).any():
        raise ValueError("box_weight must be >= 0")
    c = _checked(cls, "cls", (n, m, k - 5)).astype(p.dtype, copy=False)
    if c.size and (c.min() < 0 or c.max() > 1):
        raise ValueError(f"cls must be in [0, 1]; got values in [{c.min()}, {c.max()}]")
    return p, pos, o == 0, t, w, c


def _bce(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of σ(z) against t: t·softplus(-z) + (1 - t)·softplus(z)."""
    return t * _softplus(-z) + (1 - t) * _softplus(z)


def yolov3_loss(pred, obj, loc, box_weight, cls) -> dict[str, np.ndarray]:
    r"""YOLOv3's loss: logistic objectness and classes, the box loss on t, term by term.

    With P the responsible predictions (``obj == 1``), Z the no-object ones
    (``obj == 0``; the ignored ``-1`` get no objectness loss), the box scale
    :math:`\omega = 2 - \hat w \hat h` and
    :math:`\mathrm{BCE}(z, t) = -t\log\sigma(z) - (1-t)\log(1-\sigma(z))`
    [2]_ (Sec. 2.1, 2.2; *Detection – 3 stages*, §G1):

    .. math::
        \mathcal L_{xy} = \sum_P \omega\,[\mathrm{BCE}(t_x, \hat x)
            + \mathrm{BCE}(t_y, \hat y)],\quad
        \mathcal L_{wh} = \sum_P \tfrac{\omega}{2}[(t_w-\hat t_w)^2 + (t_h-\hat t_h)^2] \\
        \mathcal L_{obj} = \sum_P \mathrm{BCE}(t_o, 1),\quad
        \mathcal L_{noobj} = \sum_Z \mathrm{BCE}(t_o, 0),\quad
        \mathcal L_{cls} = \sum_P \sum_c \mathrm{BCE}(t_c, \hat p(c))

    each divided by N.

    Parameters
    ----------
    pred : array_like, shape (N, M, 5 + C), float
        Raw outputs in the flat order of :func:`~bboxcore.targets.yolo_grid`:
        ``(t_x, t_y, t_w, t_h, t_o)`` and C class logits.
    obj : ndarray, shape (N, M), int
        1 / 0 / -1 (:class:`~bboxcore.targets.Yolov3Targets`).
    loc : array_like, shape (N, M, 4)
        ``(x̂, ŷ, t̂_w, t̂_h)``, (x̂, ŷ) in [0, 1] for positives.
    box_weight : array_like, shape (N, M)
        ω >= 0.
    cls : array_like, shape (N, M, C)
        Class targets in [0, 1].

    Returns
    -------
    dict of str to 0-d ndarray
        ``'xy'``, ``'wh'``, ``'obj'``, ``'noobj'``, ``'cls'``.

    Raises
    ------
    ValueError
        If a shape does not match, a value is not finite or out of range.

    Notes
    -----
    The paper states "sum of squared error loss" on the box, whose gradient is
    :math:`\hat t_* - t_*`. We take darknet's ``yolo_layer.c`` literally: its
    gradient for :math:`t_x` is :math:`\omega(\sigma(t_x) - \hat x)` — the
    gradient of BCE between σ(t_x) and x̂, which is what we write — and for
    :math:`t_w` it is :math:`\omega(t_w - \hat t_w)`, the gradient of
    :math:`\frac{\omega}{2}(t_w - \hat t_w)^2`. The scale ω = 2 − ŵĥ is
    darknet's too (not in the paper). BCE is computed with softplus, so no
    logit overflows.

    References
    ----------
    .. [2] J. Redmon, A. Farhadi. "YOLOv3: An Incremental Improvement."
       arXiv:1804.02767, 2018.

    Examples
    --------
    One positive (logits 0: σ = 0.5) and one negative:

    >>> pred = np.zeros((1, 2, 6))
    >>> loc = np.array([[[0.5, 0.5, 1.0, 0.0], [0, 0, 0, 0]]])
    >>> obj, weight, cls = np.array([[1, 0]]), np.array([[1.0, 0.0]]), np.array([[[1.0], [0.0]]])
    >>> terms = yolov3_loss(pred, obj, loc, weight, cls)
    >>> {k: round(float(v), 4) for k, v in terms.items()}  # log 2 = 0.6931
    {'xy': 1.3863, 'wh': 0.5, 'obj': 0.6931, 'noobj': 0.6931, 'cls': 0.6931}
    """
    p, pos, neg, t, w, c = _yolov3_inputs(pred, obj, loc, box_weight, cls)
    n = p.shape[0]
    pw = (pos * w)[..., None]  # ω on the positives, 0 elsewhere: (N, M, 1)
    terms = {
        "xy": (pw * _bce(p[..., :2], t[..., :2])).sum(),
        "wh": (pw * (p[..., 2:4] - t[..., 2:4]) ** 2).sum() / 2,
        "obj": (pos * _softplus(-p[..., 4])).sum(),  # BCE(z, 1) = softplus(-z)
        "noobj": (neg * _softplus(p[..., 4])).sum(),  # BCE(z, 0) = softplus(z)
        "cls": (pos[..., None] * _bce(p[..., 5:], c)).sum(),
    }
    return {k: np.asarray(v / n, dtype=p.dtype) for k, v in terms.items()}


def yolov3_loss_backward(dloss, pred, obj, loc, box_weight, cls) -> np.ndarray:
    r"""Gradient of :func:`yolov3_loss` w.r.t. ``pred``: σ(z) − target for every logistic term.

    With upstream gradients :math:`g_{term}` (divided by N), on the positives P:

    .. math::
        \frac{\partial\mathcal L}{\partial t_x} = g_{xy}\,\omega(\sigma(t_x) - \hat x),\quad
        \frac{\partial\mathcal L}{\partial t_w} = g_{wh}\,\omega(t_w - \hat t_w),\quad
        \frac{\partial\mathcal L}{\partial t_o} = g_{obj}(\sigma(t_o) - 1),\quad
        \frac{\partial\mathcal L}{\partial t_c} = g_{cls}(\sigma(t_c) - \hat p(c))

    and :math:`\partial\mathcal L/\partial t_o = g_{noobj}\,\sigma(t_o)` on the
    no-object predictions; 0 elsewhere (the ignored ones included).

    Parameters
    ----------
    dloss : float or dict of str to float
        Upstream gradient of the sum of the terms, or one per term (missing = 0).
    pred, obj, loc, box_weight, cls
        As in :func:`yolov3_loss`.

    Returns
    -------
    dpred : ndarray, shape (N, M, 5 + C)

    Raises
    ------
    ValueError
        As :func:`yolov3_loss`; also if an upstream gradient is not a finite scalar.

    Examples
    --------
    >>> pred = np.zeros((1, 1, 6))
    >>> d = yolov3_loss_backward(1.0, pred, np.array([[1]]), np.array([[[1., 0.5, 2., 0.]]]),
    ...                          np.array([[2.0]]), np.array([[[1.]]]))
    >>> d.ravel().tolist()  # ω(σ - x̂), ω(t - t̂), σ - 1, σ - 1
    [-1.0, 0.0, -4.0, 0.0, -0.5, -0.5]
    """
    p, pos, neg, t, w, c = _yolov3_inputs(pred, obj, loc, box_weight, cls)
    g = _upstreams(dloss, p.dtype)
    n = p.shape[0]
    sig = _sigmoid(p)
    pw = (pos * w)[..., None]  # (N, M, 1)
    d = np.zeros_like(p)
    d[..., :2] = g["xy"] * pw * (sig[..., :2] - t[..., :2])  # dBCE/dz = σ(z) - t
    d[..., 2:4] = g["wh"] * pw * (p[..., 2:4] - t[..., 2:4])
    d[..., 4] = g["obj"] * pos * (sig[..., 4] - 1) + g["noobj"] * neg * sig[..., 4]
    d[..., 5:] = g["cls"] * pos[..., None] * (sig[..., 5:] - c)
    return (d / n).astype(p.dtype, copy=False)
