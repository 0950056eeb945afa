r"""Changing a feature map's resolution: nearest and bilinear upsampling, space-to-depth.

FPN and the YOLOv3 / FCOS necks upsample a coarse map to add or concatenate it to a
finer one; YOLOv2's passthrough layer goes the other way, folding each 2x2 block of a
fine map into channels (*Detection – 3 stages*, YOLO v2). All three are linear maps
of the input, so each backward pass is the transposed map: a sum over the copies
(nearest), the transposed interpolation matrices (bilinear), the inverse
permutation (space-to-depth).
"""

from __future__ import annotations

import numpy as np

from bboxcore._checks import count
from bboxcore.nn.tensor import Tensor

__all__ = ["bilinear_matrix", "space_to_depth", "upsample_bilinear", "upsample_nearest"]


def _nchw(x) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got {x.shape}")
    return x


def _factor(value, name: str) -> int:
    return count(value, name, minimum=1)


def upsample_nearest(x, scale_factor: int = 2) -> Tensor:
    r"""Repeat every pixel ``scale_factor`` times along H and along W.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    scale_factor : int
        s >= 1.

    Returns
    -------
    Tensor, shape (N, C, s H, s W)
        :math:`y_{n c i j} = x_{n, c, \lfloor i / s \rfloor, \lfloor j / s \rfloor}`.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or ``scale_factor`` < 1.
    TypeError
        If ``scale_factor`` is not an int.

    Notes
    -----
    Each input pixel is copied into an s x s block, so its gradient is the sum of the
    block's gradients: ``dy.reshape(N, C, H, s, W, s).sum(axis=(3, 5))``.

    Examples
    --------
    >>> x = Tensor([[[[1.0, 2.0]]]], requires_grad=True)
    >>> y = upsample_nearest(x, 2)
    >>> y.data[0, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]], dtype=float32)
    >>> y.sum().backward()
    >>> x.grad[0, 0]
    array([[4., 4.]], dtype=float32)
    """
    x, s = _nchw(x), _factor(scale_factor, "scale_factor")
    n, c, h, w = x.shape
    block = (n, c, h, s, w, s)
    out = np.broadcast_to(x.data[:, :, :, None, :, None], block).reshape(n, c, h * s, w * s)
    # y = copy of x into s x s blocks  =>  dx = sum of dy over each block
    return Tensor.from_op(
        out, (x,), lambda d: (d.reshape(block).sum(axis=(3, 5)),), "upsample_nearest"
    )


def bilinear_matrix(size_in: int, size_out: int, dtype=np.float64) -> np.ndarray:
    r"""The (size_out, size_in) matrix of 1-D linear interpolation, ``align_corners=False``.

    Parameters
    ----------
    size_in, size_out : int
        Lengths of the input and output axes (>= 1).
    dtype : dtype

    Returns
    -------
    ndarray, shape (size_out, size_in)
        Row o holds the weights of output o: source coordinate
        :math:`u = (o + 1/2)\, L_{in} / L_{out} - 1/2`, clamped at 0 (PyTorch's rule),
        weight :math:`1 - (u - \lfloor u \rfloor)` on :math:`\lfloor u \rfloor` and
        :math:`u - \lfloor u \rfloor` on :math:`\min(\lfloor u \rfloor + 1, L_{in} - 1)`.
        Rows sum to 1.

    Examples
    --------
    >>> bilinear_matrix(2, 4)
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    """
    scale = size_in / size_out
    src = np.maximum((np.arange(size_out) + 0.5) * scale - 0.5, 0.0)  # (size_out,)
    lo = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    hi = np.minimum(lo + 1, size_in - 1)
    frac = src - lo
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, lo), 1 - frac)  # lo == hi at the last pixel: both weights add
    np.add.at(matrix, (rows, hi), frac)
    return matrix.astype(dtype)


def upsample_bilinear(x, scale_factor: int | None = 2, size=None) -> Tensor:
    r"""Bilinear upsampling with ``align_corners=False`` (PyTorch's and OpenCV's default).

    Pixels are unit squares and their centres sit at half-integers, so output pixel o
    samples the input at :math:`u = (o + 1/2) / s - 1/2` ([1]_; PyTorch's
    ``interpolate(mode='bilinear', align_corners=False)``), linearly interpolated
    between the two nearest input pixels and clamped at the border.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    scale_factor : int, optional
        s >= 1: output (s H, s W). Ignored when ``size`` is given.
    size : (int, int), optional
        Output (Ho, Wo) instead.

    Returns
    -------
    Tensor, shape (N, C, Ho, Wo)
        :math:`y = A_h\, x\, A_w^\top` per image and channel, with the interpolation
        matrices of :func:`bilinear_matrix`.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, a size is < 1 or ``size`` is not a pair.
    TypeError
        If a factor or size is not an int.

    Notes
    -----
    The map is linear, :math:`y = A_h x A_w^\top`, so
    :math:`\partial L / \partial x = A_h^\top\, (\partial L / \partial y)\, A_w`.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.nn.functional.interpolate``.

    Examples
    --------
    >>> x = Tensor([[[[0.0, 4.0]]]])
    >>> upsample_bilinear(x, 2).data[0, 0]
    array([[0., 1., 3., 4.],
           [0., 1., 3., 4.]], dtype=float32)
    """
    x = _nchw(x)
    n, c, h, w = x.shape
    if size is None:
        s = _factor(scale_factor, "scale_factor")
        ho, wo = h * s, w * s
    else:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"size must be a pair (Ho, Wo); got {size!r}")
        ho, wo = _factor(size[0], "size[0]"), _factor(size[1], "size[1]")
    a_h = bilinear_matrix(h, ho, x.dtype)  # (Ho, H)
    a_w = bilinear_matrix(w, wo, x.dtype)  # (Wo, W)
    out = a_h @ x.data @ a_w.T  # (Ho, H) @ (N, C, H, W) @ (W, Wo) -> (N, C, Ho, Wo)

    def backward(d):
        # y = A_h x A_w^T  =>  dx = A_h^T dy A_w
        return (a_h.T @ d @ a_w,)

    return Tensor.from_op(out, (x,), backward, "upsample_bilinear")


def space_to_depth(x, block_size: int = 2) -> Tensor:
    r"""Fold every b x b block of pixels into channels (YOLOv2's reorg / passthrough layer).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
        H and W divisible by b.
    block_size : int
        b (YOLOv2: 2, turning 26 x 26 x 64 into 13 x 13 x 256).

    Returns
    -------
    Tensor, shape (N, C b^2, H / b, W / b)
        Channel order (PyTorch's ``pixel_unshuffle``):
        :math:`y_{n,\, c b^2 + i b + j,\, u,\, v} = x_{n,\, c,\, b u + i,\, b v + j}`,
        i.e. each input channel becomes b^2 consecutive channels, its block offsets
        (i, j) in row-major order.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, b < 1, or H or W is not divisible by b.
    TypeError
        If b is not an int.

    Notes
    -----
    A permutation of the entries, so the gradient is ``dy`` permuted back.

    Examples
    --------
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> space_to_depth(x, 2).data[0, :, 0, 0]  # the top-left 2x2 block [[0, 1], [4, 5]]
    array([0., 1., 4., 5.])
    """
    x, b = _nchw(x), _factor(block_size, "block_size")
    n, c, h, w = x.shape
    if h % b or w % b:
        raise ValueError(f"H and W of x must be divisible by block_size {b}; got {x.shape}")
    blocks = (n, c, h // b, b, w // b, b)  # (N, C, u, i, v, j)
    out = x.data.reshape(blocks).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * b * b, h // b, w // b)

    def backward(d):
        # a permutation: move every entry back where it came from
        d6 = d.reshape(n, c, b, b, h // b, w // b)  # (N, C, i, j, u, v)
        return (d6.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h, w),)

    return Tensor.from_op(out, (x,), backward, "space_to_depth")
