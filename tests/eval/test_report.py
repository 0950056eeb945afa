"""``bboxcore.eval.report``: the JSON of the numbers, and clipping only when asked for."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bboxcore.data import Annotation, write_coco
from bboxcore.eval.report import evaluate_files, write_json


def test_write_json_replaces_nan_at_any_depth_lists_included(tmp_path):
    p = tmp_path / "n.json"
    numbers = {
        "voc": {"mAP": float("nan"), "AP": {"dog": 1.0}, "per_class": [0.5, float("nan")]},
        "curves": [[float("inf"), 1.0], (np.float64("nan"), np.float32(0.25))],
        "n": np.int64(3),
    }
    write_json(numbers, p)
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "voc": {"mAP": None, "AP": {"dog": 1.0}, "per_class": [0.5, None]},
        "curves": [[None, 1.0], [None, 0.25]],
        "n": 3,
    }
    assert numbers["voc"]["per_class"][1] != numbers["voc"]["per_class"][1]  # input unchanged


def test_write_json_leaves_the_old_file_when_it_fails(tmp_path):
    p = tmp_path / "n.json"
    write_json({"AP": 0.5}, p)
    with pytest.raises(TypeError):
        write_json({"AP": object()}, p)
    assert json.loads(p.read_text()) == {"AP": 0.5}
    assert [q.name for q in tmp_path.iterdir()] == ["n.json"]  # no temporary file left


def test_evaluate_files_clip_needs_image_sizes(tmp_path):
    write_coco(tmp_path / "gt.json", [Annotation([[0, 0, 4, 4]], [0], image_id=1)], ["a"])
    (tmp_path / "res.json").write_text("[]")
    numbers, _ = evaluate_files(tmp_path / "gt.json", tmp_path / "res.json", metric="coco")
    assert numbers["coco"]["AP"] == 0.0
    with pytest.raises(ValueError, match="clip needs the size of every image; image 1 has none"):
        evaluate_files(tmp_path / "gt.json", tmp_path / "res.json", metric="coco", clip=True)


def test_write_json_error_names_the_file_not_a_temporary_one(tmp_path):
    target = tmp_path / "no_such_folder" / "n.json"
    with pytest.raises(FileNotFoundError) as info:
        write_json({"AP": 0.5}, target)
    assert info.value.filename == str(target)
