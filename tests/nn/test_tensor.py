"""The autograd engine: every Tensor op checked against finite differences, and the engine rules.

Each op's backward is compared with central differences by ``gradcheck`` on shapes drawn by
hypothesis, broadcasting included. Inputs are drawn away from kinks (ReLU at 0, ties of max),
which are tested separately with their documented sub-gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bboxcore.nn import Tensor, concatenate, gradcheck, maximum, no_grad, stack, unbroadcast

seeds = st.integers(0, 2**32 - 1)
small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pair_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def away_from_zero(rng, shape, low=0.2, high=2.0):
    """Values with |x| in [low, high] and random sign: no kink of relu/log/div nearby."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


# --------------------------------------------------------------------------- element-wise binary
@given(pair_shapes, seeds)
def test_add_sub_mul_grad_matches_finite_difference_with_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shapes.input_shapes)
    assert gradcheck(lambda x, y: x + y, [a, b])
    assert gradcheck(lambda x, y: x - y, [a, b])
    assert gradcheck(lambda x, y: x * y, [a, b])


@given(pair_shapes, seeds)
def test_div_grad_matches_finite_difference_with_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = shapes.input_shapes
    assert gradcheck(lambda x, y: x / y, [rng.normal(size=a), away_from_zero(rng, b)])


@given(pair_shapes, seeds)
def test_maximum_grad_matches_finite_difference_away_from_ties(shapes, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    b = rng.normal(size=b_shape)
    # a = b + a gap of at least 0.1 either way (broadcast to a's shape): never near a tie
    gap = away_from_zero(rng, shapes.result_shape, low=0.1, high=1.0)
    a = np.broadcast_to(b, shapes.result_shape) + gap
    a = a.reshape(shapes.result_shape)
    assert gradcheck(maximum, [a, b])
    assert gradcheck(lambda x, y: maximum(y, x), [a, b])


def test_maximum_tie_splits_gradient_half_and_half():
    # NOTE: documented sub-gradient at a tie: 1/2 to each side, so maximum(x, x) = x has grad 1
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([1.0, 0.0, 5.0], requires_grad=True)
    maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])
    x = Tensor([4.0], requires_grad=True)
    maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0])


@given(small_shapes, seeds, st.sampled_from([2.0, 3.0, 0.5, -1.0]))
def test_neg_and_pow_grad_match_finite_difference(shape, seed, p):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.3, 2.0, shape)  # positive: x ** 0.5 and x ** -1 are smooth there
    assert gradcheck(lambda t: -(t**p), [x])


@given(small_shapes, seeds)
def test_reflected_ops_with_numbers_and_arrays(shape, seed):
    rng = np.random.default_rng(seed)
    x, c = away_from_zero(rng, shape), rng.normal(size=shape)
    assert gradcheck(lambda t: 2.0 - t + 3.0 * t / (1.5 + t * t) + c * t + (1.0 / t), [x])
    assert gradcheck(lambda t: c - t + c / (t * t + 1.0), [x])


# --------------------------------------------------------------------------- element-wise unary
@given(small_shapes, seeds)
def test_exp_log_sigmoid_tanh_grads_match_finite_difference(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    assert gradcheck(lambda t: t.exp(), [x])
    assert gradcheck(lambda t: t.sigmoid(), [3 * x])
    assert gradcheck(lambda t: t.tanh(), [x])
    assert gradcheck(lambda t: t.log(), [np.abs(x) + 0.1])


@given(small_shapes, seeds)
def test_relu_grad_matches_finite_difference_away_from_zero(shape, seed):
    rng = np.random.default_rng(seed)
    assert gradcheck(lambda t: t.relu(), [away_from_zero(rng, shape)])


def test_relu_subgradient_at_zero_is_zero():
    # NOTE: documented kink: ReLU'(0) = 0
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_sigmoid_is_finite_for_huge_inputs():
    x = Tensor(np.array([-1e4, 0.0, 1e4], np.float32), requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_allclose(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    assert np.isfinite(x.grad).all()


# --------------------------------------------------------------------------- matmul
@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    kind = draw(st.sampled_from(["2d", "batched", "vec-left", "vec-right", "vec-vec"]))
    if kind == "2d":
        return (m, k), (k, n)
    if kind == "batched":
        return (*batch.input_shapes[0], m, k), (*batch.input_shapes[1], k, n)
    if kind == "vec-left":
        return (k,), (*batch.input_shapes[1], k, n)
    if kind == "vec-right":
        return (*batch.input_shapes[0], m, k), (k,)
    return (k,), (k,)


@given(matmul_shapes(), seeds)
def test_matmul_grad_matches_finite_difference_with_batch_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shapes)
    assert gradcheck(lambda x, y: x @ y, [a, b])
    out = Tensor(a) @ Tensor(b)
    np.testing.assert_allclose(out.data, a @ b)


def test_matmul_with_plain_array_on_either_side():
    w = Tensor(np.eye(2), requires_grad=True)
    x = np.array([[1.0, 2.0]])
    (x @ w).sum().backward()  # ndarray @ Tensor goes through Tensor.__rmatmul__
    np.testing.assert_array_equal(w.grad, [[1.0, 1.0], [2.0, 2.0]])


def test_matmul_of_scalars_raises():
    with pytest.raises(ValueError, match="at least 1-D"):
        Tensor(1.0) @ Tensor([1.0])


# --------------------------------------------------------------------------- reductions
@st.composite
def shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-len(shape), len(shape) - 1),
            hnp.valid_tuple_axes(len(shape), min_size=1),
        )
    )
    return shape, axis, draw(st.booleans())


@given(shape_and_axis(), seeds)
def test_sum_mean_grads_match_finite_difference(shape_axis, seed):
    shape, axis, keepdims = shape_axis
    x = np.random.default_rng(seed).normal(size=shape)
    assert gradcheck(lambda t: t.sum(axis=axis, keepdims=keepdims), [x])
    assert gradcheck(lambda t: t.mean(axis=axis, keepdims=keepdims), [x])
    np.testing.assert_allclose(Tensor(x).mean(axis, keepdims).data, x.mean(axis, keepdims=keepdims))


@given(shape_and_axis(), seeds)
def test_max_grad_matches_finite_difference_without_ties(shape_axis, seed):
    shape, axis, keepdims = shape_axis
    rng = np.random.default_rng(seed)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1  # distinct: no ties
    assert gradcheck(lambda t: t.max(axis=axis, keepdims=keepdims), [x])


def test_max_tie_shares_gradient_equally():
    # NOTE: documented sub-gradient: tied maxima split the gradient equally
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


# --------------------------------------------------------------------------- shape ops
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), seeds)
def test_reshape_transpose_grads_match_finite_difference(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    axes = tuple(int(k) for k in rng.permutation(len(shape)))
    weight = rng.normal(size=shape[::-1])  # drawn once: the function must be deterministic
    assert gradcheck(lambda t: t.reshape(-1), [x])
    assert gradcheck(lambda t: t.transpose(axes).reshape(1, -1), [x])
    assert gradcheck(lambda t: t.T * weight, [x])
    np.testing.assert_array_equal(Tensor(x).transpose(axes).data, x.transpose(axes))


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), seeds)
def test_basic_slicing_grad_matches_finite_difference(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    index = tuple(slice(int(rng.integers(0, n)), None, int(rng.integers(1, 3))) for n in shape)
    assert gradcheck(lambda t: t[index], [x])
    assert gradcheck(lambda t: t[..., -1], [x])


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), seeds)
def test_integer_array_indexing_scatter_adds_repeated_picks(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    picks = rng.integers(0, shape[0], size=7)  # repeats are likely: each adds its gradient
    assert gradcheck(lambda t: t[picks], [x])
    mask = rng.random(shape) < 0.5
    assert gradcheck(lambda t: t[mask] * 2.0 if mask.any() else t.sum(), [x])


def test_repeated_index_gradient_counts_each_pick():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_index_with_tensor_raises():
    with pytest.raises(TypeError, match="index a Tensor"):
        Tensor([1.0, 2.0])[Tensor([0.0])]


@given(st.integers(0, 2), st.lists(st.integers(1, 3), min_size=1, max_size=3), seeds)
def test_concatenate_and_stack_grads_match_finite_difference(axis, lengths, seed):
    rng = np.random.default_rng(seed)
    parts = []
    for n in lengths:
        shape = [2, 3, 2]
        shape[axis] = n
        parts.append(rng.normal(size=shape))
    assert gradcheck(lambda *ts: concatenate(ts, axis=axis), parts)
    same = [rng.normal(size=(2, 3)) for _ in lengths]
    assert gradcheck(lambda *ts: stack(ts, axis=axis), same)


def test_concatenate_and_stack_of_nothing_raise():
    with pytest.raises(ValueError, match="at least one tensor"):
        concatenate([])
    with pytest.raises(ValueError, match="at least one tensor"):
        stack([])


# --------------------------------------------------------------------------- the engine
@given(pair_shapes, seeds)
def test_unbroadcast_sums_to_operand_shape(shapes, seed):
    grad = np.random.default_rng(seed).normal(size=shapes.result_shape)
    for shape in shapes.input_shapes:
        out = unbroadcast(grad, shape)
        assert out.shape == shape
        np.testing.assert_allclose(out.sum(), grad.sum(), atol=1e-9)


def test_diamond_graph_accumulates_both_paths():
    # y = a * a + a: two paths from a (the multivariate chain rule adds them): dy/da = 2a + 1
    a = Tensor([3.0], requires_grad=True)
    b = a * a
    (b + a).backward(np.ones(1))
    np.testing.assert_array_equal(a.grad, [7.0])


def test_second_backward_adds_to_leaf_grads_not_to_interior_ones():
    a = Tensor([2.0], requires_grad=True)
    loss = (a * a * a).sum()
    loss.backward()
    loss.backward()  # leaves accumulate (2 * 3a^2); interior grads restart from zero
    np.testing.assert_allclose(a.grad, [24.0])


def test_leaf_grads_are_not_shared_between_parameters():
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 0.5  # in-place gradient clipping of one must not touch the other
    np.testing.assert_array_equal(b.grad, [1.0])


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0])


def test_no_grad_builds_no_graph_and_restores_the_mode():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y._parents == ()
    assert (x * 2).requires_grad


def test_detach_cuts_the_graph():
    x = Tensor([2.0], requires_grad=True)
    (x * x.detach()).sum().backward()  # d/dx (x * c) = c
    np.testing.assert_array_equal(x.grad, [2.0])


def test_tensor_copies_its_input_and_defaults_to_float32():
    data = np.ones(2)
    t = Tensor(data, requires_grad=True)
    t.data += 1
    np.testing.assert_array_equal(data, [1.0, 1.0])
    assert t.dtype == np.float64
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(3.0).dtype == np.float32
    assert Tensor(np.arange(3)).dtype == np.float32
    assert (Tensor(np.ones(2, np.float32)) * 2.5).dtype == np.float32  # numbers take the dtype


def test_backward_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad must be given"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad must have shape \(2,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(TypeError, match="constant exponent"):
        x ** Tensor(2.0)
    with pytest.raises(TypeError, match="real numbers"):
        Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        Tensor([[1.0], [2.0, 3.0]])


def test_numpy_ufuncs_refuse_tensors_instead_of_dropping_the_graph():
    with pytest.raises(TypeError):
        np.exp(Tensor([1.0]))


def test_astype_casts_gradient_back():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    y = x.astype(np.float64) * 3.0
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_repr_item_len():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert "requires_grad=True" in repr(t) and len(t) == 1
    assert t.sum().item() == 3.0
    assert t.numpy() is t.data
