# %% [markdown]
# # Assignment 05: Regularization and normalization
#
# A network wide enough to fit the training data is also wide enough to fit its noise.
# *Regularization* is everything that trades a little training accuracy for better accuracy
# on data the network has not seen: penalties that keep the weights small, dropout, which
# trains a different thinned network at every step, and ensembles, which average many
# networks. *Normalization* layers keep the activations of every layer at a healthy scale;
# batch normalization also regularizes a little, because each sample is normalized with the
# statistics of a random batch.
#
# Every layer here comes with its backward pass, and every one has a PyTorch twin
# (`nn.Dropout`, `nn.BatchNorm1d`, `nn.LayerNorm`) that it must agree with, in training and
# at test time. At the end you make a wide network overfit handwritten digits with noisy
# labels and measure how much dropout and bagging win back.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check regularization.ipynb` for the public tests. Hidden tests use other inputs,
# so make your code correct, not only passing.

# %% tags=["setup"]
import numpy as np

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Your layers and network from assignments 02 and 03
#
# The experiments at the end train networks built from your earlier work. Paste your
# solutions, unchanged, into the four cells below: the ReLU and the softmax cross-entropy
# (with the `log_softmax` it uses) from assignment 02, and the affine layer, the layer
# objects `Affine` and `ReLU`, the `Sequential` container and the mini-batch SGD loop `train`
# from assignment 03. As a reminder, a *layer object* has `params` and `grads` dicts,
# `forward(x, train=True, rng=None) -> out` and `backward(dout) -> dx`, and
# `Sequential(*layers, reg=0.0, seed=0)` passes `train` and its own generator to every
# layer. You will add two new layer objects, `Dropout` and `BatchNorm`. Once an assignment's
# reference solutions are published, its cells import them instead: nothing to paste there.

# %% solution="reference.activations:relu_forward,relu_backward,log_softmax" grade_id="relu_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.losses:softmax_cross_entropy" grade_id="softmax_loss_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.layers:affine_forward,affine_backward" grade_id="affine_from_03" carried="03_backprop"
# filled in by the build

# %% solution="reference.modules:Affine,ReLU,Sequential reference.networks:train" grade_id="modular_from_03" carried="03_backprop"
# filled in by the build

# %%
check_net = Sequential(Affine(6, 4, weight_scale=0.5, seed=1), ReLU(), Affine(4, 3, weight_scale=0.5, seed=2))
X_small, y_small = rng.normal(size=(10, 6)), rng.integers(0, 3, size=10)
loss_small, grads_small = check_net.loss(X_small, y_small)
assert np.isfinite(loss_small) and set(grads_small) == set(check_net.params), "paste your assignment 03 code"
print("earlier work: OK")

# %% [markdown]
# ## 2. Weight penalties: L2 and L1
#
# Adding a penalty on the weights to the loss pulls them towards zero. The two classics are
#
# $$ R_2(w) = \frac{\lambda}{2} \sum_i w_i^2, \quad \nabla R_2 = \lambda w, \qquad
#    R_1(w) = \lambda \sum_i |w_i|, \quad \partial R_1 = \lambda \operatorname{sign}(w) .$$
#
# The L2 gradient is proportional to the weight, so it shrinks large weights fast and small
# ones slowly: weights become small but rarely zero. This is `weight_decay=lam` in
# `torch.optim.SGD`, which adds $\lambda w$ to every gradient. The L1 (sub)gradient has the
# same size $\lambda$ for every nonzero weight, so it pushes small weights all the way to
# zero: L1 makes weights *sparse*. $|w|$ has no derivative at $0$; use the subgradient $0$
# there (`np.sign(0) == 0`). Both functions return `(penalty, gradient)`.
#
# Like every loss and layer in this course, the functions of this assignment never change
# their arguments (the weights, `x`, `dout`, the cache, the running statistics): they return
# new arrays. The grader checks that every call leaves its arguments as they were.

# %% solution="reference.regularization:l1_penalty,l2_penalty" grade_id="penalties"
# filled in by the build

# %%
w_check = rng.normal(size=(4, 3))
for penalty in (l1_penalty, l2_penalty):
    value, grad = penalty(w_check, 0.3)
    numeric = numerical_gradient(lambda v: penalty(v, 0.3)[0], w_check.copy())
    assert rel_error(grad, numeric) < 1e-7, f"{penalty.__name__}'s gradient disagrees with central differences"
assert np.isclose(l2_penalty(w_check, 0.3)[0], 0.15 * np.sum(w_check ** 2)), "R_2 = lam / 2 * sum(w^2)"
assert l1_penalty(np.zeros(3), 1.0)[1].tolist() == [0, 0, 0], "the L1 subgradient at 0 is 0"
print("penalties: OK")

# %% [markdown]
# To see the difference, train softmax regression ($s = XW + b$, weights $64 \times 10$) on
# the digits with each penalty and look at the weights. Under L1 a large share of them sits
# at (almost exactly) zero; under L2 they are small but spread out.

# %%
X_train, y_train, X_val, y_val, _, _ = data.digits()


def fit_penalized(penalty, lam, steps=300, lr=0.5):
    init = np.random.default_rng(0)
    W, b = 0.01 * init.standard_normal((64, 10)), np.zeros(10)
    for _ in tqdm(range(steps), desc=penalty.__name__, leave=False):
        _, dscores = softmax_cross_entropy(X_train @ W + b, y_train)
        _, dW = penalty(W, lam)
        W, b = W - lr * (X_train.T @ dscores + dW), b - lr * dscores.sum(axis=0)
    return W, b


fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, (penalty, lam) in zip(axes, [(l2_penalty, 1e-2), (l1_penalty, 3e-3)]):
    W, b = fit_penalized(penalty, lam)
    accuracy = np.mean(np.argmax(X_val @ W + b, axis=1) == y_val)
    ax.hist(W.ravel(), bins=80, range=(-1, 1))
    ax.set(title=f"{penalty.__name__}, lam={lam}\n{np.mean(np.abs(W) < 1e-2):.0%} of |w| < 0.01, "
                 f"validation accuracy {accuracy:.2f}", xlabel="weight", ylabel="count", yscale="log")
plt.show()

# %% [markdown]
# **Written question (2 points).** Read the two histograms: why does the L1 penalty leave a
# large share of the weights at (almost exactly) zero, while the L2 penalty only makes them
# small? Argue from the gradients of the two penalties.

# %% [markdown] written=2 grade_id="l1_sparsity"
# Model answer: the L2 penalty's gradient $\lambda w$ is proportional to the weight, so its
# pull fades as a weight approaches zero: it shrinks every weight by a constant factor,
# and a weight stops where that small pull balances the data's gradient, almost never at
# exactly zero. The L1 penalty's (sub)gradient $\lambda\,\mathrm{sign}(w)$ keeps the same size
# however small the weight is, so it pushes a weight all the way to zero unless the data
# gradient on it is larger than $\lambda$; at zero the subgradient can be anything in
# $[-\lambda, \lambda]$, so weights whose features matter less than $\lambda$ stay there
# (with gradient descent they hover within a step of zero). Geometrically, the L1 ball has
# corners on the axes, where the constrained optimum tends to land.
#
# Marking guide: 1 point for L2's gradient proportional to $w$ (shrinks, fading near zero);
# 1 point for L1's constant-size push that wins unless the data gradient exceeds $\lambda$
# (or the equivalent subgradient or corner argument).

# %% [markdown]
# ## 3. Dropout
#
# During training, dropout sets each activation to zero with probability $p$, a fresh random
# mask $m$ for every forward pass. The network cannot rely on any single unit, and each step
# trains a different thinned network; at test time we want the average of all of them.
# *Inverted* dropout scales the survivors by $\frac{1}{1-p}$ during training,
#
# $$ \text{out} = x \odot \frac{m}{1-p}, \quad m_i \sim \text{Bernoulli}(1-p), \qquad
#    \mathbb E[\text{out}] = x ,$$
#
# so that at test time the layer is simply the identity, with the expectation already
# right. This is what `nn.Dropout(p)` does: `p` is the probability of *dropping*. The
# backward pass routes the gradient through the same scaled mask,
# $\frac{\partial L}{\partial x} = \text{dout} \odot \frac{m}{1-p}$ (at test time, `dout`
# itself). Draw the mask with `rng.random(x.shape)` from the generator you are given;
# `np.random.default_rng(rng)` turns `None` or a seed into a generator and returns a
# generator unchanged. Keep whatever the backward pass needs in `cache`.

# %% solution="reference.regularization:dropout_forward,dropout_backward" grade_id="dropout"
# filled in by the build

# %%
x_check = rng.normal(size=(300, 40)) + 2.0
out, _ = dropout_forward(x_check, 0.3, rng=np.random.default_rng(1))
kept = out != 0
assert np.allclose(out[kept], x_check[kept] / 0.7), "survivors are scaled by 1 / (1 - p)"
assert abs(kept.mean() - 0.7) < 0.02, f"{1 - kept.mean():.2f} of the entries were dropped, expected about 0.3"
test_out, test_cache = dropout_forward(x_check, 0.3, train=False)
assert np.array_equal(test_out, x_check), "dropout is the identity at test time"
assert np.array_equal(test_out, nn.Dropout(0.3).eval()(torch.tensor(x_check)).numpy())
x_small, dout_small = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
_, cache = dropout_forward(x_small, 0.5, rng=np.random.default_rng(2))
numeric = numerical_vjp(lambda v: dropout_forward(v, 0.5, rng=np.random.default_rng(2))[0],
                        x_small.copy(), dout_small)
assert rel_error(dropout_backward(dout_small, cache), numeric) < 1e-7, \
    "dropout_backward disagrees with central differences"
print("dropout: OK")

# %% [markdown]
# As a layer object, `Dropout` keeps the cache of its latest forward pass and uses the
# generator that `Sequential` passes to `forward`.

# %% solution="reference.modules:Dropout" grade_id="dropout_layer"
# filled in by the build

# %% [markdown]
# ## 4. Batch normalization
#
# Batch normalization standardizes every feature over the batch and then lets the network
# choose the scale and shift it prefers. For a batch $x \in \mathbb R^{N \times D}$,
#
# $$ \mu = \frac1N \sum_n x_n, \quad \sigma^2 = \frac1N \sum_n (x_n - \mu)^2, \quad
#    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad \text{out} = \gamma \odot \hat x + \beta .$$
#
# At test time a prediction must not depend on which other samples share its batch, so the
# layer uses *running* estimates instead, updated at every training step like
# `torch.nn.BatchNorm1d` does (with `momentum=0.1`):
#
# $$ \mu_{\text{run}} \leftarrow (1 - \text{momentum})\, \mu_{\text{run}} + \text{momentum}\, \mu, \qquad
#    \sigma^2_{\text{run}} \leftarrow (1 - \text{momentum})\, \sigma^2_{\text{run}} + \text{momentum}\, \tfrac{N}{N-1} \sigma^2 .$$
#
# Note the two variances: the batch is normalized with the biased $\sigma^2$ (divided by
# $N$), but the running estimate takes the unbiased one (divided by $N - 1$), as torch does.
# The running statistics are explicit state: `batchnorm_forward` takes them and returns the
# updated ones (unchanged at test time), without modifying its arguments in place.
#
# **Backward.** $\mu$ and $\sigma$ depend on every sample, so each $\hat x_n$ depends on the
# whole batch. Going backward through the graph step by step (the subtraction, the square,
# the mean, the square root, the division) works, but the steps collapse into one
# expression. With $g = \text{dout}$,
#
# $$ \frac{\partial L}{\partial \beta} = \sum_n g_n, \qquad
#    \frac{\partial L}{\partial \gamma} = \sum_n g_n \odot \hat x_n, \qquad
#    \frac{\partial L}{\partial x} = \frac{\gamma}{N \sqrt{\sigma^2 + \epsilon}} \Big( N g - \sum_n g_n - \hat x \odot \sum_n g_n \odot \hat x_n \Big) .$$
#
# Derive it (write $\frac{\partial L}{\partial \hat x} = \gamma g$ and use
# $\sum_n \hat x_n = 0$) and implement the closed form; it is shorter and faster than the
# step-by-step version. The backward pass is that of training mode.

# %% solution="reference.normalization:batchnorm_forward,batchnorm_backward" grade_id="batchnorm"
# filled in by the build

# %%
def torch_batchnorm(gamma, beta, running_mean, running_var):
    module = nn.BatchNorm1d(len(gamma), dtype=torch.float64)
    with torch.no_grad():
        for tensor, value in [(module.weight, gamma), (module.bias, beta),
                              (module.running_mean, running_mean), (module.running_var, running_var)]:
            tensor.copy_(torch.tensor(value))
    return module


x_bn = rng.normal(3.0, 2.0, size=(8, 5))
gamma, beta, mean0 = rng.normal(size=5), rng.normal(size=5), rng.normal(size=5)
var0 = rng.uniform(1, 2, size=5)
module = torch_batchnorm(gamma, beta, mean0, var0)
out, cache, mean1, var1 = batchnorm_forward(x_bn, gamma, beta, mean0, var0, train=True)
expected = module.train()(torch.tensor(x_bn)).detach().numpy()
assert rel_error(out, expected) < 1e-8, "training output differs from torch"
assert np.allclose(mean1, module.running_mean.numpy()), "running mean differs from torch"
assert np.allclose(var1, module.running_var.numpy()), "running variance differs from torch"
test_out, _, mean2, var2 = batchnorm_forward(x_bn, gamma, beta, mean1, var1, train=False)
expected = module.eval()(torch.tensor(x_bn)).detach().numpy()
assert rel_error(test_out, expected) < 1e-8, "test-mode output differs from torch"
assert np.array_equal(mean2, mean1) and np.array_equal(var2, var1), "test mode keeps the running statistics"

dout_bn = rng.normal(size=x_bn.shape)
dx, dgamma, dbeta = batchnorm_backward(dout_bn, cache)
for name, grad, arg in [("dx", dx, 0), ("dgamma", dgamma, 1), ("dbeta", dbeta, 2)]:
    inputs = [x_bn, gamma, beta]

    def forward(v, arg=arg):
        args = [v if i == arg else a for i, a in enumerate(inputs)]
        return batchnorm_forward(*args, mean0, var0)[0]

    error = rel_error(grad, numerical_vjp(forward, inputs[arg].copy(), dout_bn))
    assert error < 1e-6, f"{name} disagrees with central differences (relative error {error:.1e})"
print("batch norm: OK")

# %% [markdown]
# The layer object keeps $\gamma$ and $\beta$ in `params`, like `nn.BatchNorm1d`'s `weight`
# and `bias`, and the running statistics as attributes `running_mean` and `running_var`
# (zeros and ones at the start), replaced after every training-mode forward pass. Like
# `nn.BatchNorm1d(num_features, momentum=0.1, eps=1e-5)`, `BatchNorm(num_features, momentum, eps)`
# normalizes with its own `eps` and updates its running statistics with its own `momentum`:
# it passes both to `batchnorm_forward`.

# %% solution="reference.modules:BatchNorm" grade_id="batchnorm_layer"
# filled in by the build

# %%
layer, module = BatchNorm(4), nn.BatchNorm1d(4, dtype=torch.float64)
for step in range(5):
    batch = rng.normal(1.0, 2.0, size=(10, 4))
    layer.forward(batch, train=True)
    module.train()(torch.tensor(batch))
assert np.allclose(layer.running_mean, module.running_mean.numpy()), "running_mean after 5 batches differs"
assert np.allclose(layer.running_var, module.running_var.numpy()), "running_var after 5 batches differs"
single = rng.normal(size=(1, 4))
expected = module.eval()(torch.tensor(single)).detach().numpy()
assert np.allclose(layer.forward(single, train=False), expected), \
    "at test time one sample alone must be normalized with the running statistics"
print("BatchNorm layer: OK")

# %% [markdown]
# ## 5. Layer normalization
#
# Batch statistics are a nuisance for tiny batches and for sequences of varying length.
# Layer normalization standardizes each *sample* over its $D$ features instead, with the
# same formulas along the other axis:
#
# $$ \mu_n = \frac1D \sum_d x_{nd}, \quad \sigma_n^2 = \frac1D \sum_d (x_{nd} - \mu_n)^2, \quad
#    \text{out}_{nd} = \gamma_d \frac{x_{nd} - \mu_n}{\sqrt{\sigma_n^2 + \epsilon}} + \beta_d .$$
#
# No running statistics: training and test time compute the same thing. The backward pass
# is batch norm's closed form with the roles of the axes swapped, applied to
# $\frac{\partial L}{\partial \hat x} = \gamma \odot \text{dout}$; $\gamma$ and $\beta$ still
# collect their gradients over the samples.

# %% solution="reference.normalization:layernorm_forward,layernorm_backward" grade_id="layernorm"
# filled in by the build

# %%
x_ln, gamma, beta = rng.normal(1.0, 2.0, size=(6, 4)), rng.normal(size=4), rng.normal(size=4)
out, cache = layernorm_forward(x_ln, gamma, beta)
expected = nn.functional.layer_norm(torch.tensor(x_ln), (4,), torch.tensor(gamma), torch.tensor(beta)).numpy()
assert rel_error(out, expected) < 1e-8, "layernorm_forward differs from nn.LayerNorm"
dout_ln = rng.normal(size=x_ln.shape)
dx, dgamma, dbeta = layernorm_backward(dout_ln, cache)
numeric = numerical_vjp(lambda v: layernorm_forward(v, gamma, beta)[0], x_ln.copy(), dout_ln)
assert rel_error(dx, numeric) < 1e-6, "dx disagrees with central differences"
numeric = numerical_vjp(lambda v: layernorm_forward(x_ln, v, beta)[0], gamma.copy(), dout_ln)
assert rel_error(dgamma, numeric) < 1e-6, "dgamma disagrees with central differences"
assert rel_error(dbeta, dout_ln.sum(axis=0)) < 1e-10
print("layer norm: OK")

# %% [markdown]
# ## 6. Making a network overfit, and regularizing it
#
# On clean digits a small network generalizes well. To see overfitting we give it every
# chance: 300 training images, 30% of them with a random wrong label, and 256 hidden units,
# trained for 200 epochs. The network memorizes the wrong labels too, and its validation
# accuracy suffers. Dropout makes memorizing much harder.
#
# Write `make_mlp`: Affine, then BatchNorm if asked, ReLU, then Dropout if asked, then the
# output Affine, in a `Sequential`. Initialize the affine layers with He's scale
# $\sqrt{2 / \text{fan\_in}}$ so that the ReLU activations keep their variance.

# %% solution="reference.networks:make_mlp" grade_id="make_mlp"
# filled in by the build

# %%
# 300 training digits, 30% of them with a random label; the validation part stays clean
X_noisy, y_noisy, X_val, y_val, _, _ = data.with_noisy_labels(data.digits(), fraction=0.3, n_train=300)
settings = {"no regularization": {}, "dropout 0.5": {"dropout": 0.5}, "batch norm": {"batchnorm": True}}
histories = {}
for label, options in tqdm(settings.items(), desc="training"):
    net = make_mlp(64, 256, 10, seed=0, **options)
    histories[label] = train(net, X_noisy, y_noisy, lr=0.1, epochs=200, batch_size=20, seed=0,
                             X_val=X_val, y_val=y_val)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for label, history in histories.items():
    axes[0].plot(history["train_acc"], label=label)
    axes[1].plot(history["val_acc"], label=label)
axes[0].set(title="training accuracy (noisy labels)", xlabel="epoch", ylabel="accuracy")
axes[1].set(title="validation accuracy (clean labels)", xlabel="epoch")
axes[1].legend()
plt.show()
for label, history in histories.items():
    print(f"{label:>18}: final validation accuracy {history['val_acc'][-1]:.3f}")
assert histories["dropout 0.5"]["val_acc"][-1] > histories["no regularization"]["val_acc"][-1], \
    "dropout should beat the overfitting baseline"

# %% [markdown]
# Without regularization the validation accuracy peaks early and then falls while the
# network learns the wrong labels by heart; dropout slows the memorizing down and keeps more
# of the peak. Batch norm makes the network *train* faster, and here that includes fitting
# the noise: its regularizing effect is weak next to dropout's.
#
# **What the grader checks.** It repeats this experiment (`make_mlp(64, 256, 10, seed=0)`
# with and without `dropout=0.5`, each trained by your `train` with the arguments above) on
# a secretly transformed copy of the digits (the 64 pixel values of every image rotated
# together, plus a little noise: a network learns it as well, and no lookup of the public
# digits can match it), with 30% wrong training labels. On the test part, the dropout
# network must reach an accuracy of at least **{{ thresholds.dropout_accuracy }}** and beat
# the unregularized one by at least **{{ thresholds.dropout_gain }}**. It also trains a
# batch-norm network (`make_mlp(64, 100, 10, batchnorm=True, seed=0)`, 500 clean training
# digits, `lr=0.1, epochs=30, batch_size=25`) and predicts test images *one at a time*,
# which only works with the running statistics: at least
# **{{ thresholds.batchnorm_single_sample_accuracy }}** correct.
#
# ## 7. Bagging
#
# An ensemble averages models whose errors differ. *Bagging* (bootstrap aggregating) makes
# them differ by training each on a bootstrap sample: $N$ rows drawn from the $N$ training
# rows uniformly *with replacement*, so each model sees about 63% of the distinct rows, some
# of them several times. The ensemble predicts the class with the highest average
# probability,
#
# $$ \hat y = \arg\max_c \frac1K \sum_{k=1}^K \operatorname{softmax}(f_k(x))_c .$$
#
# Averaging reduces the variance of the prediction, and the variance is exactly what an
# overfitting network has too much of. `bagging_fit` draws the bootstrap samples with
# `np.random.default_rng(seed).integers` and trains each model with `train`; the softmax
# probabilities are `np.exp(log_softmax(scores))` of the test-mode scores.

# %% solution="reference.networks:bagging_fit,bagging_predict" grade_id="bagging"
# filled in by the build

# %%
models = bagging_fit(X_noisy, y_noisy, n_models=5, hidden_dim=100, seed=0, epochs=100, batch_size=20, lr=0.1)
member_accuracy = [np.mean(model.predict(X_val) == y_val) for model in models]
ensemble_accuracy = np.mean(bagging_predict(models, X_val) == y_val)
plt.bar(range(1, 6), member_accuracy, label="members")
plt.axhline(ensemble_accuracy, color="C3", label=f"ensemble ({ensemble_accuracy:.3f})")
plt.ylim(0.5, 1.0)
plt.gca().set(xlabel="model", ylabel="validation accuracy", title="Bagging five networks on noisy digits")
plt.legend()
plt.show()
assert ensemble_accuracy >= max(member_accuracy), "the ensemble should be at least as good as its best member"

# %% [markdown]
# **What the grader checks.** It repeats this experiment (the arguments above) on the
# secretly transformed copy of the noisy digits: on the test part the ensemble must reach
# at least **{{ thresholds.ensemble_accuracy }}** and do at least as well as its best member
# (a gain of at least **{{ thresholds.ensemble_gain_over_best_member }}**).
