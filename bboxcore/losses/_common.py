"""Private helpers shared by the losses of :mod:`bboxcore.losses`: reductions, upstream
gradients, input checks, and overflow-free sigmoid / softplus.
"""

from __future__ import annotations

import numpy as np

from bboxcore.boxes import as_float_array, check_finite

#: The accepted values of every ``reduction`` argument.
REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")


def _reduce(loss: np.ndarray, reduction: str, count: int | None = None):
    """Apply ``reduction`` to element-wise ``loss``; 'mean' divides by ``count`` (default: size)."""
    if reduction == "none":
        return loss
    with np.errstate(over="ignore"):  # a sum beyond the dtype's range is inf, as documented
        total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return total
    count = loss.size if count is None else count
    return total / loss.dtype.type(max(count, 1))  # empty mean -> 0, not 0/0


def _upstream(dloss, shape: tuple, dtype, reduction: str, count: int | None = None) -> np.ndarray:
    """The gradient w.r.t. each element-wise loss, given ``dloss`` w.r.t. the reduced loss."""
    d = as_float_array(dloss, "dloss").astype(dtype, copy=False)
    check_finite(d, "dloss")
    if reduction == "none":
        try:
            return np.broadcast_to(d, shape)
        except ValueError:
            raise ValueError(
                f"dloss must broadcast to the loss shape {shape} for reduction='none'; "
                f"got {d.shape}"
            ) from None
    if d.ndim != 0:
        raise ValueError(f"dloss must be a scalar for reduction={reduction!r}; got shape {d.shape}")
    if reduction == "mean":
        d = d / dtype.type(max(int(np.prod(shape)) if count is None else count, 1))
    return np.broadcast_to(d, shape)


def _as_logits(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name)
    check_finite(arr, name)
    return arr


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{-z}) without overflow: e^{-|z|} is always <= 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}); ``-log σ(z) = softplus(-z)``."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _check_targets(targets, shape: tuple, dtype, name: str = "targets") -> np.ndarray:
    t = as_float_array(targets, name).astype(dtype, copy=False)
    if t.shape != shape:
        raise ValueError(f"{name} must have the shape of logits {shape}; got {t.shape}")
    check_finite(t, name)
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"{name} must be in [0, 1]; got values in [{t.min()}, {t.max()}]")
    return t
