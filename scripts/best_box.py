"""Where a detector's AP50 goes: the best box on each crown, and the highest recall.

For each checkpoint of ``bboxcore compare`` (``runs/compare/<data set>/<model>/<run>``), on
its test split: for every ground-truth box, the top-scoring detection whose centre lies
inside it (its "best box") and that box's IoU with it; the share of ground-truth boxes whose
best box reaches IoU 0.5; and the highest recall at IoU 0.5, the share of ground-truth boxes
that some detection overlaps by 0.5 (what AP50 could reach with a perfect ranking). A low
first share means poor boxes; a recall well above it means second chances, several boxes per
object (FCOS after NMS; CenterNet has one box per peak).

With ``--set KEY=VALUE`` an inference setting of the config is changed first (e.g.
CenterNet's ``flip_test=hv``). The numbers go to a JSON file with the commit and the load.

Usage::

    python scripts/best_box.py --models centernet --runs 0 1 2 --out best_box.json
    python scripts/best_box.py --models centernet --set flip_test=hv --out best_box_hv.json
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _record import compare_checkpoints, new_output, set_config_field, write_record

from bboxcore.iou import box_iou
from bboxcore.models.datasets import build_dataset
from bboxcore.models.registry import MODELS


def best_box_stats(detector, dataset) -> dict:
    """Best-box IoU per ground-truth box and the highest recall at IoU 0.5 on ``dataset``."""
    best, n_gt, n_hit = [], 0, 0
    for i in range(len(dataset)):
        gt = dataset[i].bbox
        bbox, _, score = detector.predict(dataset[i].image)[0]
        n_gt += len(gt)
        if len(gt) == 0 or len(bbox) == 0:
            best += [0.0] * len(gt)
            continue
        iou = box_iou(bbox, gt)  # (D, G)
        n_hit += int((iou.max(axis=0) >= 0.5).sum())
        centre = (bbox[:, :2] + bbox[:, 2:]) / 2
        for j, g in enumerate(gt):
            inside = np.flatnonzero(((centre > g[:2]) & (centre < g[2:])).all(axis=1))
            best.append(float(iou[inside[np.argmax(score[inside])], j]) if len(inside) else 0.0)
    best = np.asarray(best)
    return {
        "n_gt": n_gt,
        "best_box_iou_median": float(np.median(best)) if n_gt else None,
        "best_box_iou_ge_0.5": float((best >= 0.5).mean()) if n_gt else None,
        "max_recall_0.5": n_hit / n_gt if n_gt else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="neon-trees", choices=["neon-trees", "mnist-det"])
    p.add_argument("--runs", type=int, nargs="+", default=[0, 1, 2], help="run indices (folds)")
    p.add_argument("--runs-dir", default="runs/compare", help="default: %(default)s")
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--set", metavar="KEY=VALUE", help="an inference setting of the config")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args(argv)
    out = new_output(p, args.out)
    key, _, value = (args.set or "").partition("=")
    if args.set is not None and not (key and value):
        p.error(f"--set must look like KEY=VALUE; got {args.set!r}")
    records, tests = [], {}
    for k, name, model, run, detector in compare_checkpoints(
        args.dataset, args.runs, args.models, args.runs_dir
    ):
        if name not in tests:
            tests[name] = build_dataset(name, "test")
        test = tests[name]
        if key:
            set_config_field(p, detector, model, key, value)
        rec = {"model": model, "dataset_name": name, "run": k, "run_dir": str(run)}
        rec.update(best_box_stats(detector, test))
        print(f"{model:12s} {name}: best box IoU >= 0.5 for {rec['best_box_iou_ge_0.5']:.3f}, "
              f"highest recall {rec['max_recall_0.5']:.3f}")  # fmt: skip
        records.append(rec)
    write_record(out, "best_box.py", argv, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
