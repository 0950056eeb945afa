r"""Gradient checking: compare :meth:`Tensor.backward` with central finite differences.

For a function :math:`f` of inputs :math:`x_1, \dots, x_m` with any output shape,
take a fixed random projection :math:`v` of the output, so that
:math:`L = \sum v \odot f(x)` is a scalar whose gradient involves every entry of the
Jacobian. Then for every element :math:`x_i` of every input

.. math::
    \frac{\partial L}{\partial x_i} \approx
    \frac{L(x + \varepsilon e_i) - L(x - \varepsilon e_i)}{2 \varepsilon}

with an error of order :math:`\varepsilon^2` (central differences). In float64 with
:math:`\varepsilon = 10^{-6}` the two agree to about 7 significant digits for any
smooth op; a wrong backward is off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from bboxcore.nn.tensor import Tensor, no_grad

__all__ = ["GradcheckError", "gradcheck"]

EPS = 1e-6  # finite-difference step (float64)
ATOL = 1e-5  # absolute tolerance of |analytic - numeric|
RTOL = 1e-3  # relative tolerance, times |numeric|


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with finite differences."""


def _as_input(x, k: int) -> Tensor:
    if isinstance(x, Tensor):
        if x.dtype != np.float64:
            raise TypeError(
                f"inputs[{k}] must be float64 for a gradient check; got {x.dtype} "
                "(convert a module with module.astype(np.float64))"
            )
        x.requires_grad = True
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"inputs[{k}] must be a numeric array or Tensor; got {type(x).__name__}")
    return Tensor(arr.astype(np.float64), requires_grad=True)


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence,
    *,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    rng: np.random.Generator | None = None,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    Parameters
    ----------
    fn : callable
        ``fn(*tensors) -> Tensor`` of any shape. It must be deterministic (give
        a function that uses randomness a fresh, equally seeded ``rng`` each call).
    inputs : sequence of array_like or Tensor
        Arrays are converted to float64 tensors. A Tensor (e.g. a module's
        parameter) is used as it is — it must be float64 — and perturbed in place,
        so ``fn`` may reach it through a closure rather than its arguments.
    eps : float
        Finite-difference step.
    atol, rtol : float
        An element passes if ``|analytic - numeric| <= atol + rtol * |numeric|``.
    rng : numpy.random.Generator, optional
        Draws the projection of the output; ``default_rng(0)`` when None.
    raise_exception : bool
        Raise on mismatch (default) or return False.

    Returns
    -------
    bool
        True if every element passes.

    Raises
    ------
    GradcheckError
        On a mismatch (when ``raise_exception``), naming the input, the element with
        the worst mismatch and both values.
    TypeError
        If an input is not numeric, or is a Tensor that is not float64.
    ValueError
        If ``fn`` does not return a Tensor that depends on the inputs.

    Notes
    -----
    Costs one backward and ``2 * (number of input elements)`` forward calls, so keep
    the shapes small. Near a kink (ReLU at 0, a max-pool tie) the finite difference
    straddles two slopes and the check fails for a correct gradient: draw inputs
    away from kinks.

    Examples
    --------
    >>> gradcheck(lambda a, b: (a * b).sigmoid(), [np.ones((2, 3)), np.full(3, 0.5)])
    True
    >>> def wrong(a):  # forward a^2, backward claims 3a
    ...     return Tensor.from_op(a.data**2, (a,), lambda d: (3 * a.data * d,), "bad")
    >>> gradcheck(wrong, [np.ones(2)], raise_exception=False)
    False
    """
    rng = np.random.default_rng(0) if rng is None else rng
    tensors = [_as_input(x, k) for k, x in enumerate(inputs)]
    out = fn(*tensors)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError("fn must return a Tensor that depends on its inputs")
    projection = rng.standard_normal(out.shape)

    for t in tensors:
        t.grad = None
    (out * projection).sum().backward()
    analytic = [np.zeros_like(t.data) if t.grad is None else t.grad.copy() for t in tensors]

    def loss() -> float:
        with no_grad():
            return float((fn(*tensors).data * projection).sum())

    worst = (0.0, None)  # (excess over tolerance, message)
    for k, t in enumerate(tensors):
        t.data = np.ascontiguousarray(t.data)
        flat = t.data.reshape(-1)  # a view: writing into it perturbs the input in place
        numeric = np.empty(flat.size)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = loss()
            flat[i] = saved - eps
            minus = loss()
            flat[i] = saved
            numeric[i] = (plus - minus) / (2 * eps)
        error = np.abs(analytic[k].reshape(-1) - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > worst[0]:
            i = int(error.argmax())
            where = np.unravel_index(i, t.shape)
            worst = (
                float(error.max()),
                f"inputs[{k}] (shape {t.shape}) at {tuple(int(j) for j in where)}: analytic "
                f"{analytic[k].reshape(-1)[i]:.8g}, numeric {numeric[i]:.8g}",
            )
    if worst[1] is None:
        return True
    if raise_exception:
        raise GradcheckError(f"gradient mismatch, worst in {worst[1]}")
    return False
