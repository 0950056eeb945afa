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
import sys
from collections.abc import Callable, Sequence

__all__ = ["CLIError", "main"]


class CLIError(Exception):
    """A user error: printed as ``bboxcore: error: <message>`` with exit status 2."""


# --------------------------------------------------------------------------- bench
def _args_bench(p: argparse.ArgumentParser) -> None:
    from bboxcore.bench import SUITES

    p.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"suites to run (default: all of {', '.join(SUITES)})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated inputs (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_bench(args: argparse.Namespace) -> int:
    from bboxcore.bench import run_bench

    print(run_bench(args.suites or None, seed=args.seed, progress=not args.no_progress))
    return 0


# --------------------------------------------------------------------------- demo
def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")


def _run_demo(args: argparse.Namespace) -> int:
    from bboxcore.demo import run_demo

    return run_demo(out=args.out)


#: name -> (one-line help, declare options, run)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": ("the main job on the built-in data", _args_demo, _run_demo),
    "bench": ("print the speed table", _args_bench, _run_bench),
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
        usage error, 130 on Ctrl-C.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    bboxcore 0.1.0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CLIError, ValueError, FileNotFoundError) as err:
        print(f"bboxcore {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bboxcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
