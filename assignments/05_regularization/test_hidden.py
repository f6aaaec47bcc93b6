"""Hidden tests for assignment 05: never released. Expected values come from the reference."""

import numpy as np
import pytest

from autograder.student import data, heldout
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_gradient, assert_shape,
                                       assert_unchanged)
from autograder.grading.proxy import fetch
from reference import activations, layers, losses, modules, networks
from reference import normalization as norm
from reference import regularization as reg
from reference.modules import BatchNorm


@pytest.fixture(scope="module")
def noisy():
    """300 training digits, 30% of them with a random label; clean test digits."""
    return data.with_noisy_labels(data.digits(seed=1), fraction=0.3, n_train=300, seed=1)


@pytest.mark.points(1)
def test_penalties_match_reference(student, grader, rng):
    w = rng.normal(size=(3, 4, 2))
    w[0, 0, 0] = 0.0
    for name in ("l1_penalty", "l2_penalty"):
        value, grad = getattr(student, name)(w, 0.07)
        assert_unchanged(grader, f"{name}(w, 0.07)")
        expected_value, expected_grad = getattr(reg, name)(w, 0.07)
        assert_close(value, expected_value, f"{name}(w, 0.07)")
        assert_close(grad, expected_grad, f"the gradient of {name}(w, 0.07)")


@pytest.mark.points(2)
def test_dropout_preserves_the_expectation(student):
    x = np.full((400, 250), 2.0)
    for p in (0.2, 0.75):
        out, _ = student.dropout_forward(x, p, rng=3)
        mean = float(np.mean(np.asarray(out)))
        assert abs(mean - 2.0) < 0.05, (f"the mean of dropout_forward(x, p={p}) is {mean:.3f}, expected "
                                        "about the mean of x, 2.0 (inverted dropout rescales)")


@pytest.mark.points(2)
def test_dropout_backward_uses_the_forward_mask(student, grader, rng):
    x, dout = rng.uniform(1.0, 2.0, size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    out, cache = student.dropout_forward(x, 0.8, rng=11)
    assert_unchanged(grader, "dropout_forward(x, 0.8)")
    assert_shape(out, x.shape, "dropout_forward on a 4 x 3 x 5 input")
    dx = student.dropout_backward(dout, cache)
    assert_unchanged(grader, "dropout_backward(dout, cache)")
    assert_close(dx, dout * np.asarray(out) / x, "dropout_backward(dout, cache) (the forward's scaled mask)")


@pytest.mark.points(2)
def test_batchnorm_forward_matches_reference(student, grader, rng):
    for n, d, momentum, eps in [(2, 3, 0.3, 1e-3), (17, 6, 0.1, 1e-5)]:
        x = rng.normal(-1.0, 4.0, size=(n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        mean, var = rng.normal(size=d), rng.uniform(0.5, 3.0, size=d)
        for train in (True, False):
            got = student.batchnorm_forward(x, gamma, beta, mean, var, train=train, momentum=momentum, eps=eps)
            assert_unchanged(grader, f"batchnorm_forward(..., train={train})")
            expected = norm.batchnorm_forward(x, gamma, beta, mean, var, train=train, momentum=momentum, eps=eps)
            mode = "training" if train else "test"
            what = f"batchnorm_forward on a {n} x {d} batch in {mode} mode"
            assert_close(got[0], expected[0], f"the output of {what}")
            assert_close(got[2], expected[2], f"the running mean returned by {what}")
            assert_close(got[3], expected[3], f"the running variance returned by {what}")


@pytest.mark.points(2)
def test_batchnorm_backward_matches_reference(student, grader, rng):
    x = rng.normal(0.5, 2.0, size=(13, 4))
    gamma, beta, dout = rng.normal(size=4), rng.normal(size=4), rng.normal(size=(13, 4))
    mean, var = np.zeros(4), np.ones(4)
    _, cache, _, _ = student.batchnorm_forward(x, gamma, beta, mean, var)
    got = student.batchnorm_backward(dout, cache)
    assert_unchanged(grader, "batchnorm_backward(dout, cache)")
    _, ref_cache, _, _ = norm.batchnorm_forward(x, gamma, beta, mean, var)
    for name, mine, expected in zip(("dx", "dgamma", "dbeta"), got, norm.batchnorm_backward(dout, ref_cache)):
        assert_close(mine, expected, f"batchnorm_backward's {name}")
    assert_gradient(got[0], lambda v: np.sum(norm.batchnorm_forward(v, gamma, beta, mean, var)[0] * dout), x,
                    "batchnorm_backward's dx")


@pytest.mark.points(2)
def test_batchnorm_layer_updates_running_statistics(student, rng):
    layer, expected = student.BatchNorm(3, momentum=0.25), BatchNorm(3, momentum=0.25)
    for step in range(4):
        x = rng.normal(2.0, 3.0, size=(6, 3))
        assert_close(layer.forward(x, train=True), expected.forward(x, train=True),
                     f"BatchNorm.forward in training, batch {step + 1}")
    x = rng.normal(size=(5, 3))
    assert_close(layer.forward(x, train=False), expected.forward(x, train=False), "BatchNorm.forward at test time")
    assert_close(fetch(layer.running_mean), expected.running_mean, "BatchNorm.running_mean after 4 training batches")
    assert_close(fetch(layer.running_var), expected.running_var, "BatchNorm.running_var after 4 training batches")
    layer.forward(rng.normal(size=(6, 3)), train=True)
    assert_shape(layer.backward(rng.normal(size=(6, 3))), (6, 3), "BatchNorm.backward(dout)")
    assert sorted(fetch(layer.grads)) == ["beta", "gamma"], "BatchNorm.grads should hold 'gamma' and 'beta'"


@pytest.mark.points(2)
def test_layernorm_matches_reference(student, grader, rng):
    x, gamma, beta = rng.normal(3.0, 2.0, size=(3, 7)), rng.normal(size=7), rng.normal(size=7)
    dout = rng.normal(size=(3, 7))
    out, cache = student.layernorm_forward(x, gamma, beta, eps=1e-3)
    assert_unchanged(grader, "layernorm_forward(x, gamma, beta, eps=1e-3)")
    expected_out, expected_cache = norm.layernorm_forward(x, gamma, beta, eps=1e-3)
    assert_close(out, expected_out, "layernorm_forward on a 3 x 7 batch")
    got = student.layernorm_backward(dout, cache)
    assert_unchanged(grader, "layernorm_backward(dout, cache)")
    for name, mine, expected in zip(("dx", "dgamma", "dbeta"), got, norm.layernorm_backward(dout, expected_cache)):
        assert_close(mine, expected, f"layernorm_backward's {name} on a 3 x 7 batch")


@pytest.mark.points(1)
def test_dropout_network_is_deterministic_at_test_time(student, rng):
    X = rng.normal(size=(20, 6))
    model = student.make_mlp(6, 40, 3, dropout=0.5, seed=1)
    first = model.forward(X, train=False)
    assert_close(model.forward(X, train=False), first, "make_mlp(..., dropout=0.5).forward(X, train=False) twice")
    assert not np.allclose(np.asarray(model.forward(X, train=True)), np.asarray(model.forward(X, train=True))), \
        "make_mlp(..., dropout=0.5).forward(X, train=True) gave the same output twice: no dropout layer?"


def trained_accuracy(student, view, **options):
    model = student.make_mlp(64, 256, 10, seed=0, **options)
    student.train(model, view.X_train, view.y_train, lr=0.1, epochs=200, batch_size=20, seed=0)
    return accuracy(model.predict(view.X_test), view.y_test, f"make_mlp(..., {options}).predict(X_test)")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_dropout_beats_an_overfitting_baseline(student, noisy, secret, thresholds):
    """Dropout 0.5 beats an unregularized network on digits with 30% wrong training labels."""
    view = heldout.rotated(noisy, secret)
    baseline = trained_accuracy(student, view)
    with_dropout = trained_accuracy(student, view, dropout=0.5)
    assert_at_least(with_dropout, thresholds["dropout_accuracy"], "the dropout network's test accuracy")
    assert_at_least(with_dropout - baseline, thresholds["dropout_gain"],
                    f"the gain of dropout over the unregularized network ({baseline:.3f})")


@pytest.mark.points(2)
@pytest.mark.time_limit(60)
def test_batchnorm_network_predicts_one_sample_at_a_time(student, secret, thresholds):
    """A batch-norm network classifies test digits one at a time, with its running statistics."""
    view = heldout.rotated(data.digits(seed=2), secret)
    model = student.make_mlp(64, 100, 10, batchnorm=True, seed=0)
    student.train(model, view.X_train[:500], view.y_train[:500], lr=0.1, epochs=30, batch_size=25, seed=0)
    predictions = np.concatenate([np.asarray(model.predict(view.X_test[i:i + 1])).reshape(-1)
                                  for i in range(0, 200)])
    held_out = accuracy(predictions, view.y_test[:200], "predict on single samples")
    assert_at_least(held_out, thresholds["batchnorm_single_sample_accuracy"],
                    "the batch-norm network's accuracy on test digits predicted one at a time")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_bagged_ensemble_is_at_least_as_good_as_its_best_member(student, noisy, secret, thresholds):
    """Five bagged networks on noisy digits: the ensemble is at least as good as its best member."""
    view = heldout.rotated(noisy, secret)
    models = student.bagging_fit(view.X_train, view.y_train, n_models=5, hidden_dim=100, seed=0, epochs=100,
                                 batch_size=20, lr=0.1)
    if not isinstance(models, (list, tuple)) or len(models) != 5:
        raise AssertionError("bagging_fit(..., n_models=5) should return a list of 5 models")
    members = [accuracy(m.predict(view.X_test), view.y_test, f"model {k} of bagging_fit")
               for k, m in enumerate(models)]
    if len(set(members)) == 1:
        raise AssertionError("all 5 models of bagging_fit have the same accuracy: are the bootstrap "
                             "samples (and seeds) different for each model?")
    ensemble = accuracy(student.bagging_predict(models, view.X_test), view.y_test, "bagging_predict(models, X_test)")
    assert_at_least(ensemble, thresholds["ensemble_accuracy"], "the ensemble's test accuracy")
    assert_at_least(ensemble - max(members), thresholds["ensemble_gain_over_best_member"],
                    f"the ensemble's accuracy ({ensemble:.3f}) minus its best member's ({max(members):.3f})")


def reference_mlp(params, reg):
    """A reference Sequential Affine - ReLU - Affine holding copies of ``params``."""
    missing = sorted({"0.w", "0.b", "2.w", "2.b"} - set(params))
    if missing:
        raise AssertionError(f"the Sequential's params have no {missing}")
    model = modules.Sequential(modules.Affine(*params["0.w"].shape), modules.ReLU(),
                               modules.Affine(*params["2.w"].shape), reg=reg)
    for name, value in model.params.items():
        assert_shape(params[name], value.shape, f"params['{name}']")
        value[...] = params[name]
    return model


def mlp_and_reference(student, inputs, hidden, classes, weight_scale, reg):
    """The submission's Sequential Affine - ReLU - Affine, and a reference copy of it."""
    model = student.Sequential(student.Affine(inputs, hidden, weight_scale=weight_scale, seed=1), student.ReLU(),
                               student.Affine(hidden, classes, weight_scale=weight_scale, seed=2), reg=reg)
    return model, reference_mlp(fetch(model.params), reg)


@pytest.mark.points(1)
def test_cells_carried_from_02_and_03_hold(student, rng):
    """ReLU at and around 0, softmax_cross_entropy (also for rows near +-1000) and the affine
    layer with a nonzero bias, as 05's networks use them."""
    x, dout = np.array([[0.0, 0.5, -0.5, 2.0]]), np.array([[1.0, 2.0, 3.0, 4.0]])
    out, cache = student.relu_forward(x)
    assert_close(out, np.maximum(x, 0), "relu_forward(x)")
    assert_close(student.relu_backward(dout, cache), np.where(x > 0, dout, 0.0), "relu_backward (dout where x > 0)")
    y = np.array([0, 2])
    for what, scores in [("", rng.normal(size=(2, 3))),
                         (" for rows near 1000 and -1000", np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]]))]:
        loss, dscores = student.softmax_cross_entropy(scores, y)
        expected_loss, expected_dscores = losses.softmax_cross_entropy(scores, y)
        assert_close(loss, expected_loss, f"softmax_cross_entropy's loss{what}")
        assert_close(dscores, expected_dscores, f"softmax_cross_entropy's dscores{what}")
    x, w, b, dout = rng.normal(size=(3, 2, 2)), rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(3, 5))
    out, cache = student.affine_forward(x, w, b)
    expected_out, expected_cache = layers.affine_forward(x, w, b)
    assert_close(out, expected_out, "affine_forward(x, w, b)")
    for name, got, want in zip(("dx", "dw", "db"), student.affine_backward(dout, cache),
                               layers.affine_backward(dout, expected_cache)):
        assert_close(got, want, f"affine_backward's {name}")
    assert_close(fetch(student.Affine(4, 5).params).get("b"), np.zeros(5), "Affine(4, 5).params['b'] (zeros)")


@pytest.mark.points(1)
def test_sequential_loss_with_l2_and_backward_match_reference(student, rng):
    X, y, dout = rng.normal(size=(10, 6)), rng.integers(0, 3, size=10), rng.normal(size=(10, 3))
    model, expected = mlp_and_reference(student, 6, 20, 3, weight_scale=1.0, reg=0.3)
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = expected.loss(X, y)
    assert_close(loss, expected_loss, "Sequential(..., reg=0.3).loss(X, y): cross-entropy + 0.5 * reg * sum(w^2)")
    for name, want in expected_grads.items():
        assert_close(grads.get(name), want, f"Sequential(..., reg=0.3).loss(X, y)'s grads['{name}']")
    model.forward(X)
    expected.forward(X)
    assert_close(model.backward(dout), expected.backward(dout), "Sequential.backward(dout), the input gradient")


@pytest.mark.points(1)
def test_train_follows_reference_on_a_sequential(student, rng):
    X, y = rng.normal(size=(21, 6)), rng.integers(0, 3, size=21)
    X_val, y_val = rng.normal(size=(9, 6)), rng.integers(0, 3, size=9)
    model, expected = mlp_and_reference(student, 6, 8, 3, weight_scale=0.5, reg=0.01)
    options = dict(lr=0.2, epochs=2, batch_size=5, seed=3, X_val=X_val, y_val=y_val)
    history = student.train(model, X, y, **options)
    expected_history = networks.train(expected, X, y, **options)
    for key, want in expected_history.items():
        assert_close(history.get(key), want, f"train's history['{key}'] (21 samples in batches of 5, the last of "
                     "one; accuracies as fractions)")
    params = fetch(model.params)
    for name, want in expected.params.items():
        assert_close(params[name], want, f"params['{name}'] after train")


@pytest.mark.points(1)
def test_make_mlp_builds_the_layers_its_docstring_lists(student, rng):
    """make_mlp equals the Sequential its docstring describes, built from the submission's own layers."""
    X, y = rng.normal(size=(8, 6)), rng.integers(0, 3, size=8)
    for batchnorm, dropout in [(False, 0.0), (True, 0.5)]:
        model = student.make_mlp(6, 20, 3, batchnorm=batchnorm, dropout=dropout, reg=0.1, seed=4)
        parts = ([student.Affine(6, 20, weight_scale=np.sqrt(2 / 6), seed=4)] + [student.BatchNorm(20)] * batchnorm
                 + [student.ReLU()] + [student.Dropout(dropout)] * (dropout > 0)
                 + [student.Affine(20, 3, weight_scale=np.sqrt(2 / 20), seed=5)])
        expected = student.Sequential(*parts, reg=0.1, seed=4)
        what = f"make_mlp(6, 20, 3, batchnorm={batchnorm}, dropout={dropout}, reg=0.1, seed=4)"
        params, expected_params = fetch(model.params), fetch(expected.params)
        assert sorted(params) == sorted(expected_params), \
            f"{what} has the parameters {sorted(params)}, expected {sorted(expected_params)}"
        for name, value in expected_params.items():
            assert_close(params[name], value, f"{what}.params['{name}'] (He initialization, seeds 4 and 5)")
        assert_close(model.loss(X, y)[0], expected.loss(X, y)[0],
                     f"{what}.loss(X, y) (its reg, and dropout drawn from its generator seeded with 4)")


@pytest.mark.points(1)
def test_batchnorm_layer_uses_its_eps(student, rng):
    x = rng.normal(size=(4, 3)) * 0.3
    assert_close(student.BatchNorm(3, eps=0.5).forward(x, train=True), BatchNorm(3, eps=0.5).forward(x, train=True),
                 "BatchNorm(3, eps=0.5).forward(x) in training")


@pytest.mark.points(1)
def test_bagging_fit_draws_the_documented_samples_and_seeds(student, rng):
    """With lr = 0 the weights keep their seeded start and the batch-norm statistics record the
    bootstrap samples and their batch order: every member equals the reference's."""
    X, y, X_test = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40), rng.normal(size=(6, 5))
    options = dict(n_models=3, hidden_dim=8, batchnorm=True, dropout=0.5, seed=2, lr=0.0, epochs=1, batch_size=10)
    models = student.bagging_fit(X, y, **options)
    expected = networks.bagging_fit(X, y, **options)
    if not isinstance(models, (list, tuple)) or len(models) != 3:
        raise AssertionError("bagging_fit(..., n_models=3) should return a list of 3 models")
    for k, (model, want) in enumerate(zip(models, expected)):
        what = f"model {k} of bagging_fit(X, y, {options})"
        assert sorted(fetch(model.params)) == sorted(want.params), f"{what} has the parameters of another network"
        assert_close(model.forward(X_test, train=False), want.forward(X_test, train=False), f"{what} in test mode")


@pytest.mark.points(1)
def test_bagging_predict_averages_the_probabilities_in_test_mode(student, rng):
    X = rng.normal(size=(300, 5))
    models = [student.make_mlp(5, 30, 4, dropout=0.5, seed=k) for k in range(5)]
    proba = np.mean([np.exp(activations.log_softmax(np.asarray(m.forward(X, train=False)))) for m in models], axis=0)
    assert_close(student.bagging_predict(models, X), np.argmax(proba, axis=1),
                 "bagging_predict(models, X): the class of the highest mean softmax probability, in test mode")
