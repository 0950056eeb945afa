"""YOLOv4's mosaic (Bochkovskiy et al., arXiv:2004.10934, Sec. 3.3; the course deck
*Detection – 3 stages*, §H): four images into one, boxes moved and clipped, none lost
or invented."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.data.transforms import mosaic


@st.composite
def four_images(draw):
    """Four images of random sizes, each with integer-cornered boxes inside it."""
    images, bboxes, labels = [], [], []
    for k in range(4):
        h, w = draw(st.integers(4, 40)), draw(st.integers(4, 40))
        n = draw(st.integers(0, 5))
        x = np.sort(draw(hnp.arrays(np.int64, (n, 2), elements=st.integers(0, w))), axis=1)
        y = np.sort(draw(hnp.arrays(np.int64, (n, 2), elements=st.integers(0, h))), axis=1)
        bboxes.append(np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1).astype(np.float64))
        labels.append(np.arange(n) + 10 * k)  # unique labels name each box
        images.append(np.full((h, w), k + 1, np.float32))
    return images, bboxes, labels


@settings(max_examples=80, deadline=None)
@given(
    data=four_images(),
    size=st.tuples(st.integers(2, 64), st.integers(2, 64)),
    seed=st.integers(0, 2**16),
    min_visible=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_mosaic_loses_and_invents_no_box(data, size, seed, min_visible):
    images, bboxes, labels = data
    m = mosaic(images, bboxes, labels, size, np.random.default_rng(seed), min_visible=min_visible)
    h, w = size
    # Invent nothing: every output box is one input box, shifted and clipped to its quadrant,
    # and the pixels under it come from its own image.
    assert len(m.bbox) == len(m.label) == len(m.source) == len(m.keep)
    for b, lab, k, i in zip(m.bbox, m.label, m.source, m.keep):
        assert lab == labels[k][i]
        assert (b[2] > b[0]) and (b[3] > b[1]) and b.min() >= 0 and b[2] <= w and b[3] <= h
        x0, y0, x1, y1 = b.astype(int)
        assert (m.image[y0:y1, x0:x1] == k + 1).all()
    # Lose nothing: an input box absent from the output has no visible part in its
    # quadrant (or less than min_visible of it), measured on the pixels of the canvas.
    for k in range(4):
        kept = set(m.keep[m.source == k].tolist())
        for i, (x0, y0, x1, y1) in enumerate(bboxes[k].astype(int)):
            if i in kept:
                continue
            area = (x1 - x0) * (y1 - y0)
            # where would it be? find the offset from the image's pixels on the canvas
            region = m.image == k + 1
            if not region.any() or area == 0:
                continue
            ys, xs = np.nonzero(region)
            ih, iw = images[k].shape
            ox = xs.min() if k in (1, 3) else xs.max() + 1 - iw
            oy = ys.min() if k in (2, 3) else ys.max() + 1 - ih
            visible = region[max(oy + y0, 0) : max(oy + y1, 0), max(ox + x0, 0) : max(ox + x1, 0)]
            assert visible.sum() == 0 or visible.sum() < min_visible * area


def test_mosaic_worked_example_quadrants():
    # Four 8x8 images, one full box each, on a 8x8 canvas: each box becomes its quadrant.
    imgs = [np.full((8, 8, 3), k, np.float32) for k in range(4)]
    boxes = [np.array([[0.0, 0.0, 8.0, 8.0]])] * 4
    m = mosaic(imgs, boxes, [np.array([k]) for k in range(4)], (8, 8), np.random.default_rng(1))
    xc, yc = int(m.bbox[0, 2]), int(m.bbox[0, 3])
    assert 2 <= xc <= 6 and 2 <= yc <= 6
    expected = [[0, 0, xc, yc], [xc, 0, 8, yc], [0, yc, xc, 8], [xc, yc, 8, 8]]
    got = {int(s): b.tolist() for s, b in zip(m.source, m.bbox)}
    assert all(got[k] == expected[k] for k in got)
    assert m.image[0, 0, 0] == 0 and m.image[7, 7, 0] == 3 and m.image.shape == (8, 8, 3)


def test_mosaic_is_reproducible_and_leaves_inputs_alone():
    imgs = [np.random.default_rng(k).random((10, 12)) for k in range(4)]
    boxes = [np.array([[1.0, 1.0, 9.0, 9.0]]) for _ in range(4)]
    before = [b.copy() for b in boxes]
    a = mosaic(imgs, boxes, [[0]] * 4, (16, 16), np.random.default_rng(5))
    b = mosaic(imgs, boxes, [[0]] * 4, (16, 16), np.random.default_rng(5))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.bbox, b.bbox)
    assert all((x == y).all() for x, y in zip(boxes, before))


def test_mosaic_errors():
    imgs, boxes, labels = [np.zeros((4, 4))] * 4, [np.zeros((0, 4))] * 4, [[]] * 4
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="4 images"):
        mosaic(imgs[:3], boxes, labels, (8, 8), rng)
    with pytest.raises(ValueError, match="size must be"):
        mosaic(imgs, boxes, labels, (1, 8), rng)
    with pytest.raises(ValueError, match="labels\\[0\\]"):
        mosaic(imgs, boxes, [[1]] * 4, (8, 8), rng)
    with pytest.raises(ValueError, match="min_visible"):
        mosaic(imgs, boxes, labels, (8, 8), rng, min_visible=2)
    with pytest.raises(ValueError, match="channels"):
        mosaic([np.zeros((4, 4, 3))] + imgs[1:], boxes, labels, (8, 8), rng)
    with pytest.raises(TypeError, match="rng"):
        mosaic(imgs, boxes, labels, (8, 8), 0)
