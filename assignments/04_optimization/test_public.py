"""Public tests for assignment 04: students have this file and can run it with `course check`.

Expected values come from torch.optim, torch.optim.lr_scheduler, scipy.optimize, central
differences and exact properties; the hidden tests compare against the reference solution.
"""

import numpy as np
import pytest
import scipy.optimize
import torch

from autograder.student import data
from autograder.student.checks import (as_array, as_number, assert_close, assert_gradient, assert_no_overflow,
                                       assert_shape, assert_unchanged)
from autograder.student.torchcheck import rule_trajectory, torch_trajectory


def watched(rule, grader, name):
    """``rule``, failing as soon as one of its calls changes an argument (w, dw, the state) in place."""
    def call(*args, **kwargs):
        result = rule(*args, **kwargs)
        assert_unchanged(grader, name)
        return result
    call.__name__ = name
    return call


def for_scipy(fun):
    """The submission's ``fun`` as scipy.optimize expects it: a float and a gradient array."""
    def wrapped(w):
        value, grad = fun(w)
        return as_number(value, "fun(w)"), as_array(grad, "the gradient returned by fun(w)")
    return wrapped


def sequence(rng, shape=(4, 3), steps=10):
    return rng.normal(size=shape), [rng.normal(size=shape) for _ in range(steps)]


@pytest.mark.points(1)
def test_sgd_matches_torch(student, grader, rng):
    w0, gradients = sequence(rng)
    ours, _ = rule_trajectory(watched(student.sgd, grader, "sgd"), w0, gradients, lr=0.2)
    assert_close(ours, torch_trajectory(torch.optim.SGD, w0, gradients, lr=0.2)[0], "sgd's iterates over 10 steps")


@pytest.mark.points(2)
def test_momentum_matches_torch_with_velocity_minus_lr_times_buffer(student, grader, rng):
    w0, gradients = sequence(rng)
    ours, state = rule_trajectory(watched(student.sgd_momentum, grader, "sgd_momentum"), w0, gradients,
                                  lr=0.1, momentum=0.9)
    theirs, torch_state = torch_trajectory(torch.optim.SGD, w0, gradients, lr=0.1, momentum=0.9)
    assert_close(ours, theirs, "sgd_momentum's iterates over 10 steps (torch.optim.SGD, momentum=0.9)")
    if not isinstance(state, dict) or "velocity" not in state:
        raise AssertionError("sgd_momentum's state should be a dict with the key 'velocity'")
    assert_close(state["velocity"], -0.1 * torch_state["momentum_buffer"].numpy(),
                 "the velocity (should be -lr times torch's momentum buffer)")


@pytest.mark.points(2)
def test_nesterov_matches_torch(student, grader, rng):
    w0, gradients = sequence(rng)
    ours, _ = rule_trajectory(watched(student.sgd_nesterov, grader, "sgd_nesterov"), w0, gradients,
                              lr=0.1, momentum=0.9)
    theirs, _ = torch_trajectory(torch.optim.SGD, w0, gradients, lr=0.1, momentum=0.9, nesterov=True)
    assert_close(ours, theirs, "sgd_nesterov's iterates over 10 steps (torch.optim.SGD, nesterov=True)")


@pytest.mark.points(2)
def test_rmsprop_matches_torch(student, grader, rng):
    w0, gradients = sequence(rng)
    ours, _ = rule_trajectory(watched(student.rmsprop, grader, "rmsprop"), w0, gradients, lr=0.01, alpha=0.9)
    theirs, _ = torch_trajectory(torch.optim.RMSprop, w0, gradients, lr=0.01, alpha=0.9)
    assert_close(ours, theirs, "rmsprop's iterates over 10 steps (torch.optim.RMSprop)")


@pytest.mark.points(2)
def test_adam_matches_torch(student, grader, rng):
    w0, gradients = sequence(rng)
    ours, _ = rule_trajectory(watched(student.adam, grader, "adam"), w0, gradients, lr=0.01)
    theirs, _ = torch_trajectory(torch.optim.Adam, w0, gradients, lr=0.01)
    assert_close(ours, theirs, "adam's iterates over 10 steps (torch.optim.Adam)")


@pytest.mark.points(1)
def test_rmsprop_adds_eps_outside_the_root_like_torch(student, rng):
    """Gradients of about 1e-4: sqrt(s) is then close to eps, and the placement of eps shows."""
    w0, gradients = sequence(rng)
    gradients = [1e-4 * g for g in gradients]
    ours, state = rule_trajectory(student.rmsprop, w0, gradients, lr=0.01)
    theirs, torch_state = torch_trajectory(torch.optim.RMSprop, w0, gradients, lr=0.01)
    assert_close(ours, theirs, "rmsprop's iterates for gradients of about 1e-4 (eps = 1e-8 added to sqrt(s), "
                 "as torch.optim.RMSprop does)")
    if not isinstance(state, dict) or "square_avg" not in state:
        raise AssertionError("rmsprop's state should be a dict with the key 'square_avg'")
    assert_close(state["square_avg"], torch_state["square_avg"].numpy(), "rmsprop's state['square_avg']",
                 rtol=1e-6, atol=1e-20)


@pytest.mark.points(1)
def test_adam_adds_eps_to_the_corrected_root_like_torch(student, rng):
    """eps = 1e-3 and gradients of about 1e-3: where eps sits changes every step."""
    w0, gradients = sequence(rng)
    gradients = [1e-3 * g for g in gradients]
    ours, state = rule_trajectory(student.adam, w0, gradients, lr=0.01, eps=1e-3)
    theirs, torch_state = torch_trajectory(torch.optim.Adam, w0, gradients, lr=0.01, eps=1e-3)
    assert_close(ours, theirs, "adam's iterates with eps=1e-3 (eps added to sqrt(v_hat), as torch.optim.Adam does)")
    for key in ("exp_avg", "exp_avg_sq"):
        if not isinstance(state, dict) or key not in state:
            raise AssertionError(f"adam's state should be a dict with the key {key!r}")
        assert_close(state[key], torch_state[key].numpy(), f"adam's state[{key!r}]", rtol=1e-6, atol=1e-20)


@pytest.mark.points(1)
def test_first_adam_step_moves_every_weight_by_lr(student):
    g = np.array([1e-4, -0.5, 30.0])
    w, _ = student.adam(np.zeros(3), g, None, lr=0.05)
    assert_close(w, -0.05 * np.sign(g), "adam's first step from 0 (bias correction makes it -lr * sign(g))",
                 rtol=1e-3)


def torch_rates(make_scheduler, n_epochs=25):
    torch_optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler, rates = make_scheduler(torch_optimizer), []
    while len(rates) < n_epochs:
        rates.append(torch_optimizer.param_groups[0]["lr"])
        torch_optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.points(2)
def test_schedules_match_torch_schedulers(student):
    epochs = range(25)
    cases = [
        ("inverse_time_decay(epoch, 0.1, 0.2)", lambda e: student.inverse_time_decay(e, 0.1, 0.2),
         lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.2 * e))),
        ("step_decay(epoch, 0.1, 5, 0.5)", lambda e: student.step_decay(e, 0.1, 5, 0.5),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5)),
        ("exponential_decay(epoch, 0.1, 0.9)", lambda e: student.exponential_decay(e, 0.1, 0.9),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        ("inverse_sqrt_decay(epoch, 0.1)", lambda e: student.inverse_sqrt_decay(e, 0.1),
         lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: (e + 1) ** -0.5)),
    ]
    for what, ours, make_scheduler in cases:
        assert_close([as_number(ours(e), what) for e in epochs], torch_rates(make_scheduler),
                     f"{what} for epochs 0-24")


@pytest.mark.points(2)
def test_logistic_objective_gradient_and_hessian_by_central_differences(student, rng):
    X, y, w = rng.normal(size=(12, 3)), rng.integers(0, 2, size=12).astype(float), rng.normal(size=3)
    fun, hess = student.logistic_objective(X, y, 0.1)
    value, grad = fun(w)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X @ w), torch.tensor(y))
    assert_close(value, expected.item() + 0.05 * w @ w, "fun(w), the regularized logistic loss")
    assert_gradient(grad, lambda v: fun(v)[0], w, "the gradient returned by fun(w)")
    for i in range(3):
        assert_gradient(as_array(hess(w), "hess(w)")[i], lambda v: fun(v)[1][i], w, f"row {i} of hess(w)")


@pytest.mark.points(1)
def test_logistic_objective_is_stable_for_huge_logits(student, grader):
    X, y, w = np.array([[800.0], [-800.0], [3.0]]), np.array([0.0, 1.0, 1.0]), np.array([1.0])
    fun, hess = student.logistic_objective(X, y, 0.0)
    value, grad = fun(w)
    assert_no_overflow(grader, "fun(w) of logistic_objective for logits of +-800")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X @ w), torch.tensor(y))
    assert_close(value, expected.item(), "fun(w) of logistic_objective for logits of +-800")
    p = torch.sigmoid(torch.tensor(X @ w)).numpy()
    assert_close(grad, X.T @ (p - y) / 3, "the gradient of logistic_objective for logits of +-800")
    H = hess(w)
    assert_no_overflow(grader, "hess(w) of logistic_objective for logits of +-800")
    assert_close(H, (X.T * (p * (1 - p))) @ X / 3, "hess(w) of logistic_objective for logits of +-800")


@pytest.mark.points(2)
def test_backtracking_meets_armijo_with_the_largest_step(student):
    X, y, *_ = data.breast_cancer()
    fun, _ = student.logistic_objective(X, y, 0.01)
    x0 = np.zeros(X.shape[1])
    value, grad = fun(x0)
    t = as_number(student.backtracking_line_search(fun, x0, -grad, 64.0, 0.5, 1e-4), "backtracking_line_search(...)")
    slack = 1e-12 * abs(value)  # the same condition computed in another order rounds differently
    if not t > 0 or not fun(x0 - t * grad)[0] <= value - 1e-4 * t * (grad @ grad) + slack:
        raise AssertionError(f"the step {t:g} does not meet the Armijo condition")
    if t < 64 and fun(x0 - 2 * t * grad)[0] <= value - 2e-4 * t * (grad @ grad) - slack:
        raise AssertionError(f"the step {t:g} meets the Armijo condition, but so does {2 * t:g}, "
                             "which was tried first")
    k = np.log2(64 / t)
    if abs(k - round(k)) > 1e-9:
        raise AssertionError(f"the step {t:g} is not alpha * rho^k = 64 * 0.5^k")


@pytest.mark.points(2)
def test_newton_reaches_scipys_optimum_in_a_handful_of_steps(student):
    X, y, *_ = data.breast_cancer()
    X = np.hstack([np.ones((len(X), 1)), X])
    fun, hess = student.logistic_objective(X, y, 0.01)
    x, history = student.newton(fun, hess, np.zeros(X.shape[1]))
    expected = scipy.optimize.minimize(for_scipy(fun), np.zeros(X.shape[1]), jac=True, method="L-BFGS-B",
                                       options={"gtol": 1e-10, "ftol": 1e-16})
    assert_close(x, expected.x, "newton's solution (compared with scipy's)", rtol=0, atol=1e-5)
    if len(history) > 12:
        raise AssertionError(f"newton took {len(history) - 1} iterations; it should need about 8")


@pytest.mark.points(1)
def test_newton_and_lbfgs_histories_hold_f_x0_and_the_value_after_each_iteration(student):
    X, y, *_ = data.breast_cancer()
    X = np.hstack([np.ones((len(X), 1)), X])
    fun, hess = student.logistic_objective(X, y, 0.01)
    x0 = np.zeros(X.shape[1])
    start = as_number(fun(x0)[0], "fun(x0)")
    for name, run in [("newton(fun, hess, x0, max_iter=3)", lambda: student.newton(fun, hess, x0, 3)),
                      ("lbfgs(fun, x0, max_iter=3)", lambda: student.lbfgs(fun, x0, 10, 3))]:
        x, history = run()
        history = as_array(history, f"the history of {name}")
        assert_shape(history, (4,), f"the history of {name}: f(x0), then the value after each of 3 iterations")
        assert_close(history[0], start, f"history[0] of {name}, f(x0)")
        assert_close(history[-1], as_number(fun(x)[0], "fun(x)"), f"history[-1] of {name}, f at the x it returns")
        if not np.all(np.diff(history) < 0):
            raise AssertionError(f"the history of {name} should decrease at every iteration: {history}")


@pytest.mark.points(2)
def test_lbfgs_direction_equals_explicit_bfgs_updates(student, rng):
    D, m = 5, 3
    A = rng.normal(size=(D, D))
    A = A @ A.T + np.eye(D)
    s_history = [rng.normal(size=D) for _ in range(m)]
    y_history = [A @ s for s in s_history]
    g = rng.normal(size=D)
    H = (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1]) * np.eye(D)
    for s, y in zip(s_history, y_history):
        V = np.eye(D) - np.outer(y, s) / (y @ s)
        H = V.T @ H @ V + np.outer(s, s) / (y @ s)
    assert_close(student.lbfgs_direction(g, s_history, y_history), -H @ g,
                 "lbfgs_direction with 3 pairs (compared with 3 explicit BFGS updates)")
    assert_close(student.lbfgs_direction(g, [], []), -g, "lbfgs_direction without history")


@pytest.mark.points(2)
def test_lbfgs_reaches_scipys_optimum(student):
    X, y, *_ = data.breast_cancer()
    X = np.hstack([np.ones((len(X), 1)), X])
    fun, _ = student.logistic_objective(X, y, 0.01)
    x, history = student.lbfgs(fun, np.zeros(X.shape[1]), 10, 200, 1e-8)
    expected = scipy.optimize.minimize(for_scipy(fun), np.zeros(X.shape[1]), jac=True, method="L-BFGS-B",
                                       options={"maxcor": 10, "gtol": 1e-10, "ftol": 1e-16})
    assert_close(x, expected.x, "lbfgs's solution (compared with scipy's L-BFGS-B)", rtol=0, atol=1e-5)


@pytest.mark.points(1)
def test_backtracking_returns_alpha_rho_to_max_steps_when_no_step_qualifies(student, rng):
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30).astype(float)
    fun, _ = student.logistic_objective(X, y, 0.01)
    x = np.zeros(3)
    direction = -as_array(fun(x)[1], "the gradient returned by fun(x)")
    t = student.backtracking_line_search(fun, x, direction, 1e6, 0.5, 1e-4, 3)
    assert_close(t, 1e6 * 0.5 ** 3, "backtracking_line_search(..., alpha=1e6, rho=0.5, max_steps=3), where "
                 "none of the steps 1e6, 5e5, 2.5e5 meets the Armijo condition")


@pytest.mark.points(1)
def test_newton_and_lbfgs_stop_once_max_abs_grad_is_at_most_the_tolerance(student, rng):
    X, y = np.abs(rng.normal(size=(20, 3))) + 0.1, np.ones(20)
    fun, hess = student.logistic_objective(X, y, 0.01)
    x0 = np.zeros(3)
    largest = float(np.max(np.abs(as_array(fun(x0)[1], "the gradient returned by fun(x0)"))))
    for name, run in [("newton", lambda tol: student.newton(fun, hess, x0, 5, tol)),
                      ("lbfgs", lambda tol: student.lbfgs(fun, x0, 10, 5, tol))]:
        x, history = run(largest)
        assert_shape(history, (1,), f"the history of {name} with tolerance_grad = max |grad(x0)| (it stops at once)")
        assert_close(x, x0, f"the x {name} returns when it stops at once")
        _, history = run(0.999 * largest)
        if len(history) < 2:
            raise AssertionError(f"{name} stopped at once with tolerance_grad just below max |grad(x0)|: it "
                                 "stops only when the largest |grad| component is at most the tolerance")


@pytest.mark.points(1)
def test_lbfgs_stores_no_pair_of_curvature_at_most_1e_10(student, rng):
    """On a nearly flat objective every s.y is far below 1e-10, so lbfgs stores no pair and each
    iteration is a steepest-descent step with the backtracking line search."""
    X, y = rng.normal(size=(20, 3)) * 1e-4, rng.integers(0, 2, size=20).astype(float)
    fun, _ = student.logistic_objective(X, y, 0.0)

    def value_and_gradient(w):
        value, grad = fun(w)
        return as_number(value, "fun(w)"), as_array(grad, "the gradient returned by fun(w)")

    expected = np.ones(3)
    for _ in range(3):  # d = -grad, and t the first of 1, 1/2, 1/4, ... that passes the Armijo test
        f0, g = value_and_gradient(expected)
        t = next(0.5 ** k for k in range(60) if value_and_gradient(expected - 0.5 ** k * g)[0]
                 <= f0 - 1e-4 * 0.5 ** k * (g @ g))
        expected = expected - t * g
    x, history = student.lbfgs(fun, np.ones(3), 10, 3, 0.0)
    assert_shape(history, (4,), "the history of lbfgs(fun, x0, 10, 3, 0.0)")
    assert_close(x, expected, "lbfgs's iterate after 3 iterations on a nearly flat objective (a pair with "
                 "s.y <= 1e-10 is not stored, so every direction is -grad)", rtol=1e-6)
