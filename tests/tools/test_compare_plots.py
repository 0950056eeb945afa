"""Figures of ``bboxcore compare``'s results from small synthetic records (no training, no data)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bboxcore.models.registry import MODELS
from bboxcore.tools import compare_plots as cp


def record(model, run, ap50, minutes=10.0, shown=None, dataset="neon-trees"):
    recall = np.linspace(0, ap50, 5)
    return {
        "model": model,
        "dataset": dataset,
        "dataset_name": f"{dataset}:fold={run}",
        "run": run,
        "ap50": ap50,
        "coco": {"AP": ap50 / 2},
        "train_seconds": None if minutes is None else 60.0 * minutes,
        "pr": [{"precision": (1 - recall / 2).tolist(), "recall": recall.tolist()}],
        "shown": shown or [],
    }


def neon(*records):
    return {"dataset": "neon-trees", "runs": list(records)}


class Tiles:
    """A test split of two 16-px images with one ground-truth box each."""

    ids = ("a", "b")

    class _Item:
        def __init__(self, image_id):
            self.image_id = image_id
            self.bbox = np.array([[2.0, 2.0, 9.0, 9.0]], np.float32)
            self.image = np.full((16, 16, 3), 0.5, np.float32)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self._Item(self.ids[i])

    def annotation(self, i):
        return self._Item(self.ids[i])


def shown(image_id, scores):
    n = len(scores)
    return {"image_id": image_id, "bbox": [[1.0, 1.0, 8.0, 8.0]] * n, "label": [0] * n,
            "score": list(scores)}  # fmt: skip


def rectangles(ax, color):
    from matplotlib.colors import to_rgba

    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_ec() == to_rgba(color)]


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("plot", [cp.plot_ap_vs_time, cp.plot_pr_curves, cp.plot_detections])
def test_a_results_file_without_runs_is_a_clear_error(plot):
    with pytest.raises(ValueError, match="hold no run"):
        plot({"dataset": "neon-trees", "runs": []})
    with pytest.raises(ValueError, match="'runs'"):
        plot({"dataset": "neon-trees"} if plot is not cp.plot_ap_vs_time else {"neon": {}})
    with pytest.raises(TypeError, match="results must be"):
        plot("docs/results/neon-trees.json")


def test_a_record_without_its_fields_is_named():
    with pytest.raises(ValueError, match="run record 1"):
        cp.results_runs(neon(record("fcos", 0, 0.5), {"model": "fcos"}))
    with pytest.raises(ValueError, match="at least one data set"):
        cp.plot_ap_vs_time({})


# ----------------------------------------------------------------------------- missing runs
def test_missing_runs_lists_absent_detectors_and_absent_folds():
    res = neon(*(record("fcos", k, 0.5) for k in (0, 1, 2)), record("retinanet", 1, 0.4))
    missing = cp.missing_runs(res)
    assert "fcos" not in missing
    assert missing["retinanet"] == [0, 2]
    assert set(missing) == set(MODELS) - {"fcos"}
    assert all(missing[m] == [0, 1, 2] for m in set(MODELS) - {"fcos", "retinanet"})
    # a run index one detector has is expected of all, beyond the default ones
    assert cp.missing_runs(neon(record("fcos", 3, 0.5)))["fcos"] == [0, 1, 2]
    assert cp.missing_runs(neon(record("fcos", 0, 0.5)), expected=[0])["retinanet"] == [0]


# ----------------------------------------------------------------------------- AP vs time
def test_ap_vs_time_marks_the_mean_with_one_sample_std_on_both_axes():
    aps, minutes = [0.2, 0.5, 0.6], [10.0, 14.0, 12.0]
    res = neon(*(record("fcos", k, a, t) for k, (a, t) in enumerate(zip(aps, minutes))))
    fig = cp.plot_ap_vs_time(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    (bars,) = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    line, _, (xbar, ybar) = bars.lines
    assert line.get_xydata()[0] == pytest.approx([np.mean(minutes), np.mean(aps)])
    (x_lo, x_hi) = xbar.get_segments()[0][:, 0]
    (y_lo, y_hi) = ybar.get_segments()[0][:, 1]
    assert (x_hi - x_lo) / 2 == pytest.approx(np.std(minutes, ddof=1))
    assert (y_hi - y_lo) / 2 == pytest.approx(np.std(aps, ddof=1))
    assert fig.axes[0].collections[0].get_offsets().shape == (3, 2)  # a point per run


def test_ap_vs_time_draws_a_panel_per_data_set_and_names_what_is_missing():
    res = {
        "mnist-det": {
            "dataset": "mnist-det",
            "runs": [record("fcos", 0, 0.9, dataset="mnist-det")],
        },
        "neon-trees": neon(record("fcos", 0, 0.5), record("retinanet", 0, 0.4, minutes=None)),
    }
    fig = cp.plot_ap_vs_time(res)
    mnist, trees = fig.axes
    assert mnist.get_title().startswith("mnist-det") and "centernet" in mnist.get_title()
    assert "fcos folds 1, 2" in trees.get_title()
    assert "1 run(s) without a time" in trees.get_title()
    assert all(len(line) <= 64 for line in trees.get_title().splitlines())  # wrapped by item
    assert trees.get_legend_handles_labels()[1] == ["fcos (1 run)"]  # retinanet has no time


# ----------------------------------------------------------------------------- PR curves
def test_pr_curves_draw_the_chosen_fold_of_each_detector_with_its_mean_ap():
    res = neon(record("fcos", 0, 0.5), record("fcos", 1, 0.7), record("retinanet", 1, 0.4))
    fig = cp.plot_pr_curves(res)  # fold 1 is shared by both
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "retinanet, fold 1: AP50 0.400 (1 run)",
        "fcos, fold 1: AP50 0.700; mean 0.600 ± 0.141 over 2 folds",
    ]
    bold = {line.get_label(): line for line in ax.get_lines() if line.get_lw() > 1}
    curve = res["runs"][1]["pr"][0]
    assert bold[labels[1]].get_xydata() == pytest.approx(np.c_[curve["recall"], curve["precision"]])
    assert len(ax.get_lines()) == 3  # fcos fold 0, faint
    assert len(cp.plot_pr_curves(res, others=False).axes[0].get_lines()) == 2
    assert "fold 0" in cp.plot_pr_curves(res, run=0).axes[0].get_legend_handles_labels()[1][1]
    assert "missing:" in ax.get_title() and "yolov1" in ax.get_title()


def test_pr_curves_reject_a_class_the_results_do_not_have():
    with pytest.raises(ValueError, match="class_index"):
        cp.plot_pr_curves(neon(record("fcos", 0, 0.5)), class_index=1)


# ----------------------------------------------------------------------------- detections
def test_detections_grid_is_images_by_detectors_with_ground_truth_and_kept_detections():
    res = neon(
        record("fcos", 0, 0.5, shown=[shown("a", [0.9, 0.35]), shown("b", [])]),
        record("centernet", 0, 0.5, shown=[shown("a", [0.8]), shown("b", [0.9, 0.9, 0.9])]),
        record("retinanet", 1, 0.4, shown=[shown("z", [0.9])]),  # another fold: not drawn
    )
    fig = cp.plot_detections(res, dataset=Tiles(), score_thresh=0.5)
    axes = np.array(fig.axes).reshape(2, 2)  # rows a, b; columns centernet, fcos (registry order)
    assert [ax.get_title().split(":")[0] for ax in axes[0]] == ["centernet", "fcos"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["a", "b"]
    kept = [[len(rectangles(ax, cp.DETECTION_COLOR)) for ax in row] for row in axes]
    assert kept == [[1, 1], [3, 0]]  # fcos's 0.35 is under the threshold
    assert all(len(rectangles(ax, cp.GT_COLOR)) == 1 for ax in axes.ravel())
    assert "no fold 0 of:" in fig._suptitle.get_text()
    assert "retinanet" in fig._suptitle.get_text()


def test_detections_errors_name_the_problem():
    res = neon(record("fcos", 0, 0.5, shown=[shown("nowhere", [0.9])]))
    with pytest.raises(ValueError, match="nowhere"):
        cp.plot_detections(res, dataset=Tiles())
    with pytest.raises(ValueError, match="no detector .* stored detections"):
        cp.plot_detections(neon(record("fcos", 0, 0.5)), dataset=Tiles())
    with pytest.raises(ValueError, match="score_thresh"):
        cp.plot_detections(res, dataset=Tiles(), score_thresh=float("nan"))


def test_every_registered_detector_has_its_own_colour():
    colors = cp.model_colors()
    assert set(colors) == set(MODELS) and len(set(colors.values())) == len(MODELS)
