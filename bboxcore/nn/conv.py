r"""Convolution and pooling on (N, C, H, W) tensors, by im2col and one big matrix product.

A 2-D convolution is a matrix product in disguise. Copy every receptive field of
the input into a column — *im2col* — and the convolution with F filters of shape
(C, kh, kw) becomes ``W (F, C kh kw) @ cols (C kh kw, Ho Wo)``, which BLAS does at
close to the machine's peak [1]_. The backward pass is two more products and the
adjoint of im2col, *col2im*, which adds each column back where it was copied from.

Sizes follow the convolution arithmetic of [2]_ (Eq. 15):

.. math::
    H_o = \left\lfloor \frac{H + 2 p - d (k - 1) - 1}{s} \right\rfloor + 1

with padding p, dilation d, kernel size k and stride s (likewise for W).

References
----------
.. [1] K. Chellapilla, S. Puri, P. Simard. "High Performance Convolutional Neural
   Networks for Document Processing." IWFHR 2006.
.. [2] V. Dumoulin, F. Visin. "A guide to convolution arithmetic for deep
   learning." arXiv:1603.07285, 2016.
"""

from __future__ import annotations

import numpy as np

from bboxcore.nn import workspace
from bboxcore.nn.tensor import Tensor

__all__ = [
    "avg_pool2d",
    "col2im",
    "conv2d",
    "conv_output_size",
    "conv_transpose2d",
    "im2col",
    "max_pool2d",
]


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


def _inside(offset: int, step: int, count: int, size: int) -> tuple[slice, slice]:
    """The outputs ``o`` of one tap whose input row ``offset + step o`` is inside ``[0, size)``.

    Returns ``(outputs, inputs)``: the slice of output rows, and the slice of input rows
    they read (``offset`` is the tap's first input row, ``d i - p``, negative in the
    padding). Outputs outside the slice read the zero padding.
    """
    lo = 0 if offset >= 0 else (-offset + step - 1) // step  # ceil(-offset / step)
    hi = min(count, (size - 1 - offset) // step + 1) if size - 1 - offset >= 0 else 0
    hi = max(hi, lo)
    first = offset + step * lo
    return slice(lo, hi), slice(first, first + step * (hi - lo - 1) + 1 if hi > lo else first, step)


def _tap_regions(x_hw, kernel, stride, padding, dilation, out_hw):
    """For each tap (i, j): ``(i, j, out_rows, out_cols, in_rows, in_cols)``, the part of the
    output grid whose receptive-field pixel (i, j) lies inside the image, and those pixels."""
    for i in range(kernel[0]):
        orow, irow = _inside(dilation[0] * i - padding[0], stride[0], out_hw[0], x_hw[0])
        for j in range(kernel[1]):
            ocol, icol = _inside(dilation[1] * j - padding[1], stride[1], out_hw[1], x_hw[1])
            yield i, j, orow, ocol, irow, icol


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
    cols = np.empty((n, c * kernel[0] * kernel[1], ho * wo), dtype=x.dtype)
    return _im2col_into(cols, x, kernel, stride, padding, dilation)


#: im2col copies along flattened planes for maps narrower than this; on wider ones the
#: row-by-row copy is as fast or faster (2x16x160x160: 2.3 ms by rows, 3.6 by planes;
#: 2x64x40x40: 0.65 by rows, 0.36 by planes; one thread, CPU time, load 8).
FLAT_IM2COL_BELOW = 128


def _flat_taps(shape, kernel, padding, dilation):
    """For a stride-1 convolution whose output is as large as its input ("same" padding):
    ``(i, j, shift, b, q0, q1)`` per tap, row-major. With planes flattened to H W, tap
    (i, j) of output ``q`` reads input ``q + shift`` (``shift = a W + b``, ``a = d_h i -
    p_h``, ``b = d_w j - p_w``); outputs ``[q0, q1)`` read inside the plane, and of those
    the |b| first (b < 0) or last (b > 0) of every row read the neighbouring row instead
    of the padding (to be zeroed)."""
    h, w = shape[2:]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            a, b = dilation[0] * i - padding[0], dilation[1] * j - padding[1]
            shift = a * w + b
            q0, q1 = max(0, -shift), min(h * w, h * w - shift)
            yield i, j, shift, b, q0, max(q0, q1)


def _zero_wrapped(tap: np.ndarray, b: int, w: int) -> None:
    """Zero the columns of ``tap`` (N, C, H W) that a shift by ``b`` columns wrapped into the
    neighbouring row: the |b| first of each row if b < 0, the b last if b > 0."""
    rows = tap.reshape(*tap.shape[:2], -1, w)  # (N, C, H, W), a view
    if b < 0:
        rows[..., : min(-b, w)] = 0
    elif b > 0:
        rows[..., max(w - b, 0) :] = 0


def _im2col_into(cols, x, kernel, stride, padding, dilation) -> np.ndarray:
    """:func:`im2col` of ``x`` written into ``cols`` (N, C kh kw, Ho Wo), which it returns."""
    n, c, h, w = x.shape
    ho, wo = _output_hw(x.shape, kernel, stride, padding, dilation, "im2col")
    if stride == (1, 1) and (ho, wo) == (h, w) and w < FLAT_IM2COL_BELOW:
        # "same" padding, stride 1 (the backbones' 3x3 convolutions) on narrow maps:
        # with planes flattened, each tap is one shifted copy of x along whole planes,
        # not one short row per image row (whose per-row overhead dominates there)
        flat = x.reshape(n, c, h * w)
        taps = cols.reshape(n, c, kernel[0], kernel[1], h * w)  # a view
        for i, j, shift, b, q0, q1 in _flat_taps(x.shape, kernel, padding, dilation):
            tap = taps[:, :, i, j]  # (N, C, H W)
            tap[:, :, q0:q1] = flat[:, :, q0 + shift : q1 + shift]
            tap[:, :, :q0] = 0  # rows above / below the image: the zero padding
            tap[:, :, q1:] = 0
            _zero_wrapped(tap, b, w)  # columns left / right of the image: likewise
        return cols
    cols6 = cols.reshape(n, c, kernel[0], kernel[1], ho, wo)  # a view
    for i, j, orow, ocol, irow, icol in _tap_regions((h, w), kernel, stride, padding, dilation,
                                                     (ho, wo)):  # fmt: skip
        # one strided copy per tap, straight from x: no padded copy of the image; the
        # outputs whose pixel (i, j) falls in the padding get the zeros instead
        tap = cols6[:, :, i, j]  # (N, C, Ho, Wo)
        tap[:, :, orow, ocol] = x[:, :, irow, icol]
        if orow.stop - orow.start < ho or ocol.stop - ocol.start < wo:
            tap[:, :, : orow.start] = 0
            tap[:, :, orow.stop :] = 0
            tap[:, :, :, : ocol.start] = 0
            tap[:, :, :, ocol.stop :] = 0
    return cols


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
    :math:`(d_h i - p_h, d_w j - p_w)`, so its gradient is added to that sub-image in one
    vectorised ``+=`` (the part that fell in the zero padding is dropped). Within a tap
    no pixel repeats, so ``+=`` is exact; the taps are added in row-major order.

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
    return _col2im(dcols, x_shape, kernel, stride, padding, dilation, overwrite=False)


def _col2im(dcols, x_shape, kernel, stride, padding, dilation, overwrite: bool) -> np.ndarray:
    """:func:`col2im` on checked arguments; ``overwrite`` lets it zero entries of ``dcols``
    (an array of the caller's own), which its fast path needs."""
    n, c, h, w = x_shape
    ho, wo = _output_hw(x_shape, kernel, stride, padding, dilation, "col2im")
    if overwrite and stride == (1, 1) and (ho, wo) == (h, w):
        # as in im2col: one shifted add per tap along whole flattened planes; the
        # entries a shift wraps into the neighbouring row are copies of the padding,
        # zeroed first (adding +0 to a sum that starts at +0 changes no bit)
        dx = np.zeros((n, c, h * w), dtype=dcols.dtype)
        taps = dcols.reshape(n, c, kernel[0], kernel[1], h * w)
        for i, j, shift, b, q0, q1 in _flat_taps(x_shape, kernel, padding, dilation):
            tap = taps[:, :, i, j]  # (N, C, H W)
            _zero_wrapped(tap, b, w)
            dx[:, :, q0 + shift : q1 + shift] += tap[:, :, q0:q1]
        return dx.reshape(x_shape)
    dcols = dcols.reshape(n, c, kernel[0], kernel[1], ho, wo)
    dx = np.zeros((n, c, h, w), dtype=dcols.dtype)
    for i, j, orow, ocol, irow, icol in _tap_regions((h, w), kernel, stride, padding, dilation,
                                                     (ho, wo)):  # fmt: skip
        # the copies that tap (i, j) made of pixels inside the image; those of the
        # padding have no pixel to go back to
        dx[:, :, irow, icol] += dcols[:, :, i, j, orow, ocol]
    return dx


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

    Three matrix products of the same size: that is the floor on its run time
    (``bboxcore bench nn`` prints both). The columns are copied straight from x, one
    strided copy per kernel tap (no padded copy of the image), into an array of the
    scratch cache :mod:`~bboxcore.nn.workspace`, kept for dW until the graph is
    freed; dcols lives in the cache's one shared scratch buffer.

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

    # the columns come from (and go back to) the scratch cache: same shapes every step
    cols = workspace.take((n, c * kh * kw, ho * wo), x.dtype)  # (N, K, P)
    _im2col_into(cols, x.data, *geometry)
    wmat = weight.data.reshape(f, c * kh * kw)  # (F, K)
    out = np.matmul(wmat, cols)  # (F, K) @ (N, K, P) -> (N, F, P)
    if bias is not None:
        out += bias.data[:, None]

    def backward(dout):
        dout = dout.reshape(n, f, ho * wo)  # (N, F, P)
        # Y_n = W cols_n + b  =>  dW = sum_n dY_n cols_n^T,  dcols_n = W^T dY_n,  db = sum dY
        dweight = None
        if weight.requires_grad:  # a frozen layer needs no dW
            dweight = np.matmul(dout, cols.transpose(0, 2, 1))  # (N, F, P) @ (N, P, K)
            dweight = dweight.sum(axis=0).reshape(weight.shape)  # (N, F, K) -> (F, C, kh, kw)
        dx = None
        if x.requires_grad:  # the image itself usually needs none: skip the largest product
            dcols = workspace.scratch(cols.shape, np.result_type(wmat, dout))
            np.matmul(wmat.T, dout, out=dcols)  # (K, F) @ (N, F, P) -> (N, K, P)
            dx = _col2im(dcols, x.shape, *geometry, overwrite=True)  # dcols is ours
        dbias = dout.sum(axis=(0, 2)) if bias is not None else None
        return dx, dweight, dbias

    parents = (x, weight) if bias is None else (x, weight, bias)
    result = Tensor.from_op(out.reshape(n, f, ho, wo), parents, backward, "conv2d")
    if result._backward is None:  # no graph (no_grad, frozen layer): columns not needed
        workspace.give(cols)
    else:  # needed for dW until the graph is freed
        workspace.release_with(backward, cols)
    return result


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

    The detectors' 2x2 / stride-2 pool (no padding) takes a fast path with the same
    results, bit for bit: windows do not overlap, so the gradient is one mask
    ``x == max of its window`` (ties resolved as above) times ``dout``, on arrays laid
    out so that every NumPy loop runs along contiguous rows. When a graph is recorded
    the forward pass marks the winners (one bool per pixel of x, kept until the graph
    is freed) and the backward pass only scales the mask by ``dout``: the same passes
    over memory in all, split so that backward costs no more than forward, and a later
    in-place write to the output cannot move the gradient.

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
    if kernel == (2, 2) and stride == (2, 2) and padding == (0, 0):
        return _max_pool_2x2(x, ho, wo)
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
    if kernel == (2, 2) and stride == (2, 2) and padding == (0, 0):
        return _avg_pool_2x2(x, ho, wo)
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


def _pairs_up(a: np.ndarray) -> np.ndarray:
    """(N, C, Ho, Wo) -> (N, C, Ho, 2 Wo): every column written twice (two strided copies)."""
    up = np.empty((*a.shape, 2), dtype=a.dtype)
    up[..., 0] = a
    up[..., 1] = a
    return up.reshape(*a.shape[:3], 2 * a.shape[3])


#: For a dtype of 2 or 4 bytes, the unsigned integer twice as wide and the factor that
#: writes a value into both halves of it: ``v (2^k + 1) = (v << k) | v`` for ``v < 2^k``.
_TWICE = {2: (np.uint32, 0x10001), 4: (np.uint64, 0x100000001)}


def _pairs_up_into(a: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """:func:`_pairs_up` of ``a`` written into ``buffer`` (``2 a.nbytes`` bytes, uint8).

    For 2- and 4-byte floats each pair is one integer twice as wide, so the copy is two
    contiguous passes at the output resolution (widen the bits, multiply by 2^k + 1)
    instead of two strided ones; the bits, hence the values, are those of ``a``.
    """
    n, c, ho, wo = a.shape
    size = a.dtype.itemsize
    if size not in _TWICE:
        up = buffer.view(a.dtype).reshape(n, c, ho, wo, 2)
        up[..., 0] = a
        up[..., 1] = a
        return up.reshape(n, c, ho, 2 * wo)
    wide, factor = _TWICE[size]
    pairs = buffer.view(wide).reshape(a.shape)
    np.copyto(pairs, a.view(f"u{size}"))  # v, widened (a fast cast, not a ufunc loop)
    np.multiply(pairs, factor, out=pairs)  # v v: both halves
    return pairs.view(a.dtype).reshape(n, c, ho, 2 * wo)


def _max_pool_2x2(x: Tensor, ho: int, wo: int) -> Tensor:
    """:func:`max_pool2d` with a 2x2 kernel, stride 2, no padding (see its Notes)."""
    n, c = x.shape[:2]
    xc = x.data[:, :, : 2 * ho, : 2 * wo]  # an odd last row / column is in no window
    rows = xc.reshape(n, c, ho, 2, 2 * wo)  # (N, C, Ho, window row, W)
    # the temporaries live in the shared scratch buffer: fresh, they would cost a page
    # fault per 4 KiB on their first write, about as much as the pass that writes them
    vmax = workspace.scratch((n, c, ho, 2 * wo), x.dtype)  # (N, C, Ho, 2 Wo), contiguous
    np.maximum(rows[:, :, :, 0], rows[:, :, :, 1], out=vmax)
    out = np.maximum(vmax[..., 0::2], vmax[..., 1::2])  # (N, C, Ho, Wo)
    saved = {}  # the winners, found below once we know that a backward pass will come

    def backward(dout):
        # y = max(a, b, c, d)  =>  dy/dx_i = 1 for the winner, 0 for the others
        cropped = x.shape[2:] != (2 * ho, 2 * wo)
        dx = (np.zeros if cropped else np.empty)(x.shape, dtype=out.dtype)
        dxc = dx[:, :, : 2 * ho, : 2 * wo].reshape(n, c, ho, 2, 2 * wo)  # a view of dx
        np.copyto(dxc, saved["win"])  # 1 for the winner, 0 for the others (a fast cast)
        pairs = workspace.scratch((2 * out.nbytes,), np.uint8)
        dout = np.asarray(dout, dtype=out.dtype)
        np.multiply(dxc, _pairs_up_into(dout, pairs)[:, :, :, None], out=dxc)  # times dout
        return (dx,)

    result = Tensor.from_op(out, (x,), backward, "max_pool2d")
    if result._backward is not None:  # a graph: mark each window's winner for backward
        pairs = workspace.scratch((2 * out.nbytes,), np.uint8)  # vmax is no longer needed
        win = workspace.take(rows.shape, bool)  # (N, C, Ho, 2, 2 Wo), kept for backward
        np.equal(rows, _pairs_up_into(out, pairs)[:, :, :, None], out=win)
        _first_maximum_only(win, out.size)
        saved["win"] = win
        workspace.release_with(backward, win)  # back to the cache when the graph is freed
    return result


def _first_maximum_only(win: np.ndarray, n_windows: int) -> None:
    """Keep, in each 2x2 window of ``win`` (N, C, Ho, 2, 2 Wo) bool, only the first True.

    NOTE: ties -- the first maximum in row-major order (a, b, c, d) takes the gradient,
    as in the general path. Each row of a window is two adjacent bools, read as one
    little-endian uint16 = left + 256 right; in place, uint16 only (no casts, no big
    temporaries).
    """
    if np.count_nonzero(win) == n_windows:  # one maximum per window: nothing to do
        return
    pair = win.view("<u2")  # (N, C, Ho, 2, Wo): 0, 1 (left), 256 (right), 257 (both)
    top, bottom = pair[:, :, :, 0], pair[:, :, :, 1]
    loser = np.left_shift(top, 8)
    np.bitwise_and(top, np.invert(loser, out=loser), out=top)  # a wins -> b loses
    np.left_shift(bottom, 8, out=loser)
    np.bitwise_and(bottom, np.invert(loser, out=loser), out=bottom)  # c wins -> d loses
    np.bitwise_or(top, np.right_shift(top, 8, out=loser), out=loser)
    np.bitwise_and(loser, 1, out=loser)  # 1 if a or b won, else 0
    np.subtract(1, loser, out=loser)
    bottom *= loser  # a or b won -> c and d lose


def _avg_pool_2x2(x: Tensor, ho: int, wo: int) -> Tensor:
    """:func:`avg_pool2d` with a 2x2 kernel, stride 2, no padding (see its Notes)."""
    n, c = x.shape[:2]
    xc = x.data[:, :, : 2 * ho, : 2 * wo]
    windows = xc.reshape(n, c, ho, 2, wo, 2)  # (N, C, Ho, i, Wo, j)
    out = windows[:, :, :, 0, :, 0] + windows[:, :, :, 0, :, 1]  # taps in row-major order,
    out += windows[:, :, :, 1, :, 0]  # as the general path adds them (same rounding)
    out += windows[:, :, :, 1, :, 1]
    out /= 4

    def backward(dout):
        # y = (a + b + c + d) / 4  =>  each of the four pixels gets dout / 4
        share = _pairs_up(dout / 4)  # (N, C, Ho, 2 Wo)
        cropped = x.shape[2:] != (2 * ho, 2 * wo)
        dx = (np.zeros if cropped else np.empty)(x.shape, dtype=out.dtype)
        dxc = dx[:, :, : 2 * ho, : 2 * wo].reshape(n, c, ho, 2, 2 * wo)
        dxc[:, :, :, 0] = share
        dxc[:, :, :, 1] = share
        return (dx,)

    return Tensor.from_op(out, (x,), backward, "avg_pool2d")


def conv_transpose2d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1
) -> Tensor:
    r"""Transposed 2-D convolution ("deconvolution"): the adjoint of :func:`conv2d` in its input.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    weight : Tensor, shape (C, F, kh, kw)
        Input channels first, as in PyTorch's ``ConvTranspose2d``.
    bias : Tensor, shape (F,), optional
    stride, padding, dilation : int or (int, int)
        Those of the :func:`conv2d` whose adjoint this is.
    output_padding : int or (int, int)
        Extra rows / columns on the bottom / right, 0 <= output_padding < stride:
        several output sizes give the same conv2d output size; this picks one.

    Returns
    -------
    Tensor, shape (N, F, Ho, Wo)
        :math:`H_o = (H - 1) s - 2 p + d (k - 1) + \mathrm{output\_padding} + 1`, and
        :math:`y_{n,f,\,s h + d i - p,\, s w + d j - p} \mathrel{+}= W_{c f i j}\, x_{n c h w}`
        summed over c, h, w, i, j (entries landing outside the output are dropped), plus
        :math:`b_f`.

    Raises
    ------
    ValueError
        If the shapes do not match, ``output_padding`` is not below the stride, or the
        output would be empty.
    TypeError
        If a size argument is not an int or a pair of ints.

    Notes
    -----
    With :math:`W` as a (C, F kh kw) matrix: :math:`\mathrm{cols}_n = W^\top x_n` and
    :math:`y = \mathrm{col2im}(\mathrm{cols})`; the backward pass is a convolution,

    .. math::
        d\mathrm{cols} = \mathrm{im2col}(dy),\quad dx_n = W\, d\mathrm{cols}_n,\quad
        dW = \sum_n x_n\, d\mathrm{cols}_n^\top,\quad db = \sum dy.

    Examples
    --------
    >>> x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    >>> w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    >>> y = conv_transpose2d(x, w, stride=2)  # each pixel paints a 2x2 block
    >>> y.shape
    (1, 1, 4, 4)
    >>> conv_transpose2d(x, w, stride=1).data[0, 0]  # overlapping blocks add up
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    x, weight = _as_nchw(x, "x"), _as_nchw(weight, "weight")
    n, c, h, w = x.shape
    cw, f, kh, kw = weight.shape
    if cw != c:
        raise ValueError(f"weight must have shape ({c}, F, kh, kw) to match x; got {weight.shape}")
    if bias is not None:
        bias = bias if isinstance(bias, Tensor) else Tensor(bias)
        if bias.shape != (f,):
            raise ValueError(f"bias must have shape ({f},); got {bias.shape}")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    extra = _pair(output_padding, "output_padding", 0)
    if extra[0] >= stride[0] or extra[1] >= stride[1]:
        raise ValueError(f"output_padding must be smaller than stride {stride}; got {extra}")
    ho, wo = (
        (size - 1) * s - 2 * p + d * (k - 1) + e + 1
        for size, s, p, d, k, e in zip((h, w), stride, padding, dilation, (kh, kw), extra)
    )
    if ho < 1 or wo < 1:
        raise ValueError(f"conv_transpose2d: output would be {(ho, wo)} for input {x.shape}")
    y_shape = (n, f, ho, wo)
    geometry = ((kh, kw), stride, padding, dilation)

    wmat = weight.data.reshape(c, f * kh * kw)  # (C, K)
    xmat = x.data.reshape(n, c, h * w)  # (N, C, P)
    cols = np.matmul(wmat.T, xmat)  # (K, C) @ (N, C, P) -> (N, K, P), ours to overwrite
    out = _col2im(cols, y_shape, *geometry, overwrite=True)
    if bias is not None:
        out += bias.data[:, None, None]

    def backward(dout):
        # y = col2im(W^T x)  =>  dcols = im2col(dy): a plain convolution of dy
        dcols = im2col(dout, *geometry)  # (N, K, P)
        dx = np.matmul(wmat, dcols).reshape(x.shape) if x.requires_grad else None
        dweight = None
        if weight.requires_grad:  # dW = sum_n x_n dcols_n^T: (N, C, P) @ (N, P, K)
            dweight = np.matmul(xmat, dcols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)
        dbias = dout.sum(axis=(0, 2, 3)) if bias is not None else None
        return dx, dweight, dbias

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor.from_op(out, parents, backward, "conv_transpose2d")
