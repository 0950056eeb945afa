# %% [markdown]
# # 05 — Target assignment
#
# The RPN predicts a score and four offsets for **every** anchor, the head for every RoI.
# Which of them are trained, as what, and towards which box? That is the job of the
# target creators of `bboxcore.targets` (plain NumPy, forward pass only, no gradient):
#
# 1. `AnchorTargetCreator` on a real image: positive / negative / ignored anchors;
# 2. the *pipeline* article's question — *"the RPN outputs 1152 boxes but there are only 3 ground-truth
#    objects: what happens to them?"* — answered with real numbers, at training and at
#    inference time (`ProposalCreator`);
# 3. `ProposalTargetCreator`: how the head's 128 RoIs are sampled.
#
# Documentation: *Concepts → Target assignment* and *API → bboxcore.targets*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import bbox2loc, box_iou
from bboxcore.anchors import generate_anchor_base, grid_anchors, inside_image
from bboxcore.data import MnistDetection
from bboxcore.targets import AnchorTargetCreator, ProposalCreator, ProposalTargetCreator

np.set_printoptions(precision=3, suppress=True)


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 1.5)
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle(
                (x1, y1),
                x2 - x1,
                y2 - y1,
                fill=False,
                ec=color,
                label=label if i == 0 else None,
                **kw,
            )
        )


# %% [markdown]
# ## The image: 512 × 256 pixels, 3 objects
#
# The *Train/Test/Eval/Loss pipeline* article's example: a ResNet with stride 32 turns a 512 × 256 image into a 16 × 8
# feature map, "so one image holds 16 × 8 anchor points", each with 3 sizes × 3 aspect
# ratios: $16 \cdot 8 \cdot 9 = 1152$ anchors. We build such an image from two 256 × 256
# scenes of real MNIST digits side by side, with 3 digits in all.

# %%
scenes = MnistDetection(
    "train", image_size=256, n_images=2, min_digits=1, max_digits=2, digit_size=(64, 120), seed=0
)
left, right = scenes[0], scenes[1]
image = np.concatenate([left.image, right.image], axis=1)  # (256, 512, 3)
shift = np.array([256, 0, 256, 0], dtype=np.float32)  # the right scene moves 256 px right
gt = np.concatenate([left.bbox, right.bbox + shift])
gt_label = np.concatenate([left.label, right.label])
img_size = image.shape[:2]  # (H, W) = (256, 512)
print("image", image.shape, "\nground truth:\n", gt, "\ndigits:", gt_label)

anchor_base = generate_anchor_base(base_size=32, ratios=(0.5, 1, 2), scales=(1, 2, 4))
anchors = grid_anchors(anchor_base, 32, (256 // 32, 512 // 32))  # (H W A, 4)
print("anchors:", anchors.shape)  # (1152, 4)

# %% [markdown]
# ## 1. AnchorTargetCreator
#
# Among the anchors **inside the image** (the *Faster R-CNN* lecture, *The losses of Faster R-CNN*):
#
# * **negative** (0): IoU < 0.3 with every ground-truth box;
# * **positive** (1): (i) the anchor with the highest IoU for some ground-truth box, or
#   (ii) IoU ≥ 0.7 with any ground-truth box — negatives are assigned first so that the
#   positives can overwrite them;
# * then 256 anchors are sampled, at most half of them positive; everything else,
#   and every anchor crossing the border, is **ignored** (−1).
#
# Positive anchors get the regression target `bbox2loc(anchor, gt[best match])`.

# %%
creator = AnchorTargetCreator(n_sample=256, pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5)
loc, label = creator(gt, anchors, img_size, np.random.default_rng(0))
inside = inside_image(anchors, img_size)
print(
    f"{len(anchors)} anchors, {len(inside)} inside the image, "
    f"{len(anchors) - len(inside)} crossing the border"
)
for value, name in ((1, "positive"), (0, "negative"), (-1, "ignored")):
    print(f"  label {value:2d} ({name}): {(label == value).sum()}")

# %% [markdown]
# Only 3 positives! Look at the IoUs (computed here with `box_iou` to explain the labels):

# %%
iou = box_iou(anchors, gt)  # (1152, 3)
iou[np.setdiff1d(np.arange(len(anchors)), inside)] = 0  # the creator only looks inside
print("best IoU of each ground-truth box:", iou.max(axis=0))
print("anchors with IoU >= 0.7:          ", (iou >= 0.7).sum(axis=0))
print(
    "the positives are the best anchors:",
    np.flatnonzero(label == 1),
    "=",
    np.sort(iou.argmax(axis=0)),
)
print("their targets t:\n", loc[label == 1])

# %% [markdown]
# No anchor reaches IoU 0.7 with any of the three digits (at stride 32, the anchor
# centres are 32 px apart and the digits are 50–70 px boxes). Rule (ii) finds nothing,
# and **rule (i) alone provides the three positives** — exactly the "rare case" the
# paper gives as the reason for rule (i): *"in some rare cases the second condition may
# find no positive sample"*. Since there are only 3 positives, the sample is padded to
# 256 with negatives.

# %% alt="A 512 by 256 image of three digits with the anchors labelled by AnchorTargetCreator: three yellow positive anchors, one on each digit, thin red negatives, dashed green ground truth, and white dots at the anchor centres."
fig, ax = plt.subplots(figsize=(12, 6.5))
ax.imshow(image, extent=(0, 512, 256, 0))
neg = np.flatnonzero(label == 0)
draw(ax, anchors[neg[::8]], "tab:red", "negative (every 8th shown)", lw=0.6)
draw(ax, anchors[label == 1], "yellow", "positive", lw=2.5)
draw(ax, gt, "lime", "ground truth", lw=2, ls="--")
centres = (anchors[::9, :2] + anchors[::9, 2:]) / 2
ax.plot(centres[:, 0], centres[:, 1], "w.", ms=3, label="anchor centres (stride 32 px)")
ax.set_xlim(-20, 532)
ax.set_ylim(276, -20)
ax.set_xlabel("x (px)")
ax.set_ylabel("y (px, downwards)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
ax.set_title(
    f"AnchorTargetCreator: {(label == 1).sum()} positive, {(label == 0).sum()} "
    f"negative, {(label == -1).sum()} ignored of 1152 anchors"
)
fig.tight_layout()

# %% [markdown]
# ## 2. The 1152 boxes and the 3 objects (the *Train/Test/Eval/Loss pipeline* article)
#
# **At training time**, as above: each of the 1152 boxes is compared with the 3 ground-truth
# boxes; the best match of each object (or any IoU ≥ 0.7) is positive, IoU < 0.3 with all
# three is negative, and only a sample of 256 — here 3 positives and 253 negatives —
# enters the loss. The other 896 (428 crossing the border, 468 not sampled) add nothing.
#
# **At inference** there is no ground truth. The `ProposalCreator` decodes every anchor with
# its predicted offsets, clips the boxes to the image, drops those smaller than
# `min_size`, keeps the best-scoring ones, applies NMS at IoU 0.7, and passes the top
# 300 to the head, which scores them and keeps those above a confidence threshold.
#
# We have no trained RPN in this notebook (notebook 09 has one), so we **pretend**: an RPN
# whose objectness is the anchor's true best IoU plus noise, and which has learnt half of
# each anchor's offset to its nearest digit. This is an illustration, not bboxcore code.

# %%
rng = np.random.default_rng(1)
pretend_score = iou.max(axis=1) + rng.normal(0, 0.05, len(anchors))
pretend_loc = 0.5 * bbox2loc(anchors, gt[iou.argmax(axis=1)])

proposal_creator = ProposalCreator(
    nms_thresh=0.7, n_test_pre_nms=6000, n_test_post_nms=300, min_size=16
)
roi, roi_score = proposal_creator(
    pretend_loc, pretend_score, anchors, img_size, training=False, return_score=True
)
print(f"1152 anchors -> {len(roi)} proposals after clipping, min_size, NMS at 0.7")
confident = roi_score > 0.5
print(f"proposals with score > 0.5: {confident.sum()}")
print("their best IoU with the 3 digits:", box_iou(roi[confident], gt).max(axis=1))

# %% alt="Two panels on the digits image: all 300 proposals after NMS as thin cyan boxes, and the 3 proposals with score above 0.5, each on a digit, with the dashed green ground truth."
fig, axes = plt.subplots(1, 2, figsize=(14, 3.8))
for ax, boxes, title in (
    (axes[0], roi, f"all {len(roi)} proposals after NMS"),
    (axes[1], roi[confident], f"the {confident.sum()} proposals with score > 0.5"),
):
    ax.imshow(image, extent=(0, 512, 256, 0))
    draw(ax, boxes, "cyan", "proposal", lw=0.8)
    draw(ax, gt, "lime", "ground truth", lw=2, ls="--")
    ax.set_title(title)
    ax.set_xlim(0, 512)
    ax.set_ylim(256, 0)
    ax.set_xlabel("x (px)")
    ax.legend(loc="lower right", fontsize=8)
axes[0].set_ylabel("y (px, downwards)")
fig.suptitle("ProposalCreator: decode, clip, NMS at 0.7, keep the top 300")
fig.tight_layout()

# %% [markdown]
# ## 3. ProposalTargetCreator: the head's RoIs
#
# In training, the head does not see all proposals either. From the proposals **plus the
# ground-truth boxes themselves**, it samples 128 RoIs (*The losses of Faster R-CNN*; the slides use 64,
# *Detection – 3 stages*):
#
# * foreground: IoU ≥ 0.5 with a ground-truth box, at most 25 % of the sample, labelled
#   with the digit's class **+ 1** (0 is background);
# * background: IoU in $[0, 0.5)$, label 0, filling up the sample;
# * targets: $\tilde t = \mathrm{bbox2loc}(\text{roi}, \text{gt}) / (0.1, 0.1, 0.2, 0.2)$ for
#   the foreground, 0 for the background (which adds no localisation loss).

# %%
roi_train = proposal_creator(pretend_loc, pretend_score, anchors, img_size, training=True)
target_creator = ProposalTargetCreator(n_sample=128, pos_ratio=0.25, pos_iou_thresh=0.5)
sample_roi, gt_roi_loc, gt_roi_label = target_creator(
    roi_train, gt, gt_label, np.random.default_rng(0)
)
fg = gt_roi_label > 0
print(
    f"{len(roi_train)} proposals + 3 GT -> {len(sample_roi)} sampled RoIs: "
    f"{fg.sum()} foreground, {(~fg).sum()} background"
)
print("foreground labels (digit + 1):", np.unique(gt_roi_label[fg], return_counts=True))
print("digits were:", gt_label, "-> labels", gt_label + 1)
print("first foreground targets (normalised):\n", gt_roi_loc[fg][:3])
print("background targets are zero:", np.abs(gt_roi_loc[~fg]).max() == 0)

# %% alt="The digits image with the 128 RoIs sampled by ProposalTargetCreator: yellow foreground RoIs around the three digits, thin red background RoIs elsewhere, dashed green ground truth."
fig, ax = plt.subplots(figsize=(12, 6.5))
ax.imshow(image, extent=(0, 512, 256, 0))
draw(ax, sample_roi[~fg], "tab:red", "background RoI (label 0)", lw=0.6)
draw(ax, sample_roi[fg], "yellow", "foreground RoI (label digit + 1)", lw=1.2)
draw(ax, gt, "lime", "ground truth", lw=2, ls="--")
ax.set_xlim(0, 512)
ax.set_ylim(256, 0)
ax.set_xlabel("x (px)")
ax.set_ylabel("y (px, downwards)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
ax.set_title(f"ProposalTargetCreator: {fg.sum()} foreground + {(~fg).sum()} background RoIs")
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# * `AnchorTargetCreator` labels the anchors inside the image 1 / 0 / −1 and samples 256;
#   the "best anchor of each object" rule guarantees every object a positive anchor even
#   when no anchor reaches IoU 0.7, as happened here for all three digits.
# * Of the *pipeline* article's 1152 boxes, only a sampled 256 enter the RPN loss in training; at
#   inference, `ProposalCreator` ranks, suppresses and keeps the top ones, and a score
#   threshold decides.
# * `ProposalTargetCreator` samples the head's RoIs at ≤ 25 % foreground, with labels
#   shifted by +1 and normalised offsets.
#
# Next: **06 — losses**, which turn these targets into gradients.
