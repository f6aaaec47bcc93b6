# %% [markdown]
# # Assignment 10: Recurrent networks
#
# A feed-forward network sees its whole input at once. A **recurrent** network reads a
# sequence one step at a time and carries a *hidden state* $h_t$ from each step to the
# next, a summary of everything it has read so far. The same weights act at every step,
# so one network handles sequences of any length:
#
# $$ h_t = \tanh\big(x_t W_x + h_{t-1} W_h + b\big), \qquad t = 1, \dots, T . $$
#
# Unrolled over time, the recurrence is a very deep feed-forward network whose layers
# share their weights, and it is trained the same way: by backpropagation, here called
# **backpropagation through time** (BPTT). Depth brings the problem of this assignment:
# the gradient that reaches an early step is a product of one Jacobian per step, and it
# shrinks or grows exponentially with the distance. You will measure that, tame the
# explosion by **clipping**, and build the **LSTM**, whose additive cell state lets the
# gradient travel far. Then the same ideas in PyTorch: an LSTM that classifies digits read
# row by row (*many-to-one*), and one that predicts a signal's next value at every step
# (*many-to-many*), trained on long sequences by **truncated** BPTT.
#
# **Conventions.** Sequences are batch-first: `x` of shape (N, T, D) holds N sequences of
# T steps of D features, and the hidden states `h` of shape (N, T, H) hold the state after
# every step. Weights act on the right, as in the affine layer of assignment 03: `Wx` is
# (D, H), `Wh` is (H, H). Layers are pairs `forward(...) -> (out, cache)` and
# `backward(dout, cache) -> (dx, *dparams)`. Every function returns new arrays and leaves its
# arguments as they were.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check rnn.ipynb` for the public tests. Hidden tests use other inputs, so make
# your code correct, not only passing.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

# %%
import matplotlib.pyplot as plt

from autograder.student import data, generated
from autograder.student.gradcheck import numerical_vjps
from autograder.student.torchcheck import recurrent_weights

rng = np.random.default_rng(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"PyTorch parts train on {device}")


def check_backward(forward, inputs, grads, dout, names):
    """Compare each of ``grads`` with central differences of ``forward(*inputs)`` (one array)
    in the direction ``dout``; the error is measured against the largest entry."""
    for name, grad, numeric in zip(names, grads, numerical_vjps(forward, inputs, dout)):
        assert np.shape(grad) == numeric.shape, f"{name} should have shape {numeric.shape}"
        error = np.max(np.abs(grad - numeric)) / np.max(np.abs(numeric))
        print(f"{name}: relative error {error:.1e}")
        assert error < 1e-6, f"{name} disagrees with central differences"


# %% [markdown]
# ## 1. One step of the vanilla RNN
#
# One step maps the input $x_t$ (N, D) and the previous state $h_{t-1}$ (N, H) to the next
# state:
#
# $$ a = x_t W_x + h_{t-1} W_h + b, \qquad h_t = \tanh(a) . $$
#
# For the backward pass, `dh_next` $= \partial L / \partial h_t$. Since
# $\tanh'(a) = 1 - \tanh^2(a) = 1 - h_t^2$, the gradient of the pre-activation is
# $\mathrm{d}a = \mathrm{d}h_t \odot (1 - h_t^2)$, and the rest is the affine layer twice:
#
# $$ \mathrm{d}x_t = \mathrm{d}a\, W_x^\top, \quad \mathrm{d}h_{t-1} = \mathrm{d}a\, W_h^\top,
#    \quad \mathrm{d}W_x = x_t^\top \mathrm{d}a, \quad \mathrm{d}W_h = h_{t-1}^\top \mathrm{d}a,
#    \quad \mathrm{d}b = \textstyle\sum_n \mathrm{d}a_{n,:} . $$
#
# Keep in the cache what the backward pass needs; $h_t$ itself gives $\tanh'$ for free.

# %% solution="reference.rnn:rnn_step_forward,rnn_step_backward" grade_id="rnn_step"
# filled in by the build

# %% [markdown]
# PyTorch's `nn.RNNCell` computes the same step, with two differences of bookkeeping: it
# stores its weights transposed, `weight_ih` (H, D) and `weight_hh` (H, H), and it has two
# biases, `bias_ih` and `bias_hh`, which only ever appear as their sum.
# `recurrent_weights(layer)` (from `autograder.student.torchcheck`) converts them to our
# convention.

# %%
x, h_prev, dh = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
Wx, Wh, b = 0.5 * rng.normal(size=(4, 5)), 0.5 * rng.normal(size=(5, 5)), 0.5 * rng.normal(size=5)
h_next, cache = rnn_step_forward(x, h_prev, Wx, Wh, b)
check_backward(lambda *args: rnn_step_forward(*args)[0], [x, h_prev, Wx, Wh, b],
               rnn_step_backward(dh, cache), dh, ["dx", "dh_prev", "dWx", "dWh", "db"])

cell = nn.RNNCell(4, 5, dtype=torch.float64)
expected = cell(torch.from_numpy(x), torch.from_numpy(h_prev)).detach().numpy()
assert np.allclose(rnn_step_forward(x, h_prev, *recurrent_weights(cell))[0], expected), "differs from nn.RNNCell"
print("rnn_step_forward agrees with nn.RNNCell")

# %% [markdown]
# ## 2. Backpropagation through time
#
# `rnn_forward` runs the step over the whole sequence from $h_0$, keeping every state in
# `h[:, t]` and every step's cache. Loop over **time**, the second axis: `x[:, t]` is the
# batch of inputs at step $t$.
#
# In the backward pass, `dh[:, t]` is the gradient the loss sends to $h_t$ *directly* (for
# example through a prediction made from $h_t$). But $h_t$ also feeds step $t + 1$, so the
# total gradient that reaches $h_t$ is
#
# $$ \frac{\partial L}{\partial h_t} = \texttt{dh[:, t]} + \mathrm{d}h_{t}^{\text{from } t+1} , $$
#
# the second term being the `dh_prev` that the backward of step $t + 1$ returned. So walk
# backwards, $t = T, \dots, 1$: add the two, run the step's backward, keep its `dx`, carry
# its `dh_prev` on to step $t - 1$, and **sum** the weight gradients over all steps (the
# weights are shared). What is left at the end is $\partial L / \partial h_0$.

# %% solution="reference.rnn:rnn_forward,rnn_backward" grade_id="rnn_sequence"
# filled in by the build

# %% [markdown]
# `nn.RNN` runs the same recurrence over a sequence. By default it expects time first,
# (T, N, D); `batch_first=True` makes it read our (N, T, D). Its initial state has a
# leading axis for stacked layers: (1, N, H).

# %%
x, h0, dh = rng.normal(size=(4, 7, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 7, 6))
layer = nn.RNN(3, 6, batch_first=True, dtype=torch.float64)
Wx, Wh, b = recurrent_weights(layer)
h, cache = rnn_forward(x, h0, Wx, Wh, b)
assert h.shape == (4, 7, 6), "h holds the state after every step: (N, T, H)"
expected = layer(torch.from_numpy(x), torch.from_numpy(h0[None]))[0].detach().numpy()
assert np.allclose(h, expected), "rnn_forward differs from nn.RNN(batch_first=True)"
check_backward(lambda *args: rnn_forward(*args)[0], [x, h0, Wx, Wh, b],
               rnn_backward(dh, cache), dh, ["dx", "dh0", "dWx", "dWh", "db"])

# %% [markdown]
# ## 3. Vanishing and exploding gradients
#
# How much does the state after $t$ steps depend on $h_0$? By the chain rule, through one
# Jacobian per step:
#
# $$ \frac{\partial h_t}{\partial h_0} = \prod_{s=1}^{t} \frac{\partial h_s}{\partial h_{s-1}},
#    \qquad \frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}\big(1 - h_s^2\big)\, W_h^\top . $$
#
# Every factor holds the same $W_h$. Where the tanh is in its linear range ($h_s \approx
# 0$), the product is $(W_h^\top)^t$, whose size grows like $\rho^t$, with $\rho$ the
# **spectral radius** of $W_h$ (its largest eigenvalue in absolute value). For $\rho < 1$ the
# gradient **vanishes** exponentially; for $\rho > 1$ it **explodes**. The factors $1 -
# h_s^2 \le 1$ can only shrink it: a saturated tanh blocks the gradient.
#
# `h0_gradient_norms` measures this: for every $t$, the norm of $\partial L_t / \partial h_0$
# for the loss $L_t = \sum h_t$ (the sum of all entries of the state after $t$ steps). One
# forward pass over the whole sequence serves every $t$ (the state after $t$ steps does not
# depend on later inputs); for each $t$, run your backward with `dh` zero except at step
# $t$. The default `forward` and `backward` are your RNN's; section 6 passes the LSTM's.

# %% solution="reference.rnn:h0_gradient_norms" grade_id="gradient_norms"
# filled in by the build

# %% [markdown]
# With $W_h = s\,Q$ for an orthogonal $Q$ (every eigenvalue has absolute value 1, so $\rho = s$),
# zero input and $h_0 = 0$, the state stays 0, every tanh is in its linear range, and the
# norm is exactly $s^t \sqrt{NH}$.

# %%
N, T, D, H = 4, 60, 3, 16
Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
Wx_demo = 0.5 * rng.normal(size=(D, H))
x_demo = rng.normal(size=(N, T, D))
steps = np.arange(1, T + 1)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for scale in [0.8, 0.9, 1.0, 1.1, 1.25]:
    at_rest = h0_gradient_norms(np.zeros((N, T, D)), np.zeros((N, H)), Wx_demo, scale * Q, np.zeros(H))
    assert np.allclose(at_rest, scale ** steps * np.sqrt(N * H)), "at rest the norm is s^t sqrt(NH)"
    driven = h0_gradient_norms(x_demo, np.zeros((N, H)), Wx_demo, scale * Q, np.zeros(H))
    left.plot(steps, at_rest, label=f"$\\rho = {scale}$")
    right.plot(steps, driven, label=f"$\\rho = {scale}$")
left.set(title="zero input: the linear regime", xlabel="sequence length t",
         ylabel=r"$\|\partial L_t / \partial h_0\|$", yscale="log")
right.set(title="random input: the tanh saturates", xlabel="sequence length t")
left.legend()
plt.show()

# %% [markdown]
# On the left the curves are straight lines on a log scale: exponential decay for $\rho <
# 1$, growth for $\rho > 1$. On the right the inputs drive the tanh into saturation, and
# the factors $1 - h_s^2$ make the gradient vanish even for $\rho > 1$. Either way, a
# vanilla RNN barely learns dependencies more than a few dozen steps long: the signal from
# far back is lost, or it swamps everything else.
#
# ## 4. Gradient clipping by global norm
#
# An exploding gradient makes one update step huge and throws the weights far away. The
# remedy is to cap the step's length: treat all gradients of the model as one long vector
# $g$ and, if it is longer than `max_norm`, shorten it, keeping its direction:
#
# $$ \|g\| = \sqrt{\textstyle\sum_{\text{arrays}} \sum_{\text{entries}} g^2}, \qquad
#    g \leftarrow g \cdot \min\Big(1, \frac{\texttt{max\_norm}}{\|g\| + \varepsilon}\Big),
#    \qquad \varepsilon = 10^{-6} . $$
#
# This is what `torch.nn.utils.clip_grad_norm_` does (with the same $\varepsilon$). Clipping
# every entry to $[-c, c]$ instead would change the direction of the step. Return new
# arrays and leave `grads` as it was.

# %% solution="reference.rnn:clip_grad_norm" grade_id="clipping"
# filled in by the build

# %%
grads = {"Wx": rng.normal(size=(3, 4)), "Wh": 10 * rng.normal(size=(4, 4)), "b": rng.normal(size=4)}
clipped, total = clip_grad_norm(grads, max_norm=1.0)
parameters = [nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
for p, g in zip(parameters, grads.values()):
    p.grad = torch.from_numpy(g.copy())
expected_total = nn.utils.clip_grad_norm_(parameters, max_norm=1.0)
assert np.isclose(total, expected_total.item()), "the total norm differs from clip_grad_norm_'s"
for p, name in zip(parameters, grads):
    assert np.allclose(clipped[name], p.grad.numpy()), f"clipped['{name}'] differs from clip_grad_norm_'s"


def flat(arrays):
    return np.concatenate([a.ravel() for a in arrays.values()])


elementwise = {name: np.clip(g, -0.1, 0.1) for name, g in grads.items()}
cosine = lambda u, v: u @ v / np.linalg.norm(u) / np.linalg.norm(v)
print(f"total norm {total:.2f} -> {np.linalg.norm(flat(clipped)):.2f}")
print(f"direction kept by clip_grad_norm: cosine {cosine(flat(grads), flat(clipped)):.4f}; "
      f"by elementwise clipping: cosine {cosine(flat(grads), flat(elementwise)):.4f}")

# %% [markdown]
# **Written question (2 points).** The printed cosines compare the two ways of clipping.
# Why clip the global norm of all gradients together rather than each entry? Clipping
# tames exploding gradients: why can it do nothing against vanishing ones, and what does?

# %% [markdown] written=2 grade_id="why_clip_global_norm"
# Model answer: clipping by global norm multiplies every gradient by the same factor
# $\min(1, c / \lVert g \rVert)$: the update keeps the gradient's direction (cosine 1) and
# only its length is capped, so one huge gradient from a steep "cliff" of the loss cannot
# throw the weights far away. Clipping each entry changes the ratios between entries,
# hence the direction (the cosine drops below 1), so the step no longer follows the
# gradient; with a small threshold it degenerates towards a sign update. Clipping can only
# shorten a gradient; a vanishing gradient is already tiny and carries almost no
# information about early inputs, so no rescaling restores it. Against vanishing gradients
# one changes the Jacobians themselves: gated cells with an additive memory path (the
# LSTM's cell state), careful (orthogonal) initialization, skip connections, or shorter
# dependencies.
#
# Marking guide: 1 point for the global norm keeping the direction (elementwise clipping
# changing it); 1 point for clipping only shortening gradients, with a remedy for vanishing
# ones (LSTM or gating, or another that changes the Jacobians).

# %% [markdown]
# ## 5. The LSTM
#
# The long short-term memory keeps a second state, the **cell** $c_t$, and changes it
# additively, under the control of three **gates** in $(0, 1)$. From one affine map
# $a = x_t W_x + h_{t-1} W_h + b$ of shape (N, 4H), cut into four blocks of H columns **in
# this order** (PyTorch's order: input, forget, candidate, output):
#
# $$ i = \sigma(a_i), \quad f = \sigma(a_f), \quad g = \tanh(a_g), \quad o = \sigma(a_o), $$
# $$ c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t) . $$
#
# The forget gate decides what the cell keeps, the input gate what it writes, the output
# gate what it shows. Along the cell, $\partial c_t / \partial c_{t-1} = f$: no weight
# matrix and no squashing, so with $f \approx 1$ the gradient passes many steps unharmed.
#
# The backward pass receives $\mathrm{d}h_t$ and $\mathrm{d}c_t$ (the cell's gradient from
# the next step). $c_t$ reaches the loss twice: through the next step, and through
# $h_t = o \odot \tanh(c_t)$. So first
#
# $$ \mathrm{d}c = \mathrm{d}c_t + \mathrm{d}h_t \odot o \odot \big(1 - \tanh^2(c_t)\big), $$
#
# then $\mathrm{d}o = \mathrm{d}h_t \odot \tanh(c_t)$, $\mathrm{d}i = \mathrm{d}c \odot g$,
# $\mathrm{d}g = \mathrm{d}c \odot i$, $\mathrm{d}f = \mathrm{d}c \odot c_{t-1}$,
# $\mathrm{d}c_{t-1} = \mathrm{d}c \odot f$; through the nonlinearities ($\sigma' = \sigma(1 -
# \sigma)$, $\tanh' = 1 - \tanh^2$) to $\mathrm{d}a$, concatenated in the order $i, f, g, o$;
# and from $\mathrm{d}a$ on as in the vanilla step.
#
# The gates need the sigmoid you wrote in assignment 02: paste your stable `sigmoid` into
# the next cell.

# %% solution="reference.activations:sigmoid" grade_id="sigmoid_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.rnn:lstm_step_forward,lstm_step_backward" grade_id="lstm_step"
# filled in by the build

# %% [markdown]
# `nn.LSTMCell` stores its weights as (4H, D) and (4H, H), with the gate blocks in the same
# order, and again two biases. The check runs from a cell state that is not zero.

# %%
x, h_prev, c_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
dh, dc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
cell = nn.LSTMCell(4, 5, dtype=torch.float64)
Wx, Wh, b = recurrent_weights(cell)
h_next, c_next, cache = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
expected_h, expected_c = cell(torch.from_numpy(x), (torch.from_numpy(h_prev), torch.from_numpy(c_prev)))
assert np.allclose(c_next, expected_c.detach().numpy()), "c_next differs from nn.LSTMCell (gate order?)"
assert np.allclose(h_next, expected_h.detach().numpy()), "h_next differs from nn.LSTMCell"
both = lambda *args: np.concatenate(lstm_step_forward(*args)[:2], axis=1)
check_backward(both, [x, h_prev, c_prev, Wx, Wh, b], lstm_step_backward(dh, dc, cache),
               np.concatenate([dh, dc], axis=1), ["dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"])

# %% [markdown]
# ## 6. The LSTM over a sequence
#
# As for the RNN, but the step carries two states: start from $h_0$ and a cell of zeros,
# and pass each step's $h_t$ **and** $c_t$ on to the next. The backward pass carries both
# `dh_prev` and `dc_prev` back from step to step. Only $h$ is an output: the loss sends
# nothing to the cell directly, and `lstm_backward` returns the gradient for $h_0$ only.

# %% solution="reference.rnn:lstm_forward,lstm_backward" grade_id="lstm_sequence"
# filled in by the build

# %%
x, h0, dh = rng.normal(size=(4, 9, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 9, 6))
layer = nn.LSTM(3, 6, batch_first=True, dtype=torch.float64)
Wx, Wh, b = recurrent_weights(layer)
h, cache = lstm_forward(x, h0, Wx, Wh, b)
h0_torch = torch.from_numpy(h0[None])
expected = layer(torch.from_numpy(x), (h0_torch, torch.zeros_like(h0_torch)))[0].detach().numpy()
assert np.allclose(h, expected), "lstm_forward differs from nn.LSTM(batch_first=True) (is the cell carried?)"
check_backward(lambda *args: lstm_forward(*args)[0], [x, h0, Wx, Wh, b],
               lstm_backward(dh, cache), dh, ["dx", "dh0", "dWx", "dWh", "db"])

# %% [markdown]
# Does the cell help? Below, the gradient norms of section 3 for an LSTM on the same
# random input, with the forget gate's bias $b_f$ (the second block of $b$) set to 0, 1 and
# 3. A large $b_f$ keeps $f$ near 1 at the start of training, so the cell remembers and the
# gradient reaches far back; this is why PyTorch users often initialize it to 1 or more.

# %%
W_in, W_rec = 0.3 * rng.normal(size=(D, 4 * H)), 0.3 * rng.normal(size=(H, 4 * H))
driven = h0_gradient_norms(x_demo, np.zeros((N, H)), Wx_demo, Q, np.zeros(H))
plt.plot(steps, driven, "k--", label=r"vanilla RNN, $\rho = 1$")
for forget_bias in [0.0, 1.0, 3.0]:
    b_lstm = np.zeros(4 * H)
    b_lstm[H:2 * H] = forget_bias
    norms = h0_gradient_norms(x_demo, np.zeros((N, H)), W_in, W_rec, b_lstm, lstm_forward, lstm_backward)
    plt.plot(steps, norms, label=f"LSTM, $b_f = {forget_bias:g}$")
plt.yscale("log")
plt.xlabel("sequence length t")
plt.ylabel(r"$\|\partial L_t / \partial h_0\|$")
plt.title("How far back the gradient reaches")
plt.legend()
plt.show()

# %% [markdown]
# ## 7. PyTorch: an LSTM reads digits row by row
#
# From here on PyTorch's `nn.LSTM` does the steps and autograd the BPTT. A **many-to-one**
# task: read a sequence, output one label. An 8 x 8 digit image becomes a sequence of
# T = 8 rows of D = 8 pixels; the LSTM reads it top to bottom, and a linear layer
# classifies the hidden state after the last row:
#
# $$ \mathrm{logits} = \mathrm{fc}(h_T) . $$
#
# The form is fixed: `lstm = nn.LSTM(input_size, hidden_size, batch_first=True)` and
# `fc = nn.Linear(hidden_size, num_classes)`, created in this order, so that
# `state_dict()` holds `lstm.weight_ih_l0`, `lstm.weight_hh_l0`, `lstm.bias_ih_l0`,
# `lstm.bias_hh_l0`, `fc.weight`, `fc.bias`. Do not forget `batch_first=True`: without it
# the LSTM reads (N, T, D) as N time steps of a batch of T, runs its recurrence across
# *different images*, and still returns tensors of plausible shapes.
#
# `train_classifier` is the loop of assignment 07 with Adam, and one line more:
# `nn.utils.clip_grad_norm_(model.parameters(), max_norm)` between `backward()` and
# `step()`, the clipping of section 4. Shuffle the samples anew every epoch with a
# `torch.Generator` seeded with `seed` (`torch.randperm(N, generator=...)`, or a
# `DataLoader` as in assignment 07), so that the same call gives the same result.

# %% solution="reference.torch_rnn:LSTMClassifier,train_classifier" grade_id="classifier"
# filled in by the build

# %%
digits = data.digits(images=True).map_inputs(lambda images: images[:, 0])  # (N, 8 rows, 8 pixels)
X_train, y_train, X_val, y_val, _, _ = digits
print(f"training sequences {X_train.shape}")

torch.manual_seed(0)
model = LSTMClassifier(8, 64, 10)
assert model(torch.zeros(5, 8, 8)).shape == (5, 10), "the logits should have shape (N, num_classes)"
sample = torch.randn(6, 8, 8)
assert torch.allclose(model(sample)[2:3], model(sample[2:3]), atol=1e-6), \
    "one image's logits depend on the other images of the batch: is batch_first=True set?"
history = train_classifier(model, X_train, y_train, device=device)
model.eval()
with torch.no_grad():
    predicted = model(torch.as_tensor(X_val, dtype=torch.float32, device=device)).argmax(dim=1).cpu().numpy()
validation = np.mean(predicted == y_val)
print(f"validation accuracy: {validation:.3f} (the grader requires {{ thresholds.digits_accuracy }} on its own view)")
plt.plot(history, lw=0.5)
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("cross-entropy")
plt.title("LSTMClassifier(8, 64, 10) on the digits' rows")
plt.show()
assert validation >= {{ thresholds.digits_accuracy }}, "an LSTM should classify the digits from their rows"

# %% [markdown]
# **What the grader checks.** It trains `LSTMClassifier(8, 64, 10)` with `train_classifier`'s
# defaults. The digits are public, so a program could look an image's label up instead of
# learning it: the grader trains and tests on a secretly transformed copy, the 8 pixels of
# every row rotated by one random orthogonal matrix (the same for all rows and images),
# plus a little noise, which the LSTM learns as well and no lookup can match. It reads your
# trained weights with `state_dict()` and computes the test predictions itself with the form
# fixed above, and requires a test accuracy of at least **{{ thresholds.digits_accuracy }}**.
#
# ## 8. Many-to-many: predicting a signal, with truncated BPTT
#
# Now a prediction at every step: read a noisy signal $s_1, s_2, \dots$ and, after each
# value $s_t$, predict the next one, $s_{t+1}$. The inputs are `series[:, :-1]`, the targets
# `series[:, 1:]`. `SignalPredictor` is an `nn.LSTM(1, hidden_size, batch_first=True)` and
# an `nn.Linear(hidden_size, 1)` applied at every step, and it can start from a given state
# and returns its final state, so that a long sequence can be read in pieces:
#
# ```python
# first, state = model(x[:, :20])          # from the zero state
# second, state = model(x[:, 20:], state)  # continues where the first piece ended
# ```
#
# **Truncated BPTT.** Backpropagating through a whole long sequence costs memory for every
# step and suffers the vanishing and exploding of section 3. Instead, cut the time axis
# into chunks of `chunk_length` steps, take one optimizer step per chunk, and carry the
# *state* from chunk to chunk, but not the *gradient*: after the step,
# `state = tuple(s.detach() for s in state)`. The next chunk starts from the right values,
# and its gradient stops at the chunk's start. Without the detach, the next `backward()`
# would try to run back through the previous chunk's graph, which the previous
# `backward()` has already freed; the cell after the answer shows the error you would get.

# %% solution="reference.torch_rnn:SignalPredictor,train_tbptt" grade_id="tbptt"
# filled in by the build

# %%
train_series = generated.noisy_sines(64, 101, seed=0)   # 64 series of 101 values
val_series = generated.noisy_sines(100, 101, seed=1)

torch.manual_seed(0)
model = SignalPredictor(32)
inputs = torch.as_tensor(train_series[:, :-1, None], dtype=torch.float32)
targets = torch.as_tensor(train_series[:, 1:, None], dtype=torch.float32)
whole, _ = model(inputs)
first, state = model(inputs[:, :20])
second, _ = model(inputs[:, 20:], state)
assert torch.allclose(torch.cat([first, second], dim=1), whole, atol=1e-6), \
    "SignalPredictor should continue from the state it is given"

try:  # what happens without the detach: two chunks, the state passed on as it is
    optimizer = torch.optim.Adam(model.parameters())
    state = None
    for start in (0, 20):
        predictions, state = model(inputs[:, start:start + 20], state)
        optimizer.zero_grad()
        F.mse_loss(predictions, targets[:, start:start + 20]).backward()
        optimizer.step()
except RuntimeError as error:
    print("without detach:", str(error).split(".")[0])

torch.manual_seed(0)
model = SignalPredictor(32)
history = train_tbptt(model, train_series, device=device)
assert len(history) == 60 * 5, "one loss per chunk: 100 steps in chunks of 20, for 60 epochs"
plt.plot(history, lw=0.5)
plt.yscale("log")
plt.xlabel("chunk")
plt.ylabel("mean squared error")
plt.title("Truncated BPTT, chunks of 20 steps")
plt.show()

# %% [markdown]
# ## 9. Predictions, forecasts and a baseline
#
# `predict_next` gives the one-step predictions of a whole series at once (evaluation mode,
# no gradients). Is a small error good? Compare with the simplest forecast there is,
# **persistence**: "the next value equals this one". The **skill** over persistence,
#
# $$ \text{skill} = 1 - \frac{\mathrm{MSE}(\text{predictions}, s_{2:L})}{\mathrm{MSE}(s_{1:L-1}, s_{2:L})} , $$
#
# is 1 for perfect predictions, 0 for no better than persistence, negative for worse.
#
# `forecast` runs free: it reads a context, predicts the next value, then feeds that
# prediction back as the next input, carrying the state, for `steps` steps. Errors now
# compound, since the model never sees the truth again.

# %% solution="reference.torch_rnn:predict_next,forecast,skill_over_persistence" grade_id="prediction"
# filled in by the build

# %%
one_step = predict_next(model, val_series)
assert one_step.shape == (100, 100), "one prediction per step: (N, L - 1)"
skill = skill_over_persistence(one_step, val_series)
print(f"validation skill over persistence: {skill:.3f} (the grader requires {{ thresholds.signal_skill }} on its own series)")
context = 60
future = forecast(model, val_series[:, :context], 40)
assert future.shape == (100, 40), "forecast returns (N, steps)"
assert torch.allclose(future[:, 0], one_step[:, context - 1], atol=1e-6), \
    "the first forecast value is the one-step prediction after the context"

fig, axes = plt.subplots(1, 3, figsize=(15, 3.5), sharey=True)
for k, ax in enumerate(axes):
    ax.plot(np.arange(101), val_series[k], "k.", ms=3, label="signal")
    ax.plot(np.arange(1, 101), one_step[k], label="one-step prediction")
    ax.plot(np.arange(context, context + 40), future[k], label="free-running forecast")
    ax.axvline(context - 0.5, color="gray", lw=0.5)
    ax.set(xlabel="t")
axes[0].legend()
plt.show()
assert skill >= {{ thresholds.signal_skill }}, "the predictions should be clearly better than persistence"

# %% [markdown]
# **What the grader checks.** It generates training and test series from a secret seed
# (`generated.noisy_sines(64, 101, seed=...)` for training, 200 more for testing), trains
# `SignalPredictor(32)` with `train_tbptt`'s defaults, reads your trained weights with
# `state_dict()`, computes the one-step predictions of the test series itself, and requires a
# skill over persistence of at least **{{ thresholds.signal_skill }}**.
