"""reference.linear, .losses (MSE, BCE), .activations.sigmoid and .torch_linear: every
gradient by central differences in float64 and against torch.autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, rel_error
from reference import activations, linear, losses, torch_linear

rng = np.random.default_rng(0)


@pytest.mark.parametrize(("ours", "theirs"), [
    (losses.mse_loss, lambda s, y: F.mse_loss(s, y)),
    (losses.bce_with_logits, lambda s, y: F.binary_cross_entropy_with_logits(s, y)),
])
def test_loss_and_gradient_against_central_differences_and_autograd(ours, theirs):
    scores, y = rng.normal(size=9) * 3, rng.integers(0, 2, size=9).astype(float)
    loss, dscores = ours(scores, y)
    assert rel_error(dscores, numerical_gradient(lambda s: ours(s, y)[0], scores.copy())) < 1e-7
    s = torch.tensor(scores, requires_grad=True)
    expected = theirs(s, torch.tensor(y))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    assert rel_error(dscores, s.grad.numpy()) < 1e-10


def test_sigmoid_matches_torch_without_overflow():
    z = np.array([-1000.0, -710.0, -20.0, 0.0, 20.0, 710.0, 1000.0])
    with np.errstate(over="raise"):
        p = activations.sigmoid(z)
    assert np.allclose(p, torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-300)
    assert np.allclose(p, np.exp(-np.logaddexp(0, -z)), rtol=1e-12, atol=0)  # torch flushes the tail


def test_bce_at_huge_logits_matches_torch():
    z, y = np.array([-1000.0, 1000.0]), np.array([1.0, 0.0])
    loss, _ = losses.bce_with_logits(z, y)
    assert loss == pytest.approx(F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)).item())


def test_normal_equations_match_lstsq_and_gradient_descent_approaches_them():
    X, y, *_ = data.diabetes()
    w = linear.fit_normal_equations(X, y)
    assert np.allclose(w, np.linalg.lstsq(linear.add_bias(X), y, rcond=None)[0], atol=1e-8)
    w_gd, history = linear.fit_linear_gd(X, y, lr=0.1, epochs=500)
    assert history[-1] < history[0] / 5
    assert np.all(np.diff(history) <= 1e-9)


def test_logistic_regression_learns_breast_cancer():
    X, y, _, _, X_test, y_test = data.breast_cancer()
    w, history = linear.fit_logistic(X, y)
    assert np.mean(linear.predict(X_test, w) == y_test) > 0.95
    assert linear.predict(X_test, w).dtype == np.int64


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_torch_model_follows_numpy_step_for_step(loss):
    X, y, _, _, X_test, _ = data.breast_cancer()
    model = torch_linear.LinearModel(X.shape[1])
    history = torch_linear.train_gd(model, X, y, loss=loss, lr=0.1, epochs=50)
    fit = linear.fit_logistic if loss == "bce" else linear.fit_linear_gd
    w, expected = fit(X, y, lr=0.1, epochs=50)
    assert np.allclose(history, expected, rtol=1e-9)
    with torch.no_grad():
        out = model(torch.as_tensor(X_test)).numpy()
    assert np.allclose(out, linear.add_bias(X_test) @ w, rtol=1e-8, atol=1e-10)
