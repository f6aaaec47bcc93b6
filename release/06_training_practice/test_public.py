"""Public tests for assignment 06: students have this file and can run it with `course check`.

Expected values come from PyTorch, exact properties and statistics with tolerances derived
from the sample size; the hidden tests compare against the reference solution on other inputs.
"""

import functools
import itertools

import numpy as np
import pytest
import torch

from autograder.student import data
from autograder.student.checks import as_array, as_number, assert_close, assert_shape, assert_unchanged
from autograder.grading.proxy import fetch
from autograder.student.torchcheck import assert_two_layer_sequential_matches_torch, two_layer_sgd


def index_arrays(value, what):
    """A tuple or list of 1-d integer index arrays."""
    if not isinstance(value, (tuple, list)):
        raise AssertionError(f"{what} should return a tuple or list of index arrays")
    arrays = [as_array(v, what) for v in value]
    for array in arrays:
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise AssertionError(f"{what} should return 1-d integer index arrays, got {array.dtype} "
                                 f"of shape {array.shape}")
    return arrays


def check_partition(parts, n, what):
    """The index arrays are disjoint and hold every index 0..n-1."""
    everything = np.concatenate(parts)
    counts = np.bincount(everything, minlength=n) if everything.size else np.zeros(n, int)
    if everything.size and (everything.min() < 0 or everything.max() >= n):
        raise AssertionError(f"{what} returned indices outside 0..{n - 1}")
    if np.any(counts > 1):
        raise AssertionError(f"{what}: index {int(np.argmax(counts > 1))} appears in more than one part")
    if np.any(counts == 0):
        raise AssertionError(f"{what}: index {int(np.argmax(counts == 0))} is in no part")


def check_folds(folds, n, k, what):
    if not isinstance(folds, (list, tuple)) or len(folds) != k:
        raise AssertionError(f"{what} should return a list of {k} (train_idx, val_idx) pairs")
    validation = []
    for i, pair in enumerate(folds):
        train, val = index_arrays(pair, f"{what}, pair {i}")
        check_partition([train, val], n, f"{what}: fold {i}'s training and validation indices")
        validation.append(val)
    check_partition(validation, n, f"{what}: the validation folds")
    sizes = [len(v) for v in validation]
    if max(sizes) - min(sizes) > 1:
        raise AssertionError(f"{what}: the validation folds have sizes {sizes}; they should differ by at most one")


def crop_offset(padded, window):
    """The top-left corner of ``window`` in ``padded`` (last two axes), or None."""
    h, w = window.shape[-2:]
    for i, j in itertools.product(range(padded.shape[-2] - h + 1), range(padded.shape[-1] - w + 1)):
        if np.array_equal(padded[..., i:i + h, j:j + w], window):
            return i, j
    return None


# -- learning-rate decay

@pytest.mark.points(1)
def test_learning_rate_follows_torch_schedulers(student):
    cases = [("step", dict(step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
             ("exponential", dict(gamma=0.8), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
             ("inverse_time", dict(decay_rate=0.3),
              lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.3 * e))),
             (None, {}, lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0))]
    for schedule, args, make in cases:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
        scheduler = make(optimizer)
        for epoch in range(8):
            expected = optimizer.param_groups[0]["lr"]
            assert_close(student.learning_rate(epoch, 0.2, schedule, **args), expected,
                         f"learning_rate({epoch}, 0.2, {schedule!r}, **{args})")
            optimizer.step()
            scheduler.step()


@pytest.mark.points(3)
def test_train_with_schedule_matches_torch_sgd_with_step_lr(student, rng):
    """train_with_schedule equals torch SGD + StepLR on the same batches."""
    X, y = rng.normal(size=(30, 6)), rng.integers(0, 3, size=30)
    model = student.TwoLayerNet(6, 8, 3, weight_scale=0.3, seed=2)
    start = fetch(model.params)
    history = student.train_with_schedule(model, X, y, lr=0.4, epochs=5, batch_size=8, schedule="step", seed=3,
                                          step_size=2, gamma=0.5)
    trained, rates = two_layer_sgd(start, X, y, lr=0.4, epochs=5, batch_size=8, seed=3,
                                   scheduler=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=2,
                                                               gamma=0.5))
    if not isinstance(history, dict) or "lr" not in history:
        raise AssertionError("train_with_schedule should return a history dict with the key 'lr'")
    assert_close(history["lr"], rates, "history['lr'] of train_with_schedule(..., schedule='step', step_size=2, "
                 "gamma=0.5) over 5 epochs")
    params = fetch(model.params)
    for name, expected in trained.items():
        assert_close(params[name], expected, f"model.params[{name!r}] after train_with_schedule",
                     rtol=1e-6, atol=1e-9)


# -- overfit one batch

@pytest.mark.points(2)
def test_overfit_one_batch_memorizes_twenty_digits(student):
    X, y, *_ = data.digits()
    model = student.TwoLayerNet(64, 50, 10, weight_scale=0.1, seed=0)
    losses = as_array(student.overfit_one_batch(model, X[:20], y[:20], lr=0.5, steps=150),
                      "overfit_one_batch(model, X, y, steps=150)")
    assert_shape(losses, (150,), "the losses returned by overfit_one_batch(..., steps=150)")
    untrained = student.TwoLayerNet(64, 50, 10, weight_scale=0.1, seed=0)
    assert_close(losses[0], as_number(untrained.loss(X[:20], y[:20])[0], "TwoLayerNet.loss"),
                 "the first loss of overfit_one_batch (the loss of the untrained model, before the first update)")
    assert losses[-1] < 0.1, f"after 150 steps the loss on the batch is still {losses[-1]:.3f}"
    assert losses[-1] < losses[0] / 10, "the loss should fall by far more than a factor of 10"
    predicted = as_array(model.predict(X[:20]), "model.predict after overfit_one_batch")
    assert np.array_equal(predicted, y[:20]), "after overfitting, the model should classify its batch perfectly"


# -- splits and cross-validation

@pytest.mark.points(2)
def test_stratified_split_keeps_class_proportions(student):
    y = np.repeat(np.arange(5), [40, 25, 17, 10, 8])
    rng = np.random.default_rng(0)
    y = y[rng.permutation(len(y))]
    parts = index_arrays(student.stratified_split(y, (0.6, 0.2, 0.2), seed=1), "stratified_split")
    if len(parts) != 3:
        raise AssertionError(f"stratified_split(y, (0.6, 0.2, 0.2)) returned {len(parts)} parts, expected 3")
    check_partition(parts, len(y), "stratified_split(y, (0.6, 0.2, 0.2))")
    totals = np.bincount(y)
    for name, part, fraction in zip(("first", "second", "third"), parts, (0.6, 0.2, 0.2)):
        counts = np.bincount(y[part], minlength=5)
        if np.any(np.abs(counts - fraction * totals) > 1):
            raise AssertionError(f"the {name} part of stratified_split(y, (0.6, 0.2, 0.2)) has {counts.tolist()} "
                                 f"samples per class; stratified, it would have about {(fraction * totals).tolist()}")


@pytest.mark.points(1)
def test_stratified_split_is_seeded(student):
    y = np.arange(60) % 3
    first = index_arrays(student.stratified_split(y, (0.5, 0.5), seed=4), "stratified_split")
    again = index_arrays(student.stratified_split(y, (0.5, 0.5), seed=4), "stratified_split")
    other = index_arrays(student.stratified_split(y, (0.5, 0.5), seed=5), "stratified_split")
    assert np.array_equal(first[0], again[0]), "stratified_split with the same seed gave different splits"
    assert not np.array_equal(first[0], other[0]), "stratified_split with different seeds gave the same split"


@pytest.mark.points(2)
def test_k_fold_indices_are_disjoint_and_cover_the_data(student):
    for n, k in [(20, 4), (23, 5), (10, 10)]:
        check_folds(student.k_fold_indices(n, k, seed=0), n, k, f"k_fold_indices({n}, k={k})")
    first = student.k_fold_indices(30, 3, seed=1)
    other = student.k_fold_indices(30, 3, seed=2)
    assert not np.array_equal(np.asarray(first[0][1]), np.asarray(other[0][1])), \
        "k_fold_indices with different seeds gave the same folds: shuffle with the seed"


@pytest.mark.points(2)
def test_cross_validate_returns_one_score_per_fold(student):
    X, y, *_ = data.digits()
    X, y = X[:300], y[:300]
    config = dict(hidden_dim=32, lr=0.3, weight_scale=0.1, epochs=5, batch_size=20)
    scores = as_array(student.cross_validate(X, y, k=3, seed=0, **config), "cross_validate(X, y, k=3)")
    assert_shape(scores, (3,), "cross_validate(X, y, k=3)")
    folds = student.k_fold_indices(300, 3, seed=0)
    for i, (train, val) in enumerate(folds):
        train, val = np.asarray(train), np.asarray(val)
        expected = student.evaluate(X[train], y[train], X[val], y[val], **config)
        assert_close(scores[i], expected, f"cross_validate's score of fold {i} (evaluate on k_fold_indices' fold {i})")
    assert np.all((scores > 0.5) & (scores <= 1)), f"cross_validate's accuracies {scores} are implausible"


@pytest.mark.points(1)
def test_fit_model_seeds_the_network_and_the_batches(student):
    """fit_model(..., seed=s) is TwoLayerNet(..., seed=s) trained by train_with_schedule(..., seed=s)."""
    X, y, *_ = data.digits()
    X, y = X[:120], y[:120]
    model = student.fit_model(X, y, hidden_dim=12, weight_scale=0.05, lr=0.3, epochs=2, batch_size=40, seed=4,
                              schedule="step", step_size=1, gamma=0.5)
    expected = student.TwoLayerNet(64, 12, int(y.max()) + 1, weight_scale=0.05, reg=0.0, seed=4)
    student.train_with_schedule(expected, X, y, lr=0.3, epochs=2, batch_size=40, schedule="step", seed=4,
                                step_size=1, gamma=0.5)
    params, want = fetch(model.params), fetch(expected.params)
    for name, value in want.items():
        assert_close(params.get(name), value, f"params[{name!r}] of fit_model(X, y, ..., seed=4): the seed should "
                     "go to TwoLayerNet and to train_with_schedule")


# -- search

@pytest.mark.points(2)
def test_sample_config_draws_learning_rates_log_uniformly(student):
    space = {"lr": ("log", 1e-4, 1.0), "momentum": ("uniform", 0.5, 0.9), "width": [16, 32, 64]}
    rng = np.random.default_rng(0)
    draws = [student.sample_config(space, int(seed)) for seed in rng.integers(0, 2 ** 31, size=400)]
    for draw in draws[:3]:
        if not isinstance(draw, dict) or list(draw) != list(space):
            raise AssertionError(f"sample_config should return a dict with the keys {list(space)}, got {draw!r}")
    log_lr = np.log10([float(d["lr"]) for d in draws])
    momentum = np.array([float(d["momentum"]) for d in draws])
    assert log_lr.min() >= -4 and log_lr.max() <= 0, "lr drawn outside ('log', 1e-4, 1.0)"
    assert momentum.min() >= 0.5 and momentum.max() <= 0.9, "momentum drawn outside ('uniform', 0.5, 0.9)"
    # log10(lr) ~ U(-4, 0): mean -2, standard deviation 4 / sqrt(12); the mean of 400 draws
    # lies within 5 standard errors of -2 unless the draws are not log-uniform
    tolerance = 5 * 4 / np.sqrt(12 * 400)
    assert abs(log_lr.mean() + 2) < tolerance, (f"the mean of log10(lr) over 400 draws is {log_lr.mean():.2f}; "
                                                "log-uniform in [1e-4, 1] gives -2")
    assert abs(momentum.mean() - 0.7) < 5 * 0.4 / np.sqrt(12 * 400), "momentum is not uniform in [0.5, 0.9]"
    widths = [int(d["width"]) for d in draws]
    for width in (16, 32, 64):
        assert abs(widths.count(width) / 400 - 1 / 3) < 5 * np.sqrt(2 / 9 / 400), \
            f"width {width} was drawn {widths.count(width)} times in 400 draws from [16, 32, 64]"


@pytest.mark.points(2)
def test_grid_search_tries_every_combination(student):
    X, y, *_ = data.digits()
    grid = {"lr": [0.02, 0.5], "hidden_dim": [8, 16, 32]}
    best, results = student.grid_search(X[:200], y[:200], X[200:300], y[200:300], grid, epochs=3, weight_scale=0.1,
                                        batch_size=20)
    if not isinstance(results, list) or len(results) != 6:
        raise AssertionError("grid_search over a 2 x 3 grid should return 6 results")
    tried = sorted((float(r["lr"]), int(r["hidden_dim"])) for r in results)
    assert tried == sorted(itertools.product([0.02, 0.5], [8, 16, 32])), f"grid_search tried {tried}"
    scores = [float(r["score"]) for r in results]
    top = results[int(np.argmax(scores))]
    assert {k: best[k] for k in grid} == {k: top[k] for k in grid}, \
        f"grid_search's best {best} is not the configuration with the highest score"
    again = student.evaluate(X[:200], y[:200], X[200:300], y[200:300], epochs=3, weight_scale=0.1, batch_size=20,
                           **best)
    assert_close(again, max(scores), "the score of grid_search's best configuration, evaluated again")


# -- augmentation

@pytest.mark.points(2)
def test_brightness_adds_one_offset_per_image(student, grader, rng):
    images = rng.uniform(0.3, 0.7, size=(200, 5, 6))
    out = as_array(student.adjust_brightness(images, 0.2, rng=1), "adjust_brightness(images, 0.2)")
    assert_unchanged(grader, "adjust_brightness(images, 0.2)")
    assert_shape(out, images.shape, "adjust_brightness(images, 0.2)")
    delta = (out - images).reshape(200, -1)
    assert np.allclose(delta, delta[:, :1]), "adjust_brightness should add the same offset to every pixel of an image"
    delta = delta[:, 0]
    assert np.all(np.abs(delta) <= 0.2 + 1e-12), "the offsets should lie in [-max_delta, max_delta]"
    # U(-0.2, 0.2): mean 0, standard deviation 0.2 / sqrt(3)
    assert abs(delta.mean()) < 5 * 0.2 / np.sqrt(3 * 200) and abs(delta.std() - 0.2 / np.sqrt(3)) < 0.025, \
        "the offsets should be uniform in [-max_delta, max_delta], one per image"
    clipped = as_array(student.adjust_brightness(rng.uniform(0, 1, size=(50, 4, 4)), 0.5, rng=2),
                       "adjust_brightness")
    assert clipped.min() >= 0 and clipped.max() <= 1, "adjust_brightness should clip to [low, high] = [0, 1]"


@pytest.mark.points(2)
def test_contrast_scales_deviations_from_each_image_mean(student, grader, rng):
    images = rng.uniform(0.35, 0.65, size=(100, 2, 4, 5))
    out = as_array(student.adjust_contrast(images, 0.5, 1.5, rng=3), "adjust_contrast(images, 0.5, 1.5)")
    assert_unchanged(grader, "adjust_contrast(images, 0.5, 1.5)")
    assert_shape(out, images.shape, "adjust_contrast on a (100, 2, 4, 5) batch")
    mean = images.mean(axis=(-2, -1), keepdims=True)
    assert_close(out.mean(axis=(-2, -1), keepdims=True), mean,
                 "the mean of each image and channel after adjust_contrast (no clipping needed here)")
    factor = (out - mean) / (images - mean)
    assert np.allclose(factor, factor[:, :1, :1, :1]), "adjust_contrast should use one factor per image"
    factor = factor[:, 0, 0, 0]
    assert factor.min() >= 0.5 - 1e-9 and factor.max() <= 1.5 + 1e-9, "the factors should lie in [lower, upper]"
    assert factor.max() - factor.min() > 0.8, "the factors should spread over [lower, upper]"
    clipped = as_array(student.adjust_contrast(rng.uniform(0, 1, size=(20, 6, 6)), 2.0, 3.0, rng=4),
                       "adjust_contrast")
    assert clipped.min() >= 0 and clipped.max() <= 1, "adjust_contrast should clip to [low, high] = [0, 1]"


@pytest.mark.points(2)
def test_random_crop_reaches_every_shift_equally(student, grader, rng):
    images = rng.uniform(0.1, 1.0, size=(300, 5, 6))
    out = as_array(student.random_crop(images, 1, rng=5), "random_crop(images, padding=1)")
    assert_unchanged(grader, "random_crop(images, padding=1)")
    assert_shape(out, images.shape, "random_crop(images, padding=1)")
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    offsets = []
    for n in range(len(images)):
        offset = crop_offset(padded[n], out[n])
        if offset is None:
            raise AssertionError(f"image {n} of random_crop(images, 1) is not a 5 x 6 window of the zero-padded image")
        offsets.append(offset)
    counts = {offset: offsets.count(offset) for offset in itertools.product(range(3), range(3))}
    missing = [offset for offset, count in counts.items() if count == 0]
    assert not missing, f"random_crop(images, padding=1) never cut at the corners {missing}"
    # 300 draws from 9 equally likely corners: each about 33 +- 5.4
    assert all(abs(count - 300 / 9) < 5 * np.sqrt(300 / 9 * 8 / 9) for count in counts.values()), \
        f"the corners are not equally likely: {counts}"


@pytest.mark.points(1)
def test_horizontal_flip_mirrors_the_last_axis(student, grader, rng):
    images = rng.uniform(size=(400, 3, 4, 5))
    out = as_array(student.horizontal_flip(images, p=0.5, rng=6), "horizontal_flip(images, p=0.5)")
    assert_unchanged(grader, "horizontal_flip(images, p=0.5)")
    assert_shape(out, images.shape, "horizontal_flip on a (400, 3, 4, 5) batch")
    same = np.all(out == images, axis=(1, 2, 3))
    mirrored = np.all(out == images[..., ::-1], axis=(1, 2, 3))
    assert np.all(same | mirrored), "every image should be either unchanged or mirrored left-right (last axis)"
    assert abs(mirrored.mean() - 0.5) < 5 * np.sqrt(0.25 / 400), f"{mirrored.mean():.2f} of the images flipped, p=0.5"


@pytest.mark.points(2)
def test_augment_keeps_each_label_with_its_image(student, grader, rng):
    images, labels = rng.uniform(size=(64, 7, 7)), rng.integers(0, 10, size=64)
    out, new_labels = student.augment(images, labels, rng=7, flip=0.5)
    assert_unchanged(grader, "augment(images, labels, flip=0.5)")
    out = as_array(out, "the images returned by augment")
    assert_close(new_labels, labels, "the labels returned by augment (they should not change)")
    for n in range(64):
        if not (np.allclose(out[n], images[n]) or np.allclose(out[n], images[n, :, ::-1])):
            raise AssertionError(f"image {n} of augment(images, labels, flip=0.5) is neither image {n} nor its "
                                 "mirror: the images were reordered")
    out, new_labels = student.augment(images, labels, rng=8, max_delta=0.3, contrast=(0.5, 2.0), padding=2, flip=0.5)
    out = as_array(out, "the images returned by augment")
    assert_shape(out, images.shape, "augment with every transformation")
    assert out.min() >= 0 and out.max() <= 1, "augment should keep the values in [0, 1]"
    assert_close(new_labels, labels, "the labels returned by augment with every transformation")


@pytest.mark.points(1)
def test_augment_applies_every_transformation_with_one_generator(student, rng):
    images, labels = 0.5 + 0.05 * rng.standard_normal((200, 6, 6)), np.arange(200)
    out = as_array(student.augment(images, labels, rng=9, contrast=(0.5, 1.5))[0], "augment")
    factor = np.std(out, axis=(1, 2)) / np.std(images, axis=(1, 2))
    assert factor.min() < 0.6 and factor.max() > 1.4, (f"augment(..., contrast=(0.5, 1.5)) scaled the images by "
                                                       f"{factor.min():.2f} to {factor.max():.2f}, not over [0.5, 1.5]")
    out = as_array(student.augment(images, labels, rng=9, padding=2)[0], "augment")
    assert np.mean([not np.array_equal(a, b) for a, b in zip(out, images)]) > 0.8, \
        "augment(..., padding=2) left most images where they were: is the random crop applied?"
    out = student.augment(images, labels, rng=9, flip=1.0)[0]
    assert_close(out, images[..., ::-1], "augment(..., flip=1.0), which mirrors every image")
    out = student.augment(images, labels, rng=9, max_delta=0.1, contrast=(0.5, 1.5))[0]
    again = student.adjust_contrast(student.adjust_brightness(images, 0.1, rng=9), 0.5, 1.5, rng=9)
    assert not np.allclose(np.asarray(out), np.asarray(again)), \
        "augment(..., rng=9) drew its contrast factors from a new generator seeded with 9: every step should " \
        "draw from one generator, np.random.default_rng(rng)"


# -- initialization

def check_variance(w, variance, what):
    """Mean 0 and variance ``variance`` within 6 standard errors (from the sample's own kurtosis)."""
    w = as_array(w, what).ravel().astype(np.float64)
    n = w.size
    assert abs(w.mean()) < 6 * np.sqrt(variance / n), f"{what} has mean {w.mean():.3g}, expected 0"
    second, fourth = np.mean(w ** 2), np.mean(w ** 4)
    standard_error = np.sqrt(max(fourth - second ** 2, 0) / n)
    if not abs(second - variance) < 6 * standard_error + 1e-15:
        raise AssertionError(f"{what} has variance {second:.4g}, expected {variance:.4g}")


@pytest.mark.points(3)
def test_initialize_draws_the_right_variance(student):
    fan_in, fan_out = 250, 160
    expected = {"small": 1e-4, "large": 1.0, "xavier": 1 / fan_in, "he": 2 / fan_in}
    for method, variance in expected.items():
        w = student.initialize(fan_in, fan_out, method, rng=0)
        assert_shape(w, (fan_in, fan_out), f"initialize({fan_in}, {fan_out}, {method!r})")
        check_variance(w, variance, f"initialize({fan_in}, {fan_out}, {method!r})")
    zeros = as_array(student.initialize(fan_in, fan_out, "zeros", rng=0), "initialize(..., 'zeros')")
    assert_shape(zeros, (fan_in, fan_out), "initialize(..., 'zeros')")
    assert not zeros.any(), "initialize(..., 'zeros') should be all zeros"
    assert not np.array_equal(np.asarray(student.initialize(5, 5, "he", rng=1)),
                              np.asarray(student.initialize(5, 5, "he", rng=2))), \
        "initialize gave the same weights for different seeds"


@pytest.mark.points(2)
def test_zero_initialization_keeps_hidden_units_identical(student, rng):
    X, y = rng.normal(size=(60, 6)), rng.integers(0, 3, size=60)
    model = student.make_deep_mlp([6, 5, 4, 3], activation="tanh", init="zeros", seed=0)
    student.train_with_schedule(model, X, y, lr=0.5, epochs=3, batch_size=20, seed=0)
    hidden = student.hidden_activations(model, X)
    if not isinstance(hidden, list) or len(hidden) != 2:
        raise AssertionError("hidden_activations of a [6, 5, 4, 3] network should return a list of 2 arrays")
    for k, (values, width) in enumerate(zip(hidden, (5, 4))):
        values = as_array(values, "hidden_activations")
        assert_shape(values, (60, width), f"the activations of hidden layer {k + 1}")
        assert np.all(values == values[:, :1]), f"after training from zeros, the units of hidden layer {k + 1} differ"


@pytest.mark.points(2)
def test_he_initialization_keeps_relu_activations_alive(student, rng):
    X = rng.standard_normal((300, 128))
    sizes = [128] * 11 + [10]
    stds = {}
    for init in ("small", "he"):
        model = student.make_deep_mlp(sizes, activation="relu", init=init, seed=1)
        hidden = student.hidden_activations(model, X)
        if not isinstance(hidden, list) or len(hidden) != 10:
            raise AssertionError("hidden_activations of a network with 10 hidden layers should return 10 arrays")
        stds[init] = [float(np.std(as_array(h, "hidden_activations"))) for h in hidden]
    he = stds["he"]
    # He keeps E[a^2] about constant; the std of the last layer stays within a factor 2 of the first
    assert 0.5 < he[-1] / he[0] < 2, f"with He initialization the std of the activations went from {he[0]:.3g} " \
                                     f"to {he[-1]:.3g} over 10 ReLU layers"
    assert stds["small"][-1] < 1e-6, "with std 0.01 the activations should vanish over 10 layers"


@pytest.mark.points(1)
def test_cells_pasted_from_02_and_03_hold(student, rng):
    """The pasted cells keep their conventions (compared with torch): ReLU and tanh at and around
    0, as functions and as layer objects; softmax cross-entropy exact for scores near +-1000;
    Affine's w drawn with standard deviation weight_scale and b = 0; Sequential's loss with
    0.5 * reg * sum(w^2), its gradients and its input gradient."""
    x, dout = np.array([[0.0, 0.5, -0.5, 2.0]]), rng.normal(size=(1, 4))
    for name, layer, torch_function in [("relu", "ReLU", torch.relu), ("tanh", "Tanh", torch.tanh)]:
        x_t = torch.tensor(x, requires_grad=True)
        out_t = torch_function(x_t)
        out_t.backward(torch.tensor(dout))
        out, cache = getattr(student, f"{name}_forward")(x)
        assert_close(out, out_t.detach(), f"{name}_forward(x) for x = {x.tolist()}")
        assert_close(getattr(student, f"{name}_backward")(dout, cache), x_t.grad,
                     f"{name}_backward(dout, cache) for x = {x.tolist()}")
        unit = getattr(student, layer)()
        assert_close(unit.forward(x), out_t.detach(), f"{layer}().forward(x)")
        assert_close(unit.backward(dout), x_t.grad, f"{layer}().backward(dout) after forward(x)")
    scores, y = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]]), np.array([0, 2])
    scores_t = torch.tensor(scores, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(scores_t, torch.tensor(y))
    expected.backward()
    loss, dscores = student.softmax_cross_entropy(scores, y)
    assert_close(loss, expected.item(), "softmax_cross_entropy's loss for rows of scores near 1000 and -1000")
    assert_close(dscores, scores_t.grad, "softmax_cross_entropy's dscores for rows near 1000 and -1000")
    params = fetch(student.Affine(60, 30, weight_scale=0.02, seed=3).params)
    assert_shape(params.get("w"), (60, 30), "Affine(60, 30).params['w']")
    std = float(np.std(params["w"]))  # of 1800 draws: within 10% of 0.02 with overwhelming probability
    assert 0.018 < std < 0.022, f"Affine(60, 30, weight_scale=0.02)'s w has standard deviation {std:.4f}"
    assert_close(params.get("b"), np.zeros(30), "Affine(60, 30).params['b'] (zeros)")
    X, y, dout = rng.normal(size=(10, 6)), rng.integers(0, 3, size=10), rng.normal(size=(10, 3))
    model = student.Sequential(student.Affine(6, 20, weight_scale=1.0, seed=1), student.ReLU(),
                               student.Affine(20, 3, weight_scale=1.0, seed=2), reg=0.3)
    scores = assert_two_layer_sequential_matches_torch(model, fetch(model.params), X, y, dout, reg=0.3)
    assert_close(model.predict(X), scores.argmax(dim=1), "Sequential.predict(X) (the highest score)")
