"""CenterNet's flip test: the heatmaps and sizes of flipped inputs, flipped back and averaged.

Source: X. Zhou, D. Wang, P. Krähenbühl, "Objects as Points", arXiv:1904.07850, Sec. 5
"Inference" ("for flip, we average the network outputs before decoding bounding boxes") and
Table 1's "F" column. The property: the averaged heatmap of an image's mirror image is the
mirror image of its averaged heatmap, so the peaks' scores and sizes do not depend on which
way round the image comes, though the network's single pass does.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore.models.centernet import FLIP_TESTS, CenterNet
from bboxcore.models.config import config_to_dict
from bboxcore.targets.centernet import centernet_decode
from tests.models.test_centernet import tiny_centernet
from tests.models.test_centernet_pyramid import tiny_pyramid_centernet


def _model(flip_test, pyramid=False, seed=0):
    make = tiny_pyramid_centernet if pyramid else tiny_centernet
    cfg = make(flip_test=flip_test, max_detections=200, score_thresh=0.0)
    return CenterNet(cfg, np.random.default_rng(seed))


def _sizes_of_unclipped_pairs(a, b, side):
    """(w, h) of the detections of ``a`` and ``b`` paired by rank, where neither box was clipped."""
    inside = [((p.bbox > 0.01) & (p.bbox < side - 0.01)).all(1) for p in (a, b)]
    both = inside[0] & inside[1]
    return [(p.bbox[both, 2:] - p.bbox[both, :2]) for p in (a, b)]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), pyramid=st.booleans())
def test_flip_test_h_makes_scores_and_sizes_mirror_invariant(seed, pyramid):
    image = np.random.default_rng(seed).random((32, 32, 3), dtype=np.float32)
    mirror = image[:, ::-1].copy()
    model = _model("h", pyramid, seed=seed % 7)
    a, b = model.predict([image, mirror])
    np.testing.assert_array_equal(a.score, b.score)  # bit for bit: a + b = b + a
    np.testing.assert_array_equal(a.label, b.label)
    wh_a, wh_b = _sizes_of_unclipped_pairs(a, b, 32)  # the centres differ: plain offsets
    assert len(wh_a) > 0
    np.testing.assert_allclose(wh_a, wh_b, rtol=1e-5, atol=1e-4)
    model.config.flip_test = "none"  # one pass: the random network is not mirror-symmetric
    a, b = model.predict([image, mirror])
    assert not np.array_equal(np.sort(a.score), np.sort(b.score))


@pytest.mark.parametrize("flip", ["h", "v", "hv"])
def test_flip_test_hv_is_invariant_to_each_of_the_four_flips(flip):
    image = np.random.default_rng(5).random((32, 32, 3), dtype=np.float32)
    flipped = {"h": image[:, ::-1], "v": image[::-1], "hv": image[::-1, ::-1]}[flip]
    model = _model("hv")
    a, b = model.predict([image, flipped.copy()])
    np.testing.assert_array_equal(a.score, b.score)  # (a + b) + (c + d): the terms swap
    if flip != "v":  # 'h' averages over left-right mirrors only
        model.config.flip_test = "h"
        a, b = model.predict([image, flipped.copy()])
        same = len(a.score) == len(b.score) and np.array_equal(a.score, b.score)
        assert same == (flip == "h")


def test_flip_test_equals_decoding_the_mean_of_the_flipped_passes_by_hand():
    # the slow reference: four forward passes on reversed pixel rows/columns, each output map
    # reversed back cell by cell, the mean heatmap and size decoded with the plain offsets
    image = np.random.default_rng(2).random((32, 32, 3), dtype=np.float32)
    model = _model("hv")
    model.eval()
    heats, sizes, offset = [], [], None
    for rows, cols in [(False, False), (False, True), (True, False), (True, True)]:
        img = image[::-1] if rows else image
        img = img[:, ::-1] if cols else img
        heat, size, off = model(model.preprocess(img.copy()[None]))
        p, s = 1 / (1 + np.exp(-heat.data[0])), size.data[0]
        h, w = p.shape[1:]
        back = np.array([[(h - 1 - y if rows else y, w - 1 - x if cols else x) for x in range(w)]
                         for y in range(h)])  # fmt: skip
        heats.append(p[:, back[..., 0], back[..., 1]])
        sizes.append(s[:, back[..., 0], back[..., 1]])
        offset = off.data[0] if offset is None else offset
    bbox, label, score = centernet_decode(
        np.mean(heats, 0), np.mean(sizes, 0), offset, model.stride, k=200, score_thresh=0.0
    )
    pred = model.predict(image)[0]
    np.testing.assert_allclose(pred.score, score, rtol=1e-5)
    np.testing.assert_array_equal(pred.label, label)
    clipped = np.clip(np.sort(bbox.reshape(-1, 2, 2), axis=1).reshape(-1, 4), 0, 32)
    np.testing.assert_allclose(pred.bbox, clipped, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("pyramid", [False, True])
def test_flip_test_on_sides_that_are_not_multiples_of_the_stride(pyramid):
    # the input is padded before flipping (plain stack: to its stride 4; pyramid: to 32)
    image = np.random.default_rng(4).random((30, 45, 3), dtype=np.float32)
    for flip_test in FLIP_TESTS:
        bbox, label, score = _model(flip_test, pyramid).predict(image)[0]
        assert len(bbox) > 0 and np.isfinite(bbox).all()
        assert (bbox >= 0).all() and (bbox[:, [0, 2]] <= 45).all() and (bbox[:, [1, 3]] <= 30).all()
        assert np.all(np.diff(score) <= 0)


def test_flip_test_none_is_the_single_pass_and_old_configs_load_as_none():
    image = np.random.default_rng(6).random((32, 32, 3), dtype=np.float32)
    model = _model("none")
    heat, size, offset = model(model.preprocess(image[None]))
    bbox, label, score = centernet_decode(
        1 / (1 + np.exp(-heat.data[0])), size.data[0], offset.data[0], 4, k=200, score_thresh=0.0
    )
    np.testing.assert_allclose(model.predict(image)[0].score, score, rtol=1e-6)
    data = config_to_dict(model.config)
    del data["flip_test"]  # a config saved before the field existed
    assert CenterNet.config_from_dict(data).flip_test == "none"


def test_unknown_flip_test_is_a_value_error_naming_the_choices():
    with pytest.raises(
        ValueError, match=r"flip_test must be one of \('none', 'h', 'hv'\); got 'x'"
    ):
        tiny_centernet(flip_test="x")
