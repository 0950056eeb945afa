"""The contract of the iou_loss_grad assignment, in words: what the student's function must do.

Shown by ``bboxcore grade --help``, in reports and in ``docs/grading.md``.
"""

from __future__ import annotations

__all__ = ["IOU_LOSS_GRAD_CONTRACT", "IOU_LOSS_GRAD_SIGNATURE"]

#: The signature as the student writes it.
IOU_LOSS_GRAD_SIGNATURE = "iou_loss_grad(pred_ltrb, target_ltrb)"
#: The contract, one paragraph.
IOU_LOSS_GRAD_CONTRACT = (
    "pred_ltrb and target_ltrb are (R, 4) float arrays of distances (l, t, r, b) > 0 from "
    "one location to the four sides of the predicted and of the target box (FCOS order). "
    "Return the (R, 4) array of d L_i / d pred_ltrb[i], the gradient of each row's UnitBox "
    "IoU loss L_i = -ln(I / U) (no sum or mean over the rows), where X = (t + b)(l + r) is "
    "the predicted area, I = (min(t, t~) + min(b, b~)) * (min(l, l~) + min(r, r~)) the "
    "intersection and U = X + X~ - I the union: dL/dx = (1 / U) dX/dx - (U + I) / (U I) "
    "dI/dx. Where a predicted side equals the target's, min() has a kink: the intersection "
    "may pass its gradient to that side or not, both are accepted. Each entry is accepted "
    "within 4 times its float32 error bound."
)
