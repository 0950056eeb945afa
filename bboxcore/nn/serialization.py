"""Checkpoints: save and load state dicts as ``.npz``, atomically.

A checkpoint is a (possibly nested) dict of arrays and numbers — a module's
:meth:`~bboxcore.nn.modules.Module.state_dict`, or a trainer's
``{'model': ..., 'optimizer': ..., 'epoch': 3}``. Nested keys are stored
flattened as ``'model/0.weight'`` and rebuilt by :func:`load`.

:func:`save` writes to a temporary file in the same directory, flushes it to
disk, then renames it over the target (:func:`bboxcore.atomic.atomic_write`):
a crash at any moment leaves either the old checkpoint or the new one, never a
half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from bboxcore.atomic import atomic_write
from bboxcore.nn.modules import Module

__all__ = ["SEPARATOR", "load", "save"]

SEPARATOR = "/"  # joins the keys of nested dicts; module names use '.', so they never clash


def _flatten(state: Mapping, prefix: str, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for key, value in state.items():
        if not isinstance(key, str) or SEPARATOR in key or not key:
            raise ValueError(
                f"checkpoint keys must be non-empty str without {SEPARATOR!r}; got {key!r}"
            )
        name = prefix + key
        if isinstance(value, Mapping):
            _flatten(value, name + SEPARATOR, out)
            continue
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufU":
            raise TypeError(
                f"checkpoint value {name!r} must be numeric or str; got {type(value).__name__}"
            )
        out[name] = arr
    return out


def save(path: str | os.PathLike, state: Module | Mapping) -> None:
    """Write a module's state dict (or any nested dict of arrays) to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination, written exactly as given (no ``.npz`` is appended); its
        directory must exist.
    state : Module or mapping
        A module (its :meth:`~bboxcore.nn.modules.Module.state_dict` is saved) or a
        mapping of str to arrays, numbers, strings or further mappings.

    Raises
    ------
    TypeError
        If a value is not numeric or a string.
    ValueError
        If a key is empty, not a str, or contains ``'/'``.

    Notes
    -----
    Data go to ``<dir>/.<name>.<random>.tmp``, are flushed with ``os.fsync``, and
    the file is renamed over ``path`` with ``os.replace``. On any error the
    temporary file is removed and an existing ``path`` is left untouched. A
    process killed outright (SIGKILL, power loss) cannot clean up: it may leave
    a stale ``.<name>.*.tmp`` beside an intact ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> from bboxcore.nn.modules import Linear
    >>> net = Linear(2, 1, rng=np.random.default_rng(0))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> save(path, net)
    >>> sorted(load(path))
    ['bias', 'weight']
    """
    flat = _flatten(state.state_dict() if isinstance(state, Module) else state, "", {})
    with atomic_write(path, "wb", durable=True) as f:  # readers see the old file or the new one
        np.savez(f, **flat)


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    dict
        The nested dict that was saved; numbers come back as 0-d arrays (``float()``
        and ``int()`` turn them back), strings as 0-d ``str`` arrays.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid ``.npz`` archive (NumPy's error).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save(path, {"model": {"w": np.ones(2)}, "epoch": 3})
    >>> ckpt = load(path)
    >>> ckpt["model"]["w"], int(ckpt["epoch"])
    (array([1., 1.]), 3)
    """
    out: dict = {}
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        for flat_key in archive.files:
            *parents, leaf = flat_key.split(SEPARATOR)
            node = out
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = archive[flat_key]
    return out
