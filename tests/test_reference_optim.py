"""The reference update rules, schedules and second-order methods against torch.optim,
torch.optim.lr_scheduler, scipy.optimize, central differences and torch.autograd, in float64."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.optimize
import torch

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient
from autograder.student.torchcheck import rule_trajectory, torch_trajectory
from reference import optim, schedules
from reference import second_order as so

STEPS = 10


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def gradients(rng):
    """A fixed sequence of gradients for a (3, 4) parameter, fed to both sides."""
    return [rng.normal(size=(3, 4)) for _ in range(STEPS)]


# -- update rules against torch.optim, 10 steps on the same gradients


@pytest.mark.parametrize("rule, torch_class, hyper, torch_hyper", [
    (optim.sgd, torch.optim.SGD, {}, {}),
    (optim.sgd, torch.optim.SGD, {"lr": 0.3}, {"lr": 0.3}),
    (optim.sgd_momentum, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.9}),
    (optim.sgd_momentum, torch.optim.SGD, {"lr": 0.2, "momentum": 0.5}, {"lr": 0.2, "momentum": 0.5}),
    (optim.sgd_nesterov, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9},
     {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.rmsprop, torch.optim.RMSprop, {}, {}),
    (optim.rmsprop, torch.optim.RMSprop, {"lr": 0.003, "alpha": 0.9, "eps": 1e-6},
     {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}),
    (optim.adam, torch.optim.Adam, {}, {}),
    (optim.adam, torch.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6},
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
])
def test_update_rule_matches_torch_optim(rule, torch_class, hyper, torch_hyper, rng, gradients):
    w0 = rng.normal(size=(3, 4))
    ours, _ = rule_trajectory(rule, w0, gradients, **hyper)
    theirs, _ = torch_trajectory(torch_class, w0, gradients, **torch_hyper)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_defaults_are_torchs():
    import inspect
    expected = {optim.sgd: {"lr": 1e-3}, optim.rmsprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
                optim.adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}}
    classes = {optim.sgd: torch.optim.SGD, optim.rmsprop: torch.optim.RMSprop, optim.adam: torch.optim.Adam}
    for rule, defaults in expected.items():
        ours = {k: v.default for k, v in inspect.signature(rule).parameters.items() if k in defaults}
        theirs = {k: inspect.signature(classes[rule]).parameters[k].default for k in defaults}
        assert ours == defaults == theirs


def test_lecture_velocity_is_minus_lr_times_torchs_momentum_buffer(rng, gradients):
    """v <- mu v - lr g; w <- w + v is torch's buf <- mu buf + g; w <- w - lr buf with v = -lr buf."""
    w0 = rng.normal(size=(3, 4))
    ours, state = rule_trajectory(optim.sgd_momentum, w0, gradients, lr=0.1, momentum=0.8)
    theirs, torch_state = torch_trajectory(torch.optim.SGD, w0, gradients, lr=0.1, momentum=0.8)
    np.testing.assert_allclose(state["velocity"], -0.1 * torch_state["momentum_buffer"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_nesterov_stores_the_lookahead_point_of_sutskevers_form():
    """theta <- theta + v with v <- mu v - lr grad(theta + mu v): the rule's w is theta + mu v."""
    A = np.diag([1.0, 25.0])
    grad = lambda x: A @ x  # noqa: E731
    lr, mu = 0.02, 0.9
    theta, v = np.array([2.0, 1.0]), np.zeros(2)
    w, state = theta.copy(), None
    for _ in range(30):
        v = mu * v - lr * grad(theta + mu * v)
        theta = theta + v
        w, state = optim.sgd_nesterov(w, grad(w), state, lr=lr, momentum=mu)
        np.testing.assert_allclose(w, theta + mu * v, rtol=1e-12, atol=1e-14)


def test_rmsprop_and_adam_state_match_torchs(rng, gradients):
    w0 = rng.normal(size=(3, 4))
    _, state = rule_trajectory(optim.rmsprop, w0, gradients)
    _, torch_state = torch_trajectory(torch.optim.RMSprop, w0, gradients)
    np.testing.assert_allclose(state["square_avg"], torch_state["square_avg"].numpy(), rtol=1e-12)
    _, state = rule_trajectory(optim.adam, w0, gradients)
    _, torch_state = torch_trajectory(torch.optim.Adam, w0, gradients)
    assert state["step"] == int(torch_state["step"]) == STEPS
    np.testing.assert_allclose(state["exp_avg"], torch_state["exp_avg"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(state["exp_avg_sq"], torch_state["exp_avg_sq"].numpy(), rtol=1e-12)


def test_adam_equals_the_papers_efficient_form_with_a_rescaled_eps(rng, gradients):
    """Kingma & Ba's lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), w -= lr_t m / (sqrt(v) + eps_hat)
    is the bias-corrected form when eps_hat = eps sqrt(1 - b2^t): only where eps sits differs."""
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-3  # a large eps makes the placement visible
    w, m, v = rng.normal(size=(3, 4)), 0.0, 0.0
    ours, state = w.copy(), None
    for t, dw in enumerate(gradients, start=1):
        m, v = b1 * m + (1 - b1) * dw, b2 * v + (1 - b2) * dw ** 2
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - lr_t * m / (np.sqrt(v) + eps * np.sqrt(1 - b2 ** t))
        ours, state = optim.adam(ours, dw, state, lr=lr, eps=eps)
        np.testing.assert_allclose(ours, w, rtol=1e-12)


def test_rmsprop_with_eps_inside_the_root_differs_only_for_tiny_gradients(rng):
    """Some texts write lr g / sqrt(s + eps); torch and this course write lr g / (sqrt(s) + eps).
    The two agree while s >> eps and part where s is about eps."""
    w, dw = rng.normal(size=5), np.array([3.0, 1.0, 0.3, 1e-4, 0.0])
    ours, state = optim.rmsprop(w, dw, lr=0.01, eps=1e-8)
    inside = w - 0.01 * dw / np.sqrt(state["square_avg"] + 1e-8)
    np.testing.assert_allclose((ours - w)[:3], (inside - w)[:3], rtol=1e-5)
    assert not np.isclose((ours - w)[3], (inside - w)[3], rtol=0.1, atol=0)
    assert ours[4] == inside[4] == w[4]


def test_first_adam_step_moves_every_coordinate_by_lr():
    """Bias correction makes the first step lr * sign(g), whatever the gradient's size."""
    w, dw = np.zeros(4), np.array([1e-3, -1.0, 50.0, -2e-2])
    new_w, _ = optim.adam(w, dw, lr=0.1)
    np.testing.assert_allclose(new_w, -0.1 * np.sign(dw), rtol=1e-4)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.sgd_nesterov, optim.rmsprop, optim.adam])
def test_update_rules_leave_their_inputs_alone(rule, rng):
    w, dw = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    w_copy, dw_copy = w.copy(), dw.copy()
    _, state = rule(w, dw)
    state_copy = {k: np.copy(v) for k, v in (state or {}).items()}
    rule(w, dw, state)
    np.testing.assert_array_equal(w, w_copy)
    np.testing.assert_array_equal(dw, dw_copy)
    for key, value in state_copy.items():
        np.testing.assert_array_equal(state[key], value)


# -- schedules against torch.optim.lr_scheduler


def torch_rates(make_scheduler, lr, epochs=25):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize("ours, make_scheduler", [
    (lambda e: schedules.step_decay(e, 0.1, step_size=7, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    (lambda e: schedules.exponential_decay(e, 0.1, gamma=0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    (lambda e: schedules.inverse_time_decay(e, 0.1, decay_rate=0.3),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.3 * e))),
    (lambda e: schedules.inverse_sqrt_decay(e, 0.1),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: (e + 1) ** -0.5)),
])
def test_schedule_matches_torch_scheduler(ours, make_scheduler):
    expected = torch_rates(make_scheduler, 0.1)
    np.testing.assert_allclose([ours(e) for e in range(len(expected))], expected, rtol=1e-12)


def test_schedules_start_at_lr_and_decrease():
    for schedule in (lambda e: schedules.step_decay(e, 0.5, 3), lambda e: schedules.exponential_decay(e, 0.5, 0.95),
                     lambda e: schedules.inverse_time_decay(e, 0.5, 1.0), lambda e: schedules.inverse_sqrt_decay(e, 0.5)):
        rates = np.array([schedule(e) for e in range(30)])
        assert rates[0] == 0.5 and np.all(np.diff(rates) <= 0) and rates[-1] < 0.5


# -- objective, line search, Newton, L-BFGS


@pytest.fixture(scope="module")
def cancer():
    X, y, *_ = data.breast_cancer()
    return np.hstack([np.ones((len(X), 1)), X]), y


def test_logistic_objective_gradient_and_hessian_by_central_differences(rng):
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 2, size=20).astype(float)
    fun, hess = so.logistic_objective(X, y, reg=0.1)
    w = rng.normal(size=4)
    np.testing.assert_allclose(fun(w)[1], numerical_gradient(lambda v: fun(v)[0], w.copy()), rtol=1e-7, atol=1e-9)
    numeric = np.stack([numerical_gradient(lambda v: fun(v)[1][i], w.copy()) for i in range(4)])
    np.testing.assert_allclose(hess(w), numeric, rtol=1e-6, atol=1e-8)


def test_logistic_objective_matches_torch_autograd(rng):
    X, y = rng.normal(size=(30, 5)) * 3, rng.integers(0, 2, size=30).astype(float)
    fun, hess = so.logistic_objective(X, y, reg=0.05)
    w = rng.normal(size=5)

    def torch_fun(v):
        z = torch.tensor(X) @ v
        return (torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y))
                + 0.5 * 0.05 * v @ v)

    v = torch.tensor(w, requires_grad=True)
    value = torch_fun(v)
    value.backward()
    assert np.isclose(fun(w)[0], value.item(), rtol=1e-12)
    np.testing.assert_allclose(fun(w)[1], v.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(hess(w), torch.autograd.functional.hessian(torch_fun, torch.tensor(w)).numpy(),
                               rtol=1e-10, atol=1e-14)


def test_logistic_objective_is_finite_for_huge_logits():
    X, y = np.array([[1000.0], [-1000.0]]), np.array([0.0, 0.0])
    fun, hess = so.logistic_objective(X, y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = fun(np.array([1.0]))
        hess(np.array([1.0]))
    assert np.isclose(value, 500.0 + 0.005)


def test_backtracking_returns_the_largest_armijo_step(cancer):
    X, y = cancer
    fun, _ = so.logistic_objective(X, y)
    x = np.zeros(X.shape[1])
    value, grad = fun(x)
    for alpha, rho, c in [(1.0, 0.5, 1e-4), (100.0, 0.5, 0.3), (50.0, 0.8, 0.5)]:
        t = so.backtracking_line_search(fun, x, -grad, alpha=alpha, rho=rho, c=c)
        assert fun(x - t * grad)[0] <= value - c * t * grad @ grad
        if t < alpha:
            bigger = t / rho
            assert fun(x - bigger * grad)[0] > value - c * bigger * grad @ grad
        assert np.isclose(np.log(t / alpha) / np.log(rho), round(np.log(t / alpha) / np.log(rho)))


def test_newton_converges_in_a_handful_of_steps_to_scipys_optimum(cancer):
    X, y = cancer
    fun, hess = so.logistic_objective(X, y, reg=1e-2)
    x, history = so.newton(fun, hess, np.zeros(X.shape[1]))
    expected = scipy.optimize.minimize(fun, np.zeros(X.shape[1]), jac=True, hess=hess, method="trust-exact",
                                       options={"gtol": 1e-10})
    assert len(history) <= 12
    assert np.all(np.diff(history) <= 0)
    np.testing.assert_allclose(x, expected.x, atol=1e-6)


def test_lbfgs_reaches_the_optimum_of_scipy_and_torch(cancer):
    X, y = cancer
    fun, _ = so.logistic_objective(X, y, reg=1e-2)
    x0 = np.zeros(X.shape[1])
    x, history = so.lbfgs(fun, x0, history_size=10, max_iter=200, tolerance_grad=1e-8)
    expected = scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                                       options={"maxcor": 10, "gtol": 1e-10, "ftol": 1e-16})
    np.testing.assert_allclose(x, expected.x, atol=1e-5)
    assert np.isclose(history[-1], expected.fun, rtol=1e-10)
    assert np.all(np.diff(history) <= 0)

    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    lbfgs = torch.optim.LBFGS([w], history_size=10, max_iter=500, tolerance_grad=1e-10,
                              tolerance_change=1e-14, line_search_fn="strong_wolfe")
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def closure():
        lbfgs.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w, yt) + 0.5 * 1e-2 * w @ w
        value.backward()
        return value

    lbfgs.step(closure)
    np.testing.assert_allclose(x, w.detach().numpy(), atol=1e-5)


def test_lbfgs_needs_fewer_iterations_than_gradient_descent_would(cancer):
    X, y = cancer
    fun, _ = so.logistic_objective(X, y, reg=1e-2)
    _, history = so.lbfgs(fun, np.zeros(X.shape[1]), tolerance_grad=1e-6)
    assert len(history) < 60


# -- the training comparison behind the threshold


def test_momentum_and_adam_train_the_two_layer_net_faster_than_sgd():
    X, y, *_ = data.digits()
    start = time.perf_counter()
    sgd, _ = optim.train_with(optim.sgd, X, y, lr=0.1)
    momentum, _ = optim.train_with(optim.sgd_momentum, X, y, lr=0.1)
    adam, history = optim.train_with(optim.adam, X, y, lr=1e-2)
    assert time.perf_counter() - start < 10
    assert len(history) == 200
    assert momentum < 0.3 and adam < 0.3 and sgd > 1.0, (sgd, momentum, adam)
