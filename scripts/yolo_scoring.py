"""Does YOLOv3 miss crowns because of its boxes or because of its scores? One run, its test tiles.

For every test image this runs the checkpoint, decodes all predictions, and rebuilds the
training targets of the image (:func:`bboxcore.targets.yolov3_targets`, with the run's own
options). Two numbers answer the question:

* the **responsible** predictions (objectness target 1): how well their decoded boxes overlap
  their object (mean IoU, fraction above 0.5) — the regression;
* per ground-truth box, among the predictions that overlap it more than any other box
  (IoU > 0.1), the **highest-scoring** one: its IoU, and what it was in training (responsible,
  ignored, or a no-object example — then from a neighbouring cell of the same scale, the same
  cell, or another scale) — the scoring that NMS relies on.

Usage::

    python scripts/yolo_scoring.py --run runs/compare/neon-trees/yolov3/fold0 --fold 0 \\
        --out docs/results/trials/yolov3_neon_fold0_scoring.json
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np
from _record import new_output, write_record

from bboxcore.iou import box_iou
from bboxcore.models.datasets import build_dataset
from bboxcore.models.predict import load_detector
from bboxcore.targets.yolo import yolov3_targets
from bboxcore.tools.compare import run_name


def _kind(j, best_gt, obj, positives_of, grid) -> str:
    """What prediction j was in training, relative to the object best_gt."""
    if obj[j] == 1:
        return "responsible"
    if obj[j] == -1:
        return "ignored"
    same = [q for q in positives_of[best_gt] if grid.stride[q, 0] == grid.stride[j, 0]]
    if not same:
        return "no-object, another scale"
    step = min(int(np.abs(grid.cells[q] - grid.cells[j]).max()) for q in same)
    return {0: "no-object, same cell", 1: "no-object, neighbouring cell"}.get(
        step, "no-object, farther cell"
    )


def analyse(run: Path, fold: int, split: str = "test") -> dict:
    """The two measurements of the module docstring for one YOLOv3 run folder."""
    detector = load_detector(run)
    if type(detector).__name__ != "YOLOv3":
        raise ValueError(f"{run} is not a YOLOv3 run")
    cfg = detector.config
    name, _, _ = run_name("neon-trees", fold)
    ds = build_dataset(name, split)
    responsible_iou, top_iou, kinds = [], [], []
    for i in range(len(ds)):
        gt = np.asarray(ds.annotation(i).bbox, np.float64).reshape(-1, 4)
        if not len(gt):
            continue
        image = ds[i].image[None]
        boxes, score, grid = detector.dense_predictions(image)  # (1, M, 4), (1, M, C)
        score = score[0].max(axis=1)
        t = yolov3_targets(gt, np.zeros(len(gt), np.int64), image.shape[1:3],
                           np.asarray(cfg.anchors), cfg.strides, cfg.n_class,
                           pred_bbox=boxes[0], ignore_thresh=cfg.ignore_thresh,
                           anchor_iou_thresh=cfg.anchor_iou_thresh, scale_xy=cfg.scale_xy,
                           neighbour_cells=cfg.neighbour_cells)  # fmt: skip
        iou = box_iou(boxes[0], gt)  # (M, G)
        owner = iou.argmax(axis=1)
        pos = np.flatnonzero(t.obj == 1)
        positives_of = {k: pos[owner[pos] == k] for k in range(len(gt))}
        responsible_iou += iou[pos, owner[pos]].tolist()
        for k in range(len(gt)):
            near = np.flatnonzero((iou[:, k] > 0.1) & (owner == k))
            if len(near):
                j = near[np.argmax(score[near])]
                top_iou.append(float(iou[j, k]))
                kinds.append(_kind(j, k, t.obj, positives_of, grid))
    responsible_iou, top = np.array(responsible_iou), np.array(top_iou)
    by_kind = collections.defaultdict(list)
    for kind, v in zip(kinds, top_iou):
        by_kind[kind].append(v)
    return {
        "run_dir": str(run), "fold": fold, "split": split, "n_objects": len(top),
        "responsible": {"n": len(responsible_iou), "mean_iou": float(responsible_iou.mean()),
                        "frac_iou_above_0.5": float((responsible_iou > 0.5).mean())},
        "top_scoring": {"mean_iou": float(top.mean()),
                        "frac_iou_above_0.5": float((top > 0.5).mean())},
        "top_scoring_by_training_role": {
            k: {"n": len(v), "mean_iou": float(np.mean(v))} for k, v in sorted(by_kind.items())
        },
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", nargs="+", required=True, help="YOLOv3 run folders")
    p.add_argument("--fold", type=int, required=True, help="the NEON fold they were trained on")
    p.add_argument("--split", default="test", choices=["train", "test"])
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args(argv)
    out = new_output(p, args.out)
    records = [analyse(Path(r), args.fold, args.split) for r in args.run]
    for r in records:
        print(f"{r['run_dir']}: responsible mean IoU {r['responsible']['mean_iou']:.3f}, "
              f"top-scoring {r['top_scoring']['mean_iou']:.3f} "
              f"({r['top_scoring']['frac_iou_above_0.5']:.0%} above 0.5)")  # fmt: skip
        for kind, v in r["top_scoring_by_training_role"].items():
            print(f"    top-scoring is {kind}: {v['n']} objects, mean IoU {v['mean_iou']:.3f}")
    write_record(out, "yolo_scoring.py", argv, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
