"""The contract of the smooth_l1 assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["SMOOTH_L1_CONTRACT", "SMOOTH_L1_SIGNATURE"]

#: The signature as the student writes it.
SMOOTH_L1_SIGNATURE = "smooth_l1(x, sigma)"
#: The contract, one paragraph.
SMOOTH_L1_CONTRACT = (
    "x is an (N,) float array of residuals (e.g. pred_loc - gt_loc), sigma a float > 0. "
    "Return (loss, grad), two (N,) arrays, element by element (no sum or mean): Faster "
    "R-CNN's sigma form, loss = 0.5 * (sigma * x)**2 where |x| < 1 / sigma**2 and "
    "|x| - 0.5 / sigma**2 elsewhere; grad = d loss / d x = sigma**2 * x where |x| < "
    "1 / sigma**2 and sign(x) elsewhere (sigma = 1: Fast R-CNN's 0.5 x^2 or |x| - 0.5; "
    "the RPN uses sigma = 3). At |x| = 1 / sigma**2 both branches agree, so < and <= are "
    "both fine. Each entry is accepted within 4 times its float32 error bound."
)
