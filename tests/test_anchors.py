"""Tests of bboxcore.anchors against the slides and the papers.

Course material: Object Detection: Faster R-CNN; Detection – 3 stages; Train/Test/Eval/Loss
pipeline of a Faster R-CNN.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.anchors import (
    FPN_SIZES,
    VGG16_LAYERS,
    ZF_LAYERS,
    generate_anchor_base,
    grid_anchors,
    inside_image,
    kmeans_anchors,
    pyramid_anchors,
    receptive_field,
    ssd_prior_boxes,
)
from bboxcore.iou import box_iou
from tests.strategies import anything_boxes, box_shapes, boxes

positive = st.floats(0.1, 64.0, allow_nan=False)
ratio_lists = st.lists(st.floats(0.1, 10.0, allow_nan=False), min_size=1, max_size=4)
scale_lists = st.lists(st.floats(0.5, 40.0, allow_nan=False), min_size=1, max_size=4)


def _feat_size(img_size, stride):
    """Feature-map size of a VGG-16 in Caffe (pooling rounds up): ceil(H / s), ceil(W / s)."""
    return math.ceil(img_size[0] / stride), math.ceil(img_size[1] / stride)


# --------------------------------------------------------------------------- the slides' numbers
def test_anchor_count_38x50_map_is_17100():
    # Detection – 3 stages, §C2: "1 x 9 x 38 x 50 = 17100 anchors"
    anchor = grid_anchors(generate_anchor_base(), 16, (38, 50))
    assert anchor.shape == (1 * 9 * 38 * 50, 4) == (17100, 4)


def test_anchor_count_1000x600_image_about_20k_and_6k_inside():
    # Object Detection: Faster R-CNN: "1000 x 600 image: about 60 x 40 x 9 (20k) anchors, about 6k
    # after dropping
    # the cross-boundary ones". Exact figures with Caffe's VGG-16 map ceil(600/16) x
    # ceil(1000/16) = 38 x 63: 21546 anchors, 8044 of them fully inside (py-faster-rcnn's
    # rounded anchors give 8151). The paper's "6k" matches a 600 x 800 image (Detection – 3 stages'
    # 38 x 50 map): 17100 anchors, 5834 inside.
    img_size = (600, 1000)
    anchor = grid_anchors(generate_anchor_base(), 16, _feat_size(img_size, 16))
    assert len(anchor) == 38 * 63 * 9 == 21546
    assert abs(len(anchor) - 60 * 40 * 9) / 20000 < 0.1  # "about 20k"
    assert len(inside_image(anchor, img_size)) == 8044
    anchor = grid_anchors(generate_anchor_base(), 16, _feat_size((600, 800), 16))
    assert len(anchor) == 17100
    assert len(inside_image(anchor, (600, 800))) == 5834  # "about 6k"


def test_anchor_count_512x256_image_stride_32():
    # Train/Test/Eval/Loss pipeline of a Faster R-CNN: stride 32, a 512 x 256 image gives a 16 x 8
    # map and 16 x 8 x 9 anchors
    # (the "1152 boxes" of its Q2)
    img_size = (256, 512)  # (H, W)
    anchor = grid_anchors(generate_anchor_base(32), 32, _feat_size(img_size, 32))
    assert anchor.shape == (16 * 8 * 9, 4) == (1152, 4)


def test_anchor_base_default_areas_are_128_256_512_squared():
    # Object Detection: Faster R-CNN: "three scales (areas) {128², 256², 512²}, three ratios {1:1,
    # 1:2, 2:1}"
    base = generate_anchor_base()
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    np.testing.assert_allclose(np.sort(w * h), np.repeat([128.0**2, 256.0**2, 512.0**2], 3))
    np.testing.assert_allclose(np.sort(np.unique(np.round(h / w, 9))), [0.5, 1.0, 2.0])


# --------------------------------------------------------------------------- one cell
@given(positive, ratio_lists, scale_lists)
def test_anchor_base_area_is_base_times_scale_squared_and_h_over_w_is_ratio(b, ratios, scales):
    # Faster R-CNN Sec. 3.1.1: area (b s)² for every ratio r = h / w (Object Detection: Faster
    # R-CNN)
    base = generate_anchor_base(b, ratios, scales)
    assert base.shape == (len(ratios) * len(scales), 4)
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    r = np.repeat(ratios, len(scales))  # ratio-major order
    s = np.tile(scales, len(ratios))
    np.testing.assert_allclose(w * h, (b * s) ** 2, rtol=1e-12)
    np.testing.assert_allclose(h / w, r, rtol=1e-12)


@given(positive, ratio_lists, scale_lists)
def test_anchor_base_shares_one_centre_at_half_the_base_size(b, ratios, scales):
    base = generate_anchor_base(b, ratios, scales)
    centre = 0.5 * (base[:, :2] + base[:, 2:])
    np.testing.assert_allclose(centre, np.full_like(centre, b / 2), rtol=1e-12, atol=1e-9)


def test_anchor_base_order_is_ratio_major():
    base = generate_anchor_base(10, ratios=(0.5, 2), scales=(1, 3))
    expected = [  # (ratio, scale): w = b s / sqrt(r), h = b s sqrt(r), centred on (5, 5)
        (0.5, 1),
        (0.5, 3),
        (2, 1),
        (2, 3),
    ]
    for row, (r, s) in zip(base, expected):
        w, h = 10 * s / math.sqrt(r), 10 * s * math.sqrt(r)
        np.testing.assert_allclose(row, [5 - w / 2, 5 - h / 2, 5 + w / 2, 5 + h / 2])


# --------------------------------------------------------------------------- the grid
@given(st.integers(0, 6), st.integers(0, 6), st.sampled_from([4, 8, 16, 32, 12.5]))
def test_grid_anchors_row_is_base_anchor_a_shifted_to_cell_y_x(hf, wf, stride):
    base = generate_anchor_base(stride, (0.5, 1, 2), (1, 2))
    anchor = grid_anchors(base, stride, (hf, wf))
    assert anchor.shape == (hf * wf * len(base), 4)
    grid = anchor.reshape(hf, wf, len(base), 4)
    for y in range(hf):  # the slow, obvious reference
        for x in range(wf):
            for a in range(len(base)):
                shift = np.array([x * stride, y * stride, x * stride, y * stride])
                np.testing.assert_allclose(grid[y, x, a], base[a] + shift)


@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([8, 16, 32]))
def test_grid_anchors_are_centred_on_the_cell_centres(hf, wf, stride):
    anchor = grid_anchors(generate_anchor_base(stride), stride, (hf, wf)).reshape(hf, wf, 9, 4)
    centre = 0.5 * (anchor[..., :2] + anchor[..., 2:])  # (H, W, A, 2)
    ys, xs = np.mgrid[0:hf, 0:wf]
    expected = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], -1)[:, :, None, :]
    np.testing.assert_allclose(centre, np.broadcast_to(expected, centre.shape), atol=1e-9)


def test_grid_anchors_line_up_with_an_rpn_head_output():
    # Train/Test/Eval/Loss pipeline of a Faster R-CNN: the RPN head gives [B, 9*4, H, W]; channel 4a
    # + k at (y, x) is offset k of
    # anchor a of cell (y, x), and .transpose(1, 2, 0).reshape(-1, 4) lines it up with the anchors
    hf, wf, n_a = 3, 5, 9
    base = generate_anchor_base()
    anchor = grid_anchors(base, 16, (hf, wf))
    a, k, y, x = np.meshgrid(
        np.arange(n_a), np.arange(4), np.arange(hf), np.arange(wf), indexing="ij"
    )
    code = a * 10**6 + k * 10**4 + y * 100 + x  # (A, 4, H, W): who is who
    loc = code.reshape(n_a * 4, hf, wf).transpose(1, 2, 0).reshape(-1, 4)  # (H*W*A, 4)
    for row in range(len(anchor)):
        yy, xx, aa = np.unravel_index(row, (hf, wf, n_a))  # row = (y W + x) A + a
        np.testing.assert_array_equal(loc[row], aa * 10**6 + np.arange(4) * 10**4 + yy * 100 + xx)
        np.testing.assert_allclose(anchor[row], base[aa] + 16 * np.array([xx, yy, xx, yy]))


def test_grid_anchors_keep_float32_and_do_not_alias():
    base = generate_anchor_base().astype(np.float32)
    before = base.copy()
    anchor = grid_anchors(base, 16, (2, 2))
    assert anchor.dtype == np.float32
    assert not np.shares_memory(anchor, base)
    np.testing.assert_array_equal(base, before)
    assert grid_anchors([[0, 0, 4, 4]], 4, (1, 1)).dtype == np.float64
    assert grid_anchors(base, 16, (0, 7)).shape == (0, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_size": 0}, "base_size must be a finite number > 0"),
        ({"base_size": "x"}, "base_size must be a finite number > 0"),
        ({"ratios": ()}, "ratios must be a non-empty"),
        ({"ratios": (1, -2)}, "ratios must be a non-empty"),
        ({"scales": (np.nan,)}, "scales must be a non-empty"),
    ],
)
def test_generate_anchor_base_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        generate_anchor_base(**kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[0, 0, 1]], 16, (2, 2)), r"anchor_base must have shape \(R, 4\)"),
        (([[0, 0, np.inf, 1]], 16, (2, 2)), "anchor_base must be finite"),
        (([[0, 0, 1, 1]], 0, (2, 2)), "feat_stride must be a finite number > 0"),
        (([[0, 0, 1, 1]], 16, (2, 2.5)), "feat_size must be"),
        (([[0, 0, 1, 1]], 16, (2, -1)), "feat_size must be"),
        (([[0, 0, 1, 1]], 16, 5), "feat_size must be"),
    ],
)
def test_grid_anchors_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        grid_anchors(*args)


@given(anything_boxes())
def test_grid_anchors_fuzz_returns_documented_result_or_raises(base):
    try:
        anchor = grid_anchors(base, 8, (2, 3))
    except (ValueError, TypeError):
        return
    assert anchor.shape == (6 * len(base), 4) and np.isfinite(anchor).all()


# --------------------------------------------------------------------------- inside the image
@given(boxes(max_size=30), st.floats(1, 3000), st.floats(1, 3000))
def test_inside_image_keeps_exactly_the_boxes_inside(anchor, h, w):
    index = inside_image(anchor, (h, w))
    expected = [
        i
        for i, (x1, y1, x2, y2) in enumerate(anchor)
        if x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h
    ]
    assert index.dtype == np.int64
    np.testing.assert_array_equal(index, expected)


def test_inside_image_border_counts_as_inside():
    anchor = np.array([[0, 0, 20, 10], [0, 0, 20.001, 10], [-1e-9, 0, 5, 5]])
    np.testing.assert_array_equal(inside_image(anchor, (10, 20)), [0])
    assert inside_image(np.zeros((0, 4)), (10, 20)).shape == (0,)


@pytest.mark.parametrize(
    ("anchor", "img_size", "match"),
    [
        ([[0, 0, 1, 1]], (0, 5), "img_size must be"),
        ([[0, 0, 1, 1]], (5,), "img_size must be"),
        ([[2, 0, 1, 1]], (5, 5), "anchor has an inverted box"),
    ],
)
def test_inside_image_rejects_bad_arguments(anchor, img_size, match):
    with pytest.raises(ValueError, match=match):
        inside_image(anchor, img_size)


@given(anything_boxes())
def test_inside_image_fuzz_returns_documented_result_or_raises(anchor):
    try:
        index = inside_image(anchor, (100, 100))
    except (ValueError, TypeError):
        return
    assert index.ndim == 1 and (index < len(anchor)).all()


# --------------------------------------------------------------------------- FPN and SSD
def test_pyramid_anchors_have_fpn_areas_32_to_512_squared_15_shapes():
    # Detection – 3 stages, §G3: "P2-P6. Anchor areas 32² ~ 512² per scale, ratio {1:2, 1:1, 2:1},
    # 15 in total"
    feat_sizes = [(8, 10), (4, 5), (2, 3), (1, 2), (1, 1)]
    levels = pyramid_anchors(feat_sizes)
    shapes = set()
    for anchor, (hf, wf), size, stride in zip(levels, feat_sizes, FPN_SIZES, (4, 8, 16, 32, 64)):
        assert anchor.shape == (hf * wf * 3, 4)
        w, h = anchor[:, 2] - anchor[:, 0], anchor[:, 3] - anchor[:, 1]
        np.testing.assert_allclose(w * h, size**2)
        centre = 0.5 * (anchor[:3, :2] + anchor[:3, 2:])
        np.testing.assert_allclose(centre, stride / 2)  # cell (0, 0)'s centre
        shapes |= {(round(float(a), 6), round(float(b), 6)) for a, b in zip(w, h)}
    assert len(shapes) == 15


def test_pyramid_anchors_rejects_mismatched_levels():
    with pytest.raises(ValueError, match="one entry per level"):
        pyramid_anchors([(2, 2)])
    with pytest.raises(ValueError, match="strides must be a finite number > 0"):
        pyramid_anchors([(2, 2)], strides=(0,), sizes=(32,))


def test_ssd300_has_8732_prior_boxes_with_eq4_scales():
    # SSD (arXiv:1512.02325) Sec. 2.2 / 3: six maps, ratios {1, 2, 3, 1/2, 1/3} -> 8732 boxes
    fs = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
    ar = [(2,), (2, 3), (2, 3), (2, 3), (2,), (2,)]
    prior = ssd_prior_boxes((300, 300), fs, ar)
    assert prior.shape == (38**2 * 4 + 19**2 * 6 + 10**2 * 6 + 5**2 * 6 + 3**2 * 4 + 4, 4)
    assert len(prior) == 8732
    # Eq. 4: s_k = 0.2 + (0.9 - 0.2) / 5 (k - 1); the first box of each cell is s_k x s_k
    start = 0
    for k, ((hf, wf), ratios) in enumerate(zip(fs, ar)):
        n_a = 2 + 2 * len(ratios)
        block = prior[start : start + hf * wf * n_a].reshape(hf, wf, n_a, 4)
        s_k, s_next = 0.2 + 0.14 * k, 0.2 + 0.14 * (k + 1)
        np.testing.assert_allclose(block[..., 0, 2] - block[..., 0, 0], 300 * s_k)
        np.testing.assert_allclose(
            block[..., 1, 2] - block[..., 1, 0], 300 * math.sqrt(s_k * s_next)
        )
        w, h = block[0, 0, 2, 2] - block[0, 0, 2, 0], block[0, 0, 2, 3] - block[0, 0, 2, 1]
        np.testing.assert_allclose(w / h, 2.0)  # SSD's a = w / h
        centre = 0.5 * (block[..., 0, :2] + block[..., 0, 2:])
        ys, xs = np.mgrid[0:hf, 0:wf]
        np.testing.assert_allclose(centre[..., 0], (xs + 0.5) * 300 / wf)
        np.testing.assert_allclose(centre[..., 1], (ys + 0.5) * 300 / hf)
        start += hf * wf * n_a


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (((300, 300), [(2, 2)], [()]), "m >= 2 maps"),
        (((300, 300), [(2, 2), (1, 1)], [()]), "m >= 2 maps"),
        (((300, 300), [(2, 2), (1, 1)], [(), (-1,)]), "aspect_ratios must be"),
        (((300, 300), [(2, 2), (1, 1)], [(), ()], 0.9, 0.2), "s_min must be <= s_max"),
        (((0, 300), [(2, 2), (1, 1)], [(), ()]), "img_size must be"),
    ],
)
def test_ssd_prior_boxes_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        ssd_prior_boxes(*args)


# --------------------------------------------------------------------------- k-means (YOLOv2)
def _mean_best_iou(wh, anchors):
    """Reference: mean over boxes of the best IoU with an anchor, corners at the origin."""
    total = 0.0
    for w, h in wh:
        best = 0.0
        for aw, ah in anchors:
            inter = min(w, aw) * min(h, ah)
            best = max(best, inter / (w * h + aw * ah - inter))
        total += best
    return total / len(wh)


@given(box_shapes(min_size=6, max_size=40), st.integers(0, 3))
def test_kmeans_mean_iou_never_decreases_with_k(wh, seed):
    # Detection – 3 stages, §F2.1: k-means with d = 1 - IoU; YOLOv2 Fig. 2 plots Avg IoU against k
    ious = [kmeans_anchors(wh, k, np.random.default_rng(seed))[1] for k in range(1, 6)]
    assert all(b >= a - 1e-12 for a, b in zip(ious, ious[1:])), ious


@given(box_shapes(min_size=1, max_size=30), st.integers(1, 5))
def test_kmeans_mean_iou_is_the_mean_best_iou_of_its_anchors(wh, k):
    k = min(k, len(wh))
    anchors, mean_iou = kmeans_anchors(wh, k, np.random.default_rng(0))
    assert anchors.shape == (k, 2) and (anchors > 0).all()
    assert 0 < mean_iou <= 1
    assert mean_iou == pytest.approx(_mean_best_iou(wh, anchors), rel=1e-9)
    area = anchors.prod(1)
    assert (np.diff(area) >= 0).all()  # sorted by area


def test_kmeans_recovers_well_separated_shapes():
    rng = np.random.default_rng(7)
    shapes = np.array([[12.0, 30.0], [40.0, 40.0], [120.0, 60.0], [300.0, 200.0]])
    wh = np.repeat(shapes, 50, axis=0) * rng.uniform(0.95, 1.05, size=(200, 2))
    anchors, mean_iou = kmeans_anchors(wh, 4, np.random.default_rng(0))
    np.testing.assert_allclose(anchors, shapes, rtol=0.03)
    assert mean_iou > 0.9


def test_kmeans_is_deterministic_under_a_seed_and_keeps_float32():
    wh = np.random.default_rng(1).uniform(5, 100, size=(50, 2)).astype(np.float32)
    a1, m1 = kmeans_anchors(wh, 5, np.random.default_rng(3))
    a2, m2 = kmeans_anchors(wh, 5, np.random.default_rng(3))
    np.testing.assert_array_equal(a1, a2)
    assert m1 == m2 and a1.dtype == np.float32


def test_kmeans_with_k_equal_n_and_duplicates():
    wh = np.array([[10.0, 10.0], [10.0, 10.0], [20.0, 5.0]])
    anchors, mean_iou = kmeans_anchors(wh, 3, np.random.default_rng(0))
    assert anchors.shape == (3, 2) and mean_iou == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("wh", "k", "rng", "match", "err"),
    [
        (np.ones((3, 3)), 1, np.random.default_rng(0), r"wh must have shape \(N, 2\)", ValueError),
        ([[1, 0]], 1, np.random.default_rng(0), "wh must be positive", ValueError),
        ([[1, np.nan]], 1, np.random.default_rng(0), "wh must be finite", ValueError),
        (
            [[1, 1], [1e300, 1e300]],
            1,
            np.random.default_rng(0),
            "wh row 1 is too large",
            ValueError,
        ),
        ([[1, 1]], 2, np.random.default_rng(0), r"k must be an integer in \[1, N=1\]", ValueError),
        ([[1, 1]], 0, np.random.default_rng(0), "k must be", ValueError),
        ([[1, 1]], 1.0, np.random.default_rng(0), "k must be", ValueError),
        ([[1, 1]], 1, np.random.RandomState(0), "rng must be a numpy.random.Generator", TypeError),
        ([["a", "b"]], 1, np.random.default_rng(0), "wh must be a real numeric", TypeError),
    ],
)
def test_kmeans_rejects_bad_arguments(wh, k, rng, match, err):
    with pytest.raises(err, match=match):
        kmeans_anchors(wh, k, rng)
    with pytest.raises(ValueError, match="n_iter must be"):
        kmeans_anchors([[1, 1]], 1, np.random.default_rng(0), n_iter=-1)


@given(anything_boxes(), st.integers(1, 3))
def test_kmeans_fuzz_returns_documented_result_or_raises(x, k):
    wh = x[..., :2] if x.ndim == 2 else x
    try:
        anchors, mean_iou = kmeans_anchors(wh, k, np.random.default_rng(0), n_iter=5)
    except (ValueError, TypeError):
        return
    assert anchors.shape == (k, 2) and 0 <= mean_iou <= 1


def test_kmeans_matches_box_iou_of_origin_aligned_boxes():
    wh = np.array([[10.0, 20.0], [30.0, 5.0], [8.0, 8.0], [25.0, 25.0]])
    anchors, mean_iou = kmeans_anchors(wh, 2, np.random.default_rng(0))
    z = np.zeros_like
    iou = box_iou(np.hstack([z(wh), wh]), np.hstack([z(anchors), anchors]))
    assert mean_iou == pytest.approx(iou.max(1).mean())


# --------------------------------------------------------------------------- receptive field
def test_receptive_field_zf_is_171_step_by_step():
    # Object Detection: Faster R-CNN: F(i) = (F(i+1) - 1) x stride + ksize, from the RPN's 3x3
    # window on conv5
    zf = [(7, 2), (3, 2), (5, 2), (3, 2), (3, 1), (3, 1), (3, 1), (3, 1)]
    # the slide's column, read backwards: 3, 5, 7, 9, 19, 41, 83, 171
    steps = [receptive_field(zf[i:]) for i in range(len(zf) - 1, -1, -1)]
    assert steps == [3, 5, 7, 9, 19, 41, 83, 171]
    assert ZF_LAYERS == tuple(zf)


def test_receptive_field_vgg16_is_228():
    # Object Detection: Faster R-CNN: "VGG receptive field: 228" — 13 3x3 convs, 4 2x2 pools, then
    # the 3x3 RPN window
    conv, pool = (3, 1), (2, 2)
    vgg = (
        [conv] * 2 + [pool] + [conv] * 2 + [pool] + ([conv] * 3 + [pool]) * 2 + [conv] * 3 + [conv]
    )
    assert receptive_field(vgg) == 228
    assert receptive_field(VGG16_LAYERS) == 228
    assert receptive_field(vgg[:-1]) == 196  # conv5_3 alone
    assert receptive_field([]) == 1


@pytest.mark.parametrize("layers", [[(3, 0)], [(3,)], [3], [(3.0, 1)], [(3, 1), (0, 1)]])
def test_receptive_field_rejects_bad_layers(layers):
    with pytest.raises(ValueError, match=r"layers must be \(ksize, stride\) pairs"):
        receptive_field(layers)


# --------------------------------------------------------------------------- edges (mutation)
def test_ssd_prior_boxes_each_ratio_gives_the_box_and_its_transpose():
    # Liu et al. 2016 (arXiv:1512.02325), Sec. 2.2: w = s sqrt(a), h = s / sqrt(a) for
    # a in {2, 1/2}: a listed ratio 2 gives both (s sqrt 2, s / sqrt 2) and its transpose
    p = ssd_prior_boxes((100, 100), [(1, 1), (1, 1)], [[2.0], [2.0]], s_min=0.2, s_max=0.4)
    w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    s1, s2 = 20.0, 40.0
    r2 = math.sqrt(2)
    expected_w = [s1, math.sqrt(s1 * s2), s1 * r2, s1 / r2]
    expected_h = [s1, math.sqrt(s1 * s2), s1 / r2, s1 * r2]
    np.testing.assert_allclose(w[:4], expected_w, rtol=1e-12)
    np.testing.assert_allclose(h[:4], expected_h, rtol=1e-12)


def test_ssd_prior_boxes_s_min_equal_s_max_is_valid():
    # one scale for every map (s_min = s_max is not "s_min > s_max")
    p = ssd_prior_boxes((100, 100), [(1, 1), (1, 1)], [[], []], s_min=0.3, s_max=0.3)
    np.testing.assert_allclose(p[:, 2] - p[:, 0], 30.0, rtol=1e-12)


def test_kmeans_n_iter_0_is_valid_and_must_be_an_integer():
    # n_iter = 0: the k-means++ seeds without a Lloyd step; a bool or a float is refused
    wh = np.array([[10.0, 10.0], [20.0, 20.0], [11.0, 9.0]])
    anchors, mean_iou = kmeans_anchors(wh, 1, np.random.default_rng(0), n_iter=0)
    assert anchors.shape == (1, 2) and 0 < mean_iou <= 1
    for bad in (True, 1.5):
        with pytest.raises((TypeError, ValueError), match="n_iter must be"):
            kmeans_anchors(wh, 1, np.random.default_rng(0), n_iter=bad)


def test_kmeans_accepts_boxes_up_to_a_quarter_of_the_largest_area():
    # 4 w h must be finite (the areas and the unions of the IoU): w h = 4e307 passes,
    # w h = 5e307 (4 w h = 2e308 > max) and a long thin 1e300 x 1e10 box do not
    rng = np.random.default_rng(0)
    anchors, _ = kmeans_anchors([[4e153, 1e154]], 1, rng)
    assert np.isfinite(anchors).all()
    for bad in ([[5e153, 1e154]], [[1e300, 1e10]], [[1e10, 1e300]]):
        with pytest.raises(ValueError, match="too large"):
            kmeans_anchors(bad, 1, rng)


def test_grid_anchors_in_float32_are_computed_in_float32():
    # float32 stays float32 (DESIGN.md): every coordinate of a float32 grid is the float32 sum
    # of the base coordinate and the float32 shift x s (y s), not a float64 sum rounded once;
    # a stride that float32 cannot hold exactly (10.3) makes the two differ in the last bit
    base = generate_anchor_base(16).astype(np.float32)
    anchor = grid_anchors(base, 10.3, (5, 7)).reshape(5, 7, 9, 4)
    s = np.float32(10.3)
    shift_x = np.arange(7, dtype=np.float32) * s
    shift_y = np.arange(5, dtype=np.float32) * s
    expected_x = base[:, 0::2] + shift_x[None, :, None, None]  # (1, W, A, 2): x moves with x
    expected_y = base[:, 1::2] + shift_y[:, None, None, None]  # (H, 1, A, 2): y moves with y
    np.testing.assert_array_equal(anchor[..., 0::2], np.broadcast_to(expected_x, (5, 7, 9, 2)))
    np.testing.assert_array_equal(anchor[..., 1::2], np.broadcast_to(expected_y, (5, 7, 9, 2)))


def _kmeanspp_pair_probabilities(shapes, counts):
    """Exact k-means++ law of the shapes of the first two seeds (Arthur & Vassilvitskii 2007,
    Sec. 2.2) under YOLOv2's distance d = 1 - IoU: the first box uniform among the N boxes,
    the second with probability d(box, first)^2 / sum of d^2. Keys: sorted pairs of shapes."""
    wh = np.repeat(np.asarray(shapes, np.float64), counts, axis=0)
    kind = np.repeat(np.arange(len(shapes)), counts)
    inter = np.minimum(wh[:, None, 0], wh[None, :, 0]) * np.minimum(wh[:, None, 1], wh[None, :, 1])
    area = wh.prod(1)
    d2 = (1 - inter / (area[:, None] + area[None, :] - inter)) ** 2  # (N, N)
    prob = {}
    for i in range(len(wh)):
        for j in range(len(wh)):
            key = tuple(sorted((int(kind[i]), int(kind[j]))))
            prob[key] = prob.get(key, 0.0) + d2[i, j] / d2[i].sum() / len(wh)
    return prob


def test_kmeans_seeds_follow_kmeanspp_d_squared_sampling():
    # YOLOv2 Sec. 2 "Dimension Clusters" (arXiv:1612.08242): k-means with d = 1 - IoU;
    # seeding k-means++ (Arthur & Vassilvitskii 2007): the next seed is drawn with probability
    # proportional to d^2 to the nearest centroid. With n_iter = 0 the anchors are the seeds
    # themselves, so over many generators the pairs of seed shapes follow the exact law.
    # The counts make d^2 give a law far from d, d^3 or uniform draws (>= 0.19 apart).
    shapes, counts = [(10.0, 10.0), (10.0, 13.0), (10.0, 30.0)], [4, 12, 1]
    wh = np.repeat(np.array(shapes), counts, axis=0)
    expected = _kmeanspp_pair_probabilities(shapes, counts)
    n_draw = 400
    seen = {}
    for seed in range(n_draw):
        anchors, _ = kmeans_anchors(wh, 2, np.random.default_rng(seed), n_iter=0)
        key = tuple(sorted(shapes.index(tuple(a)) for a in anchors.tolist()))
        seen[key] = seen.get(key, 0) + 1
    assert set(seen) <= {k for k, p in expected.items() if p > 0}  # never one shape twice
    for key, p in expected.items():  # 0.08 is above 3 standard deviations (<= 0.025)
        assert abs(seen.get(key, 0) / n_draw - p) < 0.08, (key, seen, expected)


def test_kmeans_one_cluster_is_the_mean_shape_when_that_is_better():
    # k = 1 is Lloyd's step from the first seed: the centroid moves to the mean (w, h) of all
    # boxes, here (12, 12) with mean IoU 0.81, better than any box as the centroid (<= 0.75)
    wh = np.array([[10.0, 10.0], [12.0, 12.0], [14.0, 14.0]])
    for seed in range(8):
        anchors, mean_iou = kmeans_anchors(wh, 1, np.random.default_rng(seed))
        np.testing.assert_array_equal(anchors, [[12.0, 12.0]])
        assert mean_iou == pytest.approx((100 / 144 + 1 + 144 / 196) / 3)


def test_kmeans_a_cluster_of_one_box_is_centred_on_it():
    # Lloyd's update moves every centroid to the mean of its boxes, also when one box is left
    # in a cluster: the small box (3, 1) is an anchor of its own from every seed (the other
    # anchor is the mean (6.5, 4) of the two large boxes, or one of them when that is better)
    wh = np.array([[6.0, 4.0], [7.0, 4.0], [3.0, 1.0]])
    for seed in range(8):
        anchors, mean_iou = kmeans_anchors(wh, 2, np.random.default_rng(seed))
        np.testing.assert_array_equal(anchors[0], [3.0, 1.0])
        assert anchors[1].tolist() in ([6.5, 4.0], [7.0, 4.0], [6.0, 4.0])
        assert mean_iou > 0.95


def test_kmeans_keeps_the_first_of_equally_good_states():
    # "the best state seen is kept": a later state replaces it only with a strictly higher mean
    # IoU. Seed (1, 4): mean IoU (1/4 + 1/4 + 1) / 3 = 1/2; the Lloyd step to the mean (1, 2)
    # gives (1/2 + 1/2 + 1/2) / 3 = 1/2 as well, so the seed stays. Seed (1, 1): 3/4, kept.
    wh = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 4.0]])
    results = {
        (tuple(a[0]), m)
        for a, m in (kmeans_anchors(wh, 1, np.random.default_rng(s)) for s in range(8))
    }
    assert results == {((1.0, 4.0), 0.5), ((1.0, 1.0), 0.75)}


def test_kmeans_equal_areas_are_ordered_by_width():
    # anchors sorted by area, equal areas by width: the same list from every seed, whatever
    # the order in which k-means++ found the clusters
    wh = np.array([[2.0, 8.0], [8.0, 2.0], [4.0, 4.0], [1.0, 16.0], [16.0, 1.0]])
    for seed in range(6):
        anchors, mean_iou = kmeans_anchors(wh, 5, np.random.default_rng(seed))
        np.testing.assert_array_equal(anchors, [[1, 16], [2, 8], [4, 4], [8, 2], [16, 1]])
        assert mean_iou == 1.0


def test_kmeans_default_n_iter_is_100():
    # the documented default: at most 100 Lloyd iterations per added centroid
    assert inspect.signature(kmeans_anchors).parameters["n_iter"].default == 100
