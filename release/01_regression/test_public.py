"""Public tests for assignment 01: students have this file and can run it with `course check`.

Expected values come from NumPy, PyTorch and exact properties; the hidden tests compare
against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch

from autograder.student.checks import assert_close, assert_gradient, assert_no_overflow, assert_shape


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
def test_mse_matches_torch(student, rng):
    y_pred, y = rng.normal(size=8), rng.normal(size=8)
    loss, _ = student.mse_loss(y_pred, y)
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
    assert_shape(p, z.shape, "sigmoid(z)")
    assert_close(p, torch.sigmoid(torch.tensor(z)).numpy(), "sigmoid(z) for z up to +-1000")


@pytest.mark.points(1)
def test_bce_matches_torch(student, rng):
    z, y = rng.normal(size=10) * 3, rng.integers(0, 2, size=10).astype(float)
    loss, _ = student.bce_with_logits(z, y)
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
