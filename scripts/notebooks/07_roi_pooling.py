# %% [markdown]
# # 07 — RoI Pool, RoI Align and Precise RoI Pooling
#
# The second stage of Faster R-CNN needs a **fixed-size feature** (e.g. 7 × 7) for every
# RoI, whatever its size. A RoI given in image pixels is scaled onto the feature map
# (× 1/16 for a stride of 16), cut into a grid of bins, and each bin becomes one value.
# With `bboxcore.roi` and `bboxcore.prroi`, this notebook shows
#
# 1. the three operations on numbers you can check by hand;
# 2. **which feature cells** each bin reads — RoI Pool's two roundings ("quantised 2
#    times", *Detection – 3 stages*) against the exact bins of RoI Align and PrRoI;
# 3. the quantisation error: the output as a RoI slides by a few pixels;
# 4. the three backward passes as pictures: where the gradient goes.
#
# Documentation: *Concepts → RoI pooling* and *API → bboxcore.roi*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore.prroi import prroi_pool, prroi_pool_backward
from bboxcore.roi import roi_align, roi_align_backward, roi_pool, roi_pool_backward

np.set_printoptions(precision=3, suppress=True)
STRIDE = 16
SCALE = 1 / STRIDE  # spatial_scale: feature cells per image pixel


def draw_roi(ax, roi, color="red", **kw):
    """Draw a RoI (batch, x_min, y_min, x_max, y_max) given in pixels, on a feature-cell axis."""
    x1, y1, x2, y2 = (np.asarray(roi[1:], dtype=float) * SCALE).tolist()
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=2, **kw))


# %% [markdown]
# ## 1. The three operations
#
# * **RoI Pool** (Fast R-CNN): round the RoI to whole cells, cut it into bins whose edges
#   are rounded again, and keep the **maximum** of each bin.
# * **RoI Align** (Mask R-CNN): no rounding; each bin is the **mean of bilinearly
#   interpolated samples** at regularly spaced points.
# * **PrRoI Pool** (IoU-Net): no rounding and no samples; each bin is the **exact
#   average** of the interpolated feature surface $f$:
#
# $$
# \mathrm{PrPool}(\text{bin}, F) = \frac{1}{(x_2 - x_1)(y_2 - y_1)}
#   \int_{y_1}^{y_2}\int_{x_1}^{x_2} f(x, y)\,dx\,dy .
# $$
#
# A RoI is `(batch_index, x_min, y_min, x_max, y_max)` in image pixels; the features are
# `(N, C, H, W)`.
#
# **By hand** on the 2 × 2 map $\begin{pmatrix}0 & 1\\ 2 & 3\end{pmatrix}$ at
# `spatial_scale=1`, with the RoI $[0, 1] \times [0, 1]$ and one bin:
#
# * RoI Pool: the RoI covers cells 0..1 in x and y, so the max is **3**;
# * PrRoI: in its convention cell $(y, x)$ sits at the point $(x, y)$, so the surface is
#   $f(x, y) = x + 2y$ and its mean over the unit square is $0.5 + 2 \cdot 0.5 =$ **1.5**;
# * RoI Align: cells are unit squares $[x, x + 1)$ whose values sit at their centres, so
#   the RoI $[0, 1]^2$ *is* the top-left cell; with the adaptive sampling (about one sample
#   per cell) its single sample falls on that cell's centre and reads **0**. Move the RoI
#   to $[0.5, 1.5]^2$ and the sample falls on the corner shared by the four cells: the
#   bilinear interpolation averages them, $(0 + 1 + 2 + 3)/4 =$ **1.5**.

# %%
f = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
one_roi = [[0, 0.0, 0.0, 1.0, 1.0]]
print("RoI Pool :", roi_pool(f, one_roi, 1, 1.0)[0].ravel())  # 3
print("PrRoI    :", prroi_pool(f, one_roi, 1, 1.0).ravel())  # 1.5
print("RoI Align:", roi_align(f, one_roi, 1, 1.0).ravel())  # 0
print(
    "RoI Align, RoI [0.5, 1.5]^2:", roi_align(f, [[0, 0.5, 0.5, 1.5, 1.5]], 1, 1.0).ravel()
)  # 1.5

# %% [markdown]
# ## 2. Which cells does each bin read?
#
# To see which cells each bin depends on, we feed a stack of one-hot maps, one channel
# per cell: channel $k$ is 1 at cell $k$ and 0 elsewhere. RoI Align and PrRoI are linear
# in the features, so `output[0, k, i, j]` is the weight of cell $k$ in bin $(i, j)$; for
# RoI Pool, the max of a one-hot map is 1 exactly when the cell belongs to the bin. No
# need to re-derive the bin edges: the library shows them.
#
# The RoI: $(20, 28) \to (100, 92)$ pixels, i.e. $(1.25, 1.75) \to (6.25, 5.75)$ cells at
# stride 16, pooled to 2 × 2 bins on an 8 × 8 map.

# %%
H = W = 8
onehot = np.eye(H * W).reshape(1, H * W, H, W)  # channel k = one-hot of cell k
roi = [0, 20.0, 28.0, 100.0, 92.0]
print("RoI in cells:", np.array(roi[1:]) * SCALE)

weights = {
    "RoI Pool": roi_pool(onehot, [roi], 2, SCALE)[0][0],  # (64, 2, 2): 1 where the bin reads
    "RoI Align": roi_align(onehot, [roi], 2, SCALE)[0],  # bilinear weights of each bin
    "PrRoI Pool": prroi_pool(onehot, [roi], 2, SCALE)[0],  # integral weights of each bin
}
for name, w in weights.items():
    print(
        f"{name:10s}: weights of bin (0, 0) sum to {w[:, 0, 0].sum():.3f}, "
        f"{(w[:, 0, 0] > 0).sum()} cells read"
    )

# %% alt="Three panels: the feature-map cells read by each of the 4 bins of one RoI for RoI Pool, RoI Align and PrRoI Pool, colour by bin and intensity by weight."
bin_colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, (name, w) in zip(axes, weights.items()):
    canvas = np.ones((H, W, 3))
    for b, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        cell_w = w[:, i, j].reshape(H, W)
        rgb = np.array(plt.matplotlib.colors.to_rgb(bin_colors[b]))
        alpha = (cell_w / cell_w.max())[..., None]
        canvas = canvas * (1 - 0.6 * alpha) + 0.6 * alpha * rgb
    ax.imshow(canvas, extent=(0, W, H, 0))
    ax.set_xticks(range(W + 1))
    ax.set_yticks(range(H + 1))
    ax.grid(color="0.6", lw=0.5)
    draw_roi(ax, roi, "red")
    ax.set_title(f"{name}: cells read by the 4 bins\n(colour = bin, intensity = weight)")
    ax.set_xlabel("x (feature cells)")
axes[0].set_ylabel("y (feature cells)")
handles = [plt.matplotlib.patches.Patch(color=c, alpha=0.6) for c in bin_colors]
handles.append(plt.matplotlib.lines.Line2D([], [], color="red", lw=2))
fig.legend(
    handles,
    ["bin (0, 0)", "bin (0, 1)", "bin (1, 0)", "bin (1, 1)", "the RoI as given"],
    loc="lower center",
    ncol=5,
)
fig.tight_layout(rect=(0, 0.07, 1, 1))

# %% [markdown]
# Red: the RoI as given, $(1.25, 1.75) \to (6.25, 5.75)$ cells. **RoI Pool** snaps it to
# the cells $x \in \{1, \dots, 6\}$, $y \in \{2, \dots, 6\}$ (its corners move by up to
# half a cell, 8 px) and, after the second rounding, its two rows of bins both read row 4.
# **RoI Align** reads the interpolation neighbours of its sample points. **PrRoI** reads
# every cell under the RoI, weighted by the integral; in its convention the value of cell
# $(y, x)$ sits at the point $(x, y)$ — the top-left corner of the square drawn here —
# which is why its footprint looks half a cell lower and to the right.
#
# ## 3. The quantisation error
#
# *Detection – 3 stages*: *"0.8 pixels in feature — > 10 pixels in image — bad for small objects"*. On a
# feature map that is a ramp, $F_{y,x} = x$, the pooled value of a RoI tells *where* the
# RoI is. Slide a 64-pixel RoI to the right one pixel at a time:

# %% alt="Pooled value against the RoI's shift in pixels: RoI Pool moves in 16-pixel steps, RoI Align and PrRoI Pool change smoothly."
Hr, Wr = 8, 16
ramp = np.tile(np.arange(Wr, dtype=float), (Hr, 1))[None, None]  # F[y, x] = x
shifts = np.arange(0, 49)
rois = np.array([[0, 20 + s, 40, 84 + s, 104] for s in shifts], dtype=float)
centre_cells = (rois[:, 1] + rois[:, 3]) / 2 * SCALE
pooled = {
    "RoI Pool (max)": roi_pool(ramp, rois, 1, SCALE)[0].ravel(),
    "RoI Align (mean)": roi_align(ramp, rois, 1, SCALE).ravel(),
    "PrRoI Pool (mean)": prroi_pool(ramp, rois, 1, SCALE).ravel(),
}
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, v in pooled.items():
    ax.plot(shifts, v, drawstyle="steps-post" if "max" in name else "default", label=name, lw=2)
ax.plot(shifts, centre_cells, "k:", label="RoI centre (cells)")
ax.set_xlabel("shift of the RoI (image pixels)")
ax.set_ylabel("pooled value of the ramp $F_{y,x} = x$")
ax.legend()
ax.set_title("RoI Pool moves in 16-pixel steps; RoI Align and PrRoI follow the RoI")
fig.tight_layout()
print("RoI Pool output changes at shifts:", shifts[1:][np.diff(pooled["RoI Pool (max)"]) != 0])

# %% [markdown]
# RoI Pool's output does not change while the RoI moves by up to 15 pixels, then jumps
# by a whole cell: a box regressor fed with it cannot see a sub-stride misplacement. RoI
# Align and PrRoI move with the RoI (slope 1/16 cell per pixel). Their curves are offset
# by half a cell because of their conventions: RoI Align places each cell's value at the
# cell's centre $x + \frac12$, PrRoI (like IoU-Net's code) at the point $x$.
#
# ## 4. The backward passes as pictures
#
# With an upstream gradient of 1 on every bin of a 2 × 2 output, where does the gradient
# arrive on the feature map?
#
# * RoI Pool (*Detection – 3 stages*): $\frac{\partial L}{\partial x_i} = \sum_r \sum_j [i = i^*(r, j)]\,
#   \frac{\partial L}{\partial y_{rj}}$ — only the argmax cell of each bin;
# * RoI Align: the four neighbours of every sample point, with bilinear weights
#   $(1 - \Delta h)(1 - \Delta w)$;
# * PrRoI: every cell under each bin, weighted by its share of the integral — and, unlike
#   the others, a gradient for the **box coordinates** too.

# %% alt="Four heat maps: random features and the feature gradients of RoI Pool, RoI Align and PrRoI Pool for one RoI."
rng = np.random.default_rng(0)
features = rng.normal(size=(1, 1, H, W))
dout = np.ones((1, 1, 2, 2))
out_pool, argmax = roi_pool(features, [roi], 2, SCALE)
grads = {
    "RoI Pool": roi_pool_backward(dout, argmax, [roi], features.shape),
    "RoI Align": roi_align_backward(dout, [roi], features.shape, 2, SCALE),
}
dfeat_pr, droi_pr = prroi_pool_backward(dout, features, [roi], 2, SCALE)
grads["PrRoI Pool"] = dfeat_pr
for name, g in grads.items():
    print(f"{name:10s}: {int((g != 0).sum()):2d} cells receive gradient, total {g.sum():.3f}")
print("PrRoI gradient w.r.t. (batch, x_min, y_min, x_max, y_max):", droi_pr[0])

fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
im = axes[0].imshow(features[0, 0], extent=(0, W, H, 0), cmap="coolwarm")
axes[0].set_title("features (random)")
fig.colorbar(im, ax=axes[0], fraction=0.046)
for ax, (name, g) in zip(axes[1:], grads.items()):
    im = ax.imshow(g[0, 0], extent=(0, W, H, 0), cmap="viridis")
    ax.set_title(f"{name}: d features")
    fig.colorbar(im, ax=ax, fraction=0.046)
for ax in axes:
    draw_roi(ax, roi, "red")
    ax.set_xlabel("x (feature cells)")
axes[0].set_ylabel("y (feature cells)")
fig.legend([plt.matplotlib.lines.Line2D([], [], color="red", lw=2)], ["the RoI"], loc="upper right")
fig.suptitle("Where the gradient of the 4 pooled values goes (colour: d loss / d feature)")
fig.tight_layout()

# %% [markdown]
# The totals are 4 for RoI Pool (one cell per bin, each getting 1) and 4 for the two
# averaging operations too (each bin's weights sum to 1), but RoI Pool concentrates the
# gradient on 4 cells — "just one point has loss passed by in each bin" — while RoI Align
# spreads it over the sampled neighbourhoods and PrRoI over every cell under the RoI.
#
# ## Summary
#
# * `roi_pool` rounds twice; a RoI can move by most of a stride (16 px) without changing
#   its features.
# * `roi_align` and `prroi_pool` are exact in the box coordinates; RoI Align samples,
#   PrRoI integrates and also gives $\partial L / \partial \text{box}$.
# * All three backward passes are the transposes of their forward weights: argmax
#   routing, bilinear splatting, integral weights.
#
# Next: **08 — autograd and a CNN**, which uses these forward/backward pairs as layers.
