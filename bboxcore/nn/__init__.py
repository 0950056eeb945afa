"""bboxcore.nn: a small autograd engine and CNN layers in NumPy.

Read it in this order: :mod:`~bboxcore.nn.tensor` (the Tensor and its backward
pass), :mod:`~bboxcore.nn.ops`, :mod:`~bboxcore.nn.conv` (im2col convolution,
pooling), :mod:`~bboxcore.nn.normalization` (batch norm, dropout),
:mod:`~bboxcore.nn.functional` (the detection losses and RoI ops of
:mod:`bboxcore.losses` and :mod:`bboxcore.roi` as differentiable functions),
:mod:`~bboxcore.nn.modules` (layers), :mod:`~bboxcore.nn.init`,
:mod:`~bboxcore.nn.optim`, :mod:`~bboxcore.nn.serialization`,
:mod:`~bboxcore.nn.gradcheck`.
"""

from bboxcore.nn import functional, init
from bboxcore.nn.conv import avg_pool2d, col2im, conv2d, conv_output_size, im2col, max_pool2d
from bboxcore.nn.gradcheck import GradcheckError, gradcheck
from bboxcore.nn.modules import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    Parameter,
    ReLU,
    Sequential,
)
from bboxcore.nn.normalization import batch_norm, dropout
from bboxcore.nn.ops import concatenate, maximum, stack
from bboxcore.nn.optim import (
    SGD,
    Adam,
    CosineLR,
    LinearWarmup,
    LRScheduler,
    MultiStepLR,
    Optimizer,
    StepLR,
)
from bboxcore.nn.serialization import load, save
from bboxcore.nn.tensor import DEFAULT_DTYPE, Tensor, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "DEFAULT_DTYPE",
    "SGD",
    "Adam",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "CosineLR",
    "Dropout",
    "Flatten",
    "GradcheckError",
    "LRScheduler",
    "Linear",
    "LinearWarmup",
    "MaxPool2d",
    "Module",
    "MultiStepLR",
    "Optimizer",
    "Parameter",
    "ReLU",
    "Sequential",
    "StepLR",
    "Tensor",
    "avg_pool2d",
    "batch_norm",
    "col2im",
    "concatenate",
    "conv2d",
    "conv_output_size",
    "dropout",
    "functional",
    "gradcheck",
    "im2col",
    "init",
    "is_grad_enabled",
    "load",
    "max_pool2d",
    "maximum",
    "no_grad",
    "save",
    "stack",
    "unbroadcast",
]
