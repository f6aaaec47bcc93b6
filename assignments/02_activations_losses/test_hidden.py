"""Hidden tests for assignment 02: never released. Expected values come from the reference."""

import numpy as np
import pytest
import torch

from autograder.student import data, heldout
from autograder.student.checks import (accuracy, as_array, assert_at_least, assert_close, assert_gradient,
                               assert_no_overflow, assert_shape, assert_unchanged)
from autograder.student.gradcheck import numerical_vjp
from autograder.grading.proxy import fetch
from reference import activations as act
from reference import losses
from reference import softmax_regression as ref


@pytest.fixture(scope="module")
def digits():
    return data.digits(seed=0)


def assert_layer_gradient(dx, forward, x, dout, what):
    """``dx`` matches central differences of sum(forward(x) * dout) (reference forward)."""
    assert_gradient(dx, lambda v: np.sum(forward(v) * dout), x, what)


@pytest.mark.points(2)
def test_sigmoid_layer_matches_reference_beyond_700(student, grader, rng):
    x = np.concatenate([rng.normal(size=12) * 10, [-800.0, -710.0, 710.0, 800.0]]).reshape(4, 4)
    out, cache = student.sigmoid_forward(x)
    assert_no_overflow(grader, "sigmoid_forward for |x| > 700")
    assert_unchanged(grader, "sigmoid_forward(x)")
    assert_close(out, act.sigmoid_forward(x)[0], "sigmoid_forward(x)")
    dout = rng.normal(size=x.shape)
    dx = student.sigmoid_backward(dout, cache)
    assert_no_overflow(grader, "sigmoid_backward for |x| > 700")
    assert_unchanged(grader, "sigmoid_backward(dout, cache)")
    assert_close(dx, act.sigmoid_backward(dout, act.sigmoid_forward(x)[1]), "sigmoid_backward(dout, cache)")


@pytest.mark.points(2)
def test_tanh_layer_matches_reference(student, grader, rng):
    x, dout = rng.normal(size=(2, 3, 4)) * 3, rng.normal(size=(2, 3, 4))
    out, cache = student.tanh_forward(x)
    assert_unchanged(grader, "tanh_forward(x)")
    assert_close(out, act.tanh_forward(x)[0], "tanh_forward(x)")
    dx = student.tanh_backward(dout, cache)
    assert_unchanged(grader, "tanh_backward(dout, cache)")
    assert_layer_gradient(dx, lambda v: act.tanh_forward(v)[0], x, dout, "tanh_backward(dout, cache)")


@pytest.mark.points(2)
def test_relu_backward_blocks_negative_inputs(student, grader, rng):
    x, dout = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    out, cache = student.relu_forward(x)
    assert_unchanged(grader, "relu_forward(x)")
    assert_close(out, act.relu_forward(x)[0], "relu_forward(x)")
    dx = student.relu_backward(dout, cache)
    assert_unchanged(grader, "relu_backward(dout, cache)")
    assert_layer_gradient(dx, lambda v: act.relu_forward(v)[0], x, dout, "relu_backward(dout, cache)")
    assert_close(dx, act.relu_backward(dout, x), "relu_backward(dout, cache)")


@pytest.mark.points(2)
def test_leaky_relu_default_slope_and_positive_side(student, grader, rng):
    x, dout = rng.normal(size=(4, 6)) * 3, rng.normal(size=(4, 6))
    out, cache = student.leaky_relu_forward(x)
    assert_unchanged(grader, "leaky_relu_forward(x)")
    assert_close(out, act.leaky_relu_forward(x)[0], "leaky_relu_forward(x) with the default slope")
    dx = student.leaky_relu_backward(dout, cache)
    assert_unchanged(grader, "leaky_relu_backward(dout, cache)")
    assert_close(dx, act.leaky_relu_backward(dout, act.leaky_relu_forward(x)[1]),
                 "leaky_relu_backward with the default slope")
    positive = np.abs(x)
    out, _ = student.leaky_relu_forward(positive, negative_slope=0.3)
    assert_close(out, positive, "leaky_relu_forward(x, negative_slope=0.3) for x > 0 (must be x)")


@pytest.mark.points(3)
def test_prelu_alpha_gradient_sums_over_the_batch(student, grader, rng):
    x, alpha = rng.normal(size=(16, 4, 3, 3)), rng.uniform(0.05, 0.5, size=4)
    dout = rng.normal(size=x.shape)
    out, cache = student.prelu_forward(x, alpha)
    assert_unchanged(grader, "prelu_forward(x, alpha)")
    assert_close(out, act.prelu_forward(x, alpha)[0], "prelu_forward(x, alpha) on (16, 4, 3, 3) inputs")
    dx, dalpha = student.prelu_backward(dout, cache)
    assert_unchanged(grader, "prelu_backward(dout, cache)")
    expected_dx, expected_dalpha = act.prelu_backward(dout, act.prelu_forward(x, alpha)[1])
    assert_close(dx, expected_dx, "the dx of prelu_backward")
    assert_close(dalpha, expected_dalpha, "the dalpha of prelu_backward (summed over the batch?)")


@pytest.mark.points(2)
def test_prelu_gradients_by_central_differences(student, rng):
    x, alpha, dout = rng.normal(size=(7, 2)), np.array([0.2, 0.05]), rng.normal(size=(7, 2))
    _, cache = student.prelu_forward(x, alpha)
    dx, dalpha = student.prelu_backward(dout, cache)
    assert_layer_gradient(dx, lambda v: act.prelu_forward(v, alpha)[0], x, dout, "the dx of prelu_backward")
    assert_layer_gradient(dalpha, lambda a: act.prelu_forward(x, a)[0], alpha, dout,
                          "the dalpha of prelu_backward")


@pytest.mark.points(3)
def test_maxout_matches_reference_with_four_pieces(student, grader, rng):
    x, w, b = rng.normal(size=(6, 3)), rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 5))
    dout = rng.normal(size=(6, 5))
    out, cache = student.maxout_forward(x, w, b)
    assert_unchanged(grader, "maxout_forward(x, w, b)")
    expected_out, expected_cache = act.maxout_forward(x, w, b)
    assert_close(out, expected_out, "maxout_forward(x, w, b) with 4 pieces")
    grads = student.maxout_backward(dout, cache)
    assert_unchanged(grader, "maxout_backward(dout, cache)")
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise AssertionError("maxout_backward must return the three gradients (dx, dw, db)")
    for name, grad, expected in zip(["dx", "dw", "db"], grads, act.maxout_backward(dout, expected_cache)):
        assert_close(grad, expected, f"the {name} of maxout_backward")
    dw = numerical_vjp(lambda v: act.maxout_forward(x, v, b)[0], w.copy(), dout)
    assert_close(grads[1], dw, "the dw of maxout_backward against central differences", rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
def test_softmax_matches_reference_for_huge_scores(student, grader, rng):
    scores = np.vstack([rng.normal(size=(4, 6)) * 5, rng.normal(size=(2, 6)) * 1000])
    probs = student.softmax(scores)
    assert_no_overflow(grader, "softmax(scores) for scores in the thousands")
    assert_unchanged(grader, "softmax(scores)")
    assert_close(probs, act.softmax(scores), "softmax(scores)")
    log_probs = student.log_softmax(scores)
    assert_no_overflow(grader, "log_softmax(scores) for scores in the thousands")
    assert_unchanged(grader, "log_softmax(scores)")
    assert_close(log_probs, act.log_softmax(scores), "log_softmax(scores)")


@pytest.mark.points(2)
def test_l1_loss_matches_reference(student, grader, rng):
    for shape in [(1,), (12,), (5, 3)]:
        y_pred, y = rng.normal(size=shape) * 3, rng.normal(size=shape) * 3
        loss, grad = student.l1_loss(y_pred, y)
        assert_unchanged(grader, f"l1_loss(y_pred, y) on shape {shape}")
        expected_loss, expected_grad = losses.l1_loss(y_pred, y)
        assert_close(loss, expected_loss, f"l1_loss's loss on shape {shape}")
        assert_close(grad, expected_grad, f"l1_loss's gradient on shape {shape}")


@pytest.mark.points(3)
def test_softmax_cross_entropy_matches_reference(student, grader, rng):
    for n, c in [(1, 3), (20, 10)]:
        scores, y = rng.normal(size=(n, c)) * 3, rng.integers(0, c, size=n)
        loss, grad = student.softmax_cross_entropy(scores, y)
        assert_unchanged(grader, f"softmax_cross_entropy(scores, y) on {n} samples")
        expected_loss, expected_grad = losses.softmax_cross_entropy(scores, y)
        assert_close(loss, expected_loss, f"softmax_cross_entropy's loss on {n} samples")
        assert_close(grad, expected_grad, f"softmax_cross_entropy's gradient on {n} samples")
        assert_gradient(grad, lambda s: losses.softmax_cross_entropy(s, y)[0], scores,
                        "softmax_cross_entropy's gradient")


@pytest.mark.points(1)
def test_softmax_cross_entropy_is_finite_for_huge_scores(student, grader):
    scores, y = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 999.0]]), np.array([1, 2])
    loss, grad = student.softmax_cross_entropy(scores, y)
    assert_no_overflow(grader, "softmax_cross_entropy at scores of 1000")
    assert_unchanged(grader, "softmax_cross_entropy(scores, y)")
    expected_loss, expected_grad = losses.softmax_cross_entropy(scores, y)
    assert_close(loss, expected_loss, "softmax_cross_entropy at scores of 1000")
    assert_close(grad, expected_grad, "softmax_cross_entropy's gradient at scores of 1000")


@pytest.mark.points(3)
def test_multiclass_hinge_loss_matches_reference(student, grader, rng):
    for n, c in [(1, 4), (15, 6)]:
        scores, y = rng.normal(size=(n, c)), rng.integers(0, c, size=n)
        loss, grad = student.multiclass_hinge_loss(scores, y)
        assert_unchanged(grader, f"multiclass_hinge_loss(scores, y) on {n} samples")
        expected_loss, expected_grad = losses.multiclass_hinge_loss(scores, y)
        assert_close(loss, expected_loss, f"multiclass_hinge_loss's loss on {n} samples")
        assert_close(grad, expected_grad, f"multiclass_hinge_loss's gradient on {n} samples")


@pytest.mark.points(1)
def test_hinge_is_zero_once_every_margin_is_met(student):
    scores, y = np.array([[3.0, 1.5, -2.0], [0.0, 4.0, 2.9]]), np.array([0, 1])
    loss, grad = student.multiclass_hinge_loss(scores, y)
    assert_close(loss, 0.0, "multiclass_hinge_loss when every margin exceeds 1")
    assert_close(grad, np.zeros((2, 3)), "multiclass_hinge_loss's gradient when every margin exceeds 1")


@pytest.mark.points(2)
def test_softmax_regression_follows_reference(student, digits):
    X_train, y_train, X_test = digits.X_train, digits.y_train, digits.X_test
    W, b, history = student.fit_softmax_regression(X_train[:200], y_train[:200], lr=0.3, epochs=20)
    expected_W, expected_b, expected_history = ref.fit_softmax_regression(X_train[:200], y_train[:200],
                                                                         lr=0.3, epochs=20)
    assert_shape(history, (20,), "the loss history of fit_softmax_regression(..., epochs=20)")
    assert_close(history, expected_history, "the loss history of fit_softmax_regression")
    assert_close(W, expected_W, "the W of fit_softmax_regression")
    assert_close(b, expected_b, "the b of fit_softmax_regression")
    assert_close(student.predict_classes(X_test, expected_W, expected_b),
                 ref.predict_classes(X_test, expected_W, expected_b), "predict_classes")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_softmax_regression_reaches_accuracy_threshold(student, digits, secret, thresholds):
    """fit_softmax_regression with its defaults, trained on a transformed copy of the digits."""
    view = heldout.rotated(digits, secret)
    W, b, _ = student.fit_softmax_regression(view.X_train, view.y_train)
    assert_shape(W, (64, 10), "the W fit_softmax_regression returns")
    assert_shape(b, (10,), "the b fit_softmax_regression returns")
    held_out = accuracy(ref.predict_classes(view.X_test, as_array(W, "W"), as_array(b, "b")), view.y_test,
                        "the predictions of fit_softmax_regression's W and b")
    assert_at_least(held_out, thresholds["digits_accuracy"], "the test accuracy of fit_softmax_regression's W and b")


@pytest.mark.points(2)
def test_torch_maxout_matches_reference_and_is_initialized_like_linear(student, rng):
    layer = student.Maxout(3, 4, pieces=2)
    weight, bias = fetch(layer.weight), fetch(layer.bias)
    assert_shape(weight, (2, 3, 4), "Maxout(3, 4, pieces=2).weight")
    assert_shape(bias, (2, 4), "Maxout(3, 4, pieces=2).bias")
    weight = as_array(weight, "Maxout.weight").astype(np.float64)
    bias = as_array(bias, "Maxout.bias").astype(np.float64)
    x = torch.tensor(rng.normal(size=(6, 3)), dtype=torch.float32)
    assert_close(layer(x), act.maxout_forward(x.numpy().astype(np.float64), weight, bias)[0],
                 "Maxout's forward", rtol=1e-5, atol=1e-6)
    bound = 1 / np.sqrt(3)
    drawn = np.concatenate([weight.ravel(), bias.ravel()])
    if np.abs(drawn).max() > bound or np.abs(drawn).max() < bound / 2 or np.unique(drawn).size < drawn.size:
        raise AssertionError("Maxout's weight and bias should be drawn from U(-1/sqrt(in_features), "
                             "1/sqrt(in_features)), like nn.Linear's")
