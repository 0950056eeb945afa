# %% [markdown]
# # 11 — YOLO v1, v2 and v3
#
# One network, one pass, a grid: the cell that holds an object's centre is responsible for
# it. The course deck *Detection – 3 stages* (§E–§H) walks through three versions; with
# `bboxcore.targets.yolo` and `bboxcore.losses.yolo` this notebook
#
# 1. draws YOLOv1's grid and the responsible cells on a real scene;
# 2. computes the v1 loss terms by hand for one cell and checks them against `yolov1_loss`;
# 3. compares k-means anchors with hand-picked ones (mean IoU);
# 4. draws the v2/v3 decoding $b_x = \sigma(t_x) + c_x$, $b_w = p_w e^{t_w}$ — why σ keeps the
#    centre in its cell;
# 5. shows which scale and anchor each object of a real image is assigned to in YOLOv3;
# 6. runs the trained detectors (or, without a checkpoint, a short overfitting run).
#
# Documentation: *Concepts → YOLO* and *API → bboxcore.targets*, *bboxcore.losses*.

# %%
# %matplotlib inline
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou, kmeans_anchors
from bboxcore.data import Detection, MnistDetection
from bboxcore.eval.plots import plot_detections
from bboxcore.losses import yolov1_loss
from bboxcore.models import TrainConfig, Trainer
from bboxcore.models.datasets import build_dataset
from bboxcore.models.predict import evaluate, load_detector
from bboxcore.models.presets import yolov3_config
from bboxcore.targets import yolo_decode, yolo_grid, yolov1_targets, yolov3_targets

np.set_printoptions(precision=3, suppress=True)


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 1.5)
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color,
                      label=label if i == 0 else None, **kw)
        )  # fmt: skip


test = MnistDetection("test", n_images=20)
sample = max((test[i] for i in range(len(test))), key=lambda smp: len(smp.bbox))  # a busy scene
print("image", sample.image.shape, "boxes\n", sample.bbox, "\nlabels", sample.label)

# %% [markdown]
# ## 1. The grid and the responsible cells (YOLOv1, §E1)
#
# The 128-px scene is cut into an $S \times S = 8 \times 8$ grid of 16-px cells. "If the
# center of an object falls into a grid cell, that grid cell is responsible for detecting
# that object": its targets are the centre relative to the cell, $(\hat x, \hat y) \in [0,
# 1]^2$, and the size relative to the image, $(\hat w, \hat h)$.

# %% alt="An MNIST scene with an 8 by 8 grid; the cells holding a digit centre are shaded"
S = 8
t1 = yolov1_targets(sample.bbox, sample.label, (128, 128), S, 10)
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(sample.image)
for k in range(1, S):
    ax.axhline(k * 16, color="w", lw=0.5)
    ax.axvline(k * 16, color="w", lw=0.5)
for r, c in np.argwhere(t1.obj_mask):
    ax.add_patch(Rectangle((c * 16, r * 16), 16, 16, color="yellow", alpha=0.4))
draw(ax, sample.bbox, "lime", "ground truth")
centres = (sample.bbox[:, :2] + sample.bbox[:, 2:]) / 2
ax.plot(centres[:, 0], centres[:, 1], "r+", ms=12, mew=2, label="centre")
ax.legend(loc="lower right", fontsize=8)
ax.set_title("responsible cells (yellow)")
plt.show()
for r, c in np.argwhere(t1.obj_mask):
    print(f"cell (row {r}, col {c}): x̂, ŷ, ŵ, ĥ = {t1.box[r, c]}, class {t1.cls[r, c].argmax()}")

# %% [markdown]
# ## 2. The YOLOv1 loss of one cell, by hand (§E2)
#
# Take the first responsible cell and a made-up output for it with $B = 2$ predictors. The
# responsible predictor is the one with the **higher IoU** with the truth; its confidence
# target is that IoU. The five sums of Eq. 3, for this one cell:

# %%
r, c = np.argwhere(t1.obj_mask)[0]
x_hat, y_hat, w_hat, h_hat = t1.box[r, c]
pred = np.zeros((1, S, S, 5 * 2 + 10))
pred[0, r, c, 0:5] = [x_hat + 0.1, y_hat - 0.05, w_hat * 1.2, h_hat * 0.9, 0.6]  # close
pred[0, r, c, 5:10] = [0.5, 0.5, 0.05, 0.05, 0.3]  # a small box in the middle of the cell
pred[0, r, c, 10:] = 0.05
pred[0, r, c, 10 + sample.label[0]] = 0.7 if t1.cls[r, c].argmax() == sample.label[0] else 0.05


def cell_box(x, y, w, h):
    """(x, y) in the cell, (w, h) in the image -> pixels."""
    cx, cy = (c + x) * 16, (r + y) * 16
    return np.array([[cx - w * 64, cy - h * 64, cx + w * 64, cy + h * 64]])


truth = cell_box(x_hat, y_hat, w_hat, h_hat)
ious = [box_iou(cell_box(*pred[0, r, c, 5 * j : 5 * j + 4]), truth)[0, 0] for j in range(2)]
j = int(np.argmax(ious))
x, y, w, h, C = pred[0, r, c, 5 * j : 5 * j + 5]
other_C = pred[0, r, c, 5 * (1 - j) + 4]
lc, ln = 5.0, 0.5
p_hat = t1.cls[r, c]
by_hand = {
    "xy": lc * ((x - x_hat) ** 2 + (y - y_hat) ** 2),
    "wh": lc * ((np.sqrt(w) - np.sqrt(w_hat)) ** 2 + (np.sqrt(h) - np.sqrt(h_hat)) ** 2),
    "obj": (C - ious[j]) ** 2,
    "noobj": ln * other_C**2,
    "cls": ((pred[0, r, c, 10:] - p_hat) ** 2).sum(),
}
# the loss over the whole grid: keep only this cell as an object cell
mask = np.zeros((1, S, S), bool)
mask[0, r, c] = True
terms = yolov1_loss(pred, mask, t1.box[None], t1.cls[None])
print(f"IoUs of the two predictors: {np.round(ious, 3)} -> predictor {j} is responsible")
for k in by_hand:
    print(f"{k:6s} by hand {by_hand[k]:.6f}   yolov1_loss {float(terms[k]):.6f}")
    assert np.isclose(by_hand[k], terms[k])

# %% [markdown]
# Every other cell predicts confidences 0 here, so the no-object sum over the rest of the grid
# is 0 and the two agree term by term.
#
# ## 3. k-means anchors vs hand-picked ones (YOLOv2, §F2.1)
#
# YOLOv2 picks its anchors by k-means on the training boxes with the distance
# $d = 1 - \mathrm{IoU}$ (boxes compared by shape only). How much better do they fit than
# nine anchors chosen by hand (Faster R-CNN style: 3 scales × 3 ratios)?

# %%
train_set = MnistDetection("train", n_images=500)
train_boxes = np.concatenate([train_set.annotation(i).bbox for i in range(len(train_set))])
wh = train_boxes[:, 2:] - train_boxes[:, :2]


def mean_iou(wh, anchors):
    """Mean over boxes of the best shape IoU with an anchor (centres aligned)."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(
        wh[:, None, 1], anchors[None, :, 1]
    )
    union = wh.prod(1)[:, None] + anchors.prod(1)[None] - inter
    return float((inter / union).max(1).mean())


hand = np.array([[s / np.sqrt(r), s * np.sqrt(r)] for s in (16, 24, 36) for r in (0.5, 1, 2)])
kmeans, kmeans_iou = kmeans_anchors(wh, 9, np.random.default_rng(0))
print("hand-picked (3 sides x 3 ratios): mean IoU", round(mean_iou(wh, hand), 3))
print("k-means, k = 9:                   mean IoU", round(kmeans_iou, 3))
print("k-means anchors (w, h), sorted by area:\n", kmeans.round(1))

# %% alt="Scatter of training box widths and heights with the hand-picked and k-means anchors"
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(wh[:, 0], wh[:, 1], s=3, alpha=0.3, label="training boxes")
ax.scatter(hand[:, 0], hand[:, 1], marker="s", c="tab:orange", label="hand-picked")
ax.scatter(kmeans[:, 0], kmeans[:, 1], marker="*", s=120, c="tab:red", label="k-means")
ax.set_xlabel("width (px)")
ax.set_ylabel("height (px)")
ax.legend()
plt.show()

# %% [markdown]
# MNIST digits are tall: the k-means anchors follow the cloud, the hand-picked wide ones
# are wasted.
#
# ## 4. The decoding: σ keeps the centre in its cell, exp scales the anchor (§F2.2)
#
# $$b_x = \sigma(t_x) + c_x,\quad b_y = \sigma(t_y) + c_y,\quad b_w = p_w e^{t_w},\quad
# b_h = p_h e^{t_h}$$
#
# Whatever the network outputs, $\sigma(t_x) \in (0, 1)$: the centre stays inside the cell
# $(c_x, c_y)$ that predicts it. Faster R-CNN's $g_x = p_w t_x + p_x$ has no such bound, which
# made YOLOv2's early training with anchors unstable before this change.

# %% alt="Left: sigmoid and exponential curves. Right: 200 decoded boxes, all centres in one cell"
rng = np.random.default_rng(0)
t = rng.normal(0, 2, (200, 4))
boxes = yolo_decode(t, [3, 2], [1.5, 2.0])  # grid units: cell (3, 2), anchor 1.5 x 2 cells
fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4))
z = np.linspace(-6, 6, 200)
a0.plot(z, 1 / (1 + np.exp(-z)), label=r"$\sigma(t_x)$: offset in the cell")
a0.plot(z, np.exp(z / 3), label=r"$e^{t_w/3}$ (scaled): size factor")
a0.axhline(1, color="gray", lw=0.5)
a0.legend()
a0.set_xlabel("network output t")
centre = (boxes[:, :2] + boxes[:, 2:]) / 2
a1.add_patch(Rectangle((3, 2), 1, 1, color="yellow", alpha=0.5, label="cell (3, 2)"))
a1.scatter(centre[:, 0], centre[:, 1], s=6, c="tab:red", label="decoded centres")
draw(a1, boxes[:3], "tab:blue", "three decoded boxes")
a1.set_xlim(0, 8)
a1.set_ylim(7, 0)
a1.set_aspect("equal")
a1.legend(fontsize=8)
a1.set_title("grid units")
plt.show()
inside = ((centre >= [3, 2]) & (centre <= [4, 3])).all(1)
print(f"{inside.mean():.0%} of the centres are inside cell (3, 2); in pixels (stride 8):",
      yolo_decode(t[:1], [3, 2], [12.0, 16.0], stride=8.0))  # fmt: skip

# %% [markdown]
# ## 5. YOLOv3: one anchor of nine, hence one scale, per object (§G1.2)
#
# The nine k-means anchors sorted by area go three per scale: the smallest to stride 8 (a
# 16 × 16 map on a 128-px scene), the largest to stride 32 (4 × 4). Each object goes to the
# anchor with the best shape IoU, at the cell of its centre on that anchor's scale.
#
# (This is the paper's rule. The trained MNIST preset also makes every anchor whose shape
# IoU with the object exceeds 0.5 responsible — `anchor_iou_thresh`, AlexeyAB's darknet
# `iou_thresh` — because one positive per digit teaches the class scores too slowly for a
# few minutes of CPU.)

# %%
anchors = kmeans
grid = yolo_grid((128, 128), anchors, (8, 16, 32))
t3 = yolov3_targets(sample.bbox, sample.label, (128, 128), anchors, (8, 16, 32), 10)
for k in np.flatnonzero(t3.obj == 1):
    s = int(grid.stride[k, 0])
    a = int(np.flatnonzero((anchors == grid.anchors[k]).all(1))[0])
    size = grid.anchors[k] * np.exp(t3.loc[k, 2:])  # b_w = p_w e^{t̂_w}: the object's size
    print(
        f"{size[0]:3.0f} x {size[1]:3.0f} px digit -> anchor {a} "
        f"({anchors[a, 0]:.0f} x {anchors[a, 1]:.0f}), stride {s:2d}, cell {grid.cells[k]}, "
        f"x̂ ŷ t̂_w t̂_h = {t3.loc[k]}, weight 2 - ŵĥ = {t3.box_weight[k]:.3f}"
    )
n_pos, n_neg = (t3.obj == 1).sum(), (t3.obj == 0).sum()
print(f"{n_pos} positives, {n_neg} no-object predictions of {len(t3.obj)}")

# %% [markdown]
# ## 6. The trained detectors
#
# `bboxcore train --model yolov3 --dataset mnist-det --out runs/yolov3-mnist` (and
# `--model yolov1 ... --out runs/yolov1-mnist`) train the two detectors with the shared
# trainer; the README gives the commands, times and APs. If their checkpoints are there,
# this section loads them and shows their detections on test scenes. Otherwise it trains a
# YOLOv3 for a few seconds on 8 training images (an overfitting check, not a result).

# %% alt="Test scenes with the detections of the YOLO detectors next to the ground truth"
RUNS = {name: Path(f"../runs/{name}-mnist/checkpoint.npz") for name in ("yolov3", "yolov1")}
models = {name: load_detector(run) for name, run in RUNS.items() if run.exists()}
if models:
    eval_set, eval_name = build_dataset("mnist-det", "test", n_images=100), "100 test scenes"
else:
    eval_set = build_dataset("mnist-det", "train", n_images=8)
    eval_name = "the 8 training scenes (overfitting check)"
    config = yolov3_config("mnist-det", eval_set.class_names)
    run_dir = tempfile.TemporaryDirectory()
    cfg = TrainConfig(model="yolov3", dataset="mnist-det", out=run_dir.name, epochs=30,
                      n_train=8, batch_size=4, optimizer="adam", lr=3e-3, weight_decay=0.0,
                      schedule="constant", warmup_iters=5, flip=False, eval_every=0,
                      progress=False, seed=0)  # fmt: skip
    trainer = Trainer(config, cfg, eval_set)
    t0 = time.perf_counter()
    trainer.fit()
    print(f"YOLOv3: {trainer.iteration} steps in {time.perf_counter() - t0:.0f} s")
    models = {"yolov3": trainer.model.eval()}
    run_dir.cleanup()

for name, model in models.items():
    result = evaluate(model, eval_set)
    print(f"{name} on {eval_name}: AP50 {result['ap50']:.3f}, COCO AP {result['coco_ap']:.3f}")

fig, axes = plt.subplots(len(models), 4, figsize=(16, 4.2 * len(models)), squeeze=False)
for row, (name, model) in zip(axes, models.items()):
    for i, ax in enumerate(row):
        sample = eval_set[i]
        bbox, label, score = model.predict(sample.image)[0]
        keep = score > 0.3
        plot_detections(sample.image, sample, Detection(bbox[keep], label[keep], score[keep]),
                        eval_set.class_names, ax=ax)  # fmt: skip
        ax.set_title(f"{name}, scene {i}: {keep.sum()} detections > 0.3")
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# * YOLOv1: the cell holding a centre is responsible; of its B predictors, the one with the
#   highest IoU; λ_coord = 5 on $(x, y)$ and $(\sqrt w, \sqrt h)$, λ_noobj = 0.5, all squared
#   errors (`yolov1_targets`, `yolov1_loss`).
# * YOLOv2: k-means anchors (`kmeans_anchors`), $b = (\sigma(t_x) + c_x, \sigma(t_y) + c_y,
#   p_w e^{t_w}, p_h e^{t_h})$ (`yolo_decode`, `yolo_encode`).
# * YOLOv3: nine anchors on three scales, one anchor per object, ignore above IoU 0.5,
#   logistic objectness and classes (`yolov3_targets`, `yolov3_loss`).
