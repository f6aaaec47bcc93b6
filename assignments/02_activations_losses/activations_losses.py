# %% [markdown]
# # Assignment 02: Activations, outputs and losses
#
# A network alternates affine maps with nonlinear **activations**, ends in an **output**
# function that turns scores into probabilities, and is trained by a **loss** that says how
# wrong those outputs are. This assignment builds each of them in NumPy as a pair of
# functions, a forward pass and a backward pass, so that the next assignment can chain them
# into networks and backpropagate through the chain.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions or change their arguments. The cells after each answer check your
# work in seconds; run them. Before you hand in, run `course check activations_losses.ipynb`
# for the public tests. Hidden tests use other inputs, so make your code correct, not only
# passing.

# %% tags=["setup"]
import math

import numpy as np
import torch
from torch import nn

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error

# %%
import matplotlib.pyplot as plt
import torch.nn.functional as F
from tqdm.auto import tqdm

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Activations as layers
#
# Every layer in this course is two functions:
#
# * `X_forward(x, *params) -> (out, cache)` computes the output and keeps in `cache`
#   whatever the backward pass will need;
# * `X_backward(dout, cache)` receives $\frac{\partial L}{\partial \text{out}}$ (called
#   `dout`, the shape of `out`) and returns $\frac{\partial L}{\partial x}$ (the shape of
#   `x`), followed by the gradients of the parameters if the layer has any.
#
# An elementwise activation $\text{out} = f(x)$ has the simplest backward pass of all: by
# the chain rule, $\frac{\partial L}{\partial x} = \frac{\partial L}{\partial \text{out}} \odot f'(x)$.
#
# A layer never changes its arguments: `x`, the parameters, `dout` and the cache are read,
# never written. Build new arrays (`np.maximum(x, 0)`, `np.where(...)`, `dout * mask`)
# instead of assigning into the ones you were given: `x[x < 0] = 0` would change the
# caller's array, and `dout[x <= 0] = 0` the upstream gradient. The grader checks that every
# call leaves its arguments as they were; the losses of section 4 follow the same rule.
#
# **Sigmoid.** $\sigma(x) = 1/(1 + e^{-x})$ squashes to $(0, 1)$ and has the convenient
# derivative $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$, so the cache only needs the output.
# The cell starts with `sigmoid`, your stable function from assignment 01: paste your
# solution in (it must not overflow for $|x| > 700$), then build the layer on top of it.
# The grader runs `sigmoid_forward` and `sigmoid_backward` on inputs beyond $\pm 700$.
# Intermediate results must not overflow; the grader sees an overflow (or an invalid value)
# even when warnings are silenced with `np.errstate`, `np.seterr` or `warnings`.
#
# **Tanh.** $\tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}} = 2\sigma(2x) - 1$ squashes to
# $(-1, 1)$ and is centred at zero; $\tanh'(x) = 1 - \tanh^2(x)$. Use `np.tanh`.
#
# Both saturate: for large $|x|$ the derivative is nearly zero, and gradients that pass
# through many saturated units vanish.

# %% solution="reference.activations:sigmoid,sigmoid_forward,sigmoid_backward" grade_id="sigmoid"
# filled in by the build

# %% solution="reference.activations:tanh_forward,tanh_backward" grade_id="tanh"
# filled in by the build

# %% [markdown]
# **ReLU.** $\text{relu}(x) = \max(x, 0)$ does not saturate for $x > 0$, costs one
# comparison, and is the default activation of modern networks. Its derivative is $1$ for
# $x > 0$ and $0$ for $x < 0$; at $x = 0$ we use $0$, as PyTorch does. A unit whose input
# stays negative receives no gradient at all: it is "dead".
#
# **Leaky ReLU** keeps a small slope $a$ (`negative_slope`, $0.01$ by default, the name
# PyTorch uses) on the negative side so that no unit dies:
#
# $$ \text{leaky}(x) = \begin{cases} x & x > 0 \\ a\,x & x \le 0 \end{cases}, \qquad
#    \text{leaky}'(x) = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}. $$
#
# Keep `negative_slope` in the cache: the backward pass needs it.

# %% solution="reference.activations:relu_forward,relu_backward,leaky_relu_forward,leaky_relu_backward" grade_id="relu"
# filled in by the build

# %% [markdown]
# Each backward pass is checked against central differences of its forward pass,
# $\frac{f(x + h) - f(x - h)}{2h}$, in float64: a correct gradient agrees to about $10^{-8}$.

# %%
layers = {"sigmoid": (sigmoid_forward, sigmoid_backward), "tanh": (tanh_forward, tanh_backward),
          "relu": (relu_forward, relu_backward), "leaky relu": (leaky_relu_forward, leaky_relu_backward)}
x_check, dout_check = rng.normal(size=(4, 5)) * 2, rng.normal(size=(4, 5))
for name, (forward, backward) in layers.items():
    out, cache = forward(x_check)
    assert out.shape == x_check.shape, f"{name}: the output must have the input's shape"
    dx = backward(dout_check, cache)
    numeric = numerical_vjp(lambda v: forward(v)[0], x_check.copy(), dout_check)
    print(f"{name:>10}: gradient relative error {rel_error(dx, numeric):.1e}")
    assert rel_error(dx, numeric) < 1e-6, f"{name}_backward disagrees with central differences"
with np.errstate(over="raise", invalid="raise"):  # any overflow here is an error
    out, cache = sigmoid_forward(np.array([-1000.0, 1000.0]))
    assert np.allclose(out, [0.0, 1.0]) and np.allclose(sigmoid_backward(np.ones(2), cache), 0.0)
assert np.allclose(leaky_relu_forward(np.array([-2.0, 3.0]), negative_slope=0.1)[0], [-0.2, 3.0])
print("activations: OK")

# %% [markdown]
# Each activation with its derivative. The derivative is what your backward pass returns
# for `dout = 1`.

# %%
grid = np.linspace(-5, 5, 401)
slope = 0.1  # larger than the default so that the leak is visible
curves = {"sigmoid": (sigmoid_forward, sigmoid_backward, {}),
          "tanh": (tanh_forward, tanh_backward, {}),
          "ReLU": (relu_forward, relu_backward, {}),
          f"leaky ReLU, slope {slope}": (leaky_relu_forward, leaky_relu_backward, {"negative_slope": slope})}
fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), sharex=True)
for ax, (name, (forward, backward, kwargs)) in zip(axes, curves.items()):
    out, cache = forward(grid, **kwargs)
    ax.plot(grid, out, label="f(x)")
    ax.plot(grid, backward(np.ones_like(grid), cache), ls="--", label="f'(x)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set(title=name, xlabel="x")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Activations with parameters: PReLU and Maxout
#
# **PReLU** learns the negative slope: one $\alpha_c$ per channel (per feature for an input
# of shape $(N, C)$; per channel for $(N, C, d_1, \dots)$, shared by every position of that
# channel):
#
# $$ \text{out}_{n,c,\dots} = \begin{cases} x_{n,c,\dots} & x > 0 \\ \alpha_c\, x_{n,c,\dots} & x \le 0 \end{cases},
#    \qquad \frac{\partial L}{\partial \alpha_c} = \sum_{n} \sum_{\text{positions}} \text{dout}_{n,c,\dots}\; x_{n,c,\dots} \,[x_{n,c,\dots} \le 0]. $$
#
# A parameter used by every sample collects gradient from every sample: the sum runs over
# the whole batch, exactly as the bias gradient of an affine layer does. Reshape
# $\alpha$ to $(1, C, 1, \dots)$ so that it broadcasts against $x$.

# %% solution="reference.activations:prelu_forward,prelu_backward" grade_id="prelu"
# filled in by the build

# %%
x_check, alpha_check = rng.normal(size=(6, 3, 4)), np.array([0.1, 0.25, 0.5])
dout_check = rng.normal(size=x_check.shape)
out, cache = prelu_forward(x_check, alpha_check)
assert np.allclose(out, F.prelu(torch.tensor(x_check), torch.tensor(alpha_check)).numpy())
dx, dalpha = prelu_backward(dout_check, cache)
assert dalpha.shape == alpha_check.shape, "dalpha must have alpha's shape"
numeric_dx = numerical_vjp(lambda v: prelu_forward(v, alpha_check)[0], x_check.copy(), dout_check)
numeric_dalpha = numerical_vjp(lambda a: prelu_forward(x_check, a)[0], alpha_check.copy(), dout_check)
print(f"PReLU: dx error {rel_error(dx, numeric_dx):.1e}, dalpha error {rel_error(dalpha, numeric_dalpha):.1e}")
assert rel_error(dx, numeric_dx) < 1e-6 and rel_error(dalpha, numeric_dalpha) < 1e-6
print("PReLU: OK")

# %% [markdown]
# **Maxout** replaces a fixed nonlinearity by the maximum of $k$ affine pieces. For an input
# $x$ of shape $(N, D)$, piece $j$ has weights $W_j$ of shape $(D, M)$ and bias $b_j$ of
# shape $(M,)$:
#
# $$ z_j = x W_j + b_j, \qquad \text{out} = \max_j z_j \quad \text{(elementwise over the } (N, M) \text{ entries)}. $$
#
# Store the pieces as one array `w` of shape $(k, D, M)$ and `b` of shape $(k, M)$; then
# `x @ w` computes all $k$ products at once, shape $(k, N, M)$. The maximum passes the
# gradient on unchanged to the piece that won and gives the others nothing, so keep the
# index of the winner (`np.argmax` over the pieces) in the cache. With $g_j$ equal to
# `dout` where piece $j$ won and $0$ elsewhere,
#
# $$ \frac{\partial L}{\partial x} = \sum_j g_j W_j^\top, \qquad \frac{\partial L}{\partial W_j} = x^\top g_j,
#    \qquad \frac{\partial L}{\partial b_j} = \sum_n g_{j,n}. $$
#
# ReLU is the special case of two pieces, one of them zero; with more pieces maxout can
# approximate any convex function.

# %% solution="reference.activations:maxout_forward,maxout_backward" grade_id="maxout"
# filled in by the build

# %%
x_check, w_check, b_check = rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
dout_check = rng.normal(size=(5, 2))
out, cache = maxout_forward(x_check, w_check, b_check)
assert np.allclose(out, np.max([x_check @ w_check[j] + b_check[j] for j in range(3)], axis=0))
grads = maxout_backward(dout_check, cache)
params = [x_check, w_check, b_check]
for name, grad, index in zip(["dx", "dw", "db"], grads, range(3)):
    def forward_of(v, index=index):
        return maxout_forward(*[v if i == index else p for i, p in enumerate(params)])[0]
    numeric = numerical_vjp(forward_of, params[index].copy(), dout_check)
    print(f"maxout {name}: relative error {rel_error(grad, numeric):.1e}")
    assert rel_error(grad, numeric) < 1e-6, f"maxout's {name} disagrees with central differences"
print("maxout: OK")

# %% [markdown]
# One maxout unit on a one-dimensional input: two pieces of slopes $\pm 1$ give $|x|$ (checked
# below), and $k$ tangents of $x^2$ approximate the parabola from below, closer with every piece.

# %%
line = np.linspace(-2, 2, 201)[:, None]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, k in zip(axes, [3, 5, 9]):
    touch = np.linspace(-1.8, 1.8, k)  # tangent of x^2 at t: 2 t x - t^2
    out, _ = maxout_forward(line, (2 * touch)[:, None, None], (-touch ** 2)[:, None])
    ax.plot(line, line ** 2, color="gray", ls="--", label="$x^2$")
    ax.plot(line, out, label=f"maxout, {k} pieces")
    ax.set(ylim=(-1, 4.2), xlabel="x")
    ax.legend()
abs_out, _ = maxout_forward(line, np.array([1.0, -1.0])[:, None, None], np.zeros((2, 1)))
assert np.allclose(abs_out, np.abs(line)), "two pieces of slopes +-1 must give |x|"
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Outputs: softmax and log-softmax
#
# For $C$ classes a classifier outputs $C$ scores $s$ per sample; the softmax turns them into
# probabilities, and its logarithm is what the cross-entropy needs:
#
# $$ \text{softmax}(s)_c = \frac{e^{s_c}}{\sum_j e^{s_j}}, \qquad \log\text{softmax}(s)_c = s_c - \log \sum_j e^{s_j}. $$
#
# Computed literally, $e^{1000}$ overflows to `inf` and the result is `nan`. Both formulas
# are unchanged when the same constant is subtracted from every score, so subtract
# $m = \max_j s_j$ first: the largest exponent becomes $e^0 = 1$, nothing overflows, and the
# sum is at least 1, so its logarithm is safe as well:
#
# $$ \log\text{softmax}(s)_c = (s_c - m) - \log \sum_j e^{s_j - m}. $$
#
# Work along the last axis (`axis=-1, keepdims=True`), so that scores of shape $(N, C)$
# give one distribution per row, and subtract into a new array (`scores - m`), not into
# `scores` itself.
#
# **What the grader checks.** It calls `softmax`, `log_softmax` and, in section 4,
# `softmax_cross_entropy` on scores in the thousands. Intermediate results must not
# overflow; the grader sees an overflow (or an invalid value) even when warnings are
# silenced with `np.errstate`, `np.seterr` or `warnings`.

# %% solution="reference.activations:softmax,log_softmax" grade_id="softmax"
# filled in by the build

# %%
huge = np.array([[1000.0, 0.0, -1000.0], [3.0, 1.0, 0.2], [-500.0, -500.0, -500.0]])
with np.errstate(over="raise", invalid="raise", divide="raise"):  # any overflow here is an error
    probs, log_probs = softmax(huge), log_softmax(huge)
assert np.allclose(probs, torch.softmax(torch.tensor(huge), dim=-1).numpy())
assert np.allclose(log_probs, torch.log_softmax(torch.tensor(huge), dim=-1).numpy())
assert np.allclose(probs.sum(axis=1), 1.0), "every row must sum to one"
print("softmax and log-softmax: OK")

# %% [markdown]
# ## 4. Losses
#
# Every loss takes the predictions and the targets and returns the loss averaged over the
# batch together with its gradient with respect to the predictions, which has their shape.
# You wrote the mean squared error and the binary cross-entropy in assignment 01; three more
# follow.
#
# **L1 loss (mean absolute error).** For predictions $\hat y$ and targets $y$ with $n$
# entries in all,
#
# $$ L = \frac1n \sum_i |\hat y_i - y_i|, \qquad \frac{\partial L}{\partial \hat y_i} = \frac1n \operatorname{sign}(\hat y_i - y_i). $$
#
# Unlike the MSE, its gradient does not shrink near the target and does not grow with an
# outlier: each sample pulls with the same strength.

# %% solution="reference.losses:l1_loss" grade_id="l1"
# filled in by the build

# %% [markdown]
# **Cross-entropy over the softmax.** Scores $s$ of shape $(N, C)$, integer labels
# $y_i \in \{0, \dots, C-1\}$ and probabilities $p_i = \text{softmax}(s_i)$:
#
# $$ L = -\frac1N \sum_i \log p_{i, y_i}, \qquad \frac{\partial L}{\partial s_{ic}} = \frac1N \left(p_{ic} - [c = y_i]\right). $$
#
# Take $\log p$ from your `log_softmax`, never as `np.log(softmax(s))`: a probability that
# rounds to zero would give $\log 0 = -\infty$. Select each row's correct entry with
# `log_probs[np.arange(N), y]`.

# %% solution="reference.losses:softmax_cross_entropy" grade_id="cross_entropy"
# filled in by the build

# %% [markdown]
# **Multi-class hinge loss** (the SVM loss). The correct class should beat every other class
# by a margin of at least $1$; each class that does not adds how far it falls short:
#
# $$ L = \frac1N \sum_i \sum_{j \ne y_i} \max\left(0,\; s_{ij} - s_{i y_i} + 1\right). $$
#
# The sum skips $j = y_i$ (that term would always add exactly $1$). Each violated margin
# ($s_{ij} - s_{iy_i} + 1 > 0$) adds $\frac1N$ to $\frac{\partial L}{\partial s_{ij}}$ and
# $-\frac1N$ to $\frac{\partial L}{\partial s_{iy_i}}$. PyTorch's `multi_margin_loss`
# computes the same sum divided by the number of classes $C$.

# %% solution="reference.losses:multiclass_hinge_loss" grade_id="hinge"
# filled in by the build

# %%
scores_check, labels_check = rng.normal(size=(6, 4)) * 2, rng.integers(0, 4, size=6)
targets_check = rng.normal(size=(6, 4))
cases = {
    "l1_loss": (l1_loss, targets_check, F.l1_loss(torch.tensor(scores_check), torch.tensor(targets_check))),
    "softmax_cross_entropy": (softmax_cross_entropy, labels_check,
                              F.cross_entropy(torch.tensor(scores_check), torch.tensor(labels_check))),
    "multiclass_hinge_loss": (multiclass_hinge_loss, labels_check,
                              4 * F.multi_margin_loss(torch.tensor(scores_check), torch.tensor(labels_check))),
}
for name, (loss_fn, targets, expected) in cases.items():
    loss, dscores = loss_fn(scores_check, targets)
    assert np.isclose(loss, expected.item()), f"{name}: loss {loss:.6f}, torch says {expected.item():.6f}"
    numeric = numerical_gradient(lambda s: loss_fn(s, targets)[0], scores_check.copy())
    print(f"{name:>22}: loss {loss:.4f}, gradient relative error {rel_error(dscores, numeric):.1e}")
    assert rel_error(dscores, numeric) < 1e-6, f"{name}'s gradient disagrees with central differences"
with np.errstate(over="raise", invalid="raise", divide="raise"):
    loss, _ = softmax_cross_entropy(huge, np.array([2, 0, 1]))
assert np.isfinite(loss), "the cross-entropy must be finite for scores of +-1000"
print("losses: OK")

# %% [markdown]
# ### Hinge versus cross-entropy
#
# Take one sample with two classes and call $m = s_{y} - s_{\text{other}}$ its margin. The
# hinge loss is $\max(0, 1 - m)$: once the margin reaches $1$, loss and gradient are exactly
# zero and the sample stops influencing training. The cross-entropy is
# $\log(1 + e^{-m})$: it shrinks but never reaches zero, so it keeps pushing every margin
# wider.

# %%
margins = np.linspace(-3, 5, 161)
two_class = np.stack([margins, np.zeros_like(margins)], axis=1)  # the correct class is 0
correct = np.zeros(len(margins), dtype=int)
per_sample = {}
for name, loss_fn in {"hinge": multiclass_hinge_loss, "cross-entropy": softmax_cross_entropy}.items():
    values = [loss_fn(two_class[i:i + 1], correct[i:i + 1]) for i in range(len(margins))]
    per_sample[name] = (np.array([v[0] for v in values]), np.array([v[1][0, 0] for v in values]))

# The same contrast during training: a linear classifier on two separable clouds, trained
# by gradient descent with each loss in turn.
points = np.vstack([rng.normal([-2.0, -1.0], 0.7, size=(60, 2)), rng.normal([2.0, 1.0], 0.7, size=(60, 2))])
classes = np.repeat([0, 1], 60)
runs = {}
for name, loss_fn in {"hinge": multiclass_hinge_loss, "cross-entropy": softmax_cross_entropy}.items():
    W, b, losses_seen, norms = np.zeros((2, 2)), np.zeros(2), [], []
    for _ in tqdm(range(500), desc=name):
        loss, dscores = loss_fn(points @ W + b, classes)
        W, b = W - 0.5 * points.T @ dscores, b - 0.5 * dscores.sum(axis=0)
        losses_seen.append(loss)
        norms.append(np.linalg.norm(W))
    runs[name] = (losses_seen, norms)
assert runs["hinge"][0][-1] == 0, "on separable data the hinge loss should reach exactly zero"
assert runs["cross-entropy"][0][-1] > 0

fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
for name, (loss, grad) in per_sample.items():
    axes[0].plot(margins, loss, label=f"{name} loss")
    axes[0].plot(margins, grad, ls="--", label=f"{name}: d loss / d s_y")
axes[0].axvline(1, color="gray", lw=0.5)
axes[0].set(xlabel="margin m = s_y - s_other", title="One sample")
axes[0].legend(fontsize=8)
for name, (loss, norms) in runs.items():
    axes[1].plot(loss, label=name)
    axes[2].plot(norms, label=name)
axes[1].set(xlabel="step", ylabel="training loss (symlog scale)", title="Training loss")
axes[1].set_yscale("symlog", linthresh=1e-3)
axes[2].set(xlabel="step", ylabel="||W||", title="Weight norm: hinge stops, cross-entropy keeps pushing")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Written question (2 points).** Read the right plot: on these separable data the weight
# norm stops growing under the hinge loss but keeps growing under cross-entropy. Explain
# why, using the gradients drawn in the left plot. What would stop the growth?

# %% [markdown] written=2 grade_id="hinge_vs_ce"
# Model answer: the multi-class hinge loss of a sample is exactly zero, with a zero
# gradient, once its correct score beats every other score by the margin 1. When every
# training sample is classified with that margin, the gradient vanishes and the weights
# (and their norm) stop changing. The cross-entropy gradient $p - \text{onehot}(y)$ is
# never zero for finite scores, since the softmax never gives the correct class a
# probability of exactly 1; it only decays like $e^{-m}$ with the margin $m$. On separable
# data the loss can always be lowered by scaling $W$ up, so gradient descent keeps
# increasing the norm (slowly, roughly logarithmically in the number of steps) forever.
# An L2 penalty (weight decay) or early stopping bounds it.
#
# Marking guide: 1 point for the hinge loss's zero gradient beyond the margin; 1 point for
# cross-entropy's never-zero gradient making larger weights always better on separable
# data, with a remedy (L2 penalty or early stopping).

# %% [markdown]
# ## 5. Softmax regression on handwritten digits
#
# A linear layer followed by your softmax cross-entropy is **softmax regression**, the
# multi-class version of logistic regression. Scores are $S = XW + b$ with $W$ of shape
# $(D, C)$ and $b$ of shape $(C,)$; with $G = \frac{\partial L}{\partial S}$ from the loss,
# the chain rule gives
#
# $$ \frac{\partial L}{\partial W} = X^\top G, \qquad \frac{\partial L}{\partial b} = \sum_i G_i . $$
#
# Start from $W = 0$, $b = 0$ and take `epochs` full-batch gradient-descent steps
# $W \leftarrow W - \eta \frac{\partial L}{\partial W}$, $b \leftarrow b - \eta \frac{\partial L}{\partial b}$,
# recording the loss before each step. The number of classes is $C = \max_i y_i + 1$.
# `predict_classes` returns the class with the largest score.

# %% solution="reference.softmax_regression:fit_softmax_regression,predict_classes" grade_id="softmax_regression"
# filled in by the build

# %% [markdown]
# scikit-learn's digits: 1797 images of $8 \times 8$ pixels with values in $[0, 1]$, split
# into training, validation and test parts (60/20/20).
#
# **What the grader checks.** It trains your `fit_softmax_regression` with its default
# arguments and computes the predictions of the `W` and `b` it returns itself. The digits
# are public, so a program could look an image's label up instead of learning it: the
# grader therefore trains and tests on a secretly transformed copy (the 64 pixel values of
# every image rotated together in $\mathbb{R}^{64}$, plus a little noise), which a linear
# model learns exactly as well and no lookup can match. It requires a test accuracy of at
# least **{{ thresholds.digits_accuracy }}**; the check below asks the same of the validation part.

# %%
X_train, y_train, X_val, y_val, _, _ = data.digits()
W_digits, b_digits, history = fit_softmax_regression(X_train, y_train)
validation = np.mean(predict_classes(X_val, W_digits, b_digits) == y_val)
print(f"validation accuracy: {validation:.3f}")
assert validation >= {{ thresholds.digits_accuracy }}, "the grader requires {{ thresholds.digits_accuracy }}"

fig = plt.figure(figsize=(14, 3.5))
curve = fig.add_subplot(2, 7, (1, 9))  # the left two columns of both rows
curve.plot(history)
curve.set(xlabel="step", ylabel="training cross-entropy", yscale="log", title="Loss curve")
for digit in range(10):
    row, column = divmod(digit, 5)
    ax = fig.add_subplot(2, 7, 7 * row + column + 3)
    limit = np.abs(W_digits).max()
    ax.imshow(W_digits[:, digit].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"W for {digit}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 6. Maxout in PyTorch
#
# PyTorch has `nn.PReLU` built in but no maxout, so write the module. Hold the pieces as two
# `nn.Parameter`s with the shapes of the NumPy version, `weight` $(k, D, M)$ and `bias`
# $(k, M)$, initialized like `nn.Linear`: uniformly in $[-1/\sqrt{D}, 1/\sqrt{D}]$
# (`torch.empty(...).uniform_(-bound, bound)`). Pass `device` and `dtype` on to
# `torch.empty` so that the layer can live on a GPU. In `forward`, `tensor.max(dim=0)`
# returns the largest values and their indices; autograd then routes the gradient to the
# winners, as your `maxout_backward` does.

# %% solution="reference.torch_activations:Maxout" grade_id="torch_maxout"
# filled in by the build

# %%
x_check, dout_check = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
layer = Maxout(4, 2, pieces=3, dtype=torch.float64)
assert tuple(layer.weight.shape) == (3, 4, 2) and tuple(layer.bias.shape) == (3, 2)
x_torch = torch.tensor(x_check, requires_grad=True)
out_torch = layer(x_torch)
out_torch.backward(torch.tensor(dout_check))
weights = [layer.weight.detach().numpy(), layer.bias.detach().numpy()]
out, cache = maxout_forward(x_check, *weights)
dx, dw, db = maxout_backward(dout_check, cache)
assert np.allclose(out_torch.detach().numpy(), out), "the module disagrees with maxout_forward"
assert np.allclose(x_torch.grad.numpy(), dx) and np.allclose(layer.weight.grad.numpy(), dw)
assert np.allclose(layer.bias.grad.numpy(), db)
print("Maxout module: OK")
