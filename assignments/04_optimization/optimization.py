# %% [markdown]
# # Assignment 04: Optimization
#
# Training a network means minimizing a loss $L(w)$ over millions of weights with nothing
# but (noisy) gradients. Plain gradient descent, $w \leftarrow w - \eta \nabla L$, takes the
# same step size in every direction; on a long narrow valley it zig-zags across the steep
# walls while crawling along the flat floor. This assignment builds the standard remedies:
#
# 1. **update rules** that remember past gradients: momentum, Nesterov momentum, RMSProp and
#    Adam, each as a pure function that the training loop calls for every parameter;
# 2. **learning-rate schedules** that shrink the step as training goes on;
# 3. **second-order methods** that use curvature: a backtracking line search, Newton's
#    method and L-BFGS.
#
# Every update rule has the form
#
# ```python
# new_w, state = rule(w, dw, state, lr=..., ...)
# ```
#
# `state` is whatever the rule remembers between steps (`None` before the first step), and
# it is *returned*, never modified in place. Neither are `w` and `dw`: return `w - lr * dw`,
# never `w -= lr * dw`, and build the new state from new arrays (`momentum * v - lr * dw`,
# not `v *= momentum`). The grader checks that every call leaves its arguments as they were.
# The arguments carry the names and defaults of `torch.optim`, so each rule can be checked
# against PyTorch step by step.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions or change their arguments. The cells after each answer check your
# work in seconds; run them. Before you hand in, run `course check optimization.ipynb` for
# the public tests. Hidden tests use other inputs, so make your code correct, not only
# passing.

# %% tags=["setup"]
import numpy as np
import torch

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, rel_error

# %%
import matplotlib.pyplot as plt
import scipy.optimize
from tqdm.auto import tqdm

from autograder.student.torchcheck import rule_trajectory, torch_trajectory

rng = np.random.default_rng(0)
w_start = rng.normal(size=(3, 4))
fixed_gradients = [rng.normal(size=(3, 4)) for _ in range(10)]

# %% [markdown]
# ## 1. Update rules
#
# ### Stochastic gradient descent
#
# $$ w \leftarrow w - \eta \, \nabla_w L .$$
#
# SGD remembers nothing, so it returns `None` as its state.

# %% solution="reference.optim:sgd" grade_id="sgd"
# filled in by the build

# %%
mine, _ = rule_trajectory(sgd, w_start, fixed_gradients, lr=0.1)
theirs, _ = torch_trajectory(torch.optim.SGD, w_start, fixed_gradients, lr=0.1)
assert rel_error(mine, theirs) < 1e-6, "sgd should match torch.optim.SGD"
print("sgd: OK")

# %% [markdown]
# ### Momentum
#
# A heavy ball rolling down the loss keeps a **velocity** $v$ (zero at the start) that
# accumulates past gradients; the momentum coefficient $\mu \in [0, 1)$ is its friction:
#
# $$ v \leftarrow \mu v - \eta \nabla_w L, \qquad w \leftarrow w + v . $$
#
# Along the valley floor the gradients agree from step to step and the velocity grows to
# about $\eta / (1 - \mu)$ times the gradient (ten times SGD's step for $\mu = 0.9$); across
# the valley they alternate in sign and cancel.
#
# `torch.optim.SGD(momentum=mu)` writes the same method differently. It keeps a buffer of
# *gradients* and applies the learning rate afterwards:
#
# $$ b \leftarrow \mu b + \nabla_w L, \qquad w \leftarrow w - \eta \, b . $$
#
# Multiply the buffer's recursion by $-\eta$: $-\eta b$ obeys exactly the velocity's
# recursion, and both start at zero, so $v = -\eta b$ at every step and the iterates are
# identical as long as $\eta$ stays fixed. (With a learning-rate schedule the two differ
# slightly: the velocity keeps the old rates baked in, the buffer does not.) Implement the
# velocity form; the state is `{"velocity": v}`.

# %% solution="reference.optim:sgd_momentum" grade_id="momentum"
# filled in by the build

# %%
mine, memory = rule_trajectory(sgd_momentum, w_start, fixed_gradients, lr=0.1, momentum=0.9)
theirs, torch_memory = torch_trajectory(torch.optim.SGD, w_start, fixed_gradients, lr=0.1, momentum=0.9)
print(f"largest difference from torch over 10 steps: {np.max(np.abs(mine - theirs)):.1e}")
assert rel_error(mine, theirs) < 1e-6, "sgd_momentum should follow torch.optim.SGD(momentum=0.9)"
assert rel_error(memory["velocity"], -0.1 * torch_memory["momentum_buffer"].numpy()) < 1e-6, \
    "the velocity should be -lr times torch's momentum buffer"
print("momentum: OK, and v = -lr * torch's buffer")

# %% [markdown]
# ### Nesterov momentum
#
# Nesterov's idea: the velocity is going to carry us to $\theta + \mu v$ anyway, so take the
# gradient *there*, at the look-ahead point, and correct earlier when we overshoot:
#
# $$ v \leftarrow \mu v - \eta \nabla L(\theta + \mu v), \qquad \theta \leftarrow \theta + v . $$
#
# An update rule only receives the gradient at the point it stores. So store the look-ahead
# point $w = \theta + \mu v$ instead of $\theta$. Substituting, with $v'$ the new velocity,
#
# $$ v' = \mu v - \eta \nabla L(w), \qquad
#    w' = \theta' + \mu v' = w - \mu v + v' + \mu v' = w + \mu v' - \eta \nabla L(w) . $$
#
# The gradient is the one at the stored point; nothing else is needed. This is also what
# `torch.optim.SGD(momentum=mu, nesterov=True)` computes, with $v = -\eta b$ as before. When
# training stops, $w$ is the look-ahead point, which is as good a final answer as $\theta$.

# %% solution="reference.optim:sgd_nesterov" grade_id="nesterov"
# filled in by the build

# %%
curvatures = np.array([1.0, 25.0])  # f(w) = (w_0^2 + 25 w_1^2) / 2, gradient curvatures * w
theta, velocity = np.array([-4.5, 1.5]), np.zeros(2)
stored, memory = theta.copy(), None
for _ in range(30):
    velocity = 0.8 * velocity - 0.05 * curvatures * (theta + 0.8 * velocity)  # gradient at the look-ahead
    theta = theta + velocity
    stored, memory = sgd_nesterov(stored, curvatures * stored, memory, lr=0.05, momentum=0.8)
    assert rel_error(stored, theta + 0.8 * velocity) < 1e-8, "the rule should store theta + momentum * v"
mine, _ = rule_trajectory(sgd_nesterov, w_start, fixed_gradients, lr=0.1, momentum=0.9)
theirs, _ = torch_trajectory(torch.optim.SGD, w_start, fixed_gradients, lr=0.1, momentum=0.9, nesterov=True)
assert rel_error(mine, theirs) < 1e-6, "sgd_nesterov should follow torch.optim.SGD(nesterov=True)"
print("Nesterov: OK (look-ahead form and torch agree)")

# %% [markdown]
# ### RMSProp
#
# Momentum fixes the direction; RMSProp fixes the *scale*. It keeps a running average of
# the squared gradient of every weight (zero at the start) and divides the step by its
# root, so that steep and flat directions move at similar speeds:
#
# $$ s \leftarrow \alpha s + (1 - \alpha) (\nabla_w L)^2, \qquad
#    w \leftarrow w - \eta \, \frac{\nabla_w L}{\sqrt{s} + \epsilon} . $$
#
# Everything is elementwise. The $\epsilon$ only prevents a division by zero. It sits
# *outside* the root here and in `torch.optim.RMSprop`; some texts write
# $\nabla L / \sqrt{s + \epsilon}$ instead. The two agree while $s \gg \epsilon$ and part
# once $s$ is as small as $\epsilon$: with $\alpha = 0.99$ and $\epsilon = 10^{-8}$, for
# gradients below about $10^{-3}$, as the next check shows. Put $\epsilon$ where torch does:
# the tests compare with `torch.optim.RMSprop` on gradients that small. The state is
# `{"square_avg": s}`, torch's name.

# %% solution="reference.optim:rmsprop" grade_id="rmsprop"
# filled in by the build

# %%
mine, memory = rule_trajectory(rmsprop, w_start, fixed_gradients, lr=0.01, alpha=0.9)
theirs, torch_memory = torch_trajectory(torch.optim.RMSprop, w_start, fixed_gradients, lr=0.01, alpha=0.9)
assert rel_error(mine, theirs) < 1e-6, "rmsprop should follow torch.optim.RMSprop"
sizes = np.array([1.0, 0.1, 1e-4, 1e-6])
outside, memory = rmsprop(np.zeros(4), sizes, lr=0.01)
inside = -0.01 * sizes / np.sqrt(memory["square_avg"] + 1e-8)
for g, a, b in zip(sizes, outside, inside):
    print(f"gradient {g:7.0e}: step {a:+.6f} with eps outside the root, {b:+.6f} inside")

# %% [markdown]
# ### Adam
#
# Adam combines both: a running mean $m$ of the gradient (momentum) and a running mean $v$
# of its square (RMSProp), both zero at the start. Because they start at zero, they are
# biased towards zero during the first steps, by the factors $1 - \beta_1^t$ and
# $1 - \beta_2^t$ (count the steps $t$ from 1). **Bias correction** divides them out:
#
# $$ m \leftarrow \beta_1 m + (1 - \beta_1) \nabla_w L, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) (\nabla_w L)^2, $$
# $$ \hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
#    w \leftarrow w - \eta \, \frac{\hat m}{\sqrt{\hat v} + \epsilon} . $$
#
# On the first step $\hat m = g$ and $\hat v = g^2$, so every weight moves by $\eta$,
# whatever the size of its gradient. Without the correction the first step would be
# $\eta (1 - \beta_1) g / (\sqrt{1 - \beta_2} |g|) \approx 3 \eta$, and later steps would be
# distorted for hundreds of iterations. The state is
# `{"step": t, "exp_avg": m, "exp_avg_sq": v}`, torch's names.
#
# Where $\epsilon$ sits matters here too: the Adam paper's "efficient" version folds the
# corrections into the learning rate,
# $\eta_t = \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)$ and $w \leftarrow w - \eta_t m / (\sqrt v + \hat\epsilon)$,
# which is the formula above exactly when $\hat\epsilon = \epsilon \sqrt{1 - \beta_2^t}$.
# Implement the formula above, $\epsilon$ added to $\sqrt{\hat v}$ as in `torch.optim.Adam`
# (or the efficient form with the rescaled $\hat\epsilon$): the tests compare with torch with
# an $\epsilon$ large enough to tell the forms apart.

# %% solution="reference.optim:adam" grade_id="adam"
# filled in by the build

# %%
mine, memory = rule_trajectory(adam, w_start, fixed_gradients, lr=0.01, eps=1e-3)
theirs, _ = torch_trajectory(torch.optim.Adam, w_start, fixed_gradients, lr=0.01, eps=1e-3)
assert rel_error(mine, theirs) < 1e-6, "adam should follow torch.optim.Adam"
assert memory["step"] == 10, "the state should count the steps taken"
first_step, _ = adam(np.zeros(3), np.array([1e-3, -1.0, 40.0]), lr=0.1)
assert np.allclose(first_step, [-0.1, 0.1, -0.1], rtol=1e-4), "the first step should move every weight by lr"
efficient, m, v = w_start.copy(), 0.0, 0.0
for t, g in enumerate(fixed_gradients, start=1):
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g ** 2
    efficient = efficient - 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-3 * np.sqrt(1 - 0.999 ** t))
assert rel_error(mine[-1], efficient) < 1e-8, "the paper's efficient form with a rescaled eps is the same rule"
print("adam: OK")

# %% [markdown]
# ### On a narrow valley
#
# The function $f(w) = \frac12 (w_0^2 + 25 w_1^2)$ is 25 times steeper across than along.
# SGD's learning rate is capped by the steep direction (it diverges for $\eta > 2/25$), so it
# crawls along the flat one. Momentum builds up speed along the valley and oscillates
# across it; Nesterov's look-ahead damps the oscillation; RMSProp and Adam rescale each
# coordinate and head almost diagonally to the minimum.

# %%
def valley(w):
    return 0.5 * (w[0] ** 2 + 25 * w[1] ** 2)


rules = {"SGD": (sgd, dict(lr=0.05)),
         "momentum": (sgd_momentum, dict(lr=0.05, momentum=0.8)),
         "Nesterov": (sgd_nesterov, dict(lr=0.05, momentum=0.8)),
         "RMSProp": (rmsprop, dict(lr=0.15, alpha=0.9)),
         "Adam": (adam, dict(lr=0.2, betas=(0.9, 0.99)))}
xx, yy = np.meshgrid(np.linspace(-5, 1.5, 200), np.linspace(-2, 2, 200))
fig, axes = plt.subplots(1, len(rules), figsize=(20, 3.6), sharey=True)
for ax, (name, (rule, hyper)) in zip(axes, rules.items()):
    point, memory, path = np.array([-4.5, 1.5]), None, []
    for _ in range(40):
        path.append(point)
        point, memory = rule(point, curvatures * point, memory, **hyper)
    ax.contour(xx, yy, valley(np.stack([xx, yy])), levels=np.logspace(-2, 2.5, 12), cmap="viridis", alpha=0.5)
    ax.plot(*np.array(path).T, "o-", ms=3, color="C3")
    ax.plot(0, 0, "k*", ms=10)
    ax.set(title=f"{name}: f = {valley(point):.1e}", xlim=(-5, 1.5), ylim=(-2, 2))
fig.suptitle("40 steps from (-4.5, 1.5) on f(w) = (w_0^2 + 25 w_1^2) / 2", y=1.02)
plt.show()

# %% [markdown]
# **Written question (2 points).** Read the five panels. Why does SGD crawl along the
# valley floor, what does momentum change, and why do RMSProp and Adam head almost
# diagonally to the minimum?

# %% [markdown] written=2 grade_id="valley_paths"
# Model answer: the gradient is $(w_0, 25 w_1)$. One learning rate serves both directions
# and must stay below $2/25$ for the steep one, so along the flat direction each step only
# multiplies $w_0$ by $1 - \eta = 0.95$: SGD makes fast progress across the valley and
# crawls along it. Momentum adds up the consistent gradients along the valley (effective
# step about $\eta / (1 - \beta)$) while the alternating ones across it partly cancel, so it
# travels faster along the floor but overshoots and oscillates across it; Nesterov's
# look-ahead gradient corrects the overshoot earlier. RMSProp and Adam divide each
# coordinate's step by the root mean square of its recent gradients, which removes the
# factor 25: both coordinates move by about $\eta$ per step, like the sign of the gradient,
# so the path is nearly diagonal regardless of the curvature of each direction.
#
# Marking guide: 1 point for the step size capped by the steep direction (slow progress on
# the flat one), with momentum's accumulation; 1 point for the per-coordinate rescaling of
# RMSProp and Adam that equalizes the two directions.

# %% [markdown]
# ### Training a network
#
# Now the two-layer network of assignment 03 (affine, ReLU, affine, softmax cross-entropy)
# on the handwritten digits, 200 mini-batches of 64. Here PyTorch computes the gradients
# so that only your update rules are at work.
#
# **What the grader checks.** It runs the same experiment with its own copy of the network
# and your `sgd_momentum` and `adam` (the learning rates below), on a secretly transformed
# copy of the digits (the 64 pixel values of every image rotated together, plus a little
# noise, so that no update rule can bring weights learned elsewhere): after 200 steps, the
# training loss with momentum must be at least **{{ thresholds.momentum_speedup }}** times
# lower than plain SGD's, and with Adam at least **{{ thresholds.adam_speedup }}** times lower
# (plain SGD run with a correct `sgd`, so that a slow `sgd` cannot make the others look fast).

# %%
X_digits, y_digits, *_ = data.digits()
names = ["W1", "b1", "W2", "b2"]


def digits_loss(params, rows):
    """Cross-entropy of the network on the given rows, and its gradients as NumPy arrays."""
    tensors = [torch.tensor(params[k], requires_grad=True) for k in names]
    W1, b1, W2, b2 = tensors
    logits = torch.relu(torch.tensor(X_digits[rows]) @ W1 + b1) @ W2 + b2
    value = torch.nn.functional.cross_entropy(logits, torch.tensor(y_digits[rows]))
    return value.item(), dict(zip(names, (g.numpy() for g in torch.autograd.grad(value, tensors))))


def train_digits(rule, steps=200, **hyper):
    init = np.random.default_rng(0)
    params = {"W1": 1e-2 * init.standard_normal((64, 50)), "b1": np.zeros(50),
              "W2": 1e-2 * init.standard_normal((50, 10)), "b2": np.zeros(10)}
    memories, losses = dict.fromkeys(names), []
    for _ in tqdm(range(steps), desc=rule.__name__, leave=False):
        value, grads = digits_loss(params, init.choice(len(X_digits), 64, replace=False))
        losses.append(value)
        for k in names:
            params[k], memories[k] = rule(params[k], grads[k], memories[k], **hyper)
    return digits_loss(params, np.arange(len(X_digits)))[0], losses


curves = {"SGD (lr 0.1)": train_digits(sgd, lr=0.1),
          "momentum (lr 0.1)": train_digits(sgd_momentum, lr=0.1),
          "Nesterov (lr 0.1)": train_digits(sgd_nesterov, lr=0.1),
          "RMSProp (lr 1e-3)": train_digits(rmsprop, lr=1e-3),
          "Adam (lr 1e-2)": train_digits(adam, lr=1e-2)}
for label, (final, losses) in curves.items():
    plt.plot(losses, label=f"{label}: {final:.3f}")
    print(f"{label:20s} training loss after 200 steps: {final:.3f}")
plt.gca().set(xlabel="step", ylabel="mini-batch loss", yscale="log", title="Two-layer net on digits")
plt.legend()
plt.show()

# %% [markdown]
# ## 2. Learning-rate schedules
#
# Noisy mini-batch gradients never vanish, so with a fixed learning rate SGD keeps jumping
# around the minimum. Shrinking the rate over the epochs $e = 0, 1, 2, \dots$ lets it
# settle. Each schedule below starts at the initial rate $\eta_0$ (`lr`):
#
# | schedule | rate during epoch $e$ | PyTorch |
# | --- | --- | --- |
# | inverse time | $\eta_0 / (1 + k e)$ | `LambdaLR` |
# | step decay | $\eta_0 \, \gamma^{\lfloor e / s \rfloor}$ | `StepLR(step_size=s, gamma)` |
# | exponential | $\eta_0 \, \gamma^{e}$ | `ExponentialLR(gamma)` |
# | inverse square root | $\eta_0 / \sqrt{e + 1}$ | `LambdaLR` |
#
# The last is the classic $1/\sqrt t$ rate with $t = e + 1$ counted from 1. Write them as
# pure functions of the epoch: no counters, no state.

# %% solution="reference.schedules:inverse_time_decay,step_decay,exponential_decay,inverse_sqrt_decay" grade_id="schedules"
# filled in by the build

# %%
def torch_rates(make_scheduler, n_epochs=30, initial=0.1):
    torch_optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=initial)
    scheduler, rates = make_scheduler(torch_optimizer), []
    while len(rates) < n_epochs:
        rates.append(torch_optimizer.param_groups[0]["lr"])
        torch_optimizer.step()
        scheduler.step()
    return np.array(rates)


epochs = np.arange(30)
schedules = {
    "inverse time, k = 0.2": ([inverse_time_decay(e, 0.1, 0.2) for e in epochs],
                              lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.2 * e))),
    "step, s = 10, gamma = 0.5": ([step_decay(e, 0.1, 10, 0.5) for e in epochs],
                                  lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5)),
    "exponential, gamma = 0.9": ([exponential_decay(e, 0.1, 0.9) for e in epochs],
                                 lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    "inverse square root": ([inverse_sqrt_decay(e, 0.1) for e in epochs],
                            lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: (e + 1) ** -0.5)),
}
for label, (rates, make_scheduler) in schedules.items():
    assert rel_error(np.array(rates, dtype=float), torch_rates(make_scheduler)) < 1e-9, f"{label} disagrees with torch"
    plt.plot(epochs, rates, label=label)
plt.gca().set(xlabel="epoch", ylabel="learning rate", title="Schedules from lr = 0.1")
plt.legend()
plt.show()

# %% [markdown]
# ## 3. Second-order methods
#
# Near a minimum a smooth function looks like its second-order Taylor expansion
# $f(x + d) \approx f(x) + g^\top d + \frac12 d^\top H d$ with gradient $g$ and Hessian $H$.
# Minimizing the expansion gives **Newton's step** $d = -H^{-1} g$: it rescales every
# direction by its curvature, exactly what the narrow valley needed, and on a quadratic it
# lands on the minimum in one step.
#
# Our test problem is L2-regularized logistic regression, which is convex with a Hessian
# we can write down. With $p = \sigma(X w)$ (a column of ones in $X$ plays the bias),
#
# $$ f(w) = \frac1N \sum_i \Big[\log\big(1 + e^{z_i}\big) - y_i z_i\Big] + \frac\lambda2 \lVert w \rVert^2,
#    \quad z = X w, $$
# $$ \nabla f = \frac1N X^\top (p - y) + \lambda w, \qquad
#    H = \frac1N X^\top \operatorname{diag}\big(p (1 - p)\big) X + \lambda I . $$
#
# `logistic_objective(X, y, reg)` returns two functions, as `scipy.optimize` expects them:
# `fun(w) -> (value, grad)` and `hess(w) -> H`. Compute $\log(1 + e^{z})$ as
# `np.logaddexp(0, z)` and $\sigma(z)$ as `np.exp(-np.logaddexp(0, -z))`, which never overflow.
# The grader evaluates `fun` and `hess` at logits of $\pm 800$. Intermediate results must not
# overflow; the grader sees an overflow (or an invalid value) even when warnings are
# silenced with `np.errstate`, `np.seterr` or `warnings`.

# %% solution="reference.second_order:logistic_objective" grade_id="logistic_objective"
# filled in by the build

# %%
X_cancer, y_cancer, *_ = data.breast_cancer()
X_cancer = np.hstack([np.ones((len(X_cancer), 1)), X_cancer])
X_small, y_small, w_probe = rng.normal(size=(15, 3)), rng.integers(0, 2, size=15).astype(float), rng.normal(size=3)
fun_small, hess_small = logistic_objective(X_small, y_small, reg=0.1)
assert rel_error(fun_small(w_probe)[1], numerical_gradient(lambda u: fun_small(u)[0], w_probe.copy())) < 1e-6
numeric_hessian = np.stack([numerical_gradient(lambda u: fun_small(u)[1][i], w_probe.copy()) for i in range(3)])
assert rel_error(hess_small(w_probe), numeric_hessian) < 1e-5, "the Hessian disagrees with central differences"
print("logistic objective: gradient and Hessian agree with central differences")

# %% [markdown]
# ### Backtracking line search
#
# A full Newton (or any) step can overshoot when the quadratic model is poor. A line search
# picks the step length $t$ along a descent direction $d$ (one with $g^\top d < 0$). The
# **Armijo condition** asks for a decrease of at least a fraction $c$ of what the slope
# promises,
#
# $$ f(x + t d) \le f(x) + c \, t \, g^\top d , $$
#
# and **backtracking** tries $t = \alpha, \alpha\rho, \alpha\rho^2, \dots$ and keeps the
# first that passes. For small enough $t$ it always passes, because $c < 1$.

# %% solution="reference.second_order:backtracking_line_search" grade_id="line_search"
# filled in by the build

# %%
fun, hess = logistic_objective(X_cancer, y_cancer, reg=1e-2)
x_zero = np.zeros(X_cancer.shape[1])
value, grad = fun(x_zero)
slack = 1e-12 * abs(value)  # rounding: your function may compute the same condition in another order
step = backtracking_line_search(fun, x_zero, -grad, alpha=100.0)
assert fun(x_zero - step * grad)[0] <= value - 1e-4 * step * (grad @ grad) + slack, "the Armijo condition must hold"
assert step >= 100.0 or fun(x_zero - 2 * step * grad)[0] > value - 2e-4 * step * (grad @ grad) - slack, \
    "the step should be the largest one tried: 2 * step, tried before it, meets the condition too"
print(f"step {step:g} from alpha = 100: f drops from {value:.4f} to {fun(x_zero - step * grad)[0]:.4f}")

# %% [markdown]
# ### Newton's method
#
# Solve $H d = -g$ (with `np.linalg.solve`, never an explicit inverse), take the step length
# from your line search with its default arguments, `backtracking_line_search(fun, x, d)`,
# and repeat until the largest gradient entry is at most the tolerance (checked before every
# iteration) or `max_iter` iterations are done. `newton` returns `(x, history)`, where
# `history` is the list of function values: $f(x_0)$ first, then the value after every
# iteration, so $k$ iterations give $k + 1$ values (values, not the iterates $x$).
# Near the optimum the line search accepts $t = 1$ and the error roughly squares at every
# step: a handful of iterations reach machine precision.

# %% solution="reference.second_order:newton" grade_id="newton"
# filled in by the build

# %% [markdown]
# ### L-BFGS
#
# Newton needs the $D \times D$ Hessian and a solve with it, which is out of the question
# for a network's millions of weights. Quasi-Newton methods build an approximation $H_k$ of
# the *inverse* Hessian from what the iterations reveal: each step $s_i = x_{i+1} - x_i$ and
# the change of gradient $y_i = g_{i+1} - g_i$ it caused satisfy $y_i \approx \nabla^2 f \, s_i$.
# BFGS folds every pair into a dense matrix; **L-BFGS** keeps only the last $m$ pairs and
# computes $H_k g$ directly by the **two-loop recursion** (with $\rho_i = 1 / y_i^\top s_i$):
#
# ```
# q = g
# for i = newest, ..., oldest:   a_i = rho_i s_i.q;   q = q - a_i y_i
# r = gamma q,  gamma = s.y / y.y of the newest pair
# for i = oldest, ..., newest:   b = rho_i y_i.r;     r = r + (a_i - b) s_i
# direction = -r
# ```
#
# The order matters: the first loop undoes the newest update first, the second loop
# re-applies them from the oldest. The result equals $-H g$ for the matrix that $m$ BFGS
# updates of $\gamma I$ would build, at the cost of $O(mD)$. Store a pair only when
# $s^\top y > 10^{-10}$, so that $H$ stays positive definite. `lbfgs` takes its steps and
# stops as `newton` does, and returns `(x, history)` with the same `history`: $f(x_0)$, then
# the value after every iteration.

# %% solution="reference.second_order:lbfgs_direction,lbfgs" grade_id="lbfgs"
# filled in by the build

# %%
x_newton, newton_history = newton(fun, hess, x_zero)
x_lbfgs, lbfgs_history = lbfgs(fun, x_zero, tolerance_grad=1e-8, max_iter=200)
scipy_result = scipy.optimize.minimize(fun, x_zero, jac=True, method="L-BFGS-B",
                                       options={"gtol": 1e-10, "ftol": 1e-16})
print(f"Newton: {len(newton_history) - 1} iterations, L-BFGS: {len(lbfgs_history) - 1}, scipy: {scipy_result.nit}")
assert len(newton_history) <= 12, "Newton's method should converge in a handful of steps"
assert np.max(np.abs(x_newton - scipy_result.x)) < 1e-5, "Newton should reach scipy's optimum"
assert np.max(np.abs(x_lbfgs - scipy_result.x)) < 1e-5, "L-BFGS should reach scipy's optimum"

gd_history, x_gd = [], x_zero.copy()
for _ in range(200):
    value, grad = fun(x_gd)
    gd_history.append(value)
    x_gd = x_gd - 1.0 * grad
best = min(scipy_result.fun, newton_history[-1], lbfgs_history[-1])
for label, history in [("gradient descent, lr 1", gd_history), ("Newton", newton_history), ("L-BFGS", lbfgs_history)]:
    plt.semilogy(np.maximum(np.array(history) - best, 1e-16), "o-", ms=3, label=label)
plt.gca().set(xlabel="iteration", ylabel="f - f*", title="Logistic regression on breast cancer")
plt.legend()
plt.show()
