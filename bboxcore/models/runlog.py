"""The paperwork of a training run: the loss log, the history file, the checkpoint, the pictures.

A run folder ``runs/NAME/`` holds

* ``log.csv`` — one row per optimiser step: stage, epoch, iteration, learning
  rate, the detector's loss terms (its ``loss_names``; Faster R-CNN's four) and
  their sum, the gradient norm (before clipping), images per second;
* ``history.json`` — the configs, one entry per epoch (mean losses, validation
  AP50 and COCO AP, wall time) and the final test metrics;
* ``checkpoint.npz`` — written atomically (:func:`bboxcore.nn.serialization.save`)
  after every epoch and on Ctrl-C: model, optimiser, schedule, position
  (stage, epoch, step), the random generator's state and both configs, so that
  ``--resume`` continues with exactly the losses of an uninterrupted run;
* ``loss_curves.png`` — each loss term against the iteration (matplotlib).

Every file is replaced atomically (:func:`bboxcore.atomic.atomic_write`), so
a run killed at any moment leaves each file either as it was or complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from bboxcore.atomic import atomic_write
from bboxcore.models.faster_rcnn import LOSS_NAMES

__all__ = ["LOG_COLUMNS", "RunLog", "log_columns", "loss_names_of", "plot_loss_curves",
           "write_json_atomic"]  # fmt: skip

#: Columns before and after the loss terms in ``log.csv``.
HEAD_COLUMNS, TAIL_COLUMNS = (
    ("stage", "epoch", "iteration", "lr"),
    ("total", "grad_norm", "img_per_s"),
)


def log_columns(loss_names) -> tuple[str, ...]:
    """The columns of ``log.csv`` for a detector whose loss terms are ``loss_names``.

    Parameters
    ----------
    loss_names : sequence of str
        The detector's loss terms, in the order of its ``loss`` dict.

    Returns
    -------
    tuple of str
        :data:`HEAD_COLUMNS`, the loss terms, then :data:`TAIL_COLUMNS`.

    Examples
    --------
    >>> log_columns(("cls", "box"))
    ('stage', 'epoch', 'iteration', 'lr', 'cls', 'box', 'total', 'grad_norm', 'img_per_s')
    """
    return (*HEAD_COLUMNS, *loss_names, *TAIL_COLUMNS)


def loss_names_of(columns) -> tuple[str, ...]:
    """The loss terms of a ``log.csv`` header: the columns between ``lr`` and ``total``.

    Parameters
    ----------
    columns : iterable of str
        A ``log.csv`` header.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If the header has no ``lr`` or no ``total`` column.

    Examples
    --------
    >>> loss_names_of(log_columns(("cls", "box")))
    ('cls', 'box')
    """
    columns = tuple(columns)
    return columns[columns.index("lr") + 1 : columns.index("total")]


#: Columns of a Faster R-CNN ``log.csv``.
LOG_COLUMNS = log_columns(LOSS_NAMES)


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` as indented JSON through a temporary file and an atomic rename.

    Parameters
    ----------
    path : str or PathLike
    data : dict
        JSON-serialisable (NaN is written as ``NaN``).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "history.json"
    >>> write_json_atomic(p, {"ap50": 0.5})
    >>> json.loads(p.read_text())
    {'ap50': 0.5}
    """
    with atomic_write(path, "w") as f:
        json.dump(data, f, indent=2)


class RunLog:
    """Append-only ``log.csv`` of every step plus the ``history.json`` of every epoch.

    Parameters
    ----------
    out : str or Path
        The run folder (created).
    resume_iteration : int or None
        When resuming, drop the rows logged after this iteration (a run killed
        between two checkpoints logged steps that will be run again).
    loss_names : tuple of str
        The detector's loss terms (the columns between ``lr`` and ``total``).

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> log = RunLog(tmp.name)
    >>> log.step({"stage": "joint", "epoch": 0, "iteration": 1, "lr": 0.1, "rpn_cls": 0.7,
    ...           "rpn_loc": 0.1, "roi_cls": 2.3, "roi_loc": 0.2, "total": 3.3, "grad_norm": 5.0,
    ...           "img_per_s": 9.0})
    >>> len(log.rows())
    1
    >>> tmp.cleanup()
    """

    def __init__(
        self, out: str | Path, resume_iteration: int | None = None, loss_names=LOSS_NAMES
    ) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.columns = log_columns(loss_names)
        self.csv_path = self.out / "log.csv"
        self.history_path = self.out / "history.json"
        self.history: dict = {"epochs": []}
        if resume_iteration is None:
            _write_csv_atomic(self.csv_path, self.columns, [])
            return
        # read everything first: a damaged file is reported before anything is rewritten
        if self.history_path.exists():
            self.history = _read_history(self.history_path)
            self.history["epochs"] = [
                e for e in self.history.get("epochs", []) if e["iteration"] <= resume_iteration
            ]
        kept = [r for r in self._checked_rows() if int(r["iteration"]) <= resume_iteration]
        _write_csv_atomic(self.csv_path, self.columns, kept)

    def _checked_rows(self) -> list[dict]:
        """The rows of an existing ``log.csv``; ValueError naming the file if it is damaged."""
        if not self.csv_path.exists():
            return []
        with open(self.csv_path, newline="", errors="replace") as f:
            reader = csv.DictReader(f)
            header = tuple(reader.fieldnames or ())
            rows = list(reader)
        if header != self.columns:
            raise ValueError(
                f"{self.csv_path} is damaged or belongs to another detector: its header is "
                f"{list(header)[:12]}, expected {list(self.columns)}"
            )
        good = []
        for k, r in enumerate(rows):
            if None in r.values() or None in r:  # cut short by a killed process, or extra fields
                if k == len(rows) - 1:
                    continue  # the last line of a killed run: dropped, the step is run again
                raise ValueError(f"{self.csv_path} is damaged: row {k + 2} has a wrong field count")
            if not r["iteration"].isdigit():
                raise ValueError(
                    f"{self.csv_path} is damaged: row {k + 2} has iteration {r['iteration']!r}"
                )
            good.append(r)
        return good

    def step(self, row: dict) -> None:
        """Append one step's row (keys :attr:`columns`).

        Parameters
        ----------
        row : dict
            A value for every column (other keys are ignored); floats are
            written with 6 significant digits.

        Raises
        ------
        KeyError
            If a column has no value in ``row``.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as run:
        ...     log = RunLog(run, loss_names=("cls",))
        ...     log.step(dict(stage="joint", epoch=0, iteration=1, lr=0.1, cls=1 / 3,
        ...                   total=1 / 3, grad_norm=2.0, img_per_s=9.0, extra="ignored"))
        ...     print(log.csv_path.read_text().splitlines()[1])
        joint,0,1,0.1,0.333333,0.333333,2,9
        """
        line = io.StringIO()
        csv.DictWriter(line, self.columns).writerow({k: _fmt(row[k]) for k in self.columns})
        with open(self.csv_path, "a", newline="") as f:
            f.write(line.getvalue())  # one write: a killed process leaves whole rows

    def rows(self) -> list[dict]:
        """Every logged step, as dicts of strings.

        Returns
        -------
        list of dict
            One dict per ``log.csv`` row, column name to text; empty when the
            file is missing.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as run:
        ...     RunLog(run).rows()
        []
        """
        if not self.csv_path.exists():
            return []
        with open(self.csv_path, newline="") as f:
            return list(csv.DictReader(f))

    def epoch(self, entry: dict) -> None:
        """Record one epoch's summary and rewrite ``history.json``.

        Parameters
        ----------
        entry : dict
            JSON-serialisable; ``entry["iteration"]`` (int) is what a resumed
            run uses to drop later epochs.

        Examples
        --------
        >>> import json, tempfile
        >>> with tempfile.TemporaryDirectory() as run:
        ...     log = RunLog(run)
        ...     log.epoch({"epoch": 0, "iteration": 50, "ap50": 0.12})
        ...     json.loads(log.history_path.read_text())["epochs"]
        [{'epoch': 0, 'iteration': 50, 'ap50': 0.12}]
        """
        self.history["epochs"].append(entry)
        self.save()

    def save(self) -> None:
        """Rewrite ``history.json`` atomically.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as run:
        ...     log = RunLog(run)
        ...     log.history["model"] = "yolov1"
        ...     log.save()
        ...     '"model": "yolov1"' in log.history_path.read_text()
        True
        """
        write_json_atomic(self.history_path, self.history)


def _read_history(path: Path) -> dict:
    """``history.json`` as a dict; ValueError naming the file if it is not valid."""
    try:
        history = json.loads(path.read_text())
        if not isinstance(history, dict) or not all(
            isinstance(e, dict) and isinstance(e.get("iteration"), int)
            for e in history.setdefault("epochs", [])
        ):
            raise ValueError("not a history: no list of epochs with their iteration")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is damaged (truncated or not valid JSON: {err})") from None
    return history


def _write_csv_atomic(path: Path, columns, rows) -> None:
    """Write a header and ``rows`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def plot_loss_curves(csv_path: str | Path, png_path: str | Path, smooth: int = 20) -> None:
    """Plot each loss term of ``log.csv`` against the iteration into ``png_path``.

    The terms are the columns between ``lr`` and ``total`` (:func:`loss_names_of`),
    so the same function draws the log of any detector.

    Parameters
    ----------
    csv_path : str or Path
        A ``log.csv`` written by :class:`RunLog`.
    png_path : str or Path
        Output picture.
    smooth : int
        Width of the moving average drawn over the raw (faint) curve.

    Raises
    ------
    ValueError
        If the header has no ``lr`` or ``total`` column (not a ``log.csv``).

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as run:
    ...     log = RunLog(run, loss_names=("cls", "box"))
    ...     for i in range(1, 6):
    ...         log.step(dict(stage="joint", epoch=0, iteration=i, lr=0.1, cls=1 / i, box=0.5,
    ...                       total=1 / i + 0.5, grad_norm=1.0, img_per_s=9.0))
    ...     plot_loss_curves(log.csv_path, os.path.join(run, "loss.png"), smooth=2)
    ...     os.path.getsize(os.path.join(run, "loss.png")) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        names = loss_names_of(reader.fieldnames or log_columns(()))
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    it = np.array([int(r["iteration"]) for r in rows])
    for ax, name in zip(axes[0], names):
        y = np.array([float(r[name]) if r[name] not in ("", "nan") else np.nan for r in rows])
        ok = np.isfinite(y)
        ax.plot(it[ok], y[ok], color="tab:blue", alpha=0.25, lw=0.8)
        if ok.sum() >= smooth:
            kernel = np.ones(smooth) / smooth
            ax.plot(
                it[ok][smooth - 1 :], np.convolve(y[ok], kernel, mode="valid"), color="tab:blue"
            )
        ax.set_title(name)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        # a killed run leaves the previous picture, never half of one
        with atomic_write(png_path, "wb") as f:
            fig.savefig(f, dpi=100, format="png")
    finally:
        plt.close(fig)
