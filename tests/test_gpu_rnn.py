"""On a CUDA machine, reference.torch_rnn runs on the GPU, unchanged, and agrees with the CPU.

Imports only torch, numpy, reference and autograder.student, and uses no conftest fixture:
the GPU machine has neither nbformat nor pydantic (run with ``pytest --noconftest``).
cuDNN's LSTM sums in another order than the CPU's, so float64 results agree to rounding.
"""

import numpy as np
import pytest
import torch

from autograder.student import data, generated
from reference import torch_rnn as tr

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64


def twins(cls, *args, **kwargs):
    """The same module (same weights) on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = cls(*args, **kwargs)
    gpu = cls(*args, **kwargs).to("cuda")
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


def digit_rows():
    return data.digits(images=True, seed=0).map_inputs(lambda images: images[:, 0])


def test_classifier_logits_and_input_gradients_agree_on_gpu_and_cpu():
    x = torch.from_numpy(digit_rows().X_test[:50])
    results = {}
    for device, model in twins(tr.LSTMClassifier, 8, 16, 10, dtype=F64).items():
        inputs = x.to(device, copy=True).requires_grad_()
        logits = model(inputs)
        logits.logsumexp(dim=1).sum().backward()
        assert logits.device.type == device
        results[device] = (logits.detach().cpu(), inputs.grad.cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-10, atol=1e-12)


def test_signal_predictor_carries_its_state_on_the_gpu():
    x = torch.from_numpy(generated.noisy_sines(4, 30, seed=0)[:, :, None])
    results = {}
    for device, model in twins(tr.SignalPredictor, 8, dtype=F64).items():
        first, state = model(x[:, :12].to(device))
        second, (h, c) = model(x[:, 12:].to(device), state)
        assert h.device.type == device
        results[device] = (torch.cat([first, second], dim=1).detach().cpu(), c.detach().cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-10, atol=1e-12)


def test_train_classifier_agrees_on_gpu_and_cpu():
    rows = digit_rows()
    results = {}
    for device, model in twins(tr.LSTMClassifier, 8, 12, 10, dtype=F64).items():
        history = tr.train_classifier(model, rows.X_train[:200], rows.y_train[:200], epochs=2,
                                      batch_size=50, max_norm=0.5, seed=1)
        assert model.fc.weight.device.type == device
        results[device] = (history, {k: v.cpu() for k, v in model.state_dict().items()})
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-8)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-7, atol=1e-10)


def test_train_tbptt_agrees_on_gpu_and_cpu():
    series = generated.noisy_sines(8, 41, seed=3)
    results = {}
    for device, model in twins(tr.SignalPredictor, 6, dtype=F64).items():
        history = tr.train_tbptt(model, series, chunk_length=15, epochs=4, lr=0.02, max_norm=0.1)
        results[device] = (history, tr.predict_next(model, series), tr.forecast(model, series[:, :20], 10))
    for got, expected in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-7, atol=1e-10)
    assert results["cuda"][1].device.type == "cpu" and results["cuda"][2].device.type == "cpu"


def test_thresholds_are_reached_when_training_moves_cpu_models_to_the_gpu():
    """The grader's runs with device='cuda' (course.yml: digits_accuracy 0.93, signal_skill 0.6)."""
    rows = digit_rows()
    torch.manual_seed(0)
    classifier = tr.LSTMClassifier(8, 64, 10)
    tr.train_classifier(classifier, rows.X_train, rows.y_train, device="cuda")
    assert classifier.fc.bias.device.type == "cuda"
    with torch.no_grad():
        logits = classifier.eval()(torch.as_tensor(rows.X_test, dtype=torch.float32, device="cuda"))
    assert np.mean(logits.argmax(dim=1).cpu().numpy() == rows.y_test) >= 0.93
    train, test = generated.noisy_sines(64, 101, seed=10), generated.noisy_sines(200, 101, seed=11)
    predictor = tr.SignalPredictor(32)
    tr.train_tbptt(predictor, train, device="cuda")
    assert tr.skill_over_persistence(tr.predict_next(predictor, test), test) >= 0.6
