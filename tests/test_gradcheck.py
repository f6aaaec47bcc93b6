"""The shared gradient-check utilities."""

import numpy as np
import pytest

from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error


def test_numerical_gradient_of_a_quadratic_is_exact_enough():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([0.5, -1.0])
    grad = numerical_gradient(lambda v: 0.5 * v @ A @ v, x.copy())
    assert rel_error(grad, A @ x) < 1e-9


def test_numerical_gradient_restores_its_input():
    x = np.arange(6.0).reshape(2, 3)
    numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert np.array_equal(x, np.arange(6.0).reshape(2, 3))


def test_numerical_vjp_matches_the_jacobian_transpose():
    W = np.random.default_rng(0).normal(size=(4, 3))
    x, dout = np.ones(3), np.arange(4.0)
    assert rel_error(numerical_vjp(lambda v: np.tanh(W @ v), x, dout),
                     W.T @ (dout * (1 - np.tanh(W @ x) ** 2))) < 1e-8


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        rel_error([1.0], [1.0, 2.0])
