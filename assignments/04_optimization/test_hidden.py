"""Hidden tests for assignment 04: never released. Expected values come from the reference."""

import numpy as np
import pytest

from autograder.student import data, heldout
from autograder.student.checks import (as_array, as_number, assert_close, assert_no_overflow, assert_shape,
                                       assert_unchanged)
from autograder.student.torchcheck import rule_trajectory
from reference import optim, schedules
from reference import second_order as so


def watched(rule, grader, name):
    """``rule``, failing as soon as one of its calls changes an argument (w, dw, the state) in place."""
    def call(*args, **kwargs):
        result = rule(*args, **kwargs)
        assert_unchanged(grader, name)
        return result
    call.__name__ = name
    return call


def compare_rule(student_rule, reference_rule, rng, what, grader, shape=(5, 2), steps=15, keys=(), **hyper):
    w0 = rng.normal(size=shape) * 2
    gradients = [rng.normal(size=shape) * rng.choice([1e-3, 1.0, 10.0]) for _ in range(steps)]
    ours, state = rule_trajectory(watched(student_rule, grader, what), w0, gradients, **hyper)
    expected, expected_state = rule_trajectory(reference_rule, w0, gradients, **hyper)
    assert_close(ours, expected, f"{what}'s iterates over {steps} steps with {hyper}")
    for key in keys:
        if not isinstance(state, dict) or key not in state:
            raise AssertionError(f"{what}'s state should be a dict with the key {key!r}")
        assert_close(state[key], expected_state[key], f"{what}'s state[{key!r}] after {steps} steps")


@pytest.mark.points(1)
def test_sgd_matches_reference(student, grader, rng):
    compare_rule(student.sgd, optim.sgd, rng, "sgd", grader, lr=0.03)
    compare_rule(student.sgd, optim.sgd, rng, "sgd", grader, shape=(7,), steps=3)


@pytest.mark.points(2)
def test_momentum_matches_reference(student, grader, rng):
    compare_rule(student.sgd_momentum, optim.sgd_momentum, rng, "sgd_momentum", grader, keys=("velocity",),
                 lr=0.02, momentum=0.5)
    compare_rule(student.sgd_momentum, optim.sgd_momentum, rng, "sgd_momentum", grader, shape=(3, 2, 2),
                 keys=("velocity",), lr=0.3)


@pytest.mark.points(2)
def test_nesterov_matches_reference(student, grader, rng):
    compare_rule(student.sgd_nesterov, optim.sgd_nesterov, rng, "sgd_nesterov", grader, keys=("velocity",),
                 lr=0.02, momentum=0.7)
    compare_rule(student.sgd_nesterov, optim.sgd_nesterov, rng, "sgd_nesterov", grader, shape=(6,), lr=0.3)


@pytest.mark.points(2)
def test_nesterov_stores_the_lookahead_point(student, grader):
    """With the gradient of a quadratic taken at the stored point, the stored point is theta + mu v."""
    curvature, lr, mu = np.array([1.0, 9.0, 30.0]), 0.03, 0.85
    theta, v = np.array([2.0, -1.0, 0.5]), np.zeros(3)
    w, state = theta.copy(), None
    for step in range(20):
        v = mu * v - lr * curvature * (theta + mu * v)
        theta = theta + v
        w, state = student.sgd_nesterov(w, curvature * as_array(w, "sgd_nesterov's new w"), state,
                                        lr=lr, momentum=mu)
        assert_unchanged(grader, "sgd_nesterov")
        assert_close(w, theta + mu * v, f"sgd_nesterov's point after {step + 1} steps on a quadratic "
                     "(should be the look-ahead point theta + momentum * v)")


@pytest.mark.points(2)
def test_rmsprop_matches_reference(student, grader, rng):
    compare_rule(student.rmsprop, optim.rmsprop, rng, "rmsprop", grader, keys=("square_avg",),
                 lr=0.005, alpha=0.95, eps=1e-6)
    compare_rule(student.rmsprop, optim.rmsprop, rng, "rmsprop", grader, shape=(8,))


@pytest.mark.points(2)
def test_adam_matches_reference(student, grader, rng):
    compare_rule(student.adam, optim.adam, rng, "adam", grader, keys=("exp_avg", "exp_avg_sq"),
                 lr=0.05, betas=(0.8, 0.9), eps=1e-4)
    compare_rule(student.adam, optim.adam, rng, "adam", grader, shape=(2, 3, 2), steps=30)


@pytest.mark.points(2)
def test_adam_bias_correction_over_long_runs(student, grader, rng):
    """Late steps, where 1 - beta2^t is still far from 1, expose a missing or wrong correction."""
    compare_rule(student.adam, optim.adam, rng, "adam", grader, shape=(4,), steps=200, lr=0.01, betas=(0.5, 0.999))


@pytest.mark.points(2)
def test_schedules_match_reference(student):
    epochs = [0, 1, 2, 3, 9, 10, 11, 49, 100]
    cases = [("inverse_time_decay", (0.3, 0.05), schedules.inverse_time_decay),
             ("step_decay", (0.3, 10, 0.3), schedules.step_decay),
             ("step_decay", (0.3, 3), schedules.step_decay),
             ("exponential_decay", (0.3, 0.97), schedules.exponential_decay),
             ("inverse_sqrt_decay", (0.3,), schedules.inverse_sqrt_decay)]
    for name, args, reference in cases:
        ours = [as_number(getattr(student, name)(e, *args), name) for e in epochs]
        assert_close(ours, [reference(e, *args) for e in epochs], f"{name}(epoch, {', '.join(map(str, args))})")


@pytest.mark.points(2)
def test_logistic_objective_matches_reference(student, grader, rng):
    X, y = rng.normal(size=(40, 6)) * 4, rng.integers(0, 2, size=40).astype(float)
    fun, hess = student.logistic_objective(X, y, 0.3)
    expected_fun, expected_hess = so.logistic_objective(X, y, 0.3)
    for w in (np.zeros(6), rng.normal(size=6) * 3):
        value, grad = fun(w)
        expected_value, expected_grad = expected_fun(w)
        assert_close(value, expected_value, "fun(w) of logistic_objective")
        assert_close(grad, expected_grad, "the gradient of logistic_objective")
        assert_close(hess(w), expected_hess(w), "hess(w) of logistic_objective")
    huge = np.array([[800.0], [-800.0]])
    fun, hess = student.logistic_objective(huge, np.array([0.0, 1.0]), 0.0)
    expected_fun, expected_hess = so.logistic_objective(huge, np.array([0.0, 1.0]), 0.0)
    value, grad = fun(np.array([1.0]))
    assert_no_overflow(grader, "fun(w) of logistic_objective for logits of +-800")
    assert_close(value, expected_fun(np.array([1.0]))[0], "fun(w) for logits of +-800")
    assert_close(grad, expected_fun(np.array([1.0]))[1], "the gradient of logistic_objective for logits of +-800")
    H = hess(np.array([1.0]))
    assert_no_overflow(grader, "hess(w) of logistic_objective for logits of +-800")
    assert_close(H, expected_hess(np.array([1.0])), "hess(w) for logits of +-800")


@pytest.mark.points(2)
def test_backtracking_matches_reference(student, rng):
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 2, size=50).astype(float)
    fun, _ = student.logistic_objective(X, y, 0.01)
    expected_fun, _ = so.logistic_objective(X, y, 0.01)
    x = rng.normal(size=4)
    direction = -expected_fun(x)[1]
    for alpha, rho, c in [(1.0, 0.5, 1e-4), (30.0, 0.7, 0.4), (5.0, 0.1, 0.9)]:
        t = student.backtracking_line_search(fun, x, direction, alpha, rho, c)
        expected = so.backtracking_line_search(expected_fun, x, direction, alpha, rho, c)
        assert_close(t, expected, f"backtracking_line_search(..., alpha={alpha}, rho={rho}, c={c})")


@pytest.mark.points(2)
def test_newton_matches_reference(student):
    X, y, *_ = data.breast_cancer(seed=1)
    fun, hess = student.logistic_objective(X, y, 0.05)
    expected_fun, expected_hess = so.logistic_objective(X, y, 0.05)
    x, history = student.newton(fun, hess, np.full(X.shape[1], 0.5), 30, 1e-10)
    expected_x, expected_history = so.newton(expected_fun, expected_hess, np.full(X.shape[1], 0.5), 30, 1e-10)
    assert_close(history, expected_history, "newton's history of values")
    assert_close(x, expected_x, "newton's solution", rtol=0, atol=1e-8)
    _, short = student.newton(fun, hess, np.zeros(X.shape[1]), 2)
    assert_shape(short, (3,), "newton's history with max_iter=2 (the start and 2 iterations)")


@pytest.mark.points(2)
def test_lbfgs_direction_matches_reference(student, rng):
    D = 7
    A = rng.normal(size=(D, D))
    A = A @ A.T + 0.1 * np.eye(D)
    for m in (1, 2, 6):
        s_history = [rng.normal(size=D) for _ in range(m)]
        y_history = [A @ s for s in s_history]
        g = rng.normal(size=D)
        assert_close(student.lbfgs_direction(g, s_history, y_history),
                     so.lbfgs_direction(g, s_history, y_history), f"lbfgs_direction with {m} pairs")


@pytest.mark.points(2)
def test_lbfgs_matches_reference(student):
    X, y, *_ = data.breast_cancer(seed=2)
    fun, _ = student.logistic_objective(X, y, 1e-3)
    expected_fun, _ = so.logistic_objective(X, y, 1e-3)
    for history_size in (3, 10):
        x, history = student.lbfgs(fun, np.zeros(X.shape[1]), history_size, 25, 1e-9)
        expected_x, expected_history = so.lbfgs(expected_fun, np.zeros(X.shape[1]), history_size, 25, 1e-9)
        assert_close(history, expected_history, f"lbfgs's history of values (history_size={history_size})",
                     rtol=1e-8)
        assert_close(x, expected_x, f"lbfgs's iterate after 25 iterations (history_size={history_size})",
                     rtol=1e-5, atol=1e-7)


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_momentum_and_adam_train_faster_than_sgd(student, secret, thresholds):
    """Momentum and Adam reach a lower training loss than SGD on the two-layer net in 200 steps."""
    view = heldout.rotated(data.digits(), secret)
    X, y = view.X_train, view.y_train
    sgd_loss, _ = optim.train_with(optim.sgd, X, y, lr=0.1)
    for name, lr, key in [("sgd_momentum", 0.1, "momentum_speedup"), ("adam", 1e-2, "adam_speedup")]:
        loss, _ = optim.train_with(getattr(student, name), X, y, lr=lr)
        if not loss * thresholds[key] <= sgd_loss:
            raise AssertionError(f"after 200 steps, training with {name} reaches a loss of {loss:.4f}, "
                                 f"but at most plain SGD's {sgd_loss:.4f} / {thresholds[key]:g} = "
                                 f"{sgd_loss / thresholds[key]:.4f} is required")


@pytest.mark.points(1)
def test_lbfgs_stores_only_pairs_of_curvature_above_1e_10(student, rng):
    """On a nearly flat objective every s.y is far below 1e-10: no pair is stored."""
    X, y = rng.normal(size=(20, 3)) * 1e-4, rng.integers(0, 2, size=20).astype(float)
    fun, _ = student.logistic_objective(X, y, 0.0)
    expected_fun, _ = so.logistic_objective(X, y, 0.0)
    x, _ = student.lbfgs(fun, np.ones(3), 10, 3, 0.0)
    expected_x, _ = so.lbfgs(expected_fun, np.ones(3), 10, 3, 0.0)
    assert_close(x, expected_x, "lbfgs's iterate after 3 iterations on a nearly flat objective (pairs with "
                 "s.y <= 1e-10 are not stored)", rtol=1e-6)
