"""Hidden tests for assignment 07: never released. Expected values come from the reference.

Student models start from the reference model's weights (sent as a state dict), so that
training can be compared step by step in float64. The worker seeds torch with 0 before
every call; the reference side does the same before the matching call.
"""

import numpy as np
import pytest
import torch

from autograder.student import data
from autograder.student.checks import accuracy, assert_at_least, assert_close, assert_shape
from autograder.grading.proxy import fetch
from reference import torch_networks as ref

F64 = torch.float64


@pytest.fixture(scope="module")
def digits():
    return data.digits(seed=0)


def twin(student, *args, **kwargs):
    """(student model, reference model) with the same architecture and the same weights."""
    torch.manual_seed(1)
    reference = ref.TwoLayerMLP(*args, **kwargs)
    model = student.TwoLayerMLP(*args, **kwargs)
    model.load_state_dict(dict(reference.state_dict()))
    return model, reference


def assert_same_weights(model, reference, what: str) -> None:
    state = model.state_dict()
    if not isinstance(state, dict):
        raise AssertionError(f"state_dict() returned {type(state).__name__}, expected a dict of tensors")
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{name} {what}")


@pytest.mark.points(2)
def test_leaky_relu_gradient_inside_the_model_matches_reference(student, rng):
    """The input gradient of the whole network, with another slope, in float64."""
    model, reference = twin(student, 12, 9, 4, negative_slope=0.2, dtype=F64)
    x = torch.from_numpy(rng.normal(size=(7, 12)))
    grad_output = torch.from_numpy(rng.normal(size=(7, 4)))
    out, grad = student.torch.autograd.functional.vjp(model, x, grad_output)
    expected_out, expected_grad = torch.autograd.functional.vjp(reference, x, grad_output)
    assert_close(out, expected_out, "the logits of TwoLayerMLP(..., negative_slope=0.2)")
    assert_close(grad, expected_grad, "the gradient of the logits with respect to the input")


@pytest.mark.points(2)
def test_forward_and_backward_follow_the_input_device(student, rng):
    """With 'meta' as torch's default device, forward and backward still run on CPU inputs."""
    model, reference = twin(student, 10, 8, 3, negative_slope=0.3, dtype=F64)
    x = torch.from_numpy(rng.normal(size=(4, 10)))
    grad_output = torch.from_numpy(rng.normal(size=(4, 3)))
    student.torch.set_default_device("meta")
    try:
        _, grad = student.torch.autograd.functional.vjp(model, x, grad_output)
    finally:
        student.torch.set_default_device(None)
    expected = torch.autograd.functional.vjp(reference, x, grad_output)[1]
    assert_close(grad, expected, "the input gradient with 'meta' as the default device")


@pytest.mark.points(3)
def test_training_follows_reference_step_by_step(student, digits):
    """Unshuffled float64 training: every loss and the final weights match the reference."""
    X, y, _, _ = digits
    model, reference = twin(student, 64, 20, 10, dtype=F64)
    history = student.train(model, student.make_loader(X[:400], y[:400], batch_size=50, shuffle=False,
                                                       dtype=F64), epochs=2, lr=0.05, momentum=0.5)
    torch.manual_seed(0)
    expected = ref.train(reference, ref.make_loader(X[:400], y[:400], batch_size=50, shuffle=False,
                                                    dtype=F64), epochs=2, lr=0.05, momentum=0.5)
    assert_shape(history, (16,), "the history of 2 epochs of 8 batches")
    assert_close(history, expected, "the training losses")
    assert_same_weights(model, reference, "after training")


@pytest.mark.points(1)
def test_shuffled_batches_follow_the_seed(student, digits):
    X, y, _, _ = digits
    model, reference = twin(student, 64, 20, 10, dtype=F64)
    history = student.train(model, student.make_loader(X[:300], y[:300], batch_size=60, seed=5, dtype=F64),
                            epochs=2, lr=0.05)
    torch.manual_seed(0)
    expected = ref.train(reference, ref.make_loader(X[:300], y[:300], batch_size=60, seed=5, dtype=F64),
                         epochs=2, lr=0.05)
    assert_close(history, expected, "the losses with make_loader(..., shuffle=True, seed=5)")


@pytest.mark.points(2)
def test_training_switches_dropout_back_on(student, digits):
    """train() after predict() trains with dropout, as the reference does."""
    X, y, _, _ = digits
    model, reference = twin(student, 64, 30, 10, dropout=0.5, dtype=F64)
    student.predict(model, X[:10])
    ref.predict(reference, X[:10])

    def loader(namespace):  # the same DataLoader on both sides, not the student's make_loader
        dataset = namespace.DigitsDataset(X[:200], y[:200], F64)
        return namespace.DataLoader(dataset, batch_size=50, generator=namespace.torch.Generator())

    history = student.train(model, loader(student), epochs=1, lr=0.05)
    torch.manual_seed(0)
    expected = ref.train(reference, loader(_ReferenceNamespace), epochs=1, lr=0.05)
    assert_close(history, expected, "the training losses of a model with dropout=0.5 after predict()")


class _ReferenceNamespace:
    DigitsDataset = ref.DigitsDataset
    DataLoader = torch.utils.data.DataLoader
    torch = torch


@pytest.mark.points(2)
def test_predict_switches_dropout_off(student, rng):
    model, reference = twin(student, 64, 30, 10, dropout=0.5, dtype=F64)
    X = rng.normal(size=(200, 64))
    model.train()
    labels = student.predict(model, X)
    assert_shape(labels, (200,), "predict(model, X)")
    assert_close(labels, ref.predict(reference, X), "predict(model, X) for a model with dropout=0.5")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_mlp_reaches_accuracy_threshold(student, digits, thresholds, device):
    """A TwoLayerMLP(64, 100, 10) trained by the grader with train's defaults."""
    X_train, y_train, X_test, y_test = digits
    model = student.TwoLayerMLP(64, 100, 10)
    student.train(model, student.make_loader(X_train, y_train), device=device)
    held_out = accuracy(student.predict(model, X_test), y_test, "predict(model, X_test)")
    assert_at_least(held_out, thresholds["digits_accuracy"], "held-out accuracy")


@pytest.mark.points(3)
def test_submitted_checkpoint_reaches_accuracy_threshold(student, digits, thresholds):
    """The checkpoint.pt handed in, loaded by the student's load_checkpoint inside the sandbox."""
    _, _, X_test, y_test = digits
    model = student.load_checkpoint("checkpoint.pt")
    held_out = accuracy(student.predict(model, X_test), y_test, "predict(load_checkpoint('checkpoint.pt'), X_test)")
    assert_at_least(held_out, thresholds["submitted_checkpoint_accuracy"], "held-out accuracy of checkpoint.pt")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_checkpoint_reaches_accuracy_threshold(student, digits, thresholds):
    """A model trained, saved with save_checkpoint and restored with load_checkpoint."""
    X_train, y_train, X_test, y_test = digits
    model = student.TwoLayerMLP(64, 100, 10, dropout=0.1)
    student.train(model, student.make_loader(X_train, y_train, seed=1), epochs=10)
    student.save_checkpoint(model, "trained_by_the_grader.pt")
    restored = student.load_checkpoint("trained_by_the_grader.pt")
    held_out = accuracy(student.predict(restored, X_test), y_test, "predict(load_checkpoint(...), X_test)")
    assert_at_least(held_out, thresholds["checkpoint_accuracy"], "held-out accuracy of the restored model")
