# %% [markdown]
# # 12 — RetinaNet and FCOS on a feature pyramid
#
# Two one-stage detectors share one feature pyramid (FPN, *Detection – 3 stages* §G3).
# RetinaNet (§I) keeps anchors — nine per cell — and fixes the one-stage problem, the
# extreme imbalance between a few foreground anchors and thousands of easy background
# ones, with the **focal loss**. FCOS (§N) drops the anchors: every feature-map location
# inside a box regresses its distances $(l, t, r, b)$ to the four sides, and a
# **centre-ness** branch scores down the poor boxes of off-centre locations. This notebook
#
# 1. measures the imbalance on a real MNIST scene (foreground vs background anchors);
# 2. sums cross-entropy and focal loss over easy and hard examples — how much of the loss
#    the easy negatives carry with each;
# 3. draws which anchors (RetinaNet) and locations (FCOS) are foreground at each level;
# 4. maps $(l, t, r, b)$ and the centre-ness over one object;
# 5. shows the effect of the prior π on the first iterations' loss;
# 6. runs the trained detectors (or, without a checkpoint, a short overfitting run).
#
# Documentation: *Concepts → RetinaNet and FCOS*; *API → bboxcore.targets*.

# %%
# %matplotlib inline
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore.data import MnistDetection
from bboxcore.losses import sigmoid_focal_loss
from bboxcore.models.base import Target
from bboxcore.models.presets import fcos_config, retinanet_config
from bboxcore.models.registry import build_model
from bboxcore.nn.optim import SGD
from bboxcore.targets import centerness, fcos_targets, retinanet_anchors, retinanet_targets

np.set_printoptions(precision=3, suppress=True)
T0 = time.perf_counter()


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 1.0)
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color,
                      label=label if i == 0 else None, **kw)
        )  # fmt: skip


test = MnistDetection("test", n_images=20)
sample = max((test[i] for i in range(len(test))), key=lambda smp: len(smp.bbox))  # a busy scene
names = [str(k) for k in range(10)]
rcfg, fcfg = retinanet_config("mnist-det", names), fcos_config("mnist-det", names)
strides = rcfg.pyramid.strides
feats = [(128 // s, 128 // s) for s in strides]  # P3, P4, P5 of a 128-px scene
print("boxes\n", sample.bbox, "\nlabels", sample.label, "\nlevels", feats, "strides", strides)

# %% [markdown]
# ## 1. The imbalance, measured
#
# RetinaNet's MNIST preset puts $A = 9$ anchors (sides $a_l \cdot \{2^0, 2^{1/3}, 2^{2/3}\}$,
# ratios 1:2, 1:1, 2:1) on each cell of P3–P5 with $a_l$ = 16, 32, 64 px; every anchor is
# labelled by `retinanet_targets`: IoU ≥ 0.5 foreground, < 0.4 background, in between
# ignored, plus each box's best anchor.

# %%
levels = retinanet_anchors(feats, strides, rcfg.anchor_sizes, rcfg.ratios, rcfg.scales)
anchor = np.concatenate(levels)
rt = retinanet_targets(anchor, sample.bbox, sample.label)
bounds = np.cumsum([0] + [len(a) for a in levels])
for lvl, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
    lab = rt.label[lo:hi]
    print(f"P{lvl + 3}: {hi - lo:5d} anchors  fg {np.sum(lab == 1):3d}  "
          f"bg {np.sum(lab == 0):5d}  ignored {np.sum(lab == -1):3d}")  # fmt: skip
n_fg, n_bg = int(np.sum(rt.label == 1)), int(np.sum(rt.label == 0))
print(f"all: {n_fg} foreground vs {n_bg} background anchors, 1 : {n_bg / n_fg:.0f}")
ft = fcos_targets(sample.bbox, sample.label, feats, strides, fcfg.size_ranges)
n_pos = int(np.sum(ft.gt_class >= 0))
print(f"FCOS: {n_pos} foreground vs {len(ft.gt_class) - n_pos} background locations")

# %% [markdown]
# On an 800-px COCO image with P3–P7 the paper counts ~100 000 anchors for a handful of
# objects (Sec. 3.2: "1:1000"). Even at 128 px, background anchors outnumber foreground
# ones by two orders of magnitude.
#
# ## 2. Cross-entropy vs focal loss: who carries the loss?
#
# Take the anchors of the scene with a plausible classifier early in training: the
# background ones are *easy* ($p = 0.01$, i.e. $p_t = 0.99$), the foreground ones *hard*
# ($p = 0.3$). Cross-entropy is $-\log p_t$; the focal loss is
# $-\alpha_t (1 - p_t)^\gamma \log p_t$ (α = 0.25, γ = 2).


# %% alt="Focal loss against p_t for several gamma; share of the loss from easy negatives"
def share(alpha, gamma, p_easy=0.01, p_hard=0.3):
    """Loss summed over the easy negatives and over the hard positives of the scene."""
    z_easy, z_hard = np.log(p_easy / (1 - p_easy)), np.log(p_hard / (1 - p_hard))
    easy = sigmoid_focal_loss(np.full(n_bg, z_easy), np.zeros(n_bg), alpha, gamma, reduction="sum")
    hard = sigmoid_focal_loss(np.full(n_fg, z_hard), np.ones(n_fg), alpha, gamma, reduction="sum")
    return float(easy), float(hard)


fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4))
pt = np.linspace(0.01, 1, 200)
for g in (0, 0.5, 1, 2, 5):
    z = np.log(pt / (1 - pt + 1e-12) + 1e-12)
    a0.plot(pt, sigmoid_focal_loss(z, np.ones_like(z), None, g, reduction="none"), label=f"γ = {g}")
a0.set(
    xlabel="$p_t$ (probability of the true class)", ylabel="loss", title="FL = -(1-p_t)^γ log p_t"
)
a0.legend()
rows = {"cross-entropy": share(None, 0.0), "focal (α = .25, γ = 2)": share(0.25, 2.0)}
for name, (easy, hard) in rows.items():
    print(f"{name:24s} easy negatives {easy:9.3f}  hard positives {hard:7.3f}  "
          f"-> easy share {easy / (easy + hard):.2%}")  # fmt: skip
a1.bar(list(rows), [e / (e + h) for e, h in rows.values()], color=["tab:gray", "tab:red"])
a1.set(
    ylim=(0, 1), ylabel="share of the loss from easy negatives", title=f"{n_bg} easy vs {n_fg} hard"
)
plt.show()

# %% [markdown]
# Each easy negative costs little under cross-entropy ($-\log 0.99 \approx 0.01$), but
# there are thousands: together they outweigh the few hard positives and dominate the
# gradient. The factor $(1 - p_t)^\gamma = 10^{-4}$ removes them almost entirely.
#
# ## 3. Which anchors and locations are foreground, level by level
#
# RetinaNet: an anchor is foreground by IoU, so each object picks the level whose anchor
# sizes fit it. FCOS: a location is foreground when it lies inside the box *and*
# $\max(l^*, t^*, r^*, b^*)$ falls in the level's range (0–32, 32–64, 64–∞ px here, the
# paper's 0/64/128/… halved for 128-px images); a location inside two boxes takes the smaller.

# %% alt="P3, P4, P5 of a scene: foreground anchors as boxes, foreground FCOS locations as dots"
fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
floc = np.cumsum([0] + [h * w for h, w in feats])
for lvl, ax in enumerate(axes):
    ax.imshow(sample.image)
    fg = np.flatnonzero(rt.label[bounds[lvl] : bounds[lvl + 1]] == 1) + bounds[lvl]
    draw(ax, anchor[fg], "tab:orange", f"{len(fg)} fg anchors")
    sl = slice(floc[lvl], floc[lvl + 1])
    pos = ft.gt_class[sl] >= 0
    ax.scatter(*ft.locations[sl][~pos].T, s=3, c="gray", label="locations")
    ax.scatter(*ft.locations[sl][pos].T, s=14, c="tab:cyan", label=f"{pos.sum()} fg locations")
    draw(ax, sample.bbox, "white", lw=0.6)
    ax.set(title=f"P{lvl + 3} (stride {strides[lvl]})", xlim=(0, 128), ylim=(128, 0))
    ax.legend(fontsize=7, loc="lower right")
plt.show()

# %% [markdown]
# ## 4. $(l^*, t^*, r^*, b^*)$ and centre-ness over one object
#
# For every pixel $(x, y)$ inside the largest digit's box:
# $l^* = x - x_0,\ t^* = y - y_0,\ r^* = x_1 - x,\ b^* = y_1 - y$, and the centre-ness
# $\sqrt{\frac{\min(l^*, r^*)}{\max(l^*, r^*)} \cdot \frac{\min(t^*, b^*)}{\max(t^*, b^*)}}$
# — 1 at the centre, 0 on the border.

# %% alt="Heat maps over one digit's box: l, t, r, b and the centre-ness"
area = (sample.bbox[:, 2] - sample.bbox[:, 0]) * (sample.bbox[:, 3] - sample.bbox[:, 1])
x0, y0, x1, y1 = sample.bbox[int(area.argmax())]
ys, xs = np.mgrid[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] + 0.5  # pixel centres
ltrb = np.stack([xs - x0, ys - y0, x1 - xs, y1 - ys], -1)  # (h, w, 4)
maps = [*np.moveaxis(ltrb, -1, 0), centerness(ltrb.reshape(-1, 4)).reshape(xs.shape)]
fig, axes = plt.subplots(1, 5, figsize=(14, 3.2))
for ax, m, title in zip(axes, maps, ["l*", "t*", "r*", "b*", "centre-ness"]):
    im = ax.imshow(m, cmap="viridis")
    ax.set_title(title)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046)
plt.show()
print("centre-ness at the centre pixel:", maps[4][maps[4].shape[0] // 2, maps[4].shape[1] // 2])

# %% [markdown]
# ## 5. The prior π and the first iterations
#
# RetinaNet initialises the classifier's bias to $b = -\log\frac{1 - \pi}{\pi}$ so that every
# score starts at π = 0.01. With $b = 0$ (π = 0.5) the ~3000 anchors × 10 classes all start
# at $p = 0.5$ and the background's loss swamps everything. Same weights otherwise, same
# two scenes, five SGD steps each:

# %%
batch = [test[i] for i in range(2)]
images = np.stack([s.image for s in batch]).astype(np.float32)
targets = [Target(s.bbox, s.label) for s in batch]
for prior in (0.01, 0.5):
    cfg = retinanet_config("mnist-det", names)
    cfg.prior = prior
    model = build_model("retinanet", cfg, 0)
    opt = SGD(model.parameters(), lr=0.002, momentum=0.9)
    history = []
    for _ in range(5):
        losses = model.loss(images, targets)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(float(losses["cls"].data))
    print(f"π = {prior:4}: bias {model.cls_logits.bias.data[0]:6.2f}, classification loss "
          f"over the first 5 steps {np.round(history, 2)}")  # fmt: skip

# %% [markdown]
# With π = 0.5 the first loss is dozens of times larger, almost all of it from background
# anchors, and the first updates mainly push every score down; with π = 0.01 the loss
# starts of order one and comes from the foreground.
#
# ## 6. The trained detectors
#
# `bboxcore train --model retinanet --dataset mnist-det --out runs/mnist-retinanet` and
# `--model fcos ... --out runs/mnist-fcos` train the presets (results in the README). If
# those run folders exist we load them; otherwise (e.g. in CI) each detector is overfitted
# for 30 steps on the two scenes above — enough to see the boxes appear, not to classify
# well. Each image shows its best as many detections as it has digits, with class:score.

# %% alt="Detections of RetinaNet and FCOS on two MNIST test scenes, with the ground truth"
from bboxcore.models.predict import load_detector  # noqa: E402
from bboxcore.nn.optim import Adam  # noqa: E402

detectors = {}
for name in ("retinanet", "fcos"):
    run = Path("..") / "runs" / f"mnist-{name}"
    if (run / "checkpoint.npz").exists():
        detectors[name] = (load_detector(run), f"{name} (trained, {run})")
        continue
    model = build_model(name, (retinanet_config if name == "retinanet" else fcos_config)(
        "mnist-det", names), 0)  # fmt: skip
    opt = Adam(model.parameters(), lr=0.003)
    for _ in range(30):
        opt.zero_grad()
        sum(model.loss(images, targets).values()).backward()
        opt.step()
    detectors[name] = (model, f"{name} (30 steps on these 2 scenes)")

fig, axes = plt.subplots(2, 2, figsize=(9, 9))
for row, (model, title) in enumerate(detectors.values()):
    for col, pred in enumerate(model.predict(images)):
        ax = axes[row, col]
        ax.imshow(images[col])
        draw(ax, batch[col].bbox, "white", "ground truth", ls="--")
        keep = slice(0, len(batch[col].bbox))  # the best as many as there are digits
        draw(ax, pred.bbox[keep], "tab:red", "best detections")
        for (bx, by, _, _), k, s in zip(pred.bbox[keep], pred.label[keep], pred.score[keep]):
            ax.text(bx, by - 1, f"{k}:{s:.2f}", color="yellow", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
axes[0, 0].legend(fontsize=7, loc="lower right")
plt.show()
print(f"notebook ran in {time.perf_counter() - T0:.1f} s")
