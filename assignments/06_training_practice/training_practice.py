# %% [markdown]
# # Assignment 06: Training in practice
#
# Knowing the layers, the losses and the optimizers is half of training a network. The other
# half is practice: a learning rate that shrinks while training goes on, data split so that
# the numbers you report mean something, hyperparameters chosen by a search rather than by
# hope, a quick check that the network *can* learn before you spend an hour training it,
# more training data for free from augmentation, and initial weights at a scale that lets
# the signal reach the last layer of a deep network.
#
# At the end a random search over learning rate, weight decay and width finds a network for
# the handwritten digits, and the grader checks that the configuration it finds classifies
# digits that neither you nor the search have seen.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check training_practice.ipynb` for the public tests. Hidden tests use other inputs,
# so make your code correct, not only passing.

# %% tags=["setup"]
import itertools

import numpy as np

from autograder.student import data

# %%
import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Your earlier work
#
# Paste your solutions from earlier assignments, unchanged, into the five cells below: the
# ReLU, tanh and softmax cross-entropy (with the `log_softmax` it uses) from assignment 02,
# the affine layers, `TwoLayerNet` and the layer objects `Affine`, `ReLU` and `Sequential`
# from assignment 03, and the four learning-rate schedules from assignment 04. Once an
# assignment's reference solutions are published, its cells import them instead: nothing to
# paste there.

# %% solution="reference.activations:relu_forward,relu_backward,tanh_forward,tanh_backward,log_softmax" grade_id="activations_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.losses:softmax_cross_entropy" grade_id="softmax_loss_from_02" carried="02_activations_losses"
# filled in by the build

# %% solution="reference.layers:affine_forward,affine_backward,affine_relu_forward,affine_relu_backward" grade_id="affine_from_03" carried="03_backprop"
# filled in by the build

# %% solution="reference.networks:TwoLayerNet reference.modules:Affine,ReLU,Sequential" grade_id="networks_from_03" carried="03_backprop"
# filled in by the build

# %% solution="reference.schedules:inverse_time_decay,step_decay,exponential_decay,inverse_sqrt_decay" grade_id="schedules_from_04" carried="04_optimization"
# filled in by the build

# %%
check_net = TwoLayerNet(6, 5, 3, weight_scale=0.5, seed=1)
loss_small, grads_small = check_net.loss(rng.normal(size=(10, 6)), rng.integers(0, 3, size=10))
assert np.isfinite(loss_small) and set(grads_small) == {"W1", "b1", "W2", "b2"}, "paste your assignment 03 code"
assert np.isclose(step_decay(7, 0.1, 3, 0.5), 0.025), "paste your assignment 04 schedules"
print("earlier work: OK")

# %% [markdown]
# ## 2. Learning-rate decay inside the training loop
#
# Assignment 04's schedules give the learning rate $\eta_e$ of epoch $e$ from the initial
# rate $\eta_0$. Now they go where they belong, into the training loop: at the start of
# epoch $e$ look up $\eta_e$, and use it for every mini-batch step of that epoch,
#
# $$ \theta \leftarrow \theta - \eta_e \nabla_\theta L_{\text{batch}}(\theta) .$$
#
# `learning_rate(epoch, lr, schedule, **schedule_args)` picks a schedule by name (`None`
# keeps `lr` constant) and passes it its own arguments, so that
# `learning_rate(7, 0.1, "step", step_size=3, gamma=0.5)` is `step_decay(7, 0.1, 3, 0.5)`.
# `train_with_schedule` is assignment 03's `train` with that one change; it also records the
# rate of every epoch in `history["lr"]`. Visit the samples in the same order as `train`
# does: one `rng.permutation(N)` per epoch from `np.random.default_rng(seed)`.

# %% solution="reference.training:learning_rate,train_with_schedule" grade_id="lr_decay"
# filled in by the build

# %%
X_train, y_train, X_val, y_val, _, _ = data.digits()

assert learning_rate(5, 0.2) == 0.2, "schedule=None keeps the rate constant"
assert np.isclose(learning_rate(7, 0.1, "step", step_size=3, gamma=0.5), 0.025)
assert np.isclose(learning_rate(4, 0.1, "inverse_time", decay_rate=0.5), 0.1 / 3)
histories = {}
for label, options in tqdm({"constant 0.5": {}, "step decay (10, 0.3)": dict(schedule="step", step_size=10, gamma=0.3),
                            "inverse time (0.3)": dict(schedule="inverse_time", decay_rate=0.3)}.items()):
    net = TwoLayerNet(64, 100, 10, weight_scale=0.01, seed=0)
    histories[label] = train_with_schedule(net, X_train, y_train, lr=0.5, epochs=30, batch_size=20, seed=0,
                                           X_val=X_val, y_val=y_val, **options)
assert np.allclose(histories["step decay (10, 0.3)"]["lr"], [0.5] * 10 + [0.15] * 10 + [0.045] * 10)

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for label, history in histories.items():
    axes[0].plot(history["lr"], label=label)
    steps_per_epoch = len(history["loss"]) // len(history["lr"])
    epoch_loss = np.reshape(history["loss"], (len(history["lr"]), steps_per_epoch)).mean(axis=1)
    axes[1].plot(epoch_loss, label=label)
    axes[2].plot(history["val_acc"], label=label)
axes[0].set(title="learning rate", xlabel="epoch")
axes[1].set(title="mean training loss of the epoch", xlabel="epoch", yscale="log")
axes[2].set(title="validation accuracy", xlabel="epoch", ylim=(0.9, 1.0))
axes[2].legend()
plt.show()

# %% [markdown]
# With a constant rate of 0.5 the validation accuracy keeps jumping by a few percent from
# epoch to epoch: every step is large, so the weights never settle. After each drop of the
# step schedule the steps are smaller and the accuracy steadies. Decaying too early (the
# inverse-time schedule here) slows training down before the loss is low: a schedule is one
# more hyperparameter to search.
#
# ## 3. Overfit one batch first
#
# Before training on all the data for a long time, check that the model can *memorize* a
# handful of samples. With 20 samples and thousands of parameters a correct network and a
# correct gradient drive the training loss to almost zero within a few hundred full-batch
# steps. If the loss does not go down, there is a bug (a wrong gradient, a sign error, a
# learning rate far off) and no amount of data will fix it. `overfit_one_batch` runs
# `steps` plain gradient-descent steps on one batch and returns the loss of every step.

# %% solution="reference.training:overfit_one_batch" grade_id="overfit_one_batch"
# filled in by the build

# %%
X_batch, y_batch = X_train[:20], y_train[:20]
net = TwoLayerNet(64, 50, 10, weight_scale=0.1, seed=0)
losses = overfit_one_batch(net, X_batch, y_batch, lr=0.5, steps=200)
broken = TwoLayerNet(64, 50, 10, weight_scale=0.1, reg=0.5, seed=0)  # far too much weight decay
broken_losses = overfit_one_batch(broken, X_batch, y_batch, lr=0.5, steps=200)
plt.semilogy(losses, label="TwoLayerNet")
plt.semilogy(broken_losses, label="with reg=0.5")
plt.gca().set(xlabel="step", ylabel="loss on the batch", title="Overfitting 20 digits")
plt.legend()
plt.show()
assert len(losses) == 200 and losses[-1] < 0.05, f"final loss {losses[-1]:.3f}: the network cannot memorize 20 digits"
assert np.all(net.predict(X_batch) == y_batch)
print("overfit one batch: OK")

# %% [markdown]
# ## 4. Splitting the data
#
# A model is chosen on a *validation* set and reported on a *test* set that played no part
# in any choice; otherwise the reported number is optimistic. Split by ratio, say
# 60 / 20 / 20. With few samples per class, a purely random split can leave one class
# under-represented in the validation set; a *stratified* split keeps every class's share
# the same in every part. Split each class on its own: shuffle its indices (one
# `rng.permutation` per class, classes in increasing order), cut them at
# $\operatorname{round}(c_k \, n_{\text{class}})$ for the cumulative fractions
# $c_k = \sum_{i \le k} f_i / \sum_i f_i$, and gather the pieces of every part.
# Return sorted index arrays.

# %% solution="reference.training:stratified_split" grade_id="stratified_split"
# filled in by the build

# %%
y_imbalanced = np.repeat(np.arange(4), [50, 30, 15, 5])
parts = stratified_split(y_imbalanced, (0.6, 0.2, 0.2), seed=0)
assert sorted(np.concatenate(parts).tolist()) == list(range(100)), "every index exactly once"
for name, part, fraction in zip(("train", "val", "test"), parts, (0.6, 0.2, 0.2)):
    counts = np.bincount(y_imbalanced[part], minlength=4)
    print(f"{name:>5}: {len(part):3d} samples, per class {counts.tolist()}")
    assert np.all(np.abs(counts - fraction * np.array([50, 30, 15, 5])) <= 1), "not stratified"
print("stratified split: OK")

# %% [markdown]
# ## 5. Cross-validation
#
# One validation set of a few hundred samples gives a noisy score. $k$-fold
# cross-validation cuts the shuffled data into $k$ folds of (almost) equal size, trains $k$
# times, each time validating on one fold and training on the other $k-1$, and reports the
# $k$ scores; their mean is a better estimate and their spread says how far to trust it.
# The folds must be disjoint and together cover the data: every sample is validated on
# exactly once. `np.array_split` cuts an array into $k$ nearly equal pieces.
#
# `fit_model` trains a `TwoLayerNet` with `train_with_schedule` from a *configuration*, a
# dict of keyword arguments, passing its `seed` to both, so that one seed fixes the initial
# weights and the order of the batches; `evaluate` trains on one set and returns the
# accuracy on another; `cross_validate` returns the list of the $k$ scores.

# %% solution="reference.training:k_fold_indices" grade_id="k_fold_indices"
# filled in by the build

# %% solution="reference.training:fit_model,evaluate,cross_validate" grade_id="cross_validate"
# filled in by the build

# %%
folds = k_fold_indices(23, k=5, seed=0)
validation = np.concatenate([val for _, val in folds])
assert sorted(validation.tolist()) == list(range(23)), "the validation folds must be disjoint and cover the data"
for train_idx, val_idx in folds:
    assert not set(train_idx) & set(val_idx) and len(train_idx) + len(val_idx) == 23
config = dict(hidden_dim=64, lr=0.3, weight_scale=0.01, epochs=10)
scores = cross_validate(X_train, y_train, k=5, seed=0, **config)
print("5-fold accuracies:", np.round(scores, 3), f"mean {np.mean(scores):.3f} +- {np.std(scores):.3f}")
assert len(scores) == 5 and np.mean(scores) > 0.9

# %% [markdown]
# ## 6. Grid search and random search
#
# A *grid search* tries every combination of a few values per hyperparameter; a *random
# search* draws each trial's values at random from a *space*. When only one or two of the
# hyperparameters really matter (often the learning rate), a grid of 9 points tries only 3
# different learning rates, while 9 random trials try 9 (Bergstra and Bengio, 2012).
#
# Learning rates and weight decays matter by their order of magnitude, so they are drawn
# *log-uniformly*: $\log \eta \sim U(\log a, \log b)$, as many trials between $10^{-3}$ and
# $10^{-2}$ as between $10^{-1}$ and $1$. A space maps each name to a list of choices
# (drawn uniformly), to `("uniform", low, high)` or to `("log", low, high)`.
# `sample_config` draws one configuration with the generator it is given.
#
# Both searches return `(best, results)`: `results` has one dict per trial, the
# configuration plus its `"score"`, and `best` is the configuration of the first highest
# score. Keyword arguments that are not searched (`**fixed`, e.g. `epochs=20`) are passed to
# every `evaluate`.

# %% solution="reference.training:sample_config" grade_id="sample_config"
# filled in by the build

# %% solution="reference.training:grid_search,random_search" grade_id="search"
# filled in by the build

# %%
draws = [sample_config({"lr": ("log", 1e-4, 1.0), "width": [32, 64]}, rng) for _ in range(2000)]
log_lr = np.log10([d["lr"] for d in draws])
assert log_lr.min() >= -4 and log_lr.max() <= 0, "lr drawn outside [1e-4, 1]"
assert abs(log_lr.mean() + 2) < 0.1, "log10(lr) should be uniform in [-4, 0]"
assert {d["width"] for d in draws} == {32, 64}

fixed = dict(epochs=20, weight_scale=0.01, schedule="inverse_time", decay_rate=0.1)
grid = {"lr": [0.01, 0.1, 1.0], "reg": [1e-5, 1e-3, 1e-1]}
grid_best, grid_results = grid_search(X_train, y_train, X_val, y_val, grid, **fixed)
space = {"lr": ("log", 0.01, 1.0), "reg": ("log", 1e-5, 1e-1)}
random_best, random_results = random_search(X_train, y_train, X_val, y_val, space, n_trials=9, seed=0, **fixed)
print("grid search best:  ", grid_best, max(r["score"] for r in grid_results))
print("random search best:", random_best, max(r["score"] for r in random_results))

fig, ax = plt.subplots(figsize=(6, 4.5))
for label, results, marker in [("grid", grid_results, "s"), ("random", random_results, "o")]:
    points = ax.scatter([r["lr"] for r in results], [r["reg"] for r in results], c=[r["score"] for r in results],
                        marker=marker, s=80, vmin=0, vmax=1, label=label)
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="reg", title="Validation accuracy of each trial")
fig.colorbar(points)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# Only now, with the configuration chosen on the validation part, would the test part be
# used, once, to report the chosen model's accuracy.
#
# **What the grader checks.** It runs your `random_search` (8 trials, seed 0, over
# `{"lr": ("log", 0.01, 1.0), "reg": ("log", 1e-6, 1e-2), "hidden_dim": [32, 64, 128]}` with
# `epochs=20, batch_size=50, weight_scale=0.01, schedule="inverse_time", decay_rate=0.1`) on
# the training and validation parts of a secretly transformed copy of the digits (the 64
# pixel values of every image rotated together, plus a little noise: a network learns it as
# well, and no lookup of the public digits can match it), retrains the best configuration
# with `fit_model` on the training and validation parts together, and requires a test
# accuracy of at least **{{ thresholds.random_search_accuracy }}**.
#
# ## 7. Data augmentation
#
# A shifted, slightly brighter or mirrored image usually shows the same thing, so random
# variants of the training images are extra training data for free. Each function below
# takes a batch of images, $(N, H, W)$ or $(N, C, H, W)$, and a generator (or a seed),
# draws its randomness *per image*, and returns a new batch of the same shape with values
# still in the data range $[\text{low}, \text{high}]$ (clip where a transformation can leave
# it). The images it is given stay as they were: an augmentation that wrote into the
# training set would compound, epoch after epoch, and the grader checks that every call
# leaves its arguments unchanged. The four transformations:
#
# - brightness: $x + \delta$, one $\delta \sim U(-\Delta, \Delta)$ per image;
# - contrast: $\mu + f\,(x - \mu)$, one $f \sim U(\text{lower}, \text{upper})$ per image,
#   $\mu$ the image's mean over its $H \times W$ pixels (per channel);
# - random crop: pad $p$ zeros on every side and cut an $H \times W$ window at a corner
#   $(i, j)$ drawn uniformly from $\{0, \dots, 2p\}^2$ (`torchvision`'s
#   `RandomCrop(size, padding)`): every shift by up to $p$ pixels, each equally likely;
# - horizontal flip: mirror left-right with probability $p$.
#
# `augment` applies all four to a labelled batch. The transformations change images, never
# what they show, so image $n$ of the result keeps label $n$.
#
# Careful: a transformation is only an augmentation if it keeps the label. A mirrored cat
# is a cat, but a mirrored 2 is not a 2 any more, and digits should not be flipped.

# %% solution="reference.augmentation:adjust_brightness,adjust_contrast" grade_id="brightness_contrast"
# filled in by the build

# %% solution="reference.augmentation:random_crop" grade_id="random_crop"
# filled in by the build

# %% solution="reference.augmentation:horizontal_flip,augment" grade_id="flip_and_augment"
# filled in by the build

# %%
images = X_train[:8].reshape(8, 8, 8)
brighter = adjust_brightness(images, 0.3, rng=1)
assert brighter.shape == images.shape and brighter.min() >= 0 and brighter.max() <= 1
contrasted = adjust_contrast(images, 0.3, 1.5, rng=1)
assert contrasted.shape == images.shape and contrasted.min() >= 0 and contrasted.max() <= 1
cropped = random_crop(images, 2, rng=1)
assert cropped.shape == images.shape
flipped = horizontal_flip(images, p=1.0, rng=1)
assert np.array_equal(flipped, images[:, :, ::-1])
assert np.array_equal(horizontal_flip(images, p=0.0, rng=1), images)
rgb = rng.random((4, 3, 10, 12))
out, labels = augment(rgb, np.arange(4), rng=2, max_delta=0.2, contrast=(0.5, 1.5), padding=3, flip=0.5)
assert out.shape == rgb.shape and labels.tolist() == [0, 1, 2, 3]

fig, axes = plt.subplots(5, 8, figsize=(10, 6.5))
for row, (label, batch) in enumerate([("original", images), ("brightness", brighter), ("contrast", contrasted),
                                      ("crop", cropped), ("flip", flipped)]):
    for col in range(8):
        axes[row, col].imshow(batch[col], cmap="gray_r", vmin=0, vmax=1)
        axes[row, col].set(xticks=[], yticks=[])
    axes[row, 0].set_ylabel(label)
plt.show()

# %% [markdown]
# ## 8. Weight initialization
#
# The scale of the initial weights decides whether the signal survives a deep network.
# A layer $a = \phi(W^\top h)$ with $n_{\text{in}}$ inputs of variance $v$ and weights of
# variance $\sigma^2$ produces pre-activations of variance $n_{\text{in}} \sigma^2 v$. Keep
# that factor at one and the variance neither explodes nor vanishes with depth:
#
# | method | weights | why |
# | --- | --- | --- |
# | zeros | $0$ | every unit computes the same thing, forever |
# | small | $\sigma = 0.01$ | activations shrink by $\sqrt{n_{\text{in}}} \cdot 0.01$ per layer |
# | large | $\sigma = 1$ | tanh saturates, ReLU explodes |
# | Xavier (Glorot) | $\sigma^2 = 1 / n_{\text{in}}$ | keeps the variance for tanh, near the origin linear |
# | He (Kaiming) | $\sigma^2 = 2 / n_{\text{in}}$ | the ReLU zeroes half of its inputs: twice the variance |
#
# ($n_{\text{in}}$ is the *fan-in*, the number of inputs of each unit: the first dimension
# of our $W$.) `initialize` draws the matrix; the distribution does not matter, only its
# mean (zero) and variance. `Tanh` is one more layer object; `make_deep_mlp` stacks affine
# layers of the given sizes with an activation between each two, initializing every
# weight matrix with one shared generator; `hidden_activations` runs a network forward in
# test mode and returns the output of every activation layer.

# %% solution="reference.initialization:initialize" grade_id="initialize"
# filled in by the build

# %% solution="reference.modules:Tanh reference.initialization:make_deep_mlp,hidden_activations" grade_id="deep_mlp"
# filled in by the build

# %%
for method, variance in [("small", 1e-4), ("large", 1.0), ("xavier", 1 / 300), ("he", 2 / 300)]:
    w = initialize(300, 200, method, rng=0)
    assert w.shape == (300, 200) and abs(w.var() / variance - 1) < 0.05, f"{method}: variance {w.var():.3g}"
assert not initialize(300, 200, "zeros").any()

X_deep = rng.standard_normal((500, 256))
methods = ["zeros", "small", "large", "xavier", "he"]
fig, axes = plt.subplots(2, 2, figsize=(12, 8))
for row, activation in enumerate(["tanh", "relu"]):
    for method in methods:
        net = make_deep_mlp([256] * 11 + [10], activation=activation, init=method, seed=0)
        outputs = hidden_activations(net, X_deep)
        axes[row, 0].plot(range(1, 11), [a.std() for a in outputs], marker="o", label=method)
        axes[row, 1].plot(range(1, 11), [a.mean() for a in outputs], marker="o", label=method)
    axes[row, 0].set(title=f"{activation}: std of the activations", xlabel="layer")
    axes[row, 0].set_yscale("symlog", linthresh=1e-3)
    axes[row, 1].set(title=f"{activation}: mean of the activations", xlabel="layer")
    axes[row, 1].set_yscale("symlog", linthresh=1e-3)
axes[0, 0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Written question (3 points).** Read the four plots (256 units per layer): for tanh and
# for ReLU, which initializations keep the spread of the activations steady over the ten
# layers, and what happens with each of the others? Explain each case with the factor
# $n_{\text{in}} \sigma^2$ from the table above.

# %% [markdown] written=3 grade_id="init_scale"
# Model answer: zeros give all-zero activations from the first layer on (and every unit of a
# layer stays identical, so training cannot separate them). Small weights multiply the
# standard deviation by about $\sqrt{256} \cdot 0.01 = 0.16$ per layer, so the activations
# vanish geometrically for both nonlinearities. Large weights ($n_{\text{in}}\sigma^2 = 256$)
# saturate tanh at $\pm 1$ (the std stays near 1, but $\tanh' \approx 0$, so gradients
# vanish) and make ReLU activations explode by about $\sqrt{256/2} \approx 11$ per layer.
# Xavier ($\sigma^2 = 1/n_{\text{in}}$) keeps tanh steady, since tanh is close to the
# identity near zero; under ReLU, which zeroes half of the pre-activations, it halves the
# variance per layer and the std decays by about $1/\sqrt2$ per layer. He
# ($\sigma^2 = 2/n_{\text{in}}$) compensates for that half and keeps ReLU steady. The means:
# tanh stays centred, ReLU outputs are positive.
#
# Marking guide: 1 point for zeros and small (dead or vanishing, with the per-layer factor);
# 1 point for large (tanh saturation with vanishing gradients, ReLU explosion); 1 point for
# Xavier suiting tanh and He suiting ReLU because ReLU halves the variance.

# %% [markdown]
# With small weights the activations vanish within a few layers, and so do the gradients
# that flow back through them. With large weights tanh units sit at $\pm 1$, where their
# gradient is zero, and ReLU activations grow by a factor of about 10 per layer. Xavier
# keeps tanh networks alive (slowly shrinking, because tanh is contracting); He keeps ReLU
# networks at a constant scale. Zero weights keep every hidden unit identical: train a
# small network from zeros and look.

# %%
net = make_deep_mlp([64, 16, 16, 10], activation="tanh", init="zeros", seed=0)
train_with_schedule(net, X_train[:500], y_train[:500], lr=0.5, epochs=5, batch_size=50, seed=0)
for name, value in net.params.items():
    if name.endswith(".w") and name != "4.w":
        print(name, "columns identical:", bool(np.all(value == value[:, :1])))
        assert np.all(value == value[:, :1]), "zero initialization should leave every hidden unit the same"
