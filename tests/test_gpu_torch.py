"""On a CUDA machine, reference.torch_networks runs on the GPU, unchanged, and agrees with the CPU.

Imports only torch, numpy, reference and autograder.student.data, and uses no conftest fixture: the
GPU machine has neither nbformat nor pydantic (run with ``pytest --noconftest``).
"""

import numpy as np
import pytest
import torch

from autograder.student import data
from reference import torch_networks as tn

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64
DEVICES = ["cpu", "cuda"]


class DeviceBoundLeakyReLU(tn.LeakyReLUFunction):
    """The reference function as the variant `slopes_on_default_device` writes it: the slopes
    are created with torch.full(x.shape, ...), on the default device, not on x's."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        slope = torch.full(x.shape, negative_slope, dtype=x.dtype)
        slope[x > 0] = 1.0
        ctx.save_for_backward(slope)
        return x * slope


def digits64():
    X, y, _, _, X_test, y_test = data.digits(seed=0)
    return X[:400], y[:400], X_test, y_test


def twins(*args, **kwargs):
    """The same TwoLayerMLP (same weights) on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = tn.TwoLayerMLP(*args, **kwargs)
    gpu = tn.TwoLayerMLP(*args, **kwargs).to("cuda")
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


def test_leaky_relu_forward_and_backward_agree_on_gpu_and_cpu():
    x = torch.randn(50, 30, dtype=F64, generator=torch.Generator().manual_seed(0))
    grad_output = torch.randn(50, 30, dtype=F64, generator=torch.Generator().manual_seed(1))
    results = {}
    for device in DEVICES:
        inputs = x.to(device, copy=True).requires_grad_()
        out = tn.leaky_relu(inputs, 0.2)
        out.backward(grad_output.to(device))
        assert out.device.type == device and inputs.grad.device.type == device
        results[device] = (out.detach().cpu(), inputs.grad.cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=0, atol=0)


def test_leaky_relu_passes_gradcheck_on_gpu():
    torch.manual_seed(0)
    x = torch.randn(8, 5, dtype=F64, device="cuda")
    x = (x + 0.1 * x.sign()).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: tn.LeakyReLUFunction.apply(v, 0.3), (x,))


def test_mlp_logits_and_input_gradients_agree_on_gpu_and_cpu():
    models = twins(64, 32, 10, negative_slope=0.1, dtype=F64)
    X = torch.from_numpy(digits64()[2][:100])
    results = {}
    for device, model in models.items():
        inputs = X.to(device, copy=True).requires_grad_()
        logits = model.eval()(inputs)
        logits.logsumexp(dim=1).sum().backward()
        results[device] = (logits.detach().cpu(), inputs.grad.cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shuffle", [False, True])
def test_training_agrees_on_gpu_and_cpu(shuffle):
    X, y, X_test, _ = digits64()
    models = twins(64, 32, 10, dtype=F64)
    results = {}
    for device, model in models.items():
        loader = tn.make_loader(X, y, batch_size=50, shuffle=shuffle, seed=2, dtype=F64)
        history = tn.train(model, loader, epochs=3, lr=0.1, momentum=0.9)
        assert model.fc1.weight.device.type == device
        results[device] = (history, {k: v.cpu() for k, v in model.state_dict().items()},
                           tn.predict(model, X_test))
    cpu_history, cpu_state, cpu_labels = results["cpu"]
    gpu_history, gpu_state, gpu_labels = results["cuda"]
    np.testing.assert_allclose(gpu_history, cpu_history, rtol=1e-9)
    torch.testing.assert_close(gpu_state, cpu_state, rtol=1e-9, atol=1e-12)
    assert gpu_labels.device.type == "cpu" and torch.equal(gpu_labels, cpu_labels)


def test_train_moves_a_cpu_model_to_the_gpu_and_reaches_the_threshold():
    X, y, _, _, X_test, y_test = data.digits(seed=0)
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(64, 100, 10, dropout=0.2)
    history = tn.train(model, tn.make_loader(X, y), device="cuda")
    assert model.fc2.bias.device.type == "cuda" and history[-1] < history[0]
    assert (tn.predict(model, X_test).numpy() == y_test).mean() >= 0.93  # course.yml's digits_accuracy


def test_checkpoint_saved_on_gpu_loads_anywhere(tmp_path):
    X, y, X_test, _ = digits64()
    model = twins(64, 16, 10, dtype=F64)["cuda"]
    tn.train(model, tn.make_loader(X, y, dtype=F64), epochs=2)
    path = tmp_path / "checkpoint.pt"
    tn.save_checkpoint(model, path)
    expected = tn.predict(model, X_test)
    for device in [None, "cpu", "cuda"]:
        restored = tn.load_checkpoint(path, device=device)
        assert restored.fc1.weight.device.type == (device or "cpu") and not restored.training
        assert torch.equal(tn.predict(restored, X_test), expected)


def test_device_bound_activation_fails_on_gpu_with_a_clear_error():
    x = torch.randn(4, 6, device="cuda")
    assert torch.equal(DeviceBoundLeakyReLU.apply(x.cpu(), 0.1), tn.leaky_relu(x.cpu(), 0.1))  # CPU: fine
    with pytest.raises(RuntimeError, match="device|cuda|cpu"):
        DeviceBoundLeakyReLU.apply(x, 0.1)
    torch.testing.assert_close(tn.leaky_relu(x, 0.1).cpu(), tn.leaky_relu(x.cpu(), 0.1))


def test_device_bound_model_fails_to_train_on_gpu():
    """Device-agnostic training works on CUDA; the same network with the device-bound
    activation fails in its first forward pass."""
    X, y, _, _ = digits64()

    class DeviceBoundMLP(tn.TwoLayerMLP):
        def forward(self, x):
            return self.fc2(self.dropout(DeviceBoundLeakyReLU.apply(self.fc1(x), self.negative_slope)))

    torch.manual_seed(0)
    assert len(tn.train(tn.TwoLayerMLP(64, 16, 10), tn.make_loader(X, y), epochs=1, device="cuda")) == 7
    with pytest.raises(RuntimeError, match="device|cuda|cpu"):
        tn.train(DeviceBoundMLP(64, 16, 10), tn.make_loader(X, y), epochs=1, device="cuda")
