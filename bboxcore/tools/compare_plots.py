r"""Pictures of ``bboxcore compare``'s results: AP against training time, PR curves, detections.

Each function reads the content of results files (``docs/results/<data set>.json``,
:mod:`bboxcore.tools.compare`), never trains or evaluates anything, and returns a
new :class:`matplotlib.figure.Figure` (made without :mod:`matplotlib.pyplot`, so
nothing is left open; a notebook shows it with ``display(fig)``):

* :func:`plot_ap_vs_time` -- AP50 against training minutes, one panel per data
  set, one small point per run and each detector's mean with error bars of one
  standard deviation (ddof 1, as :func:`bboxcore.tools.compare.summarize`) on
  both axes;
* :func:`plot_pr_curves` -- the precision-recall curve of every detector on one
  data set (NEON: each detector's curve on one fold, the others faint), its AP50
  and the mean over runs in the legend;
* :func:`plot_detections` -- every detector's stored detections on the same test
  images, a grid of images (rows) by detectors (columns), ground truth in one
  colour and detections in another.

Results may be partial (a comparison is filled run by run): every function draws
what exists and names what is missing -- a detector of
:data:`bboxcore.models.registry.MODELS` without any run, or without some of the
expected runs (:data:`EXPECTED_RUNS`, and every run index another detector has)
-- in the title. A results file without any run raises :class:`ValueError`.

The AP definitions are those of :mod:`bboxcore.eval`: AP50 is VOC's all-point
AP at IoU 0.5 (Everingham et al. [1]_, Sec. 4.2), the area under the
precision-recall curve drawn by :func:`plot_pr_curves`.

References
----------
.. [1] M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn, A. Zisserman. "The
   PASCAL Visual Object Classes (VOC) Challenge." IJCV 88:303-338, 2010.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "DETECTION_COLOR",
    "EXPECTED_RUNS",
    "GT_COLOR",
    "model_colors",
    "missing_runs",
    "plot_ap_vs_time",
    "plot_detections",
    "plot_pr_curves",
    "results_runs",
]

#: The runs a full comparison has per data set (``bboxcore compare``'s default ``--runs``).
EXPECTED_RUNS: dict[str, tuple[int, ...]] = {"neon-trees": (0, 1, 2), "mnist-det": (0,)}
#: Ground-truth boxes in :func:`plot_detections`.
GT_COLOR = "#00e5ff"
#: Detected boxes in :func:`plot_detections`.
DETECTION_COLOR = "#ff1744"


def _models() -> tuple[str, ...]:
    from bboxcore.models.registry import MODELS

    return tuple(MODELS)


def model_colors() -> dict[str, tuple]:
    """One colour per registered detector, the same in every figure.

    Returns
    -------
    dict
        ``{model name: RGBA tuple}`` (matplotlib's ``tab10``, in
        :data:`~bboxcore.models.registry.MODELS` order).

    Examples
    --------
    >>> colors = model_colors()
    >>> len(colors) == len(set(colors.values())), "faster_rcnn" in colors
    (True, True)
    """
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {m: tuple(cmap(i % 10)) for i, m in enumerate(_models())}


def results_runs(results) -> list[dict]:
    """The run records of one results file's content, checked.

    Parameters
    ----------
    results : dict or list of dict
        A results file's content ``{'dataset': ..., 'runs': [record, ...]}``, or
        the list of its records.

    Returns
    -------
    list of dict
        The records (not copied).

    Raises
    ------
    TypeError
        If ``results`` is neither a dict nor a list.
    ValueError
        If it has no ``runs``, no run at all, or a record without ``model``,
        ``run`` or ``ap50``.

    Examples
    --------
    >>> results_runs({"dataset": "mnist-det", "runs": [{"model": "fcos", "run": 0, "ap50": 0.9}]})
    [{'model': 'fcos', 'run': 0, 'ap50': 0.9}]
    """
    if isinstance(results, Mapping):
        if "runs" not in results:
            raise ValueError(f"results must have a 'runs' list; got keys {sorted(results)}")
        runs = results["runs"]
    elif isinstance(results, list):
        runs = results
    else:
        raise TypeError(
            f"results must be a dict or a list of records; got {type(results).__name__}"
        )
    if not isinstance(runs, list) or len(runs) == 0:
        name = results.get("dataset", "?") if isinstance(results, Mapping) else "?"
        raise ValueError(
            f"results of data set {name!r} hold no run: nothing to draw "
            "(run `bboxcore compare` first)"
        )
    for i, r in enumerate(runs):
        if not isinstance(r, Mapping) or not {"model", "run", "ap50"} <= set(r):
            raise ValueError(f"run record {i} must have 'model', 'run' and 'ap50'; got {r!r:.80}")
    return runs


def _dataset_of(results, runs: list[dict]) -> str:
    if isinstance(results, Mapping) and results.get("dataset"):
        return str(results["dataset"])
    return str(runs[0].get("dataset", "?"))


def missing_runs(results, expected: Sequence[int] | None = None) -> dict[str, list[int]]:
    """The expected runs each registered detector lacks in a results file.

    Parameters
    ----------
    results : dict or list of dict
        A results file's content (:func:`results_runs`).
    expected : sequence of int, optional
        Run indices every detector should have; default :data:`EXPECTED_RUNS` of
        the data set (none for another data set), together with every run index
        that some detector has.

    Returns
    -------
    dict
        ``{model: sorted missing run indices}`` for each detector of
        :data:`~bboxcore.models.registry.MODELS` that lacks any (a detector
        without any run lists all of them).

    Raises
    ------
    ValueError, TypeError
        As :func:`results_runs`.

    Examples
    --------
    >>> rs = {"dataset": "neon-trees", "runs": [{"model": "fcos", "run": k, "ap50": 0.5}
    ...                                          for k in (0, 1, 2)]}
    >>> missing_runs(rs)["retinanet"], "fcos" in missing_runs(rs)
    ([0, 1, 2], False)
    """
    runs = results_runs(results)
    if expected is None:
        expected = EXPECTED_RUNS.get(_dataset_of(results, runs), ())
    want = sorted({int(k) for k in expected} | {int(r["run"]) for r in runs})
    out = {}
    for m in _models():
        have = {int(r["run"]) for r in runs if r["model"] == m}
        lacking = [k for k in want if k not in have]
        if lacking:
            out[m] = lacking
    return out


def _run_word(dataset: str) -> str:
    return "fold" if dataset.startswith("neon-trees") else "seed"


def _missing_text(results, dataset: str) -> str:
    """'missing: yolov1; faster_rcnn fold 2' (empty when nothing is missing)."""
    lacking = missing_runs(results)
    if not lacking:
        return ""
    runs = results_runs(results)
    word = _run_word(dataset)
    parts = []
    for m, ks in lacking.items():
        if not any(r["model"] == m for r in runs):
            parts.append(m)
        else:
            parts.append(f"{m} {word}{'s' if len(ks) > 1 else ''} {', '.join(map(str, ks))}")
    return "missing: " + "; ".join(parts)


def _wrap(text: str, width: int) -> str:
    """Lines of at most about ``width`` characters, broken only between '; '-separated items."""
    lines: list[str] = []
    for item in text.split("; "):
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += "; " + item
        else:
            lines.append(item)
    return ";\n".join(lines)


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None], np.float64)
    if len(v) == 0:
        return np.nan, np.nan
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def _by_model(runs: list[dict]) -> dict[str, list[dict]]:
    """Records per detector, registered detectors first in registry order."""
    order = list(_models())
    names = sorted(
        {r["model"] for r in runs}, key=lambda m: (order.index(m) if m in order else 99, m)
    )
    return {m: sorted((r for r in runs if r["model"] == m), key=lambda r: r["run"]) for m in names}


def _as_datasets(results) -> dict[str, object]:
    """``{data set: content}`` from one file's content or a mapping of them."""
    if isinstance(results, Mapping) and "runs" in results:
        return {_dataset_of(results, results_runs(results)): results}
    if isinstance(results, Mapping):
        if not results:
            raise ValueError("results must name at least one data set; got an empty mapping")
        return dict(results)
    if isinstance(results, list):
        return {_dataset_of(results, results_runs(results)): results}
    raise TypeError(f"results must be a dict; got {type(results).__name__}")


def plot_ap_vs_time(results, *, figsize: tuple[float, float] | None = None):
    """AP50 against training minutes: a point per run, each detector's mean ± std.

    Parameters
    ----------
    results : dict
        One results file's content (``{'dataset': ..., 'runs': [...]}``), or
        ``{data set: content}`` for a panel per data set (as
        :func:`bboxcore.tools.compare.format_table` takes).
    figsize : (width, height), optional
        Inches; default 5.2 per panel by 4.2.

    Returns
    -------
    matplotlib.figure.Figure
        One axis per data set: x = ``train_seconds`` / 60 (wall time of
        training, summed over resumed segments), y = ``ap50``; small points are
        runs, a large marker the mean over the detector's runs with error bars
        of one sample standard deviation (ddof 1; none for a single run). Runs
        without a training time are left out and counted in the title, as
        detectors or runs missing from the file.

    Raises
    ------
    ValueError
        If a data set's results hold no run.
    TypeError
        If ``results`` is not a dict.

    Examples
    --------
    >>> rs = {"dataset": "mnist-det", "runs": [
    ...     {"model": "fcos", "run": 0, "ap50": 0.9, "train_seconds": 600.0}]}
    >>> fig = plot_ap_vs_time(rs)
    >>> fig.axes[0].get_xlabel()
    'training time (min)'
    """
    from matplotlib.figure import Figure

    datasets = _as_datasets(results)
    per = {d: results_runs(r) for d, r in datasets.items()}  # check all before drawing
    colors = model_colors()
    n = len(datasets)
    fig = Figure(figsize=figsize or (5.2 * n, 4.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (d, content) in zip(axes, datasets.items()):
        untimed = 0
        for m, rs in _by_model(per[d]).items():
            color = colors.get(m, "gray")
            pts = [(r["train_seconds"] / 60, r["ap50"]) for r in rs if r.get("train_seconds")]
            untimed += len(rs) - len(pts)
            if not pts:
                continue
            x, y = np.array(pts).T
            ax.scatter(x, y, s=18, color=color, alpha=0.55, lw=0)
            (mx, sx), (my, sy) = _mean_std(x), _mean_std(y)
            label = f"{m} ({len(pts)} run{'s' if len(pts) > 1 else ''})"
            ax.errorbar(
                mx, my, xerr=sx or None, yerr=sy or None, fmt="o", ms=8, color=color,
                mec="black", mew=0.6, capsize=3, label=label,
            )  # fmt: skip
        title = d
        missing = _missing_text(content, d)
        if untimed:
            missing = "; ".join(filter(None, [missing, f"{untimed} run(s) without a time"]))
        ax.set_title(title + ("\n" + _wrap(missing, 64) if missing else ""), fontsize=10)
        ax.set_xlabel("training time (min)")
        ax.set_ylabel("AP50 (VOC, test)")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="lower right")
    return fig


def _pick_run(by_model: dict[str, list[dict]], run: int | None) -> int:
    """The run index shared by the most detectors (the lowest of ties), or ``run``."""
    if run is not None:
        return int(run)
    counts: dict[int, int] = {}
    for rs in by_model.values():
        for r in rs:
            counts[int(r["run"])] = counts.get(int(r["run"]), 0) + 1
    return min(counts, key=lambda k: (-counts[k], k))


def plot_pr_curves(
    results,
    *,
    run: int | None = None,
    class_index: int = 0,
    others: bool = True,
    figsize: tuple[float, float] = (6.4, 4.8),
):
    """Precision-recall curves of every detector on one data set, one run each.

    Parameters
    ----------
    results : dict or list of dict
        One results file's content (:func:`results_runs`).
    run : int, optional
        The run (NEON: the fold) whose curves are drawn; default the run that
        most detectors have (the lowest of ties). A detector without that run
        is drawn from its first run, which its legend names.
    class_index : int
        Which class's curve (NEON has one class, 0).
    others : bool
        Also draw the detector's other runs, thin and faint.
    figsize : (width, height)
        Inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axis: recall against precision of the ranked detections (the raw
        VOC curve, thinned to at most 200 points by ``bboxcore compare``), a
        line per detector labelled with the run drawn, its AP50 and the mean ±
        std of AP50 over the detector's runs. The title names the missing
        detectors and runs.

    Raises
    ------
    ValueError
        If the results hold no run, or ``class_index`` is not a class of them.
    TypeError
        As :func:`results_runs`.

    Examples
    --------
    >>> pr = [{"precision": [1.0, 0.5], "recall": [0.5, 0.5]}]
    >>> run = {"model": "fcos", "run": 0, "ap50": 0.25, "pr": pr}
    >>> rs = {"dataset": "neon-trees", "runs": [run]}
    >>> fig = plot_pr_curves(rs)
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['fcos, fold 0: AP50 0.250 (1 run)']
    """
    from matplotlib.figure import Figure

    runs = results_runs(results)
    dataset = _dataset_of(results, runs)
    word = _run_word(dataset)
    by_model = _by_model(runs)
    chosen = _pick_run(by_model, run)
    colors = model_colors()
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    for m, rs in by_model.items():
        color = colors.get(m, "gray")
        pick = next((r for r in rs if int(r["run"]) == chosen), rs[0])
        for r in rs:
            pr = r.get("pr") or []
            if not 0 <= class_index < len(pr):
                if r is pick:
                    raise ValueError(
                        f"class_index must be in 0..{len(pr) - 1} for {m} run {r['run']}; "
                        f"got {class_index}"
                    )
                continue
            curve = pr[class_index]
            if r is pick:
                mean, std = _mean_std(x["ap50"] for x in rs)
                spread = (
                    f"; mean {mean:.3f} ± {std:.3f} over {len(rs)} {word}s" if len(rs) > 1 else ""
                )
                label = f"{m}, {word} {r['run']}: AP50 {r['ap50']:.3f}" + (spread or " (1 run)")
                ax.plot(curve["recall"], curve["precision"], color=color, lw=1.8, label=label)
            elif others:
                ax.plot(curve["recall"], curve["precision"], color=color, lw=0.7, alpha=0.3)
    missing = _missing_text(results, dataset)
    faint = f"; faint: the other {word}s" if others and len(runs) > len(by_model) else ""
    ax.set_title(
        f"{dataset}: precision-recall at IoU 0.5, {word} {chosen}{faint}"
        + ("\n" + _wrap(missing, 80) if missing else ""),
        fontsize=10,
    )
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def _find_images(dataset, image_ids: Sequence[str]) -> dict[str, int]:
    """Index in ``dataset`` of each image id (searched in order, stopping when all are found)."""
    want, found = set(image_ids), {}
    for i in range(len(dataset)):
        key = str(dataset.annotation(i).image_id)
        if key in want and key not in found:
            found[key] = i
            if len(found) == len(want):
                break
    return found


def _boxes(ax, bbox, color, lw, ls="-") -> None:
    from matplotlib.patches import Rectangle

    for x1, y1, x2, y2 in np.asarray(bbox, np.float64).reshape(-1, 4):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=lw, ls=ls))


def plot_detections(
    results,
    *,
    run: int | None = None,
    dataset=None,
    n_images: int | None = None,
    score_thresh: float = 0.3,
    panel: float = 2.6,
):
    """Every detector's detections on the same test images: images in rows, detectors in columns.

    Parameters
    ----------
    results : dict or list of dict
        One results file's content (:func:`results_runs`); each record's
        ``shown`` holds its detections on the first test images of its run.
    run : int, optional
        Which run (NEON: which fold, hence which test tiles); default the run
        that most detectors have (the lowest of ties). Detectors without it are
        named missing in the title.
    dataset : object, optional
        The test split holding the images: ``len(dataset)``,
        ``dataset.annotation(i).image_id`` and ``.bbox``, ``dataset[i].image``
        (H, W, 3) in [0, 1]. Default
        ``bboxcore.models.datasets.build_dataset(record['dataset_name'], 'test')``
        of the run.
    n_images : int, optional
        At most this many rows (default every stored image).
    score_thresh : float
        Draw detections scoring at least this (the stored ones score >= 0.3).
    panel : float
        Side of one panel, inches.

    Returns
    -------
    matplotlib.figure.Figure
        A grid: row = test image (its id on the left, the end of it when long:
        a NEON tile's id ends with its position), column = detector (its name and
        the numbers of detections drawn and of ground-truth boxes on top);
        ground-truth boxes dashed in :data:`GT_COLOR`, detections in
        :data:`DETECTION_COLOR`.

    Raises
    ------
    ValueError
        If the results hold no run, the chosen run has no stored detection,
        ``score_thresh`` is not finite, or an image id is not in the test split.
    TypeError
        As :func:`results_runs`.

    Examples
    --------
    >>> from bboxcore.data.sample import Annotation, AnnotationSet, Sample
    >>> gt = AnnotationSet([Annotation([[4, 4, 20, 24]], [0], image_id="a")], ("tree",), [None])
    >>> shown = [{"image_id": "a", "bbox": [[5, 4, 21, 23]], "label": [0], "score": [0.9]}]
    >>> results = {"dataset": "neon-trees", "runs": [
    ...     {"model": "fcos", "run": 0, "ap50": 0.5, "shown": shown}]}
    >>> class Tiles:  # a test split: one 32-px image and its boxes
    ...     def __len__(self): return 1
    ...     def annotation(self, i): return gt[i]
    ...     def __getitem__(self, i): return Sample(np.zeros((32, 32, 3)), gt[i].bbox, [0])
    >>> fig = plot_detections(results, dataset=Tiles())
    >>> len(fig.axes), fig.axes[0].get_title()
    (1, 'fcos: 1 det. / 1 GT')
    """
    from matplotlib.figure import Figure

    score_thresh = float(score_thresh)
    if not np.isfinite(score_thresh):
        raise ValueError(f"score_thresh must be finite; got {score_thresh}")
    runs = results_runs(results)
    name = _dataset_of(results, runs)
    word = _run_word(name)
    by_model = _by_model(runs)
    chosen = _pick_run(by_model, run)
    cols = {
        m: next(r for r in rs if int(r["run"]) == chosen)
        for m, rs in by_model.items()
        if any(int(r["run"]) == chosen for r in rs) and any(r.get("shown") for r in rs)
    }
    cols = {m: r for m, r in cols.items() if r.get("shown")}
    if not cols:
        raise ValueError(f"no detector of {name!r} has stored detections for {word} {chosen}")
    first = next(iter(cols.values()))
    ids = [s["image_id"] for s in first["shown"]]
    for r in cols.values():  # images any detector showed, in first-seen order
        ids += [s["image_id"] for s in r["shown"] if s["image_id"] not in ids]
    if n_images is not None:
        ids = ids[: max(int(n_images), 1)]
    if dataset is None:
        from bboxcore.models.datasets import build_dataset

        dataset = build_dataset(first.get("dataset_name", name), "test")
    index = _find_images(dataset, ids)
    absent = [i for i in ids if i not in index]
    if absent:
        raise ValueError(f"image ids {absent} are not in the test split of {word} {chosen}")
    fig = Figure(figsize=(panel * len(cols), panel * len(ids) + 0.6), layout="constrained")
    axes = fig.subplots(len(ids), len(cols), squeeze=False)
    for row, image_id in zip(axes, ids):
        i = index[image_id]
        image, gt = dataset[i].image, dataset.annotation(i).bbox
        for ax, (m, r) in zip(row, cols.items()):
            ax.imshow(np.clip(image, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            shown = next((s for s in r["shown"] if s["image_id"] == image_id), None)
            _boxes(ax, gt, GT_COLOR, 1.0, "--")
            if shown is None:
                ax.set_title(f"{m}: not stored", fontsize=8)
                continue
            score = np.asarray(shown["score"], np.float64)
            keep = score >= score_thresh
            _boxes(
                ax, np.asarray(shown["bbox"], np.float64).reshape(-1, 4)[keep], DETECTION_COLOR, 1.2
            )
            ax.set_title(f"{m}: {int(keep.sum())} det. / {len(gt)} GT", fontsize=8)
        label = str(image_id)
        row[0].set_ylabel(label if len(label) <= 28 else "…" + label[-27:], fontsize=7)
    lacking = [m for m in _models() if m not in cols]
    head = (
        f"{name}, {word} {chosen}: ground truth dashed cyan, detections with "
        f"score ≥ {score_thresh:g} solid red"
    )
    if lacking:
        head += f"\nno {word} {chosen} of: {', '.join(lacking)}"
    fig.suptitle(head, fontsize=9)
    return fig
