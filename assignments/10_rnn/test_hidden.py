"""Hidden tests for assignment 10: never released. Expected values come from the reference.

Student models start from the reference model's weights (sent as a state dict), so that
training can be compared step by step in float64. The worker seeds torch with 0 before
every call. The thresholds train the student's code on data no lookup can match (a secret
view of the digits, signals generated from the secret), fetch the trained weights and
compute the test predictions with the reference models.
"""

import numpy as np
import pytest
import torch

from autograder.student import data, generated, heldout
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_gradient, assert_unchanged)
from autograder.student.torchcheck import with_state_of
from reference import rnn as ref
from reference import torch_rnn as tref

F64 = torch.float64


def twin(student, name, *args, **kwargs):
    """(student model, reference model) of class ``name``, with the same weights."""
    torch.manual_seed(1)
    reference = getattr(tref, name)(*args, **kwargs)
    model = getattr(student, name)(*args, **kwargs)
    model.load_state_dict(dict(reference.state_dict()))
    return model, reference


def weights(rng, D, H, gates=1, scale=1.0):
    """(Wx, Wh, b) drawn at ``scale``: 1.0 drives the tanh and the gates into saturation."""
    return (scale * rng.normal(size=(D, gates * H)), scale * rng.normal(size=(H, gates * H)) / np.sqrt(H),
            scale * rng.normal(size=gates * H))


def assert_all_close(got, expected, names, what):
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        raise AssertionError(f"{what} should return {len(expected)} values ({', '.join(names)})")
    for name, g, e in zip(names, got, expected):
        assert_close(g, e, f"{name} from {what}")


def assert_sequence_matches_reference(student, grader, rng, kind: str, shapes) -> None:
    """``{kind}_forward`` and ``{kind}_backward`` against the reference for each (N, T, D, H)."""
    for N, T, D, H in shapes:
        x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
        params = weights(rng, D, H, gates=4 if kind == "lstm" else 1)
        h, cache = getattr(student, f"{kind}_forward")(x, h0, *params)
        assert_unchanged(grader, f"{kind}_forward")
        expected, expected_cache = getattr(ref, f"{kind}_forward")(x, h0, *params)
        assert_close(h, expected, f"{kind}_forward for N={N}, T={T}, D={D}, H={H}")
        assert_all_close(getattr(student, f"{kind}_backward")(dh, cache),
                         getattr(ref, f"{kind}_backward")(dh, expected_cache),
                         ["dx", "dh0", "dWx", "dWh", "db"], f"{kind}_backward for N={N}, T={T}, D={D}, H={H}")


# ---------------------------------------------------------------- NumPy


@pytest.mark.points(2)
def test_rnn_step_matches_reference_on_other_shapes(student, grader, rng):
    for N, D, H in [(1, 1, 3), (6, 5, 2)]:
        x, h_prev, dh = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
        Wx, Wh, b = weights(rng, D, H, scale=2.0)
        h_next, cache = student.rnn_step_forward(x, h_prev, Wx, Wh, b)
        assert_unchanged(grader, "rnn_step_forward")
        expected, expected_cache = ref.rnn_step_forward(x, h_prev, Wx, Wh, b)
        assert_close(h_next, expected, f"rnn_step_forward for N={N}, D={D}, H={H}")
        assert_all_close(student.rnn_step_backward(dh, cache), ref.rnn_step_backward(dh, expected_cache),
                         ["dx", "dh_prev", "dWx", "dWh", "db"], f"rnn_step_backward for N={N}, D={D}, H={H}")


@pytest.mark.points(3)
def test_rnn_sequence_matches_reference_on_other_shapes(student, grader, rng):
    """Backpropagation through time, including one step and one sequence, and N > T."""
    assert_sequence_matches_reference(student, grader, rng, "rnn", [(2, 1, 3, 4), (5, 3, 2, 4), (1, 12, 2, 3)])


@pytest.mark.points(2)
def test_h0_gradient_norms_match_reference_with_inputs(student, rng):
    x, h0 = rng.normal(size=(3, 15, 2)), 0.5 * rng.normal(size=(3, 4))
    for scale in (0.5, 1.5):
        Wx, Wh, b = weights(rng, 2, 4, scale=scale)
        norms = student.h0_gradient_norms(x, h0, Wx, Wh, b)
        assert_close(norms, ref.h0_gradient_norms(x, h0, Wx, Wh, b), f"h0_gradient_norms at weight scale {scale}",
                     rtol=1e-5, atol=1e-12)


@pytest.mark.points(2)
def test_clip_grad_norm_matches_reference(student, grader, rng):
    """Other arrays, a single one, and a norm just below max_norm: nothing changes."""
    cases = [({"w": rng.normal(size=(2, 3, 4)), "b": rng.normal(size=(1,))}, 0.3),
             ({"only": rng.normal(size=7)}, 2.0)]
    below = {"w": rng.normal(size=(3, 3))}
    cases.append((below, float(np.linalg.norm(below["w"])) * 1.001))
    for grads, max_norm in cases:
        clipped, total = student.clip_grad_norm(grads, max_norm)
        assert_unchanged(grader, "clip_grad_norm")
        expected, expected_total = ref.clip_grad_norm(grads, max_norm)
        assert_close(total, expected_total, f"the total norm of {sorted(grads)}")
        if not isinstance(clipped, dict) or sorted(clipped) != sorted(expected):
            raise AssertionError("clip_grad_norm should return a dict with the keys of grads")
        for name, value in expected.items():
            assert_close(clipped[name], value, f"clip_grad_norm(grads, {max_norm:.3g})['{name}']")


@pytest.mark.points(2)
def test_lstm_step_matches_reference_with_saturated_gates(student, rng):
    for N, D, H, scale in [(2, 3, 4, 3.0), (5, 1, 2, 0.3)]:
        x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), 2 * rng.normal(size=(N, H))
        dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
        Wx, Wh, b = weights(rng, D, H, gates=4, scale=scale)
        h_next, c_next, cache = student.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        expected_h, expected_c, expected_cache = ref.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        assert_close(c_next, expected_c, f"c_next from lstm_step_forward (N={N}, D={D}, H={H})")
        assert_close(h_next, expected_h, f"h_next from lstm_step_forward (N={N}, D={D}, H={H})")
        assert_all_close(student.lstm_step_backward(dh, dc, cache), ref.lstm_step_backward(dh, dc, expected_cache),
                         ["dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"], f"lstm_step_backward (N={N}, D={D}, H={H})")


@pytest.mark.points(3)
def test_lstm_sequence_matches_reference_on_other_shapes(student, grader, rng):
    assert_sequence_matches_reference(student, grader, rng, "lstm", [(3, 1, 2, 3), (2, 6, 4, 3), (6, 4, 1, 2)])


@pytest.mark.points(1)
def test_lstm_backward_by_central_differences_over_many_steps(student, rng):
    """dWh after 10 steps: the gradient has to travel along the cell."""
    x, h0, dh = rng.normal(size=(2, 10, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 10, 3))
    Wx, Wh, b = weights(rng, 2, 3, gates=4, scale=0.7)
    _, cache = student.lstm_forward(x, h0, Wx, Wh, b)
    dWh = student.lstm_backward(dh, cache)[3]
    assert_gradient(dWh, lambda v: np.sum(ref.lstm_forward(x, h0, Wx, v, b)[0] * dh), Wh, "dWh from lstm_backward")


# ---------------------------------------------------------------- PyTorch


@pytest.mark.points(1)
def test_classifier_matches_reference(student, rng):
    model, reference = twin(student, "LSTMClassifier", 5, 7, 4, dtype=F64)
    x = torch.from_numpy(rng.normal(size=(9, 3, 5)))
    assert_close(model(x), reference(x).detach(), "LSTMClassifier(5, 7, 4) for x of shape (9, 3, 5)")


@pytest.mark.points(2)
def test_train_classifier_follows_reference_step_by_step(student):
    """Full batches in float64, small max_norm (clipping at work): every loss and the final
    weights (the order within a batch changes its loss by rounding only)."""
    digits = data.digits(images=True, seed=2)
    X, y = digits.X_train[:150, 0], digits.y_train[:150]
    model, reference = twin(student, "LSTMClassifier", 8, 12, 10, dtype=F64)
    arguments = dict(epochs=6, lr=0.02, batch_size=200, max_norm=0.05, seed=4)
    history = student.train_classifier(model, X, y, **arguments)
    torch.manual_seed(0)
    expected = tref.train_classifier(reference, X, y, **arguments)
    assert_close(history, expected, "the losses of train_classifier")
    state = model.state_dict()
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{name} after train_classifier")


@pytest.mark.points(3)
def test_train_tbptt_follows_reference_step_by_step(student, secret):
    """float64, chunks of 7 steps with a shorter last one, clipping at work: every loss and
    the final weights."""
    series = generated.noisy_sines(6, 31, seed=secret)
    model, reference = twin(student, "SignalPredictor", 5, dtype=F64)
    arguments = dict(chunk_length=7, epochs=3, lr=0.05, max_norm=0.05)
    history = student.train_tbptt(model, series, **arguments)
    torch.manual_seed(0)
    expected = tref.train_tbptt(reference, series, **arguments)
    assert_close(history, expected, "the losses of train_tbptt")
    state = model.state_dict()
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{name} after train_tbptt")


@pytest.mark.points(2)
def test_predict_next_and_forecast_match_reference(student, rng):
    model, reference = twin(student, "SignalPredictor", 6, dtype=F64)
    series = rng.normal(size=(4, 12))
    assert_close(student.predict_next(model, series), tref.predict_next(reference, series),
                 "predict_next(model, series) for series of shape (4, 12)")
    assert_close(student.forecast(model, series, 9), tref.forecast(reference, series, 9),
                 "forecast(model, context, 9)")
    assert_close(student.forecast(model, series[:, :1], 1), tref.forecast(reference, series[:, :1], 1),
                 "forecast(model, context, 1) from a context of one value")


@pytest.mark.points(1)
def test_skill_over_persistence_matches_reference(student, rng):
    series, predictions = rng.normal(size=(5, 20)), rng.normal(size=(5, 19))
    assert_close(student.skill_over_persistence(predictions, series),
                 tref.skill_over_persistence(predictions, series), "skill_over_persistence(predictions, series)")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_classifier_reaches_accuracy_threshold(student, secret, thresholds, device):
    """LSTMClassifier(8, 64, 10) trained with train_classifier's defaults on a secret view of the digits."""
    view = heldout.rotated(data.digits(images=True).map_inputs(lambda images: images[:, 0]), secret)
    model = student.LSTMClassifier(8, 64, 10)
    student.train_classifier(model, view.X_train, view.y_train, device=device)
    trained = with_state_of(tref.LSTMClassifier(8, 64, 10), model).eval()
    with torch.no_grad():
        predicted = trained(torch.as_tensor(view.X_test, dtype=torch.float32)).argmax(dim=1)
    held_out = accuracy(predicted, view.y_test, "the predictions of the trained weights")
    assert_at_least(held_out, thresholds["digits_accuracy"], "test accuracy on the secret view")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_signal_predictor_reaches_skill_threshold(student, secret, thresholds, device):
    """SignalPredictor(32) trained with train_tbptt's defaults on series generated from a secret seed."""
    train, test = generated.noisy_sines(64, 101, seed=secret), generated.noisy_sines(200, 101, seed=secret)
    model = student.SignalPredictor(32)
    student.train_tbptt(model, train, device=device)
    trained = with_state_of(tref.SignalPredictor(32), model).eval()
    skill = tref.skill_over_persistence(tref.predict_next(trained, test), test)
    assert_at_least(skill, thresholds["signal_skill"], "the skill over persistence on the secret test series")
