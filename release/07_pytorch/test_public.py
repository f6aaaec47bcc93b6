"""Public tests for assignment 07: students have this file and can run it with `course check`.

Expected values come from PyTorch's built-in layers and from the weights of the student's
own model; the hidden tests compare against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data
from autograder.student.checks import assert_close, assert_shape
from autograder.grading.proxy import fetch

PARAMETER_SHAPES = {"fc1.weight": (16, 64), "fc1.bias": (16,), "fc2.weight": (10, 16), "fc2.bias": (10,)}


def state_of(model, shapes=PARAMETER_SHAPES) -> dict:
    """The model's state_dict() as CPU tensors, after checking its names and shapes."""
    state = model.state_dict()
    if not isinstance(state, dict):
        raise AssertionError(f"state_dict() returned {type(state).__name__}, expected a dict of tensors")
    if sorted(state) != sorted(shapes):
        raise AssertionError(f"state_dict() has the keys {sorted(state)}, expected {sorted(shapes)}")
    for name, shape in shapes.items():
        assert_shape(state[name], shape, f"state_dict()['{name}']")
    return state


def logits_without_dropout(state: dict, x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    hidden = F.leaky_relu(F.linear(x, state["fc1.weight"], state["fc1.bias"]), negative_slope)
    return F.linear(hidden, state["fc2.weight"], state["fc2.bias"])


@pytest.mark.points(1)
def test_leaky_relu_matches_torch(student, rng):
    x = torch.from_numpy(rng.normal(size=(5, 7)))
    for slope in (0.01, 0.3):
        assert_close(student.leaky_relu(x, slope), F.leaky_relu(x, slope), f"leaky_relu(x, {slope})")


@pytest.mark.points(2)
def test_leaky_relu_backward_matches_autograd(student, rng):
    """The backward of LeakyReLUFunction gives the gradient autograd finds for F.leaky_relu."""
    x = torch.from_numpy(rng.normal(size=(6, 4)))
    grad_output = torch.from_numpy(rng.normal(size=(6, 4)))
    apply = fetch(student.LeakyReLUFunction.apply)
    _, grad = student.torch.autograd.functional.vjp(apply, x, grad_output)
    expected = torch.autograd.functional.vjp(F.leaky_relu, x, grad_output)[1]
    assert_close(grad, expected, "the gradient from LeakyReLUFunction.backward")


@pytest.mark.points(1)
def test_mlp_has_two_linear_layers(student, rng):
    model = student.TwoLayerMLP(64, 16, 10)
    state_of(model)
    logits = model(torch.from_numpy(rng.normal(size=(5, 64))).float())
    assert_shape(logits, (5, 10), "the logits of TwoLayerMLP(64, 16, 10)")


@pytest.mark.points(1)
def test_mlp_drops_units_in_training_mode_only(student, rng):
    model = student.TwoLayerMLP(64, 16, 10, dropout=0.5, dtype=torch.float64)
    x = torch.from_numpy(rng.normal(size=(20, 64)))
    expected = logits_without_dropout(state_of(model), x)
    model.eval()
    assert_close(model(x), expected, "the logits in evaluation mode (dropout off)")
    model.train()
    if np.allclose(np.asarray(model(x)), expected.numpy()):
        raise AssertionError("in training mode, TwoLayerMLP(..., dropout=0.5) gives the same logits "
                             "as in evaluation mode: is the dropout applied?")


@pytest.mark.points(2)
def test_forward_creates_tensors_on_the_device_of_its_input(student, rng):
    """The forward pass creates no tensor on the default device (what fails on a GPU)."""
    model = student.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
    x = torch.from_numpy(rng.normal(size=(5, 64)))
    student.torch.set_default_device("meta")
    try:
        logits = model(x)
    finally:
        student.torch.set_default_device(None)
    expected = logits_without_dropout(state_of(model), x)
    assert_close(logits, expected, "the logits with 'meta' as the default device")


@pytest.mark.points(1)
def test_training_returns_one_loss_per_step(student):
    X, y, *_ = data.digits()
    model = student.TwoLayerMLP(64, 16, 10)
    history = student.train(model, student.make_loader(X[:300], y[:300], batch_size=64), epochs=3, lr=0.1)
    assert_shape(history, (15,), "the history of 3 epochs of 5 batches")
    if not np.mean(history[-5:]) < np.mean(history[:5]):
        raise AssertionError("the loss did not decrease from the first epoch to the third")


@pytest.mark.points(1)
def test_make_loader_reshuffles_every_epoch_and_follows_the_seed(student):
    """With lr=0 the weights stay as they are, so each batch's loss shows which samples it holds."""
    X, y, *_ = data.digits()

    def batch_losses(seed):
        model = student.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
        loader = student.make_loader(X[:200], y[:200], batch_size=50, seed=seed, dtype=torch.float64)
        history = np.asarray(student.train(model, loader, epochs=2, lr=0.0), dtype=np.float64)
        assert_shape(history, (8,), "the history of 2 epochs of 4 batches")
        return history

    first, again, other = batch_losses(1), batch_losses(1), batch_losses(2)
    assert_close(again, first, "the batch losses of a second run on make_loader(..., seed=1) (the same seed "
                 "should give the same batches)")
    if np.allclose(other, first):
        raise AssertionError("make_loader(..., seed=2) gave the same batches as seed=1: shuffle with a generator "
                             "seeded with seed")
    if np.allclose(first[:4], first[4:]):
        raise AssertionError("make_loader(..., shuffle=True) gave the same batches in both epochs: the order "
                             "should change every epoch")


@pytest.mark.points(1)
def test_predict_returns_the_highest_logit(student, rng):
    model = student.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
    X = rng.normal(size=(30, 64))
    labels = student.predict(model, X)
    assert_shape(labels, (30,), "predict(model, X)")
    expected = logits_without_dropout(state_of(model), torch.from_numpy(X)).argmax(dim=1)
    assert_close(labels, expected, "predict(model, X)")


@pytest.mark.points(1)
def test_checkpoint_round_trip(student, rng):
    model = student.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
    student.save_checkpoint(model, "round_trip.pt")
    restored = student.load_checkpoint("round_trip.pt")
    saved = state_of(model)
    for name, value in state_of(restored).items():
        assert_close(value, saved[name], f"the restored {name}", rtol=0, atol=0)
    if fetch(restored.training) is not False:
        raise AssertionError("load_checkpoint should return the model in evaluation mode")


@pytest.mark.points(1)
def test_leaky_relu_gradient_at_zero_is_the_negative_slope(student):
    x, grad_output = torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    apply = fetch(student.LeakyReLUFunction.apply)
    _, grad = student.torch.autograd.functional.vjp(apply, x, grad_output)
    assert_close(grad, torch.tensor([0.01, 1.0, 0.01], dtype=torch.float64),
                 "the gradient from LeakyReLUFunction.backward at x = 0, 1, -1 (slope 1 only where x > 0)")


@pytest.mark.points(1)
def test_mlp_and_load_checkpoint_create_their_parameters_on_the_requested_device(student):
    model = student.TwoLayerMLP(4, 8, 3, device="meta")
    student.save_checkpoint(student.TwoLayerMLP(4, 8, 3), "device.pt")
    for what, built in [("TwoLayerMLP(4, 8, 3, device='meta')", model),
                        ("load_checkpoint(path, device='meta')", student.load_checkpoint("device.pt", device="meta"))]:
        for layer in ("fc1", "fc2"):
            if fetch(getattr(built, layer).weight.is_meta) is not True:
                raise AssertionError(f"the {layer}.weight of {what} is not on the 'meta' device")


@pytest.mark.points(1)
def test_train_and_predict_convert_their_inputs(student, rng):
    """int32 labels become int64 (one batch, one epoch); float64 inputs take the model's float32."""
    X, y = rng.normal(size=(6, 64)), rng.integers(0, 10, size=6)
    histories = [student.train(student.TwoLayerMLP(64, 16, 10, dtype=torch.float64),
                               student.make_loader(X, labels, batch_size=6, dtype=torch.float64), epochs=1)
                 for labels in (y, y.astype(np.int32))]
    assert_shape(histories[1], (1,), "the history of one epoch of one batch")
    assert_close(histories[1], histories[0], "the loss of train on int32 labels (the same as on int64 labels)")
    model = student.TwoLayerMLP(64, 16, 10)
    expected = logits_without_dropout(state_of(model), torch.from_numpy(X).float()).argmax(dim=1)
    assert_close(student.predict(model, X), expected, "predict(model, X) for a float32 model and float64 X")
