"""Public tests for assignment 01: students have this file and can run it with `course check`.

Expected values come from NumPy, PyTorch and exact properties; the hidden tests compare
against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch

from autograder.student.checks import (as_array, assert_close, assert_gradient, assert_no_overflow, assert_shape,
                                       assert_unchanged)


def gradient_descent(X, y, loss, lr, epochs):
    """Full-batch gradient descent from w = 0 on the mean "mse" or "bce" (from logits), in
    float64: (w, the loss before each step)."""
    Xb = np.hstack([np.ones((len(X), 1)), X])
    w, history = np.zeros(Xb.shape[1]), []
    for _ in range(epochs):
        z = Xb @ w
        if loss == "mse":
            history.append(np.mean((z - y) ** 2))
            dz = 2 * (z - y) / len(y)
        else:
            history.append(np.mean(np.logaddexp(0.0, z) - z * y))
            dz = (np.exp(-np.logaddexp(0.0, -z)) - y) / len(y)
        w = w - lr * Xb.T @ dz
    return w, history


@pytest.mark.points(1)
def test_add_bias_prepends_ones(student, rng):
    X = rng.normal(size=(6, 3))
    Xb = student.add_bias(X)
    assert_shape(Xb, (6, 4), "add_bias(X)")
    assert_close(Xb, np.hstack([np.ones((6, 1)), X]), "add_bias(X)")


@pytest.mark.points(2)
def test_normal_equations_match_lstsq(student, rng):
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    expected = np.linalg.lstsq(np.hstack([np.ones((40, 1)), X]), y, rcond=None)[0]
    w = student.fit_normal_equations(X, y)
    assert_shape(w, (4,), "fit_normal_equations(X, y)")
    assert_close(w, expected, "fit_normal_equations(X, y)", atol=1e-8)


@pytest.mark.points(1)
def test_predict_linear(student, rng):
    X, w = rng.normal(size=(5, 2)), rng.normal(size=3)
    assert_close(student.predict_linear(X, w), w[0] + X @ w[1:], "predict_linear(X, w)")


@pytest.mark.points(1)
def test_mse_matches_torch(student, grader, rng):
    y_pred, y = rng.normal(size=8), rng.normal(size=8)
    loss, _ = student.mse_loss(y_pred, y)
    assert_unchanged(grader, "mse_loss(y_pred, y)")
    expected = torch.nn.functional.mse_loss(torch.tensor(y_pred), torch.tensor(y)).item()
    assert_close(loss, expected, "the loss returned by mse_loss")


@pytest.mark.points(2)
def test_mse_gradient_by_central_differences(student, rng):
    y_pred, y = rng.normal(size=8), rng.normal(size=8)
    _, grad = student.mse_loss(y_pred, y)
    assert_gradient(grad, lambda p: student.mse_loss(p, y)[0], y_pred, "mse_loss's gradient")


@pytest.mark.points(2)
def test_sigmoid_is_stable_for_large_inputs(student, grader):
    z = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    p = student.sigmoid(z)
    assert_no_overflow(grader, "sigmoid(z) for z = +-1000")
    assert_unchanged(grader, "sigmoid(z)")
    assert_shape(p, z.shape, "sigmoid(z)")
    assert_close(p, torch.sigmoid(torch.tensor(z)).numpy(), "sigmoid(z) for z up to +-1000")


@pytest.mark.points(1)
def test_bce_matches_torch(student, grader, rng):
    z, y = rng.normal(size=10) * 3, rng.integers(0, 2, size=10).astype(float)
    loss, _ = student.bce_with_logits(z, y)
    assert_unchanged(grader, "bce_with_logits(logits, y)")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y))
    assert_close(loss, expected.item(), "the loss returned by bce_with_logits")


@pytest.mark.points(2)
def test_bce_gradient_by_central_differences(student, rng):
    z, y = rng.normal(size=10), rng.integers(0, 2, size=10).astype(float)
    _, grad = student.bce_with_logits(z, y)
    assert_gradient(grad, lambda v: student.bce_with_logits(v, y)[0], z, "bce_with_logits's gradient")


@pytest.mark.points(1)
def test_predict_returns_labels(student, rng):
    X, w = rng.normal(size=(20, 3)), rng.normal(size=4)
    labels = student.predict(X, w)
    assert_shape(labels, (20,), "predict(X, w)")
    assert_close(labels, (w[0] + X @ w[1:] > 0).astype(int), "predict(X, w)")


@pytest.mark.points(1)
def test_bce_is_stable_for_huge_logits(student, grader):
    z, y = np.array([-1000.0, -1000.0, 0.0, 1000.0, 1000.0]), np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    loss, grad = student.bce_with_logits(z, y)
    assert_no_overflow(grader, "bce_with_logits(logits, y) for logits of +-1000")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y))
    assert_close(loss, expected.item(), "bce_with_logits(logits, y) for logits of +-1000")
    assert_close(grad, (torch.sigmoid(torch.tensor(z)).numpy() - y) / 5,
                 "bce_with_logits's gradient for logits of +-1000")


@pytest.mark.points(1)
def test_fit_linear_gd_records_the_loss_before_each_step(student, rng):
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    w, history = student.fit_linear_gd(X, y, lr=0.1, epochs=4)
    expected_w, expected_history = gradient_descent(X, y, "mse", lr=0.1, epochs=4)
    assert_shape(history, (4,), "the history of fit_linear_gd(..., epochs=4)")
    assert_close(history[0], np.mean(y ** 2), "history[0] of fit_linear_gd (the loss at w = 0, before any step)")
    assert_close(history, expected_history, "the history of fit_linear_gd (the loss before each step)")
    assert_close(w, expected_w, "the weights of fit_linear_gd after 4 steps from w = 0")


@pytest.mark.points(1)
def test_fit_logistic_records_the_loss_before_each_step(student, rng):
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30).astype(float)
    w, history = student.fit_logistic(X, y, lr=0.5, epochs=4)
    expected_w, expected_history = gradient_descent(X, y, "bce", lr=0.5, epochs=4)
    assert_shape(history, (4,), "the history of fit_logistic(..., epochs=4)")
    assert_close(history[0], np.log(2), "history[0] of fit_logistic (the loss at w = 0: log 2)")
    assert_close(history, expected_history, "the history of fit_logistic (the loss before each step)")
    assert_close(w, expected_w, "the weights of fit_logistic after 4 steps from w = 0")


@pytest.mark.points(2)
def test_torch_model_follows_numpy_gradient_descent_in_float64(student, rng):
    X, y = rng.normal(size=(25, 3)), rng.integers(0, 2, size=25).astype(float)
    for loss in ("mse", "bce"):
        model = student.LinearModel(3)
        history = student.train_gd(model, X, y, loss=loss, lr=0.3, epochs=5)
        expected_w, expected_history = gradient_descent(X, y, loss, lr=0.3, epochs=5)
        assert_close(history, expected_history, f"train_gd(model, X, y, loss={loss!r})'s history "
                     "(the loss before each step)", rtol=1e-6)
        out = as_array(model(torch.as_tensor(X)), "LinearModel's forward")
        if out.dtype != np.float64:
            raise AssertionError(f"LinearModel's forward returned {out.dtype}, expected float64 "
                                 "(the model is in float64)")
        assert_close(out, expected_w[0] + X @ expected_w[1:], f"the trained model's outputs after train_gd "
                     f"(loss={loss!r})", rtol=1e-6)


@pytest.mark.points(1)
def test_predict_gives_class_1_at_probability_one_half(student, rng):
    X = rng.normal(size=(6, 3))
    assert_close(student.predict(X, np.zeros(4)), np.ones(6),
                 "predict(X, w = 0), where every probability is 0.5 (class 1 at 0.5 and above)")


@pytest.mark.points(1)
def test_train_gd_accepts_float32_features_and_integer_labels(student, rng):
    X, y = rng.normal(size=(25, 3)).astype(np.float32), rng.integers(0, 2, size=25)
    history = student.train_gd(student.LinearModel(3), X, y, loss="bce", lr=0.3, epochs=5)
    _, expected_history = gradient_descent(X.astype(np.float64), y.astype(np.float64), "bce", lr=0.3, epochs=5)
    assert_close(history, expected_history, "train_gd(model, X, y) with float32 X and integer y (both arrays, "
                 "used in float64)", rtol=1e-6)
