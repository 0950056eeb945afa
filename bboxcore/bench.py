"""The speed table behind ``make bench`` and ``bboxcore bench``.

Each *suite* is a function ``suite_<topic>(rng) -> list[Case]`` registered in
:data:`SUITES`. A case is one operation on one input, run by one
implementation (``reference`` loop, ``broadcast`` one-shot NumPy, ``bboxcore``
the library's fast path). Every case is timed as the median of repeated runs
after a warm-up, so two runs of the table can be compared line by line.

Run ``bboxcore bench --help`` for the options.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bboxcore.iou import box_iou

__all__ = ["SUITES", "Case", "format_table", "run_bench", "time_case"]


@dataclass
class Case:
    """One row of the speed table.

    Parameters
    ----------
    suite : str
        The topic (``'iou'``, ``'nms'``...).
    name : str
        The input, e.g. ``'box_iou f32 2000x2000'``.
    impl : str
        ``'reference'`` (plain Python loop), ``'broadcast'`` (one-shot NumPy)
        or ``'bboxcore'`` (the library).
    fn : callable
        Runs the operation once; its return value is ignored.
    repeat : int
        How many timed runs to take the median of.
    note : str
        Anything worth printing beside the time (a target, a size).

    Examples
    --------
    >>> c = Case("iou", "tiny", "bboxcore", lambda: None, repeat=3)
    >>> time_case(c) >= 0
    True
    """

    suite: str
    name: str
    impl: str
    fn: Callable[[], object]
    repeat: int = 7
    note: str = ""


def time_case(case: Case) -> float:
    """Median wall time of ``case.fn`` in milliseconds, after one warm-up run.

    Parameters
    ----------
    case : Case
        The case to time.

    Returns
    -------
    float
        Median of ``case.repeat`` runs, in ms.

    Examples
    --------
    >>> time_case(Case("demo", "noop", "bboxcore", lambda: None, repeat=3)) < 10
    True
    """
    case.fn()
    times = []
    for _ in range(max(1, case.repeat)):
        t0 = time.perf_counter()
        case.fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


# --------------------------------------------------------------------------- inputs
def random_boxes(
    rng: np.random.Generator, n: int, img_size=(800, 1000), side=(8, 160), dtype=np.float32
):
    """``n`` uniform boxes inside an ``img_size = (H, W)`` image with sides in ``side`` pixels.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    img_size : (H, W)
    side : (min, max)
    dtype : dtype

    Returns
    -------
    ndarray, shape (n, 4)

    Examples
    --------
    >>> random_boxes(np.random.default_rng(0), 3).shape
    (3, 4)
    """
    h, w = img_size
    wh = rng.uniform(side[0], side[1], size=(n, 2))
    xy = rng.uniform(0, 1, size=(n, 2)) * (np.array([w, h]) - wh)
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


# --------------------------------------------------------------------------- suites
def _iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a.tolist()):
        for j, q in enumerate(b.tolist()):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def _iou_broadcast(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, 1, 2) vs (1, M, 2) -> (N, M, 2)
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def suite_iou(rng: np.random.Generator) -> list[Case]:
    """Pairwise IoU: anchors x GT and proposals x proposals (targets: <= 6 ms and <= 22 ms).

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(suite_iou(np.random.default_rng(0))) > 0
    True
    """
    cases = []
    for n, m, target in ((20000, 50, 6), (2000, 2000, 22)):
        a, b = random_boxes(rng, n), random_boxes(rng, m)
        name = f"box_iou f32 {n}x{m}"
        cases.append(
            Case(
                "iou",
                name,
                "bboxcore",
                lambda a=a, b=b: box_iou(a, b),
                note=f"target <= {target} ms",
            )
        )
        cases.append(Case("iou", name, "broadcast", lambda a=a, b=b: _iou_broadcast(a, b)))
    a, b = random_boxes(rng, 200), random_boxes(rng, 50)
    cases.append(Case("iou", "box_iou f32 200x50", "reference", lambda: _iou_loop(a, b), repeat=3))
    cases.append(Case("iou", "box_iou f32 200x50", "bboxcore", lambda: box_iou(a, b)))
    return cases


#: Registered suites, in the order the table prints them. Add yours here.
SUITES: dict[str, Callable[[np.random.Generator], list[Case]]] = {
    "iou": suite_iou,
}


# --------------------------------------------------------------------------- table
def format_table(rows: list[tuple[Case, float]]) -> str:
    """Format timed cases as a fixed-width table (suite, case, implementation, ms, note).

    Parameters
    ----------
    rows : list of (Case, float)
        Cases with their median time in ms.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_table([(Case("iou", "x", "bboxcore", lambda: None), 1.234)]))
    suite  case  impl      median ms  note
    -----  ----  --------  ---------  ----
    iou    x     bboxcore      1.234
    """
    header = ("suite", "case", "impl", "median ms", "note")
    body = [(c.suite, c.name, c.impl, f"{ms:.3f}", c.note) for c, ms in rows]
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(5)]
    lines = []
    for r in [header, tuple("-" * w for w in widths), *body]:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])]
        cells += [r[3].rjust(widths[3]), r[4]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run_bench(suites: list[str] | None = None, seed: int = 0, progress: bool = True) -> str:
    """Time the registered suites and return the table as text.

    Parameters
    ----------
    suites : list of str, optional
        Names from :data:`SUITES`; all when None.
    seed : int
        Seed of the inputs, so every run times the same data.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    str
        A header with the machine and library versions, then the table.

    Raises
    ------
    ValueError
        If a suite name is unknown.

    Examples
    --------
    >>> "box_iou" in run_bench(["iou"], progress=False)  # doctest: +SKIP
    True
    """
    from tqdm.auto import tqdm

    names = list(SUITES) if suites is None else list(suites)
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown bench suite(s) {unknown}; choose from {list(SUITES)}")
    rng = np.random.default_rng(seed)
    cases = [c for s in names for c in SUITES[s](rng)]
    rows = [(c, time_case(c)) for c in tqdm(cases, desc="bench", disable=not progress, leave=False)]
    head = (
        f"bboxcore bench — Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}, seed {seed}"
    )
    return head + "\n" + format_table(rows)
