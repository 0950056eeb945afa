"""Underfit or overfit? AP50 of ``bboxcore compare`` checkpoints on their training and test splits.

For each detector's run folder of ``bboxcore compare`` (``runs/compare/<data set>/<model>/<run>``)
this loads the checkpoint and evaluates it, with the comparison's evaluator (VOC AP50
all-point, COCO AP), on the training split it was trained on and on its test split, and
writes the numbers with the commit and the load to a JSON file (``--out``). A detector whose
training AP is far above its test AP overfits the 66 NEON tiles; one whose training AP is
low underfits.

With ``--sweep KEY=V1,V2,...`` each checkpoint is evaluated once per value of
the inference setting ``KEY`` of its config (e.g. ``nms_thresh``, CenterNet's
``flip_test=none,h,hv``, or a nested field such as Faster R-CNN's
``detect.nms_thresh``), with no retraining: a setting is chosen on the training
split, and the test split shows what it gives.

Usage::

    python scripts/fit_gap.py --dataset neon-trees --runs 1 2 \\
        --out docs/results/trials/fit_gap_neon_folds12.json
    python scripts/fit_gap.py --runs 0 1 2 --models retinanet --sweep nms_thresh=0.4,0.5 \\
        --out nms.json
    python scripts/fit_gap.py --runs 0 1 2 --models centernet --sweep flip_test=none,h,hv \\
        --out flips.json
"""

from __future__ import annotations

import argparse
import sys

from _record import compare_checkpoints, new_output, set_config_field, write_record

from bboxcore.models.datasets import build_dataset
from bboxcore.models.predict import evaluate
from bboxcore.models.registry import MODELS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="neon-trees", choices=["neon-trees", "mnist-det"])
    p.add_argument("--runs", type=int, nargs="+", default=[0], help="run indices (NEON folds)")
    p.add_argument("--runs-dir", default="runs/compare", help="default: %(default)s")
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--sweep", metavar="KEY=V1,V2,...", help="evaluate each value of a config field")
    args = p.parse_args(argv)
    out = new_output(p, args.out)
    key, values = _parse_sweep(p, args.sweep)
    records, splits_of = [], {}
    for k, name, model, run, detector in compare_checkpoints(
        args.dataset, args.runs, args.models, args.runs_dir
    ):
        if name not in splits_of:
            splits_of[name] = {s: build_dataset(name, s) for s in ("train", "test")}
        splits = splits_of[name]
        for value in values:
            rec = {"model": model, "dataset_name": name, "run": k, "run_dir": str(run)}
            label = ""
            if key is not None:
                value = set_config_field(p, detector, model, key, value)
                rec[key], label = value, f" {key}={value}"
            for split, ds in splits.items():
                m = evaluate(detector, ds, progress=False)
                rec[split] = {"ap50": m["ap50"], "coco_ap": m["coco_ap"], "n_images": len(ds)}
            print(f"{model:12s} {name}{label}: AP50 train {rec['train']['ap50']:.3f} "
                  f"test {rec['test']['ap50']:.3f}")  # fmt: skip
            records.append(rec)
    write_record(out, "fit_gap.py", argv, records)
    return 0


def _parse_sweep(p: argparse.ArgumentParser, sweep: str | None) -> tuple[str | None, list]:
    """``KEY=V1,V2`` -> (KEY, [V1, V2]), numbers as floats; no sweep -> (None, [None])."""
    if sweep is None:
        return None, [None]
    key, _, text = sweep.partition("=")
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:  # words, e.g. flip_test=none,h
        values = text.split(",")
    if not key or not all(values):
        p.error(f"--sweep must look like KEY=V1,V2,...; got {sweep!r}")
    return key, values


if __name__ == "__main__":
    sys.exit(main())
