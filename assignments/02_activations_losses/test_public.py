"""Public tests for assignment 02: students have this file and can run it with `course check`.

Expected values come from NumPy, PyTorch and exact properties; the hidden tests compare
against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.student.checks import (as_array, assert_close, assert_gradient, assert_no_overflow, assert_shape,
                                       assert_unchanged)
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
    assert_unchanged(grader, "sigmoid_forward(x)")
    assert_close(out, torch.sigmoid(torch.tensor(x)).numpy(), "sigmoid_forward(x)")
    dout = rng.normal(size=x.shape)
    dx = student.sigmoid_backward(dout, cache)
    assert_no_overflow(grader, "sigmoid_backward(dout, cache) for x = +-1000")
    assert_unchanged(grader, "sigmoid_backward(dout, cache)")
    assert_close(dx, autograd_vjp(torch.sigmoid, [x], dout)[0], "sigmoid_backward(dout, cache)")


@pytest.mark.points(1)
def test_tanh_layer_by_central_differences(student, grader, rng):
    x, dout = rng.normal(size=(3, 4)) * 2, rng.normal(size=(3, 4))
    out, cache = student.tanh_forward(x)
    assert_unchanged(grader, "tanh_forward(x)")
    assert_close(out, np.tanh(x), "tanh_forward(x)")
    dx = student.tanh_backward(dout, cache)
    assert_unchanged(grader, "tanh_backward(dout, cache)")
    assert_gradient(dx, layer_scalar(student.tanh_forward, dout), x, "tanh_backward(dout, cache)")


@pytest.mark.points(2)
def test_relu_layer_matches_torch(student, grader, rng):
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    out, cache = student.relu_forward(x)
    assert_unchanged(grader, "relu_forward(x)")
    assert_close(out, F.relu(torch.tensor(x)).numpy(), "relu_forward(x)")
    dx = student.relu_backward(dout, cache)
    assert_unchanged(grader, "relu_backward(dout, cache)")
    assert_close(dx, autograd_vjp(F.relu, [x], dout)[0], "relu_backward(dout, cache)")


@pytest.mark.points(2)
def test_leaky_relu_layer_matches_torch(student, grader, rng):
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    for slope in (0.01, 0.2):
        out, cache = student.leaky_relu_forward(x, negative_slope=slope)
        assert_unchanged(grader, f"leaky_relu_forward(x, negative_slope={slope})")
        expected = F.leaky_relu(torch.tensor(x), negative_slope=slope).numpy()
        assert_close(out, expected, f"leaky_relu_forward(x, negative_slope={slope})")
        dx = student.leaky_relu_backward(dout, cache)
        assert_unchanged(grader, "leaky_relu_backward(dout, cache)")
        expected_dx = autograd_vjp(lambda v: F.leaky_relu(v, negative_slope=slope), [x], dout)[0]
        assert_close(dx, expected_dx, f"leaky_relu_backward after negative_slope={slope}")


@pytest.mark.points(2)
def test_prelu_layer_matches_torch(student, grader, rng):
    x, alpha, dout = rng.normal(size=(6, 3, 2)), np.array([0.1, 0.25, 0.4]), rng.normal(size=(6, 3, 2))
    out, cache = student.prelu_forward(x, alpha)
    assert_unchanged(grader, "prelu_forward(x, alpha)")
    assert_close(out, F.prelu(torch.tensor(x), torch.tensor(alpha)).numpy(), "prelu_forward(x, alpha)")
    dx, dalpha = student.prelu_backward(dout, cache)
    assert_unchanged(grader, "prelu_backward(dout, cache)")
    expected_dx, expected_dalpha = autograd_vjp(F.prelu, [x, alpha], dout)
    assert_close(dx, expected_dx, "the dx of prelu_backward")
    assert_shape(dalpha, (3,), "the dalpha of prelu_backward")
    assert_close(dalpha, expected_dalpha, "the dalpha of prelu_backward")


def torch_maxout(x, w, b):
    return (x @ w + b[:, None, :]).max(dim=0).values


@pytest.mark.points(3)
def test_maxout_layer_matches_autograd(student, grader, rng):
    x, w, b = rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
    dout = rng.normal(size=(5, 2))
    out, cache = student.maxout_forward(x, w, b)
    assert_unchanged(grader, "maxout_forward(x, w, b)")
    expected = np.max([x @ w[j] + b[j] for j in range(3)], axis=0)
    assert_close(out, expected, "maxout_forward(x, w, b)")
    dx, dw, db = student.maxout_backward(dout, cache)
    assert_unchanged(grader, "maxout_backward(dout, cache)")
    for name, grad, want in zip(["dx", "dw", "db"], [dx, dw, db], autograd_vjp(torch_maxout, [x, w, b], dout)):
        assert_close(grad, want, f"the {name} of maxout_backward")


@pytest.mark.points(2)
def test_softmax_and_log_softmax_are_stable(student, grader, rng):
    scores = np.vstack([rng.normal(size=(3, 5)), [[1000.0, 0.0, -1000.0, 999.0, 2.0]]])
    probs = student.softmax(scores)
    assert_no_overflow(grader, "softmax(scores) for scores of 1000")
    assert_unchanged(grader, "softmax(scores)")
    assert_close(probs, torch.softmax(torch.tensor(scores), dim=-1).numpy(), "softmax(scores)")
    log_probs = student.log_softmax(scores)
    assert_no_overflow(grader, "log_softmax(scores) for scores of 1000")
    assert_unchanged(grader, "log_softmax(scores)")
    assert_close(log_probs, torch.log_softmax(torch.tensor(scores), dim=-1).numpy(), "log_softmax(scores)")


@pytest.mark.points(2)
def test_l1_loss_matches_torch(student, grader, rng):
    y_pred, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    loss, grad = student.l1_loss(y_pred, y)
    assert_unchanged(grader, "l1_loss(y_pred, y)")
    assert_close(loss, F.l1_loss(torch.tensor(y_pred), torch.tensor(y)).item(), "the loss of l1_loss")
    assert_gradient(grad, lambda p: student.l1_loss(p, y)[0], y_pred, "l1_loss's gradient")


@pytest.mark.points(3)
def test_softmax_cross_entropy_matches_torch(student, grader, rng):
    scores, y = rng.normal(size=(7, 4)) * 2, rng.integers(0, 4, size=7)
    loss, grad = student.softmax_cross_entropy(scores, y)
    assert_unchanged(grader, "softmax_cross_entropy(scores, y)")
    expected = F.cross_entropy(torch.tensor(scores), torch.tensor(y))
    assert_close(loss, expected.item(), "the loss of softmax_cross_entropy")
    expected_grad = autograd_vjp(lambda s: F.cross_entropy(s, torch.tensor(y)), [scores], np.array(1.0))[0]
    assert_close(grad, expected_grad, "softmax_cross_entropy's gradient")


@pytest.mark.points(3)
def test_multiclass_hinge_loss_matches_torch(student, grader, rng):
    scores, y = rng.normal(size=(7, 4)), rng.integers(0, 4, size=7)
    loss, grad = student.multiclass_hinge_loss(scores, y)
    assert_unchanged(grader, "multiclass_hinge_loss(scores, y)")
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
    drawn = np.concatenate([as_array(weight, "Maxout.weight").ravel(), as_array(bias, "Maxout.bias").ravel()])
    if np.abs(drawn).max() > 1 / np.sqrt(4) or np.unique(drawn).size < drawn.size:
        raise AssertionError("Maxout(4, 2, pieces=3)'s weight and bias should be drawn from U(-1/sqrt(4), "
                             "1/sqrt(4)), like nn.Linear's")


@pytest.mark.points(1)
def test_softmax_cross_entropy_is_stable_for_huge_scores(student, grader):
    scores, y = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 999.0]]), np.array([1, 2])
    loss, grad = student.softmax_cross_entropy(scores, y)
    assert_no_overflow(grader, "softmax_cross_entropy(scores, y) for scores of 1000")
    expected = F.cross_entropy(torch.tensor(scores), torch.tensor(y))
    assert_close(loss, expected.item(), "softmax_cross_entropy(scores, y) for scores of 1000")
    expected_grad = autograd_vjp(lambda s: F.cross_entropy(s, torch.tensor(y)), [scores], np.array(1.0))[0]
    assert_close(grad, expected_grad, "softmax_cross_entropy's gradient for scores of 1000")


@pytest.mark.points(1)
def test_softmax_regression_records_the_loss_before_each_step(student, rng):
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 4, size=20)
    y[:4] = np.arange(4)  # every class present: C = max(y) + 1 = 4
    W, b, history = student.fit_softmax_regression(X, y, lr=0.5, epochs=3)
    W_t = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    b_t = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    expected = []
    for _ in range(3):
        loss = F.cross_entropy(torch.tensor(X) @ W_t + b_t, torch.tensor(y))
        expected.append(loss.item())
        dW, db = torch.autograd.grad(loss, [W_t, b_t])
        with torch.no_grad():
            W_t -= 0.5 * dW
            b_t -= 0.5 * db
    assert_shape(history, (3,), "the history of fit_softmax_regression(..., epochs=3)")
    assert_close(history[0], np.log(4), "history[0] of fit_softmax_regression (the loss at W = 0: log C)")
    assert_close(history, expected, "the history of fit_softmax_regression (the loss before each step)")
    assert_close(W, W_t.detach().numpy(), "the W of fit_softmax_regression after 3 steps from 0")
    assert_close(b, b_t.detach().numpy(), "the b of fit_softmax_regression after 3 steps from 0")


@pytest.mark.points(1)
def test_activation_gradients_at_zero_match_torch(student, rng):
    """At x = 0 exactly, each backward pass takes the side its docstring states (torch's)."""
    x, dout = np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 2.0]]), rng.normal(size=(2, 3))
    alpha = np.array([0.1, 0.25, 0.4])
    dx = student.relu_backward(dout, student.relu_forward(x)[1])
    assert_close(dx, autograd_vjp(F.relu, [x], dout)[0], "relu_backward at x = 0 (0 where x <= 0)")
    dx = student.leaky_relu_backward(dout, student.leaky_relu_forward(x, negative_slope=0.2)[1])
    expected = autograd_vjp(lambda v: F.leaky_relu(v, negative_slope=0.2), [x], dout)[0]
    assert_close(dx, expected, "leaky_relu_backward at x = 0 (negative_slope * dout where x <= 0)")
    dx, _ = student.prelu_backward(dout, student.prelu_forward(x, alpha)[1])
    assert_close(dx, autograd_vjp(F.prelu, [x, alpha], dout)[0], "the dx of prelu_backward at x = 0 "
                 "(alpha_c * dout where x <= 0)")


@pytest.mark.points(1)
def test_softmax_and_log_softmax_take_the_last_axis(student, rng):
    scores = rng.normal(size=(2, 3, 4))
    assert_close(student.softmax(scores), torch.softmax(torch.tensor(scores), dim=-1).numpy(),
                 "softmax(scores) for scores of shape (2, 3, 4) (along the last axis)")
    assert_close(student.log_softmax(scores), torch.log_softmax(torch.tensor(scores), dim=-1).numpy(),
                 "log_softmax(scores) for scores of shape (2, 3, 4) (along the last axis)")


@pytest.mark.points(1)
def test_torch_maxout_draws_like_nn_linear_in_the_requested_dtype(student):
    layer = student.Maxout(16, 8, pieces=4, dtype=torch.float64)
    for name in ("weight", "bias"):
        drawn = as_array(fetch(getattr(layer, name)), f"Maxout.{name}")
        if drawn.dtype != np.float64:
            raise AssertionError(f"Maxout(16, 8, pieces=4, dtype=torch.float64).{name} is {drawn.dtype}, "
                                 "expected float64")
    weight = as_array(fetch(layer.weight), "Maxout.weight")
    if not 0.9 * 0.25 < np.abs(weight).max() <= 0.25:
        raise AssertionError(f"Maxout(16, 8, pieces=4).weight reaches |w| = {np.abs(weight).max():.4f}; "
                             "512 draws from U(-1/sqrt(16), 1/sqrt(16)) reach close to 0.25")


@pytest.mark.points(1)
def test_torch_maxout_creates_its_parameters_on_the_requested_device(student):
    """Maxout(..., device=...) passes the device on (the 'meta' device stands in for a GPU)."""
    layer = student.Maxout(4, 2, pieces=3, device="meta")
    for name in ("weight", "bias"):
        if fetch(getattr(layer, name).is_meta) is not True:
            raise AssertionError(f"Maxout(4, 2, pieces=3, device='meta').{name} is not on the 'meta' device")
