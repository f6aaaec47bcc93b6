"""Hidden tests for assignment 07: never released. Expected values come from the reference.

Student models start from the reference model's weights (sent as a state dict), so that
training can be compared step by step in float64. The worker seeds torch with 0 before
every call; the reference side does the same before the matching call.
"""

import numpy as np
import pytest
import torch

from autograder.student import data, heldout
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
    X, y, *_ = digits
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
    """With lr=0 the weights stay as they are, so each batch's loss shows which samples it holds:
    the same seed gives the same batches, another seed others, and every epoch reshuffles
    (any seeded shuffle passes, not only the reference's DataLoader)."""
    X, y, *_ = digits

    def batch_losses(seed):
        model, _ = twin(student, 64, 20, 10, dtype=F64)
        loader = student.make_loader(X[:300], y[:300], batch_size=60, seed=seed, dtype=F64)
        history = np.asarray(student.train(model, loader, epochs=2, lr=0.0), dtype=np.float64)
        assert_shape(history, (10,), "the history of 2 epochs of 5 batches")
        return history

    first, again, other = batch_losses(5), batch_losses(5), batch_losses(6)
    assert_close(again, first, "the batch losses of a second run on make_loader(..., seed=5) (the same seed "
                 "should give the same batches)")
    if np.allclose(other, first):
        raise AssertionError("make_loader(..., seed=6) gave the same batches as seed=5: shuffle with a generator "
                             "seeded with seed")
    if np.allclose(first[:5], first[5:]):
        raise AssertionError("make_loader(..., shuffle=True) gave the same batches in both epochs: the order "
                             "should change every epoch")


@pytest.mark.points(2)
def test_training_switches_dropout_back_on(student, digits):
    """train() after predict() trains with dropout: with lr=0 its batch losses differ from those of
    the same weights in evaluation mode (whatever order the masks are drawn in)."""
    X, y, *_ = digits
    model, reference = twin(student, 64, 30, 10, dropout=0.5, dtype=F64)
    student.predict(model, X[:10])
    dataset = student.DigitsDataset(X[:200], y[:200], F64)
    loader = student.DataLoader(dataset, batch_size=50)  # unshuffled, not the student's make_loader
    history = np.asarray(student.train(model, loader, epochs=1, lr=0.0), dtype=np.float64)
    assert_shape(history, (4,), "the history of 1 epoch of 4 batches")
    reference.eval()
    with torch.no_grad():
        without_dropout = [torch.nn.functional.cross_entropy(reference(torch.from_numpy(X[i:i + 50])),
                                                             torch.from_numpy(y[i:i + 50])).item()
                           for i in range(0, 200, 50)]
    if np.allclose(history, without_dropout):
        raise AssertionError("train() after predict() gave the losses of the model without dropout: the model "
                             "should be in training mode (model.train()) while it trains")


@pytest.mark.points(2)
def test_predict_switches_dropout_off(student, rng):
    model, reference = twin(student, 64, 30, 10, dropout=0.5, dtype=F64)
    X = rng.normal(size=(200, 64))
    model.train()
    labels = student.predict(model, X)
    assert_shape(labels, (200,), "predict(model, X)")
    assert_close(labels, ref.predict(reference, X), "predict(model, X) for a model with dropout=0.5")


def trusted_predictions(model, X, what: str) -> np.ndarray:
    """The classes the weights of the student's ``model`` give ``X``, computed here by the
    reference network (the architecture is fixed: fc1 and fc2 of any hidden size)."""
    state = model.state_dict()
    shapes = {k: np.shape(v) for k, v in state.items()} if isinstance(state, dict) else {}
    if set(shapes) != {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}:
        raise AssertionError(f"the state_dict of {what} has keys {sorted(shapes)}, expected fc1.weight, "
                             "fc1.bias, fc2.weight and fc2.bias")
    (hidden, inputs), (outputs, _) = shapes["fc1.weight"], shapes["fc2.weight"]
    reference = ref.TwoLayerMLP(inputs, hidden, outputs, dtype=F64)
    try:
        reference.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=F64) for k, v in state.items()})
    except RuntimeError as error:
        raise AssertionError(f"the weights of {what} do not fit a TwoLayerMLP: {error}") from None
    return ref.predict(reference, X).numpy()


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_mlp_reaches_accuracy_threshold(student, digits, secret, thresholds, device):
    """A TwoLayerMLP(64, 100, 10) trained by train's defaults on a transformed copy of the digits."""
    view = heldout.rotated(digits, secret)
    model = student.TwoLayerMLP(64, 100, 10)
    student.train(model, student.make_loader(view.X_train, view.y_train), device=device)
    held_out = accuracy(trusted_predictions(model, view.X_test, "the trained model"), view.y_test,
                        "the trained model's predictions")
    assert_at_least(held_out, thresholds["digits_accuracy"], "the trained model's test accuracy")


@pytest.mark.points(3)
def test_submitted_checkpoint_reaches_accuracy_threshold(student, digits, thresholds):
    """The checkpoint.pt handed in, loaded by the student's load_checkpoint inside the sandbox."""
    model = student.load_checkpoint("checkpoint.pt")
    held_out = accuracy(trusted_predictions(model, digits.X_test, "load_checkpoint('checkpoint.pt')"),
                        digits.y_test, "the predictions of checkpoint.pt's weights")
    assert_at_least(held_out, thresholds["submitted_checkpoint_accuracy"], "the test accuracy of checkpoint.pt")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_checkpoint_reaches_accuracy_threshold(student, digits, secret, thresholds):
    """A model trained on a transformed copy of the digits, saved and restored."""
    view = heldout.rotated(digits, secret)
    model = student.TwoLayerMLP(64, 100, 10, dropout=0.1)
    student.train(model, student.make_loader(view.X_train, view.y_train, seed=1), epochs=10)
    student.save_checkpoint(model, "trained_by_the_grader.pt")
    restored = student.load_checkpoint("trained_by_the_grader.pt")
    held_out = accuracy(trusted_predictions(restored, view.X_test, "the restored model"), view.y_test,
                        "the restored model's predictions")
    assert_at_least(held_out, thresholds["checkpoint_accuracy"], "the restored model's test accuracy")
