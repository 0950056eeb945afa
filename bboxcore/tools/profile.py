"""Where the time of one training iteration goes, stage by stage (``bboxcore bench detector``).

:func:`iteration_stages` builds the MNIST-sized detector (:func:`mnist_config`,
stride 8) and a batch of random 128 x 128 scenes, runs one training
iteration once to have every stage's input at hand, and returns one
callable per stage that repeats just that stage on those inputs:

* forward: backbone, RPN convs, proposals (decode + clip + NMS), anchor
  targets, proposal targets, RoI Align, head FCs, the four losses;
* backward: each part's backward on its own sub-graph (the backbone, the
  RPN, RoI Align, the head), built from detached leaf tensors so that one
  part is timed at a time, plus the whole backward pass;
* the whole iteration: forward, backward and the SGD step.

Repeating a backward on a built graph is allowed: the engine recomputes the
interior gradients on every call (parameters accumulate, which costs the
same as a fresh step).

The detector itself holds no timers: every stage is timed from outside, on
its public parts (``backbone``, ``rpn``, ``rpn.propose``, the target
creators, ``head.roi_features``, ``head.classify``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bboxcore.models.base import Target
from bboxcore.models.faster_rcnn import FasterRCNN
from bboxcore.models.presets import mnist_config
from bboxcore.nn import functional as F
from bboxcore.nn.optim import SGD
from bboxcore.nn.tensor import Tensor
from bboxcore.tools.synthetic import random_scenes

__all__ = ["iteration_stages"]

#: Side of the profiled images and images per batch (the MNIST training setting).
PROFILE_IMAGE_SIZE = 128
PROFILE_BATCH = 2


def _leaf(t: Tensor) -> Tensor:
    return Tensor(t.data, requires_grad=True)


def iteration_stages(rng: np.random.Generator) -> list[tuple[str, Callable[[], object], str]]:
    """One ``(stage name, callable, note)`` per stage of a training iteration (see module doc).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the weights, the images and the target sampling.

    Returns
    -------
    list of (str, callable, str)

    Examples
    --------
    >>> stages = iteration_stages(np.random.default_rng(0))  # doctest: +SKIP
    >>> [name for name, _, _ in stages][:2]  # doctest: +SKIP
    ['1 backbone forward', '2 rpn forward']
    """
    config = mnist_config()
    model = FasterRCNN(config, rng)
    images, bboxes, labels = random_scenes(rng, PROFILE_BATCH, PROFILE_IMAGE_SIZE, config.n_class)
    size = (PROFILE_IMAGE_SIZE, PROFILE_IMAGE_SIZE)
    head = config.head

    x = model.preprocess(images)
    features = model.backbone(x)
    rpn_loc, rpn_score, anchor = model.rpn(features)
    rois = model.rpn.propose(rpn_loc.data, rpn_score.data, anchor, size, training=True)
    atc, ptc = model.anchor_target_creator, model.proposal_target_creator

    def anchor_targets():
        return [atc(b, anchor, size, rng) for b in bboxes]

    def proposal_targets():
        return [
            ptc(r, b, lab, rng, head.loc_normalize_mean, head.loc_normalize_std)
            for r, b, lab in zip(rois, bboxes, labels)
        ]

    gt_anchor, samples = anchor_targets(), proposal_targets()
    index = np.concatenate([np.full(len(s[0]), i, np.float32) for i, s in enumerate(samples)])
    rois5 = np.concatenate([index[:, None], np.concatenate([s[0] for s in samples])], axis=1)
    gt_rpn_loc = np.concatenate([g[0] for g in gt_anchor])
    gt_rpn_label = np.concatenate([g[1] for g in gt_anchor])
    gt_roi_loc = np.concatenate([s[1] for s in samples])
    gt_roi_label = np.concatenate([s[2] for s in samples])

    def roi_features(f):
        return model.head.roi_features(f, rois5)

    def losses(loc, score, cls_loc, cls_score):
        s = score.reshape(loc.shape[0] * loc.shape[1], *score.shape[2:])
        r = F.rpn_loss(loc.reshape(-1, 4), s, gt_rpn_loc, gt_rpn_label, sigma=config.rpn.sigma)
        h = F.roi_head_loss(cls_loc, cls_score, gt_roi_loc, gt_roi_label, sigma=head.sigma)
        return r[0] + r[1] + h[0] + h[1]

    pooled = roi_features(features)
    cls_loc, cls_score = model.head.classify(pooled)
    total = losses(rpn_loc, rpn_score, cls_loc, cls_score)
    # detached sub-graphs: each part's backward alone
    f_leaf, p_leaf = _leaf(features), _leaf(pooled)
    backbone_out = model.backbone(x)
    rpn_out = model.rpn(f_leaf)
    rpn_sum = (rpn_out[0] * rpn_out[0]).sum() + (rpn_out[1] * rpn_out[1]).sum()
    roi_out = roi_features(f_leaf)
    head_out = model.head.classify(p_leaf)
    head_sum = (head_out[0] * head_out[0]).sum() + (head_out[1] * head_out[1]).sum()
    d_features = np.ones(features.shape, np.float32)
    d_pooled = np.ones(pooled.shape, np.float32)
    optimizer = SGD(model.parameters(), lr=1e-4, momentum=0.9)

    targets = [Target(b, lab) for b, lab in zip(bboxes, labels)]

    def whole_iteration():
        losses_ = model.loss(images, targets, rng)
        loss = sum(losses_.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    n = PROFILE_BATCH
    note = f"batch {n} x {PROFILE_IMAGE_SIZE}^2 px"
    return [
        ("1 backbone forward", lambda: model.backbone(x), note),
        ("2 rpn forward", lambda: model.rpn(features), f"{len(anchor)} anchors/image"),
        (
            "3 proposals (decode, NMS)",
            lambda: model.rpn.propose(rpn_loc.data, rpn_score.data, anchor, size, True),
            f"{config.rpn.n_train_pre_nms} -> {config.rpn.n_train_post_nms} per image",
        ),
        ("4 anchor targets", anchor_targets, f"{config.rpn.n_sample} sampled anchors/image"),
        ("5 proposal targets", proposal_targets, f"{head.n_sample} RoIs/image"),
        ("6 roi_align forward", lambda: roi_features(features), f"{len(rois5)} RoIs, 7x7"),
        ("7 head forward", lambda: model.head.classify(pooled), f"fc {head.fc_dim}"),
        ("8 losses", lambda: losses(rpn_loc, rpn_score, cls_loc, cls_score), "rpn + head"),
        ("9 backward: backbone", lambda: backbone_out.backward(d_features), ""),
        ("9 backward: rpn", lambda: rpn_sum.backward(), ""),
        ("9 backward: roi_align", lambda: roi_out.backward(d_pooled), ""),
        ("9 backward: head", lambda: head_sum.backward(), ""),
        ("9 backward: all", lambda: total.backward(), "the whole graph"),
        ("whole iteration", whole_iteration, "forward + backward + SGD step"),
    ]
