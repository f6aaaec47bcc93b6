"""Public tests for assignment 02: students have this file and can run it with `course check`.

Expected values come from NumPy, PyTorch and exact properties; the hidden tests compare
against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.student.checks import assert_close, assert_gradient, assert_no_overflow, assert_shape
from autograder.grading.proxy import fetch


def autograd_vjp(function, inputs, dout):
    """Gradients of sum(function(*inputs) * dout) for each input, by torch.autograd."""
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = function(*tensors)
    return [g.numpy() for g in torch.autograd.grad(out, tensors, torch.tensor(dout))]


def layer_scalar(student_forward, dout, *args, **kwargs):
    """x -> sum(forward(x)[0] * dout): its gradient is what the backward pass returns."""
    return lambda x: np.sum(student_forward(x, *args, **kwargs)[0] * dout)


@pytest.mark.points(2)
def test_sigmoid_layer_matches_torch_without_overflow(student, grader, rng):
    x = np.concatenate([rng.normal(size=8) * 4, [-1000.0, 1000.0]])
    out, cache = student.sigmoid_forward(x)
    assert_no_overflow(grader, "sigmoid_forward(x) for x = +-1000")
    assert_close(out, torch.sigmoid(torch.tensor(x)).numpy(), "sigmoid_forward(x)")
    dout = rng.normal(size=x.shape)
    dx = student.sigmoid_backward(dout, cache)
    assert_close(dx, autograd_vjp(torch.sigmoid, [x], dout)[0], "sigmoid_backward(dout, cache)")


@pytest.mark.points(1)
def test_tanh_layer_by_central_differences(student, rng):
    x, dout = rng.normal(size=(3, 4)) * 2, rng.normal(size=(3, 4))
    out, cache = student.tanh_forward(x)
    assert_close(out, np.tanh(x), "tanh_forward(x)")
    dx = student.tanh_backward(dout, cache)
    assert_gradient(dx, layer_scalar(student.tanh_forward, dout), x, "tanh_backward(dout, cache)")


@pytest.mark.points(2)
def test_relu_layer_matches_torch(student, rng):
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    out, cache = student.relu_forward(x)
    assert_close(out, F.relu(torch.tensor(x)).numpy(), "relu_forward(x)")
    dx = student.relu_backward(dout, cache)
    assert_close(dx, autograd_vjp(F.relu, [x], dout)[0], "relu_backward(dout, cache)")


@pytest.mark.points(2)
def test_leaky_relu_layer_matches_torch(student, rng):
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    for slope in (0.01, 0.2):
        out, cache = student.leaky_relu_forward(x, negative_slope=slope)
        expected = F.leaky_relu(torch.tensor(x), negative_slope=slope).numpy()
        assert_close(out, expected, f"leaky_relu_forward(x, negative_slope={slope})")
        dx = student.leaky_relu_backward(dout, cache)
        expected_dx = autograd_vjp(lambda v: F.leaky_relu(v, negative_slope=slope), [x], dout)[0]
        assert_close(dx, expected_dx, f"leaky_relu_backward after negative_slope={slope}")


@pytest.mark.points(2)
def test_prelu_layer_matches_torch(student, rng):
    x, alpha, dout = rng.normal(size=(6, 3, 2)), np.array([0.1, 0.25, 0.4]), rng.normal(size=(6, 3, 2))
    out, cache = student.prelu_forward(x, alpha)
    assert_close(out, F.prelu(torch.tensor(x), torch.tensor(alpha)).numpy(), "prelu_forward(x, alpha)")
    dx, dalpha = student.prelu_backward(dout, cache)
    expected_dx, expected_dalpha = autograd_vjp(F.prelu, [x, alpha], dout)
    assert_close(dx, expected_dx, "the dx of prelu_backward")
    assert_shape(dalpha, (3,), "the dalpha of prelu_backward")
    assert_close(dalpha, expected_dalpha, "the dalpha of prelu_backward")


def torch_maxout(x, w, b):
    return (x @ w + b[:, None, :]).max(dim=0).values


@pytest.mark.points(3)
def test_maxout_layer_matches_autograd(student, rng):
    x, w, b = rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
    dout = rng.normal(size=(5, 2))
    out, cache = student.maxout_forward(x, w, b)
    expected = np.max([x @ w[j] + b[j] for j in range(3)], axis=0)
    assert_close(out, expected, "maxout_forward(x, w, b)")
    dx, dw, db = student.maxout_backward(dout, cache)
    for name, grad, want in zip(["dx", "dw", "db"], [dx, dw, db], autograd_vjp(torch_maxout, [x, w, b], dout)):
        assert_close(grad, want, f"the {name} of maxout_backward")


@pytest.mark.points(2)
def test_softmax_and_log_softmax_are_stable(student, grader, rng):
    scores = np.vstack([rng.normal(size=(3, 5)), [[1000.0, 0.0, -1000.0, 999.0, 2.0]]])
    probs = student.softmax(scores)
    assert_no_overflow(grader, "softmax(scores) for scores of 1000")
    assert_close(probs, torch.softmax(torch.tensor(scores), dim=-1).numpy(), "softmax(scores)")
    log_probs = student.log_softmax(scores)
    assert_no_overflow(grader, "log_softmax(scores) for scores of 1000")
    assert_close(log_probs, torch.log_softmax(torch.tensor(scores), dim=-1).numpy(), "log_softmax(scores)")


@pytest.mark.points(2)
def test_l1_loss_matches_torch(student, rng):
    y_pred, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    loss, grad = student.l1_loss(y_pred, y)
    assert_close(loss, F.l1_loss(torch.tensor(y_pred), torch.tensor(y)).item(), "the loss of l1_loss")
    assert_gradient(grad, lambda p: student.l1_loss(p, y)[0], y_pred, "l1_loss's gradient")


@pytest.mark.points(3)
def test_softmax_cross_entropy_matches_torch(student, rng):
    scores, y = rng.normal(size=(7, 4)) * 2, rng.integers(0, 4, size=7)
    loss, grad = student.softmax_cross_entropy(scores, y)
    expected = F.cross_entropy(torch.tensor(scores), torch.tensor(y))
    assert_close(loss, expected.item(), "the loss of softmax_cross_entropy")
    expected_grad = autograd_vjp(lambda s: F.cross_entropy(s, torch.tensor(y)), [scores], np.array(1.0))[0]
    assert_close(grad, expected_grad, "softmax_cross_entropy's gradient")


@pytest.mark.points(3)
def test_multiclass_hinge_loss_matches_torch(student, rng):
    scores, y = rng.normal(size=(7, 4)), rng.integers(0, 4, size=7)
    loss, grad = student.multiclass_hinge_loss(scores, y)
    expected = 4 * F.multi_margin_loss(torch.tensor(scores), torch.tensor(y), margin=1.0)
    assert_close(loss, expected.item(), "the loss of multiclass_hinge_loss")
    assert_gradient(grad, lambda s: student.multiclass_hinge_loss(s, y)[0], scores,
                    "multiclass_hinge_loss's gradient")


@pytest.mark.points(1)
def test_predict_classes_takes_the_largest_score(student, rng):
    X, W, b = rng.normal(size=(9, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    labels = student.predict_classes(X, W, b)
    assert_shape(labels, (9,), "predict_classes(X, W, b)")
    assert_close(labels, np.argmax(X @ W + b, axis=1), "predict_classes(X, W, b)")


@pytest.mark.points(2)
def test_torch_maxout_module_matches_autograd(student, rng):
    layer = student.Maxout(4, 2, pieces=3)
    weight, bias = fetch(layer.weight), fetch(layer.bias)
    assert_shape(weight, (3, 4, 2), "Maxout(4, 2, pieces=3).weight")
    assert_shape(bias, (3, 2), "Maxout(4, 2, pieces=3).bias")
    x = torch.tensor(rng.normal(size=(5, 4)), dtype=torch.float32)
    expected = torch_maxout(x, torch.as_tensor(weight), torch.as_tensor(bias))
    assert_close(layer(x), expected.numpy(), "Maxout's forward", rtol=1e-5, atol=1e-6)
