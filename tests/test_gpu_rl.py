"""On a CUDA machine, reference.policy_gradient runs on the GPU, unchanged, and agrees with the CPU.

Imports only torch, numpy and reference, and uses no conftest fixture (run with ``pytest
--noconftest``): the GPU machine has no gymnasium, so training runs on a small stand-in
environment here, and on CartPole only where gymnasium is installed.
"""

import numpy as np
import pytest
import torch

from reference import policy_gradient as pg

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64
DEVICES = ["cpu", "cuda"]


class Corridor:
    """A stand-in for a gymnasium environment: a point on a line starting near 0; action 1
    moves it right, 0 left, each by 0.2 plus noise; every step pays 1 until |x| > 1
    (terminated) or 50 steps (truncated). Observations are (x, x^2, step / 50, 1), float32."""

    def reset(self, seed=None):
        if seed is not None or not hasattr(self, "rng"):
            self.rng = np.random.default_rng(seed)
        self.x, self.steps = self.rng.uniform(-0.05, 0.05), 0
        return self._observation(), {}

    def step(self, action):
        self.x += (0.2 if action == 1 else -0.2) + 0.05 * self.rng.standard_normal()
        self.steps += 1
        return self._observation(), 1.0, abs(self.x) > 1, self.steps >= 50, {}

    def _observation(self):
        return np.array([self.x, self.x ** 2, self.steps / 50, 1.0], dtype=np.float32)


def twins(*sizes, dtype=None):
    """The same MLP (same weights) on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = pg.MLP(*sizes, dtype=dtype)
    gpu = pg.MLP(*sizes, dtype=dtype).to("cuda")
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


def test_log_probs_losses_and_gradients_agree_on_gpu_and_cpu():
    generator = torch.Generator().manual_seed(0)
    observations = torch.randn(40, 4, dtype=F64, generator=generator)
    actions = torch.randint(0, 2, (40,), generator=generator)
    returns = torch.randn(40, dtype=F64, generator=generator)
    policies, baselines = twins(4, 16, 2, dtype=F64), twins(4, 16, 1, dtype=F64)
    results = {}
    for device in DEVICES:
        policy, baseline = policies[device], baselines[device]
        log_probs = pg.action_log_probs(policy, observations.to(device), actions.to(device))
        losses = pg.reinforce_losses(log_probs, baseline(observations.to(device))[:, 0], returns.to(device))
        sum(losses).backward()
        assert log_probs.device.type == device
        grads = [p.grad.cpu() for p in (*policy.parameters(), *baseline.parameters())]
        results[device] = (log_probs.detach().cpu(), *(loss.detach().cpu() for loss in losses), *grads)
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-10, atol=1e-12)


def test_an_episode_on_the_gpu_matches_its_log_probs():
    policy = twins(4, 8, 2)["cuda"]
    torch.manual_seed(0)
    observations, actions, rewards = pg.run_episode(Corridor(), policy, seed=1)
    assert observations.dtype == np.float32 and len(actions) == len(rewards) > 0
    log_probs = pg.action_log_probs(policy, torch.as_tensor(observations, device="cuda"),
                                    torch.as_tensor(actions, device="cuda"))
    assert log_probs.device.type == "cuda" and torch.all(log_probs < 0)


def test_train_reinforce_runs_on_the_gpu_and_learns():
    models = {"policy": twins(4, 16, 2)["cpu"], "baseline": twins(4, 16, 1)["cpu"]}
    history = pg.train_reinforce(Corridor(), models["policy"], models["baseline"], 6000, lr=0.02,
                                 device="cuda")
    assert all(p.device.type == "cuda" for m in models.values() for p in m.parameters())
    assert np.mean(history[-20:]) > np.mean(history[:20])


def test_train_reinforce_balances_cartpole_on_the_gpu():
    gym = pytest.importorskip("gymnasium")
    torch.manual_seed(0)
    policy, baseline = pg.MLP(4, 32, 2), pg.MLP(4, 32, 1)
    history = pg.train_reinforce(gym.make("CartPole-v1"), policy, baseline, 20_000, device="cuda")
    assert np.mean(history[-10:]) > 3 * np.mean(history[:10])
