# %% [markdown]
# # 14 — One stage or two? Six detectors under one protocol
#
# Faster R-CNN (two stages: proposals, then a head on each), YOLOv1, YOLOv3, RetinaNet,
# FCOS and CenterNet (one stage: a dense prediction per cell) all train in `bboxcore` with
# the same evaluator. Which is better on MNIST scenes and on NEON tree crowns, and *why*?
# The course deck *Detection – 3 stages* keeps asking it: one stage vs two, anchors vs none,
# NMS vs peaks. This notebook trains nothing. It
#
# 1. reads the committed results of `bboxcore compare` (`docs/results/*.json`) and prints
#    the table, with the runs still missing;
# 2. draws AP50 against training time, the precision–recall curves on NEON and every
#    detector's detections on the same test tiles;
# 3. walks through the mechanisms behind the differences, each tied to the formula that
#    causes it and measured with the library on real test tiles: the foreground/background
#    imbalance (sampling vs focal loss), anchors vs points, NMS vs heat-map peaks, YOLOv1's
#    coarse grid, and the receptive field against the object size.
#
# Every statement about the results below is computed from the results files, so the text
# stays true when runs are added. Protocol: *Comparison* page of the documentation;
# `bboxcore compare --table` prints the same table.

# %%
# %matplotlib inline
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from markdown_it import MarkdownIt
from matplotlib.patches import Rectangle

from bboxcore import box_iou, nms
from bboxcore.anchors import generate_anchor_base, grid_anchors, receptive_field
from bboxcore.losses import sigmoid_focal_loss
from bboxcore.models.datasets import build_dataset
from bboxcore.models.registry import MODELS, build_model
from bboxcore.targets import (
    AnchorTargetCreator,
    centernet_targets,
    fcos_targets,
    retinanet_anchors,
    retinanet_targets,
    yolov1_targets,
    yolov3_targets,
)
from bboxcore.tools.compare import DATASETS, format_table, summarize
from bboxcore.tools.compare_plots import (
    missing_runs,
    model_colors,
    plot_ap_vs_time,
    plot_detections,
    plot_pr_curves,
)

try:  # the documentation's Comparison page shows the outputs glued here
    from myst_nb import glue
except ImportError:  # pragma: no cover - myst-nb is a dev dependency

    def glue(name, value, display=True):
        """Show ``value``, as myst_nb.glue does in a notebook."""
        from IPython.display import display as show

        show(value)


np.set_printoptions(precision=3, suppress=True)
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
# BBOXCORE_RESULTS: another folder of results files, e.g. the committed ones exported while
# a comparison is still writing docs/results (see the Comparison page, "Reproducing").
RESULTS = Path(os.environ.get("BBOXCORE_RESULTS", ROOT / "docs" / "results"))
COLORS = model_colors()


class Markdown:
    """Markdown text that also shows as HTML (the documentation glues HTML across pages)."""

    def __init__(self, text):
        self.text = text

    def _repr_markdown_(self):
        return self.text

    def _repr_html_(self):
        html = MarkdownIt("commonmark").enable("table").render(self.text)
        return html.replace("<table>", '<table class="table">')


def load(dataset):
    """The content of a committed results file, or None when it is missing or empty."""
    path = RESULTS / f"{dataset}.json"
    if not path.exists():
        return None
    content = json.loads(path.read_text())
    return content if content.get("runs") else None


results = {d: r for d in DATASETS if (r := load(d)) is not None}
status = []
for d in DATASETS:
    if d not in results:
        status.append(f"* `{d}`: no results committed yet (no `{d}.json` in `docs/results`)")
        continue
    word = "fold" if d == "neon-trees" else "seed"
    n_runs = len(results[d]["runs"])
    lacking = [f"{m} {word}{'s' if len(ks) > 1 else ''} {', '.join(map(str, ks))}"
               for m, ks in missing_runs(results[d]).items()]  # fmt: skip
    status.append(f"* `{d}`: {n_runs} run{'s' if n_runs > 1 else ''}; "
                  + (f"missing: {'; '.join(lacking)}" if lacking else "nothing missing"))  # fmt: skip
glue("status", Markdown("\n".join(status)))

# %% [markdown]
# ## 1. The table
#
# AP50 is VOC's all-point AP at IoU 0.5, COCO AP the mean over IoU 0.50:0.05:0.95
# (*Detection – 3 stages*, §P; notebook 10). NEON numbers are mean ± standard deviation over
# the folds of the spatial-block cross-validation (fold $k$ trained with seed $k$), MNIST
# numbers over seeds; "train min" is the wall time of training on the shared 2-core CPU,
# one BLAS thread.

# %%
def none_yet(what="results"):
    return Markdown(f"*No {what} committed yet (`bboxcore compare` writes them).*")


glue("table", Markdown(format_table(results)) if results else none_yet())
summaries = {d: summarize(r["runs"]) for d, r in results.items()}


def ranked(d):
    """(model, mean AP50, std or None, runs) of data set d, best mean first."""
    rows = [(m, *s["ap50"], s["n"]) for m, s in summaries[d].items() if s["ap50"][0] is not None]
    return sorted(rows, key=lambda row: -row[1])


def spread(std):
    return "one run, no spread" if std is None else f"± {std:.3f}"


for d in summaries:
    rows = ranked(d)
    word = "folds" if d == "neon-trees" else "seeds"
    print(f"\n{d}, by mean AP50:")
    for m, mean, std, n in rows:
        print(f"  {m:12s} {mean:.3f} ({spread(std)}, {n} {word if n > 1 else word[:-1]})")
    if len(rows) >= 2:
        (m1, a1, s1, _), (m2, a2, s2, _) = rows[:2]
        stds = [s for s in (s1, s2) if s is not None]
        if not stds:
            verdict = "with one run each there is no spread to compare the gap with"
        elif a1 - a2 > max(stds):
            verdict = f"larger than the larger spread over {word} ({max(stds):.3f})"
        else:
            verdict = (
                f"within the spread over {word} ({max(stds):.3f}): another split "
                "could order them the other way"
            )
        print(f"  the first two, {m1} and {m2}, differ by {a1 - a2:.3f} in mean AP50: {verdict}")
    two = [row for row in rows if row[0] == "faster_rcnn"]
    one = [row for row in rows if row[0] != "faster_rcnn"]
    if two and one:
        gap = two[0][1] - one[0][1]
        side = "above" if gap > 0 else "below"
        print(
            f"  two-stage Faster R-CNN is {abs(gap):.3f} {side} the best one-stage "
            f"detector ({one[0][0]})"
        )
    elif not two:
        print("  Faster R-CNN has no result yet: no two-stage vs one-stage comparison")

# %% [markdown]
# ## 2. AP against training time
#
# A small dot per run, a large one for the detector's mean with error bars of one standard
# deviation in both directions. Up and to the left is better; the title names the runs not
# yet in the file.

# %% alt="AP50 against training minutes for each detector, one panel per data set: a small dot per run and a large marker at the mean with error bars of one standard deviation"
glue("ap_vs_time", plot_ap_vs_time(results) if results else none_yet())
if results:
    for d, s in summaries.items():
        timed = {m: v["train_minutes"][0] for m, v in s.items() if v["train_minutes"][0]}
        if len(timed) > 1:
            fast, slow = min(timed, key=timed.get), max(timed, key=timed.get)
            print(f"{d}: training from {timed[fast]:.1f} min ({fast}) to {timed[slow]:.1f} min "
                  f"({slow}) on average")  # fmt: skip
        speed = {m: v["infer_images_per_s"][0] for m, v in s.items() if v["infer_images_per_s"][0]}
        if speed:
            best = max(speed, key=speed.get)
            print(f"{d}: fastest inference {best}, {speed[best]:.1f} images/s (one at a time)")

# %% [markdown]
# ## 3. Precision–recall on NEON
#
# One curve per detector on one fold (the one most detectors have), its other folds faint;
# the legend gives the fold drawn, its AP50 and the mean ± std over folds. AP50 is the area
# under a curve's upper envelope (precision made non-increasing, VOC's all-point
# interpolation). Where a curve *ends* is the highest recall the detector reaches down to its
# own score cut-off and detection limit: the crowns beyond it are never found.

# %% alt="Precision against recall on the NEON test tiles, one curve per detector on one fold, the other folds faint, with AP50 and the mean over folds in the legend"
neon = results.get("neon-trees")
glue("pr_neon", plot_pr_curves(neon) if neon else none_yet("NEON results"))
if neon:
    for m in MODELS:
        ends = {r["run"]: r["pr"][0]["recall"][-1] for r in neon["runs"] if r["model"] == m}
        if ends:
            per_fold = ", ".join(f"fold {k} {v:.3f}" for k, v in sorted(ends.items()))
            print(f"{m:12s} highest recall: {per_fold}")

# %% [markdown]
# ## 4. The same test tiles, every detector
#
# Rows: the first test tiles of one fold; columns: the detectors that have that fold.
# Ground truth dashed cyan, detections (score ≥ 0.3) solid red.

# %% alt="A grid of NEON test tiles (rows) by detectors (columns) with the ground-truth crowns dashed in cyan and each detector's detections in red"
glue("detections_neon", plot_detections(neon, n_images=4) if neon else none_yet("NEON results"))

# %% alt="A grid of MNIST test scenes (rows) by detectors (columns) with the ground-truth digits dashed in cyan and each detector's detections in red"
mnist = results.get("mnist-det")
glue("detections_mnist", plot_detections(mnist, n_images=3, panel=2.2) if mnist else none_yet("MNIST results"))

# %% [markdown]
# ## 5. Why the numbers differ
#
# The rest of the notebook measures, on one real NEON test tile (the fold-0 test tile with
# the most crowns), the mechanisms that separate the six detectors. Each uses the presets
# the comparison trained (`Detector.default_config`), and the target creators the
# detectors' losses call.

# %%
test = build_dataset("neon-trees", "test")  # fold 0
tile_i = max(range(len(test)), key=lambda i: len(test.annotation(i).bbox))
tile = test[tile_i]
bbox, label = tile.bbox, tile.label
H, W = tile.image.shape[:2]
cfgs = {m: cls.default_config("neon-trees", test.class_names) for m, cls in MODELS.items()}
side = np.sqrt((bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1]))
print(f"tile {test.annotation(tile_i).image_id}: {W} x {H} px, {len(bbox)} crowns, "
      f"sides {side.min():.0f}-{side.max():.0f} px (median {np.median(side):.0f})")  # fmt: skip


def draw(ax, boxes, color, label=None, **kw):
    """Draw (x_min, y_min, x_max, y_max) boxes on a matplotlib axis (image coordinates)."""
    kw.setdefault("lw", 1.0)
    for i, (x1, y1, x2, y2) in enumerate(np.atleast_2d(boxes)):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color,
                      label=label if i == 0 else None, **kw)
        )  # fmt: skip


# %% [markdown]
# ### 5.1 The imbalance: sampling (two stages) vs the focal loss (one stage)
#
# A dense detector scores every anchor or cell, and almost all of them are background.
# Faster R-CNN's RPN never sees that imbalance in its loss: it *samples* 256 anchors per
# image in the paper (the NEON preset: 128), at most half positive (IoU ≥ 0.7 or the best anchor of a
# box), and its classification term is averaged over them (Ren, He, Girshick, Sun, *Faster
# R-CNN*, arXiv:1506.01497, Eq. 1 and Sec. 3.1.3; *Detection – 3 stages*, §C2); the second
# stage samples RoIs at most ¼ positive (§B5). RetinaNet keeps **every** anchor in the loss
# and makes the easy ones cheap with the focal loss (Lin, Goyal, Girshick, He, Dollár,
# *Focal Loss for Dense Object Detection*, arXiv:1708.02002, Eq. 5; §I):
#
# $$\mathrm{FL}(p_t) = -\alpha_t\,(1 - p_t)^\gamma \log p_t, \qquad \alpha = 0.25,\ \gamma = 2,$$
#
# normalised by the number of foreground anchors. FCOS uses the same loss over its locations;
# CenterNet a penalty-reduced variant over the heat-map cells (Zhou, Wang, Krähenbühl,
# *Objects as Points*, arXiv:1904.07850, Eq. 1; §M); YOLOv1 down-weights the empty cells'
# confidence by $\lambda_{noobj} = 0.5$ (Redmon et al., *You Only Look Once*,
# arXiv:1506.02640, Eq. 3; §E2). Counted on the tile:

# %%
r = cfgs["retinanet"]
feats = [(H // s, W // s) for s in r.pyramid.strides]
anchor = np.concatenate(retinanet_anchors(feats, r.pyramid.strides, r.anchor_sizes, r.ratios, r.scales))
rt = retinanet_targets(anchor, bbox, label, pos_iou_thresh=r.pos_iou_thresh,
                       neg_iou_thresh=r.neg_iou_thresh)  # fmt: skip
f = cfgs["faster_rcnn"]
base = generate_anchor_base(f.anchor.base_size, f.anchor.ratios, f.anchor.scales)
stride = f.backbone.feat_stride
rpn_anchor = grid_anchors(base, stride, (H // stride, W // stride))
creator = AnchorTargetCreator(f.rpn.n_sample, f.rpn.pos_iou_thresh, f.rpn.neg_iou_thresh,
                              f.rpn.pos_ratio)  # fmt: skip
_, rpn_label = creator(bbox, rpn_anchor, (H, W), np.random.default_rng(0))
fc = cfgs["fcos"]
ft = fcos_targets(bbox, label, feats, fc.pyramid.strides, fc.size_ranges,
                  center_sampling_radius=fc.center_sampling_radius)  # fmt: skip
c = cfgs["centernet"]
grid_c = (H // c.stride, W // c.stride)
ct = centernet_targets(bbox, label, 1, grid_c, c.stride, min_overlap=c.min_overlap,
                       min_radius=c.min_radius)  # fmt: skip
y1 = cfgs["yolov1"]
yt1 = yolov1_targets(bbox, label, y1.img_size, y1.grid_size, 1)
y3 = cfgs["yolov3"]
yt3 = yolov3_targets(bbox, label, (H, W), np.asarray(y3.anchors), y3.strides, 1,
                     anchor_iou_thresh=y3.anchor_iou_thresh)  # fmt: skip

rows = {  # name: (candidates, positives, negatives in the loss)
    "faster_rcnn RPN (sampled)": (len(rpn_anchor), (rpn_label == 1).sum(), (rpn_label == 0).sum()),
    "retinanet anchors": (len(anchor), (rt.label == 1).sum(), (rt.label == 0).sum()),
    "fcos locations": (len(ft.gt_class), (ft.gt_class >= 0).sum(), (ft.gt_class < 0).sum()),
    "centernet cells": (ct.heatmap.size, (ct.heatmap == 1).sum(), (ct.heatmap < 1).sum()),
    "yolov1 cells x B": (yt1.obj_mask.size * y1.n_box, yt1.obj_mask.sum(),
                         yt1.obj_mask.size * y1.n_box - yt1.obj_mask.sum()),
    "yolov3 anchors": (len(yt3.obj), (yt3.obj == 1).sum(), (yt3.obj == 0).sum()),
}  # fmt: skip
print(f"{'':28s} {'candidates':>10s} {'positive':>9s} {'negative':>9s}  neg : pos")
for name, (n, pos, neg) in rows.items():
    print(f"{name:28s} {n:10d} {pos:9d} {neg:9d}  {neg / max(pos, 1):7.1f}")

# %% [markdown]
# (YOLOv1's B = 2 boxes of a cell share one objectness target per responsible cell; only the
# predictor with the higher IoU is responsible, so the negatives are counted per box.)
#
# What does each loss make of RetinaNet's imbalance? Take a classifier early in training:
# background anchors easy ($p = 0.01$), foreground ones hard ($p = 0.3$). Summed over the
# tile's anchors, the easy negatives carry this share of the loss:

# %% alt="Bar chart of the share of the classification loss carried by the tile's easy background anchors: cross-entropy, focal loss, and cross-entropy on the RPN's sampled anchors"
n_fg, n_bg = int((rt.label == 1).sum()), int((rt.label == 0).sum())
n_fg_rpn, n_bg_rpn = int((rpn_label == 1).sum()), int((rpn_label == 0).sum())


def easy_share(n_easy, n_hard, alpha, gamma, p_easy=0.01, p_hard=0.3):
    """Share of the summed loss that the easy negatives carry."""
    z_easy, z_hard = np.log(p_easy / (1 - p_easy)), np.log(p_hard / (1 - p_hard))
    easy = sigmoid_focal_loss(np.full(n_easy, z_easy), np.zeros(n_easy), alpha, gamma,
                              reduction="sum")  # fmt: skip
    hard = sigmoid_focal_loss(np.full(n_hard, z_hard), np.ones(n_hard), alpha, gamma,
                              reduction="sum")  # fmt: skip
    return float(easy / (easy + hard))


shares = {
    f"CE, all {n_bg + n_fg} anchors": easy_share(n_bg, n_fg, None, 0.0),
    "focal (α .25, γ 2), all anchors": easy_share(n_bg, n_fg, 0.25, 2.0),
    f"CE, RPN's {n_bg_rpn + n_fg_rpn} sampled": easy_share(n_bg_rpn, n_fg_rpn, None, 0.0),
}
for name, s in shares.items():
    print(f"{name:34s} easy negatives carry {s:6.1%} of the loss")
fig, ax = plt.subplots(figsize=(7.5, 3))
ax.barh(list(shares), list(shares.values()), color=["tab:gray", "tab:red", "tab:blue"])
for k, v in enumerate(shares.values()):
    ax.text(v + 0.01, k, f"{v:.1%}", va="center")
ax.set_xlim(0, 1)
ax.set_xlabel("share of the classification loss from easy background anchors")
ax.invert_yaxis()
plt.tight_layout()
plt.show()

# %% [markdown]
# Both remedies work, by different routes: sampling throws the easy negatives away
# (and with them the information in most of the image), the focal loss keeps them all but
# multiplies each by $(1 - p_t)^\gamma = 10^{-4}$. Without either, cross-entropy would be
# spent on background the network already gets right. YOLOv1's $\lambda_{noobj} = 0.5$ is a
# much weaker correction (a factor 2, against $10^4$).
#
# ### 5.2 Anchors vs points: how many positives each crown gets
#
# An anchor is positive by **IoU** with a box (RetinaNet ≥ 0.5, the RPN ≥ 0.7, plus each
# box's best anchor): a crown whose size falls between two anchor sizes gets few positives.
# FCOS drops anchors: a location $(x, y)$ inside a box on the level whose range holds
# $\max(l^*, t^*, r^*, b^*)$ is positive, with $l^* = x - x_0$, $t^* = y - y_0$,
# $r^* = x_1 - x$, $b^* = y_1 - y$ (Tian, Shen, Chen, He, *FCOS*, arXiv:1904.01355, Eq. 1
# and Sec. 3.2; §N) — so the count grows with the crown's area. CenterNet and YOLOv1 give
# each object one cell (its centre's), YOLOv3 the anchors of shape IoU > 0.5 at the centre
# cell (Redmon, Farhadi, *YOLOv3*, arXiv:1804.02767; §G).

# %% alt="Number of positive training examples per crown of the tile against the crown's side, one series per detector's target assignment"
pos_per_box = {
    "faster_rcnn (RPN, sampled)": None,
    "retinanet": np.bincount(rt.gt_index[rt.label == 1], minlength=len(bbox)),
    "fcos": np.bincount(ft.gt_index[ft.gt_class >= 0], minlength=len(bbox)),
    "centernet": np.ones(len(bbox), int),
}
rpn_iou = box_iou(rpn_anchor[rpn_label == 1], bbox)
pos_per_box["faster_rcnn (RPN, sampled)"] = np.bincount(rpn_iou.argmax(1), minlength=len(bbox))
fig, ax = plt.subplots(figsize=(7.5, 4))
for (name, counts), color in zip(pos_per_box.items(), ("faster_rcnn", "retinanet", "fcos", "centernet")):
    ax.scatter(side, counts, s=18, color=COLORS[color], label=name, alpha=0.8)
ax.set(xlabel="crown side √(w h) (px)", ylabel="positives for this crown")
ax.legend(fontsize=8, loc="upper left")
plt.show()
for name, counts in pos_per_box.items():
    print(f"{name:28s} positives per crown: median {np.median(counts):4.1f}, "
          f"min {counts.min()}, max {counts.max()}; crowns with none: {(counts == 0).sum()}")  # fmt: skip
n_y3 = int((yt3.obj == 1).sum())
print(f"{'yolov3':28s} {n_y3} positive anchors for {len(bbox)} crowns ({n_y3 / len(bbox):.1f} per crown)")

# %% [markdown]
# More positives per object means more gradient about that object per image, but also
# positives far from its centre that regress poor boxes — which is why FCOS adds the
# centre-ness $\sqrt{\frac{\min(l^*, r^*)}{\max(l^*, r^*)}\frac{\min(t^*, b^*)}{\max(t^*, b^*)}}$
# (Eq. 3) to score them down, and why CenterNet, with one positive, spreads a Gaussian
# around it so that the neighbours are cheap negatives.
#
# ### 5.3 NMS vs heat-map peaks
#
# Every detector except CenterNet removes duplicates with NMS: keep the best box, drop the
# boxes overlapping it by IoU above a threshold, repeat (§A3, §Q; notebook 03). CenterNet
# keeps a cell when it equals the maximum of its 3 × 3 neighbourhood (Zhou et al., Sec. 4;
# §M; notebook 13). Each can lose a true object even with a perfect network: NMS when two
# objects overlap by more than its threshold, the peaks when two centres fall in one output
# cell. On every test tile of fold 0:

# %%
nms_thresh = {
    "faster_rcnn": cfgs["faster_rcnn"].detect.nms_thresh,
    "retinanet": cfgs["retinanet"].nms_thresh,
    "fcos": cfgs["fcos"].nms_thresh,
    "yolov1": cfgs["yolov1"].nms_thresh,
    "yolov3": cfgs["yolov3"].nms_thresh,
}
all_boxes = [test.annotation(i).bbox for i in range(len(test))]
n_crowns = sum(len(b) for b in all_boxes)
max_iou = max(
    float((box_iou(b, b) - np.eye(len(b))).max()) if len(b) > 1 else 0.0 for b in all_boxes
)
rng = np.random.default_rng(0)
nms_lost = {}
for m, t in nms_thresh.items():
    nms_lost[m] = sum(len(b) - len(nms(b, rng.random(len(b)), t)) for b in all_boxes)
    print(f"{m:12s} NMS at IoU {t:.2f} on the ground truth itself: "
          f"{nms_lost[m]} of {n_crowns} crowns lost")  # fmt: skip
print(f"largest IoU between two crowns of a test tile: {max_iou:.3f}")
merged, closest = 0, np.inf
for b in all_boxes:
    centre = (b[:, :2] + b[:, 2:]) / 2
    cells = np.floor(centre / c.stride)
    merged += len(b) - len(np.unique(cells, axis=0))
    if len(b) > 1:
        d = np.abs(centre[:, None] - centre[None]).max(-1) + np.diag(np.full(len(b), np.inf))
        closest = min(closest, float(d.min()))
print(f"centernet: {merged} of {n_crowns} crowns share an output cell (R = {c.stride} px) with "
      f"another; the closest two centres are {closest:.1f} px = {closest / c.stride:.1f} cells apart")  # fmt: skip

# %% [markdown]
# These are ceilings fixed by the data, before any training. What separates the two
# post-processings in practice is how they treat a network's **imperfect** output: NMS keeps two boxes of one crown when they overlap by less than
# the threshold (a duplicate, hence a false positive), and drops a neighbour crown's box when
# it overlaps more; the max-pool keeps any two peaks two cells apart, whatever their boxes.
# The stored detections of each detector (score ≥ 0.3, on the first test tiles of the fold
# in section 4) show which errors each makes: a detection at IoU ≥ 0.5 with a crown already
# matched by a higher-scoring one is a *duplicate*.


# %%
def error_kinds(record, ds):
    """Matched, duplicate and other detections (score >= 0.3) and missed crowns, greedily by score."""
    index = {str(ds.annotation(i).image_id): i for i in range(len(ds))}
    kinds = dict.fromkeys(("matched", "duplicate", "other", "missed"), 0)
    for s in record["shown"]:
        gt = ds.annotation(index[s["image_id"]]).bbox
        det = np.asarray(s["bbox"], np.float64).reshape(-1, 4)[np.argsort(s["score"])[::-1]]
        iou = box_iou(det, gt) if len(det) and len(gt) else np.zeros((len(det), len(gt)))
        taken = np.zeros(len(gt), bool)
        for row in iou:
            j = int(row.argmax()) if len(gt) else -1
            if j >= 0 and row[j] >= 0.5 and not taken[j]:
                taken[j], kinds["matched"] = True, kinds["matched"] + 1
            elif j >= 0 and row[j] >= 0.5:
                kinds["duplicate"] += 1
            else:
                kinds["other"] += 1
        kinds["missed"] += int((~taken).sum())
    return kinds


if neon:
    counts = {}
    for fold in sorted({r["run"] for r in neon["runs"]}):
        ds = build_dataset(f"neon-trees:fold={fold}", "test")
        for rec in (r for r in neon["runs"] if r["run"] == fold):
            for k, v in error_kinds(rec, ds).items():
                counts.setdefault(rec["model"], dict.fromkeys(("matched", "duplicate", "other", "missed"), 0))
                counts[rec["model"]][k] += v
    print(f"{'':12s} {'matched':>8s} {'duplicate':>10s} {'other FP':>9s} {'missed':>7s}   (first tiles of every fold)")
    for m, k in counts.items():
        print(f"{m:12s} {k['matched']:8d} {k['duplicate']:10d} {k['other']:9d} {k['missed']:7d}")
    dup = {m: k["duplicate"] for m, k in counts.items()}
    if max(dup.values()) == 0:
        print("no detector has a duplicate among its stored detections")
    else:
        most = max(dup, key=dup.get)
        print(f"most duplicates: {most} ({dup[most]}); none: {[m for m, v in dup.items() if v == 0]}")
else:
    print("no NEON results yet")

# %% [markdown]
# ### 5.4 YOLOv1's coarse grid: one object per cell
#
# YOLOv1 divides the image into $S \times S$ cells; the cell holding an object's centre is
# responsible for it, and each cell predicts $B$ boxes but **one** set of class
# probabilities (Redmon et al., arXiv:1506.02640, Sec. 2 and Sec. 2.4: "each grid cell only
# predicts two boxes and can only have one class"; §E2). The NEON preset has $S = 10$ on a
# 320-px tile, 32-px cells — about one crown across. Two crowns whose centres fall in one
# cell give one target: the other crown can never be found.

# %% alt="The NEON test tile with its crowns, YOLOv1's 32-pixel grid, the crowns whose centre shares a cell with another highlighted, and CenterNet's 4-pixel cells around the two closest centres"
S, cell = y1.grid_size, H // y1.grid_size
centre = (bbox[:, :2] + bbox[:, 2:]) / 2
key = (centre // cell).astype(int)
_, inverse, n_in = np.unique(key, axis=0, return_inverse=True, return_counts=True)
shared = n_in[inverse.ravel()] > 1
fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 6))
a0.imshow(tile.image)
for k in range(1, S):
    a0.axhline(k * cell, color="white", lw=0.5, alpha=0.6)
    a0.axvline(k * cell, color="white", lw=0.5, alpha=0.6)
draw(a0, bbox[~shared], "#00e5ff", "own cell")
draw(a0, bbox[shared], "#ff1744", "shares a cell", lw=2)
a0.scatter(*centre.T, s=8, c="yellow")
a0.set_title(f"YOLOv1, {S} x {S} grid: {int(shared.sum())} crowns share a cell,\n"
             f"{len(bbox) - int(yt1.obj_mask.sum())} have no responsible cell", fontsize=10)  # fmt: skip
a0.legend(loc="lower right", fontsize=8)
d = np.abs(centre[:, None] - centre[None]).max(-1) + np.diag(np.full(len(bbox), np.inf))
p, q = np.unravel_index(d.argmin(), d.shape)
lo = np.floor(np.minimum(bbox[p, :2], bbox[q, :2]) - 4)
hi = np.ceil(np.maximum(bbox[p, 2:], bbox[q, 2:]) + 4)
a1.imshow(tile.image)
for v in np.arange(0, W + 1, c.stride):
    a1.axvline(v, color="white", lw=0.3, alpha=0.5)
    a1.axhline(v, color="white", lw=0.3, alpha=0.5)
draw(a1, bbox[[p, q]], "#00e5ff", lw=1.5)
for j in (p, q):
    cx, cy = (centre[j] // c.stride) * c.stride
    a1.add_patch(Rectangle((cx, cy), c.stride, c.stride, color="#ff1744", alpha=0.8))
a1.set(xlim=(lo[0], hi[0]), ylim=(hi[1], lo[1]))
cp_, cq_ = ((centre[j] // c.stride).astype(int).tolist() for j in (p, q))
a1.set_title(f"CenterNet, R = {c.stride}: the two closest centres, {d[p, q]:.1f} px apart,\n"
             f"in cells {cp_} and {cq_} (red)", fontsize=10)  # fmt: skip
for ax in (a0, a1):
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Over a whole test split the grid's loss is an upper bound on YOLOv1's recall, whatever
# it learns; compare it with where its PR curve ends (section 3).

# %%
ceiling = {}
for name in [f"neon-trees:fold={k}" for k in range(4)] + ["mnist-det"]:
    ds = build_dataset(name, "test", n_images=200 if name == "mnist-det" else None)
    cfg1 = MODELS["yolov1"].default_config(name, ds.class_names)
    n_obj = lost = 0
    for i in range(len(ds)):
        a = ds.annotation(i)
        t1 = yolov1_targets(a.bbox, a.label, cfg1.img_size, cfg1.grid_size, len(ds.class_names))
        n_obj, lost = n_obj + len(a.bbox), lost + len(a.bbox) - int(t1.obj_mask.sum())
    ceiling[name] = 1 - lost / n_obj
    print(f"{name:18s} S = {cfg1.grid_size:2d}: {lost:3d} of {n_obj} objects share a responsible "
          f"cell -> recall at most {1 - lost / n_obj:.3f}")  # fmt: skip
yolo_runs = [r for r in (neon or {"runs": []})["runs"] if r["model"] == "yolov1"]
if yolo_runs:
    print("yolov1's PR curves end at recall", [r["pr"][0]["recall"][-1] for r in yolo_runs])
else:
    print("yolov1 has no NEON result yet: its highest recall will appear here")

# %% [markdown]
# ### 5.5 The receptive field against the object size
#
# A cell can only classify and size an object it sees whole. Walking back from a cell to the
# image, $F_i = (F_{i+1} - 1)\,\mathrm{stride}_i + \mathrm{ksize}_i$ (lecture *Object
# Detection: Faster R-CNN*, receptive field; notebook 04). With no pretrained backbone and
# few layers, the presets see about as far as the largest crowns (the theoretical field; the
# *effective* one, where most of the gradient comes from, is smaller: Luo, Li, Urtasun,
# Zemel, *Understanding the Effective Receptive Field in Deep Convolutional Neural
# Networks*, arXiv:1701.04128). The pyramid detectors predict large crowns on coarser levels
# with a larger field (Lin et al., *Feature Pyramid Networks for Object Detection*,
# arXiv:1612.03144; §G3) — the fields below follow the bottom-up path to each level, a lower
# bound: the top-down path adds the coarser levels' context to P3 and P4. CenterNet's NEON
# preset reads P3 of the same pyramid, and its field is counted through the top-down path,
# from C5 (`CenterNet.receptive_field`): 190 px, against 70 px for its plain stack. The paper's YOLOv1
# ends with fully connected layers that see the whole image; the preset replaces them by a
# per-cell 3 × 3 + 1 × 1 convolutional head (a documented departure, *API → bboxcore.models*,
# `yolov1_config`), whose field is that of its last conv block.

# %%
def pyramid_fields(pc, head_convs):
    """Field of P3.. (bottom-up path + FPN 3x3 + head convs + the 3x3 output), px."""
    layers = []
    for i in range(len(pc.stem)):
        layers.append((3, 1))
        if i < pc.stem_pool:
            layers.append((2, 2))
    fields = []
    for level in range(len(pc.stages) + 1):
        if level:
            layers += [(2, 2), (3, 1)]
        fields.append(receptive_field(layers + [(3, 1)] * (2 + head_convs)))
    return fields


fields = {
    "faster_rcnn": [build_model("faster_rcnn", cfgs["faster_rcnn"]).summary()["receptive_field"]],
    "centernet": [build_model("centernet", cfgs["centernet"]).summary()["receptive_field"]],
    "retinanet": pyramid_fields(cfgs["retinanet"].pyramid, cfgs["retinanet"].head_convs),
    "fcos": pyramid_fields(cfgs["fcos"].pyramid, cfgs["fcos"].head_convs),
    "yolov1": [H if y1.head == "fc" else receptive_field(
        [(3, 1), (2, 2)] * (len(y1.channels) - 1) + [(3, 1), (3, 1), (1, 1)]
    )],  # conv blocks, each but the last followed by a 2x2 max-pool; then the head
}  # fmt: skip
y3c = cfgs["yolov3"]
darknet = [(3, 2)] + [(3, 2), (3, 1)] * 2  # stem and two stages: C3 at stride 8
fields["yolov3"] = [
    receptive_field(darknet + [(3, 2), (3, 1)] * k + [(3, 1)] * 3 + [(1, 1)])
    for k in range(len(y3c.strides))
]
sides = np.concatenate([np.sqrt(np.prod(b[:, 2:] - b[:, :2], axis=1)) for b in all_boxes])
longest = np.concatenate([np.max(b[:, 2:] - b[:, :2], axis=1) for b in all_boxes])
print(f"fold-0 test crowns: side √(wh) 5-50-95th percentiles {np.percentile(sides, [5, 50, 95]).round(0)} px, "
      f"longest side up to {longest.max():.0f} px")  # fmt: skip
for m, fs in fields.items():
    wider = np.mean(longest > fs[0])
    levels = ", ".join(f"P{k + 3} {v}" for k, v in enumerate(fs)) if len(fs) > 1 else str(fs[0])
    print(f"{m:12s} field {levels} px; crowns longer than the finest field: {wider:.1%}")

# %% [markdown]
# COCO's size ranges (small < 32², medium < 96² px², large above) split the crowns and the
# digits; the results give each detector's AP per range (mean over runs; "–" where a range
# has no object):

# %%
for d, res in results.items():
    print(f"{d}:  {'APs':>6s} {'APm':>6s} {'APl':>6s}")
    for m in MODELS:
        rs = [r for r in res["runs"] if r["model"] == m]
        if not rs:
            continue
        cells = []
        for k in ("APs", "APm", "APl"):
            v = [r["coco"][k] for r in rs if r["coco"].get(k, -1) >= 0]
            cells.append(f"{np.mean(v):6.3f}" if v else f"{'–':>6s}")
        print(f"  {m:12s} {' '.join(cells)}")
    if not res["runs"]:
        print("  no runs")
areas = sides**2
print(f"fold-0 test crowns: {np.mean(areas < 32**2):.0%} small, "
      f"{np.mean((areas >= 32**2) & (areas < 96**2)):.0%} medium, {np.mean(areas >= 96**2):.0%} large")  # fmt: skip

# %% [markdown]
# ## 6. What to take away
#
# Computed from the results and the measurements above:

# %%
notes = []
for d in summaries:
    rows = ranked(d)
    if len(rows) >= 2:
        (m1, a1, s1, _), (m2, a2, s2, _) = rows[:2]
        stds = [v for v in (s1, s2) if v is not None]
        if stds and a1 - a2 <= max(stds):
            notes.append(f"{d}: {m1} and {m2} lead, {a1 - a2:.3f} apart, within one standard "
                         "deviation over runs: no difference between them on this data")  # fmt: skip
        elif stds:
            notes.append(f"{d}: {m1} leads {m2} by {a1 - a2:.3f}, more than one standard deviation")
        else:
            notes.append(f"{d}: {m1} leads {m2} by {a1 - a2:.3f} on one run each (no spread yet)")
notes.append(
    f"imbalance: the tile's easy negatives carry {shares[list(shares)[0]]:.1%} of a plain "
    f"cross-entropy over all anchors, {shares[list(shares)[1]]:.1%} of the focal loss and "
    f"{shares[list(shares)[2]]:.1%} of the RPN's sampled cross-entropy"
)
worst = max(nms_lost.values())
notes.append(
    f"post-processing on perfect boxes: NMS loses at most {worst} and the 3 x 3 peaks "
    f"{merged} of the {n_crowns} fold-0 test crowns"
    + ("; duplicates and misses come from the networks" if worst == merged == 0 else "")
)
notes.append(
    "YOLOv1's grid caps its recall at "
    + ", ".join(f"{v:.3f} ({k})" for k, v in ceiling.items())
)
for note in notes:
    print("-", note)
