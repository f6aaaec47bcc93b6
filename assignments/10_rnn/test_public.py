"""Public tests for assignment 10: students have this file and can run it with `course check`.

Expected values come from central differences, from PyTorch's nn.RNN, nn.LSTM (with the
weights copied over) and clip_grad_norm_, from exact properties, and from the student's own
models; the hidden tests compare against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data, generated
from autograder.student.checks import (assert_close, assert_gradient, assert_shape, assert_unchanged,
                                       checked_state_dict)
from autograder.student.torchcheck import recurrent_weights

F64 = torch.float64
CLASSIFIER_SHAPES = {"lstm.weight_ih_l0": (64, 8), "lstm.weight_hh_l0": (64, 16), "lstm.bias_ih_l0": (64,),
                     "lstm.bias_hh_l0": (64,), "fc.weight": (10, 16), "fc.bias": (10,)}


def assert_gradients(grads, forward, inputs, dout, names, what):
    """Each of ``grads`` against central differences of sum(forward(*inputs) * dout)."""
    if not isinstance(grads, (tuple, list)) or len(grads) != len(inputs):
        raise AssertionError(f"{what} should return {len(inputs)} gradients ({', '.join(names)})")
    for k, (name, grad) in enumerate(zip(names, grads)):
        def loss(v, k=k):
            return np.sum(forward(*inputs[:k], v, *inputs[k + 1:]) * dout)
        assert_gradient(grad, loss, inputs[k], f"{name} from {what}")


def torch_backward(run, dout, *arrays):
    """Gradients of sum(run(*tensors) * dout) with respect to the float64 tensors of ``arrays``."""
    tensors = [torch.tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    output = run(*tensors)
    output.backward(torch.as_tensor(dout))
    return output.detach(), [t.grad for t in tensors]


def assert_sequence_matches_torch(student, grader, kind: str, layer, rng) -> None:
    """``{kind}_forward`` and ``{kind}_backward`` against torch's ``layer`` (batch-first, one
    layer, its weights copied), for 4 sequences of 9 steps."""
    x, h0, dh = rng.normal(size=(4, 9, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 9, 6))

    def run(x, h0):
        return layer(x, h0[None] if kind == "rnn" else (h0[None], torch.zeros_like(h0[None])))[0]

    h, cache = getattr(student, f"{kind}_forward")(x, h0, *recurrent_weights(layer))
    assert_unchanged(grader, f"{kind}_forward")
    expected, (dx, dh0) = torch_backward(run, dh, x, h0)
    assert_close(h, expected, f"the states h from {kind}_forward")
    grads = getattr(student, f"{kind}_backward")(dh, cache)
    if not isinstance(grads, (tuple, list)) or len(grads) != 5:
        raise AssertionError(f"{kind}_backward should return (dx, dh0, dWx, dWh, db)")
    expected = [dx, dh0, layer.weight_ih_l0.grad.T, layer.weight_hh_l0.grad.T, layer.bias_ih_l0.grad]
    for name, got, want in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, expected):
        assert_close(got, want, f"{name} from {kind}_backward")


# ---------------------------------------------------------------- NumPy: the vanilla RNN


@pytest.mark.points(1)
def test_rnn_step_forward_is_tanh_of_an_affine_map(student, grader, rng):
    x, h_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    Wx, Wh, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    h_next, _ = student.rnn_step_forward(x, h_prev, Wx, Wh, b)
    assert_unchanged(grader, "rnn_step_forward")
    assert_close(h_next, np.tanh(x @ Wx + h_prev @ Wh + b), "rnn_step_forward(x, h_prev, Wx, Wh, b)")


@pytest.mark.points(2)
def test_rnn_step_backward_by_central_differences(student, rng):
    inputs = [rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), 0.5 * rng.normal(size=(4, 5)),
              0.5 * rng.normal(size=(5, 5)), rng.normal(size=5)]
    dh = rng.normal(size=(3, 5))
    _, cache = student.rnn_step_forward(*inputs)
    grads = student.rnn_step_backward(dh, cache)
    assert_gradients(grads, lambda x, h, Wx, Wh, b: np.tanh(x @ Wx + h @ Wh + b), inputs, dh,
                     ["dx", "dh_prev", "dWx", "dWh", "db"], "rnn_step_backward")


@pytest.mark.points(2)
def test_rnn_sequence_matches_torch_rnn(student, grader, rng):
    """rnn_forward and rnn_backward against nn.RNN(batch_first=True), with N != T."""
    torch.manual_seed(0)
    assert_sequence_matches_torch(student, grader, "rnn", torch.nn.RNN(3, 6, batch_first=True, dtype=F64), rng)


@pytest.mark.points(2)
def test_h0_gradient_norms_follow_the_spectral_radius_at_rest(student, rng):
    """At zero input and h0 = 0, with Wh = s Q (Q orthogonal), the norm after t steps is s^t sqrt(NH)."""
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    for scale in (0.7, 1.3):
        norms = student.h0_gradient_norms(np.zeros((3, 12, 2)), np.zeros((3, 5)), rng.normal(size=(2, 5)),
                                          scale * Q, np.zeros(5))
        assert_close(norms, scale ** np.arange(1, 13) * np.sqrt(15), f"h0_gradient_norms for Wh = {scale} Q")


@pytest.mark.points(2)
def test_clip_grad_norm_matches_torch(student, grader, rng):
    grads = {"Wx": rng.normal(size=(3, 4)), "Wh": 5 * rng.normal(size=(4, 4)), "b": rng.normal(size=4)}
    for max_norm in (1.0, 1e3):
        clipped, total = student.clip_grad_norm(grads, max_norm)
        assert_unchanged(grader, "clip_grad_norm")
        parameters = {name: torch.nn.Parameter(torch.zeros(g.shape, dtype=F64)) for name, g in grads.items()}
        for name, p in parameters.items():
            p.grad = torch.tensor(grads[name])
        expected_total = torch.nn.utils.clip_grad_norm_(parameters.values(), max_norm)
        assert_close(total, expected_total, f"the total norm from clip_grad_norm(grads, {max_norm})")
        if not isinstance(clipped, dict) or sorted(clipped) != sorted(grads):
            raise AssertionError("clip_grad_norm should return a dict with the keys of grads")
        for name, p in parameters.items():
            assert_close(clipped[name], p.grad, f"clip_grad_norm(grads, {max_norm})['{name}']")


# ---------------------------------------------------------------- NumPy: the LSTM


@pytest.mark.points(1)
def test_lstm_step_forward_matches_torch_lstm_cell(student, rng):
    """Gates in torch's order i, f, g, o; the cell state starts from a nonzero c_prev."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(4, 5, dtype=F64)
    x, h_prev, c_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    h_next, c_next, _ = student.lstm_step_forward(x, h_prev, c_prev, *recurrent_weights(cell))
    expected_h, expected_c = cell(torch.tensor(x), (torch.tensor(h_prev), torch.tensor(c_prev)))
    assert_close(c_next, expected_c.detach(), "c_next from lstm_step_forward")
    assert_close(h_next, expected_h.detach(), "h_next from lstm_step_forward")


@pytest.mark.points(2)
def test_lstm_step_backward_matches_torch_lstm_cell(student, rng):
    torch.manual_seed(1)
    cell = torch.nn.LSTMCell(4, 5, dtype=F64)
    Wx, Wh, b = recurrent_weights(cell)
    x, h_prev, c_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    dh, dc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    _, _, cache = student.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    grads = student.lstm_step_backward(dh, dc, cache)
    _, expected = torch_backward(lambda *t: torch.cat(cell(t[0], (t[1], t[2])), dim=1),
                                 np.concatenate([dh, dc], axis=1), x, h_prev, c_prev)
    expected += [cell.weight_ih.grad.T, cell.weight_hh.grad.T, cell.bias_ih.grad]
    if not isinstance(grads, (tuple, list)) or len(grads) != 6:
        raise AssertionError("lstm_step_backward should return (dx, dh_prev, dc_prev, dWx, dWh, db)")
    for name, got, want in zip(("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), grads, expected):
        assert_close(got, want, f"{name} from lstm_step_backward")


@pytest.mark.points(2)
def test_lstm_sequence_matches_torch_lstm(student, grader, rng):
    """lstm_forward and lstm_backward against nn.LSTM(batch_first=True), with N != T."""
    torch.manual_seed(2)
    assert_sequence_matches_torch(student, grader, "lstm", torch.nn.LSTM(3, 6, batch_first=True, dtype=F64), rng)


# ---------------------------------------------------------------- PyTorch: many-to-one


@pytest.mark.points(1)
def test_classifier_is_an_lstm_read_at_its_last_step(student, rng):
    model = student.LSTMClassifier(8, 16, 10, dtype=F64)
    state = checked_state_dict(model, CLASSIFIER_SHAPES)
    x = torch.from_numpy(rng.normal(size=(5, 7, 8)))
    lstm = torch.nn.LSTM(8, 16, batch_first=True, dtype=F64)
    lstm.load_state_dict({k.removeprefix("lstm."): v for k, v in state.items() if k.startswith("lstm.")})
    expected = F.linear(lstm(x)[0][:, -1], state["fc.weight"], state["fc.bias"])
    assert_close(model(x), expected.detach(), "LSTMClassifier(8, 16, 10)(x) for x of shape (5, 7, 8)")


@pytest.mark.points(1)
def test_classifier_reads_each_sequence_on_its_own(student, rng):
    """One sequence's logits do not depend on the other sequences of its batch (batch_first)."""
    model = student.LSTMClassifier(8, 16, 10, dtype=F64)
    x = rng.normal(size=(6, 8, 8))
    alone = model(torch.from_numpy(x[2:3]))
    together = model(torch.from_numpy(x))
    assert_shape(together, (6, 10), "the logits of 6 sequences")
    assert_close(alone, np.asarray(together)[2:3], "the logits of one sequence, alone and in a batch")


@pytest.mark.points(1)
def test_train_classifier_batches_cover_the_data_once_per_epoch(student):
    """With max_norm=0 every gradient is clipped to zero and the weights stay put: the batch
    losses, weighted by the batch sizes 30, 30, 30, 10, average to the loss of all 100
    samples, in every epoch; the same seed gives the same order."""
    digits = data.digits(images=True)
    X, y = digits.X_train[:100, 0], digits.y_train[:100]
    model = student.LSTMClassifier(8, 16, 10, dtype=F64)
    arguments = dict(epochs=2, lr=0.05, batch_size=30, max_norm=0.0, seed=3)
    history = student.train_classifier(model, X, y, **arguments)
    assert_shape(history, (8,), "the history of 2 epochs of 4 batches (30, 30, 30, 10)")
    full = F.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).item()
    sizes = np.array([30, 30, 30, 10])
    for epoch, losses in enumerate(np.reshape(history, (2, 4))):
        assert_close(losses @ sizes / 100, full, f"the batch losses of epoch {epoch + 1}, averaged, "
                     "with max_norm=0 (are the gradients clipped before every step?)")
    again = student.train_classifier(model, X, y, **arguments)
    assert_close(again, history, "the history of a second call with the same seed", rtol=0, atol=0)


@pytest.mark.points(1)
def test_train_classifier_lowers_the_loss(student):
    digits = data.digits(images=True)
    model = student.LSTMClassifier(8, 32, 10)
    history = student.train_classifier(model, digits.X_train[:320, 0], digits.y_train[:320], epochs=5)
    assert_shape(history, (25,), "the history of 5 epochs of 5 batches")
    if not np.mean(history[-5:]) < np.mean(history[:5]):
        raise AssertionError("the loss did not decrease from the first epoch to the fifth")


# ---------------------------------------------------------------- PyTorch: many-to-many


@pytest.mark.points(1)
def test_signal_predictor_continues_from_the_state_it_is_given(student, rng):
    model = student.SignalPredictor(7, dtype=F64)
    x = torch.from_numpy(rng.normal(size=(3, 12, 1)))
    whole, (h, c) = model(x)
    assert_shape(whole, (3, 12, 1), "the predictions of SignalPredictor(7) for x of shape (3, 12, 1)")
    assert_shape(h, (1, 3, 7), "the hidden state returned by SignalPredictor(7)")
    first, state = model(x[:, :5])
    second, _ = model(x[:, 5:], state)
    assert_close(np.concatenate([first, second], axis=1), whole,
                 "the predictions of two pieces, the second started from the first one's state")


@pytest.mark.points(2)
def test_train_tbptt_carries_the_state_across_chunks(student):
    """With max_norm=0 every gradient is clipped to zero and the weights stay put: each loss
    is the chunk's error, run from the state the previous chunk ended in."""
    series = generated.noisy_sines(5, 26, seed=7)
    model = student.SignalPredictor(6, dtype=F64)
    history = student.train_tbptt(model, series, chunk_length=10, epochs=2, lr=0.05, max_norm=0.0)
    assert_shape(history, (6,), "the history of 2 epochs of 3 chunks (10, 10, 5 steps)")
    inputs, targets = torch.from_numpy(series[:, :-1, None]), series[:, 1:, None]
    expected, state = [], None
    for start in (0, 10, 20):
        predictions, state = model(inputs[:, start:start + 10], state)
        expected.append(np.mean((np.asarray(predictions) - targets[:, start:start + 10]) ** 2))
    assert_close(history, expected * 2, "the losses of train_tbptt(..., max_norm=0.0) (are the gradients "
                 "clipped before every step, and the state carried from chunk to chunk?)")


@pytest.mark.points(1)
def test_train_tbptt_lowers_the_loss(student):
    model = student.SignalPredictor(16)
    history = student.train_tbptt(model, generated.noisy_sines(16, 46, seed=1), chunk_length=15, epochs=20)
    assert_shape(history, (60,), "the history of 20 epochs of 3 chunks")
    if not np.mean(history[-3:]) < 0.5 * np.mean(history[:3]):
        raise AssertionError("the loss did not halve in 20 epochs")


@pytest.mark.points(1)
def test_predict_next_and_forecast_follow_the_model(student):
    series = generated.noisy_sines(3, 15, seed=0)
    model = student.SignalPredictor(6, dtype=F64)
    one_step = student.predict_next(model, series)
    expected, _ = model(torch.from_numpy(series[:, :-1, None]))
    assert_close(one_step, np.asarray(expected)[..., 0], "predict_next(model, series)")
    future = student.forecast(model, series[:, :10], 3)
    assert_shape(future, (3, 3), "forecast(model, context, 3) for 3 series")
    assert_close(np.asarray(future)[:, 0], np.asarray(one_step)[:, 9], "the first value of forecast")
    extended = np.concatenate([series[:, :10], np.asarray(future)[:, :2]], axis=1)
    assert_close(student.forecast(model, extended, 1), np.asarray(future)[:, 2:],
                 "the third value of forecast: the prediction after the context and the first two values")


@pytest.mark.points(1)
def test_skill_over_persistence_of_persistence_and_of_perfect_predictions(student):
    series = generated.noisy_sines(4, 30, seed=3)
    assert_close(student.skill_over_persistence(series[:, :-1], series), 0.0,
                 "the skill of persistence itself", atol=1e-10)
    assert_close(student.skill_over_persistence(series[:, 1:], series), 1.0, "the skill of perfect predictions")
    assert_close(student.skill_over_persistence(0 * series[:, 1:], series),
                 1 - np.mean(series[:, 1:] ** 2) / np.mean(np.diff(series, axis=1) ** 2),
                 "the skill of predicting zeros")
