"""The implementations of conv2d, max_pool2d, avg_pool2d and batch_norm before the speed work of
issue #14 (bboxcore commit d08d08d), kept verbatim as slow references: every fast path of
:mod:`bboxcore.nn` is checked against them bit for bit or to 1e-6 relative
(tests/nn/test_fast_paths.py)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bboxcore.nn.tensor import Tensor

__all__ = ["avg_pool2d", "batch_norm", "col2im", "conv2d", "im2col", "max_pool2d"]


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """``value`` (int or pair of ints) as ``(for H, for W)``, each at least ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_nchw(x, name: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W); got {x.shape}")
    return x


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1):
    """Output length of a convolution or pooling along one axis ([2]_ Eq. 15).

    Parameters
    ----------
    size, kernel, stride, padding, dilation : int
        Input length, kernel length, stride, zero padding on each side, dilation.

    Returns
    -------
    int
        :math:`\\lfloor (size + 2 p - d (k - 1) - 1) / s \\rfloor + 1`; may be <= 0
        when the kernel does not fit.

    Examples
    --------
    >>> conv_output_size(64, 3, stride=1, padding=1)
    64
    >>> conv_output_size(7, 3, stride=2, dilation=2)
    2
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _output_hw(shape, kernel, stride, padding, dilation, what: str) -> tuple[int, int]:
    ho = conv_output_size(shape[2], kernel[0], stride[0], padding[0], dilation[0])
    wo = conv_output_size(shape[3], kernel[1], stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(
            f"{what}: kernel {kernel} (dilation {dilation}) does not fit input {shape[2:]} "
            f"with padding {padding}; output would be {(ho, wo)}"
        )
    return ho, wo


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    return xp


def _windows(xp: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """View (no copy) of every receptive field: (N, C, Ho, Wo, kh, kw)."""
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))  # (N, C, Hp - span + 1, ..., span_h, span_w)
    # stride = step over window positions, dilation = step inside a window
    return win[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]


def _tap(start: int, step: int, count: int) -> slice:
    """Rows ``start, start + step, ..., start + step (count - 1)`` as a slice."""
    return slice(start, start + step * (count - 1) + 1, step)


def _taps(kernel, stride, out_hw, dilation=(1, 1)):
    """``(tap, index)`` for each kernel tap ``tap = i kw + j``; ``xpad[index]`` is the strided
    sub-image (N, C, Ho, Wo) that tap (i, j) reads in every window."""
    for i in range(kernel[0]):
        rows = _tap(i * dilation[0], stride[0], out_hw[0])
        for j in range(kernel[1]):
            cols = _tap(j * dilation[1], stride[1], out_hw[1])
            yield i * kernel[1] + j, (slice(None), slice(None), rows, cols)


def _crop(xp: np.ndarray, padding, shape) -> np.ndarray:
    """Remove the padding added by :func:`_pad`."""
    return xp[:, :, padding[0] : padding[0] + shape[2], padding[1] : padding[1] + shape[3]]


def im2col(x: np.ndarray, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Copy every receptive field of ``x`` into a column.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)

    Returns
    -------
    cols : ndarray, shape (N, C kh kw, Ho Wo)
        ``cols[n, (c, i, j), (y, x)] = xpad[n, c, s_h y + d_h i, s_w x + d_w j]``,
        contiguous, so that a convolution is one ``np.matmul``.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, a size is out of range, or the kernel does not fit.
    TypeError
        If a size is not an int or a pair of ints.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, 2)[0]  # 4 windows of 2x2, one per column
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    kernel, stride = _pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1)
    padding, dilation = _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
    if np.ndim(x) != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got {np.shape(x)}")
    n, c = x.shape[:2]
    ho, wo = _output_hw(x.shape, kernel, stride, padding, dilation, "im2col")
    win = _windows(_pad(x, padding), kernel, stride, dilation)  # (N, C, Ho, Wo, kh, kw)
    # (N, C, kh, kw, Ho, Wo): the one copy; Wo stays innermost so it is read sequentially
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], ho * wo)


def col2im(dcols: np.ndarray, x_shape, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column back where it was copied from.

    Parameters
    ----------
    dcols : ndarray, shape (N, C kh kw, Ho Wo)
    x_shape : (N, C, H, W)
        Shape of the image that :func:`im2col` read.
    kernel_size, stride, padding, dilation : int or (int, int)
        As given to :func:`im2col`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        :math:`dx_i = \\sum` of the entries of ``dcols`` that were copies of pixel i.

    Raises
    ------
    ValueError, TypeError
        As :func:`im2col`, or if ``dcols`` does not have the shape im2col gives.

    Notes
    -----
    Instead of ``np.add.at`` over every entry, loop over the kh kw kernel taps (9 for a
    3x3 kernel): tap (i, j) read the strided sub-image starting at
    :math:`(d_h i, d_w j)`, so its gradient is added to that sub-image in one
    vectorised ``+=``. Within a tap no pixel repeats, so ``+=`` is exact.

    Examples
    --------
    >>> col2im(np.ones((1, 4, 4)), (1, 1, 3, 3), 2)[0, 0]  # how many windows hold each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    kernel, stride = _pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1)
    padding, dilation = _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
    n, c, h, w = x_shape
    ho, wo = _output_hw(x_shape, kernel, stride, padding, dilation, "col2im")
    expected = (n, c * kernel[0] * kernel[1], ho * wo)
    if dcols.shape != expected:
        raise ValueError(
            f"dcols must have shape {expected} for x_shape {x_shape}; got {dcols.shape}"
        )
    dcols = dcols.reshape(n, c, kernel[0] * kernel[1], ho, wo)
    dxp = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]), dtype=dcols.dtype)
    for tap, where in _taps(kernel, stride, (ho, wo), dilation):
        dxp[where] += dcols[:, :, tap]
    return _crop(dxp, padding, x_shape)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    r"""2-D convolution (cross-correlation, as in every deep-learning library).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
        Input feature maps.
    weight : Tensor, shape (F, C, kh, kw)
        F filters.
    bias : Tensor, shape (F,), optional
    stride, padding, dilation : int or (int, int)
        Step between windows, zeros added on each side, step between kernel taps
        (all in feature-map cells).

    Returns
    -------
    Tensor, shape (N, F, Ho, Wo)
        :math:`y_{n f h w} = b_f + \sum_{c,i,j} W_{f c i j}\, x_{n,c,sh+di-p,sw+dj-p}`
        (zeros outside the image; Ho, Wo from :func:`conv_output_size`).

    Raises
    ------
    ValueError
        If the shapes are not as above, the channels of ``x`` and ``weight`` differ,
        the kernel does not fit the padded input, or stride/dilation < 1, padding < 0.
    TypeError
        If stride, padding or dilation is not an int or a pair of ints.

    Notes
    -----
    With ``cols = im2col(x)`` (K = C kh kw rows, P = Ho Wo columns) the forward
    pass is :math:`Y = W\,\mathrm{cols} + b` and the backward pass is

    .. math::
        dW = \sum_n dY_n\, \mathrm{cols}_n^\top,\quad
        d\mathrm{cols} = W^\top dY,\quad
        dx = \mathrm{col2im}(d\mathrm{cols}),\quad
        db = \sum_{n, p} dY

    Three matrix products of the same size: that is the floor on its run time.

    Examples
    --------
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    >>> w = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    >>> y = conv2d(x, w, padding=1)
    >>> y.shape
    (1, 1, 4, 4)
    >>> float(y.data[0, 0, 1, 1])  # the 3x3 block around (1, 1): 0+1+2+4+5+6+8+9+10
    45.0
    >>> y.sum().backward()
    >>> w.grad[0, 0]  # tap (i, j) sums the image shifted by (i - 1, j - 1), zeros coming in
    array([[ 45.,  66.,  54.],
           [ 84., 120.,  96.],
           [ 81., 114.,  90.]])
    """
    x, weight = _as_nchw(x, "x"), _as_nchw(weight, "weight")
    n, c, h, w = x.shape
    f, cw, kh, kw = weight.shape
    if cw != c or kh < 1 or kw < 1:
        raise ValueError(
            f"weight must have shape (F, {c}, kh, kw), kh, kw >= 1, to match x; got {weight.shape}"
        )
    if bias is not None:
        bias = bias if isinstance(bias, Tensor) else Tensor(bias)
        if bias.shape != (f,):
            raise ValueError(f"bias must have shape ({f},); got {bias.shape}")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    ho, wo = _output_hw(x.shape, (kh, kw), stride, padding, dilation, "conv2d")
    geometry = ((kh, kw), stride, padding, dilation)

    cols = im2col(x.data, *geometry)  # (N, K, P)
    wmat = weight.data.reshape(f, c * kh * kw)  # (F, K)
    out = np.matmul(wmat, cols)  # (F, K) @ (N, K, P) -> (N, F, P)
    if bias is not None:
        out += bias.data[:, None]

    def backward(dout):
        dout = dout.reshape(n, f, ho * wo)  # (N, F, P)
        # Y_n = W cols_n + b  =>  dW = sum_n dY_n cols_n^T,  dcols_n = W^T dY_n,  db = sum dY
        dweight = np.matmul(dout, cols.transpose(0, 2, 1))  # (N, F, P) @ (N, P, K) -> (N, F, K)
        dweight = dweight.sum(axis=0).reshape(weight.shape)
        dx = None
        if x.requires_grad:  # the image itself usually needs none: skip the largest product
            dx = col2im(np.matmul(wmat.T, dout), x.shape, *geometry)  # (K, F) @ (N, F, P)
        dbias = dout.sum(axis=(0, 2)) if bias is not None else None
        return dx, dweight, dbias

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor.from_op(out.reshape(n, f, ho, wo), parents, backward, "conv2d")


def _pool_args(x, kernel_size, stride, padding):
    x = _as_nchw(x, "x")
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"padding must be at most half the kernel size {kernel}; got {padding}")
    return x, kernel, stride, padding


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Maximum over each (kh, kw) window; the gradient goes to the arg-max.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        Implicit -inf border, at most half the kernel.

    Returns
    -------
    Tensor, shape (N, C, Ho, Wo)

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, the window does not fit, or the padding exceeds half the
        kernel.
    TypeError
        If a size argument is not an int or a pair of ints.

    Notes
    -----
    :math:`\\partial y / \\partial x_i = 1` for the maximal element of the window and 0
    for the others (the RoI max-pool rule of the course deck *Detection – 3 stages*:
    :math:`\\partial L / \\partial x_i = \\sum_j [i = i^*(j)]\\, \\partial L / \\partial y_j`).
    Overlapping windows (stride < kernel) add their gradients.

    Examples
    --------
    >>> x = Tensor([[[[1.0, 2.0], [4.0, 3.0]]]], requires_grad=True)
    >>> y = max_pool2d(x, 2)
    >>> y.backward(np.ones((1, 1, 1, 1)))
    >>> x.grad[0, 0]
    array([[0., 0.],
           [1., 0.]], dtype=float32)
    """
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding)
    ho, wo = _output_hw(x.shape, kernel, stride, padding, (1, 1), "max_pool2d")
    xp = _pad(x.data, padding, value=-np.inf)
    taps = list(_taps(kernel, stride, (ho, wo)))
    # Running maximum over the kh kw taps; tap (i, j) is the strided sub-image that
    # holds pixel (i, j) of every window.
    out = xp[taps[0][1]].copy()  # (N, C, Ho, Wo)
    for _, where in taps[1:]:
        np.maximum(out, xp[where], out=out)

    def backward(dout):
        dxp = np.zeros_like(xp)
        zero = np.zeros((), dtype=dout.dtype)
        taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum has been found
        for _, where in taps:  # dout goes to the element that equals the maximum
            # NOTE: ties -- the FIRST maximum in row-major window order takes the whole
            # gradient, later equal ones get 0 (a valid sub-gradient; PyTorch does the same).
            mine = (xp[where] == out) & ~taken
            taken |= mine
            dxp[where] += np.where(mine, dout, zero)
        return (_crop(dxp, padding, x.shape),)

    return Tensor.from_op(out, (x,), backward, "max_pool2d")


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over each (kh, kw) window (zero padding counts in the mean).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Zero border, at most half the kernel.

    Returns
    -------
    Tensor, shape (N, C, Ho, Wo)

    Raises
    ------
    ValueError
        As :func:`max_pool2d`.
    TypeError
        As :func:`max_pool2d`.

    Notes
    -----
    :math:`y = \\frac{1}{k_h k_w} \\sum_{\\text{window}} x`, so every pixel of a window
    gets :math:`dy / (k_h k_w)`, summed over the windows that contain it.

    Examples
    --------
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> avg_pool2d(x, 2).data[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding)
    ho, wo = _output_hw(x.shape, kernel, stride, padding, (1, 1), "avg_pool2d")
    xp = _pad(x.data, padding)
    taps = list(_taps(kernel, stride, (ho, wo)))
    area = kernel[0] * kernel[1]
    out = np.zeros((*x.shape[:2], ho, wo), dtype=x.dtype)
    for _, where in taps:  # sum of the kh kw strided sub-images
        out += xp[where]
    out /= area

    def backward(dout):
        dxp = np.zeros_like(xp)
        share = dout / area  # every pixel of a window gets dout / (kh kw)
        for _, where in taps:
            dxp[where] += share
        return (_crop(dxp, padding, x.shape),)

    return Tensor.from_op(out, (x,), backward, "avg_pool2d")


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
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    per_channel = (1, c) + (1,) * (x.ndim - 2)  # (1, C) or (1, C, 1, 1), broadcasts against x
    if (running_mean is None) != (running_var is None):
        raise ValueError("give both running_mean and running_var, or neither")
    running_mean = _channel_vector(running_mean, "running_mean", c)
    running_var = _channel_vector(running_var, "running_var", c)
    weight, bias = _channel_vector(weight, "weight", c), _channel_vector(bias, "bias", c)
    use_batch = training or running_mean is None
    if use_batch:
        count = int(np.prod([x.shape[k] for k in axes]))  # m values per channel
        if training and count < 2:
            raise ValueError(
                f"batch_norm needs more than 1 value per channel to train; got {x.shape}"
            )
        mean, var = x.data.mean(axis=axes), x.data.var(axis=axes)
        if training and running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * count / (count - 1)
    else:
        mean, var = running_mean, running_var
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype).reshape(per_channel)
    xhat = (x.data - mean.astype(x.dtype).reshape(per_channel)) * inv_std
    gamma = 1 if weight is None else weight.data.reshape(per_channel)
    out = xhat * gamma if weight is not None else xhat
    out = out + bias.data.reshape(per_channel) if bias is not None else out

    def backward(dout):
        dgamma = (dout * xhat).sum(axis=axes) if weight is not None else None
        dbeta = dout.sum(axis=axes) if bias is not None else None
        g = dout * gamma  # dL/dxhat
        if use_batch:
            # x -> (mu, var) -> xhat: the two extra paths give the mean terms
            g_mean = g.mean(axis=axes, keepdims=True)
            gx_mean = (g * xhat).mean(axis=axes, keepdims=True)
            dx = inv_std * (g - g_mean - xhat * gx_mean)
        else:
            dx = inv_std * g
        grads = (
            (dx,)
            + ((dgamma,) if weight is not None else ())
            + ((dbeta,) if bias is not None else ())
        )
        return grads

    parents = (
        (x,) + ((weight,) if weight is not None else ()) + ((bias,) if bias is not None else ())
    )
    return Tensor.from_op(out, parents, backward, "batch_norm")
