r"""Normalisation and dropout: batch norm and dropout (different in training and evaluation),
group norm (the same in both).

Batch normalisation [1]_ standardises each channel with the statistics of the
current mini-batch while training, and with running averages of them when
evaluating. Dropout [2]_ zeroes a random fraction p of the activations while
training and scales the rest by 1 / (1 - p), so that evaluation (no dropout)
sees the same expected value.

References
----------
.. [1] S. Ioffe, C. Szegedy. "Batch Normalization: Accelerating Deep Network
   Training by Reducing Internal Covariate Shift." ICML 2015, arXiv:1502.03167.
.. [2] N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov.
   "Dropout: A Simple Way to Prevent Neural Networks from Overfitting." JMLR 2014.
.. [3] Y. Wu, K. He. "Group Normalization." ECCV 2018, arXiv:1803.08494.
"""

from __future__ import annotations

import numpy as np

from bboxcore.nn import workspace
from bboxcore.nn.tensor import Tensor

__all__ = ["BN_EPS", "BN_MOMENTUM", "batch_norm", "dropout", "group_norm"]

BN_EPS = 1e-5  # added to the variance so a constant channel does not divide by zero
BN_MOMENTUM = 0.1  # weight of the new batch in the running averages (PyTorch's default)


def _channel_vector(v, name: str, c: int):
    if v is None:
        return None
    if v.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) to match x; got {v.shape}")
    return v


def batch_norm(
    x,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    *,
    training: bool,
    momentum: float = BN_MOMENTUM,
    eps: float = BN_EPS,
) -> Tensor:
    r"""Normalise each channel, then scale by ``weight`` (gamma) and shift by ``bias`` (beta).

    Parameters
    ----------
    x : Tensor, shape (N, C) or (N, C, H, W)
    running_mean, running_var : ndarray, shape (C,), or None
        Running statistics. Updated **in place** when ``training``; used instead of
        the batch statistics when not. None in both means "always use the batch".
    weight, bias : Tensor, shape (C,), optional
        The affine parameters gamma and beta (1 and 0 when None).
    training : bool
        Batch statistics (True) or running statistics (False).
    momentum : float
        :math:`\hat\mu \leftarrow (1 - m)\hat\mu + m\,\mu_B` (likewise for the variance).
    eps : float
        Added to the variance.

    Returns
    -------
    Tensor, same shape as ``x``

    Raises
    ------
    ValueError
        If ``x`` is not 2-D or 4-D, a per-channel vector has the wrong shape, only
        one of the running statistics is given, or training sees one value per
        channel.

    Notes
    -----
    Training, with :math:`m` values per channel (N, or N H W) [1]_ (Alg. 1):

    .. math::
        \mu = \frac{1}{m}\sum x,\quad \sigma^2 = \frac{1}{m}\sum (x - \mu)^2,\quad
        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}},\quad y = \gamma \hat x + \beta

    and, because :math:`\mu` and :math:`\sigma^2` depend on every x of the channel,

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
        \Big(g - \overline{g} - \hat x\, \overline{g \hat x}\Big),\qquad
        g = \gamma\,\frac{\partial L}{\partial y}

    (bars are channel means). The running variance stores the unbiased
    :math:`\frac{m}{m-1}\sigma^2`, as PyTorch does. In evaluation :math:`\mu, \sigma^2`
    are constants and :math:`\partial L / \partial x = g / \sqrt{\sigma^2 + \epsilon}`.

    With batch statistics, a C-contiguous float32/float64 (N, C, H, W) input runs one
    block of channels at a time through every pass (the same operations and sums, so
    the same bits): each block is read from memory once and the other passes hit the
    cache. That leaves 6 pairwise sums and 12 elementwise passes, each about as long as
    a copy of x: the floor of a NumPy batch norm that keeps these bits.

    Examples
    --------
    >>> x = Tensor([[1.0], [3.0]])
    >>> rm, rv = np.zeros(1, np.float32), np.ones(1, np.float32)
    >>> batch_norm(x, rm, rv, training=True).data.round(3).ravel()  # mean 2, var 1
    array([-1.,  1.], dtype=float32)
    >>> rm, rv  # 0.9 * 0 + 0.1 * 2, 0.9 * 1 + 0.1 * 2 (unbiased var of 1 and 3)
    (array([0.2], dtype=float32), array([1.1], dtype=float32))
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must have shape (N, C) or (N, C, H, W); got {x.shape}")
    c = x.shape[1]
    per_channel = (1, c) + (1,) * (x.ndim - 2)  # (1, C) or (1, C, 1, 1), broadcasts against x
    if (running_mean is None) != (running_var is None):
        raise ValueError("give both running_mean and running_var, or neither")
    running_mean = _channel_vector(running_mean, "running_mean", c)
    running_var = _channel_vector(running_var, "running_var", c)
    weight, bias = _channel_vector(weight, "weight", c), _channel_vector(bias, "bias", c)
    use_batch = training or running_mean is None
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    xd = x.data
    if use_batch and _blockable(xd, weight, bias):
        return _batch_norm_blocked(x, running_mean, running_var, weight, bias, momentum, eps,
                                   training)  # fmt: skip
    # The operations, their order and their reductions are those of the textbook version
    # (x.mean, x.var, (x - mu) / std, gamma xhat + beta), so the result is the same to the
    # last bit; it only avoids recomputing mu and x - mu and allocating temporaries.
    if use_batch:
        count = int(np.prod([x.shape[k] for k in axes]))  # m values per channel
        if training and count < 2:
            raise ValueError(
                f"batch_norm needs more than 1 value per channel to train; got {x.shape}"
            )
        mean = xd.mean(axis=axes)  # (C,)
        xhat = xd - mean.reshape(per_channel)  # x - mu, made x-hat in place below
        out = np.multiply(xhat, xhat)  # (x - mu)^2, in what becomes the output
        var = out.sum(axis=axes) / count  # np.var: the mean of the squared deviations
        if training and running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * count / (count - 1)
    else:
        mean, var = running_mean, running_var
        xhat = xd - mean.astype(xd.dtype).reshape(per_channel)
        out = np.empty_like(xhat)
    inv_std = (1 / np.sqrt(var + eps)).astype(xd.dtype).reshape(per_channel)
    xhat *= inv_std  # (x - mu) / sqrt(var + eps)
    gamma = 1 if weight is None else weight.data.reshape(per_channel)
    if weight is not None:
        out = np.multiply(
            xhat, gamma, out=out if out.dtype == np.result_type(xhat, gamma) else None
        )
    else:
        np.copyto(out, xhat)  # the output never shares memory with the saved x-hat
    if bias is not None:
        out += bias.data.reshape(per_channel)

    def backward(dout):
        buffer = workspace.scratch(xhat.shape, np.result_type(dout, xhat))
        prod = np.multiply(dout, xhat, out=buffer)  # a temporary, reused below
        dgamma = prod.sum(axis=axes) if weight is not None else None
        dbeta = dout.sum(axis=axes) if bias is not None else None
        g = dout * gamma  # dL/dxhat; becomes dL/dx in place
        if use_batch:
            # x -> (mu, var) -> xhat: the two extra paths give the mean terms
            #   dL/dx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)
            if prod.dtype != g.dtype:  # gamma of another dtype: no buffer reuse
                prod = np.empty_like(g)
            g_mean = g.mean(axis=axes, keepdims=True)
            gx_mean = np.multiply(g, xhat, out=prod).mean(axis=axes, keepdims=True)
            g -= g_mean
            g -= np.multiply(xhat, gx_mean, out=prod)
        g *= inv_std  # mu, var constant (evaluation): dL/dx = g / sqrt(var + eps)
        grads = (
            (g,)
            + ((dgamma,) if weight is not None else ())
            + ((dbeta,) if bias is not None else ())
        )
        return grads

    parents = (
        (x,) + ((weight,) if weight is not None else ()) + ((bias,) if bias is not None else ())
    )
    return Tensor.from_op(out, parents, backward, "batch_norm")


#: Bytes of x that :func:`_batch_norm_blocked` handles per block of channels: each block
#: and its temporaries then stay in the last-level cache between the passes over it
#: (measured on 2x16x320x320, CPU time: 1 MiB 17.3 ms, 4 MiB 15.0, the whole tensor 20).
BLOCK_BYTES = 4 * 2**20


def _blockable(xd: np.ndarray, *params) -> bool:
    """Whether :func:`_batch_norm_blocked` gives the same bits as the plain version: a
    C-contiguous (N, C, H, W) float32/float64 ``x`` of C >= 2 channels (with C = 1 NumPy
    sums N and H W as one axis), gamma and beta (if any) of its dtype."""
    return (
        xd.ndim == 4
        and xd.shape[1] >= 2
        and xd.dtype in (np.float32, np.float64)
        and xd.flags.c_contiguous
        and all(p is None or p.data.dtype == xd.dtype for p in params)
    )


def _channel_sums(a3: np.ndarray) -> np.ndarray:
    """Sums over axes 0 and 2 of ``a3`` (N, C', HW) in the order NumPy sums axes (0, 2, 3)
    of a C-contiguous (N, C, H, W) array with C >= 2: each (H W) plane pairwise (its own
    reduction), then the planes of a channel one after the other in the order of n.
    (Reducing a slice of channels over (0, 2) in one call may take another order.)"""
    return np.add.reduce(np.add.reduce(a3, axis=2), axis=0)  # (N, C') -> (C',)


def _batch_norm_blocked(x, running_mean, running_var, weight, bias, momentum, eps, training):
    r""":func:`batch_norm` with batch statistics, one block of channels at a time.

    The same operations on the same values as the plain version, so the same bits:
    elementwise ufuncs do not care which slice they run on, and each reduction is the
    same sums in the same order (:func:`_channel_sums`).
    What changes is the order of the passes: all of them run on one block of channels
    (:data:`BLOCK_BYTES` of x) before the next block, so that x, x-hat, dout and the
    temporaries are read from memory once per block and the other passes hit the cache;
    x-hat is kept in an array of the workspace cache (no page faults), and the
    temporaries live in one block-sized scratch array.
    """
    xd = x.data
    n, c, h, w = xd.shape
    dtype = xd.dtype
    count = n * h * w  # m values per channel
    if training and count < 2:
        raise ValueError(f"batch_norm needs more than 1 value per channel to train; got {x.shape}")
    x3 = xd.reshape(n, c, h * w)  # (N, C, HW), a view
    step = max(1, BLOCK_BYTES // (n * h * w * dtype.itemsize))  # channels per block
    blocks = [slice(c0, min(c, c0 + step)) for c0 in range(0, c, step)]
    per_channel = (1, c, 1)
    gamma = None if weight is None else weight.data.reshape(per_channel)
    beta = None if bias is None else bias.data.reshape(per_channel)
    xhat = workspace.take((n, c, h * w), dtype)  # kept for backward
    out = np.empty((n, c, h * w), dtype)
    mean, var = np.empty(c, dtype), np.empty(c, dtype)
    inv_std = np.empty(per_channel, dtype)
    for b in blocks:
        xb, tb, ob = x3[:, b], xhat[:, b], out[:, b]
        # mu = sum(x) / m, as np.mean: the sum in the dtype, divided by an intp count
        mu = _channel_sums(xb)
        np.true_divide(mu, np.intp(count), out=mu, casting="unsafe")
        np.subtract(xb, mu.reshape(1, -1, 1), out=tb)  # x - mu
        sq = np.multiply(tb, tb, out=ob)  # (x - mu)^2, in what becomes the output
        vb = _channel_sums(sq) / count  # the mean of the squared deviations
        ib = (1 / np.sqrt(vb + eps)).astype(dtype).reshape(1, -1, 1)
        tb *= ib  # x-hat = (x - mu) / sqrt(var + eps)
        if gamma is not None:
            np.multiply(tb, gamma[:, b], out=ob)  # y = gamma x-hat (+ beta)
        else:
            np.copyto(ob, tb)
        if beta is not None:
            ob += beta[:, b]
        mean[b], var[b], inv_std[:, b] = mu, vb, ib
    if training and running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * count / (count - 1)

    def backward(dout):
        if dout.dtype != dtype or not dout.flags.c_contiguous:  # not the blocked case
            return _plain_backward(dout)
        d3 = dout.reshape(n, c, h * w)
        dx = np.empty((n, c, h * w), dtype)
        dgamma = np.empty(c, dtype) if weight is not None else None
        dbeta = np.empty(c, dtype) if bias is not None else None
        scratch = workspace.scratch((n, min(step, c), h * w), dtype)
        for b in blocks:
            db, tb, gb = d3[:, b], xhat[:, b], dx[:, b]
            prod = np.multiply(db, tb, out=scratch[:, : b.stop - b.start])  # dout x-hat
            if weight is not None:
                dgamma[b] = _channel_sums(prod)
            if bias is not None:
                dbeta[b] = _channel_sums(db)
            # g = gamma dout = dL/dx-hat; x -> (mu, var) -> x-hat gives the mean terms:
            #   dL/dx = (g - mean(g) - x-hat mean(g x-hat)) / sqrt(var + eps)
            np.multiply(db, 1 if gamma is None else gamma[:, b], out=gb)
            g_mean = _channel_sums(gb)
            np.true_divide(g_mean, np.intp(count), out=g_mean, casting="unsafe")
            gx_mean = _channel_sums(np.multiply(gb, tb, out=prod))
            np.true_divide(gx_mean, np.intp(count), out=gx_mean, casting="unsafe")
            gb -= g_mean.reshape(1, -1, 1)
            gb -= np.multiply(tb, gx_mean.reshape(1, -1, 1), out=prod)
            gb *= inv_std[:, b]
        grads = (dx.reshape(xd.shape),)
        return grads + tuple(g for g in (dgamma, dbeta) if g is not None)

    def _plain_backward(dout):
        # dout of another dtype or layout: the plain version's passes over whole arrays
        xh = xhat.reshape(xd.shape)
        inv = inv_std.reshape(1, c, 1, 1)
        axes = (0, 2, 3)
        prod = np.multiply(dout, xh)
        dgamma = prod.sum(axis=axes) if weight is not None else None
        dbeta = dout.sum(axis=axes) if bias is not None else None
        g = dout * (1 if gamma is None else gamma.reshape(1, c, 1, 1))
        g_mean = g.mean(axis=axes, keepdims=True)
        gx_mean = np.multiply(g, xh).mean(axis=axes, keepdims=True)
        g -= g_mean
        g -= np.multiply(xh, gx_mean)
        g *= inv
        return (g,) + tuple(v for v in (dgamma, dbeta) if v is not None)

    parents = (x,) + tuple(p for p in (weight, bias) if p is not None)
    result = Tensor.from_op(out.reshape(xd.shape), parents, backward, "batch_norm")
    if result._backward is None:  # no graph: x-hat not needed
        workspace.give(xhat)
    else:
        workspace.release_with(backward, xhat)
    return result


def dropout(x, p: float = 0.5, *, rng: np.random.Generator, training: bool = True) -> Tensor:
    r"""Zero each element with probability ``p`` and scale the others by 1 / (1 - p).

    Parameters
    ----------
    x : Tensor
    p : float
        Probability of dropping, in [0, 1].
    rng : numpy.random.Generator
        Draws the mask.
    training : bool
        When False (evaluation), return ``x`` unchanged.

    Returns
    -------
    Tensor, same shape as ``x``

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1].
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    :math:`y = x \odot m / (1 - p)` with :math:`m_i \sim \mathrm{Bernoulli}(1 - p)`, so
    :math:`E[y] = x` and :math:`\partial y / \partial x = m / (1 - p)`. p = 1 gives zeros.

    Examples
    --------
    >>> y = dropout(Tensor(np.ones(8)), 0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.data.tolist()))  # dropped or doubled
    [0.0, 2.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not training or p == 0.0:
        return x
    keep = rng.random(x.shape) >= p
    mask = (keep * (1.0 / (1.0 - p) if p < 1.0 else 0.0)).astype(x.dtype)  # 0 or 1 / (1 - p)
    return Tensor.from_op(x.data * mask, (x,), lambda d: (d * mask,), "dropout")


def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = BN_EPS) -> Tensor:
    r"""Normalise each group of channels of each sample, then scale and shift per channel.

    Group norm [3]_ (Eq. 1-3) uses the statistics of one image (no batch, no running
    averages: training and evaluation are the same), which is why FCOS's and
    RetinaNet's heads, trained with 2 images per GPU, use it.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W) or (N, C)
    num_groups : int
        G, dividing C.
    weight, bias : Tensor, shape (C,), optional
        gamma and beta (1 and 0 when None).
    eps : float
        Added to the variance.

    Returns
    -------
    Tensor, same shape as ``x``

    Raises
    ------
    ValueError
        If ``x`` is not 2-D or 4-D, G does not divide C, or gamma / beta is not (C,).

    Notes
    -----
    For each sample n and group g, with its m = (C / G) H W values:
    :math:`\hat x = (x - \mu_{ng}) / \sqrt{\sigma^2_{ng} + \epsilon}`,
    :math:`y = \gamma_c \hat x + \beta_c`, and as for batch norm

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
        \Big(g - \overline{g} - \hat x\, \overline{g \hat x}\Big),\qquad
        g = \gamma\,\frac{\partial L}{\partial y}

    with the bars now means over the group. G = 1 is layer norm over (C, H, W),
    G = C is instance norm.

    Examples
    --------
    >>> x = Tensor(np.arange(8.0).reshape(1, 4, 2, 1))
    >>> y = group_norm(x, 2)  # channels {0, 1} and {2, 3}: values 0..3 and 4..7
    >>> y.data[0, :2, :, 0].round(3)  # (v - 1.5) / sqrt(1.25 + 1e-5)
    array([[-1.342, -0.447],
           [ 0.447,  1.342]])
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must have shape (N, C) or (N, C, H, W); got {x.shape}")
    n, c = x.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise ValueError(f"num_groups must be a positive int dividing C={c}; got {num_groups!r}")
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"num_groups must be a positive int dividing C={c}; got {num_groups!r}")
    weight, bias = _channel_vector(weight, "weight", c), _channel_vector(bias, "bias", c)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    g = int(num_groups)
    grouped = (n, g, -1)  # (N, G, m): a group's values are contiguous
    xg = x.data.reshape(grouped)
    mean = xg.mean(axis=2, keepdims=True)  # (N, G, 1)
    xc = xg - mean
    var = np.einsum("ngm,ngm->ng", xc, xc)[..., None] / xc.shape[2]  # (N, G, 1), two-pass
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype)
    xhat = (xc * inv_std).reshape(x.shape)
    gamma = None if weight is None else weight.data.reshape(per_channel)
    out = xhat * gamma if gamma is not None else xhat.copy()
    if bias is not None:
        out += bias.data.reshape(per_channel)

    def backward(dout):
        sum_axes = (0,) + tuple(range(2, x.ndim))  # every axis but C
        dgamma = (dout * xhat).sum(axis=sum_axes) if weight is not None else None
        dbeta = dout.sum(axis=sum_axes) if bias is not None else None
        gx = (dout * gamma if gamma is not None else dout).reshape(grouped)  # dL/dxhat
        xh = xhat.reshape(grouped)
        # x -> (mu, var) of its group -> xhat: the group means of g and g xhat
        dx = inv_std * (
            gx - gx.mean(axis=2, keepdims=True) - xh * (gx * xh).mean(axis=2, keepdims=True)
        )
        grads = (
            (dx.reshape(x.shape),)
            + ((dgamma,) if weight is not None else ())
            + ((dbeta,) if bias is not None else ())
        )
        return grads

    parents = (
        (x,) + ((weight,) if weight is not None else ()) + ((bias,) if bias is not None else ())
    )
    return Tensor.from_op(out, parents, backward, "group_norm")
