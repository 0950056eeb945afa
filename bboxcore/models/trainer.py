r"""The :class:`Trainer`: the state of a run and the loop that advances it.

A run is a sequence of *stages* (one for approximate joint training, four
for the paper's alternating training, :data:`SCHEMES`), each of ``epochs``
epochs of optimiser steps. :func:`train_one_epoch` runs the steps of one
epoch; :meth:`Trainer.fit` runs the epochs, validates, and checkpoints
after each epoch (atomically, :func:`bboxcore.nn.serialization.save`).

What makes a resumed run identical to an uninterrupted one: the checkpoint
holds the weights, the optimiser's momentum, the schedule's step, the
position (stage, epoch, step within the epoch) and the state of the one
generator that draws the flips and the target creators' samples
(``rng.bit_generator.state``); the order of the images of an epoch depends
only on (seed, stage, epoch) (:func:`~bboxcore.models.datasets.epoch_order`).

Safety: Ctrl-C finishes the current step, saves, and stops (a second Ctrl-C
aborts at once); a NaN or infinite loss or gradient stops the run with
:class:`TrainingDiverged` *before* anything is saved, so the last checkpoint
is the last good state.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np

from bboxcore.models.config import (
    ModelConfig,
    TrainConfig,
    config_to_dict,
    model_config_from_dict,
    train_config_from_dict,
)
from bboxcore.models.datasets import epoch_order, load_batch
from bboxcore.models.faster_rcnn import LOSS_NAMES, FasterRCNN
from bboxcore.models.predict import evaluate
from bboxcore.models.runlog import RunLog
from bboxcore.nn import serialization
from bboxcore.nn.optim import SGD, Adam, CosineLR, LinearWarmup, LRScheduler, MultiStepLR
from bboxcore.nn.tensor import Tensor

__all__ = [
    "CHECKPOINT",
    "SCHEMES",
    "Trainer",
    "TrainingDiverged",
    "build_model",
    "build_optimizer",
    "clip_grad_norm",
    "train_one_epoch",
]

#: File name of the checkpoint inside the run folder.
CHECKPOINT = "checkpoint.npz"
#: Weight of the previous value in the progress bar's running mean of the losses.
BAR_SMOOTHING = 0.9


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or infinite: training stopped, the last checkpoint is kept."""


def build_model(config: ModelConfig, seed: int) -> FasterRCNN:
    """A freshly initialised :class:`FasterRCNN`; the weights depend on ``seed`` only.

    Parameters
    ----------
    config : ModelConfig
        The architecture (channels, anchors, classes).
    seed : int
        Seed of the weight initialisation.

    Returns
    -------
    FasterRCNN

    Examples
    --------
    >>> from bboxcore.models.config import ModelConfig
    >>> a, b = build_model(ModelConfig(), 0), build_model(ModelConfig(), 0)
    >>> all((p.data == q.data).all() for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    return FasterRCNN(config, np.random.default_rng([seed, 1]))


def build_optimizer(params, cfg: TrainConfig, total_steps: int) -> tuple:
    """SGD (momentum, weight decay) or Adam; linear warm-up, then step, cosine or constant.

    Parameters
    ----------
    params : list of Parameter
        What this stage trains.
    cfg : TrainConfig
    total_steps : int
        Optimiser steps of the stage (the cosine's period; milestones are fractions of it).

    Returns
    -------
    (Optimizer, LinearWarmup)
        Call only the warm-up's ``step()``: it drives the schedule after it.
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


#: The stages of each scheme: (name, losses trained, backbone frozen, network, trained parts).
SCHEMES = {
    "joint": (("joint", "joint", False, "model", ("backbone", "rpn", "head")),),
    "alternating": (
        ("1-rpn", "rpn", False, "rpn_net", ("backbone", "rpn")),
        ("2-fast-rcnn", "head", False, "model", ("backbone", "head")),
        ("3-rpn-finetune", "rpn", True, "model", ("rpn",)),
        ("4-head-finetune", "head", True, "model", ("head",)),
    ),
}


class Trainer:
    """The state of one training run: networks, optimiser, schedule, generator, position, log.

    Parameters
    ----------
    model_config : ModelConfig
    train_config : TrainConfig
    train_set, val_set
        Data sets as returned by :func:`~bboxcore.models.datasets.build_dataset`.

    Attributes
    ----------
    model : FasterRCNN
        The detector being trained (the final one).
    rpn_net : FasterRCNN or None
        Alternating training only: the network of step 1, whose RPN proposes
        for step 2 and initialises the RPN of step 3.
    stage, epoch, step_in_epoch, iteration : int
        Where the run is: index into the scheme's stages, epoch within the
        stage, batches done in the epoch, optimiser steps done in total.
    """

    def __init__(
        self, model_config: ModelConfig, train_config: TrainConfig, train_set, val_set=None
    ):
        self.model_config, self.cfg = model_config, train_config
        self.train_set, self.val_set = train_set, val_set
        self.out = Path(train_config.out)
        self.rng = np.random.default_rng([train_config.seed, 2])  # flips and target sampling
        self.model = build_model(model_config, train_config.seed)
        self.rpn_net = None
        if train_config.scheme == "alternating":  # a separate network for step 1
            self.rpn_net = build_model(model_config, train_config.seed + 1)
        self.stages = SCHEMES[train_config.scheme]
        self.stage = self.epoch = self.step_in_epoch = self.iteration = 0
        self.stop_requested = False
        #: Seconds spent in each stage of the iterations run by this process (see STAGES).
        self.stage_seconds: dict[str, float] = {}
        self.log: RunLog | None = None
        self._enter_stage(fresh=True)

    # ------------------------------------------------------------------ stages
    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.train_set) // self.cfg.batch_size)

    def _enter_stage(self, fresh: bool) -> None:
        name, step, frozen, net_name, parts = self.stages[self.stage]
        self.net: FasterRCNN = getattr(self, net_name)
        if fresh and name.startswith("3-"):  # step 3 starts from the step-1 RPN layers
            self.model.rpn.load_state_dict(self.rpn_net.rpn.state_dict())
        params = [p for part in parts for p in getattr(self.net, part).parameters()]
        self.params = params
        self.optimizer, self.schedule = build_optimizer(
            params, self.cfg, self.cfg.epochs * self.batches_per_epoch
        )
        self.step_kwargs = {"step": step, "frozen_backbone": frozen}
        if name.startswith("2-"):
            self.step_kwargs["proposer"] = self.rpn_net

    @property
    def stage_name(self) -> str:
        return self.stages[self.stage][0]

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.out / CHECKPOINT

    def state_dict(self) -> dict:
        """Everything needed to continue the run exactly (see :meth:`load_state_dict`)."""
        state = {
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
        if self.rpn_net is not None:
            state["rpn_net"] = self.rpn_net.state_dict()
        return state

    def save_checkpoint(self) -> Path:
        """Write the checkpoint atomically into the run folder."""
        self.out.mkdir(parents=True, exist_ok=True)
        serialization.save(self.checkpoint_path, self.state_dict())
        return self.checkpoint_path

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (the configs must be those the trainer was built with)."""
        pos = {k: int(v) for k, v in state["position"].items()}
        self.stage, self.epoch = pos["stage"], pos["epoch"]
        self.step_in_epoch, self.iteration = pos["step_in_epoch"], pos["iteration"]
        self.model.load_state_dict(state["model"])
        if self.rpn_net is not None:
            self.rpn_net.load_state_dict(state["rpn_net"])
        if self.stage < len(self.stages):
            self._enter_stage(fresh=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
        self.rng.bit_generator.state = json.loads(str(state["rng"]))

    @classmethod
    def resume(cls, out, train_set=None, val_set=None, **overrides) -> Trainer:
        """Rebuild a trainer from ``out/checkpoint.npz``, configs included.

        ``overrides`` may change the fields that do not alter the losses
        (``progress``, ``max_iters``, ``eval_every``, ``n_val``, ``out``).
        """
        path = Path(out) / CHECKPOINT
        if not path.exists():
            raise FileNotFoundError(f"no checkpoint to resume at {path}")
        state = serialization.load(path)
        model_config = model_config_from_dict(json.loads(str(state["model_config"])))
        saved = json.loads(str(state["train_config"]))
        allowed = {"progress", "max_iters", "eval_every", "n_val", "out"}
        bad = sorted(set(overrides) - allowed)
        if bad:
            raise ValueError(f"cannot change {bad} when resuming; only {sorted(allowed)}")
        train_config = train_config_from_dict({**saved, **overrides})
        if train_set is None:
            from bboxcore.models.datasets import build_dataset

            train_set = build_dataset(train_config.dataset, "train", n_images=train_config.n_train)
        trainer = cls(model_config, train_config, train_set, val_set)
        trainer.load_state_dict(state)
        return trainer

    # ------------------------------------------------------------------ the loop
    def fit(self) -> bool:
        """Train until every stage is done, ``max_iters`` is reached or Ctrl-C is pressed.

        Returns
        -------
        bool
            True when the run is complete, False when it stopped early (the
            checkpoint then holds the exact position to resume from).

        Raises
        ------
        TrainingDiverged
            On a NaN/inf loss or gradient; nothing is saved, the last
            checkpoint stays the last good state.
        KeyboardInterrupt
            After Ctrl-C, once the checkpoint has been saved.
        """
        resuming = self.iteration > 0
        self._fit_start = time.perf_counter()
        self.log = RunLog(self.out, resume_iteration=self.iteration if resuming else None)
        self.log.history["model_config"] = config_to_dict(self.model_config)
        self.log.history["train_config"] = config_to_dict(self.cfg)
        self.log.history["receptive_field"] = self.model.backbone.receptive_field()
        previous = _install_sigint(self)
        try:
            while self.stage < len(self.stages):
                while self.epoch < self.cfg.epochs:
                    if not train_one_epoch(self):
                        self.save_checkpoint()
                        if self.stop_requested:
                            raise KeyboardInterrupt
                        return False
                    self._end_epoch()
                self.stage, self.epoch = self.stage + 1, 0
                if self.stage < len(self.stages):
                    self._enter_stage(fresh=True)
                self.save_checkpoint()
            return True
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _end_epoch(self) -> None:
        rows = [
            r
            for r in self.log.rows()
            if r["stage"] == self.stage_name and int(r["epoch"]) == self.epoch
        ]
        entry = {"stage": self.stage_name, "epoch": self.epoch, "iteration": self.iteration}
        entry["seconds"] = round(time.perf_counter() - self._fit_start, 2)  # this process's
        entry["seconds_per_stage"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        for name in (*LOSS_NAMES, "total", "img_per_s"):
            values = [float(r[name]) for r in rows if r[name] not in ("", "nan")]
            entry[name] = float(np.mean(values)) if values else None
        evaluating = self.val_set is not None and self.stage_name in ("joint", "4-head-finetune")
        every = self.cfg.eval_every
        last = self.epoch == self.cfg.epochs - 1
        if evaluating and ((every and (self.epoch + 1) % every == 0) or last):
            metrics = evaluate(self.model, self.val_set, n_images=self.cfg.n_val)
            entry.update(val_ap50=metrics["ap50"], val_coco_ap=metrics["coco_ap"])
            print(
                f"[{self.stage_name} epoch {self.epoch + 1}/{self.cfg.epochs}] "
                f"val AP50 {metrics['ap50']:.4f}  COCO AP {metrics['coco_ap']:.4f}"
            )
        self.epoch, self.step_in_epoch = self.epoch + 1, 0
        self.log.epoch(entry)
        self.save_checkpoint()


def _install_sigint(trainer: Trainer):
    """First Ctrl-C: finish the current step, save, stop. Second Ctrl-C: the default (abort)."""

    def handler(signum, frame):
        trainer.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no handler, Ctrl-C aborts
        return None


def train_one_epoch(trainer: Trainer) -> bool:
    """Run the remaining batches of the current epoch; True when the epoch is complete.

    Each step: load a batch (flips drawn from the trainer's generator), compute
    the losses of the stage, check they are finite, backward, clip the
    gradient norm, optimiser step, schedule step, one row of ``log.csv``.
    Returns False early when Ctrl-C was pressed or ``max_iters`` was reached.
    """
    from tqdm.auto import tqdm

    cfg, net = trainer.cfg, trainer.net
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
    timer = net.timer = trainer.stage_seconds  # the model adds its forward stages
    try:
        for k in range(trainer.step_in_epoch, len(batches)):
            if trainer.stop_requested or (cfg.max_iters and trainer.iteration >= cfg.max_iters):
                return False
            t0 = time.perf_counter()
            images, bboxes, labels = load_batch(
                trainer.train_set, batches[k], trainer.rng, cfg.flip, cfg.vflip, cfg.transpose
            )
            _add_time(timer, "data", t0)
            try:
                losses = net.loss(images, bboxes, labels, trainer.rng, **trainer.step_kwargs)
            except FloatingPointError as err:  # NaN/inf inside the network
                _check_finite(trainer, "loss", float("nan"), {"error": str(err)})
            total = sum(losses.values(), Tensor(np.zeros((), np.float32)))
            values = {n: float(losses[n].item()) for n in LOSS_NAMES if n in losses}
            _check_finite(trainer, "loss", total.item(), values)
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
            row = {name: values.get(name, float("nan")) for name in LOSS_NAMES}
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
            if trainer.stop_requested:  # Ctrl-C: this step is done; save and stop
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
