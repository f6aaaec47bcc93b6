"""Hidden tests for assignment 06: never released. Expected values come from the reference."""

import itertools

import numpy as np
import pytest

from autograder.student import data, heldout
from autograder.student.checks import (accuracy, as_array, assert_at_least, assert_close, assert_shape,
                                       assert_unchanged)
from autograder.grading.proxy import fetch
from reference import initialization as init
from reference import losses, networks, training


def search_result(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[0], dict) \
            or not isinstance(value[1], list):
        raise AssertionError(f"{what} should return (best configuration dict, list of result dicts)")
    return value


@pytest.mark.points(1)
def test_learning_rate_matches_reference(student):
    cases = [("step", dict(step_size=4, gamma=0.3)), ("exponential", dict(gamma=0.95)),
             ("inverse_time", dict(decay_rate=0.05)), ("inverse_sqrt", {}), (None, {})]
    for schedule, args in cases:
        for epoch in (0, 1, 4, 9, 30):
            assert_close(student.learning_rate(epoch, 0.03, schedule, **args),
                         training.learning_rate(epoch, 0.03, schedule, **args),
                         f"learning_rate({epoch}, 0.03, {schedule!r}, **{args})")


@pytest.mark.points(2)
def test_train_with_schedule_matches_reference(student, rng):
    X, y = rng.normal(size=(45, 7)), rng.integers(0, 4, size=45)
    X_val, y_val = rng.normal(size=(12, 7)), rng.integers(0, 4, size=12)
    for schedule, args in [("inverse_sqrt", {}), ("exponential", dict(gamma=0.7))]:
        model = student.TwoLayerNet(7, 9, 4, weight_scale=0.2, reg=0.01, seed=5)
        expected_model = networks.TwoLayerNet(7, 9, 4, weight_scale=0.2, reg=0.01, seed=5)
        options = dict(lr=0.3, epochs=4, batch_size=10, schedule=schedule, seed=8, X_val=X_val, y_val=y_val, **args)
        history = student.train_with_schedule(model, X, y, **options)
        expected = training.train_with_schedule(expected_model, X, y, **options)
        what = f"train_with_schedule(..., schedule={schedule!r})"
        if not isinstance(history, dict):
            raise AssertionError(f"{what} should return a history dict")
        for key in ("lr", "loss", "train_acc", "val_acc"):
            if key not in history:
                raise AssertionError(f"{what}'s history has no key {key!r}")
            assert_close(history[key], expected[key], f"history[{key!r}] of {what}")
        params = fetch(model.params)
        for name, value in expected_model.params.items():
            assert_close(params[name], value, f"model.params[{name!r}] after {what}")


@pytest.mark.points(1)
def test_overfit_one_batch_matches_reference(student, rng):
    X, y = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    model = student.TwoLayerNet(5, 20, 3, weight_scale=0.3, seed=4)
    expected_model = networks.TwoLayerNet(5, 20, 3, weight_scale=0.3, seed=4)
    losses = student.overfit_one_batch(model, X, y, lr=0.2, steps=30)
    assert_close(losses, training.overfit_one_batch(expected_model, X, y, lr=0.2, steps=30),
                 "the losses of overfit_one_batch(model, X, y, lr=0.2, steps=30)")


@pytest.mark.points(2)
def test_stratified_split_on_rare_classes(student):
    """Three parts of an imbalanced label set: every class's share within one sample everywhere."""
    rng = np.random.default_rng(12)
    y = rng.permutation(np.repeat(np.arange(6), [90, 45, 30, 21, 9, 5]))
    for fractions, seed in [((0.7, 0.15, 0.15), 0), ((3, 1), 9)]:
        parts = student.stratified_split(y, fractions, seed=seed)
        what = f"stratified_split(y, {fractions}, seed={seed})"
        if not isinstance(parts, (tuple, list)) or len(parts) != len(fractions):
            raise AssertionError(f"{what} should return {len(fractions)} index arrays")
        parts = [as_array(p, what).astype(np.int64) for p in parts]
        everything = np.sort(np.concatenate(parts))
        if not np.array_equal(everything, np.arange(len(y))):
            raise AssertionError(f"the parts of {what} should be disjoint and hold every index once")
        totals = np.bincount(y)
        share = np.asarray(fractions, dtype=float) / np.sum(fractions)
        for k, part in enumerate(parts):
            counts = np.bincount(y[part], minlength=6)
            if np.any(np.abs(counts - share[k] * totals) > 1):
                raise AssertionError(f"part {k} of {what} has {counts.tolist()} samples per class, expected about "
                                     f"{np.round(share[k] * totals, 1).tolist()}")


@pytest.mark.points(2)
def test_k_fold_indices_on_other_sizes(student):
    for n, k, seed in [(101, 7, 3), (12, 2, 0)]:
        folds = student.k_fold_indices(n, k, seed=seed)
        what = f"k_fold_indices({n}, {k}, seed={seed})"
        if not isinstance(folds, (list, tuple)) or len(folds) != k:
            raise AssertionError(f"{what} should return {k} pairs")
        validation = []
        for i, (train, val) in enumerate(folds):
            train, val = as_array(train, what).astype(np.int64), as_array(val, what).astype(np.int64)
            if not np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n)):
                raise AssertionError(f"fold {i} of {what}: training and validation indices should split 0..{n - 1}")
            validation.append(val)
        if not np.array_equal(np.sort(np.concatenate(validation)), np.arange(n)):
            raise AssertionError(f"the validation folds of {what} overlap or miss samples")
        sizes = [len(v) for v in validation]
        assert max(sizes) - min(sizes) <= 1, f"the folds of {what} have sizes {sizes}"


@pytest.mark.points(2)
def test_cross_validate_matches_reference(student):
    X, y, *_ = data.digits(seed=5)
    X, y = X[:250], y[:250]
    config = dict(hidden_dim=20, lr=0.2, weight_scale=0.1, reg=1e-3, epochs=4, batch_size=20,
                  schedule="step", step_size=2, gamma=0.5)
    scores = as_array(student.cross_validate(X, y, k=4, seed=2, **config), "cross_validate(X, y, k=4)")
    assert_shape(scores, (4,), "cross_validate(X, y, k=4)")
    folds = student.k_fold_indices(250, 4, seed=2)
    for i, (train, val) in enumerate(folds):
        train, val = np.asarray(train), np.asarray(val)
        expected = training.evaluate(X[train], y[train], X[val], y[val], **config)
        assert_close(scores[i], expected, f"the score of fold {i} of cross_validate(X, y, k=4, **{config})")


@pytest.mark.points(1)
def test_fit_model_matches_reference(student):
    X, y, _, _, X_test, _ = data.digits(seed=6)
    config = dict(hidden_dim=16, weight_scale=0.02, reg=1e-4, lr=0.4, epochs=3, batch_size=40, seed=3,
                  schedule="inverse_time", decay_rate=0.5)
    model = student.fit_model(X[:300], y[:300], **config)
    expected = training.fit_model(X[:300], y[:300], **config)
    params = fetch(model.params)
    for name, value in expected.params.items():
        assert_close(params[name], value, f"model.params[{name!r}] of fit_model(X, y, **{config})")


@pytest.mark.points(2)
def test_random_search_evaluates_distinct_draws(student):
    X, y, *_ = data.digits(seed=7)
    space = {"lr": ("log", 0.01, 1.0), "reg": ("log", 1e-6, 1e-2), "hidden_dim": [8, 16]}
    best, results = search_result(
        student.random_search(X[:200], y[:200], X[200:320], y[200:320], space, n_trials=6, seed=3,
                              epochs=3, weight_scale=0.1, batch_size=20), "random_search")
    if len(results) != 6:
        raise AssertionError(f"random_search(..., n_trials=6) returned {len(results)} results")
    lrs = [float(row["lr"]) for row in results]
    if len(set(lrs)) != 6:
        raise AssertionError(f"random_search drew the learning rates {lrs}: every trial should draw anew")
    for row in results:
        assert 0.01 <= row["lr"] <= 1.0 and 1e-6 <= row["reg"] <= 1e-2 and row["hidden_dim"] in (8, 16), \
            f"random_search tried {row}, outside the space"
    scores = [float(row["score"]) for row in results]
    top = results[int(np.argmax(scores))]
    assert {k: best[k] for k in space} == {k: top[k] for k in space}, \
        f"random_search's best {best} is not the trial with the highest score"
    for row in results[:3]:
        config = {k: row[k] for k in space}
        expected = training.evaluate(X[:200], y[:200], X[200:320], y[200:320], epochs=3, weight_scale=0.1,
                                       batch_size=20, **config)
        assert_close(row["score"], expected, f"the score random_search reports for {config}")


@pytest.mark.points(1)
def test_grid_search_scores_match_reference(student):
    X, y, *_ = data.digits(seed=8)
    grid = {"reg": [0.0, 0.1], "lr": [0.03, 0.3]}
    best, results = search_result(
        student.grid_search(X[:150], y[:150], X[150:250], y[150:250], grid, epochs=3, hidden_dim=12,
                            weight_scale=0.1, batch_size=20), "grid_search")
    expected_best, expected = training.grid_search(X[:150], y[:150], X[150:250], y[150:250], grid, epochs=3,
                                                   hidden_dim=12, weight_scale=0.1, batch_size=20)
    key = lambda row: (float(row["reg"]), float(row["lr"]))  # noqa: E731
    got = {key(row): float(row["score"]) for row in results}
    want = {key(row): row["score"] for row in expected}
    if set(got) != set(want):
        raise AssertionError(f"grid_search tried {sorted(got)}, expected {sorted(want)}")
    for config, score in want.items():
        assert_close(got[config], score, f"grid_search's score for (reg, lr) = {config}")
    assert max(got.values()) == got[key(best)], f"grid_search's best {best} does not have the highest score"


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_random_search_finds_a_configuration_above_threshold(student, secret, thresholds):
    """Random search (8 trials) on a validation part; its best configuration, retrained, on test digits."""
    view = heldout.rotated(data.digits(seed=3), secret)
    space = {"lr": ("log", 0.01, 1.0), "reg": ("log", 1e-6, 1e-2), "hidden_dim": [32, 64, 128]}
    fixed = dict(epochs=20, batch_size=50, weight_scale=0.01, schedule="inverse_time", decay_rate=0.1)
    best, _ = search_result(student.random_search(view.X_train, view.y_train, view.X_val, view.y_val, space,
                                                  n_trials=8, seed=0, **fixed), "random_search")
    config = {name: best[name] for name in space}
    X, y = np.concatenate([view.X_train, view.X_val]), np.concatenate([view.y_train, view.y_val])
    model = student.fit_model(X, y, **config, **fixed)
    held_out = accuracy(model.predict(view.X_test), view.y_test, f"fit_model(X, y, **{config}).predict(X_test)")
    assert_at_least(held_out, thresholds["random_search_accuracy"],
                    f"the held-out accuracy of random_search's best configuration {config}")


@pytest.mark.points(2)
def test_augmentation_on_channels_and_another_range(student, grader, rng):
    """Brightness and contrast on (N, C, H, W) images in [-1, 1]: per image, clipped to the range."""
    images = rng.uniform(-0.5, 0.5, size=(150, 3, 4, 4))
    out = as_array(student.adjust_brightness(images, 0.4, rng=1, low=-1.0, high=1.0), "adjust_brightness")
    assert_unchanged(grader, "adjust_brightness(images, 0.4, low=-1, high=1)")
    delta = (out - images).reshape(150, -1)
    assert np.allclose(delta, delta[:, :1]), "adjust_brightness on (N, C, H, W): one offset per image, all channels"
    assert np.abs(delta[:, 0]).max() > 0.35, "adjust_brightness(images, 0.4): offsets should reach about +-0.4"
    wide = rng.uniform(-1.0, 1.0, size=(40, 2, 5, 5))
    for name, call in [("adjust_brightness", lambda: student.adjust_brightness(wide, 0.8, rng=2, low=-1.0, high=1.0)),
                       ("adjust_contrast", lambda: student.adjust_contrast(wide, 1.5, 3.0, rng=2, low=-1.0, high=1.0))]:
        result = as_array(call(), name)
        assert_unchanged(grader, f"{name}(images, ..., low=-1, high=1)")
        assert_shape(result, wide.shape, name)
        assert result.min() >= -1 and result.max() <= 1, f"{name}(..., low=-1, high=1) left the range [-1, 1]"
        assert result.min() < -0.99 and result.max() > 0.99, f"{name}(..., low=-1, high=1) clipped to the wrong range"


@pytest.mark.points(2)
def test_random_crop_with_channels_and_padding_two(student, grader, rng):
    images = rng.uniform(0.1, 1.0, size=(250, 2, 4, 4))
    out = as_array(student.random_crop(images, 2, rng=3), "random_crop(images, padding=2)")
    assert_unchanged(grader, "random_crop(images, padding=2)")
    assert_shape(out, images.shape, "random_crop on a (250, 2, 4, 4) batch")
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    seen = set()
    for n in range(len(images)):
        found = [(i, j) for i, j in itertools.product(range(5), range(5))
                 if np.array_equal(padded[n, :, i:i + 4, j:j + 4], out[n])]
        if not found:
            raise AssertionError(f"image {n} of random_crop(images, 2) is not one window of its padded image "
                                 "(all channels shifted alike)")
        seen.add(found[0])
    missing = sorted(set(itertools.product(range(5), range(5))) - seen)
    assert not missing, f"random_crop(images, padding=2) never cut at the corners {missing} in 250 images"


@pytest.mark.points(1)
def test_augmentation_is_seeded(student, grader, rng):
    images, labels = rng.uniform(size=(20, 6, 6)), np.arange(20)
    options = dict(max_delta=0.2, contrast=(0.8, 1.2), padding=1, flip=0.5)
    first, _ = student.augment(images, labels, rng=4, **options)
    assert_unchanged(grader, "augment(images, labels, ...)")
    again, _ = student.augment(images, labels, rng=4, **options)
    other, _ = student.augment(images, labels, rng=5, **options)
    assert_close(again, first, "augment twice with the same seed")
    assert not np.allclose(np.asarray(other), np.asarray(first)), "augment with different seeds gave the same batch"


@pytest.mark.points(2)
def test_initialize_variances_on_other_shapes(student):
    for fan_in, fan_out in [(40, 900), (1000, 30)]:
        for method, variance in [("xavier", 1 / fan_in), ("he", 2 / fan_in), ("small", 1e-4)]:
            what = f"initialize({fan_in}, {fan_out}, {method!r})"
            w = as_array(student.initialize(fan_in, fan_out, method, rng=11), what).astype(np.float64)
            assert_shape(w, (fan_in, fan_out), what)
            n = w.size
            second, fourth = np.mean(w ** 2), np.mean(w ** 4)
            tolerance = 6 * np.sqrt(max(fourth - second ** 2, 0) / n)
            assert abs(w.mean()) < 6 * np.sqrt(variance / n), f"{what} has mean {w.mean():.3g}, expected 0"
            assert abs(second - variance) < tolerance, f"{what} has variance {second:.4g}, expected {variance:.4g}"


@pytest.mark.points(2)
def test_deep_network_activation_statistics_match_reference(student, rng):
    """Per-layer activation std of 10-layer tanh and ReLU networks, within 30% of the reference's."""
    X = rng.standard_normal((400, 200))
    sizes = [200] * 11 + [5]
    for activation, method in [("tanh", "xavier"), ("tanh", "large"), ("relu", "he"), ("relu", "xavier"),
                               ("tanh", "small")]:
        model = student.make_deep_mlp(sizes, activation=activation, init=method, seed=2)
        hidden = student.hidden_activations(model, X)
        what = f"make_deep_mlp(..., activation={activation!r}, init={method!r})"
        if not isinstance(hidden, list) or len(hidden) != 10:
            raise AssertionError(f"hidden_activations of {what} should return 10 arrays")
        got = np.array([np.std(as_array(h, "hidden_activations")) for h in hidden])
        expected = np.array([np.std(h) for h in init.hidden_activations(
            init.make_deep_mlp(sizes, activation=activation, init=method, seed=2), X)])
        ratio = got / expected
        if not np.all((ratio > 0.7) & (ratio < 1.3)):
            layer = int(np.argmax((ratio <= 0.7) | (ratio >= 1.3)))
            raise AssertionError(f"the activations of hidden layer {layer + 1} of {what} have std {got[layer]:.3g}, "
                                 f"expected about {expected[layer]:.3g}")


@pytest.mark.points(1)
def test_deep_network_layers_get_different_weights(student):
    model = student.make_deep_mlp([6, 6, 6, 6, 2], activation="relu", init="he", seed=0)
    weights = [value for name, value in sorted(fetch(model.params).items()) if name.endswith(".w")]
    assert len(weights) == 4, f"make_deep_mlp([6, 6, 6, 6, 2]) should have 4 weight matrices, found {len(weights)}"
    shapes = [np.shape(w) for w in weights]
    assert sorted(shapes) == sorted([(6, 6)] * 3 + [(6, 2)]), f"make_deep_mlp's weights have shapes {shapes}"
    square = [w for w in weights if np.shape(w) == (6, 6)]
    assert not np.allclose(square[0], square[1]) and not np.allclose(square[1], square[2]), \
        "make_deep_mlp gave two layers the same weights: draw every layer from one shared generator"


@pytest.mark.points(1)
def test_cells_carried_from_02_and_03_hold(student, rng):
    """The activations (at and around 0, as functions and as layers), the loss (also for rows
    near +-1000) and the affine layer's initialization that 06's networks are built from."""
    x, dout = np.array([[0.0, 0.5, -0.5, 2.0]]), rng.normal(size=(1, 4))
    for name, layer, out, dx in [("relu", "ReLU", np.maximum(x, 0), np.where(x > 0, dout, 0.0)),
                                 ("tanh", "Tanh", np.tanh(x), dout * (1 - np.tanh(x) ** 2))]:
        got, cache = getattr(student, f"{name}_forward")(x)
        assert_close(got, out, f"{name}_forward(x)")
        assert_close(getattr(student, f"{name}_backward")(dout, cache), dx, f"{name}_backward(dout, cache)")
        unit = getattr(student, layer)()
        unit.forward(x)
        assert_close(unit.backward(dout), dx, f"{layer}().backward(dout)")
    y = np.array([1, 0])
    for scores in (rng.normal(size=(2, 3)), np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]])):
        for what, got, want in zip(("loss", "dscores"), student.softmax_cross_entropy(scores, y),
                                   losses.softmax_cross_entropy(scores, y)):
            assert_close(got, want, f"softmax_cross_entropy's {what} for scores up to {np.abs(scores).max():.0f}")
    std = float(np.std(fetch(student.Affine(100, 20, weight_scale=0.05, seed=3).params)["w"]))
    assert 0.045 < std < 0.055, f"Affine(100, 20, weight_scale=0.05)'s w has standard deviation {std:.4f}"


@pytest.mark.points(1)
def test_sequential_matches_a_two_layer_net_with_its_weights(student, rng):
    X, y, dout = rng.normal(size=(10, 6)), rng.integers(0, 3, size=10), rng.normal(size=(10, 3))
    model = student.Sequential(student.Affine(6, 20, weight_scale=1.0, seed=1), student.ReLU(),
                               student.Affine(20, 3, weight_scale=1.0, seed=2), reg=0.3)
    names = {"W1": "0.w", "b1": "0.b", "W2": "2.w", "b2": "2.b"}
    params, net = fetch(model.params), networks.TwoLayerNet(6, 20, 3, reg=0.3)
    for name, key in names.items():
        assert_shape(params.get(key), net.params[name].shape, f"Sequential(...).params['{key}']")
        net.params[name][...] = params[key]
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = net.loss(X, y)
    assert_close(loss, expected_loss, "Sequential(..., reg=0.3).loss(X, y): cross-entropy + 0.5 * reg * sum(w^2)")
    for name, key in names.items():
        assert_close(grads.get(key), expected_grads[name], f"Sequential(..., reg=0.3).loss(X, y)'s grads['{key}']")
    assert_close(model.predict(X), net.predict(X), "Sequential.predict(X)")
    model.forward(X)
    hidden = X @ net.params["W1"] + net.params["b1"]
    assert_close(model.backward(dout), ((dout @ net.params["W2"].T) * (hidden > 0)) @ net.params["W1"].T,
                 "Sequential.backward(dout), the input gradient")


@pytest.mark.points(1)
def test_train_with_schedule_keeps_a_last_batch_of_one_sample(student, rng):
    X, y = rng.normal(size=(21, 4)), rng.integers(0, 3, size=21)
    history = student.train_with_schedule(student.TwoLayerNet(4, 5, 3), X, y, lr=0.1, epochs=2, batch_size=10)
    assert_shape(history.get("loss"), (6,), "history['loss'] for 2 epochs of 21 samples in batches of 10, 10 and 1")
