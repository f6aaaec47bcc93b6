# %% [markdown]
# # Assignment 01: Linear and logistic regression
#
# Every model in this course is a function with parameters, a loss that says how wrong it
# is, and a rule that changes the parameters to make the loss smaller. Regression is the
# smallest complete example of all three, so we build it twice: first in NumPy, where you
# write every gradient by hand, then in PyTorch, where autograd writes them for you and
# the two must agree.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions or change their arguments. The cells after each answer check your
# work in seconds; run them. Before you hand in, run `course check regression.ipynb` for
# the public tests. Hidden tests use other inputs, so make your code correct, not only
# passing.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, rel_error

# %%
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Linear regression
#
# A linear model predicts $\hat y = w_0 + \sum_j w_j x_j$. Writing the bias as a weight on
# a constant feature keeps the formulas short: with $X_b = [\mathbf 1, X]$ of shape
# $(N, D+1)$, the predictions are $\hat y = X_b w$.
#
# The mean squared error $L(w) = \frac1N \lVert X_b w - y \rVert^2$ is a convex quadratic.
# Setting its gradient $\frac2N X_b^\top (X_b w - y)$ to zero gives the **normal equations**
#
# $$ X_b^\top X_b \, w = X_b^\top y .$$
#
# Solve the system (`np.linalg.solve`) rather than forming the inverse: inverting
# squares the condition number's effect on rounding errors and does more work.

# %% solution="reference.linear:add_bias,predict_linear,fit_normal_equations" grade_id="linear_fit"
# filled in by the build

# %%
X_toy = rng.normal(size=(50, 2))
w_true = np.array([1.0, -2.0, 0.5])
y_toy = add_bias(X_toy) @ w_true
assert add_bias(X_toy).shape == (50, 3), "add_bias should add exactly one column"
assert np.allclose(add_bias(X_toy)[:, 0], 1), "the bias column comes first and holds ones"
assert np.allclose(fit_normal_equations(X_toy, y_toy), w_true), "noise-free data must be fit exactly"
print("linear fit: OK")

# %% [markdown]
# ### The loss and its gradient
#
# Every loss in this course returns the loss *and* its gradient with respect to its first
# argument, averaged over the batch, and leaves its arguments unchanged: compute new arrays
# (`diff = y_pred - y`) rather than writing into `y_pred` or `y` (`y_pred -= y` would change
# the caller's array; the grader checks that a call leaves its arguments as they were):
#
# $$ L = \frac1N \sum_i (\hat y_i - y_i)^2, \qquad \frac{\partial L}{\partial \hat y_i} = \frac2N (\hat y_i - y_i). $$
#
# The chain rule then gives the gradient for the weights: $\nabla_w L = X_b^\top \frac{\partial L}{\partial \hat y}$.
# Gradient descent repeats $w \leftarrow w - \eta \nabla_w L$, here from $w = 0$, and records
# the loss *before* each step: `history[0]` is the loss at $w = 0$, and `epochs` steps give
# `epochs` values.

# %% solution="reference.losses:mse_loss" grade_id="mse"
# filled in by the build

# %%
y_pred, y_target = rng.normal(size=7), rng.normal(size=7)
loss, dy_pred = mse_loss(y_pred, y_target)
numeric = numerical_gradient(lambda p: mse_loss(p, y_target)[0], y_pred.copy())
print(f"loss {loss:.4f}, gradient relative error {rel_error(dy_pred, numeric):.1e}")
assert rel_error(dy_pred, numeric) < 1e-7, "the MSE gradient disagrees with central differences"

# %% solution="reference.linear:fit_linear_gd" grade_id="linear_gd"
# filled in by the build

# %% [markdown]
# On the diabetes data (442 patients, 10 standardized measurements, a disease-progression
# score) gradient descent approaches the normal-equations solution. The left plot fits
# body-mass index alone, so that the line can be drawn.

# %%
X_train, y_train, X_val, y_val, X_test, y_test = data.diabetes()
w_exact = fit_normal_equations(X_train, y_train)
w_gd, history = fit_linear_gd(X_train, y_train, lr=0.1, epochs=500)
print(f"validation MSE: normal equations {mse_loss(predict_linear(X_val, w_exact), y_val)[0]:.0f}, "
      f"gradient descent {mse_loss(predict_linear(X_val, w_gd), y_val)[0]:.0f}")

bmi = X_train[:, [2]]
w_bmi = fit_normal_equations(bmi, y_train)
grid = np.linspace(bmi.min(), bmi.max(), 50)[:, None]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
left.scatter(bmi, y_train, s=8, alpha=0.5, label="patients")
left.plot(grid, predict_linear(grid, w_bmi), color="C3", label="least-squares line")
left.set(xlabel="body-mass index (standardized)", ylabel="progression", title="Fitted line")
left.legend()
right.plot(history)
right.axhline(mse_loss(predict_linear(X_train, w_exact), y_train)[0], color="C3", ls="--", label="optimum")
right.set(xlabel="step", ylabel="training MSE", yscale="log", title="Gradient descent")
right.legend()
plt.show()

# %% [markdown]
# **Written question (2 points).** Read the right plot: how does the training MSE approach
# the optimum, and why does gradient descent with $\eta = 0.1$ converge on this loss at
# all? What would a much larger learning rate do, and what decides how large is too large?
# Answer in a few sentences in the cell below.

# %% [markdown] written=2 grade_id="gd_convergence"
# Model answer: the MSE is a convex quadratic with the constant Hessian
# $H = \frac2N X_b^\top X_b$, so every step shrinks the error along each eigenvector of $H$
# by the factor $|1 - \eta\lambda_i|$. The gap to the optimum therefore falls
# geometrically, a roughly straight (then flattening) line on the log scale, the slow
# directions being those of small eigenvalues (ill-conditioning). Gradient descent
# converges when $\eta < 2/\lambda_{\max}(H)$; standardized features keep $\lambda_{\max}$
# small enough for $\eta = 0.1$. A much larger $\eta$ makes $|1 - \eta\lambda_{\max}| > 1$:
# the loss oscillates and grows without bound.
#
# Marking guide: 1 point for the shape of the curve explained by the quadratic/convex loss
# (geometric decrease, slowed by small eigenvalues or poor conditioning); 1 point for the
# divergence of a large step with the bound $\eta < 2/\lambda_{\max}$ (or an equivalent
# statement in terms of the curvature).

# %% [markdown]
# ## 2. Logistic regression
#
# For labels $y \in \{0, 1\}$ the model outputs a *logit* $z = X_b w$ and the probability
# $p = \sigma(z) = 1/(1 + e^{-z})$. Computed literally, $e^{-z}$ overflows for $z < -709$.
# A stable sigmoid uses $e^{-|z|}$, which never overflows:
#
# $$ \sigma(z) = \frac{1}{1 + e^{-|z|}} \text{ for } z \ge 0, \qquad \sigma(z) = \frac{e^{-|z|}}{1 + e^{-|z|}} \text{ for } z < 0 .$$
#
# The binary cross-entropy $-y \log p - (1-y) \log(1-p)$ also loses precision when $p$
# rounds to 0 or 1. Written in terms of the logit it becomes
#
# $$ \ell(z, y) = \max(z, 0) - z y + \log\left(1 + e^{-|z|}\right), \qquad \frac{\partial \ell}{\partial z} = \sigma(z) - y ,$$
#
# and the loss averages $\ell$ over the batch (so the gradient carries a factor $\frac1N$).
#
# **What the grader checks.** It calls `sigmoid` and `bce_with_logits` on logits of
# $\pm 1000$. Intermediate results must not overflow either: the grader sees an overflow
# (or an invalid value such as `inf / inf`) even when warnings are silenced with
# `np.errstate`, `np.seterr` or `warnings`, so only a formula that never overflows passes.
# `fit_logistic` records the loss before each step, as `fit_linear_gd` does.

# %% solution="reference.activations:sigmoid" grade_id="sigmoid"
# filled in by the build

# %% solution="reference.losses:bce_with_logits" grade_id="bce"
# filled in by the build

# %%
big = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
with np.errstate(over="raise", invalid="raise"):  # any overflow here is an error
    assert np.allclose(sigmoid(big), torch.sigmoid(torch.tensor(big)).numpy())
    loss, _ = bce_with_logits(big, np.array([1.0, 0.0, 1.0, 1.0, 0.0]))
assert np.isfinite(loss), "the BCE must be finite for logits of +-1000"
z, labels = rng.normal(size=6), rng.integers(0, 2, size=6).astype(float)
_, dz = bce_with_logits(z, labels)
numeric = numerical_gradient(lambda v: bce_with_logits(v, labels)[0], z.copy())
assert rel_error(dz, numeric) < 1e-7, "the BCE gradient disagrees with central differences"
print("sigmoid and BCE: OK")

# %% solution="reference.linear:fit_logistic,predict_proba,predict" grade_id="logistic"
# filled in by the build

# %% [markdown]
# A picture first: two Gaussian clouds in the plane, and the line where the fitted model
# is undecided, $p = 0.5$, i.e. $z = 0$.

# %%
points = np.vstack([rng.normal([-1, -1], 1.0, size=(100, 2)), rng.normal([1.5, 1], 1.0, size=(100, 2))])
classes = np.repeat([0.0, 1.0], 100)
w_2d, history_2d = fit_logistic(points, classes)
xx, yy = np.meshgrid(np.linspace(-4, 4.5, 200), np.linspace(-4, 4, 200))
proba = predict_proba(np.c_[xx.ravel(), yy.ravel()], w_2d).reshape(xx.shape)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
left.contourf(xx, yy, proba, levels=20, cmap="RdBu_r", alpha=0.6)
left.contour(xx, yy, proba, levels=[0.5], colors="k")
left.scatter(*points.T, c=classes, cmap="RdBu_r", edgecolors="k", s=15)
left.set(title="Decision boundary p = 0.5")
right.plot(history_2d)
right.set(xlabel="step", ylabel="training BCE", title="Loss curve")
plt.show()

# %% [markdown]
# Now real data: 569 breast-tissue samples with 30 measurements each, split into a training,
# a validation and a test part (60/20/20). Nothing here is tuned, so the validation part
# only shows how well the model generalizes; the test part is for the grader.
#
# **What the grader checks.** It trains your `fit_logistic` with its default arguments and
# computes the predictions of the weights it returns itself. The data set is public, so a
# program could look a patient's label up instead of learning it: the grader therefore
# trains and tests on a secretly transformed copy of the data (every patient's 30
# measurements rotated together, plus a little noise), which a model learns as well as the
# original and no lookup can match. It requires a test accuracy of at least
# **{{ thresholds.breast_cancer_accuracy }}**.

# %%
X_train, y_train, X_val, y_val, X_test, y_test = data.breast_cancer()
w_cancer, _ = fit_logistic(X_train, y_train)
print(f"validation accuracy: {np.mean(predict(X_val, w_cancer) == y_val):.3f} "
      f"(the grader requires {{ thresholds.breast_cancer_accuracy }} on its transformed test part)")

# %% [markdown]
# ## 3. The same models in PyTorch
#
# `nn.Linear` holds $w$ and $b$; autograd computes the gradients you derived by hand, and
# `torch.optim.SGD` applies $w \leftarrow w - \eta \nabla_w L$. Starting from zero weights
# in float64, the PyTorch model must follow the NumPy one step for step: the grader compares
# the loss histories (the loss before each step) to a relative $10^{-6}$, which float32
# arithmetic does not reach, so keep the model and the data in float64. Use
# `nn.functional.mse_loss` and `nn.functional.binary_cross_entropy_with_logits`, and move
# the data to the model's device so that the same code runs on a GPU.

# %% solution="reference.torch_linear:LinearModel,train_gd" grade_id="torch"
# filled in by the build

# %%
model = LinearModel(X_train.shape[1])
torch_history = train_gd(model, X_train, y_train, loss="bce", lr=0.5, epochs=300)
with torch.no_grad():
    torch_proba = torch.sigmoid(model(torch.as_tensor(X_val))).numpy()
gap = np.max(np.abs(torch_proba - predict_proba(X_val, w_cancer)))
print(f"largest difference between the NumPy and PyTorch probabilities: {gap:.1e}")
assert gap < 1e-6, "the PyTorch model should match the NumPy one"
