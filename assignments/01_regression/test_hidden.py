"""Hidden tests for assignment 01: never released. Expected values come from the reference."""

import numpy as np
import pytest
import torch

from autograder.student import data, heldout
from autograder.student.checks import (accuracy, as_array, assert_at_least, assert_close, assert_gradient,
                                       assert_no_overflow, assert_shape, assert_unchanged)
from reference import activations, losses
from reference import linear as ref


@pytest.fixture(scope="module")
def diabetes():
    return data.diabetes(seed=1)


@pytest.fixture(scope="module")
def cancer():
    return data.breast_cancer(seed=0)


@pytest.mark.points(1)
def test_linear_predictions_match_reference(student, rng):
    for n, d in [(1, 1), (7, 4)]:
        X, w = rng.normal(size=(n, d)), rng.normal(size=d + 1)
        assert_close(student.predict_linear(X, w), ref.predict_linear(X, w), f"predict_linear on {n}x{d} inputs")


@pytest.mark.points(2)
def test_normal_equations_on_diabetes(student, diabetes):
    X_train, y_train = diabetes.X_train, diabetes.y_train
    w = student.fit_normal_equations(X_train, y_train)
    assert_shape(w, (X_train.shape[1] + 1,), "fit_normal_equations on the diabetes data")
    assert_close(w, ref.fit_normal_equations(X_train, y_train), "the diabetes weights", rtol=0, atol=1e-6)


@pytest.mark.points(2)
def test_mse_gradient_matches_reference(student, grader, rng):
    y_pred, y = rng.normal(size=13) * 5, rng.normal(size=13) * 5
    loss, grad = student.mse_loss(y_pred, y)
    assert_unchanged(grader, "mse_loss(y_pred, y)")
    expected_loss, expected_grad = losses.mse_loss(y_pred, y)
    assert_close(loss, expected_loss, "mse_loss's loss")
    assert_gradient(grad, lambda p: losses.mse_loss(p, y)[0], y_pred, "mse_loss's gradient")
    assert_close(grad, expected_grad, "mse_loss's gradient")


@pytest.mark.points(2)
def test_linear_gradient_descent_follows_reference(student, diabetes):
    X_train, y_train = diabetes.X_train, diabetes.y_train
    w, history = student.fit_linear_gd(X_train, y_train, lr=0.05, epochs=200)
    expected_w, expected_history = ref.fit_linear_gd(X_train, y_train, lr=0.05, epochs=200)
    assert_shape(history, (200,), "the loss history of fit_linear_gd(..., epochs=200)")
    assert_close(history, expected_history, "the loss history of fit_linear_gd")
    assert_close(w, expected_w, "the weights of fit_linear_gd")


@pytest.mark.points(2)
def test_sigmoid_matches_reference_without_overflow(student, grader, rng):
    z = np.concatenate([rng.normal(size=20) * 10, [-800.0, -710.0, 710.0, 800.0]])
    p = student.sigmoid(z)
    assert_no_overflow(grader, "sigmoid for |z| > 700")
    assert_unchanged(grader, "sigmoid(z)")
    assert_close(p, activations.sigmoid(z), "sigmoid(z)")


@pytest.mark.points(2)
def test_bce_loss_and_gradient_match_reference(student, grader, rng):
    for n in (1, 50):
        z, y = rng.normal(size=n) * 4, rng.integers(0, 2, size=n).astype(float)
        loss, grad = student.bce_with_logits(z, y)
        assert_unchanged(grader, f"bce_with_logits(logits, y) on {n} samples")
        expected_loss, expected_grad = losses.bce_with_logits(z, y)
        assert_close(loss, expected_loss, f"bce_with_logits's loss on {n} samples")
        assert_gradient(grad, lambda v: losses.bce_with_logits(v, y)[0], z, "bce_with_logits's gradient")
        assert_close(grad, expected_grad, f"bce_with_logits's gradient on {n} samples")


@pytest.mark.points(1)
def test_bce_is_finite_for_huge_logits(student, grader):
    z, y = np.array([-1000.0, 1000.0, -1000.0, 1000.0]), np.array([1.0, 0.0, 0.0, 1.0])
    loss, grad = student.bce_with_logits(z, y)
    assert_no_overflow(grader, "bce_with_logits at logits of +-1000")
    expected_loss, expected_grad = losses.bce_with_logits(z, y)
    assert_close(loss, expected_loss, "bce_with_logits at logits of +-1000")
    assert_close(grad, expected_grad, "bce_with_logits's gradient at logits of +-1000")


@pytest.mark.points(2)
def test_logistic_fit_follows_reference(student, cancer):
    X_train, y_train, X_test = cancer.X_train, cancer.y_train, cancer.X_test
    w, history = student.fit_logistic(X_train[:100], y_train[:100], lr=0.3, epochs=50)
    expected_w, expected_history = ref.fit_logistic(X_train[:100], y_train[:100], lr=0.3, epochs=50)
    assert_close(history, expected_history, "the loss history of fit_logistic")
    assert_close(w, expected_w, "the weights of fit_logistic")
    assert_close(student.predict_proba(X_test, expected_w), ref.predict_proba(X_test, expected_w),
                 "predict_proba")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_logistic_regression_reaches_accuracy_threshold(student, cancer, secret, thresholds):
    """fit_logistic with its defaults, trained on a transformed copy of the data: test accuracy."""
    view = heldout.rotated(cancer, secret)
    w, _ = student.fit_logistic(view.X_train, view.y_train)
    assert_shape(w, (view.X_train.shape[1] + 1,), "the weights fit_logistic returns")
    held_out = accuracy(ref.predict(view.X_test, as_array(w, "fit_logistic's weights")), view.y_test,
                        "the predictions of fit_logistic's weights")
    assert_at_least(held_out, thresholds["breast_cancer_accuracy"], "the test accuracy of fit_logistic's weights")


@pytest.mark.points(3)
def test_torch_logistic_model_matches_numpy(student, cancer):
    X_train, y_train, X_test = cancer.X_train, cancer.y_train, cancer.X_test
    model = student.LinearModel(X_train.shape[1])
    history = student.train_gd(model, X_train, y_train, loss="bce", lr=0.5, epochs=100)
    w, expected_history = ref.fit_logistic(X_train, y_train, lr=0.5, epochs=100)
    assert_close(history, expected_history, "train_gd's loss history (bce)", rtol=1e-6)
    proba = torch.sigmoid(model(torch.as_tensor(X_test)))
    assert_close(proba, ref.predict_proba(X_test, w), "the PyTorch model's probabilities", rtol=1e-6)


@pytest.mark.points(2)
def test_torch_linear_regression_matches_numpy(student, diabetes):
    X_train, y_train, X_test = diabetes.X_train, diabetes.y_train, diabetes.X_test
    model = student.LinearModel(X_train.shape[1])
    history = student.train_gd(model, X_train, y_train, loss="mse", lr=0.05, epochs=100)
    w, expected_history = ref.fit_linear_gd(X_train, y_train, lr=0.05, epochs=100)
    assert_close(history, expected_history, "train_gd's loss history (mse)", rtol=1e-6)
    assert_close(model(torch.as_tensor(X_test)), ref.predict_linear(X_test, w),
                 "the PyTorch model's predictions", rtol=1e-6)
