"""``bboxcore train`` and ``bboxcore detect``: a few steps on mnist-det, PNG and JSON, errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from bboxcore.cli import build_parser, main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """3 steps of a 6-step mnist-det run: 4 training scenes, batches of 2, validation on 2."""
    out = tmp_path_factory.mktemp("run")
    argv = [
        "train", "--dataset", "mnist-det", "--n-train", "4", "--n-val", "2", "--epochs", "3",
        "--max-iters", "3", "--warmup-iters", "1", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    return out


def test_train_writes_a_checkpoint_a_log_and_the_loss_curves(run_dir):
    assert (run_dir / "checkpoint.npz").is_file()
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    for name in ("rpn_cls", "rpn_loc", "roi_cls", "roi_loc", "img_per_s"):
        assert np.isfinite(float(rows[0][name]))
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epochs"][0]["epoch"] == 0 and "val_ap50" in history["epochs"][0]
    assert history["receptive_field"] == 54
    assert (run_dir / "loss_curves.png").is_file()


def test_train_resume_continues_from_the_checkpoint(run_dir, capsys):
    assert (
        main(["train", "--out", str(run_dir), "--resume", "--max-iters", "4", "--no-progress"]) == 0
    )
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert "stopped after 4 steps" in capsys.readouterr().out


def test_detect_writes_a_png_and_a_coco_style_json(run_dir, tmp_path, capsys):
    image = np.zeros((64, 80, 3), np.uint8)
    image[10:40, 20:44] = 255
    Image.fromarray(image).save(tmp_path / "scene.png")
    out = tmp_path / "det"
    assert (
        main(
            ["detect", str(tmp_path / "scene.png"), "--checkpoint", str(run_dir), "--out", str(out)]
        )
        == 0
    )
    assert (out / "scene_detections.png").is_file()
    records = json.loads((out / "detections.json").read_text())
    assert isinstance(records, list)
    for r in records:
        assert set(r) == {"image_id", "file_name", "category_id", "category_name", "bbox", "score"}
        assert r["image_id"] == "scene.png" and 1 <= r["category_id"] <= 10 and len(r["bbox"]) == 4
    assert "detections in 1 image(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "--epochs must be >= 1; got 0"),
        (["train", "--batch-size", "-1"], "--batch-size must be >= 1; got -1"),
        (["train", "--lr", "0"], "--lr must be > 0; got 0.0"),
        (["train", "--mosaic", "1.5"], "--mosaic must be a probability in [0, 1]; got 1.5"),
        (["train", "--dataset", "imagenet"], "--dataset must be one of mnist-det, neon-trees"),
        (["train", "--dataset", "voc:/no/such/folder"], "/no/such/folder does not exist"),
        (["train", "--resume", "--out", "/no/such/run"], "no checkpoint to resume at /no/such/run"),
        (
            ["detect", "x.png", "--checkpoint", "/no/such/ckpt.npz"],
            "checkpoint /no/such/ckpt.npz does not exist",
        ),
    ],
)
def test_bad_arguments_give_a_one_line_error(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"bboxcore {argv[0]}: error: ") and message in err


def test_detect_reports_a_missing_image(run_dir, tmp_path, capsys):
    out = tmp_path / "det"
    argv = ["detect", str(tmp_path / "none.png"), "--checkpoint", str(run_dir), "--out", str(out)]
    assert main(argv) == 2
    assert "none.png does not exist" in capsys.readouterr().err
    assert not out.exists()  # nothing written


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epoch", "3x"])
    assert exc.value.code == 2
    assert "usage: bboxcore train" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "detect"])
def test_help_shows_every_option_with_its_default(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.option_strings and action.dest not in ("help",) and action.help:
            text = action.help
            assert "default" in text or action.required or action.const is True, (
                command,
                action.dest,
            )


def test_default_run_folder_names_the_dataset_and_any_other_model():
    from bboxcore.models.train_cli import config_from_args

    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    assert config_from_args(sub.parse_args([])).out == "runs/mnist-det"
    assert config_from_args(sub.parse_args(["--model", "fcos"])).out == "runs/mnist-det-fcos"
    assert config_from_args(sub.parse_args(["--dataset", "neon-trees"])).model == "faster_rcnn"


@pytest.mark.parametrize(
    "model, option, owner",
    [
        ("centernet", ["--roi-op", "pool"], "faster_rcnn"),
        ("fcos", ["--flip-test", "hv"], "centernet"),
    ],
)
def test_options_of_one_detector_are_refused_for_another(model, option, owner, tmp_path, capsys):
    argv = ["train", "--model", model, *option, "--out", str(tmp_path / "r"),
            "--n-train", "2", "--max-iters", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    assert f"{option[0]} applies only to --model {owner}; got --model {model}" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


def test_flip_test_is_kept_in_the_checkpoint_and_a_resumed_run_may_change_it(tmp_path):
    # an inference setting: the run trains as without it, and resuming with another is allowed
    from bboxcore.models.predict import load_detector

    out = tmp_path / "run"
    argv = [
        "train", "--model", "centernet", "--dataset", "mnist-det", "--n-train", "4",
        "--n-val", "2", "--epochs", "2", "--max-iters", "1", "--warmup-iters", "1",
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main([*argv, "--flip-test", "hv"]) == 0  # stops after 1 of 4 steps
    assert load_detector(out).config.flip_test == "hv"
    plain = tmp_path / "plain"
    assert main([*argv[:-3], "--out", str(plain), "--no-progress"]) == 0
    rows = [list(csv.DictReader(open(d / "log.csv"))) for d in (out, plain)]
    assert rows[0][0]["total"] == rows[1][0]["total"]  # the same loss: training is unchanged
    assert main([*argv[:-5], "--max-iters", "2", "--out", str(out), "--no-progress",
                 "--resume", "--flip-test", "h"]) == 0  # fmt: skip
    assert load_detector(out).config.flip_test == "h"
