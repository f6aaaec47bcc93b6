"""Public tests for assignment 05: students have this file and can run it with `course check`.

Expected values come from PyTorch, exact properties and central differences; the hidden
tests compare against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
from torch import nn

from autograder.student.checks import assert_close, assert_gradient, assert_shape, assert_unchanged
from autograder.grading.proxy import fetch


def torch_batchnorm(gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    module = nn.BatchNorm1d(len(gamma), momentum=momentum, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        for tensor, value in [(module.weight, gamma), (module.bias, beta),
                              (module.running_mean, running_mean), (module.running_var, running_var)]:
            tensor.copy_(torch.tensor(value))
    return module


def bn_inputs(rng, n=8, d=5):
    return (rng.normal(2.0, 3.0, size=(n, d)), rng.normal(size=d), rng.normal(size=d),
            rng.normal(size=d), rng.uniform(0.5, 2.0, size=d))


@pytest.mark.points(1)
def test_penalties_match_torch(student, grader, rng):
    w = rng.normal(size=(5, 3))
    for name, torch_penalty in [("l1_penalty", lambda t: 0.2 * t.abs().sum()),
                                ("l2_penalty", lambda t: 0.1 * (t ** 2).sum())]:
        value, grad = getattr(student, name)(w, 0.2)
        assert_unchanged(grader, f"{name}(w, 0.2)")
        t = torch.tensor(w, requires_grad=True)
        expected = torch_penalty(t)
        expected.backward()
        assert_close(value, expected.item(), f"the penalty returned by {name}(w, 0.2)")
        assert_close(grad, t.grad.numpy(), f"the gradient returned by {name}(w, 0.2)")


@pytest.mark.points(2)
def test_dropout_drops_with_probability_p_and_rescales(student, grader, rng):
    x = rng.normal(size=(200, 50)) + 3.0
    out, _ = student.dropout_forward(x, 0.3, train=True, rng=1)
    assert_unchanged(grader, "dropout_forward(x, 0.3)")
    assert_shape(out, x.shape, "dropout_forward(x, 0.3)")
    out = np.asarray(out)
    kept = out != 0
    assert_close(out[kept], x[kept] / 0.7, "the entries dropout keeps (scaled by 1 / (1 - p), like nn.Dropout)")
    dropped = 1 - kept.mean()
    assert abs(dropped - 0.3) < 0.02, f"dropout_forward(x, p=0.3) dropped {dropped:.3f} of the entries"


@pytest.mark.points(1)
def test_dropout_is_the_identity_at_test_time(student, rng):
    x = rng.normal(size=(6, 7))
    out, cache = student.dropout_forward(x, 0.5, train=False)
    assert_close(out, nn.Dropout(0.5).eval()(torch.tensor(x)), "dropout_forward(x, 0.5, train=False)")
    dout = rng.normal(size=x.shape)
    assert_close(student.dropout_backward(dout, cache), dout, "dropout_backward after a test-mode forward")


@pytest.mark.points(1)
def test_dropout_mask_comes_from_the_generator(student, rng):
    x = rng.normal(size=(10, 10))
    first, _ = student.dropout_forward(x, 0.5, rng=5)
    assert_close(student.dropout_forward(x, 0.5, rng=5)[0], first,
                 "dropout_forward twice with generators seeded alike")
    assert not np.allclose(student.dropout_forward(x, 0.5, rng=6)[0], first), \
        "dropout_forward gave the same mask for generators seeded differently"


@pytest.mark.points(2)
def test_dropout_backward_by_central_differences(student, grader, rng):
    x, dout = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    _, cache = student.dropout_forward(x, 0.4, rng=7)
    dx = student.dropout_backward(dout, cache)
    assert_unchanged(grader, "dropout_backward(dout, cache)")
    assert_gradient(dx, lambda v: np.sum(np.asarray(student.dropout_forward(v, 0.4, rng=7)[0]) * dout), x,
                    "dropout_backward's dx")


@pytest.mark.points(2)
def test_batchnorm_training_forward_matches_torch(student, grader, rng):
    x, gamma, beta, mean, var = bn_inputs(rng)
    out, _, new_mean, new_var = student.batchnorm_forward(x, gamma, beta, mean, var, train=True)
    assert_unchanged(grader, "batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True) "
                     "(return the new running statistics as new arrays)")
    module = torch_batchnorm(gamma, beta, mean, var).train()
    assert_close(out, module(torch.tensor(x)).detach(), "batchnorm_forward's output in training mode")
    assert_close(new_mean, module.running_mean, "the running mean returned by batchnorm_forward")
    assert_close(new_var, module.running_var,
                 "the running variance returned by batchnorm_forward (unbiased batch variance, like torch)")


@pytest.mark.points(2)
def test_batchnorm_test_mode_uses_running_statistics(student, grader, rng):
    x, gamma, beta, mean, var = bn_inputs(rng)
    out, _, new_mean, new_var = student.batchnorm_forward(x, gamma, beta, mean, var, train=False)
    assert_unchanged(grader, "batchnorm_forward(x, gamma, beta, running_mean, running_var, train=False)")
    module = torch_batchnorm(gamma, beta, mean, var).eval()
    assert_close(out, module(torch.tensor(x)).detach(), "batchnorm_forward's output at test time (train=False)")
    assert_close(new_mean, mean, "the running mean returned at test time")
    assert_close(new_var, var, "the running variance returned at test time")


@pytest.mark.points(3)
def test_batchnorm_backward_by_central_differences(student, grader, rng):
    x, gamma, beta, mean, var = bn_inputs(rng)
    dout = rng.normal(size=x.shape)
    _, cache, _, _ = student.batchnorm_forward(x, gamma, beta, mean, var)
    dx, dgamma, dbeta = student.batchnorm_backward(dout, cache)
    assert_unchanged(grader, "batchnorm_backward(dout, cache)")

    def loss(x_, gamma_, beta_):
        return np.sum(np.asarray(student.batchnorm_forward(x_, gamma_, beta_, mean, var)[0]) * dout)

    assert_gradient(dx, lambda v: loss(v, gamma, beta), x, "batchnorm_backward's dx")
    assert_gradient(dgamma, lambda v: loss(x, v, beta), gamma, "batchnorm_backward's dgamma")
    assert_gradient(dbeta, lambda v: loss(x, gamma, v), beta, "batchnorm_backward's dbeta")


@pytest.mark.points(2)
def test_batchnorm_layer_tracks_torch(student, rng):
    layer = student.BatchNorm(4)
    module = nn.BatchNorm1d(4, dtype=torch.float64)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, size=(10, 4))
        assert_close(layer.forward(x, train=True), module.train()(torch.tensor(x)).detach(),
                     "BatchNorm.forward in training")
    assert_close(fetch(layer.running_mean), module.running_mean, "BatchNorm.running_mean after 3 batches")
    assert_close(fetch(layer.running_var), module.running_var, "BatchNorm.running_var after 3 batches")
    x = rng.normal(size=(1, 4))
    assert_close(layer.forward(x, train=False), module.eval()(torch.tensor(x)).detach(),
                 "BatchNorm.forward(x, train=False) on one sample")


@pytest.mark.points(2)
def test_layernorm_forward_matches_torch(student, grader, rng):
    x, gamma, beta = rng.normal(1.0, 2.0, size=(6, 4)), rng.normal(size=4), rng.normal(size=4)
    out, _ = student.layernorm_forward(x, gamma, beta)
    assert_unchanged(grader, "layernorm_forward(x, gamma, beta)")
    expected = nn.functional.layer_norm(torch.tensor(x), (4,), torch.tensor(gamma), torch.tensor(beta))
    assert_close(out, expected, "layernorm_forward on a 6 x 4 batch")


@pytest.mark.points(2)
def test_layernorm_backward_by_central_differences(student, grader, rng):
    x, gamma, beta = rng.normal(1.0, 2.0, size=(4, 6)), rng.normal(size=6), rng.normal(size=6)
    dout = rng.normal(size=x.shape)
    _, cache = student.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = student.layernorm_backward(dout, cache)
    assert_unchanged(grader, "layernorm_backward(dout, cache)")

    def loss(x_, gamma_, beta_):
        return np.sum(np.asarray(student.layernorm_forward(x_, gamma_, beta_)[0]) * dout)

    assert_gradient(dx, lambda v: loss(v, gamma, beta), x, "layernorm_backward's dx")
    assert_gradient(dgamma, lambda v: loss(x, v, beta), gamma, "layernorm_backward's dgamma")
    assert_gradient(dbeta, lambda v: loss(x, gamma, v), beta, "layernorm_backward's dbeta")


@pytest.mark.points(1)
def test_make_mlp_has_batchnorm_parameters(student, rng):
    model = student.make_mlp(5, 7, 3, batchnorm=True, seed=0)
    shapes = {name: np.shape(value) for name, value in fetch(model.params).items()}
    assert sorted(shapes.values()) == sorted([(5, 7), (7,), (7,), (7,), (7, 3), (3,)]), \
        f"make_mlp(5, 7, 3, batchnorm=True) has parameters of shapes {shapes}"
    scores = model.forward(rng.normal(size=(4, 5)), train=False)
    assert_shape(scores, (4, 3), "make_mlp(5, 7, 3).forward(x) for 4 samples")
