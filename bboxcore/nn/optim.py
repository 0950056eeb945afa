r"""Optimisers (SGD with momentum, Adam) and learning-rate schedules.

Use them as in PyTorch::

    opt = SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    sched = LinearWarmup(opt, warmup_steps=100, after=MultiStepLR(opt, [3000]))
    for x, y in batches:
        loss = criterion(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()

Parameters are updated in place (``p.data -= ...``), so modules and
optimisers keep pointing at the same arrays. ``state_dict()`` /
``load_state_dict()`` save and restore the momentum buffers, step counts and
learning rate, so a checkpointed run resumes exactly (see
:mod:`bboxcore.nn.serialization`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bboxcore.nn.tensor import Tensor

__all__ = [
    "SGD",
    "Adam",
    "CosineLR",
    "LRScheduler",
    "LinearWarmup",
    "MultiStepLR",
    "Optimizer",
    "StepLR",
]


class Optimizer:
    """Base class: holds the parameters, the learning rate ``lr`` and per-parameter state.

    Parameters
    ----------
    params : iterable of Tensor
        Tensors with ``requires_grad``, e.g. ``model.parameters()``.
    lr : float
        Learning rate, >= 0.

    Raises
    ------
    ValueError
        If ``params`` is empty, a tensor does not require grad, or ``lr < 0``.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params must hold at least one Tensor; got an empty list")
        for k, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ValueError(f"params[{k}] must be a Tensor with requires_grad=True; got {p!r}")
        if not lr >= 0:
            raise ValueError(f"lr must be >= 0; got {lr}")
        self.lr = float(lr)
        self.state: list[dict[str, np.ndarray | int]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every gradient (set ``.grad`` to None), before the next ``backward()``."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``{'lr': float, 'state': {'<index>': {name: array or int}}}`` (copies)."""
        state = {
            str(k): {name: np.array(v, copy=True) for name, v in s.items()}
            for k, s in enumerate(self.state)
        }
        return {"lr": self.lr, "state": {k: v for k, v in state.items() if v}}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore what :meth:`state_dict` returned (also after a save/load round trip).

        Raises
        ------
        ValueError
            If a parameter index is out of range or a buffer's shape differs from its
            parameter's.
        """
        self.lr = float(state["lr"])
        saved = state.get("state", {})
        bad = [k for k in saved if not (k.isdigit() and int(k) < len(self.params))]
        if bad:
            raise ValueError(
                f"optimizer state names unknown parameters {bad}; it has {len(self.params)}"
            )
        self.state = [{} for _ in self.params]
        for k, entries in saved.items():
            p = self.params[int(k)]
            for name, value in entries.items():
                value = np.array(value, copy=True)
                if value.ndim == 0:  # step counters
                    self.state[int(k)][name] = int(value)
                elif value.shape != p.shape:
                    raise ValueError(
                        f"state[{k}][{name!r}] must have shape {p.shape}; got {value.shape}"
                    )
                else:
                    self.state[int(k)][name] = value.astype(p.dtype)


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum and weight decay (PyTorch's formulation).

    .. math::
        g = \nabla L + \lambda w,\qquad b \leftarrow \mu b + g,\qquad w \leftarrow w - \eta b

    (:math:`b = g` at the first step; Nesterov uses :math:`g + \mu b` instead of b).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
        :math:`\eta`.
    momentum : float
        :math:`\mu` in [0, 1); 0 is plain SGD.
    weight_decay : float
        :math:`\lambda`, an L2 penalty :math:`\frac{\lambda}{2}\lVert w\rVert^2`.
    nesterov : bool

    Raises
    ------
    ValueError
        For a negative rate, a momentum outside [0, 1) or a negative weight decay.

    Examples
    --------
    >>> w = Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.5)
    >>> (w * w).sum().backward()  # gradient 2w
    >>> opt.step()
    >>> w.data  # w - 0.5 * 2w
    array([0., 0.], dtype=float32)
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov

    def step(self) -> None:
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
                else:
                    buf *= self.momentum
                    buf += g
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g


class Adam(Optimizer):
    r"""Adam (Kingma & Ba [1]_, Alg. 1), with optional L2 weight decay added to the gradient.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) g,\quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2,\quad
        w \leftarrow w - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
    betas : (float, float)
        Decay rates of the two moment estimates, each in [0, 1).
    eps : float
        Keeps the step finite where :math:`v = 0`.
    weight_decay : float

    Raises
    ------
    ValueError
        For a negative rate or weight decay, or a beta outside [0, 1).

    References
    ----------
    .. [1] D. P. Kingma, J. Ba. "Adam: A Method for Stochastic Optimization."
       ICLR 2015, arXiv:1412.6980.

    Examples
    --------
    >>> w = Tensor([3.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.data  # the first Adam step moves by lr, whatever the gradient's size
    array([2.9], dtype=float32)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas) or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1); got {betas}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def step(self) -> None:
        b1, b2 = self.betas
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if "step" not in state:
                state.update(
                    step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data)
                )
            state["step"] += 1
            m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)  # bias correction of the zero start
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --------------------------------------------------------------------------- schedules
class LRScheduler:
    """Base class: sets ``optimizer.lr = base_lr * factor(step)`` at every :meth:`step`.

    Parameters
    ----------
    optimizer : Optimizer
        Its current ``lr`` becomes ``base_lr``.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer, self.base_lr, self.last_step = optimizer, optimizer.lr, 0
        optimizer.lr = self.base_lr * self.factor(0)

    def factor(self, step: int) -> float:
        """Multiplier of ``base_lr`` after ``step`` optimiser steps."""
        return 1.0

    def step(self) -> None:
        """Advance by one optimiser step and set the new learning rate."""
        self.last_step += 1
        self.optimizer.lr = self.base_lr * self.factor(self.last_step)

    def state_dict(self) -> dict:
        """``{'base_lr': float, 'last_step': int}``."""
        return {"base_lr": self.base_lr, "last_step": self.last_step}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict` and set the optimiser's learning rate accordingly."""
        self.base_lr, self.last_step = float(state["base_lr"]), int(state["last_step"])
        self.optimizer.lr = self.base_lr * self.factor(self.last_step)


class StepLR(LRScheduler):
    r"""Scale the rate by ``gamma`` each ``step_size`` steps: :math:`\gamma^{\lfloor t/s\rfloor}`.

    Examples
    --------
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.1)
    >>> [sched.factor(t) for t in range(5)]
    [1.0, 1.0, 0.1, 0.1, 0.010000000000000002]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1; got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each milestone (Faster R-CNN: once, late in training).

    Examples
    --------
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> [MultiStepLR(opt, [2, 4], gamma=0.5).factor(t) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1) -> None:
        self.milestones, self.gamma = sorted(int(m) for m in milestones), gamma
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        return self.gamma ** sum(step >= m for m in self.milestones)


class CosineLR(LRScheduler):
    r"""Cosine decay from 1 to ``min_factor`` over ``total_steps`` (SGDR, arXiv:1608.03983).

    .. math:: f(t) = f_{min} + (1 - f_{min})\,\tfrac12\big(1 + \cos(\pi \min(t, T) / T)\big)

    Examples
    --------
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> [round(CosineLR(opt, total_steps=4).factor(t), 3) for t in range(6)]
    [1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, min_factor: float = 0.0) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1; got {total_steps}")
        self.total_steps, self.min_factor = total_steps, min_factor
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        progress = min(step, self.total_steps) / self.total_steps
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


class LinearWarmup(LRScheduler):
    r"""Ramp linearly from ``start_factor`` to 1 over ``warmup_steps``, times an optional schedule.

    .. math:: f(t) = \big(s + (1 - s) \min(t / T_w, 1)\big)\, f_{after}(t)

    Parameters
    ----------
    optimizer : Optimizer
    warmup_steps : int
    start_factor : float
    after : LRScheduler, optional
        The schedule to multiply (e.g. :class:`MultiStepLR`); call only the warm-up's
        :meth:`step`, it drives both.

    Examples
    --------
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> warm = LinearWarmup(opt, 4, start_factor=0.0, after=StepLR(opt, 4, gamma=0.5))
    >>> [warm.factor(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 0.5, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        start_factor: float = 1e-3,
        after: LRScheduler | None = None,
    ) -> None:
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0; got {warmup_steps}")
        if not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"start_factor must be in [0, 1]; got {start_factor}")
        self.warmup_steps, self.start_factor, self.after = warmup_steps, start_factor, after
        if after is not None:
            optimizer.lr = after.base_lr
        super().__init__(optimizer)

    def factor(self, step: int) -> float:
        ramp = 1.0 if step >= self.warmup_steps else step / self.warmup_steps
        warm = self.start_factor + (1 - self.start_factor) * ramp
        return warm * (self.after.factor(step) if self.after is not None else 1.0)
