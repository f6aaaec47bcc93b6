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
from autograder.student.torchcheck import assert_two_layer_sequential_matches_torch, two_layer_sgd


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


@pytest.mark.points(1)
def test_batchnorm_layer_uses_its_momentum_and_eps(student, rng):
    """BatchNorm(3, momentum=0.3, eps=0.5) normalizes like nn.BatchNorm1d(3, momentum=0.3, eps=0.5)."""
    layer = student.BatchNorm(3, momentum=0.3, eps=0.5)
    module = nn.BatchNorm1d(3, momentum=0.3, eps=0.5, dtype=torch.float64)
    for step in range(2):
        x = rng.normal(size=(4, 3)) * 0.3  # a batch variance well below eps: eps changes the output
        assert_close(layer.forward(x, train=True), module.train()(torch.tensor(x)).detach(),
                     f"BatchNorm(3, momentum=0.3, eps=0.5).forward(x) in training, batch {step + 1}")
    x = rng.normal(size=(2, 3))
    assert_close(layer.forward(x, train=False), module.eval()(torch.tensor(x)).detach(),
                 "BatchNorm(3, momentum=0.3, eps=0.5).forward(x, train=False) after 2 training batches")


@pytest.mark.points(1)
def test_make_mlp_uses_he_initialization_its_seeds_and_reg(student, rng):
    """make_mlp is the Sequential its docstring lists, built from your own layers: Affine layers
    with weight_scale = sqrt(2 / fan_in) and seeds seed and seed + 1, a Sequential with reg and seed."""
    X, y = rng.normal(size=(8, 6)), rng.integers(0, 3, size=8)
    what = "make_mlp(6, 20, 3, batchnorm=True, dropout=0.5, reg=0.2, seed=7)"
    model = student.make_mlp(6, 20, 3, batchnorm=True, dropout=0.5, reg=0.2, seed=7)
    expected = student.Sequential(student.Affine(6, 20, weight_scale=np.sqrt(2 / 6), seed=7), student.BatchNorm(20),
                                  student.ReLU(), student.Dropout(0.5),
                                  student.Affine(20, 3, weight_scale=np.sqrt(2 / 20), seed=8), reg=0.2, seed=7)
    params, expected_params = fetch(model.params), fetch(expected.params)
    assert sorted(params) == sorted(expected_params), \
        f"{what} has the parameters {sorted(params)}, expected {sorted(expected_params)}"
    for name, value in expected_params.items():
        assert_close(params[name], value, f"{what}.params['{name}'] (He initialization, seeds 7 and 8)")
    assert_close(model.loss(X, y)[0], expected.loss(X, y)[0],
                 f"{what}.loss(X, y) (0.5 * reg * sum(w^2) with reg=0.2, dropout drawn from a generator seeded with 7)")


@pytest.mark.points(1)
def test_bagging_fit_trains_make_mlp_members_on_the_documented_bootstrap_samples(student, rng):
    """With lr = 0 each member keeps the weights of make_mlp(..., seed=seed + 1 + k), and its
    batch-norm running statistics record its bootstrap sample (np.random.default_rng(seed).integers)
    in the batch order of train(..., seed=seed + 1 + k): both are compared with torch."""
    X, y, X_test = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40), rng.normal(size=(6, 5))
    y[:3] = [0, 1, 2]  # C = max(y) + 1 = 3
    models = student.bagging_fit(X, y, n_models=3, hidden_dim=8, batchnorm=True, dropout=0.5, seed=2, lr=0.0,
                                 epochs=1, batch_size=10)
    if not isinstance(models, (list, tuple)) or len(models) != 3:
        raise AssertionError("bagging_fit(..., n_models=3) should return a list of 3 models")
    bootstrap = np.random.default_rng(2)
    for k, model in enumerate(models):
        what = f"model {k} of bagging_fit(X, y, n_models=3, hidden_dim=8, batchnorm=True, seed=2, lr=0.0, ...)"
        start = fetch(student.make_mlp(5, 8, 3, batchnorm=True, dropout=0.5, seed=3 + k).params)
        params = fetch(model.params)
        assert sorted(params) == sorted(start), f"{what} has the parameters {sorted(params)}, expected {sorted(start)}"
        for name, value in start.items():
            assert_close(params[name], value, f"{what}.params['{name}'] (those of make_mlp(5, 8, 3, ..., "
                         f"seed={3 + k}), unchanged by lr = 0)")
        rows = bootstrap.integers(0, 40, size=40)
        w0, b0, w4, b4 = (torch.tensor(start[name]) for name in ("0.w", "0.b", "4.w", "4.b"))
        module = nn.BatchNorm1d(8, dtype=torch.float64).train()
        order = np.random.default_rng(3 + k).permutation(40)
        for begin in range(0, 40, 10):
            module(torch.tensor(X[rows][order[begin:begin + 10]]) @ w0 + b0)
        expected = torch.relu(module.eval()(torch.tensor(X_test) @ w0 + b0)) @ w4 + b4
        assert_close(model.forward(X_test, train=False), expected.detach(), f"{what}.forward(X_test, train=False) "
                     "(its running statistics: the bootstrap rows, in the batches of one epoch of train)")


@pytest.mark.points(1)
def test_bagging_predict_averages_the_softmax_probabilities_in_test_mode(student, rng):
    """bagging_predict returns the class of the highest mean softmax probability of the models'
    test-mode scores (not a majority vote, not the class of the mean score, no dropout)."""
    X = rng.normal(size=(300, 5))
    models = [student.make_mlp(5, 30, 4, dropout=0.5, seed=k) for k in range(5)]
    mean_probability = sum(torch.softmax(torch.tensor(np.asarray(m.forward(X, train=False))), dim=1)
                           for m in models) / len(models)
    assert_close(student.bagging_predict(models, X), mean_probability.argmax(dim=1).numpy(),
                 "bagging_predict(models, X): the class of the highest mean softmax probability, in test mode")


@pytest.mark.points(1)
def test_cells_pasted_from_02_and_03_hold(student, rng):
    """The pasted cells keep their conventions (compared with torch): ReLU passes no gradient at
    x = 0, softmax cross-entropy is exact for scores near +-1000, the affine layer adds its bias,
    Affine starts with b = 0, Sequential adds 0.5 * reg * sum(w^2), and train takes the batches
    of one rng.permutation(N) per epoch."""
    x, dout = np.array([[0.0, 0.5, -0.5, 2.0]]), np.array([[1.0, 2.0, 3.0, 4.0]])
    x_t = torch.tensor(x, requires_grad=True)
    torch.relu(x_t).backward(torch.tensor(dout))
    assert_close(student.relu_backward(dout, student.relu_forward(x)[1]), x_t.grad,
                 "relu_backward at x = 0 (0 where x <= 0)")
    scores, y = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.0]]), np.array([0, 2])
    scores_t = torch.tensor(scores, requires_grad=True)
    expected = nn.functional.cross_entropy(scores_t, torch.tensor(y))
    expected.backward()
    loss, dscores = student.softmax_cross_entropy(scores, y)
    assert_close(loss, expected.item(), "softmax_cross_entropy's loss for rows of scores near 1000 and -1000")
    assert_close(dscores, scores_t.grad, "softmax_cross_entropy's dscores for rows near 1000 and -1000")
    x, w, b, dout = rng.normal(size=(3, 2, 2)), rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(3, 5))
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    expected = tensors[0].reshape(3, 4) @ tensors[1] + tensors[2]
    expected.backward(torch.tensor(dout))
    out, cache = student.affine_forward(x, w, b)
    assert_close(out, expected.detach(), "affine_forward(x, w, b) with a nonzero b")
    for name, got, tensor in zip(("dx", "dw", "db"), student.affine_backward(dout, cache), tensors):
        assert_close(got, tensor.grad, f"affine_backward's {name} (b nonzero)")
    assert_close(fetch(student.Affine(4, 5).params).get("b"), np.zeros(5), "Affine(4, 5).params['b'] (zeros)")
    X, y = rng.normal(size=(21, 6)), rng.integers(0, 3, size=21)
    model = student.Sequential(student.Affine(6, 8, weight_scale=0.5, seed=1), student.ReLU(),
                               student.Affine(8, 3, weight_scale=0.5, seed=2), reg=0.3)
    start = fetch(model.params)
    names = {"W1": "0.w", "b1": "0.b", "W2": "2.w", "b2": "2.b"}
    assert_two_layer_sequential_matches_torch(model, start, X, y, rng.normal(size=(21, 3)), reg=0.3)
    model = student.Sequential(student.Affine(6, 8, weight_scale=0.5, seed=1), student.ReLU(),
                               student.Affine(8, 3, weight_scale=0.5, seed=2))
    start = fetch(model.params)
    history = student.train(model, X, y, lr=0.2, epochs=2, batch_size=5, seed=3)
    trained, _ = two_layer_sgd({name: start[key] for name, key in names.items()}, X, y, lr=0.2, epochs=2,
                               batch_size=5, seed=3)
    params = fetch(model.params)
    for name, key in names.items():
        assert_close(params.get(key), trained[name], f"params['{key}'] after train(model, X, y, lr=0.2, epochs=2, "
                     "batch_size=5, seed=3) (batches of one rng.permutation(N) per epoch, the last of one sample)",
                     rtol=1e-6, atol=1e-9)
    assert_shape(history.get("loss"), (10,), "history['loss'] for 2 epochs of 21 samples in batches of 5")
    assert_shape(history.get("train_acc"), (2,), "history['train_acc'] for 2 epochs")
    assert_close(history["train_acc"][-1], np.mean(np.asarray(model.predict(X)) == y),
                 "history['train_acc'] after the last epoch (the fraction of correct predictions)")
