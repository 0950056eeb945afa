"""A tiny detector configuration and a toy data set, small enough for CI.

The toy scenes are black squares with 1-2 filled rectangles; the class is the
colour (0 = red, 1 = green, ...), so a two-layer CNN can tell them apart.
"""

from __future__ import annotations

import numpy as np

from bboxcore.data.sample import Sample
from bboxcore.models.config import (
    AnchorConfig,
    BackboneConfig,
    DetectConfig,
    HeadConfig,
    ModelConfig,
    RPNConfig,
)

#: RGB colour of each toy class.
COLOURS = np.array([[1.0, 0.2, 0.2], [0.2, 1.0, 0.2], [0.3, 0.3, 1.0]], np.float32)


def tiny_config(n_class: int = 2, *, objectness: str = "softmax", roi_op: str = "align"):
    """Stride 4, channels (4, 8), anchors 8 and 16 px, 3x3 RoIs, fc 16: a few thousand weights."""
    return ModelConfig(
        n_class=n_class,
        class_names=tuple(f"c{k}" for k in range(n_class)),
        backbone=BackboneConfig(channels=(4, 8), n_pool=2),
        anchor=AnchorConfig(base_size=4.0, ratios=(0.5, 1.0, 2.0), scales=(2.0, 4.0)),
        rpn=RPNConfig(
            mid_channels=8, objectness=objectness, n_sample=32, n_train_pre_nms=200,
            n_train_post_nms=40, n_test_pre_nms=100, n_test_post_nms=20, min_size=2.0,
        ),
        head=HeadConfig(roi_op=roi_op, roi_size=3, fc_dim=16, n_sample=16),
        detect=DetectConfig(max_detections=10),
    )  # fmt: skip


def toy_sample(
    rng: np.random.Generator, size: int = 32, n_class: int = 2, n_obj: int = 1
) -> Sample:
    """A black ``size`` x ``size`` image with ``n_obj`` filled rectangles of random classes."""
    image = np.zeros((size, size, 3), np.float32)
    bbox, label = [], []
    for _ in range(n_obj):
        w, h = rng.integers(size // 4, size // 2, size=2)
        x0, y0 = rng.integers(0, size - w), rng.integers(0, size - h)
        k = int(rng.integers(0, n_class))
        image[y0 : y0 + h, x0 : x0 + w] = COLOURS[k]
        bbox.append([x0, y0, x0 + w, y0 + h])
        label.append(k)
    return Sample(image, np.array(bbox, np.float32), np.array(label), image_id=None)


class ToyScenes:
    """``n`` toy samples built once from ``seed``, with the data-set interface of the trainer."""

    def __init__(self, n: int, seed: int = 0, size: int = 32, n_class: int = 2) -> None:
        rng = np.random.default_rng(seed)
        self.samples = [toy_sample(rng, size, n_class) for _ in range(n)]
        self.class_names = tuple(f"c{k}" for k in range(n_class))
        self.calls = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        self.calls += 1
        return self.samples[i]

    def annotation(self, i: int):
        return self.samples[i].annotation()
