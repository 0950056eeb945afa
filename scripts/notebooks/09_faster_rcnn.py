# %% [markdown]
# # 09 — Faster R-CNN, end to end
#
# Every piece of the previous notebooks in one detector, `bboxcore.models.FasterRCNN`,
# built from `bboxcore.nn` and the core modules and trained on a CPU:
#
# 1. the architecture, and the shapes of one image flowing through it;
# 2. training, and its four loss curves;
# 3. detections on images;
# 4. precision–recall curves and mAP.
#
# **Which detector?** If you have trained one with
#
# ```bash
# bboxcore train --dataset mnist-det          # about 10 minutes on 2 cores, into runs/mnist-det
# ```
#
# this notebook loads its checkpoint and evaluates it on the test split. Otherwise (as in
# `make test`) it does the classic sanity check of a detection pipeline instead: it
# **overfits 8 training images** for 80 steps (about 15 s on two cores) and evaluates on them — a
# pipeline that cannot do that has a bug. Documentation: *Concepts → Faster R-CNN*.

# %%
# %matplotlib inline
import csv
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from bboxcore.eval import voc_ap
from bboxcore.models.config import TrainConfig
from bboxcore.models.datasets import build_dataset
from bboxcore.models.faster_rcnn import FasterRCNN
from bboxcore.data import Detection
from bboxcore.eval.plots import plot_detections
from bboxcore.models.predict import evaluate, load_detector
from bboxcore.models.presets import mnist_config
from bboxcore.models.trainer import Trainer
from bboxcore.nn import no_grad

np.set_printoptions(precision=3, suppress=True)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto, no ipywidgets
RUN = Path("../runs/mnist-det")  # where `bboxcore train --dataset mnist-det` writes
HAVE_CHECKPOINT = (RUN / "checkpoint.npz").exists()
print("trained checkpoint found:" if HAVE_CHECKPOINT else "no checkpoint: short run", RUN)

# %% [markdown]
# ## 1. The architecture
#
# ```
# image (N, H, W, 3) ─► backbone ─► features (N, C, H/s, W/s)
#                                     │
#        RPN: 3×3 conv, 1×1 objectness (2A), 1×1 offsets (4A)  ─►  S = (H/s)(W/s)A anchors
#        ProposalCreator: decode, clip, top-n, NMS 0.7           ─►  RoIs
#                                     │
#        RoI Align 7×7 ─► fc ─► fc ─► K + 1 class scores, 4(K + 1) offsets
#        decode (std 0.1, 0.1, 0.2, 0.2) ─► per-class NMS ─► detections
# ```
#
# The MNIST-detection preset scales the paper's values to 128-pixel images of 12–40 px
# digits: a backbone of stride 8, anchors of 16, 32 and 64 px at three ratios (A = 9).

# %%
config = mnist_config()
model = FasterRCNN(config, np.random.default_rng(0))
print(model)
for part in ("backbone", "rpn", "head"):
    n = sum(p.data.size for p in getattr(model, part).parameters())
    print(f"{part:9s}: {n:8,d} parameters")
print(
    f"feature stride {model.backbone.feat_stride}, receptive field "
    f"{model.backbone.receptive_field()} px"
)

# %% [markdown]
# One 128 × 128 image through the untrained network, stage by stage (each call is a method
# of `FasterRCNN`). **By hand**: stride 8 gives a 16 × 16 feature map, so
# $S = 16 \cdot 16 \cdot 9 = 2304$ anchors, each with 2 objectness logits and 4 offsets.

# %%
test_set = build_dataset("mnist-det", "test", n_images=40)
image = test_set[0].image
model.eval()
with no_grad():
    x = model.preprocess(image)  # (1, 3, 128, 128)
    features = model.features(x)  # (1, C, 16, 16)
    rpn_loc, rpn_score, anchor, rois = model.proposals(features, image.shape[:2])
    roi_cls_loc, roi_score = model.detect_head(features, rois)
print("input     ", x.shape)
print("features  ", features.shape)
print("anchors   ", anchor.shape)
print("rpn_loc   ", rpn_loc.shape, "  rpn_score", rpn_score.shape)
print("RoIs      ", rois[0].shape, "(after NMS, test-time top-n)")
print("head      ", roi_cls_loc.shape, "offsets,", roi_score.shape, "class scores (K + 1 = 11)")

# %% [markdown]
# ## 2. Training
#
# Each step: the `AnchorTargetCreator` labels the anchors and the `ProposalTargetCreator`
# samples the RoIs (notebook 05); the four losses (notebook 06) — RPN objectness and
# smooth-L1 (σ = 3), head cross-entropy and smooth-L1 (σ = 1) — are summed and
# back-propagated through the head, RoI Align (notebook 07) and the network (notebook 08):
# approximate joint training.

# %% alt="The four Faster R-CNN losses (RPN objectness, RPN box, head class, head box) and their sum decreasing over the training steps."
if HAVE_CHECKPOINT:
    model = load_detector(RUN)
    with open(RUN / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    eval_set = build_dataset("mnist-det", "test", n_images=200)
    eval_name = "200 test images"
else:
    eval_set = build_dataset("mnist-det", "train", n_images=8)
    run_dir = tempfile.TemporaryDirectory()  # checkpoint and log of the short run
    cfg = TrainConfig(
        dataset="mnist-det",
        out=run_dir.name,
        epochs=20,
        n_train=8,
        batch_size=2,
        lr=0.02,
        schedule="constant",
        warmup_iters=10,
        flip=False,
        eval_every=0,
        progress=False,
        seed=0,
    )
    trainer = Trainer(config, cfg, eval_set)
    t0 = time.perf_counter()
    trainer.fit()
    print(f"{trainer.iteration} steps in {time.perf_counter() - t0:.0f} s")
    model, rows = trainer.model.eval(), trainer.log.rows()
    run_dir.cleanup()
    eval_name = "the 8 training images (overfitting check)"

it = np.array([int(r["iteration"]) for r in rows])
fig, ax = plt.subplots(figsize=(8, 4))
for name in ("rpn_cls", "rpn_loc", "roi_cls", "roi_loc", "total"):
    values = np.array([float(r[name]) for r in rows])
    k = max(1, len(values) // 50)  # light smoothing for long runs
    ax.plot(
        it[k - 1 :],
        np.convolve(values, np.ones(k) / k, mode="valid"),
        label=name,
        lw=2.5 if name == "total" else 1.2,
    )
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("loss")
ax.legend()
ax.set_title("the four losses of Faster R-CNN")
fig.tight_layout()
print("first and last total loss:", rows[0]["total"], rows[-1]["total"])

# %% [markdown]
# ## 3. Detections
#
# `model.predict(images)` runs the whole figure, decodes the class-specific offsets, clips,
# applies per-class NMS and the score threshold. Green: ground truth; dashed red:
# predictions with their class and score.

# %% alt="Four test images of handwritten digits with the detections above score 0.3 drawn as labelled boxes next to the ground truth."
fig, axes = plt.subplots(2, 2, figsize=(9, 9.8), layout="constrained")
for i, ax in enumerate(axes.ravel()):
    sample = eval_set[i]
    bbox, label, score = model.predict(sample.image)[0]
    keep = score > 0.3
    plot_detections(
        sample.image,
        sample,
        Detection(bbox[keep], label[keep], score[keep]),
        config.class_names,
        ax=ax,
    )
    ax.set_title(f"image {i}: {keep.sum()} detections > 0.3")
fig.legend(
    [
        plt.matplotlib.lines.Line2D([], [], color="tab:green", lw=2),
        plt.matplotlib.lines.Line2D([], [], color="tab:red", lw=2, ls="--"),
    ],
    ["ground truth", "detection (digit: score)"],
    loc="outside lower center",
    ncol=2,
)
fig.suptitle("Detections of the detector trained above (128 × 128 images)")

# %% [markdown]
# ## 4. Precision–recall curves and mAP
#
# `evaluate` predicts every image and scores the detections with `voc_ap` (notebook 10):
# one PR curve and one AP per digit, averaged into the mAP, plus COCO's AP@[.5:.95].

# %% alt="Precision-recall curves at IoU 0.5 for each digit class, with the mean average precision in the title."
result = evaluate(model, eval_set)
voc = voc_ap(
    result["predictions"],
    [eval_set.annotation(i) for i in range(len(eval_set))],
    n_class=config.n_class,
)
print(f"on {eval_name}: mAP@0.5 = {result['ap50']:.3f}, COCO AP = {result['coco_ap']:.3f}")
print("AP per digit:", ", ".join(f"{c}: {a:.2f}" for c, a in zip(config.class_names, voc.ap)))

fig, ax = plt.subplots(figsize=(6.5, 5))
for k in range(config.n_class):
    if len(voc.recall[k]):
        ax.plot(
            voc.recall[k], voc.precision[k], label=f"{config.class_names[k]}: AP {voc.ap[k]:.2f}"
        )
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_xlim(0, 1.02)
ax.set_ylim(0, 1.05)
ax.legend(fontsize=7, ncol=2)
ax.set_title(f"PR curves at IoU 0.5 — mAP {voc.map:.3f}")
fig.tight_layout()

# %% [markdown]
# Without a checkpoint, these numbers are on the 8 images the network has just memorised:
# they show that gradients flow through every part and that the targets, losses and
# decoding agree — not that the detector generalises. Train it properly with
# `bboxcore train --dataset mnist-det` (or `make demo` for the tree crowns) and run this
# notebook again to see test-set curves.
#
# ## Summary
#
# * `FasterRCNN` reads like the paper's figure: `features` → `proposals` (RPN + the
#   `ProposalCreator`) → `detect_head` (RoI Align + fc layers) → `predict`.
# * Training sums the RPN and head losses, with targets from the two target creators.
# * `evaluate` gives VOC mAP and COCO AP from the same `bboxcore.eval` functions as
#   notebook 10.
