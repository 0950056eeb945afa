"""The main job behind ``make demo``.

Until the detector lands, the demo runs the box maths on a built-in example:
it matches a few ground-truth boxes to anchors by IoU and prints a table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bboxcore.iou import box_iou

__all__ = ["run_demo"]


def run_demo(out: str | Path = "demo_out") -> int:
    """Run the demo and write its outputs into ``out``.

    Parameters
    ----------
    out : str or Path
        Output folder, created if missing.

    Returns
    -------
    int
        Exit status, 0 on success.

    Examples
    --------
    >>> run_demo("/tmp/bboxcore_demo")  # doctest: +ELLIPSIS
    gt ...
    0
    """
    Path(out).mkdir(parents=True, exist_ok=True)
    gt = np.array([[10.0, 10.0, 60.0, 50.0], [70.0, 20.0, 110.0, 90.0]])
    anchors = np.array(
        [[0.0, 0.0, 64.0, 64.0], [64.0, 0.0, 128.0, 64.0], [64.0, 32.0, 128.0, 96.0]]
    )
    iou = box_iou(gt, anchors)
    print("gt  best anchor  IoU")
    for i, row in enumerate(iou):
        print(f"{i:>2}  {int(row.argmax()):>11}  {row.max():.3f}")
    return 0
