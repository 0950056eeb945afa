"""The main job behind ``make demo``: Faster R-CNN on real NEON tree crowns, on a CPU.

1. fetch the four DeepForest/NEON images from PyPI (:mod:`bboxcore.data.fetch`),
   cut them into 320 px tiles and split them spatially into train and test;
2. train the tiny Faster R-CNN from scratch with :func:`bboxcore.models.train_cli.main`
   (about 10 minutes of a 2-core CPU, with a progress bar);
3. evaluate on the held-out tiles and print AP50 (VOC, all-point) and COCO AP;
4. write into ``demo_out/``: ``test_tiles.png`` (the six test tiles with the
   most crowns; ground truth solid, detections scoring >= 0.5 dashed),
   ``loss_curves.png``, and the run folder ``run/`` (checkpoint, ``log.csv``,
   ``history.json``); a second demo replaces the run of the first
   (``bboxcore train --overwrite``).

This file is a thin script: all the work is in :mod:`bboxcore.models`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["DEMO_TILES", "SHOWN_SCORE", "run_demo"]

#: Number of test tiles drawn in ``test_tiles.png``.
DEMO_TILES = 6
#: Detections drawn in the picture score at least this (the metrics use them all).
SHOWN_SCORE = 0.5


def run_demo(
    out: str | Path = "demo_out", *, epochs: int | None = None, progress: bool = True
) -> int:
    """Train on NEON tree crowns, evaluate on the test tiles, write the pictures into ``out``.

    Parameters
    ----------
    out : str or Path
        Output folder, created if missing.
    epochs : int, optional
        Training epochs (default: the ``neon-trees`` default of ``bboxcore train``).
    progress : bool
        Show the progress bars.

    Returns
    -------
    int
        Exit status, 0 on success.

    Examples
    --------
    >>> run_demo("demo_out")  # doctest: +SKIP
    bboxcore train: neon-trees, 66 training images, ...
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bboxcore.data import Detection
    from bboxcore.eval.plots import plot_detections
    from bboxcore.models.datasets import build_dataset
    from bboxcore.models.predict import load_detector
    from bboxcore.models.train_cli import main as train_main

    out = Path(out)
    run = out / "run"
    argv = ["--dataset", "neon-trees", "--out", str(run), "--overwrite"]  # the demo's own folder
    if epochs is not None:
        argv += ["--epochs", str(epochs)]
    if not progress:
        argv.append("--no-progress")
    status = train_main(argv)
    if status:
        return status

    final = json.loads((run / "history.json").read_text())["final"]
    model = load_detector(run)
    test = build_dataset("neon-trees", "test")
    n = min(DEMO_TILES, len(test))
    cols = 3
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    busiest = sorted(range(len(test)), key=lambda i: -len(test.annotation(i).bbox))[:n]
    for i, ax in zip(busiest, axes.ravel()):
        sample = test[i]
        pred = Detection(*model.predict(sample.image)[0])
        plot_detections(
            sample.image, gt=sample, pred=pred, class_names=model.config.class_names,
            score_thresh=SHOWN_SCORE, ax=ax,
        )  # fmt: skip
        found = int((pred.score >= SHOWN_SCORE).sum())
        ax.set_title(f"test tile {i}: {found} found, {len(sample.bbox)} true", fontsize=9)
    scores = f"AP50 {final['ap50']:.3f}, COCO AP {final['coco_ap']:.3f}"
    fig.suptitle(
        f"NEON tree crowns, held-out tiles: {scores}\n"
        f"dashed: detections with score >= {SHOWN_SCORE}; solid: ground truth",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / "test_tiles.png", dpi=110)
    plt.close(fig)
    shutil.copyfile(run / "loss_curves.png", out / "loss_curves.png")

    print(
        f"\nNEON tree crowns, {final['n_images']} held-out tiles:\n"
        f"  AP50 (VOC, all-point) {final['ap50']:.4f}\n"
        f"  COCO AP (0.50:0.95)   {final['coco_ap']:.4f}\n"
        f"  training wall time    {final['train_seconds'] / 60:.1f} min\n"
        f"wrote {out / 'test_tiles.png'}, {out / 'loss_curves.png'}, {run}/"
    )
    return 0
