"""The reference layers and networks of assignment 03, checked twice: by central differences
in float64 and against torch.autograd on the same inputs."""

import math

import numpy as np
import pytest
import torch

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error
from reference import layers, networks
from reference import modules

TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def torch_grads(f, *arrays):
    """f applied to float64 tensors made from ``arrays``; (output, gradients of sum(output))."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f(*tensors)
    out.sum().backward() if out.ndim == 0 else out.backward(torch.ones_like(out))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def layer_inputs(rng, x_shape=(4, 3, 2), m=5):
    x = rng.normal(size=x_shape)
    w, b = rng.normal(size=(int(np.prod(x_shape[1:])), m)), rng.normal(size=m)
    return x, w, b, rng.normal(size=(x_shape[0], m))


@pytest.mark.parametrize("x_shape", [(1, 7), (4, 3, 2), (2, 2, 3, 2)])
def test_affine_forward_matches_torch_linear(rng, x_shape):
    x, w, b, _ = layer_inputs(rng, x_shape)
    out, _ = layers.affine_forward(x, w, b)
    expected = torch.nn.functional.linear(torch.tensor(x).flatten(1), torch.tensor(w).T, torch.tensor(b))
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("forward, backward", [
    (layers.affine_forward, layers.affine_backward),
    (layers.affine_relu_forward, layers.affine_relu_backward),
])
def test_layer_backward_by_central_differences(rng, forward, backward):
    x, w, b, dout = layer_inputs(rng)
    _, cache = forward(x, w, b)
    dx, dw, db = backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert rel_error(dx, numerical_vjp(lambda v: forward(v, w, b)[0], x, dout)) < TOL
    assert rel_error(dw, numerical_vjp(lambda v: forward(x, v, b)[0], w, dout)) < TOL
    assert rel_error(db, numerical_vjp(lambda v: forward(x, w, v)[0], b, dout)) < TOL


@pytest.mark.parametrize("forward, backward, torch_layer", [
    (layers.affine_forward, layers.affine_backward, lambda x, w, b: x.flatten(1) @ w + b),
    (layers.affine_relu_forward, layers.affine_relu_backward, lambda x, w, b: torch.relu(x.flatten(1) @ w + b)),
])
def test_layer_backward_matches_torch_autograd(rng, forward, backward, torch_layer):
    x, w, b, dout = layer_inputs(rng, (6, 2, 2, 2), 3)
    out, cache = forward(x, w, b)
    expected_out, expected = torch_grads(lambda *t: (torch_layer(*t) * torch.tensor(dout)).sum(), x, w, b)
    np.testing.assert_allclose(np.sum(out * dout), expected_out, rtol=1e-12)
    for got, want in zip(backward(dout, cache), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_layer_objects_match_the_functions(rng):
    x, _, _, dout = layer_inputs(rng, (4, 3, 2), 5)
    affine = modules.Affine(6, 5, weight_scale=0.1, seed=2)
    out, cache = layers.affine_forward(x, affine.params["w"], affine.params["b"])
    np.testing.assert_array_equal(affine.forward(x), out)
    dx, dw, db = layers.affine_backward(dout, cache)
    np.testing.assert_array_equal(affine.backward(dout), dx)
    np.testing.assert_array_equal(affine.grads["w"], dw)
    np.testing.assert_array_equal(affine.grads["b"], db)
    relu = modules.ReLU()
    np.testing.assert_array_equal(relu.forward(out), np.maximum(out, 0))
    np.testing.assert_array_equal(relu.backward(dout), np.where(out > 0, dout, 0))


def two_layer_torch_loss(params, X, y, reg, keys=("W1", "b1", "W2", "b2")):
    """Loss and autograd gradients of affine - ReLU - affine + softmax CE + L2 on weights."""
    W1, b1, W2, b2 = (params[k] for k in keys)

    def loss(W1, b1, W2, b2):
        scores = torch.relu(torch.tensor(X).flatten(1) @ W1 + b1) @ W2 + b2
        return (torch.nn.functional.cross_entropy(scores, torch.tensor(y))
                + 0.5 * reg * ((W1 ** 2).sum() + (W2 ** 2).sum()))

    value, grads = torch_grads(loss, W1, b1, W2, b2)
    return float(value), dict(zip(keys, grads))


def small_problem(rng):
    return rng.normal(size=(7, 2, 3)), rng.integers(0, 4, size=7)


def test_two_layer_net_gradients_by_central_differences(rng):
    X, y = small_problem(rng)
    net = networks.TwoLayerNet(6, 5, 4, weight_scale=0.5, reg=0.3, seed=1)
    _, grads = net.loss(X, y)
    assert set(grads) == set(net.params)
    for name, value in net.params.items():
        assert grads[name].shape == value.shape
        assert rel_error(grads[name], numerical_gradient(lambda v: net.loss(X, y)[0], value)) < 1e-6, name


def test_two_layer_net_matches_torch(rng):
    X, y = small_problem(rng)
    net = networks.TwoLayerNet(6, 5, 4, weight_scale=0.5, reg=0.3, seed=1)
    loss, grads = net.loss(X, y)
    expected_loss, expected_grads = two_layer_torch_loss(net.params, X, y, reg=0.3)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for name, want in expected_grads.items():
        np.testing.assert_allclose(grads[name], want, rtol=1e-10, atol=1e-12)


def test_two_layer_net_initialization():
    net = networks.TwoLayerNet(64, 100, 10, weight_scale=0.05, seed=3)
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (64, 100), "b1": (100,), "W2": (100, 10), "b2": (10,)}
    assert not net.params["b1"].any() and not net.params["b2"].any()
    assert np.std(net.params["W1"]) == pytest.approx(0.05, rel=0.05)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(net.params["W1"], 0.05 * rng.standard_normal((64, 100)))


def test_two_layer_net_initial_loss_is_log_10():
    X_train, y_train, *_ = data.digits()
    loss, _ = networks.TwoLayerNet(64, 50, 10, weight_scale=1e-3).loss(X_train, y_train)
    assert loss == pytest.approx(math.log(10), abs=1e-3)


def three_layer_sequential(reg=0.4):
    return modules.Sequential(modules.Affine(6, 7, weight_scale=0.5, seed=1), modules.ReLU(),
                               modules.Affine(7, 5, weight_scale=0.5, seed=2), modules.ReLU(),
                               modules.Affine(5, 4, weight_scale=0.5, seed=3), reg=reg)


def test_sequential_gradients_by_central_differences(rng):
    X, y = small_problem(rng)
    model = three_layer_sequential()
    _, grads = model.loss(X, y)
    assert list(grads) == ["0.w", "0.b", "2.w", "2.b", "4.w", "4.b"] == list(model.params)
    for name, value in model.params.items():
        assert rel_error(grads[name], numerical_gradient(lambda v: model.loss(X, y)[0], value)) < 1e-6, name
    dout = rng.normal(size=(7, 4))
    model.forward(X)
    dx = model.backward(dout)
    assert rel_error(dx, numerical_vjp(lambda v: model.forward(v), X.copy(), dout)) < TOL


def test_sequential_matches_torch(rng):
    X, y = small_problem(rng)
    model = three_layer_sequential()
    loss, grads = model.loss(X, y)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = torch.tensor(X).flatten(1)
    for i in (0, 2, 4):
        h = h @ params[f"{i}.w"] + params[f"{i}.b"]
        h = torch.relu(h) if i < 4 else h
    expected = (torch.nn.functional.cross_entropy(h, torch.tensor(y))
                + 0.2 * sum((params[f"{i}.w"] ** 2).sum() for i in (0, 2, 4)))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    for name, tensor in params.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sequential_equals_two_layer_net_with_the_same_weights(rng):
    X, y = small_problem(rng)
    net = networks.TwoLayerNet(6, 5, 4, weight_scale=0.5, reg=0.3, seed=1)
    model = modules.Sequential(modules.Affine(6, 5), modules.ReLU(), modules.Affine(5, 4), reg=0.3)
    for value, key in zip(model.params.values(), ["W1", "b1", "W2", "b2"]):
        value[...] = net.params[key]
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = net.loss(X, y)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    for name, key in zip(grads, ["W1", "b1", "W2", "b2"]):
        np.testing.assert_allclose(grads[name], expected_grads[key], rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), net.predict(X))


def test_train_history_and_in_place_updates(rng):
    X = rng.normal(size=(23, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    model = modules.Sequential(modules.Affine(4, 8, weight_scale=0.3), modules.ReLU(),
                                modules.Affine(8, 2, weight_scale=0.3, seed=1))
    weights = model.layers[0].params["w"]
    before = weights.copy()
    history = networks.train(model, X, y, lr=0.3, epochs=30, batch_size=10, X_val=X[:5], y_val=y[:5])
    assert model.layers[0].params["w"] is weights and not np.array_equal(weights, before)
    assert len(history["loss"]) == 90 and len(history["train_acc"]) == len(history["val_acc"]) == 30
    assert np.mean(history["loss"][-3:]) < 0.5 * np.mean(history["loss"][:3])


def test_train_is_deterministic_for_a_seed():
    X_train, y_train, *_ = data.digits()
    runs = []
    for _ in range(2):
        net = networks.TwoLayerNet(64, 20, 10, weight_scale=0.1)
        runs.append(networks.train(net, X_train[:200], y_train[:200], lr=0.2, epochs=2, batch_size=50, seed=4))
    assert runs[0] == runs[1]


def test_two_layer_net_overfits_50_digits():
    X_train, y_train, *_ = data.digits()
    net = networks.TwoLayerNet(64, 100, 10, weight_scale=0.1)
    history = networks.train(net, X_train[:50], y_train[:50], lr=0.5, epochs=100, batch_size=50)
    assert history["train_acc"][-1] == 1.0
