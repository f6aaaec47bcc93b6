"""The reference activations, outputs and losses against torch, by central differences and
by torch.autograd, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp
from reference import activations as act
from reference import losses
from reference.softmax_regression import fit_softmax_regression, predict_classes
from reference.torch_activations import Maxout


def t(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def assert_allclose(actual, expected, rtol=1e-7, atol=1e-10):
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().numpy()
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


def vjp_torch(function, inputs, dout):
    """Gradients of sum(function(*inputs) * dout) for each input, by torch.autograd."""
    tensors = [t(x) for x in inputs]
    out = function(*tensors)
    return [g.numpy() for g in torch.autograd.grad(out, tensors, torch.tensor(dout))]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- parameter-free activations: (numpy forward, numpy backward, torch function)

SIMPLE = {
    "sigmoid": (act.sigmoid_forward, act.sigmoid_backward, torch.sigmoid),
    "tanh": (act.tanh_forward, act.tanh_backward, torch.tanh),
    "relu": (act.relu_forward, act.relu_backward, F.relu),
    "leaky_relu": (act.leaky_relu_forward, act.leaky_relu_backward, F.leaky_relu),
}


@pytest.mark.parametrize("name", SIMPLE)
def test_activation_forward_matches_torch(name, rng):
    forward, _, reference = SIMPLE[name]
    x = rng.normal(size=(4, 5)) * 3
    out, _ = forward(x)
    assert_allclose(out, reference(torch.tensor(x)))


@pytest.mark.parametrize("name", SIMPLE)
def test_activation_backward_by_central_differences(name, rng):
    forward, backward, _ = SIMPLE[name]
    x, dout = rng.normal(size=(3, 6)) * 2, rng.normal(size=(3, 6))
    dx = backward(dout, forward(x)[1])
    assert_allclose(dx, numerical_vjp(lambda v: forward(v)[0], x.copy(), dout), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", SIMPLE)
def test_activation_backward_matches_autograd(name, rng):
    forward, backward, reference = SIMPLE[name]
    x, dout = rng.normal(size=(3, 6)) * 2, rng.normal(size=(3, 6))
    [expected] = vjp_torch(reference, [x], dout)
    assert_allclose(backward(dout, forward(x)[1]), expected)


def test_sigmoid_layer_is_stable_beyond_700():
    x = np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = act.sigmoid_forward(x)
        dx = act.sigmoid_backward(np.ones_like(x), cache)
    assert_allclose(out, torch.sigmoid(torch.tensor(x)))
    assert_allclose(dx, [0.0, 0.0, 0.25, 0.0, 0.0])


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_slope_is_configurable(slope, rng):
    x, dout = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    out, cache = act.leaky_relu_forward(x, negative_slope=slope)
    assert_allclose(out, F.leaky_relu(torch.tensor(x), negative_slope=slope))
    [expected] = vjp_torch(lambda v: F.leaky_relu(v, negative_slope=slope), [x], dout)
    assert_allclose(act.leaky_relu_backward(dout, cache), expected)


def test_leaky_relu_default_slope_is_a_hundredth():
    out, _ = act.leaky_relu_forward(np.array([-2.0, 3.0]))
    assert_allclose(out, [-0.02, 3.0])


# -- PReLU

@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 3)])
def test_prelu_matches_torch_forward_and_autograd(shape, rng):
    x, alpha, dout = rng.normal(size=shape), rng.uniform(0.05, 0.5, size=4), rng.normal(size=shape)
    out, cache = act.prelu_forward(x, alpha)
    assert_allclose(out, F.prelu(torch.tensor(x), torch.tensor(alpha)))
    dx, dalpha = act.prelu_backward(dout, cache)
    expected_dx, expected_dalpha = vjp_torch(F.prelu, [x, alpha], dout)
    assert_allclose(dx, expected_dx)
    assert_allclose(dalpha, expected_dalpha)


def test_prelu_backward_by_central_differences(rng):
    x, alpha, dout = rng.normal(size=(5, 3, 2)), rng.uniform(0.05, 0.5, size=3), rng.normal(size=(5, 3, 2))
    dx, dalpha = act.prelu_backward(dout, act.prelu_forward(x, alpha)[1])
    assert_allclose(dx, numerical_vjp(lambda v: act.prelu_forward(v, alpha)[0], x.copy(), dout), rtol=1e-6)
    assert_allclose(dalpha, numerical_vjp(lambda a: act.prelu_forward(x, a)[0], alpha.copy(), dout), rtol=1e-6)


def test_prelu_alpha_gradient_sums_over_the_batch(rng):
    x, alpha = rng.normal(size=(8, 3)), np.full(3, 0.25)
    dout = rng.normal(size=(8, 3))
    _, whole = act.prelu_backward(dout, act.prelu_forward(x, alpha)[1])
    parts = sum(act.prelu_backward(dout[i:i + 1], act.prelu_forward(x[i:i + 1], alpha)[1])[1] for i in range(8))
    assert_allclose(whole, parts)


# -- Maxout

def torch_maxout(x, w, b):
    return (x @ w + b[:, None, :]).max(dim=0).values


@pytest.fixture
def maxout_inputs(rng):
    return rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2)), rng.normal(size=(5, 2))


def test_maxout_forward_is_the_largest_piece(maxout_inputs):
    x, w, b, _ = maxout_inputs
    out, _ = act.maxout_forward(x, w, b)
    pieces = np.stack([x @ w[j] + b[j] for j in range(3)])
    assert_allclose(out, pieces.max(axis=0))


def test_maxout_backward_by_central_differences(maxout_inputs):
    x, w, b, dout = maxout_inputs
    dx, dw, db = act.maxout_backward(dout, act.maxout_forward(x, w, b)[1])
    assert_allclose(dx, numerical_vjp(lambda v: act.maxout_forward(v, w, b)[0], x.copy(), dout), rtol=1e-6)
    assert_allclose(dw, numerical_vjp(lambda v: act.maxout_forward(x, v, b)[0], w.copy(), dout), rtol=1e-6)
    assert_allclose(db, numerical_vjp(lambda v: act.maxout_forward(x, w, v)[0], b.copy(), dout), rtol=1e-6)


def test_maxout_backward_matches_autograd(maxout_inputs):
    x, w, b, dout = maxout_inputs
    grads = act.maxout_backward(dout, act.maxout_forward(x, w, b)[1])
    for mine, expected in zip(grads, vjp_torch(torch_maxout, [x, w, b], dout)):
        assert_allclose(mine, expected)


def test_maxout_routes_the_gradient_to_the_winning_piece_only(maxout_inputs):
    x, w, b, dout = maxout_inputs
    _, (_, _, winner) = act.maxout_forward(x, w, b)
    _, _, db = act.maxout_backward(dout, act.maxout_forward(x, w, b)[1])
    for j in range(3):
        assert_allclose(db[j], np.sum(dout * (winner == j), axis=0))


def test_torch_maxout_module_matches_numpy(maxout_inputs):
    x, _, _, dout = maxout_inputs
    torch.manual_seed(0)
    module = Maxout(4, 2, pieces=3, dtype=torch.float64)
    assert module.weight.shape == (3, 4, 2) and module.bias.shape == (3, 2)
    xt = t(x)
    out = module(xt)
    w, b = module.weight.detach().numpy(), module.bias.detach().numpy()
    expected, cache = act.maxout_forward(x, w, b)
    assert_allclose(out, expected)
    out.backward(torch.tensor(dout))
    dx, dw, db = act.maxout_backward(dout, cache)
    assert_allclose(xt.grad, dx)
    assert_allclose(module.weight.grad, dw)
    assert_allclose(module.bias.grad, db)


# -- softmax and log-softmax

@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_and_log_softmax_match_torch_without_overflow(scale, rng):
    scores = rng.normal(size=(4, 6)) * scale
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        probs, log_probs = act.softmax(scores), act.log_softmax(scores)
    assert_allclose(probs, F.softmax(torch.tensor(scores), dim=-1))
    assert_allclose(log_probs, F.log_softmax(torch.tensor(scores), dim=-1))


def test_softmax_rows_sum_to_one_for_any_batch_shape(rng):
    scores = rng.normal(size=(2, 3, 5))
    assert_allclose(act.softmax(scores).sum(axis=-1), np.ones((2, 3)))
    assert_allclose(act.log_softmax(scores), F.log_softmax(torch.tensor(scores), dim=-1))


# -- losses: (numpy loss, torch loss on (scores, y), how to draw scores and targets)

def regression_targets(rng):
    return rng.normal(size=(7, 3)), rng.normal(size=(7, 3))


def binary_targets(rng):
    return rng.normal(size=9) * 3, rng.integers(0, 2, size=9).astype(np.float64)


def class_targets(rng):
    return rng.normal(size=(8, 5)) * 2, rng.integers(0, 5, size=8)


LOSSES = {
    "l1": (losses.l1_loss, F.l1_loss, regression_targets),
    "mse": (losses.mse_loss, F.mse_loss, regression_targets),
    "bce": (losses.bce_with_logits, F.binary_cross_entropy_with_logits, binary_targets),
    "cross_entropy": (losses.softmax_cross_entropy, F.cross_entropy, class_targets),
    # torch divides the Weston-Watkins hinge by the number of classes
    "hinge": (losses.multiclass_hinge_loss,
              lambda s, y: F.multi_margin_loss(s, y, margin=1.0) * s.shape[1], class_targets),
}


def torch_targets(y):
    return torch.tensor(y) if y.dtype.kind == "f" else torch.tensor(y, dtype=torch.int64)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_torch(name, rng):
    loss_fn, reference, draw = LOSSES[name]
    scores, y = draw(rng)
    loss, _ = loss_fn(scores, y)
    assert np.ndim(loss) == 0
    assert_allclose(loss, reference(torch.tensor(scores), torch_targets(y)))


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradient_by_central_differences(name, rng):
    loss_fn, _, draw = LOSSES[name]
    scores, y = draw(rng)
    _, dscores = loss_fn(scores, y)
    assert dscores.shape == scores.shape
    assert_allclose(dscores, numerical_gradient(lambda s: loss_fn(s, y)[0], scores.copy()), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradient_matches_autograd(name, rng):
    loss_fn, reference, draw = LOSSES[name]
    scores, y = draw(rng)
    expected = torch.autograd.grad(reference(st := t(scores), torch_targets(y)), st)[0]
    assert_allclose(loss_fn(scores, y)[1], expected)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_is_averaged_over_the_batch(name, rng):
    loss_fn, _, draw = LOSSES[name]
    scores, y = draw(rng)
    twice = (np.concatenate([scores, scores]), np.concatenate([y, y]))
    assert_allclose(loss_fn(*twice)[0], loss_fn(scores, y)[0])


def test_cross_entropy_is_finite_for_huge_scores():
    scores, y = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 999.0]]), np.array([1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = losses.softmax_cross_entropy(scores, y)
    assert_allclose(loss, F.cross_entropy(torch.tensor(scores), torch.tensor(y)))
    assert np.all(np.isfinite(dscores))


def test_hinge_is_zero_once_margins_are_met_and_cross_entropy_is_not():
    scores, y = np.array([[3.0, 1.5, -2.0], [0.0, 4.0, 2.9]]), np.array([0, 1])
    hinge, dhinge = losses.multiclass_hinge_loss(scores, y)
    ce, dce = losses.softmax_cross_entropy(scores, y)
    assert hinge == 0 and not dhinge.any()
    assert ce > 0 and np.abs(dce).max() > 0


# -- softmax regression

def test_softmax_regression_reaches_the_digits_threshold_quickly():
    X_train, y_train, _, _, X_test, y_test = data.digits(seed=0)
    W, b, history = fit_softmax_regression(X_train, y_train)
    assert W.shape == (64, 10) and b.shape == (10,) and len(history) == 300
    assert history[-1] < history[0]
    assert np.mean(predict_classes(X_test, W, b) == y_test) >= 0.95
