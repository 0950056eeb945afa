"""Hypothesis strategies shared by the tests.

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels. Coordinates are drawn
from a bounded range of "pixel-like" values so that properties that hold in
exact arithmetic also hold to a tight tolerance in floating point; the fuzz
strategies (``anything_boxes``) go everywhere else: NaN, inf, huge values,
inverted and zero-area boxes, wrong shapes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

COORD_MAX = 2000.0  # image coordinates stay within [-COORD_MAX, COORD_MAX]

# --------------------------------------------------------------------------- boxes
coords = st.floats(-COORD_MAX, COORD_MAX, allow_nan=False, allow_infinity=False, width=32)
sides = st.floats(0.0, COORD_MAX / 2, allow_nan=False, allow_infinity=False, width=32)
positive_sides = st.floats(0.5, COORD_MAX / 2, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def boxes(draw, min_size=0, max_size=20, dtype=np.float64, allow_degenerate=True):
    """(R, 4) valid boxes; zero-area ones included unless ``allow_degenerate=False``."""
    n = draw(st.integers(min_size, max_size))
    side = sides if allow_degenerate else positive_sides
    xy = draw(hnp.arrays(np.float64, (n, 2), elements=coords))
    wh = draw(hnp.arrays(np.float64, (n, 2), elements=side))
    # Pixel-like values: snap to 1/64 px so that sides like 1e-36 (which a translation
    # by 1 px rounds away) stay in the fuzz strategies, not in the equation properties.
    xy, wh = np.round(xy * 64) / 64, np.round(wh * 64) / 64
    if not allow_degenerate:
        wh = np.maximum(wh, 0.5)
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


@st.composite
def box_pairs(draw, max_size=20, dtype=np.float64, allow_degenerate=True):
    """Two (R, 4) arrays of valid boxes of the same length R."""
    n = draw(st.integers(0, max_size))
    a = draw(boxes(n, n, dtype, allow_degenerate))
    b = draw(boxes(n, n, dtype, allow_degenerate))
    return a, b


@st.composite
def box_pair_with_iou(draw, iou=None):
    """Two axis-aligned boxes of the same height whose IoU is ``iou`` (drawn if None).

    Box A is ``(0, 0, w, h)``; B is A shifted right by ``d``, so the
    intersection is ``(w - d) h`` and IoU = (w - d) / (w + d); solving gives
    d = w (1 - IoU) / (1 + IoU).
    """
    if iou is None:
        iou = draw(st.floats(0.01, 1.0))
    w = draw(st.floats(1.0, 500.0))
    h = draw(st.floats(1.0, 500.0))
    d = w * (1 - iou) / (1 + iou)
    a = np.array([[0.0, 0.0, w, h]])
    return a, a + np.array([[d, 0.0, d, 0.0]]), iou


# --------------------------------------------------------------------------- fuzz
special_floats32 = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 1e-30])
special_floats64 = st.one_of(special_floats32, st.sampled_from([1e300, -1e300, 1e-300]))


@st.composite
def anything_boxes(draw, max_rows=6):
    """Arrays that may or may not be valid boxes: any shape, NaN, inf, huge, inverted."""
    shape = draw(
        st.one_of(
            st.tuples(st.integers(0, max_rows), st.just(4)),
            st.tuples(st.integers(0, max_rows), st.integers(0, 6)),
            st.tuples(st.integers(0, 5)),
            st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 4)),
        )
    )
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    if dtype is np.int64:
        elements = st.integers(-(10**6), 10**6)
    elif dtype is np.float32:
        elements = st.one_of(st.floats(-1e4, 1e4, width=32), special_floats32)
    else:
        elements = st.one_of(st.floats(-1e4, 1e4, width=32), special_floats64)
    with np.errstate(over="ignore", invalid="ignore"):
        return draw(hnp.arrays(dtype, shape, elements=elements))


# --------------------------------------------------------------------------- NMS
@st.composite
def clustered_boxes(draw, max_size=30, dtype=np.float64):
    """(R, 4) boxes jittered around 1-4 centre boxes, like RPN proposals.

    Most pairs overlap a lot, so NMS suppresses most of them; a jitter of 0
    (which hypothesis likes) gives exact duplicates.
    """
    n = draw(st.integers(0, max_size))
    k = draw(st.integers(1, 4))
    centres = draw(boxes(k, k, np.float64, allow_degenerate=False))
    pick = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    jitter = draw(hnp.arrays(np.float64, (n, 4), elements=st.floats(-0.25, 0.25, width=32)))
    c = centres[pick]  # (n, 4)
    wh = np.concatenate([c[:, 2:] - c[:, :2]] * 2, axis=1)  # (n, 4): w, h, w, h
    out = c + jitter * wh
    out[:, 2:] = np.maximum(out[:, 2:], out[:, :2])  # never inverted
    return out.astype(dtype)


@st.composite
def nms_scores(draw, n):
    """(n,) scores: any floats in [0, 1], or few levels (many ties), or signed zeros."""
    kind = draw(st.sampled_from(["floats", "levels", "zeros"]))
    if kind == "floats":
        return draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.0, 1.0)))
    if kind == "levels":
        return draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 3))) / 3.0
    return draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from([0.0, -0.0, 1.0])))


@st.composite
def nms_thresholds(draw, boxes_):
    """An IoU threshold: a round value, any value, or -- adversarially -- the computed IoU of
    two of ``boxes_`` (float32 or float64 arithmetic), or one float step either side of it."""
    from bboxcore.iou import box_iou

    n = len(boxes_)
    if n >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(0, n - 1).filter(lambda j: j != i))
        v = float(box_iou(boxes_[i : i + 1], boxes_[j : j + 1])[0, 0])
        step = draw(st.sampled_from(["at", "below", "above", "below32", "above32"]))
        if step in ("below", "above"):
            v = float(np.nextafter(v, 0.0 if step == "below" else 1.0))
        elif step != "at":
            v = float(np.nextafter(np.float32(v), np.float32(0 if step == "below32" else 1)))
        return min(max(v, 0.0), 1.0)
    return draw(st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]), st.floats(0.0, 1.0)))


@st.composite
def nms_problems(draw, max_size=30, dtype=None):
    """``(boxes, scores, iou_thresh)``: random, clustered or tiny-grid boxes (duplicates,
    zero-area boxes), tied scores, and thresholds sitting exactly on a pair's IoU."""
    if dtype is None:
        dtype = draw(st.sampled_from([np.float32, np.float64]))
    grid = hnp.arrays(np.int64, (draw(st.integers(0, max_size)), 4), elements=st.integers(0, 6))
    b = draw(
        st.one_of(
            boxes(0, max_size, dtype),
            clustered_boxes(max_size, dtype),
            grid.map(lambda g: np.concatenate([g[:, :2], g[:, :2] + g[:, 2:] // 2], 1)),
        )
    ).astype(dtype)
    return b, draw(nms_scores(len(b))), draw(nms_thresholds(b))


# --------------------------------------------------------------------------- anchors / targets
@st.composite
def boxes_in_image(draw, img_size=(200.0, 300.0), min_size=0, max_size=12, min_side=1.0):
    """(R, 4) float64 boxes lying inside an ``img_size = (H, W)`` image, sides >= ``min_side``."""
    h, w = img_size
    n = draw(st.integers(min_size, max_size))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    u = draw(hnp.arrays(np.float64, (n, 4), elements=unit))
    bw = min_side + u[:, 2] * (w - min_side)  # width in [min_side, W]
    bh = min_side + u[:, 3] * (h - min_side)
    x1, y1 = u[:, 0] * (w - bw), u[:, 1] * (h - bh)
    return np.stack([x1, y1, x1 + bw, y1 + bh], axis=1)


@st.composite
def box_shapes(draw, min_size=1, max_size=40, max_side=500.0):
    """(N, 2) positive widths and heights, for k-means anchors."""
    n = draw(st.integers(min_size, max_size))
    side = st.floats(1.0, max_side, allow_nan=False, allow_infinity=False)
    return draw(hnp.arrays(np.float64, (n, 2), elements=side))


# --------------------------------------------------------------------------- nn (autograd)
@st.composite
def conv2d_geometries(draw, max_batch=2, max_channels=3, max_side=7, max_kernel=3):
    """A small conv2d whose (dilated) kernel fits the padded input.

    Returns a dict with ``x_shape`` (N, C, H, W), ``weight_shape`` (F, C, kh, kw) and
    ``stride``, ``padding``, ``dilation`` as (int, int) pairs.
    """
    n, c, f = (draw(st.integers(1, m)) for m in (max_batch, max_channels, max_channels))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    sides = []
    for k, p, d in zip(kernel, padding, dilation):
        span = d * (k - 1) + 1  # extent of the dilated kernel
        low = max(1, span - 2 * p)
        sides.append(draw(st.integers(low, max(low, max_side))))
    return {
        "x_shape": (n, c, *sides),
        "weight_shape": (f, c, *kernel),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }


@st.composite
def pool_geometries(draw, max_side=8, max_kernel=3):
    """A small pooling window: dict of ``x_shape``, ``kernel_size``, ``stride`` (None =
    kernel, i.e. non-overlapping) and ``padding`` (at most half the kernel)."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sides = [draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *sides)
    return {"x_shape": shape, "kernel_size": kernel, "stride": stride, "padding": padding}


# --------------------------------------------------------------------------- RoI ops / losses
@st.composite
def roi_problems(draw, max_rois=5, max_side=7, max_images=2, max_channels=3, min_roi_side=0.0):
    """An RoI-op input: dict of ``features`` (N, C, H, W) float64, ``rois`` (R, 5) with
    ``(batch_index, x_min, y_min, x_max, y_max)`` in image pixels (some partly or wholly off
    the map), ``output_size`` (ph, pw) and ``spatial_scale``."""
    n, c = draw(st.integers(1, max_images)), draw(st.integers(1, max_channels))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    scale = draw(st.sampled_from([1.0, 0.5, 0.25]))
    r = draw(st.integers(0, max_rois))
    values = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    features = draw(hnp.arrays(np.float64, (n, c, h, w), elements=values))
    reach = 2 * max(h, w) / scale  # corners up to one map-size beyond the border
    corner = st.floats(-reach / 2, reach, allow_nan=False, allow_infinity=False)
    side = st.floats(min_roi_side / scale, reach, allow_nan=False, allow_infinity=False)
    xy = draw(hnp.arrays(np.float64, (r, 2), elements=corner))
    wh = draw(hnp.arrays(np.float64, (r, 2), elements=side))
    index = draw(hnp.arrays(np.int64, (r, 1), elements=st.integers(0, n - 1)))
    rois = np.concatenate([index, xy, xy + wh], axis=1)
    output_size = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return {"features": features, "rois": rois, "output_size": output_size, "spatial_scale": scale}


# --------------------------------------------------------------------------- grading
@st.composite
def grid_nms_problems(draw, max_size=12, side=16, levels=4):
    """``(boxes, scores, iou_thresh)`` with boxes on a 1/4-pixel grid and tied scores.

    Grid coordinates keep every width, area, intersection and union exact in
    float32 and float64, so that only the final IoU division rounds; scores
    take ``levels`` values, so ties are common.
    """
    n = draw(st.integers(0, max_size))
    q = hnp.arrays(np.int64, (n, 4), elements=st.integers(0, 4 * side))
    raw = draw(q) / 4.0
    boxes = np.concatenate([raw[:, :2], raw[:, :2] + raw[:, 2:] / 4], axis=1)
    scores = draw(hnp.arrays(np.int64, (n,), elements=st.integers(1, levels))) / levels
    t = draw(st.sampled_from([0.0, 0.25, 0.3, 0.5, 0.7, 1.0]))
    return boxes, scores, t


# --------------------------------------------------------------------------- evaluation
@st.composite
def detection_problems(draw, max_images=4, max_gt=5, max_det=8, n_class=2, side=12, levels=4):
    """``(pred, gt)`` per-image dicts for the metrics, on an integer grid with tied scores.

    Boxes have integer corners in ``[0, 4 * side]`` (exact areas, frequent equal
    IoUs), detections are often jittered copies of a box (so that matches,
    duplicates and near-misses all occur), scores take ``levels`` values (ties),
    and ``difficult`` / ``iscrowd`` flags are drawn for the ground truth.
    """
    n_img = draw(st.integers(1, max_images))
    pred, gt = [], []
    corner = st.integers(0, 3 * side)
    size = st.integers(1, side)
    for _ in range(n_img):
        g = draw(st.integers(0, max_gt))
        xy = np.array(draw(st.lists(st.tuples(corner, corner), min_size=g, max_size=g)), float)
        wh = np.array(draw(st.lists(st.tuples(size, size), min_size=g, max_size=g)), float)
        g_box = np.concatenate([xy.reshape(-1, 2), xy.reshape(-1, 2) + wh.reshape(-1, 2)], axis=1)
        g_label = np.array(draw(st.lists(st.integers(0, n_class - 1), min_size=g, max_size=g)))
        flags = st.lists(st.booleans(), min_size=g, max_size=g)
        gt.append(
            {
                "bbox": g_box,
                "label": g_label.astype(np.int64),
                "difficult": np.array(draw(flags), bool),
                "iscrowd": np.array(draw(flags), bool),
            }
        )
        d = draw(st.integers(0, max_det))
        rows = []
        for _ in range(d):
            if g and draw(st.booleans()):
                k = draw(st.integers(0, g - 1))
                shift = np.array(draw(st.tuples(*[st.integers(-1, 1)] * 4)), float)
                box = g_box[k] + shift
                box[2:] = np.maximum(box[2:], box[:2])
                lab = g_label[k] if draw(st.booleans()) else draw(st.integers(0, n_class - 1))
            else:
                x, y, w, h = (draw(corner), draw(corner), draw(size), draw(size))
                box, lab = np.array([x, y, x + w, y + h], float), draw(st.integers(0, n_class - 1))
            rows.append((box, lab, draw(st.integers(1, levels)) / levels))
        pred.append(
            {
                "bbox": np.array([r[0] for r in rows]).reshape(-1, 4),
                "label": np.array([r[1] for r in rows], np.int64),
                "score": np.array([r[2] for r in rows], float),
            }
        )
    return pred, gt


@st.composite
def logits_and_targets(draw, max_size=16, scale=6.0, hard=None):
    """Logits (n,) and targets in [0, 1] (hard 0/1 labels or soft, drawn if ``hard`` is None)."""
    n = draw(st.integers(0, max_size))
    z = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-scale, scale)))
    if hard is None:
        hard = draw(st.booleans())
    elements = st.sampled_from([0.0, 1.0]) if hard else st.floats(0.0, 1.0)
    t = draw(hnp.arrays(np.float64, (n,), elements=elements))
    return z, t
