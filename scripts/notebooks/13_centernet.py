# %% [markdown]
# # 13 — CenterNet: objects as points
#
# No anchors, no proposals, no NMS. CenterNet (Zhou, Wang, Krähenbühl, *Objects as Points*,
# arXiv:1904.07850; the course deck *Detection – 3 stages*, §M) predicts, on a grid of
# output stride $R$, one heatmap per class whose peaks are the objects, and the size and a
# sub-cell offset of the box at each peak. This notebook
#
# 1. draws the Gaussian heatmap targets of a real MNIST scene over it;
# 2. checks CornerNet's radius by moving the corners of a box — and shows the bug of the
#    reference code;
# 3. looks at the penalty-reduced focal loss ($\alpha = 2$, $\beta = 4$) near a peak;
# 4. loads the trained detector (`bboxcore train --model centernet --dataset mnist-det`) and
#    replaces NMS by a 3 × 3 max-pool on its heatmap, step by step;
# 5. draws its detections and measures its AP.
#
# Documentation: *Concepts → CenterNet*, *API → bboxcore.targets*, *bboxcore.losses*.

# %%
# %matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou, heatmap_peaks
from bboxcore.data import MnistDetection
from bboxcore.losses import centernet_focal_loss
from bboxcore.targets import centernet_decode, centernet_targets, gaussian_radius

np.set_printoptions(precision=3, suppress=True)
R = 4  # output stride: a 128-px scene gives a 32 x 32 grid


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 1.5)
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color,
                      label=label if i == 0 else None, **kw)
        )  # fmt: skip


test = MnistDetection("test", n_images=30)
sample = max((test[i] for i in range(len(test))), key=lambda smp: len(smp.bbox))  # a busy scene
print("boxes (px)\n", sample.bbox, "\ndigits", sample.label)

# %% [markdown]
# ## 1. The heatmap targets
#
# Each box of class $c$ with centre $p$ puts a Gaussian of peak 1 at the cell
# $\tilde p = \lfloor p/R \rfloor$ of heatmap $c$; bumps of one class are combined by the
# element-wise maximum:
#
# $$Y_{xyc} = \exp\Bigl(-\frac{(x-\tilde p_x)^2 + (y-\tilde p_y)^2}{2\sigma_p^2}\Bigr),
# \qquad \sigma_p = \frac{2r + 1}{6},$$
#
# with $r$ CornerNet's radius of the box measured in cells (section 2). The size target is
# $(w, h)/R$ and the offset target $p/R - \tilde p$, both read at the centre cell only.

# %%
grid = (128 // R, 128 // R)
t = centernet_targets(sample.bbox, sample.label, 10, grid, R)
t1 = centernet_targets(sample.bbox, sample.label, 10, grid, R, min_radius=1)
wh = (sample.bbox[:, 2:] - sample.bbox[:, :2]) / R
print("box size in cells (w, h):\n", wh)
print("radius r (paper, o = 0.7):", gaussian_radius(wh[:, 1], wh[:, 0]).round(2))
print("centre cells (x, y):", np.stack([t.index % grid[1], t.index // grid[1]], 1).tolist())
print("offsets p/R - floor(p/R):\n", t.offset)

# %% alt="An MNIST scene with its ground-truth boxes and, side by side, the maximum over classes of the Gaussian target heatmaps with radius 0 and with a minimum radius of one cell"
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
axes[0].imshow(sample.image)
draw(axes[0], sample.bbox, "lime")
axes[0].set_title("scene and its boxes")
for ax, targets, title in (
    (axes[1], t, "paper's radius (r = 0 here)"),
    (axes[2], t1, "min_radius = 1"),
):
    ax.imshow(sample.image, alpha=0.5)
    heat = np.kron(targets.heatmap.max(axis=0), np.ones((R, R)))  # cells -> pixels
    ax.imshow(heat, cmap="magma", alpha=0.6, vmin=0, vmax=1)
    draw(ax, sample.bbox, "lime", lw=1)
    ax.set_title(title)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# With the paper's radius, digits of 4–10 cells get $r < 1$, so $r = \lfloor r \rfloor = 0$:
# the target is a single cell and its neighbours are ordinary negatives. The detector's
# preset therefore keeps at least $r = 1$ ($\sigma = 1/2$): the eight neighbours get
# $e^{-2} = 0.135$ (sides) or $e^{-4} = 0.018$ (corners).

# %% [markdown]
# ## 2. CornerNet's radius, checked by moving a box
#
# How far may the corners move and keep IoU $\ge o = 0.7$? Three ways to move them, three
# quadratics (Law & Deng, CornerNet, Sec. 3.2):
#
# | case | moved box | equation |
# | --- | --- | --- |
# | 1 | translated by $(r, r)$ | $r^2 - (w+h)r + \frac{1-o}{1+o}wh = 0$ |
# | 2 | shrunk by $r$ per side | $4r^2 - 2(w+h)r + (1-o)wh = 0$ |
# | 3 | grown by $r$ per side | $4o\,r^2 + 2o(w+h)r - (1-o)wh = 0$ |
#
# $r = \min(r_1, r_2, r_3)$. Below, a 40 × 24 box moved by its radius in the three ways.

# %%
w, h, o = 40.0, 24.0, 0.7
r = gaussian_radius(h, w, o)
gt = np.array([[0.0, 0.0, w, h]])
moved = np.array([[r, r, w + r, h + r], [r, r, w - r, h - r], [-r, -r, w + r, h + r]])
ious = box_iou(gt, moved)[0]
print(f"r = {r:.3f} px;  IoU translated, shrunk, grown = {ious.round(4)}")  # min is exactly 0.7


def code_radius(h, w, o=0.7):
    """The reference code's gaussian_radius (CenterNet src/lib/utils/image.py), roots (b + sq) / 2."""
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    r1 = (b1 + np.sqrt(b1**2 - 4 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - o) * w * h
    r2 = (b2 + np.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    r3 = (b3 + np.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


rc = code_radius(h, w)
shrunk = np.array([[rc, rc, w - rc, h - rc]])
print(
    f"reference code: r = {rc:.3f} px, the box shrunk by it keeps IoU {box_iou(gt, shrunk)[0, 0]:.3f}"
)

# %% alt="A 40 by 24 box and the three boxes moved by the CornerNet radius: translated, shrunk and grown, each labelled with its IoU"
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, box, iou, name in zip(axes, moved, ious, ("translated", "shrunk", "grown")):
    draw(ax, gt, "black", "ground truth")
    draw(ax, box, "crimson", f"moved by r = {r:.2f}")
    ax.set_xlim(-6, w + 6)
    ax.set_ylim(h + 6, -6)
    ax.set_aspect("equal")
    ax.set_title(f"{name}: IoU {iou:.3f}")
axes[0].legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# The shrunk box binds (IoU exactly 0.7): the radius is as large as it can be. The
# reference code computes every root as $(b + \sqrt{b^2 - 4ac})/2$ — the larger root, and
# no division by $2a$ — and returns a radius 3.3 times too large; `bboxcore` implements the
# paper's roots (CornerNet fixed its code later, CenterNet kept it).

# %% [markdown]
# ## 3. The penalty-reduced focal loss near a peak
#
# $$L_k = \frac{-1}{N}\sum_{xyc}\begin{cases}(1-\hat Y)^\alpha\log\hat Y & Y = 1\\
# (1-Y)^\beta\,\hat Y^\alpha\log(1-\hat Y) & \text{otherwise}\end{cases}$$
#
# A cell next to a centre is a negative, but $(1-Y)^\beta$ makes a high score there cheap:
# the network is not punished for a peak one cell off.

# %% alt="Loss against the predicted score for a centre cell, a cell next to the centre and a background cell, with binary cross-entropy for comparison"
score = np.linspace(0.01, 0.99, 99)
z = np.log(score / (1 - score))  # logits of these scores
fig, ax = plt.subplots(figsize=(6.5, 4))
for y, name in (
    (1.0, "centre, Y = 1"),
    (np.exp(-2), "neighbour, Y = 0.135"),
    (0.0, "background, Y = 0"),
):
    loss = centernet_focal_loss(z, np.full_like(z, y), reduction="none")
    ax.plot(score, loss, label=name)
ax.plot(score, -np.log(1 - score), "k:", label="BCE of a negative")
ax.set_xlabel("predicted score $\\hat Y$")
ax.set_ylabel("loss of the cell")
ax.set_ylim(0, 3)
ax.legend()
plt.show()
for y in (0.0, np.exp(-2), np.exp(-1), 0.9):
    print(f"Y = {y:.3f}: weight (1 - Y)^4 = {(1 - y) ** 4:.3f}")

# %% [markdown]
# ## 4. The trained detector, and a 3 × 3 max-pool instead of NMS
#
# `bboxcore train --model centernet --dataset mnist-det --optimizer adam --lr 4e-3
# --batch-size 8 --epochs 4 --warmup-iters 200` trains the preset of
# `bboxcore.models.presets.centernet_config`: the stride-8 VGG-like backbone, one ×2
# up-sampling to $R = 4$, three heads of 3 × 3 conv + 1 × 1 conv, heatmap bias
# $-\log 9 = -2.19$ (every cell starts at score 0.1) — test AP50 0.979, COCO AP 0.707
# after 12.5 minutes on a shared 2-core CPU. The weights of that run are committed as
# `notebooks/data/centernet_mnist.npz` (model only, 0.4 MB); without them, a short run on
# a few images stands in.

# %%
from bboxcore.models.base import Target  # noqa: E402
from bboxcore.models.centernet import CenterNet  # noqa: E402
from bboxcore.models.presets import centernet_config  # noqa: E402
from bboxcore.nn import load, no_grad  # noqa: E402
from bboxcore.nn.optim import Adam  # noqa: E402

WEIGHTS = Path("data") / "centernet_mnist.npz"
model = CenterNet(
    centernet_config("mnist-det", [str(k) for k in range(10)]), np.random.default_rng(0)
)
if WEIGHTS.exists():
    model.load_state_dict(load(WEIGHTS))
    print("loaded", WEIGHTS)
else:  # a short overfitting run on 8 test scenes (under a minute)
    images = np.stack([test[i].image for i in range(8)])
    targets = [Target(test[i].bbox, test[i].label) for i in range(8)]
    opt = Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        losses = model.loss(images, targets)
        sum(losses.values()).backward()
        opt.step()
    print("short run, last losses:", {k: round(float(v.data), 3) for k, v in losses.items()})

# %% [markdown]
# The network's heatmap has a blob around each object, not a single cell. CenterNet keeps a
# cell when it equals the maximum of its 3 × 3 neighbourhood (`keep = (hmax == heat)`),
# then the top 100 over all classes; the box of a peak is
# $R\,(\hat x + \delta\hat x \pm \hat w/2,\ \hat y + \delta\hat y \pm \hat h/2)$.

# %%
model.eval()
with no_grad():
    heat, size, offset = model(model.preprocess(sample.image))
pred = heat.sigmoid().data[0]  # (10, 32, 32): the predicted Ŷ
c = int(sample.label[0])  # the class of the first digit
padded = np.pad(pred[c], 1, constant_values=-np.inf)
hmax = np.max([padded[dy : dy + 32, dx : dx + 32] for dy in range(3) for dx in range(3)], axis=0)
keep = hmax == pred[c]
print(f"class {c}: cells above 0.3:", int((pred[c] > 0.3).sum()),
      " peaks above 0.3:", int((keep & (pred[c] > 0.3)).sum()))  # fmt: skip
scores, cls, ys, xs = heatmap_peaks(pred, k=8)
print("top 8 peaks of all classes: scores", scores, "classes", cls)
print("ground truth digits:", sorted(sample.label.tolist()))

# %% alt="Four panels: the predicted heatmap of one class, its 3 by 3 max-pool, the cells equal to their max-pool, and the peaks above 0.3"
fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
for ax, img, title in (
    (axes[0], pred[c], f"predicted heatmap, class {c}"),
    (axes[1], hmax, "3 x 3 max-pool (stride 1)"),
    (axes[2], keep, "keep = (hmax == heat)"),
    (axes[3], pred[c] * keep * (pred[c] > 0.3), "peaks above 0.3"),
):
    ax.imshow(img, cmap="magma")
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown]
# Decoding the targets themselves (a "perfect network") returns the ground truth — except
# when two objects of one class share a centre cell: one peak, one box. The paper counts
# fewer than 0.1 % of COCO objects so merged at $R = 4$.

# %%
size_map, offset_map = np.zeros((2, *grid)), np.zeros((2, *grid))
ys_gt, xs_gt = t1.index // grid[1], t1.index % grid[1]
size_map[:, ys_gt, xs_gt], offset_map[:, ys_gt, xs_gt] = t1.size.T, t1.offset.T
bbox, label, score = centernet_decode(t1.heatmap, size_map, offset_map, R, score_thresh=0.5)
print("decoded = ground truth:", np.allclose(np.sort(bbox, 0), np.sort(sample.bbox, 0), atol=1e-4))
two = np.array([[10.0, 10.0, 30.0, 30.0], [12.0, 12.0, 29.0, 31.0]])  # centres 20 and 20.5 px
tt = centernet_targets(two, [3, 3], 10, grid, R)
print("two 3s in one cell -> centre cells", tt.index, "-> peaks:", int((tt.heatmap == 1).sum()))

# %% [markdown]
# ## 5. Detections
#
# The boxes of the peaks, on test scenes the network never saw (scores above 0.3 drawn),
# and AP on the first 200 test scenes (the README's table has the whole test split).

# %% alt="Six MNIST test scenes with the detector's boxes and scores in red and the ground truth in green"
fig, axes = plt.subplots(2, 3, figsize=(12, 8))
for i, ax in enumerate(axes.ravel()):
    smp = test[i]
    det = model.predict(smp.image)[0]
    ax.imshow(smp.image)
    draw(ax, smp.bbox, "lime", lw=1)
    good = det.score > 0.3
    draw(ax, det.bbox[good], "red")
    for (x1, y1, _, _), k, s in zip(det.bbox[good], det.label[good], det.score[good]):
        ax.text(x1, y1 - 2, f"{k} {s:.2f}", color="red", fontsize=8)
    ax.axis("off")
plt.show()

# %%
from bboxcore.models.predict import evaluate  # noqa: E402

metrics = evaluate(model, MnistDetection("test", n_images=200))
print(
    f"AP50 {metrics['ap50']:.3f}   COCO AP {metrics['coco_ap']:.3f}   ({metrics['n_images']} images)"
)
