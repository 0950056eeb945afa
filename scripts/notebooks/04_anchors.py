# %% [markdown]
# # 04 — Anchors
#
# An RPN does not search for boxes anywhere: it scores and refines a fixed set of
# **anchors**, reference boxes of a few shapes placed at every cell of the feature map.
# With `bboxcore.anchors`, this notebook
#
# 1. draws the 9 base anchors of Faster R-CNN (the *Faster R-CNN* lecture: 3 scales × 3 ratios);
# 2. lays them on a grid over a real image;
# 3. reproduces the numbers of the slides: 17 100 anchors for a 38 × 50 map, about
#    20 000 for a 1000 × 600 image and how many lie inside it;
# 4. reproduces the receptive fields 171 (ZF) and 228 (VGG-16);
# 5. computes YOLOv2's k-means anchors on real tree-crown boxes, with the mean-IoU-vs-k curve.
#
# Documentation: *Concepts → Anchors* and *API → bboxcore.anchors*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou
from bboxcore.anchors import (
    VGG16_LAYERS,
    ZF_LAYERS,
    generate_anchor_base,
    grid_anchors,
    inside_image,
    kmeans_anchors,
    receptive_field,
)
from bboxcore.data import MnistDetection, NeonTreeCrowns

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
# ## 1. The 9 base anchors
#
# For a base size $b$ (the feature stride, 16 px), an aspect ratio $r = h / w$ and a
# scale $s$:
#
# $$
# h = b\,s\sqrt{r},\qquad w = \frac{b\,s}{\sqrt r},\qquad w\,h = (b\,s)^2 .
# $$
#
# Ratios $(0.5, 1, 2)$ and scales $(8, 16, 32)$ give the areas $128^2, 256^2, 512^2$ of the
# paper. **By hand**, ratio 0.5 at scale 8: $h = 128\sqrt{0.5} = 90.5$,
# $w = 128/\sqrt{0.5} = 181.0$, and $w h = 128^2$.

# %%
anchor_base = generate_anchor_base(base_size=16, ratios=(0.5, 1, 2), scales=(8, 16, 32))
wh = anchor_base[:, 2:] - anchor_base[:, :2]
print("  ratio  scale      w      h   sqrt(area)")
for a, (r, s) in enumerate([(r, s) for r in (0.5, 1, 2) for s in (8, 16, 32)]):
    print(f"{r:7.1f} {s:6d} {wh[a, 0]:6.1f} {wh[a, 1]:6.1f} {np.sqrt(wh[a].prod()):8.1f}")

# %% alt="The 9 base anchors of one cell (3 scales by 3 aspect ratios) drawn around their common centre."
fig, ax = plt.subplots(figsize=(6, 6))
colors = ["tab:blue", "tab:orange", "tab:green"]
for a, box in enumerate(anchor_base):
    draw(
        ax,
        box,
        colors[a % 3],
        label=f"scale {(8, 16, 32)[a % 3]}" if a < 3 else None,
        ls=("--", "-", ":")[a // 3],
    )
ax.plot(8, 8, "k+", ms=12, label="common centre (8, 8)")
ax.set_xlim(-400, 420)
ax.set_ylim(420, -400)
ax.set_aspect("equal")
ax.set_xlabel("x (px)")
ax.set_ylabel("y (px, downwards)")
ax.legend(loc="upper right")
ax.set_title(
    "The 9 base anchors, centred on (8, 8), the centre of the first 16 px cell\n"
    "dashed: ratio h/w = 0.5 (wide), solid: 1, dotted: 2 (tall)"
)
fig.tight_layout()

# %% [markdown]
# ## 2. Anchors on a grid over an image
#
# The anchors of cell $(y, x)$ are the base anchors shifted by $(x \cdot 16, y \cdot 16)$,
# so they are centred on the cell's centre. On a 128 × 128 scene of MNIST digits, with a
# stride of 16 (an 8 × 8 feature map) and anchor sides of 16, 32 and 64 px (scales 1, 2, 4,
# the right sizes for these digits), there are $8 \cdot 8 \cdot 9 = 576$ anchors:

# %% alt="Two panels on a 128 by 128 image: the 9 anchors of one cell with all 64 cell centres as white dots, and the anchors that lie entirely inside the image."
scene = MnistDetection("train", image_size=128, n_images=4, seed=0)[0]
small_base = generate_anchor_base(base_size=16, ratios=(0.5, 1, 2), scales=(1, 2, 4))
anchors = grid_anchors(small_base, 16, (8, 8))
print("anchors:", anchors.shape)  # (576, 4)
inside = inside_image(anchors, (128, 128))
print(f"{len(inside)} of {len(anchors)} lie entirely inside the image")

fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
for ax in axes:
    ax.imshow(scene.image, extent=(0, 128, 128, 0))
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    ax.plot(centres[:, 0], centres[:, 1], "w.", ms=3, label="anchor centres (one per cell)")
    draw(ax, scene.bbox, "lime", "ground truth", lw=2)
    ax.set_xlim(-40, 168)
    ax.set_ylim(168, -40)
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px, downwards)")
cell = (3 * 8 + 4) * 9  # cell (y=3, x=4): rows (y W + x) A ... + A
draw(axes[0], anchors[cell : cell + 9], "tab:red", "the 9 anchors of cell (3, 4)")
axes[0].set_title("one cell's anchors; white dots: all 64 cell centres")
draw(axes[1], anchors[inside], "tab:cyan", "anchors inside the image", lw=0.4)
axes[1].set_title(f"the {len(inside)} anchors that lie inside the image")
for ax in axes:
    ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 3. The numbers of the slides
#
# **17 100.** A ≈ 600 × 800 image through VGG-16 (stride 16) gives a 38 × 50 feature map;
# the RPN outputs $1 \times 9 \times 38 \times 50$ scores and $1 \times 36 \times 38 \times 50$
# offsets (*Detection – 3 stages*, §C2): $9 \cdot 38 \cdot 50 = 17\,100$ anchors.

# %%
print(len(grid_anchors(anchor_base, 16, (38, 50))))  # expect 17100

# %% [markdown]
# **≈ 20k, then ≈ 6k.** the *Faster R-CNN* lecture: *"a 1000 × 600 image has about 60 × 40 × 9 (20k) anchors;
# ignoring the anchors that cross the boundary leaves about 6k."* At stride 16 the map is
# $\lceil 600/16 \rceil \times \lceil 1000/16 \rceil = 38 \times 63$:

# %%
feat = (int(np.ceil(600 / 16)), int(np.ceil(1000 / 16)))
anchors_big = grid_anchors(anchor_base, 16, feat)
inside_big = inside_image(anchors_big, (600, 1000))
print(f"feature map {feat}: {len(anchors_big)} anchors, {len(inside_big)} inside the image")
per_shape = np.bincount(inside_big % 9, minlength=9)
print("inside, per base anchor (ratio-major, scales 8/16/32):", per_shape)

# %% [markdown]
# We get about 21 500 anchors (the slide's "about 20k") and about 8 000 inside (the
# slide's "about 6k"; the exact count depends on the resized image size and on where the
# anchors are centred — Caffe's code used integer boxes centred at 7.5). The count per
# base anchor shows *why* so many are dropped: of the 38 × 63 = 2394 positions, the
# 128-scale anchors fit at most of them, the 256-scale ones at fewer than half, and the
# 512-scale ones (724 × 362, 512 × 512, 362 × 724) at a few hundred or none — the tall one
# is higher than the 600-pixel image. At training time the RPN only learns from the
# anchors inside; at test time all of them are used and their boxes are clipped to the
# image.
#
# ## 4. Receptive field: 171 and 228
#
# How much of the image does one 3 × 3 window on the last feature map see? Walking back
# from the RPN's window to the image (the *Faster R-CNN* lecture):
#
# $$
# F(i) = (F(i+1) - 1) \times \mathrm{stride}_i + \mathrm{ksize}_i .
# $$
#
# `receptive_field(layers)` computes it for a list of (ksize, stride); applied to the
# last $k$ layers of ZF-net it gives each line of the slide's table:

# %%
zf_names = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "RPN 3x3"]
for i in range(len(ZF_LAYERS) - 1, -1, -1):
    ksize, stride = ZF_LAYERS[i]
    print(
        f"input of {zf_names[i]:8s} (k={ksize}, s={stride}): F = {receptive_field(ZF_LAYERS[i:])}"
    )
print("ZF:", receptive_field(ZF_LAYERS), " VGG-16:", receptive_field(VGG16_LAYERS))  # 171, 228

# %% [markdown]
# So the RPN of ZF sees 171 × 171 pixels around each cell, yet predicts boxes of 512² and
# more: as the paper says, "one may still roughly infer the extent of an object if only
# the middle of the object is visible".
#
# ## 5. YOLOv2's k-means anchors on real boxes
#
# Instead of hand-picking shapes, YOLOv2 clusters the (w, h) of the training boxes with
# the distance $d = 1 - \mathrm{IoU}$ between shapes aligned at a common corner (*Detection – 3 stages*,
# F2): a Euclidean distance would let large boxes dominate. Here on the 942 hand-drawn
# tree crowns of the NEON images (real airborne photographs, 10 cm per pixel), and on the
# digit boxes of 500 MNIST scenes.

# %%
trees = NeonTreeCrowns("all", tile_size=400)
tree_wh = np.concatenate(
    [(lambda a: a.bbox[:, 2:] - a.bbox[:, :2])(trees.annotation(i)) for i in range(len(trees))]
)
digits = MnistDetection("train", n_images=500, seed=0)
digit_wh = np.concatenate(
    [(lambda a: a.bbox[:, 2:] - a.bbox[:, :2])(digits.annotation(i)) for i in range(len(digits))]
)
print(f"tree crowns: {len(tree_wh)} boxes, mean w x h = {tree_wh.mean(0)}")
print(f"digits:      {len(digit_wh)} boxes, mean w x h = {digit_wh.mean(0)}")

ks = range(1, 10)
curves = {
    name: [kmeans_anchors(wh_, k, np.random.default_rng(0))[1] for k in ks]
    for name, wh_ in (("tree crowns", tree_wh), ("MNIST digits", digit_wh))
}
for name, c in curves.items():
    print(f"{name:12s} mean IoU for k = 1..9:", np.round(c, 3))

# %% [markdown]
# How good are 9 hand-picked anchors (sides 16, 32, 64 at ratios 1:2, 1:1, 2:1) on the
# trees, compared with the clusters? The mean best IoU between each box and the anchor
# shapes, computed with `box_iou` on boxes placed at the origin:


# %%
def at_origin(wh_):
    return np.concatenate([np.zeros_like(wh_), wh_], axis=1)  # (N, 2) -> boxes (0, 0, w, h)


hand_wh = small_base[:, 2:] - small_base[:, :2]
hand_iou = box_iou(at_origin(tree_wh), at_origin(hand_wh)).max(axis=1).mean()
k_match = 1 + int(np.argmax(np.array(curves["tree crowns"]) >= hand_iou))
print(
    f"9 hand-picked anchors: mean IoU {hand_iou:.3f}; "
    f"k-means reaches it with k = {k_match} clusters"
)
centroids5, iou5 = kmeans_anchors(tree_wh, 5, np.random.default_rng(0))
print(f"k = 5 tree-crown anchors (w, h), mean IoU {iou5:.3f}:\n", centroids5.round(1))

# %% alt="Left: mean IoU of the boxes with their nearest k-means anchor against k for two data sets. Right: box widths and heights as points with the anchor shapes found by k-means."
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for name, c in curves.items():
    axes[0].plot(list(ks), c, "o-", label=f"k-means, {name}")
axes[0].axhline(hand_iou, color="gray", ls="--", label="9 hand-picked anchors, tree crowns")
axes[0].set_xlabel("number of clusters k")
axes[0].set_ylabel("mean IoU with the nearest centroid")
axes[0].legend()
axes[0].set_title("YOLOv2 Fig. 2 on our data: mean IoU vs k")

axes[1].scatter(tree_wh[:, 0], tree_wh[:, 1], s=4, alpha=0.4, label="tree crowns (w, h)")
axes[1].scatter(
    centroids5[:, 0], centroids5[:, 1], c="red", s=60, marker="x", label="k = 5 centroids"
)
axes[1].scatter(hand_wh[:, 0], hand_wh[:, 1], c="k", s=30, marker="s", label="hand-picked anchors")
axes[1].set_xlabel("width (px)")
axes[1].set_ylabel("height (px)")
axes[1].set_aspect("equal")
axes[1].legend(fontsize=8)
axes[1].set_title("box shapes and anchor shapes")
fig.tight_layout()

# %% [markdown]
# Tree crowns are round, so their boxes are nearly square and the clusters differ mostly
# by size; three of the nine hand-picked shapes (the 1:2 and 2:1 ones) are wasted on
# them, which is why fewer clusters match them. MNIST digits are taller than wide, and
# their clusters are too.
#
# ## Summary
#
# * `generate_anchor_base` gives the A = 9 shapes of one cell; `grid_anchors` shifts them
#   to all H × W cells (H W A boxes, cell-major, matching the RPN's output layout).
# * 38 × 50 × 9 = 17 100; a 1000 × 600 image has ≈ 20k anchors, and only the ones inside
#   the image (`inside_image`) are used for training.
# * `receptive_field` reproduces the 171 / 228 pixels of ZF / VGG-16.
# * `kmeans_anchors` fits anchor shapes to a data set with $d = 1 - \mathrm{IoU}$.
#
# Next: **05 — target assignment**, which labels these anchors positive, negative or ignored.
