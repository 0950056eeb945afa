"""``bboxcore detect``: every input checked before anything is written, distinct names, errors.

The checkpoint comes from 3 steps of ``bboxcore train`` on mnist-det (a few
seconds): the detections are meaningless, but every path of the command runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bboxcore.cli import main
from bboxcore.data.sample import load_image
from bboxcore.models.detect import image_ids, min_image_side
from bboxcore.models.predict import load_detector


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    argv = [
        "train", "--dataset", "mnist-det", "--n-train", "4", "--n-val", "2", "--epochs", "3",
        "--max-iters", "3", "--warmup-iters", "1", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    return out


def _png(path, h=48, w=64, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _detect(run_dir, out, *images, extra=()):
    argv = ["detect", *map(str, images), "--checkpoint", str(run_dir), "--out", str(out)]
    return main([*argv, *extra])


def _one_line_error(capsys, *parts):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("bboxcore detect: error: "), err
    for part in parts:
        assert part in err, err
    return err


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --------------------------------------------------------------------------- nothing half-written
def test_detect_checks_every_image_before_writing_anything(run_dir, tmp_path, capsys):
    a = _png(tmp_path / "a.png")
    bad = tmp_path / "notimg.png"
    bad.write_text("not an image")
    out = tmp_path / "det"
    assert _detect(run_dir, out, a, bad) == 2
    _one_line_error(capsys, "notimg.png", "not a readable image")
    assert not out.exists()  # not even a_detections.png


def test_detect_truncated_image_is_named_and_nothing_is_written(run_dir, tmp_path, capsys):
    a = _png(tmp_path / "a.png")
    full = _png(tmp_path / "b.png", 64, 64).read_bytes()
    (tmp_path / "b.png").write_bytes(full[: len(full) // 2])
    out = tmp_path / "det"
    out.mkdir()
    (out / "keep.txt").write_text("from before")
    assert _detect(run_dir, out, a, tmp_path / "b.png") == 2
    _one_line_error(capsys, "b.png", "not a readable image")
    assert _tree(out) == ["keep.txt"]


def test_detect_too_small_image_names_the_file_and_the_models_minimum(run_dir, tmp_path, capsys):
    side = min_image_side(load_detector(run_dir))
    assert side == 8  # mnist-det: 3 max-pools 2x2/2 -> feature stride 2**3
    out = tmp_path / "det"
    dot = _png(tmp_path / "dot.png", 1, 1)
    assert _detect(run_dir, out, _png(tmp_path / "a.png"), dot) == 2
    _one_line_error(capsys, "dot.png is 1x1 pixels", f"needs at least {side}x{side}")
    assert not out.exists()
    thin = _png(tmp_path / "thin.png", side - 1, 50)
    assert _detect(run_dir, out, thin) == 2
    _one_line_error(capsys, f"thin.png is 50x{side - 1} pixels")
    assert _detect(run_dir, out, _png(tmp_path / "ok.png", side, side)) == 0  # the minimum works
    assert (out / "ok_detections.png").is_file()


# --------------------------------------------------------------------------- names
def test_same_name_in_two_folders_gives_two_outputs_and_two_ids(run_dir, tmp_path, capsys):
    x = _png(tmp_path / "x" / "scene.png", seed=1)
    y = _png(tmp_path / "y" / "scene.png", seed=2)
    out = tmp_path / "det"
    assert _detect(run_dir, out, x, y, extra=["--score-thresh", "0"]) == 0
    assert "in 2 image(s)" in capsys.readouterr().out
    assert (out / "x" / "scene_detections.png").is_file()
    assert (out / "y" / "scene_detections.png").is_file()
    records = json.loads((out / "detections.json").read_text())
    by_id = {r["image_id"]: r["file_name"] for r in records}
    assert by_id == {"x/scene.png": str(x), "y/scene.png": str(y)}  # the given paths are kept


def test_image_ids_are_names_when_distinct_else_paths():
    assert image_ids(["a/b.png", "c.jpg"]) == ["b.png", "c.jpg"]
    assert image_ids(["r/x/a.png", "r/y/a.png"]) == ["x/a.png", "y/a.png"]
    assert image_ids(["r/a.png", "r/sub/a.png"]) == ["a.png", "sub/a.png"]


def test_same_stem_with_two_suffixes_keeps_both_pictures(run_dir, tmp_path):
    a_png = _png(tmp_path / "a.png")
    a_jpg = tmp_path / "a.jpg"
    Image.open(a_png).save(a_jpg)
    out = tmp_path / "det"
    assert _detect(run_dir, out, a_png, a_jpg) == 0
    assert _tree(out) == ["a.jpg_detections.png", "a.png_detections.png", "detections.json"]


def test_same_file_twice_is_an_error(run_dir, tmp_path, capsys):
    a = _png(tmp_path / "a.png")
    assert _detect(run_dir, tmp_path / "det", a, tmp_path / "." / "a.png") == 2
    _one_line_error(capsys, "a.png", "given twice")


# --------------------------------------------------------------------------- folders
def test_a_folder_of_images_is_taken_sorted(run_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    _png(folder / "b.png", seed=1)
    _png(folder / "a.png", seed=2)
    (folder / "notes.txt").write_text("not an image, not taken")
    out = tmp_path / "det"
    assert _detect(run_dir, out, folder, extra=["--score-thresh", "0"]) == 0
    assert "in 2 image(s)" in capsys.readouterr().out
    assert _tree(out) == ["a_detections.png", "b_detections.png", "detections.json"]
    records = json.loads((out / "detections.json").read_text())
    ids = [r["image_id"] for r in records]
    assert set(ids) == {"a.png", "b.png"} and ids == sorted(ids)  # a's records first
    assert {r["file_name"] for r in records} == {str(folder / "a.png"), str(folder / "b.png")}


def test_a_folder_without_images_is_an_error(run_dir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _detect(run_dir, tmp_path / "det", tmp_path / "empty") == 2
    _one_line_error(capsys, "empty holds no image (.png")


# --------------------------------------------------------------------------- --out, --checkpoint
def test_out_pointing_at_a_file_is_an_error(run_dir, tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    assert _detect(run_dir, taken, _png(tmp_path / "a.png")) == 2
    _one_line_error(capsys, "--out", "taken.txt is a file; give a folder")
    assert taken.read_text() == "mine"


@pytest.mark.parametrize("kind", ["png", "truncated"])
def test_checkpoint_that_is_not_a_checkpoint(run_dir, tmp_path, capsys, kind):
    if kind == "png":
        ckpt = _png(tmp_path / "some.png")
    else:
        ckpt = tmp_path / "checkpoint.npz"
        data = (run_dir / "checkpoint.npz").read_bytes()
        ckpt.write_bytes(data[: len(data) // 2])
    out = tmp_path / "det"
    argv = ["detect", str(_png(tmp_path / "a.png")), "--checkpoint", str(ckpt), "--out", str(out)]
    assert main(argv) == 2
    err = _one_line_error(capsys, f"{ckpt.name} is not a bboxcore checkpoint")
    assert "unsafe" not in err and "pickle" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- a failing model
class _OneSizeModel:
    """A stand-in detector that takes 48 x 64 images only (like YOLOv1 and its FC layers)."""

    class_names = ("digit",)

    def predict(self, image):
        if image.shape[:2] != (48, 64):
            raise ValueError(f"takes (48, 64) images; got {image.shape[:2]}")
        box = np.array([[1.0, 2.0, 11.0, 22.0]], np.float32)
        return [(box, np.array([0]), np.array([0.5], np.float32))]


def test_a_model_error_names_the_image_and_writes_nothing(tmp_path):
    from bboxcore.models.detect import detect_images

    out = tmp_path / "det"
    out.mkdir()
    (out / "detections.json").write_text("[]")
    good, odd = _png(tmp_path / "good.png"), _png(tmp_path / "odd.png", 30, 30)
    with pytest.raises(ValueError, match=r"image .*odd\.png: takes \(48, 64\) images"):
        detect_images(_OneSizeModel(), [good, odd], out)
    assert _tree(out) == ["detections.json"]  # good.png's picture was staged, then removed
    assert (out / "detections.json").read_text() == "[]"
    records = detect_images(_OneSizeModel(), [good], out)
    assert records == [
        {
            "image_id": "good.png",
            "file_name": str(good),
            "category_id": 1,
            "category_name": "digit",
            "bbox": [1.0, 2.0, 10.0, 20.0],
            "score": 0.5,
        }
    ]
    assert json.loads((out / "detections.json").read_text()) == records


# --------------------------------------------------------------------------- detect, then eval
class _TruthModel:
    """A stand-in detector that finds each image's one box exactly, as class 0 ("cat")."""

    class_names = ("cat", "dog")
    box = np.array([[8.0, 6.0, 40.0, 30.0]], np.float32)

    def predict(self, image):
        return [(self.box, np.array([0]), np.array([0.9], np.float32))]


@pytest.mark.parametrize("kind", ["voc", "yolo"])
def test_detections_json_evaluates_against_the_voc_or_yolo_folder_of_its_images(
    tmp_path, capsys, kind
):
    """``detect`` names images by file name and writes COCO's 1-based ``category_id``; VOC/YOLO
    ground truth names them by stem with 0-based labels. Read with its ``category_name``, a
    perfect detector scores AP 1 (not an unknown image, not class "dog" from an id off by one)."""
    from bboxcore.data.sample import Annotation
    from bboxcore.data.voc import write_voc_xml
    from bboxcore.data.yolo import write_yolo
    from bboxcore.models.detect import detect_images

    gt_dir, names = tmp_path / "gt", _TruthModel.class_names
    anns = [
        Annotation(_TruthModel.box, [0], image_id=stem, img_size=(48, 64), filename=f"{stem}.png")
        for stem in ("a", "b")
    ]
    images = [_png(gt_dir / "images" / a.filename, seed=k) for k, a in enumerate(anns)]
    if kind == "voc":
        for a in anns:
            write_voc_xml(gt_dir / f"{a.image_id}.xml", a, names)
    else:
        write_yolo(gt_dir, anns, names)
    detect_images(_TruthModel(), images, tmp_path / "det")
    pred = tmp_path / "det" / "detections.json"
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(pred), "--metric", "voc"]
    argv += ["--json", str(tmp_path / "ap.json")]
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "ap.json").read_text())["voc"]["AP"]["cat"] == 1.0


# --------------------------------------------------------------------------- --flip-test
def test_flip_test_of_a_model_without_one_is_a_one_line_error(run_dir, tmp_path, capsys):
    out = tmp_path / "det"
    assert _detect(run_dir, out, _png(tmp_path / "a.png"), extra=["--flip-test", "h"]) == 2
    _one_line_error(capsys, "--flip-test", "FasterRCNN has no flip test")
    assert not out.exists()


def test_flip_test_sets_centernets_test_passes(tmp_path, capsys):
    run = tmp_path / "run"
    argv = [
        "train", "--model", "centernet", "--dataset", "mnist-det", "--n-train", "4", "--n-val",
        "2", "--epochs", "1", "--max-iters", "2", "--warmup-iters", "1", "--out", str(run),
        "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    image = _png(tmp_path / "a.png", 64, 64)
    model, pixels = load_detector(run), load_image(image)
    single = np.sort(model.predict(pixels)[0].score)
    model.config.flip_test = "hv"
    want = np.sort(model.predict(pixels)[0].score)
    assert _detect(run, tmp_path / "det", image, extra=["--flip-test", "hv"]) == 0
    records = json.loads((tmp_path / "det" / "detections.json").read_text())
    got = np.sort([r["score"] for r in records])  # rounded to 5 decimals
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(got, single, atol=1e-5)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["detect", str(image), "--checkpoint", str(run), "--flip-test", "x"])
    assert exit_.value.code == 2 and "invalid choice: 'x'" in capsys.readouterr().err
