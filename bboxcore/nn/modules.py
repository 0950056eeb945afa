"""Layers: a :class:`Module` holds parameters and sub-modules and says how to run them.

The API follows PyTorch's so that a reader of either can read the other::

    model = Sequential(Conv2d(3, 8, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2))
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = criterion(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()

A module finds its parameters by looking at its attributes: every
:class:`Parameter`, every sub-:class:`Module` and every list of modules is
registered automatically, in the order the attributes were set. Running
statistics that are state but not trained (batch norm's) are *buffers*, declared
with :meth:`Module.register_buffer`. Shapes are (N, C, H, W) for images,
(N, features) for vectors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from bboxcore._checks import count
from bboxcore.nn import init
from bboxcore.nn.activations import LEAKY_RELU_SLOPE, leaky_relu, relu
from bboxcore.nn.conv import _pair, avg_pool2d, conv2d, conv_transpose2d, max_pool2d
from bboxcore.nn.normalization import BN_EPS, BN_MOMENTUM, batch_norm, dropout, group_norm
from bboxcore.nn.resample import upsample_bilinear, upsample_nearest
from bboxcore.nn.tensor import DEFAULT_DTYPE, Tensor

__all__ = [
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "Dropout",
    "Flatten",
    "GroupNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Upsample",
]


class Parameter(Tensor):
    """A Tensor that a :class:`Module` trains (``requires_grad`` is always True).

    Parameters
    ----------
    data : array_like
        Initial value (copied; floating dtypes kept).

    Examples
    --------
    >>> Parameter(np.zeros(3)).requires_grad
    True
    """

    def __init__(self, data) -> None:
        super().__init__(data, requires_grad=True)


class Module:
    """Base class of every layer and model.

    Subclasses set parameters and sub-modules as attributes in ``__init__`` and
    define ``forward``; calling the module calls ``forward``.

    Examples
    --------
    >>> class Affine(Module):
    ...     def __init__(self):
    ...         self.scale = Parameter(np.ones(2))
    ...         self.body = Sequential(ReLU())
    ...     def forward(self, x):
    ...         return self.body(x) * self.scale
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale']
    >>> m(Tensor([-1.0, 2.0])).data
    array([0., 2.])
    """

    training: bool = True  # switched by train() / eval()

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """Compute the output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ------------------------------------------------------------------ registry
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules: module attributes, and lists of modules as ``name.i``."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif (
                isinstance(value, (list, tuple))
                and value
                and all(isinstance(v, Module) for v in value)
            ):
                for i, child in enumerate(value):
                    yield f"{name}.{i}", child

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each parameter once, in registration order."""
        seen: set[int] = set()
        for name, p in self._named(
            prefix, lambda m: [(k, v) for k, v in vars(m).items() if isinstance(v, Parameter)]
        ):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def parameters(self) -> list[Parameter]:
        """All trainable parameters (each once), e.g. for an optimiser."""
        return [p for _, p in self.named_parameters()]

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Store ``value`` as ``self.<name>``: saved by :meth:`state_dict`, never trained."""
        setattr(self, name, np.asarray(value))
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` pairs of every buffer."""
        return self._named(
            prefix, lambda m: [(k, getattr(m, k)) for k in getattr(m, "_buffer_names", ())]
        )

    def _named(self, prefix, own):
        for name, value in own(self):
            yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named(prefix + name + ".", own)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name (``'0.weight'``)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> None:
        """Copy values from ``state`` into the parameters and buffers, in place.

        Parameters
        ----------
        state : mapping of str to ndarray
            As returned by :meth:`state_dict` (or :func:`~bboxcore.nn.serialization.load`).
        strict : bool
            Require exactly the same names.

        Raises
        ------
        ValueError
            If names are missing or unexpected (when ``strict``), or a shape differs.
        """
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        for name, target in targets.items():
            if name in state:
                value = np.asarray(state[name])
                if value.shape != target.shape:
                    raise ValueError(
                        f"state_dict[{name!r}] must have shape {target.shape}; got {value.shape}"
                    )
                target[...] = value  # in place: optimisers keep pointing at the same arrays

    def train(self, mode: bool = True) -> Module:
        """Set training mode (batch statistics, dropout on) here and in every sub-module."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (running statistics, dropout off)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter."""
        for p in self.parameters():
            p.grad = None

    def astype(self, dtype) -> Module:
        """Convert every parameter and buffer to ``dtype`` (e.g. float64 for a gradient check).

        Do it before creating an optimiser: its state keeps the old dtype.
        """
        for p in self.parameters():
            p.data, p.grad = p.data.astype(dtype), None
        for m in self.modules():
            for name in getattr(m, "_buffer_names", ()):
                setattr(m, name, getattr(m, name).astype(dtype))
        return self

    def extra_repr(self) -> str:
        """The arguments shown inside ``Name(...)``."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Run modules one after the other; parameters are named ``'<index>.<name>'``.

    Parameters
    ----------
    *layers : Module

    Examples
    --------
    >>> net = Sequential(Linear(4, 3, rng=np.random.default_rng(0)), ReLU())
    >>> net(Tensor(np.ones((2, 4)))).shape
    (2, 3)
    >>> list(net.state_dict())
    ['0.weight', '0.bias']
    """

    def __init__(self, *layers: Module) -> None:
        bad = [type(m).__name__ for m in layers if not isinstance(m, Module)]
        if bad:
            raise TypeError(f"Sequential takes Modules; got {bad}")
        self.layers = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((str(i), m) for i, m in enumerate(self.layers))

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class Conv2d(Module):
    """2-D convolution layer, He-normal weights, zero bias (:func:`~bboxcore.nn.conv.conv2d`).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding, dilation : int or (int, int)
    bias : bool
    rng : numpy.random.Generator
        Draws the initial weights.
    dtype : dtype
        float32 by default.

    Attributes
    ----------
    weight : Parameter, shape (out_channels, in_channels, kh, kw)
    bias : Parameter, shape (out_channels,), or None

    Examples
    --------
    >>> conv = Conv2d(3, 8, 3, padding=1, rng=np.random.default_rng(0))
    >>> conv(Tensor(np.zeros((2, 3, 16, 16), np.float32))).shape
    (2, 8, 16, 16)
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
        bias: bool = True, *, rng: np.random.Generator, dtype=DEFAULT_DTYPE,
    ) -> None:  # fmt: skip
        kh, kw = _pair(kernel_size, "kernel_size", 1)
        shape = (
            count(out_channels, "out_channels", minimum=1),
            count(in_channels, "in_channels", minimum=1),
            kh,
            kw,
        )
        self.weight = init.kaiming_normal_(Parameter(np.empty(shape, dtype)), rng)
        self.bias = Parameter(np.zeros(shape[0], dtype)) if bias else None
        self.stride, self.padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        f, c, kh, kw = self.weight.shape
        return f"{c}, {f}, kernel_size={(kh, kw)}, stride={self.stride}, padding={self.padding}"


class ConvTranspose2d(Module):
    """Transposed convolution layer (:func:`~bboxcore.nn.conv.conv_transpose2d`).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding, output_padding, dilation : int or (int, int)
    bias : bool
    rng : numpy.random.Generator
        Draws the initial He-normal weights (fan-in of the adjoint convolution).
    dtype : dtype

    Attributes
    ----------
    weight : Parameter, shape (in_channels, out_channels, kh, kw)
    bias : Parameter, shape (out_channels,), or None

    Examples
    --------
    >>> up = ConvTranspose2d(8, 4, 2, stride=2, rng=np.random.default_rng(0))
    >>> up(Tensor(np.zeros((1, 8, 5, 5), np.float32))).shape
    (1, 4, 10, 10)
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
        dilation=1, bias: bool = True, *, rng: np.random.Generator, dtype=DEFAULT_DTYPE,
    ) -> None:  # fmt: skip
        kh, kw = _pair(kernel_size, "kernel_size", 1)
        c_in = count(in_channels, "in_channels", minimum=1)
        c_out = count(out_channels, "out_channels", minimum=1)
        weight = init.kaiming_normal_(Parameter(np.empty((c_out, c_in, kh, kw), dtype)), rng)
        self.weight = Parameter(
            np.ascontiguousarray(weight.data.transpose(1, 0, 2, 3))
        )  # (C, F, k, k)
        self.bias = Parameter(np.zeros(c_out, dtype)) if bias else None
        self.stride, self.padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
        self.output_padding = _pair(output_padding, "output_padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
            self.dilation,
        )  # fmt: skip

    def extra_repr(self) -> str:
        c, f, kh, kw = self.weight.shape
        return f"{c}, {f}, kernel_size={(kh, kw)}, stride={self.stride}, padding={self.padding}"


class Linear(Module):
    """Fully connected layer :math:`y = x W^T + b`, He-normal weights and zero bias.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    rng : numpy.random.Generator
    dtype : dtype

    Attributes
    ----------
    weight : Parameter, shape (out_features, in_features)
    bias : Parameter, shape (out_features,), or None

    Examples
    --------
    >>> Linear(4, 2, rng=np.random.default_rng(0))(Tensor(np.ones((5, 4)))).shape
    (5, 2)
    """

    def __init__(
        self,
        in_features,
        out_features,
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype=DEFAULT_DTYPE,
    ) -> None:
        shape = (
            count(out_features, "out_features", minimum=1),
            count(in_features, "in_features", minimum=1),
        )
        self.weight = init.kaiming_normal_(Parameter(np.empty(shape, dtype)), rng)
        self.bias = Parameter(np.zeros(shape[0], dtype)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        y = x @ self.weight.T  # (N, in) @ (in, out) -> (N, out)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}"


class ReLU(Module):
    """:math:`\\max(x, 0)` element-wise.

    Parameters
    ----------
    inplace : bool
        Overwrite the input's array when it is safe (the output of a convolution or a
        normalisation that nothing else reads: see :mod:`bboxcore.nn.activations`),
        saving one activation-sized array per layer.

    Examples
    --------
    >>> ReLU()(Tensor([-1.0, 2.0])).data
    array([0., 2.], dtype=float32)
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = bool(inplace)

    def forward(self, x: Tensor) -> Tensor:
        return relu(x, inplace=True) if self.inplace else x.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """Leaky ReLU (see :func:`~bboxcore.nn.activations.leaky_relu`).

    Parameters
    ----------
    negative_slope : float
        Slope for x < 0, in [0, 1) (YOLOv2/v3: 0.1).
    inplace : bool
        As for :class:`ReLU`.

    Examples
    --------
    >>> LeakyReLU(0.1)(Tensor([-1.0, 2.0])).data
    array([-0.1,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = LEAKY_RELU_SLOPE, inplace: bool = False) -> None:
        if not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope must be in [0, 1); got {negative_slope!r}")
        self.negative_slope, self.inplace = negative_slope, bool(inplace)

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """:math:`1 / (1 + e^{-x})` element-wise (see :meth:`Tensor.sigmoid`).

    Examples
    --------
    >>> Sigmoid()(Tensor([0.0])).data
    array([0.5], dtype=float32)
    """

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Upsample(Module):
    """Upsample (N, C, H, W) maps by an integer factor (see :mod:`bboxcore.nn.resample`).

    Parameters
    ----------
    scale_factor : int
    mode : {'nearest', 'bilinear'}
        ``'bilinear'`` uses ``align_corners=False``.

    Examples
    --------
    >>> Upsample(2)(Tensor(np.zeros((1, 3, 4, 5)))).shape
    (1, 3, 8, 10)
    """

    MODES = ("nearest", "bilinear")

    def __init__(self, scale_factor: int = 2, mode: str = "nearest") -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}; got {mode!r}")
        self.scale_factor = count(scale_factor, "scale_factor", minimum=1)
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "nearest":
            return upsample_nearest(x, self.scale_factor)
        return upsample_bilinear(x, self.scale_factor)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"


class Flatten(Module):
    """Merge every axis from ``start_dim`` on: (N, C, H, W) -> (N, C H W)."""

    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[: self.start_dim] + (-1,))


class MaxPool2d(Module):
    """Max pooling layer (see :func:`~bboxcore.nn.conv.max_pool2d`)."""

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """Average pooling layer (see :func:`~bboxcore.nn.conv.avg_pool2d`)."""

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class BatchNorm2d(Module):
    """Batch normalisation of each channel over (N, H, W) (:func:`~bboxcore.nn.batch_norm`).

    Parameters
    ----------
    num_features : int
        C.
    eps, momentum : float
    affine : bool
        Learn gamma (``weight``, init 1) and beta (``bias``, init 0).
    dtype : dtype

    Examples
    --------
    >>> bn = BatchNorm2d(2)
    >>> y = bn(Tensor(np.random.default_rng(0).normal(5, 3, (4, 2, 3, 3))))
    >>> bool(abs(y.data.mean()) < 1e-5), sorted(bn.state_dict())
    (True, ['bias', 'running_mean', 'running_var', 'weight'])
    """

    def __init__(
        self, num_features: int, eps: float = BN_EPS, momentum: float = BN_MOMENTUM,
        affine: bool = True, dtype=DEFAULT_DTYPE,
    ) -> None:  # fmt: skip
        c = count(num_features, "num_features", minimum=1)
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(c, dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(c, dtype))
        self.register_buffer("running_var", np.ones(c, dtype))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d expects (N, C, H, W); got {x.shape}")
        return batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            training=self.training, momentum=self.momentum, eps=self.eps,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return f"{len(self.running_mean)}, eps={self.eps}, momentum={self.momentum}"


class GroupNorm(Module):
    """Group normalisation (:func:`~bboxcore.nn.normalization.group_norm`), FCOS's head norm.

    Parameters
    ----------
    num_groups : int
        G, dividing ``num_channels`` (FCOS: 32).
    num_channels : int
        C.
    eps : float
    affine : bool
        Learn gamma (``weight``, init 1) and beta (``bias``, init 0) per channel.
    dtype : dtype

    Examples
    --------
    >>> gn = GroupNorm(2, 4)
    >>> y = gn(Tensor(np.random.default_rng(0).normal(5, 3, (2, 4, 3, 3))))
    >>> bool(abs(y.data[0, :2].mean()) < 1e-5), sorted(gn.state_dict())
    (True, ['bias', 'weight'])
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = BN_EPS, affine: bool = True,
        dtype=DEFAULT_DTYPE,
    ) -> None:  # fmt: skip
        c = count(num_channels, "num_channels", minimum=1)
        g = count(num_groups, "num_groups", minimum=1)
        if c % g:
            raise ValueError(f"num_groups must divide num_channels={c}; got {g}")
        self.num_groups, self.eps = g, eps
        self.weight = Parameter(np.ones(c, dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, eps={self.eps}"


class Dropout(Module):
    """Dropout layer, active in training mode only (see :func:`~bboxcore.nn.normalization.dropout`).

    Parameters
    ----------
    p : float
        Probability of dropping.
    rng : numpy.random.Generator
        Draws the masks.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1]; got {p}")
        self.p, self.rng = p, rng

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, rng=self.rng, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
