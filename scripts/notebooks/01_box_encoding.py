# %% [markdown]
# # 01 — Box encoding: `bbox2loc` and `loc2bbox`
#
# A detector does not predict the four corners of a box. It predicts how to **move and
# stretch a reference box** $P$ (an anchor, or a RoI) onto the ground-truth box $G$.
# This notebook walks through the encoding of the slides (*BBOX Regression*;
# *Detection – 3 stages*, §C2.2.1) with the code of `bboxcore.encoding`:
#
# 1. the formula, on numbers you can check by hand;
# 2. why we divide by $p_w, p_h$ (scale invariance);
# 3. why $\log$ and $\exp$ (decoded widths stay positive);
# 4. the normalisation by the standard deviations $(0.1, 0.1, 0.2, 0.2)$;
# 5. a picture: anchor, ground truth, and a decoded prediction.
#
# Documentation: *Concepts → Box encoding* and *API → bboxcore.encoding*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou_aligned
from bboxcore.encoding import LOC_CLIP, LOC_NORMALIZE_STD, bbox2loc, loc2bbox

np.set_printoptions(precision=4, suppress=True)


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle(
                (x1, y1),
                x2 - x1,
                y2 - y1,
                fill=False,
                ec=color,
                lw=2,
                label=label if i == 0 else None,
                **kw,
            )
        )


# %% [markdown]
# ## 1. The formula
#
# With centres $(p_x, p_y)$, $(g_x, g_y)$ and sizes $(p_w, p_h)$, $(g_w, g_h)$
# (Faster R-CNN Eq. 2):
#
# $$
# t_x = \frac{g_x - p_x}{p_w},\qquad t_y = \frac{g_y - p_y}{p_h},\qquad
# t_w = \log\frac{g_w}{p_w},\qquad t_h = \log\frac{g_h}{p_h}
# $$
#
# and the inverse, which turns a predicted offset $d$ back into a box:
#
# $$
# \hat g_x = p_w d_x + p_x,\qquad \hat g_y = p_h d_y + p_y,\qquad
# \hat g_w = p_w e^{d_w},\qquad \hat g_h = p_h e^{d_h}.
# $$
#
# **By hand.** Anchor $P = (10, 10, 50, 30)$: centre $(30, 20)$, size $40 \times 20$.
# Ground truth $G = (20, 5, 100, 45)$: centre $(60, 25)$, size $80 \times 40$. So
#
# $$
# t = \left(\frac{60 - 30}{40},\ \frac{25 - 20}{20},\ \log\frac{80}{40},\ \log\frac{40}{20}\right)
#   = (0.75,\ 0.25,\ \log 2,\ \log 2) \approx (0.75,\ 0.25,\ 0.6931,\ 0.6931).
# $$

# %%
anchor = np.array([[10.0, 10.0, 50.0, 30.0]])
gt = np.array([[20.0, 5.0, 100.0, 45.0]])

loc = bbox2loc(anchor, gt)
print("loc =", loc)  # expect [0.75, 0.25, 0.6931, 0.6931]
print("log 2 =", np.log(2))
print("decoded back:", loc2bbox(anchor, loc))  # expect the ground truth (20, 5, 100, 45)

# %% [markdown]
# The two functions are inverse of each other for any pair of boxes of positive size —
# as long as the target is at most 62.5 times larger than the reference (the safety clip
# `LOC_CLIP` of section 3). Check it on 1000 random pairs of sides 10 to 300 px:

# %%
rng = np.random.default_rng(0)
xy = rng.uniform(0, 500, size=(1000, 2, 2))
wh = rng.uniform(10, 300, size=(1000, 2, 2))
src = np.concatenate([xy[:, 0], xy[:, 0] + wh[:, 0]], axis=1)  # (1000, 4) anchors
dst = np.concatenate([xy[:, 1], xy[:, 1] + wh[:, 1]], axis=1)  # (1000, 4) targets
err = np.abs(loc2bbox(src, bbox2loc(src, dst)) - dst).max()
print(f"largest round-trip error over 1000 pairs: {err:.2e} pixels")  # ~1e-13

# %% [markdown]
# ## 2. Why divide by $p_w$ and $p_h$: scale invariance
#
# *BBOX Regression*: *"we want the offset not to depend on the size of the object; if we simply
# subtracted the two boxes, a larger object would give a larger value."*
#
# Take a small pair and a large pair that are **equally misplaced**: the ground truth is
# shifted right by a fifth of the anchor's width and is 1.5 times as tall.
# By hand: the raw shifts are 2 px and 20 px, but both give $t_x = 2/10 = 20/100 = 0.2$
# and $t_h = \log 1.5 \approx 0.4055$.

# %%
small_anchor, small_gt = np.array([[0.0, 0.0, 10.0, 10.0]]), np.array([[2.0, -2.5, 12.0, 12.5]])
large_anchor = small_anchor * 10  # the same picture, ten times larger
large_gt = small_gt * 10

for name, a, g in (("small", small_anchor, small_gt), ("large", large_anchor, large_gt)):
    raw_shift = (g[0, 0] + g[0, 2]) / 2 - (a[0, 0] + a[0, 2]) / 2
    print(f"{name}: raw centre shift {raw_shift:5.1f} px   loc = {bbox2loc(a, g)[0]}")

# %% alt="Two panels: a small anchor and ground-truth pair shifted 2 px, and the same picture ten times larger shifted 20 px; both titles give the same offsets t."
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, a, g, title in (
    (axes[0], small_anchor, small_gt, "small pair: shift 2 px"),
    (axes[1], large_anchor, large_gt, "large pair: shift 20 px"),
):
    draw(ax, a, "tab:blue", "anchor P", ls="--")
    draw(ax, g, "tab:green", "ground truth G")
    t = bbox2loc(a, g)[0]
    ax.set_title(f"{title}\n$t$ = ({t[0]:.2f}, {t[1]:.2f}, {t[2]:.2f}, {t[3]:.2f})")
    span = a[0, 2] - a[0, 0]
    ax.set_xlim(-0.4 * span, 1.6 * span)
    ax.set_ylim(1.5 * span, -0.5 * span)  # image coordinates: y grows downwards
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px, downwards)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
fig.suptitle("Dividing by the anchor size gives the same offsets at every scale")
fig.tight_layout()

# %% [markdown]
# ## 3. Why $\log$ and $\exp$: decoded widths are always positive
#
# *BBOX Regression*: *"we want $d_w$, $d_h$ to give a positive number when converted back"*:
# $\hat g_w = p_w e^{d_w} > 0$ for **every** real $d_w$ the network may output.
# The plot compares it with a linear parametrisation $\hat g_w = p_w (1 + d_w)$ — a
# counter-example drawn for comparison only, not part of bboxcore — which gives
# negative widths as soon as $d_w < -1$.
#
# The log is also symmetric: doubling a box gives $t_w = +\log 2$, halving it $-\log 2$.

# %% alt="Decoded width against the predicted d_w: the exponential curve stays above zero, the dashed linear counter-example crosses zero at d_w = -1."
d_w = np.linspace(-3, 3, 61)
p = np.array([[0.0, 0.0, 40.0, 40.0]])  # p_w = 40
locs = np.zeros((d_w.size, 4))
locs[:, 2] = d_w
decoded = loc2bbox(np.repeat(p, d_w.size, axis=0), locs)
width = decoded[:, 2] - decoded[:, 0]
print("smallest decoded width:", width.min(), "> 0")  # 40 * e^-3 = 1.99
print(
    "t_w of a doubled / halved box:",
    bbox2loc(p, [[0, 0, 80, 40]])[0, 2],
    bbox2loc(p, [[0, 0, 20, 40]])[0, 2],
)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(d_w, width, label=r"bboxcore: $p_w\,e^{d_w}$")
ax.plot(d_w, 40 * (1 + d_w), "--", label=r"counter-example: $p_w\,(1 + d_w)$")
ax.axhline(0, color="k", lw=0.8, label="width 0: below it a box is impossible")
ax.set_xlabel(r"predicted $d_w$")
ax.set_ylabel("decoded width (px)")
ax.legend()
ax.set_title("The exponential keeps every decoded width positive")
fig.tight_layout()

# %% [markdown]
# An untrained head can output huge values; `loc2bbox` clips $d_w, d_h$ at
# `LOC_CLIP` $= \log(1000/16) \approx 4.135$, so a box grows at most 62.5 times and
# `exp` never overflows:

# %%
print(f"LOC_CLIP = {LOC_CLIP:.4f} = log({np.exp(LOC_CLIP):.1f})")
print(loc2bbox(p, [[0.0, 0.0, 50.0, 0.0]]))  # width 40 * 62.5 = 2500, centred on x = 20

# %% [markdown]
# ## 4. Normalisation by the standard deviation
#
# The second stage regresses $\tilde t = (t - \mu) / \sigma$ with $\mu = 0$ and
# $\sigma = (0.1, 0.1, 0.2, 0.2)$ (*The losses of Faster R-CNN*). Where do these numbers come from? The RoIs
# used for training overlap their ground truth (IoU ≥ 0.5), so their offsets are small —
# of the order of those standard deviations. Dividing by them gives targets of unit scale.
#
# **By hand** for the first example: $(0.75, 0.25, 0.6931, 0.6931) / (0.1, 0.1, 0.2, 0.2)
# = (7.5, 2.5, 3.466, 3.466)$.

# %%
print("std =", LOC_NORMALIZE_STD)
print(bbox2loc(anchor, gt, std=LOC_NORMALIZE_STD))  # expect [7.5, 2.5, 3.4657, 3.4657]

# %% [markdown]
# Simulate proposals around ground-truth boxes, keep those with IoU ≥ 0.5 (as the
# ProposalTargetCreator does), and look at the spread of their offsets before and after
# normalisation:

# %%
n = 20000
centre = rng.uniform(100, 400, size=(n, 2))
size = rng.uniform(30, 200, size=(n, 2))
gts = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
jitter_c = rng.normal(0, 0.15, size=(n, 2)) * size  # proposals: shifted ...
jitter_s = np.exp(rng.normal(0, 0.3, size=(n, 2)))  # ... and rescaled versions of the GT
rois = np.concatenate(
    [centre + jitter_c - size * jitter_s / 2, centre + jitter_c + size * jitter_s / 2], axis=1
)
positive = box_iou_aligned(rois, gts) >= 0.5
t = bbox2loc(rois[positive], gts[positive])
t_norm = bbox2loc(rois[positive], gts[positive], std=LOC_NORMALIZE_STD)
print(f"{positive.sum()} positive RoIs")
print("std of raw t        :", t.std(axis=0))  # of the order of (0.1, 0.1, 0.2, 0.2)
print("std of normalised t :", t_norm.std(axis=0))  # of the order of 1

# %% alt="Histograms of the four offsets of positive RoIs: raw ones spread over about plus or minus 0.3, normalised ones over about plus or minus 2."
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
names = ["$t_x$", "$t_y$", "$t_w$", "$t_h$"]
for k in range(4):
    axes[0].hist(t[:, k], bins=80, histtype="step", label=names[k])
    axes[1].hist(t_norm[:, k], bins=80, histtype="step", label=names[k])
axes[0].set_title("raw offsets of positive RoIs")
axes[1].set_title(r"normalised: $(t - 0) / (0.1, 0.1, 0.2, 0.2)$")
axes[0].set_xlabel("offset value $t$")
axes[1].set_xlabel(r"normalised offset value $\tilde t$")
axes[0].set_ylabel("number of RoIs (per bin)")
for ax in axes:
    ax.legend(title="offset")
fig.suptitle(f"Offsets of {positive.sum()} positive RoIs (IoU ≥ 0.5 with their ground truth)")
fig.tight_layout()

# %% [markdown]
# ## 5. Anchor, ground truth and a decoded prediction
#
# A regressor outputs offsets $d$; `loc2bbox` turns them into a box. Here a "prediction"
# that has learnt 80 % of the way from the anchor to the ground truth,
# $d = 0.8\, t$, decodes to a box between the two. (With the normalised targets of the RoI
# head, pass the same `std=` to `loc2bbox` to undo the normalisation.)

# %%
t_true = bbox2loc(anchor, gt)
d = 0.8 * t_true
pred = loc2bbox(anchor, d)
print("target t  :", t_true)
print("predicted d:", d)
print("decoded box:", pred)
print("IoU(pred, gt) =", box_iou_aligned(pred, gt))
d_norm = bbox2loc(anchor, pred, std=LOC_NORMALIZE_STD)
print("same box through normalised offsets:", loc2bbox(anchor, d_norm, std=LOC_NORMALIZE_STD))

# %% alt="The anchor (dashed blue), the ground truth (green) and the decoded prediction (red) between them, each with its centre marked by a dot of its colour."
fig, ax = plt.subplots(figsize=(8, 4))
draw(ax, anchor, "tab:blue", "anchor P", ls="--")
draw(ax, gt, "tab:green", "ground truth G")
draw(ax, pred, "tab:red", r"decoded prediction, $d = 0.8\,t$")
for box, c, name in ((anchor, "tab:blue", "P"), (gt, "tab:green", "G"), (pred, "tab:red", "prediction")):
    cx, cy = (box[0, 0] + box[0, 2]) / 2, (box[0, 1] + box[0, 3]) / 2
    ax.plot(cx, cy, "o", color=c, label=f"centre of {name} (what $t_x, t_y$ move)")
ax.set_xlim(0, 110)
ax.set_ylim(55, 0)
ax.set_aspect("equal")
ax.set_xlabel("x (px)")
ax.set_ylabel("y (px, downwards)")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
ax.set_title("loc2bbox(anchor, d): the prediction moves 80 % of the way to G")
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# * `bbox2loc(P, G)` gives $(t_x, t_y, t_w, t_h)$; `loc2bbox(P, t)` gives $G$ back.
# * Dividing by $p_w, p_h$ makes the offsets independent of the object's size.
# * The $\log$ / $\exp$ pair keeps decoded widths positive and treats growing and
#   shrinking symmetrically; `LOC_CLIP` bounds the growth.
# * `std=(0.1, 0.1, 0.2, 0.2)` scales the second stage's targets to unit size.
#
# Next: **02 — IoU**, the measure that decides which anchor is matched to which box.
