"""Central finite differences, the yardstick for every analytic gradient in bboxcore.

The losses and RoI ops write their gradients by hand (``*_backward``), and the
autograd layer (``bboxcore.nn``) chains them; both are checked against

.. math::
    \\frac{\\partial f}{\\partial x_k}
    \\approx \\frac{f(x + \\varepsilon e_k) - f(x - \\varepsilon e_k)}{2\\varepsilon}

in float64, whose error is O(ε²) for a smooth f (and garbage next to a kink, so
tests draw their inputs away from kinks and test the kinks separately).

Usage::

    from tests.finite_diff import assert_grad_close, numerical_grad, numerical_vjp

    g = numerical_grad(lambda x: float(np.sum(x ** 3)), x)          # scalar f
    v = numerical_vjp(lambda x: x ** 3, x, dout)                     # array f: d(sum(dout*f))/dx
    assert_grad_close(lambda x: float(np.sum(x ** 3)), x, 3 * x ** 2)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "FD_EPS",
    "assert_grad_close",
    "assert_param_grads_close",
    "numerical_grad",
    "numerical_vjp",
]

#: Step of the central difference: the float64 sweet spot between the O(eps²)
#: truncation error and the O(machine_eps / eps) rounding error.
FD_EPS = 1e-6


def numerical_grad(fn: Callable[[np.ndarray], float], x, *, eps: float = FD_EPS) -> np.ndarray:
    """Gradient of a scalar function ``fn`` at ``x`` by central differences, one element at a time.

    ``x`` is copied to float64 and never modified; ``fn`` receives a float64 array of
    the same shape and must return something ``float()`` accepts.
    """
    x = np.array(x, dtype=np.float64)  # a private copy
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        f_plus = float(fn(x))
        flat[k] = orig - eps
        f_minus = float(fn(x))
        flat[k] = orig
        gflat[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def numerical_vjp(
    fn: Callable[[np.ndarray], np.ndarray], x, dout, *, eps: float = FD_EPS
) -> np.ndarray:
    """Vector-Jacobian product ``d(sum(dout * fn(x))) / dx`` by central differences.

    This is what a ``backward(dout)`` must return for an array-valued ``fn``.
    """
    dout = np.asarray(dout, dtype=np.float64)
    return numerical_grad(lambda z: float(np.sum(dout * np.asarray(fn(z), np.float64))), x, eps=eps)


def assert_grad_close(
    fn: Callable[[np.ndarray], float],
    x,
    grad,
    *,
    eps: float = FD_EPS,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Assert that ``grad`` equals the central-difference gradient of scalar ``fn`` at ``x``."""
    expected = numerical_grad(fn, x, eps=eps)
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != expected.shape:
        raise AssertionError(f"gradient shape {grad.shape} != input shape {expected.shape}")
    np.testing.assert_allclose(
        grad, expected, rtol=rtol, atol=atol, err_msg="analytic vs central FD"
    )


def assert_param_grads_close(
    loss: Callable[[], float],
    params,
    rng: np.random.Generator,
    *,
    n: int = 3,
    rtol: float = 1e-4,
    atol: float = 1e-7,
) -> None:
    """Assert that each parameter's ``.grad`` matches central differences of ``loss()``.

    ``loss`` recomputes the scalar loss from the parameters' current ``.data``;
    ``.grad`` must already hold the analytic gradient of that loss. ``n``
    elements of each parameter, drawn by ``rng``, are perturbed in place one
    at a time and restored.
    """
    for param in params:
        flat = rng.choice(param.data.size, size=min(n, param.data.size), replace=False)
        original = param.data.copy()

        def f(values, flat=flat, param=param, original=original):
            param.data = original.copy()
            param.data.reshape(-1)[flat] = values
            return float(loss())

        numeric = numerical_grad(f, original.reshape(-1)[flat])
        param.data = original
        np.testing.assert_allclose(param.grad.reshape(-1)[flat], numeric, rtol=rtol, atol=atol)


def assert_loss_grads_close(model, images, targets, params, rng=None, **tol) -> None:
    """Backpropagate the sum of a detector's losses and check ``params`` by central differences.

    ``model`` should hold float64 weights (``model.astype(np.float64)``); ``params``
    are some of its parameters; ``rng`` (default: seed 0) draws the checked
    elements (:func:`assert_param_grads_close`, which takes the tolerances).
    """
    model.zero_grad()
    sum(model.loss(images, targets).values()).backward()

    def total():
        return sum(v.data for v in model.loss(images, targets).values())

    rng = np.random.default_rng(0) if rng is None else rng
    assert_param_grads_close(total, params, rng, **tol)
