# %% [markdown]
# # 02 — IoU, GIoU, DIoU and CIoU
#
# Intersection over union is the measure of overlap used by every stage of a detector:
# labelling anchors (IoU > 0.7 positive, < 0.3 negative), sampling RoIs (≥ 0.5),
# suppressing duplicates (NMS), and scoring detections (a match at IoU ≥ 0.5).
# This notebook uses `bboxcore.iou` to show:
#
# 1. the four formulas on a pair of boxes you can check by hand;
# 2. a gallery of drawn pairs, where IoU cannot tell "near" from "far" but GIoU/DIoU can;
# 3. the four measures as one box slides across another;
# 4. the IoU matrix of anchors × ground-truth boxes as a heat map;
# 5. why the vectorised `box_iou` is used instead of a Python loop.
#
# Documentation: *Concepts → IoU, GIoU, DIoU, CIoU* and *API → bboxcore.iou*.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore.anchors import generate_anchor_base, grid_anchors
from bboxcore.iou import (
    box_iou,
    box_iou_aligned,
    complete_box_iou_aligned,
    distance_box_iou_aligned,
    generalized_box_iou_aligned,
)

np.set_printoptions(precision=4, suppress=True)


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        kw.setdefault("lw", 2)
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


def measures(a, b):
    """IoU, GIoU, DIoU, CIoU of boxes a[i] and b[i], all from bboxcore."""
    return {
        "IoU": box_iou_aligned(a, b),
        "GIoU": generalized_box_iou_aligned(a, b),
        "DIoU": distance_box_iou_aligned(a, b),
        "CIoU": complete_box_iou_aligned(a, b),
    }


# %% [markdown]
# ## 1. The formulas, by hand
#
# $$
# \mathrm{IoU} = \frac{|A \cap B|}{|A| + |B| - |A \cap B|},\qquad
# \mathrm{GIoU} = \mathrm{IoU} - \frac{|C| - |A \cup B|}{|C|},
# $$
#
# $$
# \mathrm{DIoU} = \mathrm{IoU} - \frac{\rho^2}{c^2},\qquad
# \mathrm{CIoU} = \mathrm{DIoU} - \alpha v,\quad
# v = \frac{4}{\pi^2}\left(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\right)^2,\quad
# \alpha = \frac{v}{(1 - \mathrm{IoU}) + v},
# $$
#
# where $C$ is the smallest box enclosing $A$ and $B$, $\rho$ the distance between their
# centres and $c$ the diagonal of $C$.
#
# **By hand** for $A = (0, 0, 4, 4)$ and $B = (2, 2, 6, 6)$:
#
# * intersection $2 \times 2 = 4$, union $16 + 16 - 4 = 28$:
#   $\mathrm{IoU} = 4/28 = 1/7 \approx 0.1429$;
# * $C = (0, 0, 6, 6)$, $|C| = 36$: $\mathrm{GIoU} = 1/7 - (36 - 28)/36 \approx -0.0794$;
# * centres $(2, 2)$ and $(4, 4)$: $\rho^2 = 8$, $c^2 = 6^2 + 6^2 = 72$:
#   $\mathrm{DIoU} = 1/7 - 8/72 \approx 0.0317$;
# * both boxes are square, so $v = 0$ and $\mathrm{CIoU} = \mathrm{DIoU}$.

# %%
A = np.array([[0.0, 0.0, 4.0, 4.0]])
B = np.array([[2.0, 2.0, 6.0, 6.0]])
for name, value in measures(A, B).items():
    print(f"{name:5s} = {value[0]:+.4f}")
# expect IoU +0.1429, GIoU -0.0794, DIoU +0.0317, CIoU +0.0317

# %% [markdown]
# ## 2. A gallery of pairs
#
# Five pairs, each drawn with the enclosing box $C$ (dotted) and the line between the
# centres. Check a few by hand:
#
# * **contained**: $B$ inside $A$ with the same centre: $C = A$ and $\rho = 0$, so all four
#   equal the IoU, $4 / 36 = 0.111$;
# * **near** and **far**: no overlap, so IoU = 0 for both — IoU cannot tell them apart.
#   GIoU can: near, $|C| = 10$ and $U = 8$: $-2/10 = -0.2$; far, $|C| = 20$: $-12/20 = -0.6$;
# * **crossed**: same centre, a 4 × 2 box across a 2 × 4 box: IoU = $4/12 = 1/3$, DIoU =
#   IoU (same centre), and CIoU < DIoU because the aspect ratios differ.

# %%
pairs = {
    "overlap": ([0, 0, 4, 4], [2, 2, 6, 6]),
    "contained": ([0, 0, 6, 6], [2, 2, 4, 4]),
    "near": ([0, 0, 2, 2], [3, 0, 5, 2]),
    "far": ([0, 0, 2, 2], [8, 0, 10, 2]),
    "crossed": ([0, 1, 4, 3], [1, 0, 3, 4]),
}
a = np.array([p[0] for p in pairs.values()], dtype=float)
b = np.array([p[1] for p in pairs.values()], dtype=float)
table = measures(a, b)
print(f"{'pair':10s}" + "".join(f"{k:>9s}" for k in table))
for i, name in enumerate(pairs):
    print(f"{name:10s}" + "".join(f"{v[i]:+9.3f}" for v in table.values()))

# %% alt="Five panels of box pairs (overlap, contained, near, far, crossed), each titled with its IoU, GIoU, DIoU and CIoU; the enclosing box C is drawn dotted."
fig, axes = plt.subplots(1, len(pairs), figsize=(15, 3.6))
for i, (ax, name) in enumerate(zip(axes, pairs)):
    enclosing = [
        min(a[i, 0], b[i, 0]),
        min(a[i, 1], b[i, 1]),
        max(a[i, 2], b[i, 2]),
        max(a[i, 3], b[i, 3]),
    ]  # drawn only
    draw(ax, enclosing, "0.5", "C", ls=":", lw=1.5)
    draw(ax, a[i], "tab:blue", "A")
    draw(ax, b[i], "tab:orange", "B")
    ca, cb = (a[i, :2] + a[i, 2:]) / 2, (b[i, :2] + b[i, 2:]) / 2
    ax.plot([ca[0], cb[0]], [ca[1], cb[1]], "k.--", lw=1, label="centre distance (DIoU)")
    ax.set_xlim(-1, 11)
    ax.set_ylim(7, -1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_title(
        name
        + "\n"
        + "  ".join(f"{k} {v[i]:+.2f}" for k, v in table.items() if k in ("IoU", "GIoU"))
        + "\n"
        + "  ".join(f"{k} {v[i]:+.2f}" for k, v in table.items() if k in ("DIoU", "CIoU")),
        fontsize=9,
    )
axes[0].set_ylabel("y (px, downwards)")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9)
fig.suptitle("Five box pairs A, B and their enclosing box C: four overlap measures")
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %% [markdown]
# ## 3. Sliding one box across another
#
# $B$, a 4 × 4 box, slides horizontally across $A = (0, 0, 4, 4)$, from far left to far
# right. IoU is flat at 0 whenever they do not touch — a loss $1 - \mathrm{IoU}$ would give
# no gradient there. GIoU and DIoU keep decreasing with the distance, so they still say
# which way to move. (At shift 0 the boxes coincide and all four are 1.)

# %% alt="IoU, GIoU, DIoU and CIoU as one box slides across another: IoU stays at 0 once they stop overlapping while the other three keep decreasing with the distance."
shift = np.linspace(-12, 12, 241)
A_rep = np.repeat(A, shift.size, axis=0)
B_slide = np.stack([shift, np.zeros_like(shift), shift + 4, np.full_like(shift, 4.0)], axis=1)
curves = measures(A_rep, B_slide)

fig, ax = plt.subplots(figsize=(7, 4))
style = {"IoU": {"lw": 5, "alpha": 0.4}, "CIoU": {"ls": "--"}}
for name, value in curves.items():
    ax.plot(shift, value, label=name, **style.get(name, {}))
ax.axhline(0, color="k", lw=0.6)
ax.axvspan(-12, -4, color="0.9", label="no overlap")
ax.axvspan(4, 12, color="0.9")
ax.set_xlabel("horizontal shift of B (px); grey: no overlap")
ax.set_ylabel("measure of A and B")
ax.legend()
ax.set_title("IoU is blind to distance once boxes stop overlapping")
fig.tight_layout()
print(
    "at shift ±6 (no overlap):", {k: round(float(v[shift == 6][0]), 4) for k, v in curves.items()}
)

# %% [markdown]
# Here CIoU equals DIoU because both boxes have the same shape ($v = 0$), and GIoU equals
# IoU while the boxes overlap, because for a horizontal slide the enclosing box $C$ is
# exactly $A \cup B$ (the thick IoU line lies under the GIoU line).
#
# ## 4. The IoU matrix of anchors × ground truth
#
# An RPN compares every anchor with every ground-truth box: `box_iou(anchors, gt)` is an
# $S \times G$ matrix. On a 256 × 256 image with stride 16 (a 16 × 16 feature map) and
# 9 anchors per cell (sides 32, 64, 128 px at ratios 1:2, 1:1, 2:1 — smaller than the
# paper's because the image is small) there are $16 \cdot 16 \cdot 9 = 2304$ anchors.

# %%
img_h = img_w = 256
stride = 16
anchor_base = generate_anchor_base(base_size=16, ratios=(0.5, 1, 2), scales=(2, 4, 8))
anchors = grid_anchors(anchor_base, stride, (img_h // stride, img_w // stride))
gt = np.array(
    [[30.0, 40.0, 100.0, 110.0], [120.0, 150.0, 240.0, 200.0], [150.0, 20.0, 190.0, 110.0]]
)
iou = box_iou(anchors, gt)  # (S, G)
print("anchors:", anchors.shape, "  IoU matrix:", iou.shape)
print("best IoU per ground-truth box:", iou.max(axis=0))
print("anchors with IoU > 0.7 per box:", (iou > 0.7).sum(axis=0))

# %% alt="Heat map of the IoU of every anchor with the three ground-truth boxes, and for each ground-truth box a map of the best anchor IoU at each image position."
fig = plt.figure(figsize=(13, 6.5))
ax = fig.add_subplot(2, 1, 1)
im = ax.imshow(iou.T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1)
ax.set_xlabel("anchor index s (cell-major: 9 anchors per cell, cells row by row)")
ax.set_yticks(range(len(gt)), [f"GT {g}" for g in range(len(gt))])
ax.set_ylabel("ground-truth box")
ax.set_title("box_iou(anchors, gt).T — the full S × G matrix")
fig.colorbar(im, ax=ax, fraction=0.02, label="IoU")

# The same matrix, one map per ground-truth box: the best of the 9 anchors of each cell.
best_per_cell = iou.reshape(img_h // stride, img_w // stride, len(anchor_base), len(gt)).max(axis=2)
for g in range(len(gt)):
    ax = fig.add_subplot(2, 3, 4 + g)
    ax.imshow(best_per_cell[:, :, g], extent=(0, img_w, img_h, 0), cmap="viridis", vmin=0, vmax=1)
    draw(ax, gt[g], "red", "ground-truth box")
    best = anchors[iou[:, g].argmax()]
    draw(ax, best, "white", "its best anchor", ls="--", lw=1.5)
    ax.set_title(f"GT {g}: best anchor IoU {iou[:, g].max():.2f} (colour: best IoU per cell)", fontsize=10)
    ax.set_xlabel("x (px)")
    ax.set_facecolor("0.3")
    if g == 0:
        ax.set_ylabel("y (px)")
        ax.legend(loc="upper right", fontsize=7, facecolor="0.8")
fig.tight_layout()

# %% [markdown]
# Red: the ground-truth box; dashed white: its best anchor. The bright cells are where an
# anchor of the right shape is centred near the object: these anchors will be labelled
# positive (notebook 05). GT 1 is a wide 120 × 50 box: no anchor reaches IoU 0.7 with it,
# which is why Faster R-CNN also makes **the best anchor of every ground-truth box**
# positive — otherwise this object would never be trained on.
#
# ## 5. Vectorised versus a Python loop
#
# `box_iou` computes the whole matrix with array operations, block by block. For
# comparison only, here is the obvious double loop (a slow reference written for this
# timing, not part of bboxcore); both must give the same numbers.


# %%
def iou_loop(boxes1, boxes2):
    """Slow reference, for the timing comparison only."""
    out = np.zeros((len(boxes1), len(boxes2)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(boxes1.tolist()):
        for j, (bx1, by1, bx2, by2) in enumerate(boxes2.tolist()):
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


rng = np.random.default_rng(0)
xy = rng.uniform(0, 500, size=(600, 2))
wh = rng.uniform(10, 100, size=(600, 2))
boxes = np.concatenate([xy, xy + wh], axis=1)
b1, b2 = boxes[:300], boxes[300:]


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


t_loop = best_time(lambda: iou_loop(b1, b2), repeat=1)
t_vec = best_time(lambda: box_iou(b1, b2))
print("same result:", np.allclose(iou_loop(b1, b2), box_iou(b1, b2)))
print(
    f"300 x 300 boxes: loop {1e3 * t_loop:.1f} ms, box_iou {1e3 * t_vec:.2f} ms "
    f"-> about {t_loop / t_vec:.0f}x faster"
)

# %% [markdown]
# The speed-up is typically two to three orders of magnitude (timings vary with the
# machine). At detection scale the loop is out of the question: 20 000 anchors × 50
# boxes is a million pairs, which `box_iou` handles in milliseconds, in float32 when the
# inputs are float32:

# %%
big = np.concatenate([rng.uniform(0, 800, (20000, 2)), rng.uniform(0, 800, (20000, 2))], axis=1)
big = np.concatenate([big[:, :2], big[:, :2] + np.abs(big[:, 2:]) / 8 + 1], axis=1).astype(
    np.float32
)
t_big = best_time(lambda: box_iou(big, big[:50]))
print(f"20000 x 50 pairs: {1e3 * t_big:.1f} ms, dtype {box_iou(big, big[:50]).dtype}")

# %% [markdown]
# ## Summary
#
# * IoU is in $[0, 1]$ and scale invariant, but is 0 for every non-overlapping pair.
# * GIoU ($[-1, 1]$) subtracts the empty part of the enclosing box; DIoU the normalised
#   centre distance; CIoU also the aspect-ratio mismatch — all three still rank
#   non-overlapping pairs, which is why they serve as regression losses.
# * `box_iou(anchors, gt)` gives the $S \times G$ matrix every target creator starts from.
#
# Next: **03 — NMS and Soft-NMS**, which uses IoU to remove duplicate detections.
