"""Hidden tests for assignment 05: never released. Expected values come from the reference."""

import numpy as np
import pytest

from autograder.student import data
from autograder.student.checks import accuracy, assert_at_least, assert_close, assert_gradient, assert_shape
from autograder.grading.proxy import fetch
from reference import normalization as norm
from reference import regularization as reg
from reference.modules import BatchNorm


def noisy_digits(n=300, noise=0.3, seed=1):
    """The first n training digits with a fraction ``noise`` of random labels; clean test set."""
    X_train, y_train, X_test, y_test = data.digits(seed=seed)
    flips = np.random.default_rng(seed)
    y_train = y_train[:n].copy()
    flip = flips.random(n) < noise
    y_train[flip] = flips.integers(0, 10, flip.sum())
    return X_train[:n], y_train, X_test, y_test


@pytest.fixture(scope="module")
def noisy():
    return noisy_digits()


@pytest.mark.points(1)
def test_penalties_match_reference(student, rng):
    w = rng.normal(size=(3, 4, 2))
    w[0, 0, 0] = 0.0
    for name in ("l1_penalty", "l2_penalty"):
        value, grad = getattr(student, name)(w, 0.07)
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
def test_dropout_backward_uses_the_forward_mask(student, rng):
    x, dout = rng.uniform(1.0, 2.0, size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    out, cache = student.dropout_forward(x, 0.8, rng=11)
    assert_shape(out, x.shape, "dropout_forward on a 4 x 3 x 5 input")
    dx = student.dropout_backward(dout, cache)
    assert_close(dx, dout * np.asarray(out) / x, "dropout_backward(dout, cache) (the forward's scaled mask)")


@pytest.mark.points(2)
def test_batchnorm_forward_matches_reference(student, rng):
    for n, d, momentum, eps in [(2, 3, 0.3, 1e-3), (17, 6, 0.1, 1e-5)]:
        x = rng.normal(-1.0, 4.0, size=(n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        mean, var = rng.normal(size=d), rng.uniform(0.5, 3.0, size=d)
        for train in (True, False):
            got = student.batchnorm_forward(x, gamma, beta, mean, var, train=train, momentum=momentum, eps=eps)
            expected = norm.batchnorm_forward(x, gamma, beta, mean, var, train=train, momentum=momentum, eps=eps)
            mode = "training" if train else "test"
            what = f"batchnorm_forward on a {n} x {d} batch in {mode} mode"
            assert_close(got[0], expected[0], f"the output of {what}")
            assert_close(got[2], expected[2], f"the running mean returned by {what}")
            assert_close(got[3], expected[3], f"the running variance returned by {what}")


@pytest.mark.points(2)
def test_batchnorm_backward_matches_reference(student, rng):
    x = rng.normal(0.5, 2.0, size=(13, 4))
    gamma, beta, dout = rng.normal(size=4), rng.normal(size=4), rng.normal(size=(13, 4))
    mean, var = np.zeros(4), np.ones(4)
    _, cache, _, _ = student.batchnorm_forward(x, gamma, beta, mean, var)
    got = student.batchnorm_backward(dout, cache)
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
def test_layernorm_matches_reference(student, rng):
    x, gamma, beta = rng.normal(3.0, 2.0, size=(3, 7)), rng.normal(size=7), rng.normal(size=7)
    dout = rng.normal(size=(3, 7))
    out, cache = student.layernorm_forward(x, gamma, beta, eps=1e-3)
    expected_out, expected_cache = norm.layernorm_forward(x, gamma, beta, eps=1e-3)
    assert_close(out, expected_out, "layernorm_forward on a 3 x 7 batch")
    got = student.layernorm_backward(dout, cache)
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


def trained_accuracy(student, X, y, X_test, y_test, **options):
    model = student.make_mlp(64, 256, 10, seed=0, **options)
    student.train(model, X, y, lr=0.1, epochs=200, batch_size=20, seed=0)
    return accuracy(model.predict(X_test), y_test, f"make_mlp(..., {options}).predict(X_test)")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_dropout_beats_an_overfitting_baseline(student, noisy, thresholds):
    """Dropout 0.5 beats an unregularized network on digits with 30% wrong training labels."""
    X, y, X_test, y_test = noisy
    baseline = trained_accuracy(student, X, y, X_test, y_test)
    with_dropout = trained_accuracy(student, X, y, X_test, y_test, dropout=0.5)
    assert_at_least(with_dropout, thresholds["dropout_accuracy"], "the dropout network's validation accuracy")
    assert_at_least(with_dropout - baseline, thresholds["dropout_gain"],
                    f"the gain of dropout over the unregularized network ({baseline:.3f})")


@pytest.mark.points(2)
@pytest.mark.time_limit(60)
def test_batchnorm_network_predicts_one_sample_at_a_time(student, thresholds):
    """A batch-norm network classifies test digits one at a time, with its running statistics."""
    X, y, X_test, y_test = data.digits(seed=2)
    model = student.make_mlp(64, 100, 10, batchnorm=True, seed=0)
    student.train(model, X[:500], y[:500], lr=0.1, epochs=30, batch_size=25, seed=0)
    predictions = np.concatenate([np.asarray(model.predict(X_test[i:i + 1])).reshape(-1)
                                  for i in range(0, 200)])
    held_out = accuracy(predictions, y_test[:200], "predict on single samples")
    assert_at_least(held_out, thresholds["batchnorm_single_sample_accuracy"],
                    "the batch-norm network's accuracy on test digits predicted one at a time")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_bagged_ensemble_is_at_least_as_good_as_its_best_member(student, noisy, thresholds):
    """Five bagged networks on noisy digits: the ensemble is at least as good as its best member."""
    X, y, X_test, y_test = noisy
    models = student.bagging_fit(X, y, n_models=5, hidden_dim=100, seed=0, epochs=100, batch_size=20, lr=0.1)
    if not isinstance(models, (list, tuple)) or len(models) != 5:
        raise AssertionError("bagging_fit(..., n_models=5) should return a list of 5 models")
    members = [accuracy(m.predict(X_test), y_test, f"model {k} of bagging_fit") for k, m in enumerate(models)]
    if len(set(members)) == 1:
        raise AssertionError("all 5 models of bagging_fit have the same accuracy: are the bootstrap "
                             "samples (and seeds) different for each model?")
    ensemble = accuracy(student.bagging_predict(models, X_test), y_test, "bagging_predict(models, X_test)")
    assert_at_least(ensemble - max(members), thresholds["ensemble_gain_over_best_member"],
                    f"the ensemble's accuracy ({ensemble:.3f}) minus its best member's ({max(members):.3f})")
