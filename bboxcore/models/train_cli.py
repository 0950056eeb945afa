r"""``bboxcore train``: the command-line glue around the :class:`Trainer` (any detector).

Run it from the command line::

    bboxcore train --dataset mnist-det --out runs/mnist                  # the teaching run
    bboxcore train --dataset neon-trees --out runs/neon                  # real tree crowns
    bboxcore train --dataset voc:PATH --out runs/voc                     # a VOC folder
    bboxcore train --dataset mnist-det --scheme alternating --out runs/alt
    bboxcore train --out runs/mnist --resume                             # continue a run
    bboxcore train --out runs/mnist --resume --epochs 4                  # ... for longer

(``python -m bboxcore.models.train_cli`` takes the same options; the old
``bboxcore.models.train`` path still works). This module only turns options
into configs and prints; the loop, the checkpoints and the signal handling are
in :mod:`bboxcore.models.trainer`, the detectors in
:data:`bboxcore.models.registry.MODELS` (``--model``), the training schemes in
:mod:`bboxcore.models.schemes` (``--scheme``). The layout is that of
torchvision's ``references/detection/train.py``: :func:`build_dataset`,
:func:`build_model`, :func:`train_one_epoch`, :func:`evaluate` and
:func:`main`, around a :class:`Trainer` that owns the state of a run.

A run folder belongs to one run: a new run refuses a folder that holds one
(``--resume`` continues it, ``--overwrite`` replaces it), and ``--resume``
continues the run in the folder ``--out`` names, wherever it was first
trained. Options given with ``--resume`` must agree with the run, except
:data:`~bboxcore.models.trainer.RESUME_OPTIONS` (more ``--epochs``,
``--max-iters``, ``--n-val``, ``--eval-every``).

Everything random — the weights, the order of the images, the flips, the
target creators' sampling — comes from generators seeded by ``seed``, so two
runs with one seed give identical losses, and a run resumed from its
checkpoint continues exactly as if it had never stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from pathlib import Path

from bboxcore.models.config import TrainConfig, config_to_dict
from bboxcore.models.datasets import DATASETS, build_dataset, dataset_kind
from bboxcore.models.predict import evaluate
from bboxcore.models.registry import DEFAULT_MODEL, MODELS, build_model, detector_class
from bboxcore.models.runlog import plot_loss_curves
from bboxcore.models.schemes import TRAINING_SCHEMES
from bboxcore.models.trainer import (
    CHECKPOINT,
    RESUME_OPTIONS,
    RunFolderError,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    prepare_run_folder,
    train_one_epoch,
)

__all__ = [
    "ADAM_LR",
    "DEFAULT_EPOCHS",
    "RunFolderError",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
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
#: Options that describe the detector rather than the training (Faster R-CNN's variants).
MODEL_OPTIONS = {"objectness": ("rpn", "objectness"), "roi_op": ("head", "roi_op")}
#: Options that only steer this invocation (never compared with a resumed run).
INVOCATION_OPTIONS = ("resume", "no_progress", "out", "overwrite")
#: Inference settings of one detector: option -> (model, config field). They change the
#: final evaluation and the checkpoint's config, not the training: a resumed run takes them.
INFERENCE_OPTIONS = {"flip_test": ("centernet", "flip_test")}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the options of ``bboxcore train`` (also ``python -m bboxcore.models.train_cli``).

    Every option defaults to None (or False) so that :func:`given_options` can
    tell which were given; :func:`config_from_args` fills in the defaults.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser (or sub-command parser) the options are added to.

    Returns
    -------
    None

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> args = p.parse_args(["--model", "yolov1"])
    >>> args.model, args.epochs, args.resume
    ('yolov1', None, False)
    """
    d = TrainConfig()
    p.add_argument(
        "--dataset", default=None, help=f"one of {', '.join(DATASETS)} (default: {d.dataset})"
    )
    p.add_argument(
        "--model",
        choices=tuple(MODELS),
        default=None,
        help=f"the detector (default: {DEFAULT_MODEL})",
    )
    p.add_argument(
        "--out",
        default=None,
        help="run folder (default: runs/<dataset>, runs/<dataset>-<model> for other models)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs, per step for --scheme alternating "
        "(default: 2 mnist-det, 60 neon-trees, 12 folders; with --resume: more epochs)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
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
    p.add_argument("--momentum", type=float, default=None, help=f"(default: {d.momentum})")
    p.add_argument("--weight-decay", type=float, default=None, help=f"(default: {d.weight_decay})")
    p.add_argument(
        "--schedule",
        choices=("step", "cosine", "constant"),
        default=None,
        help=f"after the warm-up (default: {d.schedule})",
    )
    p.add_argument(
        "--warmup-iters",
        type=int,
        default=None,
        help=f"linear warm-up steps (default: {d.warmup_iters})",
    )
    p.add_argument(
        "--scheme",
        choices=TRAINING_SCHEMES,
        default=None,
        help=f"approximate joint or 4-step alternating training (default: {d.scheme})",
    )
    p.add_argument(
        "--objectness",
        choices=("softmax", "sigmoid"),
        default=None,
        help="faster_rcnn: RPN classifier, 2A softmax or A sigmoid scores (default: softmax)",
    )
    p.add_argument(
        "--roi-op",
        choices=("align", "pool"),
        default=None,
        help="faster_rcnn: RoI Align or RoI Pool, 7x7 (default: align)",
    )
    p.add_argument(
        "--flip-test",
        choices=("none", "h", "hv"),
        default=None,
        help="centernet: the test passes of the evaluation, averaged before decoding: the image "
        "only, also its mirror image (h, the paper's flip test), or its four flips (hv) "
        "(default: none)",
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
        "--multiscale",
        type=int,
        nargs="+",
        default=None,
        metavar="SIDE",
        help="multi-scale training (YOLOv2): resize each batch to a side drawn from these "
        "multiples of 32 every --multiscale-every steps (default: the detector's recipe; "
        "off for most)",
    )
    p.add_argument(
        "--no-multiscale",
        dest="multiscale",
        action="store_const",
        const=(),
        help="train at the data set's size even where the recipe uses multi-scale training "
        "(default: the recipe's choice)",
    )
    p.add_argument(
        "--multiscale-every",
        type=int,
        default=None,
        help=f"steps between two draws of the side (default: {d.multiscale_every})",
    )
    p.add_argument(
        "--mosaic",
        type=float,
        default=None,
        metavar="P",
        help="YOLOv4's mosaic: replace each training image, with probability P, by a mosaic "
        "of it and three other training images (default: the detector's recipe; "
        f"{d.mosaic}, off, for most)",
    )
    p.add_argument("--seed", type=int, default=None, help=f"seed of everything (default: {d.seed})")
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
        help="continue the run in --out from its checkpoint.npz, with its saved configs "
        "(default: start a new run)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run even if --out holds one, replacing it (default: refuse)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def given_options(args: argparse.Namespace) -> dict:
    """The options given on the command line: ``{dest: value}`` of those not None or False.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that :func:`add_arguments` set up; attributes that are
        not ``bboxcore train`` options are left out.

    Returns
    -------
    dict

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> given_options(p.parse_args(["--lr", "0.1", "--resume"]))
    {'lr': 0.1, 'resume': True}
    """
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    known = {a.dest for a in parser._actions}  # only bboxcore train's own options
    return {k: v for k, v in vars(args).items() if k in known and v is not None and v is not False}


def _check_positive(args, names) -> None:
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got {value}")


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training config that the command-line options describe (checked).

    Options not given take the detector's recipe for the data set
    (``train_defaults``), then the :class:`TrainConfig` defaults.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that :func:`add_arguments` set up.

    Returns
    -------
    TrainConfig

    Raises
    ------
    ValueError
        For an unknown ``--dataset``, a count or rate below its minimum, or a
        ``--mosaic`` probability outside [0, 1].

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> cfg = config_from_args(p.parse_args(["--model", "yolov1", "--epochs", "2"]))
    >>> cfg.dataset, cfg.model, cfg.epochs, cfg.out
    ('mnist-det', 'yolov1', 2, 'runs/mnist-det-yolov1')
    >>> config_from_args(p.parse_args(["--lr", "0"]))
    Traceback (most recent call last):
    ...
    ValueError: --lr must be > 0; got 0.0
    """
    d = TrainConfig()
    dataset = args.dataset or d.dataset
    try:
        kind = dataset_kind(dataset)
    except ValueError as err:
        raise ValueError(f"--{err}") from None
    _check_positive(
        args, ("epochs", "batch_size", "n_train", "n_val", "max_iters", "multiscale_every")
    )
    if args.multiscale and any(s < 32 or s % 32 for s in args.multiscale):
        raise ValueError(
            f"--multiscale sides must be positive multiples of 32; got {args.multiscale}"
        )
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be > 0; got {args.lr}")
    if args.mosaic is not None and not 0 <= args.mosaic <= 1:
        raise ValueError(f"--mosaic must be a probability in [0, 1]; got {args.mosaic}")
    if args.eval_every is not None and args.eval_every < 0:
        raise ValueError(f"--eval-every must be >= 0; got {args.eval_every}")
    neon = kind == "neon-trees"
    name = dataset.split(":", 1)[0] if ":" in dataset else dataset
    model = DEFAULT_MODEL if args.model is None else args.model
    if model != DEFAULT_MODEL:
        name = f"{name}-{model}"
    own = detector_class(model).train_defaults(kind)  # the detector's recipe, if it has one
    optimizer = args.optimizer or own.get("optimizer") or ("adam" if neon else "sgd")
    own_lr = own.get("lr") if optimizer == own.get("optimizer", optimizer) else None
    lr = args.lr or own_lr or (ADAM_LR if optimizer == "adam" else TrainConfig.lr)

    def pick(value, default, field=None):  # the command line, then the detector, then the data
        return value if value is not None else own.get(field, default)

    return TrainConfig(
        dataset=dataset,
        model=model,
        out=args.out or f"runs/{name}",
        epochs=args.epochs or own.get("epochs") or DEFAULT_EPOCHS.get(kind, 12),
        batch_size=pick(args.batch_size, d.batch_size, "batch_size"),
        optimizer=optimizer,
        lr=lr,
        momentum=pick(args.momentum, d.momentum),
        weight_decay=pick(args.weight_decay, d.weight_decay, "weight_decay"),
        schedule=pick(args.schedule, d.schedule, "schedule"),
        warmup_iters=pick(args.warmup_iters, d.warmup_iters, "warmup_iters"),
        flip=pick(args.flip, dataset != "mnist-det"),
        vflip=pick(args.vflip, neon),
        transpose=pick(args.transpose, neon),
        seed=pick(args.seed, d.seed),
        scheme=pick(args.scheme, d.scheme),
        n_train=args.n_train,
        n_val=args.n_val,
        max_iters=args.max_iters,
        eval_every=pick(args.eval_every, 5 if neon else 1),
        multiscale=tuple(pick(args.multiscale, (), "multiscale")),
        multiscale_every=pick(args.multiscale_every, d.multiscale_every),
        mosaic=pick(args.mosaic, d.mosaic, "mosaic"),
        progress=not args.no_progress,
    )


def _model_config(train_cfg: TrainConfig, args: argparse.Namespace, class_names):
    """The detector's preset for the data set, with the model options applied."""
    cls = detector_class(train_cfg.model)
    config = cls.default_config(train_cfg.dataset, class_names)  # options checked by main
    for key in MODEL_OPTIONS:
        if getattr(args, key) is not None:
            part, field = MODEL_OPTIONS[key]
            setattr(getattr(config, part), field, getattr(args, key))
    _apply_inference_options(args, config)
    return config


def _check_model_options(args: argparse.Namespace, model: str) -> None:
    """Refuse the options of another detector (:data:`MODEL_OPTIONS`, :data:`INFERENCE_OPTIONS`)."""
    given = [k for k in MODEL_OPTIONS if getattr(args, k, None) is not None]
    if given and model != "faster_rcnn":
        names = ", ".join(_option(k) for k in given)
        verb = "applies" if len(given) == 1 else "apply"
        raise ValueError(f"{names} {verb} only to --model faster_rcnn; got --model {model}")
    for key, (owner, _) in INFERENCE_OPTIONS.items():
        if getattr(args, key, None) is not None and model != owner:
            raise ValueError(f"{_option(key)} applies only to --model {owner}; got --model {model}")


def _apply_inference_options(args: argparse.Namespace, config) -> None:
    """Set the given :data:`INFERENCE_OPTIONS` on ``config`` (checked by _check_model_options)."""
    for key, (_, field) in INFERENCE_OPTIONS.items():
        if getattr(args, key, None) is not None:
            setattr(config, field, getattr(args, key))


def _resume(args: argparse.Namespace, train_cfg: TrainConfig) -> Trainer:
    """Rebuild the run in ``--out``; refuse options that disagree with it (naming them)."""
    from bboxcore.models.checkpoint import json_entry, read_checkpoint

    out = Path(train_cfg.out)
    path = out / CHECKPOINT
    if args.overwrite:
        raise ValueError("--overwrite starts a new run; it cannot be combined with --resume")
    if not path.exists():
        hint = (
            " (the run in it stopped before its first checkpoint; start it again with --overwrite)"
            if (out / "log.csv").exists()
            else ""
        )
        raise FileNotFoundError(f"no checkpoint to resume at {path}{hint}")
    state = read_checkpoint(path)
    saved = json_entry(state, "train_config", path)
    saved.setdefault("model", str(state.get("model_name", DEFAULT_MODEL)))
    saved_model = json_entry(state, "model_config", path)
    wanted = config_to_dict(train_cfg)
    conflicts = []
    for dest, value in given_options(args).items():
        if dest in INVOCATION_OPTIONS or dest in RESUME_OPTIONS or dest in INFERENCE_OPTIONS:
            continue
        if dest == "n_train":
            if value != saved.get("n_train"):
                conflicts.append(f"{_option(dest)} {value} (the run has {saved.get('n_train')})")
            continue
        if dest in MODEL_OPTIONS:
            part, field = MODEL_OPTIONS[dest]
            have = saved_model.get(part, {}).get(field)
        else:
            # A field newer than the run was not in its config: the run had its default.
            have, value = saved.get(dest, getattr(TrainConfig, dest, None)), wanted[dest]
        if json.loads(json.dumps(value)) != have:  # as the run's JSON config has it: lists
            conflicts.append(f"{_option(dest)} {value} (the run has {have})")
    if conflicts:
        raise ValueError(
            f"cannot change {', '.join(conflicts)} when resuming {out}: the run's losses depend "
            f"on them; drop them, or start a new run with a new --out"
        )
    overrides = {"progress": train_cfg.progress, "max_iters": train_cfg.max_iters}
    for dest in ("epochs", "n_val", "eval_every"):
        if getattr(args, dest) is not None:
            overrides[dest] = getattr(args, dest)
    trainer = Trainer.resume(out, **overrides)
    _check_model_options(args, trainer.cfg.model)
    _apply_inference_options(args, trainer.model.config)
    trainer.val_set = build_dataset(trainer.cfg.dataset, "test")
    return trainer


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Train (or resume), evaluate on the test split, write the log, the curves and the checkpoint.

    Parameters
    ----------
    args : argparse.Namespace or list of str, optional
        Options parsed by a parser that :func:`add_arguments` set up, or the
        command-line words to parse (None: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when the run is complete, also 0 when it stopped at ``--max-iters``;
        128 + the signal number after SIGINT (130) or SIGTERM (143), once the
        checkpoint is saved (the message says whether and at which step).

    Raises
    ------
    ValueError, FileNotFoundError
        Bad options, a missing or unreadable checkpoint (the message names the file).
    RunFolderError
        ``--out`` holds another run (without ``--resume``/``--overwrite``), or
        cannot be written.
    TrainingDiverged
        A NaN or infinite loss.

    Examples
    --------
    The options are checked before anything is built or written:

    >>> main(["--lr", "-1"])
    Traceback (most recent call last):
    ...
    ValueError: --lr must be > 0; got -1.0
    """
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(
            prog="python -m bboxcore.models.train_cli", description=__doc__
        )
        add_arguments(parser)
        args = parser.parse_args(args)
    train_cfg = config_from_args(args)
    t0 = time.perf_counter()
    trainer = None
    previous = _terminate_as_interrupt()
    try:
        if args.resume:
            trainer = _resume(args, train_cfg)
        else:
            detector_class(train_cfg.model)
            _check_model_options(args, train_cfg.model)  # before the run folder is made
            prepare_run_folder(train_cfg.out, overwrite=args.overwrite)  # before any slow work
            train_set = build_dataset(train_cfg.dataset, "train", n_images=train_cfg.n_train)
            val_set = build_dataset(train_cfg.dataset, "test")
            model_cfg = _model_config(train_cfg, args, train_set.class_names)
            trainer = Trainer(model_cfg, train_cfg, train_set, val_set, overwrite=args.overwrite)
        facts = "".join(f", {k.replace('_', ' ')} {v}" for k, v in trainer.model.summary().items())
        print(
            f"bboxcore train: {trainer.cfg.model} on {trainer.cfg.dataset}, "
            f"{len(trainer.train_set)} training images, scheme {trainer.cfg.scheme}{facts}, "
            f"out {trainer.out}"
        )
        try:
            done = trainer.fit()
        except TrainingInterrupted as err:
            with _stop_signals_ignored():  # saved and stopping: later Ctrl-C changes nothing
                _plot(trainer)
                print(f"bboxcore train: {err}", file=sys.stderr)
            return 128 + err.signum
        wall = time.perf_counter() - t0
        _plot(trainer)
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
    except KeyboardInterrupt as err:  # outside the training loop: before it or after it
        if trainer is not None and trainer.saved_iteration is not None:
            status = trainer.checkpoint_status()
        elif args.resume:
            status = f"the checkpoint {Path(train_cfg.out) / CHECKPOINT} was left as it was"
        else:
            status = "no checkpoint was written"
        signum = signal.SIGTERM if isinstance(err, _Terminated) else signal.SIGINT
        print(f"bboxcore train: interrupted by {signum.name}; {status}", file=sys.stderr)
        return 128 + signum
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _plot(trainer: Trainer) -> None:
    if trainer.log is not None and trainer.log.csv_path.exists():
        plot_loss_curves(trainer.log.csv_path, trainer.out / "loss_curves.png")


@contextlib.contextmanager
def _stop_signals_ignored():
    """SIGINT and SIGTERM ignored inside the block (main thread only), restored after it."""
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside the training loop (which handles it itself)."""


def _terminate_as_interrupt():
    """Outside the training loop, make SIGTERM stop ``main`` like Ctrl-C (with a message)."""

    def handler(signum, frame):
        raise _Terminated

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
