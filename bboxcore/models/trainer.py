r"""The :class:`Trainer`: the state of a run and the loop that advances it, for any detector.

A run trains one :class:`~bboxcore.models.base.Detector` (built from the
registry, :data:`bboxcore.models.registry.MODELS`) through the stages of a
training scheme (:data:`bboxcore.models.schemes.SCHEMES`: one for joint
training, four for Faster R-CNN's alternating training), each of ``epochs``
epochs of optimiser steps. :func:`train_one_epoch` runs the steps of one
epoch: the detector's named losses are summed, back-propagated, clipped and
stepped; :meth:`Trainer.fit` runs the epochs, validates, and checkpoints
after each epoch (atomically, :func:`bboxcore.nn.serialization.save`).

What makes a resumed run identical to an uninterrupted one: the checkpoint
holds the detector's name, config and weights, the optimiser's momentum, the
schedule's step, the position (stage, epoch, step within the epoch) and the
state of the one generator that draws the flips, the mosaics and the target
sampling (``rng.bit_generator.state``); the order of the images of an epoch
depends only on (seed, stage, epoch) (:func:`~bboxcore.models.datasets.epoch_order`).

Safety, so that no signal loses work:

* SIGINT (Ctrl-C) or SIGTERM finishes the current step, saves, and stops with
  :class:`TrainingInterrupted`, whose message says at which step the
  checkpoint was written (or why it could not be). Further signals while
  stopping are counted, not obeyed: they can no longer cut the save short.
* Every save holds SIGINT and SIGTERM back until the checkpoint is complete, and
  writes through a temporary file and an atomic rename, so a crash at any
  moment (even SIGKILL) leaves the previous checkpoint or the new one.
* A NaN or infinite loss or gradient stops the run with
  :class:`TrainingDiverged` *before* anything is saved, so the last
  checkpoint is the last good state.
* A run folder that already holds a run is not overwritten unless asked
  (:func:`prepare_run_folder`); a write that fails (full disk, read-only
  folder) stops the run with :class:`RunFolderError`, naming the file.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
import time
from pathlib import Path

import numpy as np

from bboxcore.models.base import Target
from bboxcore.models.checkpoint import CHECKPOINT, json_entry, model_name, read_checkpoint
from bboxcore.models.config import (
    TrainConfig,
    config_to_dict,
    train_config_from_dict,
)
from bboxcore.models.datasets import epoch_order, load_batch, multiscale_side, resize_batch
from bboxcore.models.predict import evaluate
from bboxcore.models.registry import build_model, detector_class
from bboxcore.models.runlog import RunLog
from bboxcore.models.schemes import SCHEMES, Stage
from bboxcore.nn import serialization
from bboxcore.nn.optim import SGD, Adam, CosineLR, LinearWarmup, LRScheduler, MultiStepLR
from bboxcore.nn.tensor import Tensor

__all__ = [
    "CHECKPOINT",
    "RESUME_OPTIONS",
    "RUN_FILES",
    "SCHEMES",
    "STOP_SIGNALS",
    "RunFolderError",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "build_model",
    "build_optimizer",
    "clip_grad_norm",
    "prepare_run_folder",
    "remove_stale_temporaries",
    "train_one_epoch",
]

#: Weight of the previous value in the progress bar's running mean of the losses.
BAR_SMOOTHING = 0.9
#: The signals that stop a run cleanly (finish the step, save, stop).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The files that make a folder a run folder (what a new run would replace).
RUN_FILES = (CHECKPOINT, "log.csv", "history.json", "loss_curves.png")
#: Fields of the training config that a resumed run may take anew: they change
#: neither the losses already logged nor the meaning of the checkpoint.
RESUME_OPTIONS = ("epochs", "eval_every", "max_iters", "n_val", "out", "progress")
#: Entries a checkpoint must have to be resumed.
RESUME_ENTRIES = ("model", "model_config", "train_config", "position", "rng", "optimizer",
                  "schedule")  # fmt: skip


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or infinite: training stopped, the last checkpoint is kept.

    Examples
    --------
    >>> try:
    ...     raise TrainingDiverged("iteration 12: loss rpn_loc is nan")
    ... except RuntimeError as err:
    ...     print(type(err).__name__, err)
    TrainingDiverged iteration 12: loss rpn_loc is nan
    """


class RunFolderError(RuntimeError):
    """The run folder cannot be used: it holds another run, or a file in it cannot be written.

    Examples
    --------
    >>> issubclass(RunFolderError, RuntimeError)
    True
    """


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run; the message says what the checkpoint holds.

    Attributes
    ----------
    signum : int
        The first signal received.
    iteration : int
        Optimiser steps done when the run stopped.
    checkpoint : Path or None
        The checkpoint written at ``iteration``; None when it could not be written.

    Examples
    --------
    A ``KeyboardInterrupt``: code that stops on Ctrl-C stops on it too.

    >>> import signal
    >>> err = TrainingInterrupted("stopped at iteration 40; checkpoint saved", signal.SIGINT,
    ...                           40, Path("runs/x/checkpoint.npz"))
    >>> isinstance(err, KeyboardInterrupt), err.iteration, str(err)
    (True, 40, 'stopped at iteration 40; checkpoint saved')
    """

    def __init__(self, message: str, signum: int, iteration: int, checkpoint: Path | None):
        super().__init__(message)
        self.signum, self.iteration, self.checkpoint = signum, iteration, checkpoint

    def __str__(self) -> str:
        return str(self.args[0])


def build_optimizer(params, cfg: TrainConfig, total_steps: int) -> tuple:
    """SGD (momentum, weight decay) or Adam; linear warm-up, then step, cosine or constant.

    Parameters
    ----------
    params : list of Parameter
        What this stage trains.
    cfg : TrainConfig
        Read: ``optimizer``, ``lr``, ``momentum``, ``weight_decay``,
        ``schedule``, ``milestones``, ``gamma``, ``warmup_iters``,
        ``warmup_factor``.
    total_steps : int
        Optimiser steps of the stage (the cosine's period; milestones are fractions of it).

    Returns
    -------
    (Optimizer, LinearWarmup)
        Call only the warm-up's ``step()``: it drives the schedule after it.
        The warm-up lasts at most half of the stage.

    Examples
    --------
    Cosine decay without warm-up: after one of 10 steps the rate is
    :math:`0.02 \\cdot (1 + \\cos(\\pi / 10)) / 2`.

    >>> import math
    >>> from bboxcore.nn import Parameter
    >>> cfg = TrainConfig(optimizer="sgd", lr=0.02, schedule="cosine", warmup_iters=0)
    >>> opt, schedule = build_optimizer([Parameter(np.zeros(3, np.float32))], cfg, 10)
    >>> type(opt).__name__, opt.lr
    ('SGD', 0.02)
    >>> schedule.step()
    >>> round(opt.lr, 6), round(0.02 * (1 + math.cos(math.pi / 10)) / 2, 6)
    (0.019511, 0.019511)
    """
    if cfg.optimizer == "sgd":
        opt = SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        opt = Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = max(1, total_steps)
    after: LRScheduler
    if cfg.schedule == "cosine":
        after = CosineLR(opt, total)
    elif cfg.schedule == "step":
        after = MultiStepLR(opt, [int(m * total) for m in cfg.milestones], gamma=cfg.gamma)
    else:
        after = LRScheduler(opt)
    warmup = min(cfg.warmup_iters, total // 2)
    return opt, LinearWarmup(opt, warmup, start_factor=cfg.warmup_factor, after=after)


def clip_grad_norm(params, max_norm: float | None) -> float:
    r"""Global L2 norm of the gradients; scaled down in place to ``max_norm`` when above it.

    .. math::
        \lVert g \rVert = \sqrt{\textstyle\sum_p \sum_i g_{p,i}^2},\qquad
        g \leftarrow g \cdot \frac{\text{max\_norm}}{\lVert g \rVert}
        \ \text{ if } \lVert g \rVert > \text{max\_norm}

    Parameters
    ----------
    params : iterable of Parameter
        Parameters whose ``.grad`` (ndarray or None) is read and possibly scaled.
    max_norm : float or None
        The largest norm allowed; None only measures.

    Returns
    -------
    float
        The norm before clipping (inf/NaN are returned unchanged and nothing is scaled).

    Examples
    --------
    >>> from bboxcore.nn import Parameter
    >>> p = Parameter(np.zeros(2, np.float32))
    >>> p.grad = np.array([3.0, 4.0], np.float32)
    >>> clip_grad_norm([p], 1.0), p.grad.tolist()
    (5.0, [0.6000000238418579, 0.800000011920929])
    """
    grads = [p.grad for p in params if p.grad is not None]
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if max_norm is not None and np.isfinite(norm) and norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return norm


class Trainer:
    """The state of one training run: networks, optimiser, schedule, generator, position, log.

    Parameters
    ----------
    model_config : dataclass
        The detector's config (a :class:`~bboxcore.models.config.ModelConfig`
        for ``train_config.model = 'faster_rcnn'``).
    train_config : TrainConfig
    train_set, val_set
        Data sets as returned by :func:`~bboxcore.models.datasets.build_dataset`.
    overwrite : bool
        Let :meth:`fit` start a new run in a folder that holds one (its files
        are removed first); otherwise that is a :class:`RunFolderError`.

    Attributes
    ----------
    model : Detector
        The detector being trained (the final one).
    networks : dict of str to Detector
        The scheme's extra networks, e.g. ``'rpn_net'`` for alternating
        training: the network of step 1, whose RPN proposes for step 2 and
        initialises the RPN of step 3 (also the attribute ``rpn_net``).
    stage, epoch, step_in_epoch, iteration : int
        Where the run is: index into the scheme's stages, epoch within the
        stage, batches done in the epoch, optimiser steps done in total.
    saved_iteration : int or None
        The iteration of the checkpoint on disk, when known (written or resumed).

    Raises
    ------
    ValueError
        If the scheme needs sub-modules the detector lacks, or ``multiscale``
        is asked of a detector with a fixed input side.

    Examples
    --------
    Building a trainer trains nothing: :meth:`fit` does.

    >>> import tempfile
    >>> from bboxcore.models.yolo import Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> with tempfile.TemporaryDirectory() as run:
    ...     trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run, batch_size=2),
    ...                       train_set=[None] * 5)  # only its length is read here
    >>> type(trainer.model).__name__, trainer.iteration, trainer.batches_per_epoch
    ('YOLOv1', 0, 3)
    """

    def __init__(
        self,
        model_config,
        train_config: TrainConfig,
        train_set,
        val_set=None,
        *,
        overwrite: bool = False,
    ):
        self.model_config, self.cfg = model_config, train_config
        self.train_set, self.val_set = train_set, val_set
        self.out = Path(train_config.out)
        self.overwrite = overwrite
        self.rng = np.random.default_rng([train_config.seed, 2])  # flips, mosaics, targets
        self.model = build_model(train_config.model, model_config, train_config.seed)
        self.scheme = SCHEMES[train_config.scheme]
        _check_scheme(train_config.scheme, self.model)
        if train_config.multiscale and not type(self.model).fully_convolutional:
            raise ValueError(
                f"multiscale: {train_config.model} is not fully convolutional (its input side "
                "is fixed), so it cannot be trained at several scales"
            )
        self.networks = {
            name: build_model(train_config.model, model_config, train_config.seed + offset)
            for name, offset in self.scheme.networks.items()
        }
        self.stages = self.scheme.stages
        self.stage = self.epoch = self.step_in_epoch = self.iteration = 0
        self.stop_requested = False
        self.stop_signal: int | None = None
        self.extra_signals = 0
        self.saved_iteration: int | None = None
        self._folder_ready = False
        #: Seconds spent in data loading, forward, backward and optimiser steps by this process.
        self.stage_seconds: dict[str, float] = {}
        self.log: RunLog | None = None
        self._enter_stage(fresh=True)

    @property
    def rpn_net(self):
        """Alternating training: the network of step 1 (None for other schemes).

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.rpn_net is None  # the joint scheme has no extra network
        True
        >>> run.cleanup()
        """
        return self.networks.get("rpn_net")

    # ------------------------------------------------------------------ stages
    @property
    def batches_per_epoch(self) -> int:
        """Batches in one epoch: ``ceil(len(train_set) / batch_size)`` (the last may be short).

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.batches_per_epoch  # 5 images, 2 per batch
        3
        >>> run.cleanup()
        """
        return -(-len(self.train_set) // self.cfg.batch_size)

    def _network(self, name: str):
        return self.model if name == "model" else self.networks[name]

    def _enter_stage(self, fresh: bool) -> None:
        stage: Stage = self.stages[self.stage]
        self.net = self._network(stage.net)
        if fresh and stage.init_from is not None:  # e.g. step 3 starts from the step-1 RPN
            source, part = stage.init_from
            getattr(self.net, part).load_state_dict(
                getattr(self._network(source), part).state_dict()
            )
        if stage.parts is None:
            params = self.net.parameters()
        else:
            params = [p for part in stage.parts for p in getattr(self.net, part).parameters()]
        self.params = params
        self.optimizer, self.schedule = build_optimizer(
            params, self.cfg, self.cfg.epochs * self.batches_per_epoch
        )

    @property
    def stage_name(self) -> str:
        """The current stage's name, as logged (the last stage's once the run is done).

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.stage_name
        'joint'
        >>> run.cleanup()
        """
        return self.stages[min(self.stage, len(self.stages) - 1)].name

    def losses(self, images, targets) -> dict[str, Tensor]:
        """The current stage's named losses of one batch (what one optimiser step minimises).

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3), float32
            RGB in [0, 1].
        targets : list of Target
            One per image: boxes ``(x_min, y_min, x_max, y_max)`` in pixels and
            labels.

        Returns
        -------
        dict of str to Tensor
            The detector's loss terms (scalars), with the stage's options
            (e.g. only the RPN's in step 1 of alternating training); their sum
            is what the trainer back-propagates.

        Examples
        --------
        >>> from bboxcore.models.base import Target
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> image = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
        >>> losses = trainer.losses(image, [Target(np.array([[4., 4., 20., 24.]]), np.array([1]))])
        >>> sorted(losses), losses["xy"].shape
        (['cls', 'noobj', 'obj', 'wh', 'xy'], ())
        >>> run.cleanup()
        """
        stage = self.stages[self.stage]
        options = dict(stage.loss_options)
        if stage.proposals_from is not None:
            options["proposals"] = self._network(stage.proposals_from).propose(images)
        return self.net.loss(images, targets, self.rng, **options)

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        """``out/checkpoint.npz``, where :meth:`save_checkpoint` writes.

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.checkpoint_path.name
        'checkpoint.npz'
        >>> run.cleanup()
        """
        return self.out / CHECKPOINT

    def state_dict(self) -> dict:
        """Everything needed to continue the run exactly (see :meth:`load_state_dict`).

        Returns
        -------
        dict
            Weights of every network, optimiser and schedule state, position,
            the generator's state and both configs (as JSON text): what
            :func:`~bboxcore.nn.serialization.save` writes.

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> sorted(trainer.state_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['model', 'model_config', 'model_name', 'optimizer', 'position', 'rng', 'schedule',
         'train_config']
        >>> run.cleanup()
        """
        state = {
            "model_name": self.cfg.model,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "position": {
                "stage": self.stage,
                "epoch": self.epoch,
                "step_in_epoch": self.step_in_epoch,
                "iteration": self.iteration,
            },
            "rng": json.dumps(self.rng.bit_generator.state),
            "model_config": json.dumps(config_to_dict(self.model_config)),
            "train_config": json.dumps(config_to_dict(self.cfg)),
        }
        for name, net in self.networks.items():
            state[name] = net.state_dict()
        return state

    def save_checkpoint(self) -> Path:
        """Write the checkpoint atomically into the run folder, SIGINT/SIGTERM held back meanwhile.

        Returns
        -------
        Path
            :attr:`checkpoint_path`.

        Raises
        ------
        RunFolderError
            If the file cannot be written (full disk, read-only folder); the
            previous checkpoint, if any, is left as it was.

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.save_checkpoint().name, trainer.saved_iteration
        ('checkpoint.npz', 0)
        >>> run.cleanup()
        """
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            with _signals_deferred():
                serialization.save(self.checkpoint_path, self.state_dict())
        except OSError as err:
            raise RunFolderError(
                f"cannot write the checkpoint {self.checkpoint_path}: {err.strerror or err}; "
                f"{self.checkpoint_status()}"
            ) from None
        self.saved_iteration = self.iteration
        return self.checkpoint_path

    def checkpoint_status(self) -> str:
        """What is on disk, in words: the step of the checkpoint, or that there is none.

        Returns
        -------
        str
            For the messages of :class:`RunFolderError` and :class:`TrainingInterrupted`.

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.checkpoint_status().startswith("no checkpoint was written")
        True
        >>> _ = trainer.save_checkpoint()
        >>> trainer.checkpoint_status().endswith("(step 0) is intact")
        True
        >>> run.cleanup()
        """
        if self.saved_iteration is not None and self.checkpoint_path.exists():
            return f"the checkpoint {self.checkpoint_path} (step {self.saved_iteration}) is intact"
        if self.checkpoint_path.exists():
            return f"the earlier checkpoint {self.checkpoint_path} was left as it was"
        return f"no checkpoint was written into {self.out}"

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (the configs must be those the trainer was built with).

        Parameters
        ----------
        state : dict
            From :meth:`state_dict`, or read back from a checkpoint.

        Raises
        ------
        KeyError, ValueError
            If an entry is missing or a weight's shape does not fit.

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> trainer.iteration = 7
        >>> state = trainer.state_dict()
        >>> other = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                 train_set=[None] * 5)
        >>> other.load_state_dict(state)
        >>> other.iteration
        7
        >>> run.cleanup()
        """
        pos = {k: int(v) for k, v in state["position"].items()}
        self.stage, self.epoch = pos["stage"], pos["epoch"]
        self.step_in_epoch, self.iteration = pos["step_in_epoch"], pos["iteration"]
        self.model.load_state_dict(state["model"])
        for name, net in self.networks.items():
            net.load_state_dict(state[name])
        if self.stage < len(self.stages):
            self._enter_stage(fresh=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
        self.rng.bit_generator.state = json.loads(str(state["rng"]))

    @classmethod
    def resume(cls, out, train_set=None, val_set=None, **overrides) -> Trainer:
        """Rebuild a trainer from ``out/checkpoint.npz``, configs included.

        The run continues in ``out`` — wherever the run folder was when the
        checkpoint was written (a copied or moved folder is its own run).

        Parameters
        ----------
        out : str or Path
            The run folder.
        train_set, val_set
            The data (default: the checkpoint's training split, no validation).
        **overrides
            New values of :data:`RESUME_OPTIONS` (``epochs``: more epochs per
            stage, or fewer but not below those done; the learning-rate schedule
            then spans the new length from the current step on).

        Raises
        ------
        FileNotFoundError
            If there is no checkpoint in ``out``.
        ValueError
            If the checkpoint is truncated, corrupt or incomplete
            (:class:`~bboxcore.models.checkpoint.CheckpointError`, naming the
            file), or an override is not allowed or cannot be honoured (naming it).

        Examples
        --------
        >>> import tempfile
        >>> from bboxcore.models.yolo import Yolov1Config
        >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
        >>> run = tempfile.TemporaryDirectory()
        >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2),
        ...                   train_set=[None] * 5)  # only its length is read here
        >>> _ = trainer.save_checkpoint()
        >>> resumed = Trainer.resume(run.name, train_set=[None] * 5, epochs=3)
        >>> resumed.cfg.model, resumed.cfg.epochs, resumed.iteration
        ('yolov1', 3, 0)
        >>> Trainer.resume(run.name, train_set=[None] * 5, lr=1.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: cannot change ['lr'] when resuming ...
        >>> run.cleanup()
        """
        path = Path(out) / CHECKPOINT
        if not path.exists():
            raise FileNotFoundError(f"no checkpoint to resume at {path}")
        state = read_checkpoint(path, required=RESUME_ENTRIES)
        saved = json_entry(state, "train_config", path)
        saved.setdefault("model", model_name(state))
        bad = sorted(set(overrides) - set(RESUME_OPTIONS))
        if bad:
            raise ValueError(
                f"cannot change {bad} when resuming {path}; only {sorted(RESUME_OPTIONS)}"
            )
        from bboxcore.models.checkpoint import CheckpointError

        try:
            model_config = detector_class(saved["model"]).config_from_dict(
                json_entry(state, "model_config", path)
            )
            train_config = train_config_from_dict({**saved, **overrides, "out": str(out)})
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: the saved configs do not fit ({err})") from None
        position = {k: int(v) for k, v in state["position"].items()}
        if "epochs" in overrides:
            _check_more_epochs(train_config, saved, position, path)
        if train_set is None:
            from bboxcore.models.datasets import build_dataset

            train_set = build_dataset(train_config.dataset, "train", n_images=train_config.n_train)
        trainer = cls(model_config, train_config, train_set, val_set)
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"{path} is incomplete or does not fit its config ({err})"
            ) from None
        if train_config.epochs > int(saved["epochs"]) and trainer.stage == len(trainer.stages):
            trainer.stage, trainer.epoch = len(trainer.stages) - 1, int(saved["epochs"])
            trainer._enter_stage(fresh=False)  # a finished one-stage run goes on
            trainer.optimizer.load_state_dict(state["optimizer"])
            trainer.schedule.load_state_dict(state["schedule"])
        trainer.saved_iteration = trainer.iteration
        trainer._folder_ready = True
        return trainer

    # ------------------------------------------------------------------ the loop
    def fit(self) -> bool:
        """Train until every stage is done, ``max_iters`` is reached or a stop signal arrives.

        Returns
        -------
        bool
            True when the run is complete, False when it stopped early at
            ``max_iters`` (the checkpoint then holds the exact position to resume from).

        Raises
        ------
        TrainingDiverged
            On a NaN/inf loss or gradient; nothing is saved, the last
            checkpoint stays the last good state.
        TrainingInterrupted
            (a ``KeyboardInterrupt``) After SIGINT or SIGTERM, once the
            checkpoint has been saved (or could not be: the message says which).
        RunFolderError
            If the folder holds another run (and ``overwrite`` is off) or a file
            in it cannot be written.
        """
        if not self._folder_ready and self.iteration == 0:
            prepare_run_folder(self.out, overwrite=self.overwrite)
        self._folder_ready = True
        remove_stale_temporaries(self.out)
        try:
            return self._fit()
        except OSError as err:  # log.csv or history.json could not be written
            raise RunFolderError(
                f"cannot write {_file_meant(err.filename, self.out)}: {err.strerror or err}; "
                f"{self.checkpoint_status()}"
            ) from None

    def _fit(self) -> bool:
        resuming = self.iteration > 0
        self._fit_start = time.perf_counter()
        self.log = RunLog(
            self.out,
            resume_iteration=self.iteration if resuming else None,
            loss_names=self.model.loss_names,
        )
        self.log.history["model"] = self.cfg.model
        self.log.history["model_config"] = config_to_dict(self.model_config)
        self.log.history["train_config"] = config_to_dict(self.cfg)
        self.log.history.update(self.model.summary())
        self.log.save()  # at once: the folder never shows another run's configs
        with _StopOnSignals(self):
            while self.stage < len(self.stages):
                while self.epoch < self.cfg.epochs:
                    if not train_one_epoch(self):
                        return self._stop()
                    self._end_epoch()
                self.stage, self.epoch = self.stage + 1, 0
                if self.stage < len(self.stages):
                    self._enter_stage(fresh=True)
                self.save_checkpoint()
            return True

    def _stop(self) -> bool:
        """Save at the current step; raise :class:`TrainingInterrupted` if a signal asked for it."""
        if self.stop_signal is None:
            self.save_checkpoint()
            return False
        name = signal.Signals(self.stop_signal).name
        try:
            path = self.save_checkpoint()
        except RunFolderError as err:
            raise TrainingInterrupted(
                f"interrupted by {name} after step {self.iteration}; {err}",
                self.stop_signal, self.iteration, None,
            ) from None  # fmt: skip
        raise TrainingInterrupted(
            f"interrupted by {name} after step {self.iteration}; checkpoint written at step "
            f"{self.iteration}: {path} (continue with --resume --out {self.out})",
            self.stop_signal, self.iteration, path,
        )  # fmt: skip

    def _end_epoch(self) -> None:
        stage = self.stages[self.stage]
        rows = [
            r for r in self.log.rows() if r["stage"] == stage.name and int(r["epoch"]) == self.epoch
        ]
        entry = {"stage": stage.name, "epoch": self.epoch, "iteration": self.iteration}
        entry["seconds"] = round(time.perf_counter() - self._fit_start, 2)  # this process's
        entry["seconds_per_stage"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        for name in (*self.model.loss_names, "total", "img_per_s"):
            values = [float(r[name]) for r in rows if r[name] not in ("", "nan")]
            entry[name] = float(np.mean(values)) if values else None
        every = self.cfg.eval_every
        last = self.epoch == self.cfg.epochs - 1
        if (
            self.val_set is not None
            and stage.evaluate
            and ((every and (self.epoch + 1) % every == 0) or last)
        ):
            metrics = evaluate(self.model, self.val_set, n_images=self.cfg.n_val)
            entry.update(val_ap50=metrics["ap50"], val_coco_ap=metrics["coco_ap"])
            print(
                f"[{stage.name} epoch {self.epoch + 1}/{self.cfg.epochs}] "
                f"val AP50 {metrics['ap50']:.4f}  COCO AP {metrics['coco_ap']:.4f}"
            )
        self.epoch, self.step_in_epoch = self.epoch + 1, 0
        self.log.epoch(entry)
        self.save_checkpoint()


def _check_scheme(name: str, model) -> None:
    """Raise ValueError if ``model`` lacks a part or a loss option the scheme ``name`` uses."""
    scheme = SCHEMES[name]
    missing = [p for p in scheme.needs if not hasattr(model, p)]
    options = {k for st in scheme.stages for k in st.loss_options}
    if any(st.proposals_from for st in scheme.stages):
        options.add("proposals")
        if not hasattr(model, "propose"):
            missing.append("propose()")
    accepted = inspect.signature(model.loss).parameters
    missing += [f"loss({k}=...)" for k in sorted(options) if k not in accepted]
    if missing:
        raise ValueError(
            f"scheme {name!r} cannot train a {type(model).__name__}: it needs "
            f"{', '.join(missing)}; use --scheme joint"
        )


def _check_more_epochs(cfg: TrainConfig, saved: dict, position: dict, path: Path) -> None:
    """Raise ValueError if ``cfg.epochs`` is below what the run has already done."""
    done = position["epoch"] + (1 if position["step_in_epoch"] else 0)
    n_stages = len(SCHEMES[cfg.scheme].stages)
    if position["stage"] >= n_stages and cfg.epochs > int(saved["epochs"]) and n_stages > 1:
        raise ValueError(
            f"--epochs {cfg.epochs}: the {cfg.scheme} run in {path.parent} is complete "
            f"({saved['epochs']} epochs per stage); start a new run with a new --out"
        )
    if position["stage"] < n_stages and cfg.epochs < max(done, 1):
        raise ValueError(
            f"--epochs {cfg.epochs}: the run in {path.parent} has already done {done} "
            f"epoch(s) of its current stage"
        )


def prepare_run_folder(out: str | Path, *, overwrite: bool = False) -> None:
    """Check that a new run may write into ``out``; with ``overwrite``, remove the old run's files.

    Parameters
    ----------
    out : str or Path
        The run folder (created if missing).
    overwrite : bool
        Replace the run the folder holds (its :data:`RUN_FILES` are removed).

    Raises
    ------
    RunFolderError
        If ``out`` holds a run (any of :data:`RUN_FILES`) and ``overwrite`` is
        off, or the folder cannot be created or written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> prepare_run_folder(run)  # empty: fine
    >>> _ = (run / "log.csv").write_text("stage")
    >>> prepare_run_folder(run)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bboxcore.models.trainer.RunFolderError: ... already holds a training run (log.csv); continue...
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"run folder {out} is a file, not a folder; choose another --out")
    present = [name for name in RUN_FILES if (out / name).exists()]
    if present and not overwrite:
        raise RunFolderError(
            f"{out} already holds a training run ({', '.join(present)}); continue it with "
            f"--resume, choose a new --out, or replace it with --overwrite"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"  # a read-only folder fails here, early
        probe.write_bytes(b"")
        probe.unlink()
        for name in present:
            (out / name).unlink()
    except OSError as err:
        raise RunFolderError(
            f"cannot write into the run folder {out}: {err.strerror or err}"
        ) from None


def _file_meant(filename, out: Path) -> Path:
    """The run file a failed write was for (``.log.csv.x1y2.tmp`` -> ``log.csv``)."""
    if not filename:
        return out
    path = Path(os.fsdecode(filename))
    name = path.name
    if name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3:
        name = name[1:].rsplit(".", 2)[0]
    return path.with_name(name)


def remove_stale_temporaries(out: str | Path) -> list[Path]:
    """Remove the temporary files a killed run left in ``out`` (``.checkpoint.npz.*.tmp`` ...).

    Every file of a run folder is written to ``.<name>.<random>.tmp`` and renamed
    over ``<name>``; only a process killed outright (SIGKILL, power loss) between
    the two leaves the temporary behind. The file it was replacing is intact.

    Parameters
    ----------
    out : str or Path
        The run folder; only temporaries of :data:`RUN_FILES` are removed.

    Returns
    -------
    list of Path
        The files removed.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as run:
    ...     for name in (".log.csv.x1y2.tmp", "log.csv", ".notes.txt.ab.tmp"):
    ...         _ = (Path(run) / name).write_text("")
    ...     removed = [p.name for p in remove_stale_temporaries(run)]
    ...     removed, sorted(p.name for p in Path(run).iterdir())
    (['.log.csv.x1y2.tmp'], ['.notes.txt.ab.tmp', 'log.csv'])
    """
    out = Path(out)
    stale = [p for name in RUN_FILES for p in out.glob(f".{name}.*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM back while the block runs; deliver them, in order, after it.

    The Python handlers are swapped for one that only records the signal. A
    signal mask (``pthread_sigmask``) would not do: it holds a signal back from
    the calling thread only, the kernel hands a process-directed signal to any
    thread that does not block it (BLAS's workers), and Python then runs the
    handler in the main thread all the same. Outside the main thread Python
    runs no handler, so there is nothing to hold back.
    """
    held: list[int] = []
    previous = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, lambda signum, frame: held.append(signum))
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in held:
            signal.raise_signal(signum)


class _StopOnSignals:
    """While a run trains: the first SIGINT/SIGTERM asks it to stop after the current step.

    Later signals are only counted (:attr:`Trainer.extra_signals`): a second
    Ctrl-C must not cut the save short. Each of the first two says so on the
    terminal, with a raw ``os.write`` to stderr (a handler must not re-enter the
    buffered ``sys.stderr`` that a progress bar may be writing to). The previous
    handlers come back on exit.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer, self.previous = trainer, {}

    def handler(self, signum, frame) -> None:
        t = self.trainer
        if t.stop_signal is None:
            t.stop_signal, t.stop_requested = signum, True
            note = "stopping after this step; the checkpoint will be saved"
        else:
            t.extra_signals += 1
            note = "already stopping; the save will not be cut short (kill -9 aborts)"
        if t.extra_signals <= 1:
            name = signal.Signals(signum).name
            with contextlib.suppress(OSError):
                os.write(2, f"\nbboxcore train: {name}: {note}\n".encode())

    def __enter__(self) -> _StopOnSignals:
        for signum in STOP_SIGNALS:
            try:
                self.previous[signum] = signal.signal(signum, self.handler)
            except ValueError:  # not the main thread: no handlers, signals act as usual
                break
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)


def train_one_epoch(trainer: Trainer) -> bool:
    """Run the remaining batches of the current epoch; True when the epoch is complete.

    Each step: load a batch (flips and mosaics drawn from the trainer's
    generator), compute the stage's named losses (:meth:`Trainer.losses`),
    check they are finite, sum them, backward, clip the gradient norm,
    optimiser step, schedule step, one row of ``log.csv``. Returns False
    early when a stop signal arrived or ``max_iters`` was reached.

    Parameters
    ----------
    trainer : Trainer
        Its position (stage, epoch, step in epoch), networks, optimiser,
        schedule, generator and log are advanced in place.

    Returns
    -------
    bool
        True when every batch of the epoch has been run.

    Raises
    ------
    TrainingDiverged
        If a loss or the gradient norm is NaN or infinite.

    Examples
    --------
    One epoch of three 32-px images, two per batch, of a tiny YOLOv1:

    >>> import tempfile
    >>> from bboxcore.data import Sample
    >>> from bboxcore.models.yolo import Yolov1Config
    >>> cfg = Yolov1Config(n_class=2, img_size=(32, 32), channels=(4, 8, 8), fc_channels=16)
    >>> data = [Sample(np.zeros((32, 32, 3), np.float32), [[4, 4, 20, 24]], [1])] * 3
    >>> run = tempfile.TemporaryDirectory()
    >>> trainer = Trainer(cfg, TrainConfig(model="yolov1", out=run.name, batch_size=2,
    ...                                    progress=False), train_set=data)
    >>> trainer.log = RunLog(run.name, loss_names=trainer.model.loss_names)  # as fit() does
    >>> train_one_epoch(trainer), trainer.step_in_epoch, trainer.iteration
    (True, 2, 2)
    >>> [row["iteration"] for row in trainer.log.rows()]  # one row of log.csv a step
    ['1', '2']
    >>> run.cleanup()
    """
    from tqdm.auto import tqdm

    cfg, net = trainer.cfg, trainer.net
    loss_names = trainer.model.loss_names
    order = epoch_order(len(trainer.train_set), cfg.seed, trainer.stage, trainer.epoch)
    batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    bar = tqdm(
        total=len(batches),
        initial=trainer.step_in_epoch,
        desc=f"{trainer.stage_name} {trainer.epoch + 1}/{cfg.epochs}",
        disable=not cfg.progress,
        dynamic_ncols=True,
        leave=True,
    )
    smooth: dict[str, float] = {}
    net.train()
    timer = trainer.stage_seconds
    try:
        for k in range(trainer.step_in_epoch, len(batches)):
            if trainer.stop_requested or (cfg.max_iters and trainer.iteration >= cfg.max_iters):
                return False
            t0 = time.perf_counter()
            images, bboxes, labels = load_batch(
                trainer.train_set,
                batches[k],
                trainer.rng,
                cfg.flip,
                cfg.vflip,
                cfg.transpose,
                mosaic=cfg.mosaic,
            )
            if cfg.multiscale:
                side = multiscale_side(
                    cfg.multiscale, cfg.multiscale_every, cfg.seed, trainer.iteration
                )
                images, bboxes = resize_batch(images, bboxes, side)
            targets = [Target(b, lab) for b, lab in zip(bboxes, labels)]
            _add_time(timer, "data", t0)
            t1 = time.perf_counter()
            try:
                losses = trainer.losses(images, targets)
            except FloatingPointError as err:  # NaN/inf inside the network
                _check_finite(trainer, "loss", float("nan"), {"error": str(err)})
            unknown = sorted(set(losses) - set(loss_names))
            if unknown:
                raise ValueError(
                    f"{type(trainer.model).__name__}.loss returned {unknown}, which are not in "
                    f"its loss_names {loss_names}"
                )
            total = sum(losses.values(), Tensor(np.zeros((), np.float32)))
            values = {n: float(losses[n].item()) for n in loss_names if n in losses}
            _check_finite(trainer, "loss", total.item(), values)
            _add_time(timer, "forward", t1)
            trainer.optimizer.zero_grad()
            t1 = time.perf_counter()
            total.backward()
            _add_time(timer, "backward", t1)
            t1 = time.perf_counter()
            norm = clip_grad_norm(trainer.params, cfg.grad_clip)
            _check_finite(trainer, "gradient norm", norm, values)
            trainer.optimizer.step()
            _add_time(timer, "optimizer", t1)
            lr = trainer.optimizer.lr
            trainer.schedule.step()
            trainer.step_in_epoch, trainer.iteration = k + 1, trainer.iteration + 1
            speed = len(images) / (time.perf_counter() - t0)
            row = {name: values.get(name, float("nan")) for name in loss_names}
            row.update(
                stage=trainer.stage_name, epoch=trainer.epoch, iteration=trainer.iteration,
                lr=lr, total=float(total.item()), grad_norm=norm, img_per_s=speed,
            )  # fmt: skip
            trainer.log.step(row)
            for name, v in {**values, "img/s": speed}.items():
                old = smooth.get(name, v)
                smooth[name] = BAR_SMOOTHING * old + (1 - BAR_SMOOTHING) * v
            bar.set_postfix(
                {n: f"{v:.3f}" if n != "img/s" else f"{v:.1f}" for n, v in smooth.items()}
            )
            bar.update(1)
            if trainer.stop_requested:  # a stop signal: this step is done; save and stop
                return False
    finally:
        bar.close()
    return True


def _add_time(timer: dict, name: str, t0: float) -> None:
    timer[name] = timer.get(name, 0.0) + time.perf_counter() - t0


def _check_finite(trainer: Trainer, what: str, value: float, losses: dict) -> None:
    if np.isfinite(value):
        return
    parts = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}: {v}" for k, v in losses.items()
    )
    raise TrainingDiverged(
        f"{what} is {value} at stage {trainer.stage_name}, epoch {trainer.epoch + 1}, "
        f"iteration {trainer.iteration + 1} ({parts}); stopped without saving, the last good "
        f"checkpoint is {trainer.checkpoint_path}; try a lower --lr or a --grad-clip"
    )
