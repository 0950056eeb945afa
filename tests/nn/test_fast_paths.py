"""The fast paths of issue #14 against the implementations they replaced (reference_conv.py).

im2col / col2im (no padded copy), the 2x2 / stride-2 pools and batch norm (mu and x - mu
computed once, temporaries reused) must agree bit for bit, so that a training run gives the
same weights and the same AP; conv2d too on the detectors' 3x3 convolutions, and to 1e-12
relative in float64 / 1e-6 in float32 on any geometry (for some 1x1 strided geometries the
old im2col returned a strided view, which BLAS sums in another order).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bboxcore import nn
from tests.nn import reference_conv as ref
from tests.strategies import conv2d_geometries, pool_geometries

seeds = st.integers(0, 2**32 - 1)


def _grads(out: nn.Tensor, dout: np.ndarray) -> list:
    """The op's own backward closure, as the engine calls it."""
    return list(out._backward(dout))


@settings(max_examples=60, deadline=None)
@given(
    geometry=conv2d_geometries(max_channels=4, max_side=9),
    seed=seeds,
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_conv2d_fast_path_matches_reference(geometry, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(geometry["x_shape"]).astype(dtype)
    w = rng.standard_normal(geometry["weight_shape"]).astype(dtype)
    b = rng.standard_normal(geometry["weight_shape"][0]).astype(dtype)
    kwargs = {k: geometry[k] for k in ("stride", "padding", "dilation")}
    results = []
    for conv in (nn.conv2d, ref.conv2d):
        xt, wt, bt = (nn.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = conv(xt, wt, bt, **kwargs)
        dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dtype)
        results.append([out.data, *_grads(out, dout)])
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for new, old in zip(*results):
        assert new.dtype == old.dtype and new.shape == old.shape
        np.testing.assert_allclose(new, old, rtol=rtol, atol=rtol * np.abs(old).max())


@settings(max_examples=40, deadline=None)
@given(geometry=conv2d_geometries(max_channels=3, max_side=9), seed=seeds)
def test_im2col_col2im_match_reference_bit_for_bit(geometry, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(geometry["x_shape"]).astype(np.float32)
    args = (
        geometry["weight_shape"][2:],
        geometry["stride"],
        geometry["padding"],
        geometry["dilation"],
    )
    cols = nn.im2col(x, *args)
    np.testing.assert_array_equal(cols, ref.im2col(x, *args))
    dcols = rng.standard_normal(cols.shape).astype(np.float32)
    np.testing.assert_array_equal(
        nn.col2im(dcols, x.shape, *args), ref.col2im(dcols, x.shape, *args)
    )


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 9), st.integers(2, 9)),
    seed=seeds,
    ties=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64, np.float16]),
)
def test_pool_2x2_fast_paths_match_reference_bit_for_bit(shape, seed, ties, dtype):
    """2x2 / stride 2, odd sides included; with ``ties`` the values are small integers, so
    windows hold several maxima (as after a ReLU): the first in row-major order wins.
    float16 / float32 copy ``dout`` in pairs through a wider integer, float64 does not."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, shape) if ties else rng.standard_normal(shape)
    x = x.astype(dtype)
    for new_pool, old_pool in ((nn.max_pool2d, ref.max_pool2d), (nn.avg_pool2d, ref.avg_pool2d)):
        new, old = new_pool(nn.Tensor(x, True), 2), old_pool(nn.Tensor(x, True), 2)
        np.testing.assert_array_equal(new.data, old.data)
        dout = rng.standard_normal(new.shape).astype(dtype)
        np.testing.assert_array_equal(_grads(new, dout)[0], _grads(old, dout)[0])


@settings(max_examples=30, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 7), st.integers(2, 7)),
       seed=seeds)  # fmt: skip
def test_max_pool_2x2_gradient_matches_finite_difference(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)  # float64: no ties, no kink hit
    assert nn.gradcheck(lambda t: nn.max_pool2d(t, 2), [x])
    assert nn.gradcheck(lambda t: nn.avg_pool2d(t, 2), [x])


def test_max_pool_2x2_gradient_ignores_later_writes_to_its_output():
    """The winners are marked in the forward pass: an in-place op on the output (or a
    caller reusing it) cannot move the gradient."""
    x = nn.Tensor(np.array([[[[1.0, 2.0], [4.0, 3.0]]]], np.float32), True)
    out = nn.max_pool2d(x, 2)
    out.data[...] = 2.0  # now equal to the top-right pixel, not to the maximum 4
    (dx,) = _grads(out, np.array([[[[5.0]]]], np.float32))
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 0.0], [5.0, 0.0]])


def test_max_pool_2x2_tie_goes_to_first_in_row_major_order():
    # windows [[1, 2], [2, 0]] and [[0, 0], [0, 0]]: b, then a, take the whole gradient
    x = nn.Tensor(np.array([[[[1.0, 2.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]]]]), True)
    out = nn.max_pool2d(x, 2)
    (dx,) = _grads(out, np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 5.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0]])


@settings(max_examples=40, deadline=None)
@given(geometry=pool_geometries(), seed=seeds)
def test_general_pools_unchanged(geometry, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, geometry["x_shape"]).astype(np.float32)
    args = (geometry["kernel_size"], geometry["stride"], geometry["padding"])
    for new_pool, old_pool in ((nn.max_pool2d, ref.max_pool2d), (nn.avg_pool2d, ref.avg_pool2d)):
        try:
            old = old_pool(nn.Tensor(x, True), *args)
        except ValueError:
            continue
        new = new_pool(nn.Tensor(x, True), *args)
        np.testing.assert_array_equal(new.data, old.data)
        dout = rng.standard_normal(new.shape).astype(np.float32)
        np.testing.assert_array_equal(_grads(new, dout)[0], _grads(old, dout)[0])


def _bn_run(batch_norm, x, dout, training, affine, stats):
    c = x.shape[1]
    xt = nn.Tensor(x, requires_grad=True)
    gamma = nn.Tensor(np.linspace(0.5, 2.0, c).astype(x.dtype), True) if affine else None
    beta = nn.Tensor(np.linspace(-1.0, 1.0, c).astype(x.dtype), True) if affine else None
    rm = np.linspace(0.0, 1.0, c).astype(x.dtype) if stats else None
    rv = np.linspace(1.0, 2.0, c).astype(x.dtype) if stats else None
    out = batch_norm(xt, rm, rv, gamma, beta, training=training)
    return [out.data, *_grads(out, dout)] + ([rm, rv] if stats else [])


batch_norm_shapes = st.one_of(
    st.tuples(st.integers(2, 6), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
)


@settings(max_examples=80, deadline=None)
@given(shape=batch_norm_shapes, seed=seeds, training=st.booleans(), affine=st.booleans(),
       stats=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))  # fmt: skip
def test_batch_norm_matches_reference_bit_for_bit(shape, seed, training, affine, stats, dtype):
    rng = np.random.default_rng(seed)
    if np.prod(shape) // shape[1] < 2:
        shape = (2, *shape[1:])
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    new = _bn_run(nn.batch_norm, x, dout, training, affine, stats)
    old = _bn_run(ref.batch_norm, x, dout, training, affine, stats)
    for a, b in zip(new, old):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_conv2d_3x3_bit_for_bit_on_a_backbone_shape():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16, 20, 24), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32)
    dout = rng.standard_normal((2, 32, 20, 24), dtype=np.float32)
    for stride in (1, 2):
        new = nn.conv2d(nn.Tensor(x, True), nn.Tensor(w, True), padding=1, stride=stride)
        old = ref.conv2d(nn.Tensor(x, True), nn.Tensor(w, True), padding=1, stride=stride)
        np.testing.assert_array_equal(new.data, old.data)
        d = dout[:, :, : new.shape[2], : new.shape[3]].copy()
        for a, b in zip(_grads(new, d), _grads(old, d)):
            np.testing.assert_array_equal(a, b)


def test_batch_norm_output_never_aliases_saved_state():
    """An in-place ReLU may overwrite batch norm's output: x-hat must live elsewhere."""
    x = nn.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)), requires_grad=True)
    out = nn.batch_norm(x, None, None, training=True)
    before = [g.copy() for g in _grads(out, np.ones(out.shape))]
    out.data[...] = 0  # what an in-place activation would do
    for a, b in zip(_grads(out, np.ones(out.shape)), before):
        np.testing.assert_array_equal(a, b)


def test_conv2d_columns_come_back_to_the_cache_when_the_graph_is_freed():
    from bboxcore.nn import workspace

    workspace.clear()
    rng = np.random.default_rng(0)
    x = nn.Tensor(rng.standard_normal((1, 2, 6, 6), dtype=np.float32), requires_grad=True)
    w = nn.Tensor(rng.standard_normal((3, 2, 3, 3), dtype=np.float32), requires_grad=True)
    cols_bytes = 18 * 36 * 4  # the (1, 2 * 3 * 3, 6 * 6) float32 columns
    out = nn.conv2d(x, w, padding=1)
    assert workspace.cached_bytes() == 0  # the columns are out, held by the graph
    out.backward(np.ones(out.shape, np.float32))
    assert workspace.cached_bytes() == cols_bytes  # dcols lives in the scratch buffer
    first = x.grad.copy()
    out.backward(np.ones(out.shape, np.float32))  # the columns are still there: same result
    np.testing.assert_array_equal(x.grad, 2 * first)
    del out  # the graph is freed: its columns go back to the cache
    assert workspace.cached_bytes() == 2 * cols_bytes
    with nn.no_grad():  # no graph: the cached columns are taken and given back at once
        nn.conv2d(x, w, padding=1)
    assert workspace.cached_bytes() == 2 * cols_bytes
    workspace.clear()
    assert workspace.cached_bytes() == 0


@settings(max_examples=60, deadline=None)
@given(shape=st.tuples(st.integers(1, 3), st.integers(2, 7), st.integers(1, 9), st.integers(1, 9)),
       seed=seeds, affine=st.booleans(), stats=st.booleans(), block_bytes=st.integers(1, 2000),
       dtype=st.sampled_from([np.float32, np.float64]))  # fmt: skip
def test_batch_norm_blocks_of_channels_match_reference_bit_for_bit(
    shape, seed, affine, stats, block_bytes, dtype
):
    """Training batch norm one block of channels at a time (blocks from 1 channel to all):
    the same bits as the plain version, statistics, outputs and gradients."""
    from bboxcore.nn import normalization

    rng = np.random.default_rng(seed)
    if np.prod(shape) // shape[1] < 2:
        shape = (2, *shape[1:])
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    saved = normalization.BLOCK_BYTES
    normalization.BLOCK_BYTES = block_bytes
    try:
        new = _bn_run(nn.batch_norm, x, dout, True, affine, stats)
    finally:
        normalization.BLOCK_BYTES = saved
    old = _bn_run(ref.batch_norm, x, dout, True, affine, stats)
    for a, b in zip(new, old):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_batch_norm_bit_for_bit_on_backbone_shapes():
    rng = np.random.default_rng(0)
    for shape in ((2, 16, 80, 80), (2, 128, 10, 10), (1, 3, 33, 17)):
        x = (3 * rng.standard_normal(shape) + 1).astype(np.float32)
        dout = rng.standard_normal(shape).astype(np.float32)
        new = _bn_run(nn.batch_norm, x, dout, True, True, True)
        old = _bn_run(ref.batch_norm, x, dout, True, True, True)
        for a, b in zip(new, old):
            np.testing.assert_array_equal(a, b)


def test_batch_norm_gradient_matches_finite_difference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    gamma = nn.Tensor(rng.uniform(0.5, 2.0, 3), requires_grad=True)
    beta = nn.Tensor(rng.standard_normal(3), requires_grad=True)
    assert nn.gradcheck(lambda t: nn.batch_norm(t, None, None, gamma, beta, training=True), [x])
    assert nn.gradcheck(lambda g, b: nn.batch_norm(x, None, None, g, b, training=True),
                        [gamma, beta])  # fmt: skip


def test_batch_norm_blocked_backward_takes_any_dout():
    """A dout of another dtype or not C-contiguous (from the engine) gives the plain
    version's gradients, bit for bit."""
    rng = np.random.default_rng(1)
    x = (3 * rng.standard_normal((2, 5, 6, 7)) + 1).astype(np.float32)
    wide = rng.standard_normal((2, 5, 6, 14)).astype(np.float32)
    for dout in (wide[..., ::2], wide[..., ::2].astype(np.float64)):
        new = _bn_run(nn.batch_norm, x, dout, True, True, True)
        old = _bn_run(ref.batch_norm, x, dout, True, True, True)
        for a, b in zip(new, old):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


@st.composite
def same_size_geometries(draw):
    """Stride 1 with the output as large as the input: the flattened-plane path."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)  # "same" needs an even reach
    kh, kw = kh - reach_h % 2, kw - reach_w % 2  # an odd reach comes from dilation 1
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)),
             draw(st.integers(1, 7)), draw(st.integers(1, 7)))  # fmt: skip
    return shape, (kh, kw), (reach_h // 2, reach_w // 2), (dh, dw)


@settings(max_examples=80, deadline=None)
@given(geometry=same_size_geometries(), seed=seeds)
def test_same_size_im2col_col2im_match_reference_bit_for_bit(geometry, seed):
    """im2col, and col2im on a buffer it may overwrite, along flattened planes (stride 1,
    "same" padding, with dilation, kernels wider than the image): the same bits."""
    from bboxcore.nn import conv

    shape, kernel, padding, dilation = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    cols = nn.im2col(x, kernel, 1, padding, dilation)
    np.testing.assert_array_equal(cols, ref.im2col(x, kernel, 1, padding, dilation))
    dcols = rng.standard_normal(cols.shape).astype(np.float32)
    expected = ref.col2im(dcols, shape, kernel, 1, padding, dilation)
    got = conv._col2im(dcols.copy(), shape, kernel, (1, 1), padding, dilation, overwrite=True)
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[got == 0]).any()  # no -0 where the reference has +0


def test_same_size_conv2d_gradient_matches_finite_difference():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3))
    for d in (1, 2):  # "same" padding = dilation for a 3x3 kernel
        assert nn.gradcheck(lambda a, b, d=d: nn.conv2d(a, b, padding=d, dilation=d), [x, w])
    wt = w.transpose(1, 0, 2, 3)  # (C, F, kh, kw) for the transposed convolution
    assert nn.gradcheck(lambda a, b: nn.conv_transpose2d(a, b, padding=1), [x, wt])
