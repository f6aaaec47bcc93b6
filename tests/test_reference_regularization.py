"""The reference's regularization and normalization layers against torch and central differences."""

import numpy as np
import pytest
import torch
from torch import nn

from autograder.student import data
from autograder.student.gradcheck import numerical_gradient, numerical_vjp, rel_error
from reference import normalization as norm
from reference import regularization as reg
from reference.modules import BatchNorm, Dropout, Sequential
from reference.networks import bagging_fit, bagging_predict, make_mlp, train


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def torch_grads(forward, inputs, dout):
    """Gradients of sum(forward(*inputs) * dout) by torch.autograd, as arrays."""
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    (forward(*tensors) * torch.tensor(dout)).sum().backward()
    return [t.grad.numpy() for t in tensors]


def batchnorm_module(gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    module = nn.BatchNorm1d(len(gamma), momentum=momentum, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(gamma))
        module.bias.copy_(torch.tensor(beta))
        module.running_mean.copy_(torch.tensor(running_mean))
        module.running_var.copy_(torch.tensor(running_var))
    return module


def bn_inputs(rng, n=8, d=5):
    x = rng.normal(2.0, 3.0, size=(n, d))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    running_mean, running_var = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
    return x, gamma, beta, running_mean, running_var


# -- penalties

@pytest.mark.parametrize("penalty", [reg.l1_penalty, reg.l2_penalty])
def test_penalty_gradient_by_central_differences(penalty, rng):
    w = rng.normal(size=(4, 3))
    value, dw = penalty(w, 0.3)
    assert rel_error(dw, numerical_gradient(lambda v: penalty(v, 0.3)[0], w.copy())) < 1e-8
    assert np.isscalar(value) or np.ndim(value) == 0


def test_penalties_match_torch(rng):
    w = rng.normal(size=(4, 3))
    w[0, 0] = 0.0
    for penalty, torch_penalty in [(reg.l1_penalty, lambda t: 0.3 * t.abs().sum()),
                                   (reg.l2_penalty, lambda t: 0.15 * (t ** 2).sum())]:
        value, dw = penalty(w, 0.3)
        t = torch.tensor(w, requires_grad=True)
        expected = torch_penalty(t)
        expected.backward()
        assert np.isclose(value, expected.item())
        assert np.allclose(dw, t.grad.numpy())


def test_l2_gradient_is_sgd_weight_decay(rng):
    w, lr, lam = rng.normal(size=5), 0.1, 0.01
    param = nn.Parameter(torch.tensor(w))
    param.grad = torch.zeros_like(param)
    torch.optim.SGD([param], lr=lr, weight_decay=lam).step()
    assert np.allclose(w - lr * reg.l2_penalty(w, lam)[1], param.detach().numpy())


# -- dropout

def test_dropout_keeps_or_rescales_each_entry_like_torch(rng):
    x, p = rng.normal(size=(200, 50)) + 3.0, 0.3
    out, _ = reg.dropout_forward(x, p, rng=np.random.default_rng(1))
    expected = nn.Dropout(p).train()(torch.tensor(x)).numpy()
    for result in (out, expected):
        kept = result != 0
        assert np.allclose(result[kept], x[kept] / (1 - p))
        assert abs(1 - kept.mean() - p) < 0.02


def test_dropout_preserves_the_expectation(rng):
    x = rng.normal(size=(4, 5))
    outs = [reg.dropout_forward(x, 0.6, rng=np.random.default_rng(seed))[0] for seed in range(4000)]
    assert np.allclose(np.mean(outs, axis=0), x, atol=0.1)


def test_dropout_is_the_identity_at_test_time_like_torch(rng):
    x = rng.normal(size=(6, 7))
    out, cache = reg.dropout_forward(x, 0.5, train=False)
    assert np.array_equal(out, x)
    assert np.array_equal(out, nn.Dropout(0.5).eval()(torch.tensor(x)).numpy())
    dout = rng.normal(size=x.shape)
    assert np.array_equal(reg.dropout_backward(dout, cache), dout)


def test_dropout_mask_comes_from_the_given_generator(rng):
    x = rng.normal(size=(10, 10))
    first, _ = reg.dropout_forward(x, 0.5, rng=np.random.default_rng(3))
    again, _ = reg.dropout_forward(x, 0.5, rng=np.random.default_rng(3))
    other, _ = reg.dropout_forward(x, 0.5, rng=np.random.default_rng(4))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_dropout_backward_by_central_differences_and_torch(rng):
    x, dout = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    out, cache = reg.dropout_forward(x, 0.4, rng=np.random.default_rng(7))
    dx = reg.dropout_backward(dout, cache)
    forward = lambda v: reg.dropout_forward(v, 0.4, rng=np.random.default_rng(7))[0]  # noqa: E731
    assert rel_error(dx, numerical_vjp(forward, x.copy(), dout)) < 1e-8
    mask = torch.tensor(out / np.where(x == 0, 1, x))  # the rescaled mask, recovered
    (expected,) = torch_grads(lambda t: t * mask, [x], dout)
    assert np.allclose(dx, expected)


# -- batch normalization

def test_batchnorm_training_forward_and_running_stats_match_torch(rng):
    x, gamma, beta, running_mean, running_var = bn_inputs(rng)
    out, _, new_mean, new_var = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var,
                                                       momentum=0.2, eps=1e-3)
    module = batchnorm_module(gamma, beta, running_mean, running_var, momentum=0.2, eps=1e-3).train()
    expected = module(torch.tensor(x)).detach().numpy()
    assert rel_error(out, expected) < 1e-10
    assert np.allclose(new_mean, module.running_mean.numpy())
    assert np.allclose(new_var, module.running_var.numpy())


def test_batchnorm_does_not_change_its_inputs(rng):
    x, gamma, beta, running_mean, running_var = bn_inputs(rng)
    copies = [a.copy() for a in (x, gamma, beta, running_mean, running_var)]
    norm.batchnorm_forward(x, gamma, beta, running_mean, running_var)
    assert all(np.array_equal(a, b) for a, b in zip(copies, (x, gamma, beta, running_mean, running_var)))


def test_batchnorm_test_mode_uses_running_stats_like_torch(rng):
    x, gamma, beta, running_mean, running_var = bn_inputs(rng)
    out, _, new_mean, new_var = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var, train=False)
    module = batchnorm_module(gamma, beta, running_mean, running_var).eval()
    assert rel_error(out, module(torch.tensor(x)).detach().numpy()) < 1e-10
    assert np.array_equal(new_mean, running_mean) and np.array_equal(new_var, running_var)


def test_batchnorm_backward_by_central_differences(rng):
    x, gamma, beta, running_mean, running_var = bn_inputs(rng)
    dout = rng.normal(size=x.shape)
    _, cache, _, _ = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var)
    dx, dgamma, dbeta = norm.batchnorm_backward(dout, cache)

    def forward(x_, g_, b_):
        return norm.batchnorm_forward(x_, g_, b_, running_mean, running_var)[0]

    assert rel_error(dx, numerical_vjp(lambda v: forward(v, gamma, beta), x.copy(), dout)) < 1e-6
    assert rel_error(dgamma, numerical_vjp(lambda v: forward(x, v, beta), gamma.copy(), dout)) < 1e-7
    assert rel_error(dbeta, numerical_vjp(lambda v: forward(x, gamma, v), beta.copy(), dout)) < 1e-7


def test_batchnorm_backward_matches_torch_autograd(rng):
    x, gamma, beta, running_mean, running_var = bn_inputs(rng, n=16, d=3)
    dout = rng.normal(size=x.shape)
    _, cache, _, _ = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var)
    expected = torch_grads(lambda x_, g_, b_: nn.functional.batch_norm(x_, None, None, g_, b_, training=True),
                           [x, gamma, beta], dout)
    for mine, theirs in zip(norm.batchnorm_backward(dout, cache), expected):
        assert rel_error(mine, theirs) < 1e-8


def test_batchnorm_layer_tracks_torch_over_several_batches(rng):
    layer = BatchNorm(4, momentum=0.1)
    module = nn.BatchNorm1d(4, momentum=0.1, dtype=torch.float64)
    for _ in range(5):
        x = rng.normal(1.0, 2.0, size=(10, 4))
        assert np.allclose(layer.forward(x, train=True), module.train()(torch.tensor(x)).detach().numpy())
    assert np.allclose(layer.running_mean, module.running_mean.numpy())
    assert np.allclose(layer.running_var, module.running_var.numpy())
    x = rng.normal(size=(3, 4))
    assert np.allclose(layer.forward(x, train=False), module.eval()(torch.tensor(x)).detach().numpy())


# -- layer normalization

def test_layernorm_forward_matches_torch(rng):
    x, gamma, beta = rng.normal(1.0, 2.0, size=(6, 5)), rng.normal(size=5), rng.normal(size=5)
    out, _ = norm.layernorm_forward(x, gamma, beta, eps=1e-3)
    module = nn.LayerNorm(5, eps=1e-3, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(gamma))
        module.bias.copy_(torch.tensor(beta))
    assert rel_error(out, module(torch.tensor(x)).detach().numpy()) < 1e-10


def test_layernorm_backward_by_central_differences_and_torch(rng):
    x, gamma, beta = rng.normal(1.0, 2.0, size=(4, 6)), rng.normal(size=6), rng.normal(size=6)
    dout = rng.normal(size=x.shape)
    _, cache = norm.layernorm_forward(x, gamma, beta)
    grads = norm.layernorm_backward(dout, cache)
    numeric = [numerical_vjp(lambda v: norm.layernorm_forward(v, gamma, beta)[0], x.copy(), dout),
               numerical_vjp(lambda v: norm.layernorm_forward(x, v, beta)[0], gamma.copy(), dout),
               numerical_vjp(lambda v: norm.layernorm_forward(x, gamma, v)[0], beta.copy(), dout)]
    autograd = torch_grads(lambda x_, g_, b_: nn.functional.layer_norm(x_, (6,), g_, b_), [x, gamma, beta], dout)
    for mine, by_differences, by_torch in zip(grads, numeric, autograd):
        assert rel_error(mine, by_differences) < 1e-6
        assert rel_error(mine, by_torch) < 1e-8


# -- networks and bagging

def test_batchnorm_network_gradient_by_central_differences(rng):
    X, y = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    model = make_mlp(5, 7, 3, batchnorm=True, reg=0.1, seed=2)
    assert isinstance(model, Sequential)
    _, grads = model.loss(X, y)
    grads = {name: grad.copy() for name, grad in grads.items()}
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        numeric = numerical_gradient(lambda _: model.loss(X, y)[0], param)
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_dropout_network_predicts_deterministically(rng):
    X = rng.normal(size=(20, 5))
    model = make_mlp(5, 30, 3, dropout=0.5, seed=0)
    assert any(isinstance(layer, Dropout) for layer in model.layers)
    assert np.array_equal(model.forward(X, train=False), model.forward(X, train=False))
    assert not np.array_equal(model.forward(X, train=True), model.forward(X, train=True))


def noisy_digits(n=300, noise=0.3, seed=1):
    X, y, _, _, X_test, y_test = data.digits(seed=seed)
    r = np.random.default_rng(seed)
    y = y[:n].copy()
    flip = r.random(n) < noise
    y[flip] = r.integers(0, 10, flip.sum())
    return X[:n], y, X_test, y_test


def test_dropout_beats_an_overfitting_baseline_on_noisy_digits():
    X, y, X_test, y_test = noisy_digits()
    accuracy = {}
    for p in (0.0, 0.5):
        model = make_mlp(64, 256, 10, dropout=p, seed=0)
        train(model, X, y, lr=0.1, epochs=200, batch_size=20, seed=0)
        accuracy[p] = np.mean(model.predict(X_test) == y_test)
    assert accuracy[0.5] >= accuracy[0.0] + 0.04


def test_bagged_ensemble_beats_its_best_member():
    X, y, X_test, y_test = noisy_digits()
    models = bagging_fit(X, y, n_models=5, hidden_dim=100, seed=0, epochs=100, batch_size=20, lr=0.1)
    members = [np.mean(m.predict(X_test) == y_test) for m in models]
    assert np.mean(bagging_predict(models, X_test) == y_test) >= max(members)
    assert len({round(a, 4) for a in members}) > 1, "the members should differ"
