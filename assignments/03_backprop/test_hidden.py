"""Hidden tests for assignment 03: never released. Expected values come from the reference."""

import numpy as np
import pytest

from autograder.student import data, heldout
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_gradient, assert_shape,
                                       assert_unchanged, with_params)
from autograder.grading.proxy import fetch
from reference import layers as ref
from reference import losses
from reference import networks
from reference import modules


@pytest.fixture(scope="module")
def digits():
    return data.digits(seed=0)


@pytest.mark.points(2)
def test_affine_matches_reference_on_other_shapes(student, grader, rng):
    for x_shape, m in [((1, 7), 3), ((4, 3, 2, 2), 5)]:
        x = rng.normal(size=x_shape)
        w, b = rng.normal(size=(int(np.prod(x_shape[1:])), m)), rng.normal(size=m)
        dout = rng.normal(size=(x_shape[0], m))
        out, cache = student.affine_forward(x, w, b)
        assert_unchanged(grader, f"affine_forward for x of shape {x_shape}")
        assert_close(out, ref.affine_forward(x, w, b)[0], f"affine_forward for x of shape {x_shape}")
        dx, dw, db = student.affine_backward(dout, cache)
        assert_unchanged(grader, f"affine_backward for x of shape {x_shape}")
        expected = ref.affine_backward(dout, ref.affine_forward(x, w, b)[1])
        for name, got, want in zip(("dx", "dw", "db"), (dx, dw, db), expected):
            assert_close(got, want, f"{name} from affine_backward for x of shape {x_shape}")


@pytest.mark.points(2)
def test_affine_relu_matches_reference(student, grader, rng):
    x, w, b = rng.normal(size=(6, 5)), rng.normal(size=(5, 7)), rng.normal(size=7)
    dout = rng.normal(size=(6, 7))
    out, cache = student.affine_relu_forward(x, w, b)
    assert_unchanged(grader, "affine_relu_forward(x, w, b)")
    expected_out, expected_cache = ref.affine_relu_forward(x, w, b)
    assert_close(out, expected_out, "affine_relu_forward(x, w, b)")
    grads = student.affine_relu_backward(dout, cache)
    assert_unchanged(grader, "affine_relu_backward(dout, cache)")
    for name, got, want in zip(("dx", "dw", "db"), grads, ref.affine_relu_backward(dout, expected_cache)):
        assert_close(got, want, f"{name} from affine_relu_backward")
    forward = lambda v: np.sum(ref.affine_relu_forward(x, v, b)[0] * dout)  # noqa: E731
    assert_gradient(grads[1], forward, w, "dw from affine_relu_backward")


@pytest.mark.points(1)
def test_two_layer_net_initialization(student):
    net = student.TwoLayerNet(64, 100, 10, weight_scale=0.05, seed=3)
    params = fetch(net.params)
    for name, shape in [("W1", (64, 100)), ("b1", (100,)), ("W2", (100, 10)), ("b2", (10,))]:
        assert_shape(params.get(name), shape, f"TwoLayerNet(64, 100, 10).params['{name}']")
    for name in ("b1", "b2"):
        assert_close(params[name], np.zeros_like(params[name]), f"the initial params['{name}']")
    std = float(np.std(params["W1"]))
    assert 0.045 < std < 0.055, f"params['W1'] has standard deviation {std:.4f}, expected weight_scale = 0.05"


@pytest.mark.points(3)
def test_two_layer_net_matches_reference_with_regularization(student, rng):
    X, y = rng.normal(size=(10, 3, 2)), rng.integers(0, 5, size=10)
    net = student.TwoLayerNet(6, 8, 5, weight_scale=0.3, reg=0.7, seed=4)
    expected = with_params(networks.TwoLayerNet(6, 8, 5, reg=0.7), fetch(net.params))
    assert_close(net.scores(X), expected.scores(X), "TwoLayerNet.scores(X) for X of shape (10, 3, 2)")
    loss, grads = net.loss(X, y)
    expected_loss, expected_grads = expected.loss(X, y)
    assert_close(loss, expected_loss, "TwoLayerNet(reg=0.7).loss(X, y)'s loss")
    for name, want in expected_grads.items():
        assert_close(grads.get(name), want, f"TwoLayerNet(reg=0.7).loss(X, y)'s grads['{name}']")


@pytest.mark.points(2)
def test_two_layer_net_gradient_by_central_differences(student, rng):
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    net = student.TwoLayerNet(4, 6, 3, weight_scale=0.5, reg=0.25, seed=5)
    params = fetch(net.params)
    _, grads = net.loss(X, y)
    expected = with_params(networks.TwoLayerNet(4, 6, 3, reg=0.25), params)
    for name in ("W1", "b1", "W2", "b2"):
        def forward(value, name=name):
            expected.params[name][...] = value
            return expected.loss(X, y)[0]
        assert_gradient(grads.get(name), forward, params[name], f"grads['{name}'] from TwoLayerNet.loss")
        expected.params[name][...] = params[name]


@pytest.mark.points(2)
def test_layer_objects_match_reference(student, rng):
    x, dout = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 5))
    layer = student.Affine(6, 5, weight_scale=0.2, seed=7)
    params = fetch(layer.params)
    assert_shape(params.get("w"), (6, 5), "Affine(6, 5).params['w']")
    assert_close(params.get("b"), np.zeros(5), "Affine(6, 5).params['b']")
    out, cache = ref.affine_forward(x, params["w"], params["b"])
    assert_close(layer.forward(x), out, "Affine.forward(x)")
    dx, dw, db = ref.affine_backward(dout, cache)
    assert_close(layer.backward(dout), dx, "Affine.backward(dout)")
    grads = fetch(layer.grads)
    assert_close(grads.get("w"), dw, "Affine.grads['w'] after backward")
    assert_close(grads.get("b"), db, "Affine.grads['b'] after backward")
    relu = student.ReLU()
    z, dz = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert_close(relu.forward(z), np.maximum(z, 0), "ReLU.forward(x)")
    assert_close(relu.backward(dz), np.where(z > 0, dz, 0.0), "ReLU.backward(dout)")


@pytest.mark.points(3)
def test_sequential_matches_reference(student, rng):
    X, y = rng.normal(size=(8, 6)), rng.integers(0, 4, size=8)
    sizes = [(6, 7), (7, 5), (5, 4)]
    model = student.Sequential(student.Affine(6, 7, weight_scale=0.5, seed=1), student.ReLU(),
                               student.Affine(7, 5, weight_scale=0.5, seed=2), student.ReLU(),
                               student.Affine(5, 4, weight_scale=0.5, seed=3), reg=0.4)
    expected = modules.Sequential(modules.Affine(*sizes[0]), modules.ReLU(), modules.Affine(*sizes[1]),
                                   modules.ReLU(), modules.Affine(*sizes[2]), reg=0.4)
    with_params(expected, fetch(model.params))
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = expected.loss(X, y)
    assert_close(loss, expected_loss, "a 3-layer Sequential's loss(X, y)")
    for name, want in expected_grads.items():
        assert_close(grads.get(name), want, f"a 3-layer Sequential's grads['{name}']")
    dout = rng.normal(size=(8, 4))
    model.forward(X)
    expected.forward(X)
    assert_close(model.backward(dout), expected.backward(dout), "Sequential.backward(dout), the input gradient")
    assert_close(model.predict(X), expected.predict(X), "Sequential.predict(X)")


@pytest.mark.points(2)
def test_train_follows_reference_steps(student, rng):
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    net = student.TwoLayerNet(4, 6, 3, weight_scale=0.3, reg=0.1, seed=2)
    expected = with_params(networks.TwoLayerNet(4, 6, 3, reg=0.1), fetch(net.params))
    history = student.train(net, X, y, lr=0.3, epochs=3, batch_size=8, seed=5)
    expected_history = networks.train(expected, X, y, lr=0.3, epochs=3, batch_size=8, seed=5)
    assert_close(history.get("loss"), expected_history["loss"],
                 "history['loss'] (batches in the order of rng.permutation, the last one smaller)")
    assert_close(history.get("train_acc"), expected_history["train_acc"],
                 "history['train_acc']")
    params = fetch(net.params)
    for name, want in expected.params.items():
        assert_close(params[name], want, f"params['{name}'] after training")


@pytest.mark.points(1)
def test_train_updates_sequential_in_place(student, rng):
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = student.Sequential(student.Affine(5, 8, weight_scale=0.3, seed=1), student.ReLU(),
                               student.Affine(8, 2, weight_scale=0.3, seed=2))
    history = student.train(model, X, y, lr=0.5, epochs=20, batch_size=40)
    assert_shape(history.get("loss"), (20,), "history['loss'] for 20 full-batch steps")
    losses = history["loss"]
    assert losses[-1] < 0.8 * losses[0], (f"training a Sequential did not lower its loss ({losses[0]:.4f} -> "
                                          f"{losses[-1]:.4f}): are the layers' arrays updated in place?")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_two_layer_net_reaches_digits_accuracy_threshold(student, digits, secret, thresholds):
    """A TwoLayerNet trained by train on a transformed copy of the digits: test accuracy."""
    view = heldout.rotated(digits, secret)
    net = student.TwoLayerNet(64, 100, 10, weight_scale=0.1, reg=1e-3, seed=0)
    student.train(net, view.X_train, view.y_train, lr=0.2, epochs=40, batch_size=50, seed=0)
    trained = with_params(networks.TwoLayerNet(64, 100, 10), fetch(net.params))
    held_out = accuracy(trained.predict(view.X_test), view.y_test, "the trained TwoLayerNet's predictions")
    assert_at_least(held_out, thresholds["digits_accuracy"], "the trained TwoLayerNet's test accuracy")


@pytest.mark.points(1)
def test_every_weight_is_drawn_with_weight_scale(student):
    net = student.TwoLayerNet(64, 100, 10, weight_scale=0.05, seed=3)
    layer = student.Affine(100, 20, weight_scale=0.05, seed=3)
    for what, weights in [("TwoLayerNet's params['W2']", fetch(net.params)["W2"]),
                          ("Affine(100, 20).params['w']", fetch(layer.params)["w"])]:
        std = float(np.std(weights))
        assert 0.045 < std < 0.055, f"{what} has standard deviation {std:.4f}, expected weight_scale = 0.05"


@pytest.mark.points(1)
def test_train_keeps_a_last_batch_of_one_sample(student, rng):
    X, y = rng.normal(size=(21, 4)), rng.integers(0, 3, size=21)
    history = student.train(student.TwoLayerNet(4, 5, 3), X, y, lr=0.1, epochs=2, batch_size=10)
    assert_shape(history.get("loss"), (6,), "history['loss'] for 2 epochs of 21 samples in batches of 10, 10 and 1")


@pytest.mark.points(1)
def test_cells_from_02_hold_where_03_uses_them(student):
    """relu_backward at x = 0, and softmax_cross_entropy for rows of very different scales."""
    x, dout = np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_close(student.relu_backward(dout, student.relu_forward(x)[1]), np.where(x > 0, dout, 0.0),
                 "relu_backward at x = 0 (0 where x <= 0)")
    scores, y = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]]), np.array([0, 2])
    loss, dscores = student.softmax_cross_entropy(scores, y)
    expected_loss, expected_dscores = losses.softmax_cross_entropy(scores, y)
    assert_close(loss, expected_loss, "softmax_cross_entropy's loss for rows of scores near 1000 and -1000")
    assert_close(dscores, expected_dscores, "softmax_cross_entropy's dscores for rows near 1000 and -1000")
