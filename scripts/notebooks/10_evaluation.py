# %% [markdown]
# # 10 — Evaluation: precision, recall, VOC and COCO AP
#
# How good is a detector? `bboxcore.eval` implements the PASCAL VOC and COCO metrics.
# This notebook works through them on an example small enough to do by hand:
#
# 1. matching detections to ground truth: true and false positives;
# 2. the precision–recall curve;
# 3. VOC all-point AP and VOC2007 11-point AP;
# 4. COCO AP, averaged over IoU thresholds 0.50 … 0.95.
#
# Documentation: *Concepts → Evaluation* and *API → bboxcore.eval*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bboxcore import box_iou
from bboxcore.eval import average_precision, coco_ap, voc_ap

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## The example: two images, one class, four objects, six detections
#
# | detection | score | image | box | best IoU | verdict at IoU ≥ 0.5 |
# | --- | --- | --- | --- | --- | --- |
# | d1 | 0.95 | A | (0, 0, 10, 10) | 1.00 with g1 | **TP** |
# | d2 | 0.90 | A | (1, 0, 11, 10) | 0.82 with g1 | FP: g1 is already taken (a duplicate) |
# | d3 | 0.80 | B | (0, 0, 10, 9) | 0.90 with g3 | **TP** |
# | d4 | 0.70 | A | (40, 40, 50, 50) | 0 | FP: nothing there |
# | d5 | 0.60 | B | (22, 22, 32, 32) | 64 / 136 = 0.47 with g4 | FP: not enough overlap |
# | d6 | 0.50 | A | (20, 0, 30, 12) | 100 / 120 = 0.83 with g2 | **TP** |
#
# Ground truth: image A has g1 = (0, 0, 10, 10) and g2 = (20, 0, 30, 10); image B has
# g3 = (0, 0, 10, 10) and g4 = (20, 20, 30, 30). Detections are taken in decreasing score
# order over **all images**; each may match one not-yet-matched box of its own image.

# %%
gt = [
    {"bbox": [[0, 0, 10, 10], [20, 0, 30, 10]], "label": [0, 0]},  # image A: g1, g2
    {"bbox": [[0, 0, 10, 10], [20, 20, 30, 30]], "label": [0, 0]},  # image B: g3, g4
]
pred = [
    {  # image A: d1, d2, d4, d6
        "bbox": [[0, 0, 10, 10], [1, 0, 11, 10], [40, 40, 50, 50], [20, 0, 30, 12]],
        "label": [0, 0, 0, 0],
        "score": [0.95, 0.90, 0.70, 0.50],
    },
    {  # image B: d3, d5
        "bbox": [[0, 0, 10, 9], [22, 22, 32, 32]],
        "label": [0, 0],
        "score": [0.80, 0.60],
    },
]
for name, i in (("A", 0), ("B", 1)):
    print(f"IoU of image {name}'s detections (rows) with its ground truth (columns):")
    print(box_iou(pred[i]["bbox"], gt[i]["bbox"]))

# %% [markdown]
# ## 1–2. Precision and recall
#
# After the $k$ best detections, with $N_{gt} = 4$:
#
# $$ \text{precision}_k = \frac{TP_k}{k},\qquad \text{recall}_k = \frac{TP_k}{N_{gt}} .$$
#
# **By hand**, TP/FP in score order is 1, 0, 1, 0, 0, 1, so $TP_k$ = 1, 1, 2, 2, 2, 3:
#
# * precision = 1, 1/2, 2/3, 2/4, 2/5, 3/6 = 1, 0.5, 0.667, 0.5, 0.4, 0.5;
# * recall = 1/4, 1/4, 2/4, 2/4, 2/4, 3/4 = 0.25, 0.25, 0.5, 0.5, 0.5, 0.75.
#
# The detector never finds g4, so recall stops at 0.75.

# %%
result = voc_ap(pred, gt, iou_thresh=0.5, metric="all_point")
precision, recall = result.precision[0], result.recall[0]
print("precision:", precision)  # 1, 0.5, 0.667, 0.5, 0.4, 0.5
print("recall:   ", recall)  # 0.25, 0.25, 0.5, 0.5, 0.5, 0.75

# %% [markdown]
# ## 3. Average precision, VOC style
#
# First make the curve monotone: $p_{\text{interp}}(r) = \max_{r' \ge r} p(r')$, the best
# precision reachable at recall $r$ or more. Then
#
# * **all-point** (VOC2010 and later): the exact area under the interpolated curve,
#   $\mathrm{AP} = \sum_k (r_k - r_{k-1})\, p_{\text{interp}}(r_k)$;
# * **11-point** (VOC2007): $\mathrm{AP} = \frac{1}{11}\sum_{t \in \{0, 0.1, \dots, 1\}}
#   p_{\text{interp}}(t)$, with 0 where the recall is never reached.
#
# **By hand**: $p_{\text{interp}}$ is 1 up to recall 0.25, 2/3 up to 0.5, 1/2 up to 0.75,
# then nothing.
#
# * all-point: $0.25 \cdot 1 + 0.25 \cdot \frac23 + 0.25 \cdot \frac12 = 0.5417$;
# * 11-point: $t = 0, 0.1, 0.2 \to 1$; $t = 0.3, 0.4, 0.5 \to \frac23$; $t = 0.6, 0.7 \to
#   \frac12$; $t = 0.8, 0.9, 1 \to 0$: $(3 + 2 + 1) / 11 = 0.5455$.

# %%
print("all-point AP:", average_precision(precision, recall, metric="all_point"))  # 0.5417
print("11-point AP: ", average_precision(precision, recall, metric="11_point"))  # 0.5455
print("voc_ap mAP:  ", result.map)

# %% alt="Left: the precision-recall curve of the worked example with the all-point AP area shaded. Right: the ground-truth boxes in green and the scored detections in red."
interp = np.maximum.accumulate(precision[::-1])[::-1]  # max over r' >= r, for the picture
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
ax = axes[0]
ax.plot(recall, precision, "o", label="(recall, precision) after each detection")
ax.step(np.r_[0, recall], np.r_[interp[0], interp], where="pre", label=r"$p_{interp}$ (all-point)")
ax.fill_between(
    np.r_[0, recall], np.r_[interp[0], interp], step="pre", alpha=0.15, label="all-point AP (area)"
)
t = np.linspace(0, 1, 11)
p11 = [interp[recall >= v].max() if (recall >= v).any() else 0.0 for v in t]  # picture only
ax.plot(t, p11, "kx", ms=9, label="the 11 points of VOC2007")
ax.set_xlim(0, 1.02)
ax.set_ylim(0, 1.05)
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.legend(loc="lower left", fontsize=8)
ax.set_title("precision–recall curve; shaded: all-point AP = 0.542")

ax = axes[1]
for i, name in enumerate("AB"):
    ax.add_patch(Rectangle((i * 60 - 2, -2), 56, 56, fill=False, ec="0.7", ls=":"))
    ax.text(i * 60, 58, f"image {name}")
    for x1, y1, x2, y2 in gt[i]["bbox"]:
        ax.add_patch(Rectangle((i * 60 + x1, y1), x2 - x1, y2 - y1, fill=False, ec="lime", lw=3))
    for k, ((x1, y1, x2, y2), s) in enumerate(zip(pred[i]["bbox"], pred[i]["score"])):
        ax.add_patch(Rectangle((i * 60 + x1, y1), x2 - x1, y2 - y1, fill=False, ec="red", lw=1))
        ax.text(i * 60 + x2 + 1, y1 + 4 * (k % 2), f"{s:.2f}", color="red", fontsize=8)
ax.set_xlim(-5, 120)
ax.set_ylim(62, -5)
ax.set_aspect("equal")
ax.set_xlabel("x (px; image B drawn 60 px to the right)")
ax.set_ylabel("y (px, downwards)")
ax.legend(
    [
        Rectangle((0, 0), 1, 1, fill=False, ec="lime", lw=3),
        Rectangle((0, 0), 1, 1, fill=False, ec="red", lw=1),
        Rectangle((0, 0), 1, 1, fill=False, ec="0.7", ls=":"),
    ],
    ["ground truth", "detection (its score beside it)", "image border"],
    loc="lower right",
    fontsize=7,
)
ax.set_title("the two images of the worked example")
fig.tight_layout()

# %% [markdown]
# The IoU threshold matters: at 0.45, d5 (IoU 0.47) becomes a true positive and the curve
# reaches recall 1.

# %%
for thresh in (0.45, 0.5, 0.85, 0.95):
    r = voc_ap(pred, gt, iou_thresh=thresh)
    print(f"IoU >= {thresh:.2f}: AP = {r.map:.4f}, final recall {r.recall[0][-1]:.2f}")

# %% [markdown]
# ## 4. COCO AP
#
# COCO averages AP over ten IoU thresholds $0.50, 0.55, \dots, 0.95$ ("AP@[.5:.95]", the
# headline number), interpolating precision at 101 recall points, and reports AP50, AP75,
# AP by object size, and average recall. A detector that finds the objects but places the
# boxes loosely scores well on AP50 and poorly on AP.

# %%
coco = coco_ap(pred, gt)
for name, value in coco.as_dict().items():
    print(f"{name:8s} {value: .4f}")
per_thresh = [voc_ap(pred, gt, iou_thresh=t).map for t in np.linspace(0.5, 0.95, 10)]
print("VOC all-point AP at each COCO threshold:", np.round(per_thresh, 3))
print(
    f"their mean {np.mean(per_thresh):.4f} ~ COCO AP {coco.as_dict()['AP']:.4f} "
    "(COCO samples the curve at 101 recall points instead of integrating it)"
)

# %% [markdown]
# Here d3 (IoU 0.90) counts up to threshold 0.90, d6 (0.83) up to 0.80 and d1 (1.00)
# everywhere, so AP decays as the threshold rises, and COCO's average is well below AP50.
# No area is above 96² pixels or between 32² and 96² here: every box is "small" (< 32²), so
# AP medium and AP large are -1 (undefined).
#
# ## Summary
#
# * Detections are ranked over all images; each can match one unmatched ground-truth box
#   with IoU ≥ the threshold; duplicates are false positives.
# * `average_precision` integrates the interpolated PR curve (all-point) or samples it at
#   11 recall levels (VOC2007); `voc_ap` does the matching and returns AP per class and mAP.
# * `coco_ap` returns the 12 numbers of the official COCO evaluation; its AP averages ten IoU
#   thresholds and rewards tight boxes.
