"""The speed table behind ``make bench`` and ``bboxcore bench``.

Each *suite* is a function ``suite_<topic>(rng) -> list[Case]`` registered in
:data:`SUITES`. A case is one operation on one input, run by one
implementation (``reference`` loop, ``broadcast`` one-shot NumPy, ``bboxcore``
the library's fast path). Every case is timed as the median of repeated runs
after a warm-up, so two runs of the table can be compared line by line.

Run ``bboxcore bench --help`` for the options.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import numpy as np

from bboxcore.iou import box_iou, box_iou_reference
from bboxcore.tools.bench_nn import suite_nn as suite_nn_kernels
from bboxcore.tools.synthetic import clustered_boxes, random_boxes
from bboxcore.tools.timing import Case, format_table, time_case

__all__ = ["SUITES", "Case", "bench_cases", "format_table", "run_bench", "time_case"]


# --------------------------------------------------------------------------- suites
def _iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a.tolist()):
        for j, q in enumerate(b.tolist()):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def suite_iou(rng: np.random.Generator) -> list[Case]:
    """Pairwise IoU: anchors x GT and proposals x proposals (targets: <= 6 ms and <= 22 ms).

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_iou(np.random.default_rng(0))) > 0
    True
    """
    cases = []
    for n, m, target in ((20000, 50, 6), (2000, 2000, 22)):
        a, b = random_boxes(rng, n), random_boxes(rng, m)
        name = f"box_iou f32 {n}x{m}"
        cases.append(
            Case(
                "iou",
                name,
                "bboxcore",
                lambda a=a, b=b: box_iou(a, b),
                note=f"target <= {target} ms",
            )
        )
        cases.append(Case("iou", name, "broadcast", lambda a=a, b=b: box_iou_reference(a, b)))
    a, b = random_boxes(rng, 200), random_boxes(rng, 50)
    cases.append(Case("iou", "box_iou f32 200x50", "reference", lambda: _iou_loop(a, b), repeat=3))
    cases.append(Case("iou", "box_iou f32 200x50", "bboxcore", lambda: box_iou(a, b)))
    return cases


def suite_nms(rng: np.random.Generator) -> list[Case]:
    """NMS at IoU 0.7 on 6k / 12k float32 proposals in a 1000 x 800 image, plus its variants.

    "uniform" boxes (sides 8-160 px) are rarely suppressed, "clustered" ones
    (around 200 centres) mostly are. Targets: half the time of a compiled C++
    CPU kernel measured on this machine class (~30 / 75 ms clustered, ~200 /
    750 ms uniform). The reference is timed where it takes under a second.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_nms(np.random.default_rng(0))) > 0
    True
    """
    from bboxcore.nms import batched_nms, nms, nms_reference
    from bboxcore.nms_variants import soft_nms

    cases = []
    for kind, n, target, cpp in (
        ("clustered", 6000, 15, 30),
        ("clustered", 12000, 37, 75),
        ("uniform", 6000, 100, 200),
        ("uniform", 12000, 375, 750),
    ):
        b = (clustered_boxes if kind == "clustered" else random_boxes)(rng, n)
        s = rng.random(n).astype(np.float32)
        name = f"nms f32 {kind} {n}"
        note = f"target <= {target} ms (C++ kernel ~{cpp} ms); keeps {len(nms(b, s, 0.7))}"
        cases.append(Case("nms", name, "bboxcore", lambda b=b, s=s: nms(b, s, 0.7), note=note))
        if kind == "clustered" or n == 6000:
            ref = lambda b=b, s=s: nms_reference(b, s, 0.7)  # noqa: E731
            cases.append(Case("nms", name, "reference", ref, repeat=1 if n > 6000 else 3))
    b = clustered_boxes(rng, 12000)
    s = rng.random(12000).astype(np.float32)
    label = rng.integers(0, 20, 12000)

    def per_class():
        return [nms(b[label == c], s[label == c], 0.7) for c in range(20)]

    name = "batched_nms f32 clustered 12000, 20 labels"
    cases.append(Case("nms", name, "bboxcore", lambda: batched_nms(b, s, label, 0.7)))
    cases.append(Case("nms", name, "loop", per_class, note="one nms per label"))
    b2, s2 = b[:2000], s[:2000]
    for method in ("linear", "gaussian"):
        fn = lambda m=method: soft_nms(b2, s2, method=m)  # noqa: E731
        cases.append(Case("nms", f"soft_nms {method} f32 clustered 2000", "bboxcore", fn, repeat=3))
    return cases


def _grid_anchors_loop(anchor_base, stride, feat_size):
    rows = []
    for y in range(feat_size[0]):
        for x in range(feat_size[1]):
            for x1, y1, x2, y2 in anchor_base.tolist():
                sx, sy = x * stride, y * stride
                rows.append((x1 + sx, y1 + sy, x2 + sx, y2 + sy))
    return np.array(rows)


def suite_anchors(rng: np.random.Generator) -> list[Case]:
    """Anchors and targets on a 1000 x 600 image, 38 x 63 x 9 = 21546 anchors (target: a few ms).

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_anchors(np.random.default_rng(0))) > 0
    True
    """
    from bboxcore.anchors import generate_anchor_base, grid_anchors
    from bboxcore.targets import AnchorTargetCreator, ProposalCreator, ProposalTargetCreator

    img_size, feat_size = (600, 1000), (38, 63)  # Caffe VGG-16 map of a 1000 x 600 image
    base = generate_anchor_base()
    anchor = grid_anchors(base, 16, feat_size).astype(np.float32)
    gt = random_boxes(rng, 50, img_size=img_size, side=(30, 300))
    label = rng.integers(0, 20, size=50)
    loc = rng.normal(0.0, 0.2, size=anchor.shape).astype(np.float32)
    score = rng.uniform(size=len(anchor)).astype(np.float32)
    atc, pc, ptc = AnchorTargetCreator(), ProposalCreator(), ProposalTargetCreator()
    roi = pc(loc, score, anchor, img_size, training=True)
    n, nr = len(anchor), len(roi)
    seeded = np.random.default_rng
    few_ms = "target: a few ms"
    return [
        Case(
            "anchors",
            f"grid_anchors 1000x600 ({n})",
            "bboxcore",
            lambda: grid_anchors(base, 16, feat_size),
            note=few_ms,
        ),
        Case(
            "anchors",
            f"grid_anchors 1000x600 ({n})",
            "reference",
            lambda: _grid_anchors_loop(base, 16, feat_size),
            repeat=3,
        ),
        Case(
            "anchors",
            f"AnchorTargetCreator {n} x 50 GT f32",
            "bboxcore",
            lambda: atc(gt, anchor, img_size, seeded(0)),
            note=few_ms,
        ),
        Case(
            "anchors",
            f"ProposalCreator {n} 12000->2000 f32",
            "bboxcore",
            lambda: pc(loc, score, anchor, img_size, training=True),
            repeat=5,
            note="nms() ~80%",
        ),
        Case(
            "anchors",
            f"ProposalCreator {n} 6000->300 f32",
            "bboxcore",
            lambda: pc(loc, score, anchor, img_size),
            note="nms() ~60%",
        ),
        Case(
            "anchors",
            f"ProposalTargetCreator {nr} RoIs x 50 GT f32",
            "bboxcore",
            lambda: ptc(roi, gt, label, seeded(0)),
        ),
    ]


def suite_nn(rng: np.random.Generator) -> list[Case]:
    """conv2d forward + backward and a CNN training step, in GFLOP/s against BLAS's matmul.

    im2col turns the convolution into matrix products of M x K x N = F x (C kh kw) x (Ho Wo):
    one forward, two backward (dW, dcols). Three plain matmuls of that size are the honest
    limit (target: conv2d forward + backward within 2x of it); im2col/col2im copies make up
    the rest. The "blas" rows run only the matmuls; the note of a bboxcore row gives its
    fraction of the blas row above it. The training step counts the FLOPs of its convolutions
    (forward, dW, and dx except for the image) and includes pooling, ReLU, loss and SGD.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_nn(np.random.default_rng(0))) > 0
    True
    """
    from bboxcore import nn

    times: dict[str, float] = {}

    def rate(flop: float, key: str, versus: str | None = None):
        def note(ms: float) -> str:
            times[key] = ms
            text = f"{flop / 1e6:.0f} MFLOP, {flop / ms / 1e6:.1f} GFLOP/s"
            if versus in times:
                text += f", {times[versus] / ms:.2f}x of blas (target >= 0.5x)"
            return text

        return note

    n, c, h, w, f = 1, 64, 64, 64, 64  # a detector's mid-level feature map, 3x3 conv 64 -> 64
    x = nn.Tensor(rng.standard_normal((n, c, h, w), dtype=np.float32), requires_grad=True)
    weight = nn.Tensor(0.05 * rng.standard_normal((f, c, 3, 3), dtype=np.float32), True)
    dout = rng.standard_normal((n, f, h, w), dtype=np.float32)
    wmat, cols = weight.data.reshape(f, -1), nn.im2col(x.data, 3, padding=1)[0]  # (F, K), (K, P)
    flop = 2.0 * f * wmat.shape[1] * cols.shape[1] * n

    def conv_step():
        nn.conv2d(x, weight, padding=1).backward(dout)
        x.grad = weight.grad = None

    def three_matmuls():
        wmat @ cols, dout[0].reshape(f, -1) @ cols.T, wmat.T @ dout[0].reshape(f, -1)

    def conv_forward():
        nn.conv2d(x, weight, padding=1)

    name = f"conv2d f32 {n}x{c}x{h}x{w} 3x3 {c}->{f}"
    cases = [
        Case("nn", f"{name} fwd", "blas", lambda: wmat @ cols, note=rate(flop, "f")),
        Case("nn", f"{name} fwd", "bboxcore", conv_forward, note=rate(flop, "fc", "f")),
        Case("nn", f"{name} fwd+bwd", "blas", three_matmuls, note=rate(3 * flop, "fb")),
        Case("nn", f"{name} fwd+bwd", "bboxcore", conv_step, note=rate(3 * flop, "fbc", "fb")),
    ]

    # one SGD step of a 4-conv CNN classifier on a batch of 4 RGB 64 x 64 images
    widths, side, layers, step_flop = (3, 32, 64, 64, 128), 64, [], 0.0
    for k, (cin, cout) in enumerate(zip(widths, widths[1:])):
        layers += [nn.Conv2d(cin, cout, 3, padding=1, rng=rng), nn.ReLU()]
        passes = 2 if k == 0 else 3  # the first conv needs no gradient for the image
        step_flop += passes * 2.0 * cout * cin * 9 * side * side * 4
        if k < 3:
            layers.append(nn.MaxPool2d(2))
            side //= 2
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * side * side, 10, rng=rng))
    opt = nn.SGD(model.parameters(), lr=1e-3, momentum=0.9)  # small: stays finite when repeated
    images = nn.Tensor(rng.standard_normal((4, 3, 64, 64), dtype=np.float32))
    labels = rng.integers(0, 10, 4)

    def train_step():
        loss = nn.functional.softmax_cross_entropy(model(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step = "train step 4-conv CNN 4x3x64x64 f32"
    cases.append(Case("nn", step, "bboxcore", train_step, note=rate(step_flop, "step")))
    return cases


def _detector_rois(rng: np.random.Generator, n: int, img_size=(608, 800)) -> np.ndarray:
    """``n`` RoIs ``(0, x_min, y_min, x_max, y_max)`` in an image, sides 16 px to 2/3 of it."""
    side = (16, 2 * min(img_size) / 3)
    boxes = random_boxes(rng, n, img_size=img_size, side=side, dtype=np.float64)
    return np.concatenate([np.zeros((n, 1)), boxes], axis=1)


def suite_roi(rng: np.random.Generator) -> list[Case]:
    """RoI Align / Pool / PrRoI forward + backward on the detector's batch: 1 x 128 x 38 x 50
    features (stride 16 on a 608 x 800 image), 128 RoIs, 7 x 7 bins (target: a few ms for
    RoI Align), and each against its loop reference on a small case.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_roi(np.random.default_rng(0))) > 0
    True
    """
    from bboxcore import prroi, roi, roi_reference

    feats = rng.standard_normal((1, 128, 38, 50), dtype=np.float32)
    rois = _detector_rois(rng, 128)
    dout = rng.standard_normal((128, 128, 7, 7), dtype=np.float32)
    _, argmax = roi.roi_pool(feats, rois, 7, 1 / 16)

    def align_step():
        roi.roi_align(feats, rois, 7, 1 / 16)
        roi.roi_align_backward(dout, rois, feats.shape, 7, 1 / 16)

    def pool_step():
        roi.roi_pool(feats, rois, 7, 1 / 16)
        roi.roi_pool_backward(dout, argmax, rois, feats.shape)

    def prroi_step():
        prroi.prroi_pool(feats, rois, 7, 1 / 16)
        prroi.prroi_pool_backward(dout, feats, rois, 7, 1 / 16)

    def align_forward():
        roi.roi_align(feats, rois, 7, 1 / 16)

    big = "f32 1x128x38x50, 128 RoIs, 7x7"
    cases = [
        Case("roi", f"roi_align fwd {big}", "bboxcore", align_forward),
        Case("roi", f"roi_align fwd+bwd {big}", "bboxcore", align_step, note="target: a few ms"),
        Case("roi", f"roi_pool fwd+bwd {big}", "bboxcore", pool_step),
        Case("roi", f"prroi_pool fwd+bwd {big}", "bboxcore", prroi_step, repeat=3),
    ]
    small_feats = rng.standard_normal((1, 16, 12, 16)).astype(np.float32)
    small = _detector_rois(rng, 8, img_size=(192, 256))
    pairs = [
        ("roi_align", roi.roi_align, roi_reference.roi_align_reference),
        ("roi_pool", roi.roi_pool, roi_reference.roi_pool_reference),
        ("prroi_pool", prroi.prroi_pool, roi_reference.prroi_pool_reference),
    ]
    args = (small_feats, small, (7, 7), 1 / 16)
    for name, fast, slow in pairs:
        label = f"{name} fwd f32 1x16x12x16, 8 RoIs, 7x7"
        cases.append(Case("roi", label, "reference", lambda s=slow: s(*args), repeat=3))
        cases.append(Case("roi", label, "bboxcore", lambda f=fast: f(*args)))
    return cases


def suite_losses(rng: np.random.Generator) -> list[Case]:
    """The two Faster R-CNN losses with their gradients on one training step's targets:
    RPN over 17100 anchors (256 sampled), head over 128 RoIs x 21 classes.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_losses(np.random.default_rng(0))) > 0
    True
    """
    from bboxcore import detection_losses as dl

    s, r, k1 = 17100, 128, 21  # 38 x 50 x 9 anchors (Detection – 3 stages, §C2); 20 classes + bg
    rpn_loc = rng.normal(0, 0.5, (s, 4)).astype(np.float32)
    rpn_score = rng.normal(0, 1, (s, 2)).astype(np.float32)
    gt_loc = rng.normal(0, 0.5, (s, 4)).astype(np.float32)
    label = np.full(s, -1)
    picked = rng.choice(s, 256, replace=False)
    label[picked[:64]], label[picked[64:]] = 1, 0
    cls_loc = rng.normal(0, 0.5, (r, 4 * k1)).astype(np.float32)
    score = rng.normal(0, 1, (r, k1)).astype(np.float32)
    gt_roi_loc = rng.normal(0, 0.5, (r, 4)).astype(np.float32)
    roi_label = rng.integers(0, k1, r)

    def rpn_step():
        dl.rpn_loss(rpn_loc, rpn_score, gt_loc, label)
        dl.rpn_loss_backward(1.0, 1.0, rpn_loc, rpn_score, gt_loc, label)

    def head_step():
        dl.roi_head_loss(cls_loc, score, gt_roi_loc, roi_label)
        dl.roi_head_loss_backward(1.0, 1.0, cls_loc, score, gt_roi_loc, roi_label)

    return [
        Case("losses", f"rpn_loss fwd+bwd f32 {s} anchors", "bboxcore", rpn_step),
        Case("losses", f"roi_head_loss fwd+bwd f32 {r}x{k1}", "bboxcore", head_step),
    ]


def suite_eval(rng: np.random.Generator) -> list[Case]:
    """COCO evaluation of 5 000 images x 100 detections vs 10 boxes (target: <= pycocotools).

    The official ``pycocotools`` (C IoU, Python matching loops) is timed on the
    first 1 000 images only (it takes minutes on all 5 000), when installed.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_eval(np.random.default_rng(0))) >= 3  # doctest: +SKIP
    True
    """
    from bboxcore.eval import coco_ap, voc_ap
    from bboxcore.tools.synthetic import random_detection_set

    pred, gt = random_detection_set(rng, n_image=5000, n_gt=10, n_det=100, n_class=10)
    small = 1000
    cases = [
        Case(
            "eval",
            "coco_ap 5000 img x 100 det",
            "bboxcore",
            lambda: coco_ap(pred, gt),
            repeat=3,
            note="target <= pycocotools (C-accelerated official)",
        ),
        Case(
            "eval",
            f"coco_ap {small} img x 100 det",
            "bboxcore",
            lambda: coco_ap(pred[:small], gt[:small]),
            repeat=3,
        ),
        Case("eval", "voc_ap 5000 img x 100 det", "bboxcore", lambda: voc_ap(pred, gt), repeat=3),
    ]
    ref = _pycocotools_case(pred[:small], gt[:small])
    if ref is not None:
        cases.append(
            Case(
                "eval",
                f"coco_ap {small} img x 100 det",
                "reference",
                ref,
                repeat=1,
                note="pycocotools COCOeval evaluate+accumulate+summarize",
            )
        )
    return cases


def _pycocotools_case(pred, gt):
    """A function running the official COCOeval on in-memory data, or None if not installed."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        return None
    import contextlib
    import io

    images = [{"id": a.image_id, "width": 640, "height": 640} for a in gt]
    anns, res = [], []
    for a, p in zip(gt, pred):
        for b, k in zip(a.bbox.tolist(), a.label.tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": a.image_id,
                    "category_id": k + 1,
                    "bbox": [b[0], b[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for b, k, s in zip(p.bbox.tolist(), p.label.tolist(), p.score.tolist()):
            res.append(
                {
                    "image_id": a.image_id,
                    "category_id": k + 1,
                    "score": s,
                    "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": k + 1, "name": str(k)} for k in range(10)],
        }
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(res)

    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval(coco_gt, coco_dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()

    return run


def suite_detector(rng: np.random.Generator) -> list[Case]:
    """One training iteration of the MNIST-sized Faster R-CNN, split by stage (forward, backward).

    Batch of 2 random 128 x 128 scenes, stride 8, 64 RPN anchors and 64 RoIs
    sampled per image; see :mod:`bboxcore.tools.profile`. The stages add up to
    about the "whole iteration" row, which also holds the SGD step.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_detector(np.random.default_rng(0))) > 10  # doctest: +SKIP
    True
    """
    from bboxcore.tools.profile import iteration_stages

    return [
        Case("detector", name, "bboxcore", fn, repeat=5, note=note)
        for name, fn, note in iteration_stages(rng)
    ]


#: Registered suites, in the order the table prints them. Add yours here.
SUITES: dict[str, Callable[[np.random.Generator], list[Case]]] = {
    "iou": suite_iou,
    "nms": suite_nms,
    "anchors": suite_anchors,
    "nn": suite_nn_kernels,  # bboxcore/tools/bench_nn.py: conv/pool/BN vs their limits
    "nn-cnn": suite_nn,
    "roi": suite_roi,
    "losses": suite_losses,
    "eval": suite_eval,
    "detector": suite_detector,
}


# --------------------------------------------------------------------------- table


def bench_cases(suites: list[str] | None = None, seed: int = 0) -> list[Case]:
    """The cases of the named suites, each suite's inputs drawn from its own generator.

    The generator of a suite is seeded with ``(seed, its name)``, so a suite
    times the same inputs alone (``bboxcore bench nms``) as in the full run.

    Parameters
    ----------
    suites : list of str, optional
        Names from :data:`SUITES`, in the order of the table; all when None.
    seed : int
        Seed of the inputs.

    Returns
    -------
    list of Case

    Raises
    ------
    ValueError
        If a suite name is unknown.

    Examples
    --------
    >>> alone = [c.note for c in bench_cases(["nms"])]  # "...; keeps 1529": they see the inputs
    >>> alone == [c.note for c in bench_cases(["iou", "nms"])][-len(alone):]
    True
    """
    names = list(SUITES) if suites is None else list(suites)
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown bench suite(s) {unknown}; choose from {list(SUITES)}")
    return [c for s in names for c in SUITES[s](np.random.default_rng([seed, *s.encode()]))]


def run_bench(suites: list[str] | None = None, seed: int = 0, progress: bool = True) -> str:
    """Time the registered suites and return the table as text.

    Parameters
    ----------
    suites : list of str, optional
        Names from :data:`SUITES`; all when None.
    seed : int
        Seed of the inputs, so every run times the same data (:func:`bench_cases`).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    str
        A header with the machine and library versions, then the table.

    Raises
    ------
    ValueError
        From :func:`bench_cases`, for an unknown suite name, before anything is timed.

    Examples
    --------
    >>> "box_iou" in run_bench(["iou"], progress=False)  # doctest: +SKIP
    True
    """
    from tqdm.auto import tqdm

    cases = bench_cases(suites, seed)
    rows = [(c, time_case(c)) for c in tqdm(cases, desc="bench", disable=not progress, leave=False)]
    head = (
        f"bboxcore bench — Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}, seed {seed}"
    )
    return head + "\n" + format_table(rows)
