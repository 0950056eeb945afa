"""``bboxcore grade``: students grade their own NMS, IoU, encoding and Soft-NMS code.

Public API: :func:`grade` (one submission -> :class:`Report`), the registry
:data:`ASSIGNMENTS`, and the renderers :func:`to_junit` and :func:`to_csv`.
The student's code runs in a separate, limited Python process
(:mod:`bboxcore.grading.worker`); the reference answers are computed in this
process and the student's module is never imported here. This isolation keeps
accidents and sloppy code (patching modules, printing, ``sys.exit``, infinite
loops, runaway memory) from changing the verdict or crashing the grader; it is
not a security sandbox for hostile code.
"""

from __future__ import annotations

from bboxcore import _checks
from bboxcore.grading.anchor_labels import AnchorLabelsAssignment
from bboxcore.grading.encoding import Bbox2locAssignment, Loc2bboxAssignment
from bboxcore.grading.iou import IouAssignment
from bboxcore.grading.iou_loss_grad import IouLossGradAssignment
from bboxcore.grading.nms import NmsAssignment
from bboxcore.grading.report import CheckResult, Counterexample, Report, to_csv, to_junit
from bboxcore.grading.roi_align import RoiAlignAssignment
from bboxcore.grading.runner import Assignment, grade_with
from bboxcore.grading.smooth_l1 import SmoothL1Assignment
from bboxcore.grading.soft_nms import SoftNmsAssignment

__all__ = [
    "ASSIGNMENTS",
    "Assignment",
    "CheckResult",
    "Counterexample",
    "Report",
    "grade",
    "to_csv",
    "to_junit",
]

#: name -> assignment, in the order of ``bboxcore grade --help``.
ASSIGNMENTS: dict[str, Assignment] = {
    a.name: a
    for a in (
        NmsAssignment(),
        IouAssignment(),
        Bbox2locAssignment(),
        Loc2bboxAssignment(),
        SoftNmsAssignment(),
        SmoothL1Assignment(),
        AnchorLabelsAssignment(),
        RoiAlignAssignment(),
        IouLossGradAssignment(),
    )
}


def grade(
    assignment: str,
    path: str,
    *,
    function: str | None = None,
    timeout: float = 10.0,
    total_timeout: float = 300.0,
    memory_mb: int = 2048,
    seed: int = 0,
    examples: int = 200,
) -> Report:
    """Grade the student's file ``path`` on ``assignment``.

    Parameters
    ----------
    assignment : {'nms', 'iou', 'bbox2loc', 'loc2bbox', 'soft_nms', 'smooth_l1',
        'anchor_labels', 'roi_align', 'iou_loss_grad'}
        Which contract the file implements (see ``bboxcore grade --help``).
    path : str
        The submission, a ``.py`` file.
    function : str, optional
        The function's name in the file (default: the assignment's name).
    timeout : float
        Seconds allowed per call of the student's function.
    total_timeout : float
        Seconds allowed for the whole grade; the remaining checks are skipped after.
    memory_mb : int
        Address-space limit of the process running the student's code, in MiB.
    seed : int
        Seed of the random cases and of the hypothesis search: the same seed
        gives the same report.
    examples : int
        Examples of the hypothesis search (its call budget, shrinking included,
        is a fixed multiple of this).

    Returns
    -------
    Report
        ``report.passed`` is True when every check passed; ``report.to_text()``
        is the terminal report.

    Raises
    ------
    ValueError
        If ``assignment`` is unknown, a limit is not positive or ``seed`` is negative.
    TypeError
        If a limit or the seed is not a number (an integer for ``memory_mb``,
        ``examples`` and ``seed``).
    FileNotFoundError
        If ``path`` does not exist.
    RuntimeError
        On Windows: the worker needs POSIX process groups and resource limits
        (use WSL).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.py"
    >>> _ = path.write_text('''
    ... import numpy as np
    ... def nms(boxes, scores, iou_thresh):
    ...     order, keep = list(np.argsort(-np.asarray(scores), kind="stable")), []
    ...     while order:
    ...         i = order.pop(0)
    ...         keep.append(int(i))
    ...         x1 = np.maximum(boxes[i, 0], boxes[order, 0])
    ...         y1 = np.maximum(boxes[i, 1], boxes[order, 1])
    ...         x2 = np.minimum(boxes[i, 2], boxes[order, 2])
    ...         y2 = np.minimum(boxes[i, 3], boxes[order, 3])
    ...         inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    ...         area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    ...         union = area(boxes[i]) + area(boxes[order]) - inter
    ...         with np.errstate(invalid="ignore"):
    ...             iou = inter / union
    ...         order = [j for j, v in zip(order, iou) if not v > iou_thresh]
    ...     return keep
    ... ''')
    >>> report = grade("nms", str(path), examples=20)
    >>> report.passed, report.score
    (True, 16)
    """
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {', '.join(ASSIGNMENTS)}; got {assignment!r}")
    timeout = _checks.positive(timeout, "timeout")
    total_timeout = _checks.positive(total_timeout, "total_timeout")
    memory_mb = _checks.count(memory_mb, "memory_mb", minimum=1)
    examples = _checks.count(examples, "examples", minimum=1)
    seed = _checks.count(seed, "seed")
    import os
    import sys

    if sys.platform == "win32":
        raise RuntimeError("bboxcore grade needs Linux or macOS (on Windows, use WSL)")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    return grade_with(
        ASSIGNMENTS[assignment],
        path,
        function=function,
        timeout=timeout,
        total_timeout=total_timeout,
        memory_mb=memory_mb,
        seed=seed,
        examples=examples,
    )
