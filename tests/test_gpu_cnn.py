"""On a CUDA machine, reference.torch_cnn runs on the GPU, unchanged, and agrees with the CPU.

Imports only torch, numpy, reference and autograder.student.data, and uses no conftest fixture: the
GPU machine has neither nbformat nor pydantic (run with ``pytest --noconftest``).
"""

import numpy as np
import pytest
import torch

from autograder.student import data
from reference import torch_cnn as tc
from reference import torch_networks as tn

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64
MODULES = {
    "inception": (lambda **kw: tc.InceptionBlock(6, 4, 3, 5, 2, 3, 2, **kw), (2, 6, 7, 7)),
    "residual_identity": (lambda **kw: tc.ResidualBlock(4, 4, **kw), (2, 4, 6, 6)),
    "residual_projection": (lambda **kw: tc.ResidualBlock(4, 6, stride=2, **kw), (2, 4, 6, 6)),
    "small_vgg": (lambda **kw: tc.SmallVGG(**kw), (3, 1, 8, 8)),
    "deep_plain": (lambda **kw: tc.DeepConvNet(3, 4, residual=False, **kw), (3, 1, 8, 8)),
}


def twins(make):
    """The same module (same weights) on the CPU and on the GPU, in float64."""
    torch.manual_seed(0)
    cpu = make(dtype=F64)
    gpu = make(dtype=F64, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


@pytest.mark.parametrize("name", MODULES)
def test_module_forward_and_backward_agree_on_gpu_and_cpu(name):
    make, shape = MODULES[name]
    x = torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(1))
    results = {}
    for device, module in twins(make).items():
        assert all(p.device.type == device for p in module.parameters())
        inputs = x.to(device, copy=True).requires_grad_()
        out = module(inputs)
        out.square().sum().backward()
        assert out.device.type == device
        results[device] = (out.detach().cpu(), inputs.grad.cpu(),
                           [p.grad.cpu() for p in module.parameters()])
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-9)


def test_gradient_norms_agree_on_gpu_and_cpu():
    X, y, *_ = data.digits(images=True)
    norms = {device: tc.gradient_norms(model, X[:64], y[:64])
             for device, model in twins(lambda **kw: tc.DeepConvNet(4, 8, **kw)).items()}
    assert list(norms["cuda"]) == list(norms["cpu"])
    np.testing.assert_allclose(list(norms["cuda"].values()), list(norms["cpu"].values()), rtol=1e-8)


def test_fit_trains_on_gpu_as_on_cpu():
    """fit moves the model to the GPU and follows the same batches: float64 losses agree."""
    X, y, *_ = data.digits(images=True)
    losses = {}
    for device, model in twins(lambda **kw: tc.SmallVGG(**kw)).items():
        losses[device] = tc.fit(model.cpu(), X[:300], y[:300], epochs=2, lr=0.05, device=device)
        assert next(model.parameters()).device.type == device
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-7)


def test_small_vgg_reaches_the_threshold_accuracy_on_gpu():
    X, y, _, _, X_test, y_test = data.digits(images=True)
    torch.manual_seed(0)
    model = tc.SmallVGG()
    tc.fit(model, X, y, epochs=30, lr=0.05, device="cuda")
    assert (tn.predict(model, X_test).numpy() == y_test).mean() > 0.9
