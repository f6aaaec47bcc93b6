"""On a CUDA machine, the PyTorch references run on the GPU and agree with the CPU."""

import numpy as np
import pytest
import torch

from autograder import data
from reference import torch_linear

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_linear_model_trains_identically_on_gpu_and_cpu(loss):
    X, y, X_test, _ = data.breast_cancer()
    outputs = []
    for device in ["cpu", "cuda"]:
        model = torch_linear.LinearModel(X.shape[1]).to(device)
        history = torch_linear.train_gd(model, X, y, loss=loss, lr=0.1, epochs=50)
        with torch.no_grad():
            outputs.append((history, model(torch.as_tensor(X_test, device=device)).cpu().numpy()))
    (cpu_history, cpu_out), (gpu_history, gpu_out) = outputs
    assert np.allclose(cpu_history, gpu_history, rtol=1e-9)
    assert np.allclose(cpu_out, gpu_out, rtol=1e-9, atol=1e-12)
