r"""The usual mistakes of a student's smooth-L1 (value and gradient), as runnable variants.

:func:`buggy_smooth_l1` is Faster R-CNN's σ form with one mistake switched on.
The mistakes are those of course forums and students' code: the threshold 1 or
1/σ instead of 1/σ², σ not squared, the libraries' β form with σ passed as β
(torchvision's ``beta``), the ½ forgotten in either branch or the offset
0.5/σ² forgotten or written 0.5, plain L2 or L1, a gradient without σ², with
σ instead of σ², equal to 1 or 0 instead of sign(x) outside, or of the L2 part
everywhere, and (grad, loss) returned in the other order. Nothing here decides
whether an answer is right.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SMOOTH_L1_BUGS", "SMOOTH_L1_HINTS", "buggy_smooth_l1"]

#: name -> hint, in the order they are tried.
SMOOTH_L1_HINTS: dict[str, str] = {
    "threshold_one": "the switch between the two parts is at |x| = 1 / sigma**2, not at "
    "|x| = 1 (they coincide only for sigma = 1; the RPN uses sigma = 3).",
    "threshold_one_over_sigma": "the switch is at |x| = 1 / sigma**2 (sigma squared), not "
    "1 / sigma.",
    "sigma_not_squared": "the quadratic part is 0.5 * (sigma * x)**2 = 0.5 * sigma**2 * x**2: "
    "sigma is squared too.",
    "beta_form": "you used sigma as the libraries' beta (0.5 x^2 / beta if |x| < beta); in "
    "Faster R-CNN's form beta = 1 / sigma**2: 0.5 * (sigma * x)**2 if |x| < 1 / sigma**2.",
    "no_half_quadratic": "the quadratic part is 0.5 * (sigma * x)**2: the factor 0.5 is missing "
    "(the two parts must meet at |x| = 1 / sigma**2).",
    "no_offset": "the linear part is |x| - 0.5 / sigma**2: without the offset the loss jumps "
    "at |x| = 1 / sigma**2.",
    "offset_half": "the linear part's offset is 0.5 / sigma**2, not 0.5 (they coincide only "
    "for sigma = 1).",
    "l2": "this is the plain quadratic 0.5 * (sigma * x)**2 everywhere: beyond |x| = "
    "1 / sigma**2 smooth-L1 is linear, |x| - 0.5 / sigma**2, with gradient sign(x).",
    "l1": "this is plain |x| everywhere: near 0 (|x| < 1 / sigma**2) smooth-L1 is quadratic, "
    "0.5 * (sigma * x)**2, with gradient sigma**2 * x.",
    "grad_no_sigma": "the gradient of 0.5 * (sigma * x)**2 is sigma**2 * x, not x.",
    "grad_sigma": "the gradient of 0.5 * (sigma * x)**2 is sigma**2 * x (sigma squared), not "
    "sigma * x.",
    "grad_one": "beyond |x| = 1 / sigma**2 the gradient is sign(x): -1 for negative "
    "residuals, not 1.",
    "grad_zero_outside": "beyond |x| = 1 / sigma**2 the gradient of |x| - 0.5 / sigma**2 is "
    "sign(x): the offset is a constant, but |x| is not (yours is 0 there).",
    "grad_quadratic_everywhere": "beyond |x| = 1 / sigma**2 the gradient of |x| - 0.5 / "
    "sigma**2 is sign(x), not sigma**2 * x.",
    "swapped": "return (loss, grad) in this order: yours are the other way round.",
}


def buggy_smooth_l1(x: np.ndarray, sigma: float, bug: str = "") -> np.ndarray:
    r"""``(loss, grad)`` of smooth-L1 as the buggy variant ``bug`` computes them.

    Parameters
    ----------
    x : array_like, shape (N,)
        Residuals; converted to float64.
    sigma : float
        σ > 0.
    bug : str
        ``''`` is the correct function; the other values are the keys of
        :data:`SMOOTH_L1_HINTS`. Any other string acts as ``''``.

    Returns
    -------
    ndarray, shape (N, 2), float64
        Column 0 the loss, column 1 the gradient, element by element.

    Notes
    -----
    With ``bug=''`` this is :math:`\tfrac12(\sigma x)^2` if :math:`|x| < 1/\sigma^2`
    else :math:`|x| - 0.5/\sigma^2`, gradient :math:`\sigma^2 x` or
    :math:`\operatorname{sign}(x)` (*Detection – 3 stages*, §B5; the grader's
    reference is :func:`bboxcore.losses.smooth_l1` and its backward).

    Examples
    --------
    >>> buggy_smooth_l1([0.5, 2.0], 1.0).tolist()
    [[0.125, 0.5], [1.5, 1.0]]
    >>> buggy_smooth_l1([0.5, 2.0], 1.0, "no_offset")[:, 0].tolist()
    [0.125, 2.0]
    """
    x = np.asarray(x, dtype=np.float64)
    s2 = sigma * sigma
    beta = {"threshold_one": 1.0, "threshold_one_over_sigma": 1.0 / sigma}.get(bug, 1.0 / s2)
    quad = 0.5 * s2 * x * x
    dquad = s2 * x
    if bug == "sigma_not_squared":
        quad = 0.5 * sigma * x * x
    elif bug == "no_half_quadratic":
        quad = s2 * x * x
    elif bug == "grad_no_sigma":
        dquad = x
    elif bug == "grad_sigma":
        dquad = sigma * x
    offset = {"no_offset": 0.0, "offset_half": 0.5}.get(bug, 0.5 / s2)
    lin = np.abs(x) - offset
    dlin = np.sign(x)
    if bug == "grad_one":
        dlin = np.ones_like(x)
    elif bug == "grad_zero_outside":
        dlin = np.zeros_like(x)
    elif bug == "grad_quadratic_everywhere":
        dlin = dquad
    if bug == "beta_form":
        inside = np.abs(x) < sigma
        quad, dquad = 0.5 * x * x / sigma, x / sigma
        lin = np.abs(x) - 0.5 * sigma
    else:
        inside = np.abs(x) < beta
    if bug == "l2":
        inside = np.ones_like(x, dtype=bool)
    elif bug == "l1":
        inside = np.zeros_like(x, dtype=bool)
        lin = np.abs(x)
    loss = np.where(inside, quad, lin)
    grad = np.where(inside, dquad, dlin)
    if bug == "swapped":
        loss, grad = grad, loss
    return np.stack([loss, grad], axis=-1)


#: name -> (variant(x, sigma) -> (N, 2) array, hint): the catalogue the grader replays.
SMOOTH_L1_BUGS = {
    name: (lambda x, sigma, bug=name: buggy_smooth_l1(x, sigma, bug), hint)
    for name, hint in SMOOTH_L1_HINTS.items()
}
