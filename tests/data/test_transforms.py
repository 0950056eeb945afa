"""Box-aware transforms: exact box arithmetic, pixels that follow the boxes, tiling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.data.transforms import (
    crop,
    crop_boxes,
    hflip,
    random_crop,
    resize,
    tile_grid,
    tile_image,
    transpose,
    vflip,
)
from tests.strategies import boxes_in_image

H, W = 20, 30


def marked_image(bbox):
    """An image whose pixels inside box i (integer corners) are i + 1, 0 elsewhere."""
    img = np.zeros((H, W), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(bbox.astype(int)):
        img[y1:y2, x1:x2] = i + 1
    return img


int_boxes = boxes_in_image(img_size=(float(H), float(W)), max_size=5).map(np.floor)


def test_hflip_vflip_worked_numbers():
    # W = 10: x -> 10 - x, so [1, 3] -> [7, 9];  H = 10: y -> 10 - y
    img = np.arange(100.0).reshape(10, 10)
    out, box = hflip(img, [[1, 0, 3, 2]])
    np.testing.assert_array_equal(box, [[7, 0, 9, 2]])
    np.testing.assert_array_equal(out[:, 9], img[:, 0])
    out, box = vflip(img, [[0, 1, 2, 3]])
    np.testing.assert_array_equal(box, [[0, 7, 2, 9]])
    np.testing.assert_array_equal(out[9], img[0])


@given(int_boxes)
def test_flips_move_pixels_with_boxes_and_are_involutions(bbox):
    img = marked_image(bbox)
    for flip in (hflip, vflip):
        out, fb = flip(img, bbox)
        assert fb.dtype == bbox.dtype
        # the pixels of box i land exactly in flipped box i (marking in the same order)
        np.testing.assert_array_equal(out, marked_image(fb))
        back_img, back = flip(out, fb)
        np.testing.assert_array_equal(back, bbox)
        np.testing.assert_array_equal(back_img, img)


def test_transpose_worked_numbers():
    # (x, y) -> (y, x): the box [x 1..5, y 2..4] becomes [x 2..4, y 1..5]; (H, W) -> (W, H)
    img = np.arange(200.0).reshape(10, 20)
    out, box = transpose(img, [[1, 2, 5, 4]])
    np.testing.assert_array_equal(box, [[2, 1, 4, 5]])
    assert out.shape == (20, 10)
    np.testing.assert_array_equal(out[3, 7], img[7, 3])
    rgb, _ = transpose(np.zeros((10, 20, 3)), np.zeros((0, 4)))
    assert rgb.shape == (20, 10, 3)


@given(int_boxes)
def test_transpose_moves_pixels_with_boxes_and_is_an_involution(bbox):
    img = marked_image(bbox)
    out, tb = transpose(img, bbox)
    assert tb.dtype == bbox.dtype
    assert not np.shares_memory(out, img)
    # the pixels of box i land exactly in transposed box i: mark the (W, H) image the same way
    marked = np.zeros((W, H), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(tb.astype(int)):
        marked[y1:y2, x1:x2] = i + 1
    np.testing.assert_array_equal(out, marked)
    back_img, back = transpose(out, tb)
    np.testing.assert_array_equal(back, bbox)
    np.testing.assert_array_equal(back_img, img)


def test_flips_and_transpose_give_the_eight_symmetries_of_a_square():
    img = np.arange(16.0).reshape(4, 4)
    box = np.array([[0.0, 0.0, 1.0, 2.0]])
    seen = set()
    for t in (False, True):
        for h in (False, True):
            for v in (False, True):
                out, b = img, box
                if h:
                    out, b = hflip(out, b)
                if v:
                    out, b = vflip(out, b)
                if t:
                    out, b = transpose(out, b)
                seen.add(out.tobytes())
    assert len(seen) == 8


def test_resize_scales_boxes_exactly():
    img, box = resize(
        np.ones((10, 20, 3), np.float32), np.array([[2, 1, 12, 5]], np.float32), (20, 10)
    )
    # x scales by 10 / 20, y by 20 / 10
    np.testing.assert_array_equal(box, [[1, 2, 6, 10]])
    assert img.shape == (20, 10, 3) and img.dtype == np.float32 and box.dtype == np.float32
    np.testing.assert_allclose(img, 1.0, atol=1e-6)  # a constant image stays constant


def test_resize_by_integer_factor_keeps_marked_region():
    img = np.zeros((8, 8), np.float32)
    img[2:4, 4:6] = 1.0
    out, box = resize(img, [[4, 2, 6, 4]], (16, 16))
    np.testing.assert_array_equal(box, [[8, 4, 12, 8]])
    x1, y1, x2, y2 = box[0].astype(int)
    assert out[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1].min() > 0.99  # the inside stays marked
    assert out[:, : x1 - 1].max() == 0 and out[: y1 - 1].max() == 0


def test_crop_worked_numbers_and_min_visible():
    # window x in [4, 8), y in [0, 8): box 0 has 2 x 4 of its 4 x 4 inside (1/2), box 1 has
    # 1 x 1 of 2 x 2 (1/4)
    bbox = [[2, 2, 6, 6], [7, 7, 9, 9]]
    img, box, keep = crop(np.zeros((10, 10)), bbox, (4, 0, 8, 8))
    assert img.shape == (8, 4)
    np.testing.assert_array_equal(box, [[0, 2, 2, 6]])
    assert keep.tolist() == [0]
    _, box, keep = crop(np.zeros((10, 10)), bbox, (4, 0, 8, 8), min_visible=0.25)
    np.testing.assert_array_equal(box, [[0, 2, 2, 6], [3, 7, 4, 8]])
    _, _, keep = crop(np.zeros((10, 10)), bbox, (4, 0, 8, 8), min_visible=0.51)
    assert keep.tolist() == []


def test_crop_window_outside_image_is_padded():
    # the 4 x 4 box moves to [2, 6]^2 and is clipped to [2, 4]^2: 4 of its 16 pixels, 1/4
    img, box, keep = crop(
        np.ones((4, 4), np.float32), [[0, 0, 4, 4]], (-2, -2, 2, 2), fill=0.5, min_visible=0.25
    )
    np.testing.assert_array_equal(
        img, [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 1, 1], [0.5, 0.5, 1, 1]]
    )
    np.testing.assert_array_equal(box, [[2, 2, 4, 4]])
    assert keep.tolist() == [0]
    assert crop(np.ones((4, 4)), [[0, 0, 4, 4]], (-2, -2, 2, 2))[2].tolist() == []  # 1/4 < 1/2


@given(
    int_boxes,
    st.integers(-5, 25),
    st.integers(-5, 15),
    st.integers(1, 20),
    st.integers(1, 20),
    st.floats(0.0, 1.0),
)
def test_crop_boxes_follow_pixels(bbox, x0, y0, w, h, min_visible):
    img = marked_image(bbox) if len(bbox) <= 1 else np.zeros((H, W), np.float32)
    out, box, keep = crop(img, bbox, (x0, y0, x0 + w, y0 + h), min_visible=min_visible)
    assert out.shape == (h, w) and box.shape == (len(keep), 4)
    assert np.all(box[:, :2] >= 0) and np.all(box[:, 2] <= w) and np.all(box[:, 3] <= h)
    # exact arithmetic: kept box = clip(original - (x0, y0)) and its visible share >= min_visible
    for k, i in enumerate(keep):
        moved = bbox[i] - [x0, y0, x0, y0]
        np.testing.assert_array_equal(box[k], np.clip(moved, 0, [w, h, w, h]))
        area = (moved[2] - moved[0]) * (moved[3] - moved[1])
        if area > 0:
            vis = (box[k, 2] - box[k, 0]) * (box[k, 3] - box[k, 1]) / area
            assert vis >= min_visible
    if len(bbox) == 1 and len(keep) == 1:
        x1, y1, x2, y2 = box[0].astype(int)
        assert (out[y1:y2, x1:x2] == 1).all()  # the box's pixels moved with it


def test_random_crop_is_reproducible_and_in_bounds():
    img = np.arange(200.0).reshape(10, 20)
    a = random_crop(img, [[0, 0, 20, 10]], (4, 6), np.random.default_rng(1), min_visible=0)
    b = random_crop(img, [[0, 0, 20, 10]], (4, 6), np.random.default_rng(1), min_visible=0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], [[0, 0, 6, 4]])
    with pytest.raises(ValueError, match="size must fit"):
        random_crop(img, [], (11, 6), np.random.default_rng(0))


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 16))
def test_tiles_reconstruct_the_image(h, w, t):
    rng = np.random.default_rng(h * 100 + w)
    img = rng.random((h, w, 3))
    tiles = tile_image(img, np.zeros((0, 4)), t)
    assert len(tiles) == -(-h // t) * -(-w // t)
    canvas = np.zeros((-(-h // t) * t, -(-w // t) * t, 3))
    for tile in tiles:
        x0, y0, x1, y1 = tile.window
        assert tile.image.shape == (t, t, 3)
        canvas[y0:y1, x0:x1] = tile.image
    np.testing.assert_array_equal(canvas[:h, :w], img)
    assert (canvas[h:] == 0).all() and (canvas[:, w:] == 0).all()  # zero padding
    win = tile_grid((h, w), t)
    # tiles never overlap: the windows partition the padded canvas
    cover = np.zeros(canvas.shape[:2], int)
    for x0, y0, x1, y1 in win:
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()


@given(int_boxes, st.integers(4, 16))
def test_every_box_is_in_a_tile_or_has_under_half_in_each(bbox, t):
    tiles = tile_image(np.zeros((H, W)), bbox, t)
    seen = np.zeros(len(bbox), bool)
    for tile in tiles:
        seen[tile.keep] = True
    # loop reference: the largest share of each box inside one tile
    for i, (x1, y1, x2, y2) in enumerate(bbox):
        area = (x2 - x1) * (y2 - y1)
        best = (
            1.0
            if area == 0
            else max(
                max(0, min(x2, wx1) - max(x1, wx0)) * max(0, min(y2, wy1) - max(y1, wy0)) / area
                for wx0, wy0, wx1, wy1 in tile_grid((H, W), t)
            )
        )
        assert seen[i] == (best >= 0.5)


def test_transform_errors():
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) or \(H, W, C\)"):
        hflip(np.zeros(5), [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="bbox has an inverted box"):
        vflip(np.zeros((4, 4)), [[2, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) or \(H, W, C\)"):
        transpose(np.zeros(5), [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="size must be"):
        resize(np.zeros((4, 4)), [[0, 0, 1, 1]], (0, 4))
    with pytest.raises(ValueError, match="window must be 4 integers"):
        crop(np.zeros((4, 4)), [[0, 0, 1, 1]], (0, 0, 1.5, 2))
    with pytest.raises(ValueError, match="x1 > x0"):
        crop(np.zeros((4, 4)), [[0, 0, 1, 1]], (2, 0, 2, 2))
    with pytest.raises(ValueError, match=r"min_visible must be in \[0, 1\]"):
        crop_boxes([[0, 0, 1, 1]], (0, 0, 2, 2), min_visible=1.5)
    with pytest.raises(ValueError, match="must be positive"):
        tile_grid((4, 4), 0)
