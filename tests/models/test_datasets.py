"""The trainer's data sets: a VOC folder resized and padded to a square, batches and flips."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bboxcore.data import Annotation
from bboxcore.data.voc import write_voc_xml
from bboxcore.models.datasets import build_dataset, epoch_order, load_batch
from tests.models.toy import ToyScenes


@pytest.fixture
def voc_folder(tmp_path):
    """Three images of different sizes, with their VOC XML beside them."""
    for k, (h, w) in enumerate([(100, 200), (300, 150), (64, 64)]):
        image = np.zeros((h, w, 3), np.uint8)
        image[10:30, 20:60] = 255
        Image.fromarray(image).save(tmp_path / f"im{k}.png")
        ann = Annotation([[20, 10, 60, 30]], [k % 2], img_size=(h, w))
        write_voc_xml(tmp_path / f"im{k}.xml", ann, ["cat", "dog"], filename=f"im{k}.png")
    return tmp_path


def test_voc_folder_images_are_resized_and_padded_to_one_square(voc_folder):
    train = build_dataset(f"voc:{voc_folder}", "train")
    test = build_dataset(f"voc:{voc_folder}", "test")
    assert len(train) + len(test) == 3 and len(test) == 1
    assert train.class_names == ("cat", "dog")
    for ds in (train, test):
        for i in range(len(ds)):
            s, ann = ds[i], ds.annotation(i)
            assert s.image.shape == (512, 512, 3)
            scale = 512 / max(int(ds.source[int(ds.index[i])].img_size[0]),
                              int(ds.source[int(ds.index[i])].img_size[1]))  # fmt: skip
            np.testing.assert_allclose(
                s.bbox, [[20 * scale, 10 * scale, 60 * scale, 30 * scale]], rtol=0.02
            )
            np.testing.assert_allclose(ann.bbox, s.bbox, atol=1e-4)
            assert ann.img_size == (512, 512)


def test_build_dataset_rejects_unknown_names_and_missing_folders():
    with pytest.raises(ValueError, match="dataset must be one of"):
        build_dataset("pascal", "train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_dataset("coco:/no/such/file.json", "train")


def test_load_batch_flips_and_transposes_move_the_boxes_with_the_pixels():
    ds = ToyScenes(4, seed=1)
    images, bboxes, labels = load_batch(
        ds, [0, 1, 2, 3], np.random.default_rng(0), True, True, True
    )
    assert images.shape == (4, 32, 32, 3)
    assert [len(lab) for lab in labels] == [1, 1, 1, 1]
    moved = [not np.array_equal(img, ds.samples[i].image) for i, img in enumerate(images)]
    assert sum(moved) >= 3  # these draws flip or transpose most images
    for img, box in zip(images, bboxes):
        x0, y0, x1, y1 = box[0].astype(int)
        inside = img[y0:y1, x0:x1]
        assert np.all(inside.max(axis=2) > 0)  # the box still covers the painted rectangle
        assert img.sum() == pytest.approx(inside.sum())


def test_epoch_order_depends_on_seed_stage_and_epoch_only():
    a = epoch_order(10, 0, 0, 1)
    np.testing.assert_array_equal(a, epoch_order(10, 0, 0, 1))
    assert sorted(a) == list(range(10))
    assert not np.array_equal(a, epoch_order(10, 0, 0, 2))
    assert not np.array_equal(a, epoch_order(10, 0, 1, 1))
