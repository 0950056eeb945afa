"""``bboxcore eval``: pycocotools' numbers for boxes outside their image, ``--clip``, bad paths."""

from __future__ import annotations

import json

import pytest

from bboxcore.cli import main


def _write(tmp_path, gt_xywh=(0, 0, 10, 10), det_xywh=(0, 0, 10, 10)):
    """One 10 x 10 image with one box, one detection: (gt.json, res.json)."""
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": list(gt_xywh),
                "area": gt_xywh[2] * gt_xywh[3],
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    res = [{"image_id": 1, "category_id": 1, "bbox": list(det_xywh), "score": 0.9}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    return str(tmp_path / "gt.json"), str(tmp_path / "res.json")


def _one_line_error(capsys, *parts):
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("bboxcore eval: error: "), err
    for part in parts:
        assert part in err, err
    return captured


# --------------------------------------------------------------------------- boxes outside
def test_eval_gives_pycocotools_ap_for_a_box_outside_its_image(tmp_path, capsys):
    # GT x_max = 10.9 in a 10 px wide image; IoU 100 / 109 = 0.917: a hit at 0.50 ... 0.90,
    # 9 of the 10 IoU thresholds -> AP 0.900, as pycocotools (clipping would give 1.000)
    gt, res = _write(tmp_path, gt_xywh=(0, 0, 10.9, 10))
    assert main(["eval", "--gt", gt, "--pred", res, "--metric", "coco"]) == 0
    out = capsys.readouterr().out
    assert "maxDets=100 ] = 0.900" in out.splitlines()[-12]
    assert "1 ground-truth box(es) stick out of their image" in out


def test_eval_clip_clips_the_ground_truth(tmp_path, capsys):
    gt, res = _write(tmp_path, gt_xywh=(0, 0, 10.9, 10))
    argv = ["eval", "--gt", gt, "--pred", res, "--metric", "coco", "--clip"]
    assert main([*argv, "--json", str(tmp_path / "n.json")]) == 0
    assert "clipped to it" in capsys.readouterr().out
    assert json.loads((tmp_path / "n.json").read_text())["coco"]["AP"] == pytest.approx(1.0)


def test_eval_box_far_outside_its_image_is_evaluated_not_refused(tmp_path, capsys):
    gt, res = _write(tmp_path, gt_xywh=(5, 5, 10, 10), det_xywh=(5, 5, 10, 10))
    assert main(["eval", "--gt", gt, "--pred", res, "--metric", "coco"]) == 0
    assert "maxDets=100 ] = 1.000" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad paths
def test_eval_pred_folder_is_a_clear_error(tmp_path, capsys):
    gt, _ = _write(tmp_path)
    (tmp_path / "dets").mkdir()
    assert main(["eval", "--gt", gt, "--pred", str(tmp_path / "dets")]) == 2
    _one_line_error(capsys, "dets: is a folder, not a COCO result .json file")


@pytest.mark.parametrize(
    ("which", "bad", "message"),
    [
        ("--pred", "missing.json", "missing.json: No such file or directory"),
        ("--gt", "missing.json", "missing.json"),
        ("--pred", "res.json/x.json", "res.json/x.json: Not a directory"),
        ("--gt", "empty_folder", "empty_folder: no Annotations/ or *.xml"),
    ],
)
def test_eval_bad_input_paths_are_one_line_errors(tmp_path, capsys, which, bad, message):
    gt, res = _write(tmp_path)
    (tmp_path / "empty_folder").mkdir()
    paths = {"--gt": gt, "--pred": res, which: str(tmp_path / bad)}
    assert main(["eval", "--gt", paths["--gt"], "--pred", paths["--pred"]]) == 2
    _one_line_error(capsys, message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "res.json: not valid JSON"),
        ('{"a": 1}', "res.json: a result file must be a JSON list"),
        ('[{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]', "(str)"),
        ('[{"image_id": {}, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]', "image_id"),
        ('[{"image_id": 1, "category_id": [], "bbox": [0, 0, 1, 1], "score": 1}]', "category"),
        ('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 1}]', "bbox must be"),
        ('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": null}]', "score"),
        ("\udcff", "not UTF-8"),
    ],
)
def test_eval_malformed_result_file_is_a_one_line_error(tmp_path, capsys, content, message):
    gt, res = _write(tmp_path)
    with open(res, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(content)
    assert main(["eval", "--gt", gt, "--pred", res]) == 2
    _one_line_error(capsys, "res.json", message)


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_eval_unwritable_output_fails_before_evaluating(tmp_path, capsys, option):
    gt, res = _write(tmp_path)
    (tmp_path / "out_dir").mkdir()
    for bad, message in (
        (tmp_path / "no" / "such" / "n.json", "the folder"),
        (tmp_path / "out_dir", "is a folder; give a file name"),
    ):
        assert main(["eval", "--gt", gt, "--pred", res, option, str(bad)]) == 2
        captured = _one_line_error(capsys, option, message)
        assert captured.out == ""  # nothing evaluated, nothing printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.json", "out_dir", "res.json"]


def test_eval_plot_of_unknown_type_fails_before_evaluating(tmp_path, capsys):
    gt, res = _write(tmp_path)
    assert main(["eval", "--gt", gt, "--pred", res, "--plot", str(tmp_path / "pr.xyz")]) == 2
    captured = _one_line_error(capsys, "--plot", "pr.xyz: unknown image type .xyz", "'png'")
    assert captured.out == ""
    assert main(["eval", "--gt", gt, "--pred", res, "--plot", str(tmp_path / "pr")]) == 0
    assert f"PR curves written to {tmp_path / 'pr.png'}" in capsys.readouterr().out
    assert (tmp_path / "pr.png").stat().st_size > 0
