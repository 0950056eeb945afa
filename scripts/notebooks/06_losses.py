# %% [markdown]
# # 06 — Losses and their gradients
#
# Every loss of bboxcore comes with its hand-derived gradient. This notebook uses
# `bboxcore.losses`, `bboxcore.focal_losses` and `bboxcore.box_losses` to show
#
# 1. smooth L1 against L1 and L2, values and gradients — *BBOX Regression*'s argument, in numbers;
# 2. the σ of Faster R-CNN's smooth L1 (σ = 3 for the RPN, 1 for the head);
# 3. the focal loss against the cross-entropy on easy and hard examples;
# 4. the IoU loss of UnitBox / FCOS and its hand-derived gradient, checked numerically.
#
# Documentation: *Concepts → Losses* and *API → bboxcore.losses*.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from bboxcore.box_losses import giou_loss, giou_loss_backward, iou_loss, iou_loss_backward
from bboxcore.focal_losses import sigmoid_focal_loss
from bboxcore.losses import smooth_l1, smooth_l1_backward

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Smooth L1 against L1 and L2
#
# $$
# \mathrm{smooth}_{L_1}(x) = \begin{cases} 0.5\,x^2 & |x| < 1 \\ |x| - 0.5 & \text{otherwise}
# \end{cases},\qquad
# \frac{d}{dx} = \begin{cases} x & |x| < 1 \\ \operatorname{sign}(x) & \text{otherwise.} \end{cases}
# $$
#
# *BBOX Regression*: *"L2 is too sensitive to outliers, L1 converges too slowly; smooth L1 combines
# the advantages of both."* **By hand**: $\mathrm{smooth}_{L_1}(0.5) = 0.125$,
# $\mathrm{smooth}_{L_1}(2) = 1.5$, and the gradients there are 0.5 and 1.

# %% alt="Two panels: L2, L1 and smooth L1 losses against the error x, and their gradients; smooth L1 is quadratic near 0 and linear beyond 1."
print(smooth_l1(np.array([0.5, 2.0])), smooth_l1_backward(1.0, np.array([0.5, 2.0])))

x = np.linspace(-3, 3, 601)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(x, 0.5 * x**2, label=r"L2: $\frac{1}{2} x^2$ (for comparison)")
axes[0].plot(x, smooth_l1(x, beta=0.0), label="L1: $|x|$ (smooth_l1 with beta = 0)")
axes[0].plot(x, smooth_l1(x), lw=3, label="smooth L1")
axes[0].set_ylim(0, 4.5)
axes[0].set_title("loss")
axes[1].plot(x, x, label="L2: $x$")
axes[1].plot(x, smooth_l1_backward(1.0, x, beta=0.0), label=r"L1: sign$(x)$")
axes[1].plot(x, smooth_l1_backward(1.0, x), lw=3, label="smooth L1")
axes[1].set_title("gradient")
axes[0].set_ylabel(r"loss $\ell(x)$")
axes[1].set_ylabel(r"gradient $d\ell/dx$")
for ax in axes:
    ax.axvspan(-1, 1, color="0.92", label="|x| < 1: smooth L1 is quadratic")
    ax.set_xlabel("residual $x$ = prediction − target")
    ax.legend(fontsize=8)
fig.suptitle("L2, L1 and smooth L1 (σ = 1): losses and gradients")
fig.tight_layout()

# %% [markdown]
# In the grey zone $|x| < 1$ smooth L1 *is* L2: its gradient shrinks as the residual does,
# so training settles. Outside, it *is* L1: the gradient never exceeds 1, so one badly
# wrong target cannot dominate the update.
#
# **Outliers.** Fit a line $y = a x + b$ by gradient descent to 50 points, 5 of them
# grossly wrong, once with the L2 loss and once with smooth L1 (its gradient from
# `smooth_l1_backward`):

# %% alt="A line fit to points with outliers: the L2 fit is pulled towards the outliers, the smooth L1 fit follows the inliers."
rng = np.random.default_rng(0)
xs = np.linspace(0, 1, 50)
ys = 2 * xs + 1 + rng.normal(0, 0.05, xs.size)
ys[::10] += 6  # five outliers


def fit(residual_grad, steps=3000, lr=0.5):
    a = b = 0.0
    for _ in range(steps):
        g = residual_grad(a * xs + b - ys) / xs.size  # dL/d(prediction), mean loss
        a, b = a - lr * (g * xs).sum(), b - lr * g.sum()
    return a, b


fits = {
    "L2": fit(lambda r: r),  # d(0.5 r^2)/dr = r
    "smooth L1": fit(lambda r: smooth_l1_backward(1.0, r)),
}
for name, (a, b) in fits.items():
    print(f"{name:9s}: y = {a:.3f} x + {b:.3f}   (true line: y = 2x + 1)")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(xs, ys, "k.", label="data (5 outliers)")
for name, (a, b) in fits.items():
    ax.plot(xs, a * xs + b, label=name, lw=2)
ax.plot(xs, 2 * xs + 1, "k:", label="true line")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend()
ax.set_title("L2 is pulled by the outliers; smooth L1 is not")
fig.tight_layout()

# %% [markdown]
# **Slow convergence of L1.** Minimise $\ell(\theta - 0.33)$ for one parameter with a fixed
# step of 0.1, starting at $\theta = 2$: the L1 gradient is ±1 even next to the optimum,
# so $\theta$ keeps jumping across it; smooth L1's gradient shrinks with the residual, so
# $\theta$ settles (geometrically, by a factor 0.9 per step once $|\theta - 0.33| < 1$).

# %% alt="Gradient descent on one parameter: L1 keeps oscillating around the optimum while smooth L1 converges."
trajectories = {}
for name, grad in (
    ("L1", lambda r: smooth_l1_backward(1.0, r, beta=0.0)),
    ("smooth L1", lambda r: smooth_l1_backward(1.0, r)),
):
    theta, path = 2.0, []
    for _ in range(150):
        theta -= 0.1 * float(grad(np.array([theta - 0.33]))[0])
        path.append(theta)
    trajectories[name] = path
    print(f"{name:9s}: |theta - 0.33| after 150 steps = {abs(path[-1] - 0.33):.2e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, path in trajectories.items():
    ax.plot(path, label=name)
ax.axhline(0.33, color="k", lw=0.6, label=r"optimum $\theta = 0.33$")
ax.set_xlabel("gradient step")
ax.set_ylabel(r"$\theta$")
ax.legend()
ax.set_title("L1 oscillates around the optimum; smooth L1 settles")
fig.tight_layout()

# %% [markdown]
# ## 2. σ: where the quadratic zone ends
#
# Faster R-CNN's code writes the loss with a parameter σ (*Detection – 3 stages*, §C2.2.1):
#
# $$
# f(x) = \begin{cases} \tfrac12 (\sigma x)^2 & |x| < 1/\sigma^2 \\
# |x| - \tfrac{0.5}{\sigma^2} & \text{otherwise} \end{cases}
# $$
#
# σ = 1 is the plain smooth L1; the RPN uses σ = 3, whose quadratic zone is only
# $|x| < 1/9$. **By hand** with σ = 3: $f(0.1) = \frac12 (0.3)^2 = 0.045$ and
# $f(0.5) = 0.5 - 0.5/9 = 0.4444$.

# %% alt="Smooth L1 for several values of sigma and its gradient: a larger sigma narrows the quadratic zone."
print(smooth_l1(np.array([0.1, 0.5]), sigma=3.0))  # 0.045, 0.4444
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
x = np.linspace(-1.5, 1.5, 601)
for sigma in (0.5, 1.0, 3.0):
    axes[0].plot(x, smooth_l1(x, sigma=sigma), label=f"σ = {sigma}")
    axes[1].plot(x, smooth_l1_backward(1.0, x, sigma=sigma), label=f"σ = {sigma}")
axes[0].set_title("smooth L1 with σ")
axes[1].set_title("its gradient: slope σ² inside |x| < 1/σ²")
axes[0].set_ylabel(r"smooth L1 loss $\ell_\sigma(x)$")
axes[1].set_ylabel(r"gradient $d\ell_\sigma/dx$")
for ax in axes:
    ax.legend()
    ax.set_xlabel("residual x")
fig.tight_layout()

# %% [markdown]
# ## 3. Focal loss against cross-entropy
#
# RetinaNet (*Detection – 3 stages*, §I): a one-stage detector scores ~100 000 anchors per image, almost
# all easy background. The focal loss multiplies the cross-entropy by $(1 - p_t)^\gamma$:
#
# $$ \mathrm{FL}(p_t) = -\alpha_t (1 - p_t)^\gamma \log p_t,\qquad \gamma = 2,\ \alpha = 0.25. $$
#
# **By hand** (with $\alpha$ switched off to compare the shapes): an easy example,
# $p_t = 0.9$, has CE $= -\ln 0.9 = 0.105$ and FL $= 0.01 \times 0.105 = 0.00105$, 100 times
# less; a hard one, $p_t = 0.1$, has CE $= 2.303$ and FL $= 0.81 \times 2.303 = 1.865$.

# %%
p_t = np.array([0.9, 0.5, 0.1])
logits = np.log(p_t / (1 - p_t))  # sigmoid(logit) = p_t for a positive target
targets = np.ones_like(p_t)
ce = sigmoid_focal_loss(logits, targets, alpha=None, gamma=0.0, reduction="none")
fl = sigmoid_focal_loss(logits, targets, alpha=None, gamma=2.0, reduction="none")
for p, c, f in zip(p_t, ce, fl):
    print(f"p_t = {p:.1f}: CE = {c:.5f}, FL = {f:.5f}, CE / FL = {c / f:6.1f}")

# %% [markdown]
# Now 100 000 easy negatives ($p_t = 0.99$) and 10 hard positives ($p_t = 0.2$), with the
# paper's $\alpha = 0.25$: who dominates the total loss?

# %%
easy_logits = np.full(100_000, np.log(0.01 / 0.99))  # background scored p = 0.01: p_t = 0.99
hard_logits = np.full(10, np.log(0.2 / 0.8))  # objects scored p = 0.2
for name, gamma, alpha in (("cross-entropy", 0.0, None), ("focal, γ = 2", 2.0, 0.25)):
    easy = sigmoid_focal_loss(easy_logits, np.zeros(100_000), alpha, gamma, reduction="sum")
    hard = sigmoid_focal_loss(hard_logits, np.ones(10), alpha, gamma, reduction="sum")
    print(
        f"{name:14s}: easy negatives {easy:8.2f}, hard positives {hard:6.2f} "
        f"-> easy share {easy / (easy + hard):.0%}"
    )

# %% alt="Focal loss against the probability of the true class for several gamma values; gamma 0 is the cross-entropy, larger gamma flattens the loss of easy examples."
p = np.linspace(0.01, 1, 200)
fig, ax = plt.subplots(figsize=(6.5, 4))
for gamma in (0, 0.5, 1, 2, 5):
    loss = sigmoid_focal_loss(
        np.log(p / (1 - p + 1e-12)), np.ones_like(p), alpha=None, gamma=gamma, reduction="none"
    )
    ax.plot(p, loss, label=f"γ = {gamma}")
ax.axvspan(0.6, 1, color="0.92", label="well-classified examples")
ax.set_xlabel("probability of the ground-truth class $p_t$")
ax.set_ylabel("loss")
ax.set_ylim(0, 5)
ax.legend()
ax.set_title("RetinaNet Fig. 1: the focal loss (γ = 0 is CE)")
fig.tight_layout()

# %% [markdown]
# ## 4. The IoU loss and its hand-derived gradient
#
# UnitBox / FCOS (*Detection – 3 stages*, §N): a pixel inside a box predicts its distances to the four
# sides, $x = (x_l, x_t, x_r, x_b)$, and the loss is $-\ln \mathrm{IoU}$:
#
# $$
# X = (x_t + x_b)(x_l + x_r),\quad I_h = \min(x_t, \tilde x_t) + \min(x_b, \tilde x_b),\quad
# I_w = \min(x_l, \tilde x_l) + \min(x_r, \tilde x_r),
# $$
# $$
# I = I_h I_w,\quad U = X + \tilde X - I,\quad \mathcal L = -\ln\frac{I}{U},\qquad
# \frac{\partial \mathcal L}{\partial x} = \frac{1}{U}\frac{\partial X}{\partial x}
#   - \frac{U + I}{U I}\frac{\partial I}{\partial x}
# $$
#
# with $\partial X / \partial x_t = x_l + x_r$ and $\partial I / \partial x_t = I_w$ if
# $x_t < \tilde x_t$, else 0 (and so on).
#
# **By hand**: prediction $(1, 1, 1, 1)$, target $(1, 1, 3, 1)$: $X = 2 \cdot 2 = 4$,
# $\tilde X = 2 \cdot 4 = 8$, $I_h = 2$, $I_w = 1 + 1 = 2$, $I = 4$, $U = 8$,
# $\mathcal L = \ln 2 = 0.6931$. Only $x_r$ is short of its target, so
# $\partial\mathcal L/\partial x_r = \frac{2}{8} - \frac{12}{32} \cdot 2 = -0.5$ and the
# other three are $\frac{2}{8} = 0.25$ (growing them only adds area outside the target).

# %%
pred = np.array([[1.0, 1.0, 1.0, 1.0]])
target = np.array([[1.0, 1.0, 3.0, 1.0]])
print("loss     :", iou_loss(pred, target, reduction="none"))  # 0.6931
print("gradient :", iou_loss_backward(1.0, pred, target, reduction="none"))  # .25 .25 -.5 .25

# %% [markdown]
# Check the analytic gradient against central finite differences on random boxes (the
# finite-difference loop is the check, not a second implementation of the loss):

# %%
rng = np.random.default_rng(0)
pred = rng.uniform(1, 10, size=(20, 4))
target = rng.uniform(1, 10, size=(20, 4))
analytic = iou_loss_backward(1.0, pred, target, reduction="sum")
numeric = np.zeros_like(pred)
eps = 1e-6
for idx in np.ndindex(pred.shape):
    plus, minus = pred.copy(), pred.copy()
    plus[idx] += eps
    minus[idx] -= eps
    numeric[idx] = (
        iou_loss(plus, target, reduction="sum") - iou_loss(minus, target, reduction="sum")
    ) / (2 * eps)
print(f"largest |analytic - numeric| over 80 derivatives: {np.abs(analytic - numeric).max():.2e}")

# %% [markdown]
# **When the boxes stop overlapping**, the IoU is 0 and $-\ln \mathrm{IoU}$ is clamped
# (flat: no gradient), while the GIoU loss $1 - \mathrm{GIoU}$ still says which way to go
# (compare notebook 02). Boxes here are corners $(x_{min}, y_{min}, x_{max}, y_{max})$:

# %%
target_box = np.array([[10.0, 0.0, 20.0, 10.0]])
for x0 in (0.0, 5.0, 8.0):
    box = np.array([[x0, 0.0, x0 + 5.0, 10.0]])
    print(
        f"pred x in [{x0:4.1f}, {x0 + 5:4.1f}]: GIoU loss "
        f"{giou_loss(box, target_box):.3f}, d/dx_max = "
        f"{giou_loss_backward(1.0, box, target_box)[0, 2]:+.3f}"
    )

# %% [markdown]
# ## Summary
#
# * Smooth L1 = L2 near 0 (gradients shrink, training settles) and L1 far away (bounded
#   gradients, robust to outliers); σ moves the switch to $1/\sigma^2$.
# * The focal loss down-weights easy examples by $(1 - p_t)^\gamma$, so 100 000 easy
#   negatives no longer drown 10 hard positives.
# * The IoU loss's gradient is the slide's formula, and it matches finite differences; GIoU
#   keeps a gradient when the boxes are apart.
#
# Next: **07 — RoI pooling**, whose backward passes these gradients on to the features.
