"""The reference recurrent networks of assignment 10: every NumPy backward checked by central
differences in float64 and against torch.nn.RNN / LSTM (cells and sequences) with copied
weights; clipping against torch.nn.utils.clip_grad_norm_; the PyTorch models and training."""

import numpy as np
import pytest
import torch

from autograder.student import data, generated
from autograder.student.gradcheck import numerical_vjps, rel_error
from autograder.student.torchcheck import recurrent_weights
from reference import rnn
from reference import torch_rnn as tr

F64 = torch.float64
TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(10)


def torch_gradients(layer, dout, *inputs, run=None):
    """Gradients of sum(output * dout), the output of ``run(*inputs)`` (default: the layer
    itself), with respect to ``inputs`` (arrays) and to the layer's weights, in this
    module's convention."""
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = (run or layer)(*tensors)
    torch.autograd.backward(out, dout)
    suffix = "_l0" if hasattr(layer, "weight_ih_l0") else ""
    grad = lambda name: getattr(layer, f"{name}{suffix}").grad.numpy()  # noqa: E731
    return [t.grad.numpy() for t in tensors], (grad("weight_ih").T, grad("weight_hh").T, grad("bias_ih"))


def assert_matches_central_differences(forward, inputs, grads, dout):
    """Every gradient of ``grads`` against central differences of ``forward(*inputs)``."""
    assert len(grads) == len(inputs)
    for k, (grad, numeric) in enumerate(zip(grads, numerical_vjps(forward, inputs, dout))):
        assert grad.shape == numeric.shape, k
        assert rel_error(grad, numeric) < TOL, k


def rnn_params(rng, D, H, gates=1, scale=0.5):
    return (scale * rng.normal(size=(D, gates * H)), scale * rng.normal(size=(H, gates * H)),
            scale * rng.normal(size=gates * H))


# ---------------------------------------------------------------- vanilla RNN


def test_rnn_step_backward_by_central_differences(rng):
    x, h_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    Wx, Wh, b = rnn_params(rng, 4, 5)
    dh = rng.normal(size=(3, 5))
    _, cache = rnn.rnn_step_forward(x, h_prev, Wx, Wh, b)
    assert_matches_central_differences(lambda *args: rnn.rnn_step_forward(*args)[0], [x, h_prev, Wx, Wh, b],
                                       rnn.rnn_step_backward(dh, cache), dh)


def test_rnn_step_matches_torch_rnn_cell(rng):
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(4, 5, dtype=F64)
    x, h_prev, dh = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    h_next, cache = rnn.rnn_step_forward(x, h_prev, *recurrent_weights(cell))
    np.testing.assert_allclose(h_next, cell(torch.tensor(x), torch.tensor(h_prev)).detach().numpy(), rtol=1e-12)
    (dx, dh_prev), (dWx, dWh, db) = torch_gradients(cell, torch.tensor(dh), x, h_prev)
    for got, want in zip(rnn.rnn_step_backward(dh, cache), (dx, dh_prev, dWx, dWh, db)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- LSTM


def test_lstm_step_backward_by_central_differences(rng):
    x, h_prev, c_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    Wx, Wh, b = rnn_params(rng, 4, 5, gates=4)
    dh, dc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    _, _, cache = rnn.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    both = lambda *args: np.concatenate(rnn.lstm_step_forward(*args)[:2], axis=1)  # noqa: E731
    assert_matches_central_differences(both, [x, h_prev, c_prev, Wx, Wh, b], rnn.lstm_step_backward(dh, dc, cache),
                                       np.concatenate([dh, dc], axis=1))


def test_lstm_step_matches_torch_lstm_cell(rng):
    """Gate order i, f, g, o and the two biases as torch has them; c_prev is not zero."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(4, 5, dtype=F64)
    x, h_prev, c_prev = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    dh, dc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    h_next, c_next, cache = rnn.lstm_step_forward(x, h_prev, c_prev, *recurrent_weights(cell))
    expected_h, expected_c = cell(torch.tensor(x), (torch.tensor(h_prev), torch.tensor(c_prev)))
    np.testing.assert_allclose(h_next, expected_h.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c_next, expected_c.detach().numpy(), rtol=1e-12)
    (dx, dh_prev, dc_prev), (dWx, dWh, db) = torch_gradients(
        cell, (torch.tensor(dh), torch.tensor(dc)), x, h_prev, c_prev, run=lambda x, h, c: cell(x, (h, c)))
    for got, want in zip(rnn.lstm_step_backward(dh, dc, cache), (dx, dh_prev, dc_prev, dWx, dWh, db)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


SEQUENCES = {"rnn": (rnn.rnn_forward, rnn.rnn_backward, 1, torch.nn.RNN),
             "lstm": (rnn.lstm_forward, rnn.lstm_backward, 4, torch.nn.LSTM)}


@pytest.mark.parametrize("kind", SEQUENCES)
def test_sequence_backward_by_central_differences(rng, kind):
    forward, backward, gates, _ = SEQUENCES[kind]
    x, h0 = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 4))
    Wx, Wh, b = rnn_params(rng, 3, 4, gates=gates)
    dh = rng.normal(size=(2, 6, 4))
    _, cache = forward(x, h0, Wx, Wh, b)
    assert_matches_central_differences(lambda *args: forward(*args)[0], [x, h0, Wx, Wh, b], backward(dh, cache), dh)


@pytest.mark.parametrize("kind", SEQUENCES)
def test_sequence_matches_torch_layer(rng, kind):
    """Batch-first, N != T; torch's LSTM starts from the cell state zero, as lstm_forward does."""
    forward, backward, _, layer_class = SEQUENCES[kind]
    torch.manual_seed(0)
    layer = layer_class(3, 6, batch_first=True, dtype=F64)
    x, h0, dh = rng.normal(size=(4, 9, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 9, 6))
    h, cache = forward(x, h0, *recurrent_weights(layer))

    def run(x, h0):
        return layer(x, h0[None] if kind == "rnn" else (h0[None], torch.zeros_like(h0[None])))[0]

    np.testing.assert_allclose(h, run(torch.tensor(x), torch.tensor(h0)).detach().numpy(), rtol=1e-12, atol=1e-14)
    (dx, dh0), (dWx, dWh, db) = torch_gradients(layer, torch.tensor(dh), x, h0, run=run)
    for got, want in zip(backward(dh, cache), (dx, dh0, dWx, dWh, db)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- gradients through time, clipping


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.25])
def test_h0_gradient_norms_follow_the_spectral_radius_at_rest(rng, scale):
    """At x = 0, h0 = 0, b = 0 every tanh' is 1: dL_t/dh0 = (s Q)^t 1 with Q orthogonal."""
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    norms = rnn.h0_gradient_norms(np.zeros((3, 15, 2)), np.zeros((3, 6)), rng.normal(size=(2, 6)),
                                  scale * Q, np.zeros(6))
    np.testing.assert_allclose(norms, scale ** np.arange(1, 16) * np.sqrt(3 * 6), rtol=1e-12)


def test_h0_gradient_norms_match_autograd(rng):
    x, h0 = rng.normal(size=(2, 8, 3)), rng.normal(size=(2, 5))
    Wx, Wh, b = rnn_params(rng, 3, 5, scale=0.8)
    expected = []
    for t in range(1, 9):
        h0_tensor = torch.tensor(h0, requires_grad=True)
        h = h0_tensor
        for s in range(t):
            h = torch.tanh(torch.tensor(x[:, s]) @ torch.tensor(Wx) + h @ torch.tensor(Wh) + torch.tensor(b))
        h.sum().backward()
        expected.append(h0_tensor.grad.norm().item())
    np.testing.assert_allclose(rnn.h0_gradient_norms(x, h0, Wx, Wh, b), expected, rtol=1e-10)


def test_h0_gradient_norms_of_the_lstm_match_autograd(rng):
    torch.manual_seed(0)
    layer = torch.nn.LSTM(3, 5, batch_first=True, dtype=F64)
    x, h0 = rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 5))
    expected = []
    for t in range(1, 8):
        h0_tensor = torch.tensor(h0[None], requires_grad=True)
        outputs, _ = layer(torch.tensor(x[:, :t]), (h0_tensor, torch.zeros_like(h0_tensor)))
        outputs[:, -1].sum().backward()
        expected.append(h0_tensor.grad.norm().item())
    norms = rnn.h0_gradient_norms(x, h0, *recurrent_weights(layer), rnn.lstm_forward, rnn.lstm_backward)
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(rng, max_norm):
    grads = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=3), "v": rng.normal(size=(2, 2, 2))}
    before = {k: v.copy() for k, v in grads.items()}
    clipped, total = rnn.clip_grad_norm(grads, max_norm)
    params = {k: torch.nn.Parameter(torch.zeros(v.shape, dtype=F64)) for k, v in grads.items()}
    for k, p in params.items():
        p.grad = torch.tensor(grads[k])
    expected_total = torch.nn.utils.clip_grad_norm_(params.values(), max_norm)
    assert total == pytest.approx(expected_total.item(), rel=1e-12)
    for k, p in params.items():
        np.testing.assert_allclose(clipped[k], p.grad.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(grads[k], before[k])


# ---------------------------------------------------------------- PyTorch models


def test_lstm_classifier_is_an_lstm_read_at_its_last_step():
    torch.manual_seed(0)
    model = tr.LSTMClassifier(8, 12, 10, dtype=F64)
    assert list(model.state_dict()) == ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                        "lstm.bias_hh_l0", "fc.weight", "fc.bias"]
    x = torch.randn(5, 8, 8, dtype=F64)
    outputs, (h_n, _) = model.lstm(x)
    torch.testing.assert_close(model(x), model.fc(h_n[0]))
    torch.testing.assert_close(model(x[2:3]), model(x)[2:3])  # each sample on its own


def test_lstm_classifier_learns_digits_rows():
    X_train, y_train, X_val, y_val, _, _ = data.digits(seed=0, images=True)
    torch.manual_seed(0)
    model = tr.LSTMClassifier(8, 32, 10)
    history = tr.train_classifier(model, X_train[:640, 0], y_train[:640], epochs=10)
    assert len(history) == 10 * 10 and np.mean(history[-10:]) < np.mean(history[:10])
    with torch.no_grad():
        predicted = model.eval()(torch.tensor(X_val[:, 0], dtype=torch.float32)).argmax(1).numpy()
    assert np.mean(predicted == y_val) > 0.8


def test_signal_predictor_carries_its_state_across_calls():
    torch.manual_seed(0)
    model = tr.SignalPredictor(7, dtype=F64)
    x = torch.randn(3, 12, 1, dtype=F64)
    whole, (h, c) = model(x)
    first, state = model(x[:, :5])
    second, end = model(x[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    torch.testing.assert_close(end[0], h)
    torch.testing.assert_close(end[1], c)


def test_train_tbptt_history_has_one_loss_per_chunk_and_falls():
    torch.manual_seed(0)
    model = tr.SignalPredictor(16)
    history = tr.train_tbptt(model, generated.noisy_sines(16, 46, seed=1), chunk_length=10, epochs=20)
    assert len(history) == 20 * 5  # 45 steps: chunks of 10, 10, 10, 10, 5
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:5])


def test_train_tbptt_gradients_stop_at_the_chunk_boundary():
    """With the state detached, a chunk's gradient is that of the chunk run alone from the
    (constant) state the previous chunk ended in."""
    torch.manual_seed(0)
    model = tr.SignalPredictor(5, dtype=F64)
    twin = tr.SignalPredictor(5, dtype=F64)
    twin.load_state_dict(model.state_dict())
    series = torch.from_numpy(generated.noisy_sines(4, 21, seed=2))
    seen = []
    model.lstm.weight_hh_l0.register_hook(lambda grad: seen.append(grad.clone()))
    tr.train_tbptt(model, series, chunk_length=10, epochs=1, lr=0.0)
    inputs, targets = series[:, :-1, None], series[:, 1:, None]
    with torch.no_grad():
        _, state = twin(inputs[:, :10])
    predictions, _ = twin(inputs[:, 10:], state)
    torch.nn.functional.mse_loss(predictions, targets[:, 10:]).backward()
    assert len(seen) == 2
    torch.testing.assert_close(seen[1], twin.lstm.weight_hh_l0.grad)


def test_predict_next_and_forecast_agree_with_the_model():
    torch.manual_seed(0)
    model = tr.SignalPredictor(6, dtype=F64)
    series = generated.noisy_sines(3, 15, seed=0)
    one_step = tr.predict_next(model, series)
    assert one_step.shape == (3, 14)
    torch.testing.assert_close(one_step, model(torch.from_numpy(series[:, :-1, None]))[0][..., 0].detach())
    future = tr.forecast(model, series[:, :10], 4)
    assert future.shape == (3, 4)
    torch.testing.assert_close(future[:, 0], one_step[:, 9])
    extended = np.concatenate([series[:, :10], future[:, :2].numpy()], axis=1)
    torch.testing.assert_close(future[:, 2], tr.forecast(model, extended, 1)[:, 0])


def test_skill_over_persistence_is_zero_for_persistence_and_one_when_perfect():
    series = generated.noisy_sines(5, 30, seed=3)
    assert tr.skill_over_persistence(series[:, :-1], series) == pytest.approx(0.0, abs=1e-12)
    assert tr.skill_over_persistence(series[:, 1:], series) == pytest.approx(1.0)


def test_signal_predictor_beats_persistence():
    train, test = generated.noisy_sines(64, 101, seed=4), generated.noisy_sines(100, 101, seed=5)
    torch.manual_seed(0)
    model = tr.SignalPredictor(32)
    tr.train_tbptt(model, train, epochs=30)
    assert tr.skill_over_persistence(tr.predict_next(model, test), test) > 0.5
