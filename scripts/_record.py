"""What the diagnostic scripts share: the checkpoints, a config field set, and the record.

``scripts/fit_gap.py``, ``scripts/best_box.py`` and ``scripts/yolo_scoring.py`` evaluate
trained checkpoints and write what they measured to a JSON file, with the command, the
commit and the load of the machine, never over an existing file.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from bboxcore.models.predict import load_detector
from bboxcore.models.runlog import write_json_atomic
from bboxcore.tools.compare import run_name


def new_output(p: argparse.ArgumentParser, out: str) -> Path:
    """``--out`` as a Path; a parser error if the file exists (records are never overwritten)."""
    path = Path(out)
    if path.exists():
        p.error(f"--out {path} exists; not overwriting it")
    return path


def compare_checkpoints(dataset: str, runs: list[int], models: list[str], runs_dir: str):
    """(run index, data set name, model, run folder, detector) of each ``bboxcore compare`` run.

    The folders are ``<runs_dir>/<dataset>/<model>/<run>``; one without a checkpoint is
    reported on stderr and skipped.
    """
    for k in runs:
        name, folder, _ = run_name(dataset, k)
        for model in models:
            run = Path(runs_dir) / dataset / model / folder
            if not (run / "checkpoint.npz").exists():
                print(f"{run}: no checkpoint, skipped", file=sys.stderr)
                continue
            yield k, name, model, run, load_detector(run)


def set_config_field(p: argparse.ArgumentParser, detector, model: str, key: str, value):
    """Set ``detector.config.<key>`` to ``value``, cast to the field's type, if the config takes it.

    ``key`` may name a field of a nested config with dots (Faster R-CNN's
    ``detect.nms_thresh``). Returns the value as set; a parser error names a
    missing field or a refused value.
    """
    *parents, field = key.split(".")
    config = detector.config
    for name in parents:
        config = getattr(config, name, None)
    if config is None or not dataclasses.is_dataclass(config) or not hasattr(config, field):
        p.error(f"{model}'s config has no field {key!r}")
    typed = type(getattr(config, field))(value)
    try:  # the config's own checks of the value
        dataclasses.replace(config, **{field: typed})
    except (TypeError, ValueError) as err:
        p.error(str(err))
    setattr(config, field, typed)
    return typed


def write_record(out: Path, script: str, argv: list[str] | None, records: list[dict]) -> None:
    """Write ``{"command", "evaluated_at_commit", "load", "runs": records}`` atomically."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    result = {
        "command": f"python scripts/{script} " + " ".join(argv or sys.argv[1:]),
        "evaluated_at_commit": commit,
        "load": os.getloadavg(),
        "runs": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, result)
