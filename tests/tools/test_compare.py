"""``bboxcore compare``: run naming, the recipes, resuming, the summary and the table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.cli import main as cli_main
from bboxcore.models.registry import MODELS
from bboxcore.tools import compare


def test_every_detector_has_a_recipe_on_both_data_sets():
    assert {(m, d) for m in MODELS for d in compare.DATASETS} <= set(compare.RECIPES)


def test_neon_runs_are_folds_and_seeds():
    assert compare.run_name("neon-trees", 0) == ("neon-trees:fold=0", "fold0", 0)
    assert compare.run_name("mnist-det", 3) == ("mnist-det", "seed3", 3)
    with pytest.raises(ValueError, match="folds 0-3"):
        compare.run_name("neon-trees", 4)
    with pytest.raises(ValueError, match="dataset must be one of"):
        compare.run_name("voc", 0)
    with pytest.raises(ValueError, match="integer >= 0"):
        compare.run_name("mnist-det", -1)


def test_train_command_parses_as_bboxcore_train():
    from bboxcore.cli import build_parser

    for model, dataset in compare.RECIPES:
        argv = compare.train_command(model, dataset, 1, "runs/x")
        args = build_parser().parse_args(argv)
        assert args.model == model and args.seed == 1 and args.eval_every == 0
        assert args.dataset == compare.run_name(dataset, 1)[0]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_summary_is_the_mean_and_sample_std(aps):
    records = [
        {
            "model": "m",
            "ap50": a,
            "coco": {"AP": a / 2},
            "train_seconds": 120.0,
            "infer_images_per_s": 4.0,
            "n_param": 7,
        }
        for a in aps
    ]
    s = compare.summarize(records)["m"]
    assert s["n"] == len(aps)
    assert s["ap50"][0] == pytest.approx(np.mean(aps))
    if len(aps) == 1:
        assert s["ap50"][1] is None
    else:
        assert s["ap50"][1] == pytest.approx(np.std(aps, ddof=1))
    assert s["train_minutes"] == (2.0, None if len(aps) == 1 else 0.0)


def _record(model, run, ap):
    return {
        "model": model,
        "run": run,
        "ap50": ap,
        "coco": {"AP": ap / 2},
        "train_seconds": 600.0,
        "infer_images_per_s": 3.0,
        "n_param": 10,
    }


def test_table_has_a_row_per_detector_and_marks_missing_ones():
    results = {"neon-trees": {"runs": [_record("fcos", 0, 0.5), _record("fcos", 1, 0.7)]}}
    table = compare.format_table(results)
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert set(rows) == set(MODELS)
    assert "0.600 ± 0.141" in rows["fcos"] and "(2)" in rows["fcos"]
    assert rows["yolov3"].count("–") == 3


def test_finished_runs_are_skipped_and_failures_do_not_stop_the_others(tmp_path, monkeypatch):
    res = tmp_path / "res"
    res.mkdir()
    (res / "neon-trees.json").write_text(
        json.dumps({"dataset": "neon-trees", "runs": [_record("fcos", 0, 0.5)]})
    )
    trained = []

    def fake_train(model, dataset, k, folder, threads, log):
        trained.append((model, k))
        if model == "centernet":
            raise RuntimeError("training failed (exit 1)")
        return {"segments": [{"seconds": 60.0, "maxrss_mb": 100.0}], "history": {}}

    def fake_eval(folder, name, progress=False):
        return {"ap50": 0.25, "coco": {"AP": 0.1}, "infer_images_per_s": 1.0, "n_param": 3}

    monkeypatch.setattr(compare, "_train", fake_train)
    monkeypatch.setattr(compare, "evaluate_run", fake_eval)
    argv = ["compare", "--datasets", "neon-trees", "--models", "fcos", "centernet", "retinanet"]
    argv += ["--runs", "0", "--results", str(res), "--runs-dir", str(tmp_path / "runs")]
    assert cli_main(argv) == 1  # centernet failed
    assert trained == [("centernet", 0), ("retinanet", 0)]  # fcos run 0 was already there
    runs = json.loads((res / "neon-trees.json").read_text())["runs"]
    assert [(r["model"], r["run"]) for r in runs] == [("fcos", 0), ("retinanet", 0)]
    assert runs[1]["ap50"] == 0.25 and runs[1]["peak_rss_mb"] == 100.0
    assert not list(res.glob(".*.tmp"))  # written atomically


def test_table_without_results_fails_cleanly(tmp_path, capsys):
    assert cli_main(["compare", "--table", "--results", str(tmp_path)]) == 1
    assert "no results" in capsys.readouterr().err


def test_unknown_fold_is_a_usage_error(tmp_path, capsys):
    argv = ["compare", "--datasets", "neon-trees", "--runs", "7", "--results", str(tmp_path)]
    assert cli_main(argv) == 2
    assert "folds 0-3" in capsys.readouterr().err


def test_corrupt_results_file_is_named(tmp_path):
    (tmp_path / "mnist-det.json").write_text("{not json")
    with pytest.raises(ValueError, match="mnist-det.json is not valid JSON"):
        compare.run(
            compare_args(["--datasets", "mnist-det", "--results", str(tmp_path), "--table"])
        )


def compare_args(argv):
    import argparse

    p = argparse.ArgumentParser()
    compare.add_arguments(p)
    return p.parse_args(argv)
