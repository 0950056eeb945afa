"""The ``bboxcore`` command line.

Each sub-command is a pair of functions, ``_args_<name>(parser)`` that declares
its options and ``_run_<name>(args) -> int`` that does the work, registered in
:data:`COMMANDS`. Heavy imports happen inside ``_run_*`` so that ``--help``
stays instant. Errors a user can fix (bad paths, bad values) are raised as
:class:`CLIError` or ``ValueError`` and printed as one line, without a
traceback, with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["CLIError", "main"]


class CLIError(Exception):
    """A user error: printed as ``bboxcore: error: <message>`` with exit status 2."""


def _check_output_file(path: str | None, option: str) -> None:
    """Fail before any work if the file ``path`` of ``option`` cannot be written."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"{option} {path} is a folder; give a file name")
    parent = p.parent
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise CLIError(f"{option} {path} cannot be written (permission denied)")


# --------------------------------------------------------------------------- bench
def _args_bench(p: argparse.ArgumentParser) -> None:
    from bboxcore.tools.bench import SUITES

    p.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"suites to run (default: all of {', '.join(SUITES)})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated inputs (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_bench(args: argparse.Namespace) -> int:
    from bboxcore.tools.bench import run_bench

    print(run_bench(args.suites or None, seed=args.seed, progress=not args.no_progress))
    return 0


# --------------------------------------------------------------------------- demo
def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default: as bboxcore train)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _run_demo(args: argparse.Namespace) -> int:
    from bboxcore.tools.demo import run_demo

    return run_demo(out=args.out, epochs=args.epochs, progress=not args.no_progress)


# --------------------------------------------------------------------------- train
def _args_train(p: argparse.ArgumentParser) -> None:
    from bboxcore.models.train_cli import add_arguments

    add_arguments(p)


def _run_train(args: argparse.Namespace) -> int:
    from bboxcore.models.train_cli import RunFolderError, TrainingDiverged, main

    try:
        return main(args)
    except TrainingDiverged as err:
        print(f"bboxcore train: {err}", file=sys.stderr)
        return 1
    except RunFolderError as err:
        print(f"bboxcore train: error: {err}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------------- detect
def _args_detect(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files (PNG, JPEG...) or folders of images (taken sorted by name)",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="checkpoint.npz of a training run, or the run folder (required)",
    )
    p.add_argument("--out", default="detections", help="output folder (default: detections)")
    p.add_argument(
        "--score-thresh",
        type=float,
        default=None,
        help="keep detections above this score (default: the checkpoint's)",
    )
    p.add_argument(
        "--flip-test",
        choices=("none", "h", "hv"),
        default=None,
        help="CenterNet: average the outputs of the mirrored (h) or of all four flipped (hv) "
        "images before decoding (default: the checkpoint's)",
    )


def _check_checkpoint(path: str) -> None:
    """Fail early, and without numpy's advice to unpickle, on a file that is not an .npz."""
    import zipfile

    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.npz"
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    if not zipfile.is_zipfile(p):
        raise CLIError(
            f"--checkpoint {p} is not a bboxcore checkpoint: not a complete .npz archive "
            f"(bboxcore train writes checkpoint.npz in its run folder)"
        )


def _run_detect(args: argparse.Namespace) -> int:
    from bboxcore.models.detect import collect_images, detect_images
    from bboxcore.models.predict import load_detector

    # Everything that can be checked without the model is checked before loading it.
    if args.score_thresh is not None and not 0 <= args.score_thresh <= 1:
        raise CLIError(f"--score-thresh must be in [0, 1]; got {args.score_thresh}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise CLIError(f"--out {args.out} is a file; give a folder (created if missing)")
    _check_checkpoint(args.checkpoint)
    images = collect_images(args.images)
    model = load_detector(args.checkpoint)
    if args.score_thresh is not None:
        # Faster R-CNN keeps it in config.detect, the one-stage detectors in config itself.
        holder = getattr(model.config, "detect", model.config)
        if not hasattr(holder, "score_thresh"):
            raise CLIError(f"--score-thresh: a {type(model).__name__} has no score threshold")
        holder.score_thresh = args.score_thresh
    if args.flip_test is not None:
        if not hasattr(model.config, "flip_test"):
            raise CLIError(
                f"--flip-test: a {type(model).__name__} has no flip test (CenterNet has)"
            )
        model.config.flip_test = args.flip_test
    records = detect_images(model, images, args.out)  # checks every image before writing
    print(f"{len(records)} detections in {len(images)} image(s) -> {args.out}/")
    return 0


# --------------------------------------------------------------------------- grade
def _args_grade(p: argparse.ArgumentParser) -> None:
    from bboxcore.grading.command import declare

    declare(p)


def _run_grade(args: argparse.Namespace) -> int:
    from bboxcore.grading.command import run

    return run(args)


#: name -> (one-line help, declare options, run)
# --------------------------------------------------------------------------- eval
def _args_eval(p: argparse.ArgumentParser) -> None:
    from bboxcore.eval.report import EVAL_METRICS

    p.add_argument("--gt", required=True, help="ground truth: COCO .json, VOC or YOLO folder")
    p.add_argument(
        "--pred", required=True, help="predictions: a COCO result .json file (not a folder)"
    )
    p.add_argument("--metric", choices=EVAL_METRICS, default="all", help="which metrics")
    p.add_argument("--iou-thresh", type=float, default=0.5, help="VOC matching IoU threshold")
    p.add_argument("--plus-one", action="store_true", help="VOC devkit '+1 pixel' box widths")
    p.add_argument("--classes", help="comma-separated class names (VOC/YOLO label order)")
    p.add_argument("--plot", help="write the PR curves to this PNG file")
    p.add_argument("--json", help="write the numbers to this JSON file")
    p.add_argument(
        "--clip",
        action="store_true",
        help="clip ground-truth boxes to their images (default: as written, as pycocotools)",
    )


def _run_eval(args: argparse.Namespace) -> int:
    from bboxcore.eval.report import evaluate_files, write_json

    names = [c.strip() for c in args.classes.split(",")] if args.classes else None
    _check_output_file(args.json, "--json")
    _check_output_file(args.plot, "--plot")
    if args.plot is not None:
        from matplotlib.figure import Figure

        kinds = Figure().canvas.get_supported_filetypes()
        kind = Path(args.plot).suffix.lower().lstrip(".")
        if kind and kind not in kinds:
            raise CLIError(
                f"--plot {args.plot}: unknown image type .{kind}; use one of {sorted(kinds)}"
            )
    numbers, text = evaluate_files(
        args.gt,
        args.pred,
        metric=args.metric,
        iou_thresh=args.iou_thresh,
        plus_one=args.plus_one,
        class_names=names,
        plot=args.plot,
        clip=args.clip,
    )
    print(text)
    if args.json:
        write_json(numbers, args.json)
    return 0


# --------------------------------------------------------------------------- compare
def _args_compare(p: argparse.ArgumentParser) -> None:
    from bboxcore.tools.compare import add_arguments

    add_arguments(p)


def _run_compare(args: argparse.Namespace) -> int:
    from bboxcore.tools.compare import run

    return run(args)


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": ("the main job: train and evaluate on NEON tree crowns", _args_demo, _run_demo),
    "bench": ("print the speed table", _args_bench, _run_bench),
    "train": ("train a detector (default: Faster R-CNN) on a data set", _args_train, _run_train),
    "detect": ("detect objects in images with a trained checkpoint", _args_detect, _run_detect),
    "grade": ("grade a student's NMS, IoU, encoding or Soft-NMS code", _args_grade, _run_grade),
    "eval": ("evaluate prediction files: COCO AP/AR and VOC AP", _args_eval, _run_eval),
    "compare": (
        "train and evaluate every detector under one protocol",
        _args_compare,
        _run_compare,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["bench", "iou"]).suites
    ['iou']
    """
    from bboxcore import __version__

    parser = argparse.ArgumentParser(
        prog="bboxcore",
        description="Object detection's building blocks in readable NumPy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bboxcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_, declare, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        declare(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bboxcore`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional

    Returns
    -------
    int
        0 on success, 1 when a check fails (e.g. a graded assignment), 2 on a
        usage error or a file that cannot be read or written (one line on
        stderr, no traceback), 130 on Ctrl-C.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    bboxcore 0.1.0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CLIError, ValueError) as err:
        print(f"bboxcore {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a missing, unreadable or unwritable file or folder
        where = f"{err.filename}: " if err.filename is not None else ""
        print(f"bboxcore {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bboxcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
