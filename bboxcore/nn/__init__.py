"""bboxcore.nn: a small autograd engine and CNN layers in NumPy.

Read it in this order: :mod:`~bboxcore.nn.tensor` (the Tensor and its backward
pass), :mod:`~bboxcore.nn.ops`, :mod:`~bboxcore.nn.activations` (sigmoid, leaky
ReLU, softplus), :mod:`~bboxcore.nn.conv` (im2col convolution, its transpose,
pooling), :mod:`~bboxcore.nn.resample` (upsampling, space-to-depth),
:mod:`~bboxcore.nn.normalization` (batch norm, group norm, dropout),
:mod:`~bboxcore.nn.functional` (the detection losses and RoI ops of
:mod:`bboxcore.losses` and :mod:`bboxcore.roi` as differentiable functions),
:mod:`~bboxcore.nn.modules` (layers), :mod:`~bboxcore.nn.init`,
:mod:`~bboxcore.nn.optim`, :mod:`~bboxcore.nn.serialization`,
:mod:`~bboxcore.nn.gradcheck`; :mod:`~bboxcore.nn.workspace` caches the large
scratch arrays of the convolutions between training steps.
"""

from bboxcore.nn import functional, init
from bboxcore.nn.activations import leaky_relu, log_sigmoid, relu, sigmoid, softplus
from bboxcore.nn.conv import (
    avg_pool2d,
    col2im,
    conv2d,
    conv_output_size,
    conv_transpose2d,
    im2col,
    max_pool2d,
)
from bboxcore.nn.gradcheck import GradcheckError, gradcheck
from bboxcore.nn.modules import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    GroupNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Upsample,
)
from bboxcore.nn.normalization import batch_norm, dropout, group_norm
from bboxcore.nn.ops import concatenate, gather, maximum, stack, take_along_axis
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
from bboxcore.nn.resample import space_to_depth, upsample_bilinear, upsample_nearest
from bboxcore.nn.serialization import load, save
from bboxcore.nn.tensor import DEFAULT_DTYPE, Tensor, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "Adam",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "CosineLR",
    "DEFAULT_DTYPE",
    "Dropout",
    "Flatten",
    "GradcheckError",
    "GroupNorm",
    "LRScheduler",
    "LeakyReLU",
    "Linear",
    "LinearWarmup",
    "MaxPool2d",
    "Module",
    "MultiStepLR",
    "Optimizer",
    "Parameter",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "StepLR",
    "Tensor",
    "Upsample",
    "avg_pool2d",
    "batch_norm",
    "col2im",
    "concatenate",
    "conv2d",
    "conv_output_size",
    "conv_transpose2d",
    "dropout",
    "functional",
    "gather",
    "gradcheck",
    "group_norm",
    "im2col",
    "init",
    "is_grad_enabled",
    "leaky_relu",
    "load",
    "log_sigmoid",
    "max_pool2d",
    "maximum",
    "no_grad",
    "relu",
    "save",
    "sigmoid",
    "softplus",
    "space_to_depth",
    "stack",
    "take_along_axis",
    "unbroadcast",
    "upsample_bilinear",
    "upsample_nearest",
]
