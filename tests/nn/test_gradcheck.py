"""gradcheck itself: it passes correct gradients and catches wrong ones, loudly."""

from __future__ import annotations

import numpy as np
import pytest

from bboxcore.nn import GradcheckError, Linear, Tensor, gradcheck


def wrong_square(a):
    """Forward a^2 with the wrong backward 3a (should be 2a)."""
    return Tensor.from_op(a.data**2, (a,), lambda d: (3 * a.data * d,), "wrong_square")


def test_gradcheck_reports_the_worst_mismatch():
    with pytest.raises(GradcheckError, match=r"inputs\[0\] \(shape \(2,\)\) at \(1,\): analytic"):
        gradcheck(wrong_square, [np.array([0.1, 2.0])])
    assert gradcheck(wrong_square, [np.zeros(3)])  # at 0 both are 0: no false alarm


def test_gradcheck_accepts_module_parameters_in_place():
    net = Linear(3, 2, rng=np.random.default_rng(0)).astype(np.float64)
    weight = net.weight.data.copy()
    assert gradcheck(lambda x, *params: net(x).tanh(), [np.ones((4, 3)), *net.parameters()])
    np.testing.assert_array_equal(net.weight.data, weight)  # perturbations undone


def test_gradcheck_rejects_bad_inputs():
    with pytest.raises(TypeError, match=r"inputs\[0\] must be float64"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2, np.float32))])
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a numeric array"):
        gradcheck(lambda t: t * 2, [np.array(["a"])])
    with pytest.raises(ValueError, match="must return a Tensor that depends on its inputs"):
        gradcheck(lambda t: Tensor([1.0]), [np.ones(2)])
