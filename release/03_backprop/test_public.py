"""Public tests for assignment 03: students have this file and can run it with `course check`.

Expected values come from NumPy, PyTorch autograd, central differences and exact
properties; the hidden tests compare against the reference solution on other inputs.
"""

import math

import numpy as np
import pytest
import torch

from autograder.student import data
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_gradient, assert_shape,
                                       assert_unchanged)
from autograder.student.torchcheck import two_layer_sgd
from autograder.grading.proxy import fetch


def torch_classifier_loss(params, X, y, reg, keys=(("W1", "b1"), ("W2", "b2"))):
    """Loss and autograd gradients of affine - ReLU - ... - affine with softmax cross-entropy."""
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(X, dtype=torch.float64).reshape(len(X), -1)
    for i, (w, b) in enumerate(keys):
        h = h @ tensors[w] + tensors[b]
        if i < len(keys) - 1:
            h = torch.relu(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    loss = loss + 0.5 * reg * sum((tensors[w] ** 2).sum() for w, _ in keys)
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in tensors.items()}


@pytest.mark.points(1)
def test_affine_forward_flattens_each_sample(student, grader, rng):
    x, w, b = rng.normal(size=(3, 2, 4, 5)), rng.normal(size=(40, 6)), rng.normal(size=6)
    out, _ = student.affine_forward(x, w, b)
    assert_unchanged(grader, "affine_forward(x, w, b)")
    assert_shape(out, (3, 6), "affine_forward(x, w, b) for x of shape (3, 2, 4, 5)")
    assert_close(out, x.reshape(3, 40) @ w + b, "affine_forward(x, w, b)")


@pytest.mark.points(3)
def test_affine_backward_by_central_differences(student, grader, rng):
    x, w, b = rng.normal(size=(4, 3, 2)), rng.normal(size=(6, 5)), rng.normal(size=5)
    dout = rng.normal(size=(4, 5))
    _, cache = student.affine_forward(x, w, b)
    dx, dw, db = student.affine_backward(dout, cache)
    assert_unchanged(grader, "affine_backward(dout, cache)")
    assert_shape(dx, x.shape, "dx from affine_backward (it has the shape of x)")
    assert_gradient(dx, lambda v: np.sum((v.reshape(4, -1) @ w + b) * dout), x, "dx from affine_backward")
    assert_gradient(dw, lambda v: np.sum((x.reshape(4, -1) @ v + b) * dout), w, "dw from affine_backward")
    assert_gradient(db, lambda v: np.sum((x.reshape(4, -1) @ w + v) * dout), b, "db from affine_backward")


@pytest.mark.points(2)
def test_affine_relu_backward_by_central_differences(student, grader, rng):
    x, w, b = rng.normal(size=(5, 2, 3)), rng.normal(size=(6, 4)), rng.normal(size=4)
    dout = rng.normal(size=(5, 4))
    out, cache = student.affine_relu_forward(x, w, b)
    assert_unchanged(grader, "affine_relu_forward(x, w, b)")
    assert_close(out, np.maximum(x.reshape(5, -1) @ w + b, 0), "affine_relu_forward(x, w, b)")
    dx, dw, db = student.affine_relu_backward(dout, cache)
    assert_unchanged(grader, "affine_relu_backward(dout, cache)")
    layer = lambda x, w, b: np.maximum(x.reshape(5, -1) @ w + b, 0)  # noqa: E731
    assert_gradient(dx, lambda v: np.sum(layer(v, w, b) * dout), x, "dx from affine_relu_backward")
    assert_gradient(dw, lambda v: np.sum(layer(x, v, b) * dout), w, "dw from affine_relu_backward")
    assert_gradient(db, lambda v: np.sum(layer(x, w, v) * dout), b, "db from affine_relu_backward")


@pytest.mark.points(1)
def test_two_layer_net_initial_loss_is_log_10(student):
    """With small weights every class is equally likely: the loss starts at ln(10)."""
    X_train, y_train, *_ = data.digits()
    net = student.TwoLayerNet(64, 50, 10, weight_scale=1e-3)
    params = fetch(net.params)
    for name, shape in [("W1", (64, 50)), ("b1", (50,)), ("W2", (50, 10)), ("b2", (10,))]:
        assert_shape(params.get(name), shape, f"TwoLayerNet(64, 50, 10).params['{name}']")
    loss, _ = net.loss(X_train[:200], y_train[:200])
    assert_close(loss, math.log(10), "the initial loss (about ln(10))", rtol=0, atol=0.01)


@pytest.mark.points(3)
def test_two_layer_net_loss_and_gradients_match_torch(student, rng):
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 4, size=7)
    net = student.TwoLayerNet(5, 6, 4, weight_scale=0.5, reg=0.3, seed=1)
    loss, grads = net.loss(X, y)
    expected_loss, expected_grads = torch_classifier_loss(fetch(net.params), X, y, reg=0.3)
    assert_close(loss, expected_loss, "TwoLayerNet(reg=0.3).loss(X, y)'s loss")
    for name, expected in expected_grads.items():
        assert_close(grads.get(name), expected, f"TwoLayerNet(reg=0.3).loss(X, y)'s grads['{name}']")


@pytest.mark.points(1)
def test_two_layer_net_predicts_highest_score(student, rng):
    X = rng.normal(size=(9, 5))
    net = student.TwoLayerNet(5, 8, 3, weight_scale=1.0)
    labels = net.predict(X)
    assert_shape(labels, (9,), "TwoLayerNet.predict(X)")
    assert_close(labels, np.argmax(net.scores(X), axis=1), "TwoLayerNet.predict(X)")


@pytest.mark.points(2)
def test_two_layer_net_overfits_50_samples(student):
    X_train, y_train, *_ = data.digits()
    X, y = X_train[:50], y_train[:50]
    net = student.TwoLayerNet(64, 100, 10, weight_scale=0.1)
    student.train(net, X, y, lr=0.5, epochs=100, batch_size=50)
    assert_at_least(accuracy(net.predict(X), y, "predict(X)"), 1.0, "training accuracy on 50 samples")


@pytest.mark.points(1)
def test_train_history_has_one_entry_per_step_and_epoch(student, rng):
    X, y = rng.normal(size=(23, 4)), rng.integers(0, 3, size=23)
    net = student.TwoLayerNet(4, 5, 3)
    history = student.train(net, X, y, lr=0.1, epochs=3, batch_size=10, X_val=X[:5], y_val=y[:5])
    for key, n, what in [("loss", 9, "3 epochs of 3 batches"), ("train_acc", 3, "3 epochs"), ("val_acc", 3, "3 epochs")]:
        assert_shape(history.get(key), (n,), f"history['{key}'] for {what}")


@pytest.mark.points(2)
def test_train_takes_the_batches_of_one_permutation_per_epoch(student, rng):
    """train equals torch SGD on the batches of rng.permutation(N), one per epoch, for a
    TwoLayerNet and for a Sequential (whose arrays train must update in place)."""
    X, y = rng.normal(size=(23, 4)), rng.integers(0, 3, size=23)
    net = student.TwoLayerNet(4, 6, 3, weight_scale=0.3, seed=2)
    sequential = student.Sequential(student.Affine(4, 6, weight_scale=0.3, seed=3), student.ReLU(),
                                     student.Affine(6, 3, weight_scale=0.3, seed=4))
    names = {"W1": "0.w", "b1": "0.b", "W2": "2.w", "b2": "2.b"}
    for what, model, key in [("TwoLayerNet", net, lambda name: name), ("Sequential", sequential, names.get)]:
        start = fetch(model.params)
        missing = [key(name) for name in names if key(name) not in start]
        if missing:
            raise AssertionError(f"the {what}'s params have no {missing}")
        student.train(model, X, y, lr=0.3, epochs=3, batch_size=8, seed=5)
        expected, _ = two_layer_sgd({name: start.get(key(name)) for name in names}, X, y, lr=0.3, epochs=3,
                                    batch_size=8, seed=5)
        params = fetch(model.params)
        for name, value in expected.items():
            assert_close(params.get(key(name)), value, f"a {what}'s params['{key(name)}'] after train(model, X, y, "
                         "lr=0.3, epochs=3, batch_size=8, seed=5) (batches in the order of one rng.permutation(N) "
                         "per epoch, the last one smaller; the arrays updated in place)", rtol=1e-6, atol=1e-9)


@pytest.mark.points(3)
def test_sequential_loss_and_gradients_match_torch(student, rng):
    X, y = rng.normal(size=(6, 2, 2)), rng.integers(0, 3, size=6)
    model = student.Sequential(student.Affine(4, 5, weight_scale=0.5, seed=1), student.ReLU(),
                               student.Affine(5, 3, weight_scale=0.5, seed=2), reg=0.2)
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = torch_classifier_loss(fetch(model.params), X, y, reg=0.2,
                                                          keys=(("0.w", "0.b"), ("2.w", "2.b")))
    assert_close(loss, expected_loss, "Sequential(...).loss(X, y)'s loss")
    for name, expected in expected_grads.items():
        assert_close(grads.get(name), expected, f"Sequential(...).loss(X, y)'s grads['{name}']")


@pytest.mark.points(1)
def test_train_records_accuracies_as_fractions(student, rng):
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    X_val, y_val = rng.normal(size=(12, 4)), rng.integers(0, 3, size=12)
    net = student.TwoLayerNet(4, 6, 3, weight_scale=0.3, seed=1)
    history = student.train(net, X, y, lr=0.3, epochs=2, batch_size=10, X_val=X_val, y_val=y_val)
    for key, inputs, labels in [("train_acc", X, y), ("val_acc", X_val, y_val)]:
        assert_shape(history.get(key), (2,), f"history['{key}'] for 2 epochs")
        assert_close(history[key][-1], np.mean(net.predict(inputs) == labels), f"history['{key}'] after the "
                     "last epoch (the fraction of correct predictions, between 0 and 1)")


@pytest.mark.points(1)
def test_every_weight_has_the_spread_weight_scale(student):
    """Both weight matrices of TwoLayerNet, and Affine's w, are drawn from N(0, weight_scale^2)."""
    net = fetch(student.TwoLayerNet(40, 60, 30, weight_scale=0.02, seed=1).params)
    layer = fetch(student.Affine(60, 30, weight_scale=0.02, seed=2).params)
    for what, weights, shape in [("TwoLayerNet(40, 60, 30, ...).params['W1']", net.get("W1"), (40, 60)),
                                 ("TwoLayerNet(40, 60, 30, ...).params['W2']", net.get("W2"), (60, 30)),
                                 ("Affine(60, 30, ...).params['w']", layer.get("w"), (60, 30))]:
        assert_shape(weights, shape, what)
        std = float(np.std(weights))  # of 1800 or more draws: within 10% of 0.02 with overwhelming probability
        assert 0.018 < std < 0.022, f"{what} has standard deviation {std:.4f}, expected weight_scale = 0.02"


@pytest.mark.points(1)
def test_cells_pasted_from_02_hold_where_03_uses_them(student):
    """The pasted ReLU passes no gradient at x = 0, and the pasted softmax cross-entropy stays
    exact for scores near +-1000 (compared with torch)."""
    x, dout = np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    x_t = torch.tensor(x, requires_grad=True)
    torch.relu(x_t).backward(torch.tensor(dout))
    assert_close(student.relu_backward(dout, student.relu_forward(x)[1]), x_t.grad.numpy(),
                 "relu_backward at x = 0 (0 where x <= 0)")
    scores, y = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]]), np.array([0, 2])
    scores_t = torch.tensor(scores, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(scores_t, torch.tensor(y))
    expected.backward()
    loss, dscores = student.softmax_cross_entropy(scores, y)
    assert_close(loss, expected.item(), "softmax_cross_entropy's loss for rows of scores near 1000 and -1000")
    assert_close(dscores, scores_t.grad.numpy(), "softmax_cross_entropy's dscores for rows near 1000 and -1000")
