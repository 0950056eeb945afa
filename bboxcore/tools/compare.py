r"""``bboxcore compare``: every registered detector trained and evaluated under one protocol.

For each data set and each detector of :data:`bboxcore.models.registry.MODELS`
the comparison trains the detector with its recipe (:data:`RECIPES`: the preset
of ``bboxcore train --model M --dataset D`` plus the options its README row
used), evaluates the checkpoint on the test split with one evaluator for all
(VOC AP50 all-point, the twelve COCO numbers), and writes one JSON per data set
(``--results``, default ``docs/results/<data set>.json``) holding a record per
run:

* ``ap50``, ``coco`` (``AP``, ``AP50``, ``AP75``, ``APs``, ``APm``, ``APl`` and
  the ARs; -1 where a size range has no box, as pycocotools), the precision-recall
  curve of each class (at most 200 points), and the detections of the first
  four test images (score >= 0.3) for drawing them side by side;
* ``train_seconds`` (wall time of the training process, summed over resumed
  segments), ``train_images_per_s``, ``infer_images_per_s`` (``predict`` alone,
  one image at a time), ``n_param``, ``peak_rss_mb`` (the training process's
  maximum resident set, ``getrusage``);
* how it was made: the command and the training config it resolved to (the
  detector's :meth:`~bboxcore.models.base.Detector.train_defaults` applied),
  the commit (and whether the tree was clean),
  the machine, the load average before and after, the BLAS threads.

NEON results are cross-validated: run ``k`` tests on fold ``k`` of the spatial
block protocol (:class:`bboxcore.data.NeonTreeCrowns`, ``neon-trees:fold=k``)
with seed ``k``; MNIST scenes have one fixed test set, so run ``k`` is seed
``k``. :func:`summarize` gives the mean and standard deviation over runs.

Runs resume: each lives in ``--runs/<data set>/<detector>/<run>`` (default
``runs/compare``); a finished run (its record in the results file) is skipped,
an interrupted training continues from its checkpoint, so an interrupted
comparison started again continues where it stopped. Training runs one at a
time, in a child process with the BLAS threads given (default one).

Examples
--------
::

    bboxcore compare --datasets mnist-det neon-trees --runs-per-dataset 1 3
    bboxcore compare --models retinanet fcos --datasets neon-trees --folds 0 1 2
    bboxcore compare --table        # the README table from the committed results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bboxcore.atomic import atomic_write

__all__ = [
    "DATASETS",
    "RECIPES",
    "RESULTS_DIR",
    "add_arguments",
    "evaluate_run",
    "format_table",
    "main",
    "run_name",
    "summarize",
    "train_command",
]

#: Data sets of the comparison.
DATASETS = ("mnist-det", "neon-trees")
#: Where the results are committed.
RESULTS_DIR = Path("docs/results")
#: Test images whose detections are stored for the side-by-side figure.
N_SHOWN = 4
#: Score threshold of the stored detections.
SHOWN_SCORE = 0.3
#: Points kept of each precision-recall curve.
PR_POINTS = 200

#: ``bboxcore train`` options of each (detector, data set) beyond the detector's
#: own training defaults (:meth:`bboxcore.models.base.Detector.train_defaults`):
#: none, so every run is ``bboxcore train --model M --dataset D`` plus the seed,
#: the folder and ``--eval-every 0`` (validation only at the end: it does not
#: change training). A row here would be a departure to report.
RECIPES: dict[tuple[str, str], tuple[str, ...]] = {
    (m, d): ()
    for m in ("faster_rcnn", "retinanet", "fcos", "centernet", "yolov3", "yolov1")
    for d in DATASETS
}


def run_name(dataset: str, k: int) -> tuple[str, str, int]:
    """The ``--dataset`` name, the folder name and the seed of run ``k``.

    Parameters
    ----------
    dataset : {'mnist-det', 'neon-trees'}
    k : int >= 0
        Run index: the NEON fold (0-3) and the seed.

    Returns
    -------
    dataset_name : str
    folder : str
    seed : int

    Raises
    ------
    ValueError
        For an unknown data set or a NEON fold outside 0-3.

    Examples
    --------
    >>> run_name("neon-trees", 2), run_name("mnist-det", 0)
    (('neon-trees:fold=2', 'fold2', 2), ('mnist-det', 'seed0', 0))
    """
    from bboxcore.models.datasets import NEON_FOLDS

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}; got {dataset!r}")
    if int(k) != k or k < 0:
        raise ValueError(f"run index must be an integer >= 0; got {k!r}")
    if dataset == "neon-trees":
        if k >= NEON_FOLDS:
            raise ValueError(f"neon-trees has folds 0-{NEON_FOLDS - 1}; got {k}")
        return f"neon-trees:fold={k}", f"fold{k}", int(k)
    return dataset, f"seed{k}", int(k)


def train_command(model: str, dataset: str, k: int, out: str | Path) -> list[str]:
    """The ``bboxcore train`` arguments of a run (without the program name).

    Parameters
    ----------
    model : str
        A key of :data:`bboxcore.models.registry.MODELS`.
    dataset : {'mnist-det', 'neon-trees'}
    k : int
        Run index (:func:`run_name`).
    out : str or Path
        The run folder.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        As :func:`run_name`.

    Examples
    --------
    >>> " ".join(train_command("yolov3", "mnist-det", 0, "runs/x"))
    'train --model yolov3 --dataset mnist-det --seed 0 --out runs/x --eval-every 0'
    """
    name, _, seed = run_name(dataset, k)
    recipe = RECIPES.get((model, dataset), ())
    return [
        "train", "--model", model, "--dataset", name, "--seed", str(seed), "--out", str(out),
        "--eval-every", "0", *recipe,
    ]  # fmt: skip


# ----------------------------------------------------------------------------- provenance
def _commit() -> dict:
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "bboxcore"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "clean": None}
    return {"commit": head, "clean": dirty == ""}


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _write_json(path: Path, data) -> None:
    """Write ``data`` as JSON atomically (a temporary file renamed over ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        f.write(json.dumps(data, indent=1, sort_keys=False) + "\n")


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); move it away to start again") from None


# ----------------------------------------------------------------------------- training
def _child(meter: str, argv: list[str]) -> int:
    """Run ``bboxcore train`` in this process and write its wall time and peak memory."""
    from bboxcore.models.train_cli import RunFolderError, TrainingDiverged
    from bboxcore.models.train_cli import main as train_main

    if argv[:1] != ["train"]:
        raise ValueError(f"the child runs 'train ...'; got {argv[:1]}")
    t0 = time.perf_counter()
    try:
        rc = train_main(argv[1:])
    except (TrainingDiverged, RunFolderError, ValueError) as err:
        print(f"bboxcore train: error: {err}", file=sys.stderr)
        rc = 1
    seconds = time.perf_counter() - t0
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _write_json(Path(meter), {"rc": rc, "seconds": seconds, "maxrss_mb": maxrss_kb / 1024})
    return rc


def _train(model: str, dataset: str, k: int, folder: Path, threads: int, log) -> dict:
    """Train (or resume) one run in a child process; its segments' wall times and memory."""
    segments_path = folder / "compare_segments.json"
    segments = _read_json(segments_path, [])
    history = _read_json(folder / "history.json", {})
    if (folder / "checkpoint.npz").exists() and "final" in history:
        return {"segments": segments, "history": history}
    argv = [*train_command(model, dataset, k, folder), "--no-progress"]
    if (folder / "checkpoint.npz").exists():
        argv.append("--resume")
    elif folder.exists():
        argv.append("--overwrite")  # the comparison's own folder, without a checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env.update(MKL_NUM_THREADS=str(threads))
    meter = folder / "compare_meter.json"
    meter.unlink(missing_ok=True)
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "bboxcore.tools.compare", "--child", str(meter), "--", *argv]
    with open(folder / "train.log", "a") as out:
        out.write(f"\n$ bboxcore {' '.join(argv)}\n")
        out.flush()
        rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    measured = _read_json(meter, {"rc": rc, "seconds": None, "maxrss_mb": None})
    segments.append(
        measured | {"argv": argv, "load_before": load, "load_after": os.getloadavg()[0]}
    )
    _write_json(segments_path, segments)
    if rc != 0:
        raise RuntimeError(f"training failed (exit {rc}); see {folder / 'train.log'}")
    print(f"  trained in {measured['seconds'] / 60:.1f} min", file=log)
    return {"segments": segments, "history": _read_json(folder / "history.json", {})}


# ----------------------------------------------------------------------------- evaluation
def _thin(curve: np.ndarray, n: int = PR_POINTS) -> list:
    curve = np.asarray(curve, np.float64)
    if len(curve) > n:
        curve = curve[np.unique(np.linspace(0, len(curve) - 1, n).round().astype(int))]
    return [round(float(v), 4) for v in curve]


def evaluate_run(folder: str | Path, dataset_name: str, *, progress: bool = False) -> dict:
    """Evaluate a run's checkpoint on the test split: APs, PR curves, speed, detections.

    Parameters
    ----------
    folder : str or Path
        A run folder holding ``checkpoint.npz``.
    dataset_name : str
        Its ``--dataset`` name (e.g. ``'neon-trees:fold=1'``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``ap50``, ``ap50_per_class``, ``coco`` (the twelve COCO numbers by name),
        ``pr`` (per class ``{'precision', 'recall'}``), ``infer_images_per_s``,
        ``n_test``, ``n_param``, ``shown`` (the first :data:`N_SHOWN` test
        images' ``image_id``, ``bbox``, ``label``, ``score`` above
        :data:`SHOWN_SCORE`).

    Raises
    ------
    FileNotFoundError
        If ``folder`` holds no checkpoint.

    Examples
    --------
    A run folder of ``bboxcore train`` (here 3 steps on 4 MNIST scenes, a few
    seconds; its AP is near 0), evaluated on the 1000 test scenes::

        >>> from bboxcore.cli import main
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> main(["train", "--n-train", "4", "--max-iters", "3", "--out", d,
        ...       "--no-progress"])  # doctest: +SKIP
        >>> r = evaluate_run(d, "mnist-det")  # doctest: +SKIP
        >>> r["n_test"], sorted(r["coco"])[:3]  # doctest: +SKIP
        (1000, ['AP', 'AP50', 'AP75'])

    A folder without a checkpoint is refused before any work:

    >>> evaluate_run(tempfile.mkdtemp(), "mnist-det")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    FileNotFoundError: checkpoint .../checkpoint.npz does not exist
    """
    from tqdm.auto import tqdm

    from bboxcore.eval import coco_ap, voc_ap
    from bboxcore.models.base import Prediction
    from bboxcore.models.datasets import build_dataset
    from bboxcore.models.predict import load_detector

    model = load_detector(folder)
    test = build_dataset(dataset_name, "test")
    pred, gt, shown, busy = [], [], [], 0.0
    for i in tqdm(range(len(test)), desc="evaluate", disable=not progress, leave=False):
        image = test[i].image
        t0 = time.perf_counter()
        p = Prediction(*model.predict(image)[0])
        busy += time.perf_counter() - t0
        pred.append(p.to_detection(image_id=i))
        gt.append(test.annotation(i))
        if i < N_SHOWN:
            keep = np.asarray(p.score) >= SHOWN_SCORE
            shown.append(
                {
                    "image_id": str(test.annotation(i).image_id),
                    "bbox": np.round(np.asarray(p.bbox)[keep], 1).tolist(),
                    "label": np.asarray(p.label)[keep].astype(int).tolist(),
                    "score": np.round(np.asarray(p.score)[keep], 3).tolist(),
                }
            )
    voc = voc_ap(pred, gt, n_class=model.n_class)
    coco = coco_ap(pred, gt).as_dict()
    return {
        "ap50": float(voc.map),
        "ap50_per_class": [None if np.isnan(a) else float(a) for a in voc.ap],
        "coco": {k: float(v) for k, v in coco.items()},
        "pr": [
            {"precision": _thin(p), "recall": _thin(r)} for p, r in zip(voc.precision, voc.recall)
        ],
        "infer_images_per_s": len(test) / busy if busy > 0 else None,
        "n_test": len(test),
        "n_param": int(sum(np.asarray(p.data).size for p in model.parameters())),
        "shown": shown,
    }


def _blas_threads() -> list:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dev dependency
        return []
    return [
        {"api": d.get("internal_api"), "threads": d.get("num_threads")}
        for d in threadpool_info()
        if d.get("user_api") == "blas"
    ]


def _record(model, dataset, k, folder, trained, evaluated, threads) -> dict:
    name, _, seed = run_name(dataset, k)
    segments = trained["segments"]
    history = trained["history"]
    seconds = [s["seconds"] for s in segments if s.get("seconds")]
    train_seconds = (
        float(sum(seconds)) if seconds else history.get("final", {}).get("train_seconds")
    )
    cfg = history.get("train_config", {}) or {}
    from bboxcore.models.datasets import build_dataset

    n_train = len(build_dataset(name, "train", n_images=cfg.get("n_train")))
    epochs = cfg.get("epochs")
    images = None
    if train_seconds and epochs and n_train and "final" in history:  # a complete run
        images = epochs * n_train / train_seconds
    rss = [s["maxrss_mb"] for s in segments if s.get("maxrss_mb")]
    return {
        "model": model,
        "dataset": dataset,
        "dataset_name": name,
        "run": k,
        "seed": seed,
        "command": "bboxcore " + " ".join(train_command(model, dataset, k, folder)),
        "train_config": cfg,  # the effective recipe: the detector's defaults applied
        "train_seconds": train_seconds,
        "train_images_per_s": images,
        "peak_rss_mb": max(rss) if rss else None,
        **evaluated,
        "blas_threads": threads,
        "segments": [
            {k2: s.get(k2) for k2 in ("seconds", "load_before", "load_after", "rc")}
            for s in segments
        ],
        **_commit(),
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ----------------------------------------------------------------------------- summary
def summarize(records: list[dict]) -> dict:
    """Mean and standard deviation (ddof 1) per detector of AP50, COCO AP and the timings.

    Parameters
    ----------
    records : list of dict
        The ``runs`` of a results file.

    Returns
    -------
    dict
        ``{model: {'n': runs, 'ap50': (mean, std), 'coco_ap': ..., 'train_minutes': ...,
        'infer_images_per_s': ..., 'n_param': int}}``; std is None for one run.

    Examples
    --------
    >>> rs = [{"model": "m", "ap50": a, "coco": {"AP": a / 2}, "train_seconds": 60.0,
    ...        "infer_images_per_s": 10.0, "n_param": 5} for a in (0.5, 0.7)]
    >>> s = summarize(rs)["m"]
    >>> s["n"], [round(v, 4) for v in s["ap50"]]
    (2, [0.6, 0.1414])
    """
    out: dict = {}
    for model in dict.fromkeys(r["model"] for r in records):
        rs = [r for r in records if r["model"] == model]

        def stat(values):
            v = np.array([x for x in values if x is not None], np.float64)
            if len(v) == 0:
                return (None, None)
            return (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None)

        out[model] = {
            "n": len(rs),
            "ap50": stat(r["ap50"] for r in rs),
            "coco_ap": stat(r["coco"]["AP"] for r in rs),
            "train_minutes": stat(
                None if r["train_seconds"] is None else r["train_seconds"] / 60 for r in rs
            ),
            "infer_images_per_s": stat(r["infer_images_per_s"] for r in rs),
            "n_param": rs[0]["n_param"],
        }
    return out


def _pm(mean_std, digits: int = 3) -> str:
    mean, std = mean_std
    if mean is None:
        return "–"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_table(results: dict[str, dict]) -> str:
    """A Markdown table of every detector on every data set (mean ± std over runs).

    Parameters
    ----------
    results : dict
        ``{dataset: results file content}``.

    Returns
    -------
    str

    Examples
    --------
    >>> rs = [{"model": "fcos", "ap50": 0.5, "coco": {"AP": 0.2}, "train_seconds": 600.0,
    ...        "infer_images_per_s": 3.0, "n_param": 1}]
    >>> rows = format_table({"neon-trees": {"runs": rs}}).splitlines()
    >>> print(next(r for r in rows if "fcos" in r))
    | fcos | 0.500 | 0.200 | 10.0 (1) |
    """
    from bboxcore.models.registry import MODELS

    datasets = [d for d in DATASETS if d in results]
    summaries = {d: summarize(results[d]["runs"]) for d in datasets}
    head = "| detector | " + " | ".join(
        f"{d} AP50 | {d} COCO AP | {d} train min (runs)" for d in datasets
    )
    lines = [head + " |", "|" + "---|" * (1 + 3 * len(datasets))]
    for model in MODELS:
        cells = []
        for d in datasets:
            s = summaries[d].get(model)
            if s is None:
                cells += ["–", "–", "–"]
                continue
            minutes = _pm(s["train_minutes"], 1)
            cells += [_pm(s["ap50"]), _pm(s["coco_ap"]), f"{minutes} ({s['n']})"]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line
def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``bboxcore compare``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser to add them to.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> p.parse_args(["--runs", "1", "2"]).runs
    [1, 2]
    """
    from bboxcore.models.registry import MODELS

    p.add_argument("--models", nargs="+", choices=list(MODELS), help="default: every detector")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, help="default: both")
    p.add_argument(
        "--runs",
        type=int,
        nargs="+",
        metavar="K",
        help="run indices, the NEON folds and the seeds (default: 0 1 2 on neon-trees, "
        "0 on mnist-det)",
    )
    p.add_argument("--runs-dir", default="runs/compare", help="run folders (default: %(default)s)")
    p.add_argument(
        "--results", default=str(RESULTS_DIR), help="results folder (default: %(default)s)"
    )
    p.add_argument("--threads", type=int, default=1, help="BLAS threads of training (default: 1)")
    p.add_argument("--table", action="store_true", help="print the table of the results and stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> int:
    """``bboxcore compare``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when every planned run is done, 1 when one failed or ``--table`` found
        no results, 2 on a usage error.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     main(["--table", "--results", d])
    1
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        if len(argv) < 3 or argv[2] != "--":
            raise SystemExit("usage: python -m bboxcore.tools.compare --child METER -- ARGS")
        return _child(argv[1], argv[3:])
    p = argparse.ArgumentParser(prog="bboxcore compare", description=__doc__.split("\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run the comparison the parsed options describe (``bboxcore compare``).

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`add_arguments`, parsed.

    Returns
    -------
    int
        The exit status: 0 when every run is done (or the table printed), 1
        when ``--table`` finds no results, 2 for a bad option.

    Examples
    --------
    >>> import tempfile
    >>> p = argparse.ArgumentParser(); add_arguments(p)
    >>> run(p.parse_args(["--table", "--results", tempfile.mkdtemp()]))
    1
    """
    from bboxcore.models.registry import MODELS

    results_dir = Path(args.results)
    datasets = args.datasets or list(DATASETS)
    if args.table:
        found = {d: _read_json(results_dir / f"{d}.json", None) for d in datasets}
        found = {d: r for d, r in found.items() if r}
        if not found:
            print(f"bboxcore compare: no results in {results_dir}", file=sys.stderr)
            return 1
        print(format_table(found))
        return 0
    if args.threads < 1:
        print(f"bboxcore compare: --threads must be >= 1; got {args.threads}", file=sys.stderr)
        return 2
    models = args.models or list(MODELS)
    plan = []
    for d in datasets:
        ks = args.runs if args.runs is not None else ([0, 1, 2] if d == "neon-trees" else [0])
        try:
            plan += [(d, m, k, run_name(d, k)) for m in models for k in ks]
        except ValueError as err:
            print(f"bboxcore compare: --runs: {err}", file=sys.stderr)
            return 2
    failed = 0
    for i, (d, m, k, (name, tag, _)) in enumerate(plan, 1):
        path = results_dir / f"{d}.json"
        results = _read_json(path, {"dataset": d, "runs": []})
        if any(r["model"] == m and r["run"] == k for r in results["runs"]):
            print(f"[{i}/{len(plan)}] {m} on {name}: done (in {path})")
            continue
        folder = Path(args.runs_dir) / d / m / tag
        print(f"[{i}/{len(plan)}] {m} on {name}: {folder}", flush=True)
        try:
            trained = _train(m, d, k, folder, args.threads, sys.stdout)
            evaluated = evaluate_run(folder, name, progress=not args.no_progress)
        except (RuntimeError, ValueError, OSError) as err:
            print(f"  failed: {err}", file=sys.stderr)
            failed += 1
            continue
        record = _record(m, d, k, folder, trained, evaluated, args.threads)
        results = _read_json(path, {"dataset": d, "runs": []})  # reread: another may have written
        results["runs"] = [
            r for r in results["runs"] if not (r["model"] == m and r["run"] == k)
        ] + [record]
        _write_json(path, results)
        print(f"  AP50 {record['ap50']:.3f}  COCO AP {record['coco']['AP']:.3f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
