"""Fuzz: every public metric and sample type either returns its documented result or
raises its documented error (ValueError / TypeError) on arbitrary boxes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bboxcore.data import Annotation, Detection, Sample
from bboxcore.data.transforms import crop, hflip, resize, tile_image
from bboxcore.eval import coco_ap, recall_at_iou, voc_ap
from tests.strategies import anything_boxes

labels = st.integers(-1, 3)


def _labels(box, k):
    n = box.shape[0] if box.ndim >= 1 else 0
    return np.full(n, k)


@given(anything_boxes(), anything_boxes(), labels, st.floats(allow_nan=True))
def test_metrics_return_or_raise(pbox, gbox, k, score):
    pred = [
        {"bbox": pbox, "label": _labels(pbox, k), "score": np.full(len(_labels(pbox, k)), score)}
    ]
    gt = [{"bbox": gbox, "label": _labels(gbox, max(k, 0))}]
    for metric in (voc_ap, coco_ap):
        try:
            r = metric(pred, gt)
        except (ValueError, TypeError):
            continue
        values = r.ap if metric is voc_ap else r.stats
        assert np.all(np.isnan(values) | ((values >= -1) & (values <= 1)))
    try:
        rec = recall_at_iou([pbox], [gbox])
    except (ValueError, TypeError):
        return
    assert np.all((rec >= 0) & (rec <= 1))


@given(anything_boxes(), labels)
def test_types_and_transforms_return_or_raise(box, k):
    for build in (
        lambda: Annotation(box, _labels(box, k)),
        lambda: Detection(box, _labels(box, k), np.zeros(len(_labels(box, k)))),
        lambda: Sample(np.zeros((8, 8, 3)), box, _labels(box, k)),
    ):
        try:
            obj = build()
        except (ValueError, TypeError):
            continue
        assert obj.bbox.dtype == np.float32 and obj.bbox.shape == (len(obj.label), 4)
    img = np.zeros((8, 8))
    for op in (
        lambda: hflip(img, box),
        lambda: resize(img, box, (4, 4)),
        lambda: crop(img, box, (0, 0, 4, 4)),
        lambda: tile_image(img, box, 4),
    ):
        try:
            op()
        except (ValueError, TypeError):
            continue
