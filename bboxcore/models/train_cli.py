r"""Train the tiny Faster R-CNN end to end on a CPU.

Run it from the command line::

    bboxcore train --dataset mnist-det --out runs/mnist                  # the teaching run
    bboxcore train --dataset neon-trees --out runs/neon                  # real tree crowns
    bboxcore train --dataset voc:PATH --out runs/voc                     # a VOC folder
    bboxcore train --dataset mnist-det --scheme alternating --out runs/alt
    bboxcore train --out runs/mnist --resume                             # continue a run

(``python -m bboxcore.models.train`` takes the same options). The layout is
that of torchvision's ``references/detection/train.py``: :func:`build_dataset`,
:func:`build_model`, :func:`train_one_epoch`, :func:`evaluate` and
:func:`main`, around a :class:`Trainer` that owns the state of a run.

Two training schemes (seed 001, "Faster R-CNN 训练"):

* ``joint`` — approximate joint training: one network, the sum of the four
  losses, one backward pass per batch (what the slides recommend).
* ``alternating`` — the paper's 4-step alternating training [1]_ (Sec. 3.2):
  (1) an RPN trained alone; (2) a Fast R-CNN — a *separate* backbone and the
  head — trained on the step-1 RPN's proposals; (3) the step-1 RPN layers
  fine-tuned on the step-2 backbone, frozen; (4) the head fine-tuned on the
  step-3 proposals, backbone frozen. Each step runs ``epochs`` epochs. (The
  paper starts steps 1 and 2 from ImageNet weights; we start from scratch.)

Everything random — the weights, the order of the images, the flips, the
target creators' sampling — comes from generators seeded by ``seed``, so two
runs with one seed give identical losses, and a run resumed from its
checkpoint continues exactly as if it had never stopped.

References
----------
.. [1] S. Ren, K. He, R. Girshick, J. Sun. "Faster R-CNN: Towards Real-Time
   Object Detection with Region Proposal Networks." NeurIPS 2015,
   arXiv:1506.01497.
"""

from __future__ import annotations

import argparse
import time

from bboxcore.models.config import TrainConfig
from bboxcore.models.datasets import DATASETS, build_dataset
from bboxcore.models.predict import evaluate
from bboxcore.models.presets import dataset_config
from bboxcore.models.runlog import plot_loss_curves
from bboxcore.models.trainer import Trainer, TrainingDiverged, build_model, train_one_epoch

__all__ = [
    "ADAM_LR",
    "DEFAULT_EPOCHS",
    "Trainer",
    "TrainingDiverged",
    "add_arguments",
    "build_dataset",
    "build_model",
    "config_from_args",
    "evaluate",
    "main",
    "train_one_epoch",
]

#: Default epochs per data set (~5 and ~13 minutes of an idle 2-core CPU).
DEFAULT_EPOCHS = {"mnist-det": 2, "neon-trees": 60}
#: Default learning rate of Adam (SGD's is :attr:`TrainConfig.lr`).
ADAM_LR = 1e-3


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the options of ``bboxcore train`` (also ``python -m bboxcore.models.train``)."""
    d = TrainConfig()
    p.add_argument(
        "--dataset", default=d.dataset, help=f"one of {', '.join(DATASETS)} (default: {d.dataset})"
    )
    p.add_argument("--out", default=None, help="run folder (default: runs/<dataset>)")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs, per step for --scheme alternating "
        "(default: 2 mnist-det, 60 neon-trees, 12 folders)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help=f"images per step (default: {d.batch_size})",
    )
    p.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default=None,
        help="SGD with momentum, or Adam (default: adam for neon-trees, sgd otherwise)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"learning rate (default: {d.lr} for sgd, {ADAM_LR} for adam)",
    )
    p.add_argument("--momentum", type=float, default=d.momentum, help=f"(default: {d.momentum})")
    p.add_argument(
        "--weight-decay", type=float, default=d.weight_decay, help=f"(default: {d.weight_decay})"
    )
    p.add_argument(
        "--schedule",
        choices=("step", "cosine", "constant"),
        default=d.schedule,
        help=f"after the warm-up (default: {d.schedule})",
    )
    p.add_argument(
        "--warmup-iters",
        type=int,
        default=d.warmup_iters,
        help=f"linear warm-up steps (default: {d.warmup_iters})",
    )
    p.add_argument(
        "--scheme",
        choices=("joint", "alternating"),
        default=d.scheme,
        help=f"approximate joint or 4-step alternating training (default: {d.scheme})",
    )
    p.add_argument(
        "--objectness",
        choices=("softmax", "sigmoid"),
        default=None,
        help="RPN classifier: 2A softmax or A sigmoid scores (default: softmax)",
    )
    p.add_argument(
        "--roi-op",
        choices=("align", "pool"),
        default=None,
        help="RoI Align or RoI Pool, 7x7 (default: align)",
    )
    p.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random horizontal flips (default: on, off for mnist-det: digits are not symmetric)",
    )
    p.add_argument(
        "--vflip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random vertical flips (default: on for neon-trees only)",
    )
    p.add_argument(
        "--transpose",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random x/y swaps of square images (default: on for neon-trees only)",
    )
    p.add_argument(
        "--seed", type=int, default=d.seed, help=f"seed of everything (default: {d.seed})"
    )
    p.add_argument(
        "--n-train", type=int, default=None, help="use only N training images (default: all)"
    )
    p.add_argument(
        "--n-val",
        type=int,
        default=None,
        help="validate on N test images after each epoch (default: all)",
    )
    p.add_argument(
        "--max-iters",
        type=int,
        default=None,
        help="stop (and checkpoint) after N steps in total (default: no limit)",
    )
    p.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="validate every N epochs, 0 = only at the end (default: 5 neon-trees, 1 otherwise)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from <out>/checkpoint.npz with its saved configs",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _check_positive(args, names) -> None:
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got {value}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training config that the command-line options describe (checked).

    Raises
    ------
    ValueError
        For an unknown ``--dataset`` or a count or rate below its minimum.
    """
    if not (
        args.dataset in ("mnist-det", "neon-trees") or args.dataset.startswith(("voc:", "coco:"))
    ):
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}; got {args.dataset!r}")
    _check_positive(args, ("epochs", "batch_size", "n_train", "n_val", "max_iters"))
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be > 0; got {args.lr}")
    if args.eval_every is not None and args.eval_every < 0:
        raise ValueError(f"--eval-every must be >= 0; got {args.eval_every}")
    neon = args.dataset == "neon-trees"
    optimizer = args.optimizer or ("adam" if neon else "sgd")
    lr = args.lr or (ADAM_LR if optimizer == "adam" else TrainConfig.lr)
    name = args.dataset.split(":", 1)[0] if ":" in args.dataset else args.dataset
    train = TrainConfig(
        dataset=args.dataset,
        out=args.out or f"runs/{name}",
        epochs=args.epochs or DEFAULT_EPOCHS.get(args.dataset, 12),
        batch_size=args.batch_size,
        optimizer=optimizer,
        lr=lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup_iters=args.warmup_iters,
        flip=args.dataset != "mnist-det" if args.flip is None else args.flip,
        vflip=args.dataset == "neon-trees" if args.vflip is None else args.vflip,
        transpose=args.dataset == "neon-trees" if args.transpose is None else args.transpose,
        seed=args.seed,
        scheme=args.scheme,
        n_train=args.n_train,
        n_val=args.n_val,
        max_iters=args.max_iters,
        eval_every=args.eval_every if args.eval_every is not None else (5 if neon else 1),
        progress=not args.no_progress,
    )
    return train


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Train (or resume), evaluate on the test split, write the log, the curves and the checkpoint.

    Returns
    -------
    int
        0 when the run is complete, also 0 when it stopped at ``--max-iters``.
    """
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(
            prog="python -m bboxcore.models.train", description=__doc__
        )
        add_arguments(parser)
        args = parser.parse_args(args)
    train_cfg = config_from_args(args)
    t0 = time.perf_counter()
    if args.resume:
        trainer = Trainer.resume(
            train_cfg.out, progress=train_cfg.progress, max_iters=train_cfg.max_iters
        )
        trainer.val_set = build_dataset(trainer.cfg.dataset, "test")
    else:
        train_set = build_dataset(train_cfg.dataset, "train", n_images=train_cfg.n_train)
        val_set = build_dataset(train_cfg.dataset, "test")
        model_cfg = dataset_config(train_cfg.dataset, train_set.class_names)
        if args.objectness:
            model_cfg.rpn.objectness = args.objectness
        if args.roi_op:
            model_cfg.head.roi_op = args.roi_op
        trainer = Trainer(model_cfg, train_cfg, train_set, val_set)
    print(
        f"bboxcore train: {trainer.cfg.dataset}, {len(trainer.train_set)} training images, "
        f"scheme {trainer.cfg.scheme}, "
        f"receptive field {trainer.model.backbone.receptive_field()} px, out {trainer.out}"
    )
    done = trainer.fit()
    wall = time.perf_counter() - t0
    plot_loss_curves(trainer.log.csv_path, trainer.out / "loss_curves.png")
    spent = sorted(trainer.stage_seconds.items(), key=lambda kv: -kv[1])
    busy = sum(v for _, v in spent) or 1.0
    print("time per stage: " + ", ".join(f"{k} {100 * v / busy:.0f}%" for k, v in spent))
    if not done:
        print(f"stopped after {trainer.iteration} steps; checkpoint {trainer.checkpoint_path}")
        return 0
    metrics = evaluate(trainer.model, trainer.val_set, progress=trainer.cfg.progress)
    trainer.log.history["final"] = {k: v for k, v in metrics.items() if k != "predictions"} | {
        "train_seconds": wall
    }
    trainer.log.save()
    print(
        f"test AP50 {metrics['ap50']:.4f}  COCO AP {metrics['coco_ap']:.4f}  "
        f"({metrics['n_images']} images, trained in {wall / 60:.1f} min)"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
