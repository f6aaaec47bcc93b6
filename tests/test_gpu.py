"""On a CUDA machine, the PyTorch references run on the GPU and agree with the CPU."""

import numpy as np
import pytest
import torch

from autograder.student import data
from reference import torch_linear

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_linear_model_trains_identically_on_gpu_and_cpu(loss):
    X, y, _, _, X_test, _ = data.breast_cancer()
    outputs = []
    for device in ["cpu", "cuda"]:
        model = torch_linear.LinearModel(X.shape[1]).to(device)
        history = torch_linear.train_gd(model, X, y, loss=loss, lr=0.1, epochs=50)
        with torch.no_grad():
            outputs.append((history, model(torch.as_tensor(X_test, device=device)).cpu().numpy()))
    (cpu_history, cpu_out), (gpu_history, gpu_out) = outputs
    assert np.allclose(cpu_history, gpu_history, rtol=1e-9)
    assert np.allclose(cpu_out, gpu_out, rtol=1e-9, atol=1e-12)


# The grading worker on a GPU: no address-space limit (CUDA reserves huge ranges), a memory
# cgroup instead where one can be made, and the GPU's device nodes inside the sandbox.
from autograder.sandbox import cgroup, launch  # noqa: E402
from autograder.course import Limits  # noqa: E402
from autograder.grading.program import Cell, Program  # noqa: E402
from autograder.sandbox.client import StudentError  # noqa: E402

from conftest import loaded  # noqa: E402

CUDA_CODE = '''
import torch

def train(device):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).to(device)
    x, y = torch.randn(64, 3, device=device), torch.randn(64, 1, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    return str(next(model.parameters()).device), loss.item()

def device_bound(device):
    x = torch.ones(3, device=device)
    return x + torch.zeros(3, device="cpu").expand(2, 3)[0] @ torch.ones(3, 3)

def hog_host_memory(gigabytes):
    block = b"x" * (gigabytes << 30)
    return len(block)
'''
TIERS = [t for t in ("namespaces", "syscalls", "limits") if launch.detect_isolation(t).tier == t]


def gpu_worker(tier):
    """The student proxy of CUDA_CODE in a worker of ``tier`` that may use the GPU."""
    program = Program([Cell("cuda", CUDA_CODE, ["train", "device_bound", "hog_host_memory"])])
    return loaded(program, Limits(time_per_test=120, memory_mb=6 << 10),
                  launch.detect_isolation(tier), device="cuda")


@pytest.mark.parametrize("tier", TIERS)
def test_sandboxed_worker_trains_on_the_gpu(tier):
    with gpu_worker(tier) as student:
        where, loss = student.train("cuda")
        assert where.startswith("cuda") and loss < 2
        assert student.train(torch.device("cpu"))[0] == "cpu"


@pytest.mark.parametrize("tier", TIERS)
def test_device_bound_code_fails_with_a_clear_reason(tier):
    with gpu_worker(tier) as student:
        with pytest.raises(StudentError, match="same device"):
            student.device_bound("cuda")


@pytest.mark.skipif(not cgroup.available(), reason="no writable memory cgroup on this machine")
def test_gpu_worker_memory_is_limited_by_a_cgroup():
    with gpu_worker(TIERS[0]) as student:
        with pytest.raises(StudentError, match="SIGKILL|MemoryError"):
            student.hog_host_memory(12)
