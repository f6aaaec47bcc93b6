# %% [markdown]
# # Assignment 03: Backpropagation through modular layers
#
# A neural network is a chain of simple functions. Backpropagation is the chain rule
# applied to that chain from the end to the start: if $L$ depends on $x$ only through
# $z = f(x)$, then
#
# $$ \frac{\partial L}{\partial x} = \Big(\frac{\partial z}{\partial x}\Big)^{\!\top} \frac{\partial L}{\partial z} .$$
#
# So every layer needs two functions. The **forward** pass computes the output and keeps a
# `cache` of what the backward pass will need. The **backward** pass receives
# `dout` $= \partial L / \partial z$ (always of the output's shape) and returns the gradients
# with respect to its input and its parameters (always of *their* shapes):
#
# ```python
# out, cache = layer_forward(x, w, b)
# dx, dw, db = layer_backward(dout, cache)
# ```
#
# Layers written this way snap together: you will build a two-layer classifier from them,
# train it with mini-batch stochastic gradient descent on handwritten digits, and then
# wrap the same layers as objects that a `Sequential` container can stack to any depth.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check backprop.ipynb` for the public tests. Hidden tests use other inputs, so
# make your code correct, not only passing.

# %% tags=["setup"]
import numpy as np

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error

# %%
import math

import matplotlib.pyplot as plt
from tqdm.auto import tqdm

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The affine layer
#
# An affine (fully connected) layer maps each sample to $M$ outputs. Images and other
# multi-dimensional inputs of shape $(N, d_1, \dots, d_k)$ are first flattened to
# $X \in \mathbb R^{N \times D}$ with $D = d_1 \cdots d_k$:
#
# $$ \text{out} = X W + b, \qquad W \in \mathbb R^{D \times M},\ b \in \mathbb R^{M} .$$
#
# Each output $\text{out}_{nm} = \sum_d X_{nd} W_{dm} + b_m$ is touched by one row of $X$,
# one column of $W$ and one entry of $b$. Summing the chain rule over the outputs gives
#
# $$ \frac{\partial L}{\partial X} = \text{dout}\, W^\top, \qquad
#    \frac{\partial L}{\partial W} = X^\top \text{dout}, \qquad
#    \frac{\partial L}{\partial b} = \sum_{n} \text{dout}_{n,:} .$$
#
# A quick sanity check for every backward pass: each gradient has the shape of the thing
# it belongs to. In particular `dx` must be reshaped back to the shape of `x`, not left
# flattened, and the bias gradient sums over the samples, because $b$ is added to every one.
#
# As in assignment 02, forward and backward passes never change their arguments: flatten
# with `x.reshape(N, -1)`, never by assigning `x.shape` (which would reshape the caller's
# array), and write results into new arrays. The grader checks that every call leaves its arguments as they
# were. (The one function that *does* change what it is given is `train` in section 5,
# which updates the model's parameters in place, as its description says.)

# %% solution="reference.layers:affine_forward,affine_backward" grade_id="affine"
# filled in by the build

# %% [markdown]
# A gradient you derived by hand is checked against **central differences**,
# $\partial f / \partial x_i \approx \big(f(x + h e_i) - f(x - h e_i)\big) / 2h$.
# For a layer the scalar is $\sum \text{out} \odot \text{dout}$, whose gradient is exactly
# what the backward pass returns (`numerical_vjp` does this). In float64 a correct gradient
# agrees to about $10^{-8}$; a wrong one is off by $10^{-2}$ or more.

# %%
x = rng.normal(size=(4, 2, 3))
w, b = rng.normal(size=(6, 5)), rng.normal(size=5)
dout = rng.normal(size=(4, 5))
out, cache = affine_forward(x, w, b)
assert out.shape == (4, 5), "affine_forward flattens each sample: (4, 2, 3) -> (4, 5)"
dx, dw, db = affine_backward(dout, cache)
assert dx.shape == x.shape, "dx must have the shape of x"
for name, grad, numeric in [
    ("dx", dx, numerical_vjp(lambda v: affine_forward(v, w, b)[0], x, dout)),
    ("dw", dw, numerical_vjp(lambda v: affine_forward(x, v, b)[0], w, dout)),
    ("db", db, numerical_vjp(lambda v: affine_forward(x, w, v)[0], b, dout)),
]:
    print(f"{name}: relative error {rel_error(grad, numeric):.1e}")
    assert rel_error(grad, numeric) < 1e-6, f"{name} disagrees with central differences"

# %% [markdown]
# ## 2. Your ReLU and softmax cross-entropy from assignment 02
#
# The network also needs a nonlinearity and a loss, which you wrote in assignment 02.
# Paste your solutions (the same functions, unchanged) into the two cells below. As a
# reminder: the ReLU passes the gradient where its input was positive and blocks it
# elsewhere,
#
# $$ \text{out} = \max(x, 0), \qquad \frac{\partial L}{\partial x} = \text{dout} \odot [x > 0] ,$$
#
# and the softmax cross-entropy on scores $s \in \mathbb R^{N \times C}$ with integer labels
# $y$ is, with $p = \operatorname{softmax}(s)$ computed stably from
# $\log p_c = s_c - \max_j s_j - \log \sum_j e^{s_j - \max_j s_j}$,
#
# $$ L = -\frac1N \sum_n \log p_{n, y_n}, \qquad \frac{\partial L}{\partial s} = \frac1N \big(p - \operatorname{onehot}(y)\big) .$$

# %% solution="reference.activations:relu_forward,relu_backward,log_softmax" grade_id="relu_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.losses:softmax_cross_entropy" grade_id="softmax_loss_from_02" carried="02_activations_losses"
# filled in by the build

# %%
scores, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
loss, dscores = softmax_cross_entropy(scores, labels)
numeric = numerical_gradient(lambda s: softmax_cross_entropy(s, labels)[0], scores.copy())
assert rel_error(dscores, numeric) < 1e-6, "softmax_cross_entropy's gradient disagrees with central differences"
z = rng.normal(size=(3, 5))
assert np.allclose(relu_forward(z)[0], np.maximum(z, 0)), "relu_forward is max(x, 0)"
print("ReLU and softmax cross-entropy: OK")

# %% [markdown]
# ## 3. Composing layers
#
# A "sandwich" of an affine layer and a ReLU is used so often that it gets its own pair of
# functions. Its forward pass calls the two forwards and keeps both caches; its backward
# pass calls the two backwards **in reverse order**: first the ReLU's, whose output is the
# `dout` of the affine layer. No new derivative is needed; that is the point of modular
# layers.

# %% solution="reference.layers:affine_relu_forward,affine_relu_backward" grade_id="affine_relu"
# filled in by the build

# %%
x, w, b = rng.normal(size=(5, 6)), rng.normal(size=(6, 4)), rng.normal(size=4)
dout = rng.normal(size=(5, 4))
out, cache = affine_relu_forward(x, w, b)
dx, dw, db = affine_relu_backward(dout, cache)
for name, grad, numeric in [
    ("dx", dx, numerical_vjp(lambda v: affine_relu_forward(v, w, b)[0], x, dout)),
    ("dw", dw, numerical_vjp(lambda v: affine_relu_forward(x, v, b)[0], w, dout)),
    ("db", db, numerical_vjp(lambda v: affine_relu_forward(x, w, v)[0], b, dout)),
]:
    assert rel_error(grad, numeric) < 1e-6, f"{name} of affine_relu disagrees with central differences"
print("affine_relu: OK")

# %% [markdown]
# ## 4. A two-layer network
#
# The classifier is affine - ReLU - affine, followed by the softmax cross-entropy:
#
# $$ h = \max(X W_1 + b_1, 0), \qquad s = h W_2 + b_2, \qquad
#    L = \text{CE}(s, y) + \tfrac{\lambda}{2}\big(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\big) .$$
#
# The L2 penalty (weight decay) applies to the weights only, not the biases, and its
# gradient is $\lambda W$: the $\tfrac12$ cancels the 2 from differentiating $W^2$.
# The backward pass runs the chain in reverse: the loss gives $\partial L/\partial s$, the
# second affine layer gives $\partial L/\partial h$, $\partial L/\partial W_2$,
# $\partial L/\partial b_2$, and `affine_relu_backward` gives the rest.
#
# Initialize the weights from $\mathcal N(0, \sigma^2)$ with $\sigma$ = `weight_scale`,
# using `rng = np.random.default_rng(seed)` and drawing $W_1$ before $W_2$; the biases
# start at zero. `params` is a dict with the keys `"W1"`, `"b1"`, `"W2"`, `"b2"`, and
# `loss` returns the gradients in a dict with the same keys and shapes.

# %% solution="reference.networks:TwoLayerNet" grade_id="two_layer_net"
# filled in by the build

# %% [markdown]
# Two sanity checks catch most mistakes before any real training. With tiny weights all
# scores are nearly equal, so every class gets probability $1/C$ and the loss must start
# at $\ln C$, here $\ln 10 \approx 2.303$. And a network with 100 hidden units must be
# able to memorize 50 samples: if it cannot reach 100 % training accuracy, something is
# broken, whatever the validation accuracy says.
#
# First the gradients, on a small network with regularization switched on.

# %%
X_small, y_small = rng.normal(size=(7, 5)), rng.integers(0, 4, size=7)
net = TwoLayerNet(5, 6, 4, weight_scale=0.5, reg=0.3, seed=1)
loss, grads = net.loss(X_small, y_small)
for name, value in net.params.items():
    def loss_of(v, name=name):
        saved = net.params[name].copy()
        net.params[name][...] = v
        result = net.loss(X_small, y_small)[0]
        net.params[name][...] = saved
        return result
    error = rel_error(grads[name], numerical_gradient(loss_of, value.copy()))
    print(f"{name}: relative error {error:.1e}")
    assert error < 1e-6, f"grads['{name}'] disagrees with central differences"

# %%
X_train, y_train, X_val, y_val, _, _ = data.digits()
net = TwoLayerNet(64, 100, 10, weight_scale=1e-3)
initial_loss, _ = net.loss(X_train, y_train)
print(f"initial loss {initial_loss:.4f}, ln(10) = {math.log(10):.4f}")
assert abs(initial_loss - math.log(10)) < 0.01, "with small weights the loss starts at ln(10)"

# %% [markdown]
# **Written question (2 points).** Why must the loss of a freshly initialized network with
# small weights be close to $\ln 10 \approx 2.303$ here? If your first loss read 23 or 0.01
# instead, what would you suspect?

# %% [markdown] written=2 grade_id="initial_loss"
# Model answer: with weights of scale $10^{-3}$ all ten scores are nearly zero, so the
# softmax gives every class probability close to $1/10$ and the cross-entropy of every
# sample is $-\ln(1/10) = \ln 10$; the average over the batch is the same (the L2 penalty is
# negligible at this scale). This sanity check costs one forward pass. A loss far above
# $\ln 10$ means the scores are large at initialization (weights too big, so the network is
# confidently wrong) or the loss is summed instead of averaged (e.g. $N \ln 10$), or a
# large regularization term is added; a loss far below it means the labels leak into the
# scores or the loss is computed wrongly (e.g. on probabilities of the wrong class or
# without the log).
#
# Marking guide: 1 point for uniform softmax probabilities giving $-\ln(1/C)$ with $C = 10$;
# 1 point for a plausible diagnosis of each deviation (too-large weights or a sum instead of
# a mean above; a buggy loss or leaked labels below).

# %% [markdown]
# ## 5. Mini-batch stochastic gradient descent
#
# Computing the gradient on all $N$ samples for every step is wasteful: the average over
# a random mini-batch of $B$ samples is an unbiased estimate of it at a fraction of the
# cost. One **epoch** visits every sample once: shuffle the indices with
# `rng.permutation(N)`, cut them into consecutive batches of `batch_size` (the last batch
# may be smaller), and after each batch update every parameter
#
# $$ \theta \leftarrow \theta - \eta\, \nabla_\theta L_{\text{batch}} .$$
#
# Update the arrays of `model.params` **in place** (`params[name] -= lr * grad`), so that
# the same loop trains any model whose `params` dict holds its arrays, including the
# `Sequential` container of section 6. `train` returns the history: the loss of every step
# and the training (and, if given, validation) accuracy after every epoch.
#
# The grader replays your training step by step, so the order of the batches matters:
# create `rng = np.random.default_rng(seed)` once, draw one `rng.permutation(N)` at the start
# of every epoch (nothing else from `rng`), and take the batches in that order.

# %% solution="reference.networks:train" grade_id="train"
# filled in by the build

# %%
net = TwoLayerNet(64, 100, 10, weight_scale=0.1)
history = train(net, X_train[:50], y_train[:50], lr=0.5, epochs=100, batch_size=50)
print(f"training accuracy on 50 samples: {history['train_acc'][-1]:.2f}")
assert history["train_acc"][-1] == 1.0, "the network should memorize 50 samples"

# %% [markdown]
# Now the whole training set, watching the validation part after every epoch. Here `train`
# runs one epoch at a time, with a new seed for each epoch's shuffle, so that a progress bar
# can follow along.
#
# **What the grader checks.** It trains your network with these hyperparameters in one call,
# `train(TwoLayerNet(64, 100, 10, weight_scale=0.1, reg=1e-3, seed=0), X_train, y_train,
# lr=0.2, epochs=40, batch_size=50, seed=0)`, and computes the predictions of the trained
# parameters itself. The digits are public, so a program could look an image's label up
# instead of learning it: the grader trains and tests on a secretly transformed copy (the
# 64 pixel values of every image rotated together, plus a little noise), which the network
# learns as well and no lookup can match. It requires a test accuracy of at least
# **{{ thresholds.digits_accuracy }}**.

# %%
net = TwoLayerNet(64, 100, 10, weight_scale=0.1, reg=1e-3, seed=0)
losses, train_acc, val_acc = [], [], []
for epoch in tqdm(range(40), desc="epochs"):
    h = train(net, X_train, y_train, lr=0.2, epochs=1, batch_size=50, seed=epoch,
              X_val=X_val, y_val=y_val)
    losses += h["loss"]
    train_acc += h["train_acc"]
    val_acc += h["val_acc"]
print(f"validation accuracy: {val_acc[-1]:.3f} (the grader requires {{ thresholds.digits_accuracy }} on its test part)")

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.5))
left.plot(losses, lw=0.5)
left.set(xlabel="step", ylabel="batch loss", yscale="log", title="Training loss")
middle.plot(train_acc, label="training")
middle.plot(val_acc, label="validation")
middle.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
middle.legend()
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_val, net.predict(X_val)), 1)
right.imshow(np.log1p(confusion), cmap="Blues")
right.set(xlabel="predicted digit", ylabel="true digit", title="Validation confusion (log scale)",
          xticks=range(10), yticks=range(10))
plt.show()

# %% [markdown]
# ## 6. Layers as objects, and a container to stack them
#
# `TwoLayerNet` spells out its chain by hand; a deeper network would repeat the same
# bookkeeping for every layer. Instead, wrap each layer in an object that keeps its own
# cache: `forward(x)` stores it and returns the output, `backward(dout)` uses it, stores
# the parameter gradients in `self.grads` and returns `dx`. A layer with parameters keeps
# them in `self.params` (`Affine`: `"w"` of shape $(D, M)$ drawn from
# $\mathcal N(0, \sigma^2)$ with `np.random.default_rng(seed)`, and `"b"` of zeros).
# `forward` also takes `train` and `rng`, which later layers such as dropout need; these
# two ignore them.
#
# `Sequential` then needs only two loops: `forward` through the layers in order,
# `backward` through them in reverse. Its `params` and `grads` (given) collect every
# layer's arrays under the names `"<index>.<name>"`, so `train` works on it unchanged. Its
# `loss` adds $\tfrac{\lambda}{2} \lVert w \rVert^2$ for every parameter named `"w"`, as
# `TwoLayerNet` does; `predict` runs `forward` with `train=False`.

# %% solution="reference.modules:Affine,ReLU,Sequential" grade_id="modular"
# filled in by the build

# %% [markdown]
# With the same weights, `Sequential(Affine, ReLU, Affine)` is the `TwoLayerNet` you
# trained above: it must predict exactly the same classes. Then a deeper network is one
# more line.

# %%
model = Sequential(Affine(64, 100), ReLU(), Affine(100, 10), reg=1e-3)
for (name, value), key in zip(model.params.items(), ["W1", "b1", "W2", "b2"]):
    value[...] = net.params[key]
assert np.array_equal(model.predict(X_val), net.predict(X_val)), "Sequential should match TwoLayerNet"
assert np.isclose(model.loss(X_train, y_train)[0], net.loss(X_train, y_train)[0])

deep = Sequential(Affine(64, 100, weight_scale=0.1, seed=1), ReLU(),
                  Affine(100, 100, weight_scale=0.1, seed=2), ReLU(),
                  Affine(100, 10, weight_scale=0.1, seed=3), reg=1e-3)
deep_history = train(deep, X_train, y_train, lr=0.2, epochs=40, batch_size=50, X_val=X_val, y_val=y_val)
print(f"three layers: validation accuracy {deep_history['val_acc'][-1]:.3f}")
plt.plot(val_acc, label="TwoLayerNet")
plt.plot(deep_history["val_acc"], label="Sequential, 3 affine layers")
plt.gca().set(xlabel="epoch", ylabel="validation accuracy")
plt.legend()
plt.show()
