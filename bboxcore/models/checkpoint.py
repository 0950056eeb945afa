"""The checkpoint of a training run: its file, how to read it, and the detector it holds.

``<run folder>/checkpoint.npz`` (:data:`CHECKPOINT`) is a
:func:`bboxcore.nn.serialization.save` archive with

* ``model_name`` — the detector's key in :data:`bboxcore.models.registry.MODELS`
  (absent in checkpoints written before the registry: ``'faster_rcnn'``);
* ``model_config`` and ``train_config`` — the two configs as JSON text;
* ``model`` — the detector's weights, plus what the trainer needs to continue
  exactly (``optimizer``, ``schedule``, ``position``, ``rng``, extra networks).

:func:`read_checkpoint` turns every way a file can be unreadable (missing,
truncated, corrupt, not a checkpoint at all) into one clear error naming the
file; :func:`detector_from_state` rebuilds the detector.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["CHECKPOINT", "CheckpointError", "detector_from_state", "read_checkpoint"]

#: File name of the checkpoint inside the run folder.
CHECKPOINT = "checkpoint.npz"
#: The entries every training checkpoint has.
REQUIRED = ("model", "model_config")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: truncated, corrupt, or not a bboxcore checkpoint.

    A ``ValueError``: ``except ValueError`` catches it with the other bad inputs.

    Examples
    --------
    >>> issubclass(CheckpointError, ValueError)
    True
    """


def checkpoint_path(path: str | Path) -> Path:
    """``path`` itself, or ``path/checkpoint.npz`` when ``path`` is a run folder.

    Parameters
    ----------
    path : str or Path
        A checkpoint file or a run folder (need not exist).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as run:
    ...     print(checkpoint_path(run).name, checkpoint_path("best.npz").name)
    checkpoint.npz best.npz
    """
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def read_checkpoint(path: str | Path, required=REQUIRED) -> dict:
    """Load a training checkpoint, with one clear error for every unreadable file.

    Parameters
    ----------
    path : str or Path
        A ``checkpoint.npz``, or the run folder holding it.
    required : sequence of str
        Top-level entries the checkpoint must have.

    Returns
    -------
    dict
        The nested state (see :func:`bboxcore.nn.serialization.load`).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    CheckpointError
        (a ``ValueError``) If the file is truncated, corrupt, not an ``.npz``
        archive, or lacks a ``required`` entry; the message names the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> bad = pathlib.Path(tmp.name) / "checkpoint.npz"
    >>> _ = bad.write_bytes(b"PK\\x03\\x04 cut short")
    >>> read_checkpoint(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bboxcore.models.checkpoint.CheckpointError: .../checkpoint.npz is not a readable bboxcore ...
    >>> tmp.cleanup()
    """
    from bboxcore.nn.serialization import load

    path = checkpoint_path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    try:
        state = load(path)
    except OSError as err:  # unreadable: permissions, I/O error
        raise CheckpointError(f"cannot read checkpoint {path}: {err.strerror or err}") from None
    except Exception as err:  # zipfile.BadZipFile, EOFError, zlib.error, numpy's ValueError
        raise CheckpointError(
            f"{path} is not a readable bboxcore checkpoint: the file is truncated, corrupt or "
            f"not an .npz archive ({type(err).__name__})"
        ) from None
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} is not a bboxcore training checkpoint (no {', '.join(missing)})"
        )
    return state


def json_entry(state: dict, key: str, path) -> dict:
    """``json.loads`` of the text entry ``key``; a :class:`CheckpointError` naming ``path``.

    Parameters
    ----------
    state : dict
        From :func:`read_checkpoint`.
    key : str
        The entry, e.g. ``'model_config'`` or ``'train_config'``.
    path : str or Path
        Named in the error messages.

    Returns
    -------
    dict
        The decoded JSON object.

    Raises
    ------
    CheckpointError
        If the entry is missing, not valid JSON, or not a JSON object.

    Examples
    --------
    >>> json_entry({"model_config": '{"n_class": 2}'}, "model_config", "run/checkpoint.npz")
    {'n_class': 2}
    >>> json_entry({"model_config": "[1, 2]"}, "model_config", "run/checkpoint.npz")
    Traceback (most recent call last):
    ...
    bboxcore.models.checkpoint.CheckpointError: run/checkpoint.npz: entry 'model_config' must be ...
    """
    try:
        value = json.loads(str(state[key]))
    except (KeyError, ValueError) as err:
        raise CheckpointError(
            f"{path}: entry {key!r} is missing or not valid JSON ({err})"
        ) from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: entry {key!r} must be a JSON object")
    return value


def model_name(state: dict) -> str:
    """The registry name of the checkpoint's detector (``'faster_rcnn'`` for old checkpoints).

    Parameters
    ----------
    state : dict
        From :func:`read_checkpoint`.

    Returns
    -------
    str
        A key of :data:`bboxcore.models.registry.MODELS`, if the checkpoint's
        detector is known.

    Examples
    --------
    >>> model_name({"model_name": np.array("yolov1")}), model_name({})
    ('yolov1', 'faster_rcnn')
    """
    from bboxcore.models.registry import DEFAULT_MODEL

    return str(state["model_name"]) if "model_name" in state else DEFAULT_MODEL


def detector_from_state(state: dict, path: str | Path = "checkpoint"):
    """The detector a checkpoint holds, with its config and weights, in evaluation mode.

    Parameters
    ----------
    state : dict
        From :func:`read_checkpoint`.
    path : str or Path
        Named in the error messages.

    Returns
    -------
    Detector

    Raises
    ------
    CheckpointError
        If the model name is unknown, the config does not fit the detector, or
        the weights do not fit the config.

    Examples
    --------
    >>> import json
    >>> from bboxcore.models.config import config_to_dict
    >>> from bboxcore.models.yolo import YOLOv1, Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> state = {"model_name": "yolov1", "model_config": json.dumps(config_to_dict(cfg)),
    ...          "model": YOLOv1(cfg, np.random.default_rng(0)).state_dict()}
    >>> model = detector_from_state(state)
    >>> type(model).__name__, model.training
    ('YOLOv1', False)
    >>> detector_from_state({**state, "model_name": "ssd"}, "run/checkpoint.npz")
    Traceback (most recent call last):
    ...
    bboxcore.models.checkpoint.CheckpointError: run/checkpoint.npz holds a 'ssd' detector, ...
    """
    from bboxcore.models.registry import MODELS

    name = model_name(state)
    if name not in MODELS:
        raise CheckpointError(
            f"{path} holds a {name!r} detector, which this bboxcore does not know "
            f"(known: {', '.join(MODELS)})"
        )
    cls = MODELS[name]
    try:
        config = cls.config_from_dict(json_entry(state, "model_config", path))
        model = cls(config, np.random.default_rng(0))
        model.load_state_dict(state["model"])
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: the {name} weights or config do not fit ({err})") from None
    return model.eval()
