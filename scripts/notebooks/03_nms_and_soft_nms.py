# %% [markdown]
# # 03 — NMS and Soft-NMS
#
# A detector fires many overlapping boxes around every object. **Non-maximum
# suppression** keeps the best of each cluster. With `bboxcore.nms` and
# `bboxcore.nms_variants`, this notebook shows
#
# 1. the slide's algorithm step by step on a drawn example, boxes coloured by their state;
# 2. the "awkward" case of *Detection – 3 stages* (A*): NMS loses a true object, Soft-NMS keeps it;
# 3. the linear and Gaussian decays of Soft-NMS;
# 4. CenterNet's NMS-free alternative, and the speed of the fast `nms`.
#
# Students: this is the algorithm of the NMS assignment (`notebooks/assignments/nms.ipynb`,
# graded by `bboxcore grade nms`). Documentation: *Concepts → NMS and Soft-NMS* and
# *API → bboxcore.nms*.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou
from bboxcore.eval import voc_ap
from bboxcore.nms import nms, nms_reference
from bboxcore.nms_variants import heatmap_peaks, soft_nms

np.set_printoptions(precision=3, suppress=True)


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 2)
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
# ## 1. The algorithm, step by step
#
# *Detection – 3 stages*, §A3.b,:
#
# 1. sort the boxes by score;
# 2. take the first one and keep it; remove the remaining boxes whose IoU with it is
#    higher than the threshold;
# 3. repeat step 2 until no box is left.
#
# `nms(boxes, scores, iou_thresh)` returns `keep`, the indices of the kept boxes in
# decreasing score order. Seven boxes: two clusters around two objects, and a lone box.

# %%
boxes = np.array([
    [10, 10, 60, 60],    # 0  object A
    [14, 12, 64, 58],    # 1  duplicate of 0
    [6, 16, 54, 66],     # 2  duplicate of 0
    [80, 20, 130, 90],   # 3  object B
    [84, 26, 132, 94],   # 4  duplicate of 3
    [50, 40, 96, 80],    # 5  between the two
    [150, 70, 180, 100], # 6  alone
], dtype=float)  # fmt: skip
scores = np.array([0.90, 0.85, 0.60, 0.80, 0.75, 0.50, 0.30])
iou_thresh = 0.5
print("IoU matrix (check the pairs above 0.5 by eye):\n", box_iou(boxes, boxes))
keep = nms(boxes, scores, iou_thresh)
print("keep =", keep)  # expect [0 3 5 6]
print(
    "the slide's plain loop agrees:", np.array_equal(keep, nms_reference(boxes, scores, iou_thresh))
)

# %% [markdown]
# **By hand** (sorted: 0, 1, 3, 4, 2, 5, 6): box 0 (0.90) is kept first; boxes 1 and 2
# overlap it by 0.79 and 0.65 (> 0.5) and go. Box 3 (0.80) is kept; box 4 overlaps it by
# 0.77 and goes. Box 5 overlaps box 0 by only 0.05 and box 3 by 0.14: kept. Box 6 overlaps
# nothing: kept. For example IoU(0, 1): the intersection is $46 \times 46 = 2116$, the
# union $2500 + 2300 - 2116 = 2684$, and $2116 / 2684 = 0.79$.
#
# The pictures below show the state after each kept box. They use `nms(..., max_output=k)`
# for the first k kept boxes; the boxes those k suppress are found with `box_iou` (for the
# picture only).

# %% alt="Five panels of seven numbered boxes with scores: the sorted list, then after each step the kept boxes in green, the suppressed ones dotted red and those still waiting dashed grey."
order = np.argsort(-scores, kind="stable")
# where to write each box's label: (x, y) offsets from its corners, to keep them apart
label_xy = [(10, 6), (60, 6), (6, 76), (80, 16), (132, 100), (50, 88), (150, 66)]
fig, axes = plt.subplots(2, 3, figsize=(14, 8), sharex=True, sharey=True)
axes = axes.ravel()
axes[-1].set_visible(False)
for step, ax in enumerate(axes[: len(keep) + 1]):
    kept = nms(boxes, scores, iou_thresh, max_output=step) if step else np.array([], int)
    overlap = box_iou(boxes, boxes[kept]).max(axis=1) if step else np.zeros(len(boxes))
    removed = (overlap > iou_thresh) & ~np.isin(np.arange(len(boxes)), kept)
    waiting = ~removed & ~np.isin(np.arange(len(boxes)), kept)
    draw(ax, boxes[waiting], "0.6", "still in the list", ls="--", lw=1.2)
    draw(ax, boxes[removed], "tab:red", "suppressed", ls=":")
    draw(ax, boxes[kept], "tab:green", "kept")
    if step:
        draw(ax, boxes[kept[-1]], "tab:green", lw=4)
    for i in range(len(boxes)):
        ax.text(*label_xy[i], f"{i}: {scores[i]:.2f}", fontsize=8)
    ax.set_xlim(0, 190)
    ax.set_ylim(110, 0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px, downwards)")
    ax.set_title(
        "sorted: " + " ".join(map(str, order)) if step == 0 else f"step {step}: keep box {kept[-1]}"
    )
handles = [
    Rectangle((0, 0), 1, 1, fill=False, ec=c, ls=ls, lw=2)
    for c, ls in (("0.6", "--"), ("tab:red", ":"), ("tab:green", "-"))
]
fig.legend(
    handles,
    ["still in the list", "suppressed", "kept (thick: kept at this step)"],
    loc="lower right",
    bbox_to_anchor=(0.9, 0.2),
)
fig.suptitle(f"Greedy NMS at IoU {iou_thresh}, step by step (label: box: score)")
fig.tight_layout()

# %% [markdown]
# ## 2. The awkward case: two objects that overlap
#
# The slide (*Detection – 3 stages*, §A*) shows it with two pictures of people standing
# close together: if the box of the person in front has the higher score, NMS removes the
# box of the person behind; if the person behind scores higher, the one in front is lost —
# "that's awkward". Two people stand one behind the other; their true boxes overlap with
# IoU 0.55. The detector finds both (plus a duplicate of the first), but hard NMS at 0.5
# sees the second person as a duplicate of the first and removes it.

# %%
people = np.array([[10, 10, 50, 90], [20, 12, 62, 92]], dtype=float)  # ground truth
detections = np.array([
    [11, 9, 51, 91],    # a: person 1
    [21, 13, 61, 93],   # b: person 2
    [6, 14, 46, 86],    # c: duplicate of person 1
], dtype=float)  # fmt: skip
det_scores = np.array([0.95, 0.80, 0.70])
print("IoU of the two people:", box_iou(people[:1], people[1:])[0, 0])  # 0.55
print("IoU of detections a and b:", box_iou(detections[:1], detections[1:2])[0, 0])

keep_hard = nms(detections, det_scores, 0.5)
keep_soft, soft_scores = soft_nms(detections, det_scores, sigma=0.5, method="gaussian")
print("hard NMS keeps", keep_hard, "with scores", det_scores[keep_hard])
print("Soft-NMS (Gaussian, sigma 0.5) ranks", keep_soft, "with decayed scores", soft_scores)

score_thresh = 0.3  # the detector's final confidence threshold
final = {
    "hard NMS": keep_hard[det_scores[keep_hard] > score_thresh],
    "Soft-NMS": keep_soft[soft_scores > score_thresh],
}
for name, kept in final.items():
    # one-to-one matching at IoU >= 0.5, as in evaluation (notebook 10): a detection finds
    # at most one person
    r = voc_ap(
        [
            {
                "bbox": detections[kept],
                "label": np.zeros(len(kept), int),
                "score": np.ones(len(kept)),
            }
        ],
        [{"bbox": people, "label": [0, 0]}],
    )
    found = round(r.recall[0][-1] * 2) if len(kept) else 0
    print(f"{name}: detections {kept} above {score_thresh} -> people found: {found} of 2")

# %% [markdown]
# **By hand** for Soft-NMS: a (0.95) is selected first. b overlaps a by IoU $o = 0.56$, so
# its score becomes $0.80\,e^{-o^2/0.5} \approx 0.80 \times 0.53 = 0.42$; the duplicate c
# overlaps a much more, so its score falls much lower. With a final threshold of 0.3,
# Soft-NMS reports both people; hard NMS only one.

# %% alt="Three panels of two overlapping people with detections a, b and c labelled on their boxes: all detections; after hard NMS only a remains, so person 2 is lost; after Soft-NMS a and b stay above the threshold and c falls below it."
fig, axes = plt.subplots(1, 3, figsize=(13, 5), sharey=True)
panels = (
    ("the detector's output", np.arange(3), det_scores),
    ("after hard NMS (IoU 0.5)", keep_hard, det_scores[keep_hard]),
    ("after Soft-NMS (Gaussian)", keep_soft, soft_scores),
)
# each label sits inside a different corner of its own box: a top left, b top right,
# c bottom left (a and c almost coincide)
corner = {0: ("x1", "y1", "left", "top"), 1: ("x2", "y1", "right", "top"),
          2: ("x1", "y2", "left", "bottom")}  # fmt: skip
for ax, (title, kept, s) in zip(axes, panels):
    draw(ax, people, "tab:green", ls=(0, (2, 2)), lw=1.2)  # thin: never hides a detection
    for i, sc in zip(kept, s):
        above = sc > score_thresh
        color = "tab:blue" if above else "0.55"
        draw(ax, detections[i], color, ls="-" if above else "--", lw=2)
        x1, y1, x2, y2 = detections[i]
        cx, cy, ha, va = corner[i]
        ax.text(
            {"x1": x1 + 1.5, "x2": x2 - 1.5}[cx],
            {"y1": y1 + 1.5, "y2": y2 - 1.5}[cy],
            f"{'abc'[i]}: {sc:.2f}",
            ha=ha,
            va=va,
            color=color,
            fontsize=9,
            bbox={"facecolor": "white", "edgecolor": color, "pad": 1.5, "alpha": 0.9},
        )
    ax.set_xlim(0, 72)
    ax.set_ylim(100, 0)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xlabel("x (px)")
axes[0].set_ylabel("y (px, downwards)")
handles = [
    Rectangle((0, 0), 1, 1, fill=False, ec="tab:green", ls=(0, (2, 2)), lw=1.2),
    Rectangle((0, 0), 1, 1, fill=False, ec="tab:blue", lw=2),
    Rectangle((0, 0), 1, 1, fill=False, ec="0.55", ls="--", lw=2),
]
fig.legend(
    handles,
    ["ground truth (persons 1 and 2)", f"detection, score > {score_thresh}: reported",
     f"detection, score ≤ {score_thresh}: dropped"],
    loc="lower center",
    ncol=3,
)  # fmt: skip
fig.suptitle("Two people, one behind the other: hard NMS loses person 2, Soft-NMS keeps them")
fig.tight_layout(rect=(0, 0.07, 1, 1))

# %% [markdown]
# ## 3. Linear and Gaussian decay
#
# Soft-NMS (Bodla et al. 2017) multiplies the score of each remaining box $b_i$ by
# $f(\mathrm{iou}(\mathcal M, b_i))$ instead of deleting it:
#
# $$
# f_{\text{linear}}(o) = \begin{cases} 1 & o \le N_t \\ 1 - o & o > N_t \end{cases},\qquad
# f_{\text{gaussian}}(o) = e^{-o^2/\sigma},\qquad
# f_{\text{hard}}(o) = \begin{cases} 1 & o \le N_t \\ 0 & o > N_t. \end{cases}
# $$
#
# The curves below are measured with `soft_nms` itself: a box of score 1 is selected,
# and we read the decayed score of a second box of score 1 placed at a given IoU.

# %% alt="Score multiplier against IoU for hard NMS, linear and two Gaussian Soft-NMS settings: hard and linear drop at 0.3, the Gaussians decay smoothly."
shift = np.linspace(0, 10, 101)
pairs_iou, decay = [], {}
settings = {
    "hard, Nt = 0.3": {"method": "hard", "iou_thresh": 0.3},
    "linear, Nt = 0.3": {"method": "linear", "iou_thresh": 0.3},
    "gaussian, σ = 0.5": {"method": "gaussian", "sigma": 0.5},
    "gaussian, σ = 0.1": {"method": "gaussian", "sigma": 0.1},
}
for d in shift:
    pair = np.array([[0.0, 0.0, 10.0, 10.0], [d, 0.0, 10.0 + d, 10.0]])
    pairs_iou.append(box_iou(pair[:1], pair[1:])[0, 0])
    for name, kw in settings.items():
        kept, s = soft_nms(pair, np.array([1.0, 1.0]), score_thresh=0.0, **kw)
        decay.setdefault(name, []).append(s[1] if len(kept) == 2 else 0.0)  # gone: 0

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in decay.items():
    ax.plot(pairs_iou, values, label=name, lw=2)
ax.set_xlabel(r"IoU $o$ with the selected box $\mathcal{M}$")
ax.set_ylabel("score multiplier $f(o)$")
ax.legend()
ax.set_title("Soft-NMS rescoring functions")
fig.tight_layout()
print("check by hand at IoU 0.5: linear 1 - 0.5 = 0.5, gaussian e^(-0.25/0.5) = 0.607")
i = int(np.argmin(np.abs(np.array(pairs_iou) - 0.5)))
print(f"measured at IoU {pairs_iou[i]:.3f}:", {k: round(float(v[i]), 3) for k, v in decay.items()})

# %% [markdown]
# The linear decay is continuous in the IoU except at $N_t$ (a jump from 1 to $1 - N_t$);
# the Gaussian one is smooth and needs no threshold, only $\sigma$: small σ approaches hard
# NMS at $N_t = 0$.
#
# ## 4. Without NMS: CenterNet's peaks — and speed
#
# CenterNet predicts one heatmap per class and keeps the cells that are the maximum of their
# 3 × 3 neighbourhood (a max-pooling "instead of NMS", *Detection – 3 stages*, §M):

# %%
yy, xx = np.mgrid[0:32, 0:48]
heat = np.exp(-((xx - 12) ** 2 + (yy - 10) ** 2) / 18) * 0.9  # object 1
heat = np.maximum(heat, np.exp(-((xx - 33) ** 2 + (yy - 20) ** 2) / 30) * 0.7)  # object 2
heat = heat[None]  # (C=1, H, W)
peak_scores, cls, ys, xs = heatmap_peaks(heat, k=2)
for sc, y, x in zip(peak_scores, ys, xs):
    print(f"peak: score {sc:.2f} at (y, x) = ({y}, {x})")  # 0.90 at (10, 12), 0.70 at (20, 33)

# %% alt="A CenterNet heat map of 32 by 48 cells with two bright blobs; the two 3 by 3 local maxima found by heatmap_peaks are marked with crosses at their centres, scores 0.90 and 0.70."
fig, ax = plt.subplots(figsize=(7, 4.2))
image = ax.imshow(heat[0], cmap="viridis", vmin=0, vmax=1)
fig.colorbar(image, ax=ax, label="predicted centre score (class 0)")
ax.plot(xs, ys, "x", color="red", ms=12, mew=2.5, label="3 × 3 local maxima = detections")
for sc, y, x in zip(peak_scores, ys, xs):
    ax.annotate(f"{sc:.2f}", (x, y), xytext=(6, -8), textcoords="offset points", color="white")
ax.set_xlabel("x (heat-map cell)")
ax.set_ylabel("y (heat-map cell)")
ax.legend(loc="lower right")
ax.set_title("CenterNet: a peak of the heat map is a detection, no NMS needed")
fig.tight_layout()

# %% [markdown]
# Speed: the fast `nms` resolves candidates in blocks; `nms_reference` is the plain loop of
# the slide (the tests' oracle). On 3000 random boxes (timings vary with the machine):

# %%
rng = np.random.default_rng(0)
xy = rng.uniform(0, 300, (3000, 2))
many = np.concatenate([xy, xy + rng.uniform(20, 120, (3000, 2))], axis=1)
many_scores = rng.uniform(size=3000)
t0 = time.perf_counter()
k_fast = nms(many, many_scores, 0.7)
t1 = time.perf_counter()
k_ref = nms_reference(many, many_scores, 0.7)
t2 = time.perf_counter()
print(f"same result: {np.array_equal(k_fast, k_ref)}; kept {len(k_fast)} of 3000")
print(f"nms {1e3 * (t1 - t0):.1f} ms, nms_reference {1e3 * (t2 - t1):.1f} ms")

# %% [markdown]
# ## Summary
#
# * `nms` keeps the highest-scoring box of each cluster; a box is removed when its IoU with
#   a kept, higher-scored box is strictly greater than `iou_thresh`.
# * Hard NMS cannot tell a duplicate from a second object that overlaps the first;
#   `soft_nms` lowers the score instead of deleting, so the second object survives with a
#   reduced score.
# * `heatmap_peaks` replaces NMS by a local-maximum test for centre-heatmap detectors.
#
# Next: **04 — anchors**, the boxes every detection starts from.
