# %% [markdown]
# # 08 — Autograd and a small CNN
#
# The Faster R-CNN of bboxcore trains on a CPU with a small reverse-mode autograd engine,
# `bboxcore.nn`. This notebook opens it up:
#
# 1. the `Tensor`: a graph of operations, each with its local chain rule;
# 2. a convolution's forward (im2col + one matrix product) and backward, by hand;
# 3. `gradcheck`: analytic gradients against finite differences — and a bug it catches;
# 4. a small CNN learning to read MNIST digits in a few seconds.
#
# Documentation: *Concepts → Autograd* and *API → bboxcore.nn*.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

from bboxcore.data import load_mnist_5k
from bboxcore.nn import (
    Adam,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Tensor,
    conv2d,
    functional,
    gradcheck,
    im2col,
    no_grad,
)

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The Tensor and the chain rule
#
# Each operation records its inputs and its **vector–Jacobian product**: given
# $\partial L / \partial y$ it returns $\partial L / \partial x = (\partial y / \partial x)^\top
# \partial L / \partial y$. `backward()` visits the graph in reverse topological order.
#
# **By hand**: with $a = (2, 3)$ and $b = (4, 5)$,
# $L = \sum_i (a_i b_i + a_i) = (8 + 2) + (15 + 3) = 28$,
# $\partial L / \partial a = b + 1 = (5, 6)$ and $\partial L / \partial b = a = (2, 3)$.

# %%
a = Tensor([2.0, 3.0], requires_grad=True)
b = Tensor([4.0, 5.0], requires_grad=True)
loss = (a * b + a).sum()
loss.backward()
print("L =", loss.item(), " dL/da =", a.grad, " dL/db =", b.grad)  # 28, (5, 6), (2, 3)

# %% [markdown]
# A linear layer and a ReLU, $L = \sum \mathrm{ReLU}(XW)$: the matrix product's rule is
# $dX = dZ\,W^\top$, $dW = X^\top dZ$ (numpy-ml's notation), and ReLU passes the gradient
# where its input is positive, $dZ = dY \cdot [Z > 0]$ (the kink at 0 gets 0). Check the
# engine against these two lines:

# %%
rng = np.random.default_rng(0)
X = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
Z = X @ W
Z.relu().sum().backward()
dZ = (Z.data > 0).astype(Z.data.dtype)  # dL/dY = 1 everywhere, times the ReLU mask
print("dW matches X^T dZ:", np.allclose(W.grad, X.data.T @ dZ))
print("dX matches dZ W^T:", np.allclose(X.grad, dZ @ W.data.T))

# %% [markdown]
# ## 2. A convolution, forward and backward
#
# `conv2d` unfolds every $k \times k$ window of the input into a column (**im2col**), so
# the convolution becomes one matrix product: with $K = C k_h k_w$ rows and $P = H_o W_o$
# columns,
#
# $$ Y = W\,\mathrm{cols} + b,\qquad dW = dY\,\mathrm{cols}^\top,\qquad
#    dx = \mathrm{col2im}(W^\top dY). $$
#
# **By hand** on the 4 × 4 image $x_{ij} = 4i + j$ with a 3 × 3 filter of ones and
# padding 1: output $(1, 1)$ is the sum of the 3 × 3 block around $(1, 1)$,
# $0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10 = 45$.

# %%
x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
w = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
y = conv2d(x, w, padding=1)
print("y =\n", y.data[0, 0])  # y[1, 1] = 45
cols = im2col(x.data, (3, 3), 1, 1)
print(
    "im2col:",
    cols.shape,
    "= (N, C·3·3, 4·4); the same output as one product:",
    np.allclose(w.data.reshape(1, 9) @ cols[0], y.data.reshape(1, 16)),
)

y.sum().backward()
print("dL/dw for L = sum(y):\n", w.grad[0, 0])
print("dL/dx: how many output windows see each pixel:\n", x.grad[0, 0])

# %% [markdown]
# With $L = \sum y$, $\partial L / \partial w_{ij}$ is the sum of the image shifted by
# $(i - 1, j - 1)$ with zeros coming in: the centre tap sees every pixel, $\sum x = 120$;
# the corner $(0, 0)$ only the top-left 3 × 3 block, $0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10 = 45$.
# And $\partial L / \partial x$ counts the windows that contain each pixel: 9 inside, 6 on
# an edge, 4 in a corner.
#
# ## 3. gradcheck
#
# Every backward of bboxcore is checked against central finite differences,
# $\frac{f(x + \epsilon) - f(x - \epsilon)}{2\epsilon}$, in float64. A small conv → ReLU →
# max-pool stack:


# %%
def block(inp, weight):
    return MaxPool2d(2)(conv2d(inp, weight, padding=1).relu())


inp = rng.normal(size=(1, 2, 6, 6))
weight = rng.normal(size=(3, 2, 3, 3))
print("conv + relu + max-pool gradients correct:", gradcheck(block, [inp, weight]))

# %% [markdown]
# And a deliberate bug: an operation computing $a^2$ whose backward claims $3a$ instead of
# $2a$. `gradcheck` catches it and names the element:


# %%
def wrong_square(t):
    return Tensor.from_op(t.data**2, (t,), lambda d: (3 * t.data * d,), "wrong_square")


try:
    gradcheck(wrong_square, [np.array([1.0, 2.0])])
except AssertionError as err:
    print(type(err).__name__, ":", err)

# %% [markdown]
# ## 4. A small CNN learns
#
# Two conv layers and a linear classifier on the 5 000 MNIST digits of the built-in data
# (4 000 to train, 1 000 to test), trained with Adam for 300 steps of 32 images — a few
# seconds on a CPU. The same modules build the Faster R-CNN backbone (notebook 09).

# %%
pixels, digit = load_mnist_5k()
images = (pixels[:, None] / 255.0).astype(np.float32)  # (5000, 1, 28, 28) in [0, 1]
order = np.random.default_rng(0).permutation(len(images))
train, test = order[:4000], order[4000:]

rng = np.random.default_rng(0)
model = Sequential(
    Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),  # (N, 8, 14, 14)
    Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),  # (N, 16, 7, 7)
    Flatten(), Linear(16 * 7 * 7, 10, rng=rng),  # (N, 10)
)  # fmt: skip
print(model)
optimizer = Adam(model.parameters(), lr=3e-3)


def accuracy(idx):
    with no_grad():
        logits = model(Tensor(images[idx])).data
    return float((logits.argmax(axis=1) == digit[idx]).mean())


print(f"test accuracy before training: {accuracy(test):.3f}")  # about 0.1: chance
losses = []
t0 = time.perf_counter()
batch_rng = np.random.default_rng(1)
for step in range(300):
    idx = batch_rng.choice(train, size=32, replace=False)
    loss = functional.softmax_cross_entropy(model(Tensor(images[idx])), digit[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"300 steps in {time.perf_counter() - t0:.1f} s")
print(f"test accuracy after training: {accuracy(test):.3f}")

# %% alt="Left: training loss of the small CNN on MNIST decreasing with the steps. Right: the 8 learnt 3 by 3 filters of its first layer."
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
axes[0].plot(losses, lw=0.8, alpha=0.5, label="per batch")
axes[0].plot(np.convolve(losses, np.ones(20) / 20, mode="valid"), label="moving average (20)")
axes[0].set_xlabel("step")
axes[0].set_ylabel("softmax cross-entropy")
axes[0].set_yscale("log")
axes[0].legend()
axes[0].set_title("training loss")
filters = model[0].weight.data[:, 0]  # (8, 3, 3)
axes[1].imshow(np.concatenate([np.pad(f, 1) for f in filters], axis=1), cmap="coolwarm")
axes[1].set_xticks([])
axes[1].set_yticks([])
axes[1].set_xlabel("filter 1 to 8, left to right (each 3 × 3, in a white border)")
axes[1].set_title("the 8 learnt 3 × 3 filters of the first layer")
fig.colorbar(axes[1].images[0], ax=axes[1], label="weight", fraction=0.03)
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# * A `Tensor` remembers the operation that made it; `backward()` applies each operation's
#   local chain rule in reverse order — the rule sits next to the forward in the source.
# * `conv2d` is im2col + a matrix product; its backward is two more products and col2im.
# * `gradcheck` compares every analytic gradient with finite differences.
# * The detection losses and RoI ops enter the engine through `bboxcore.nn.functional`,
#   which calls the analytic backward of `bboxcore.losses` and `bboxcore.roi`.
#
# Next: **09 — Faster R-CNN**, the whole detector built from these pieces.
