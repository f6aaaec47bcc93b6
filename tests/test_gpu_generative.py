"""On a CUDA machine, reference.vae, reference.gan and reference.diffusion run on the GPU,
unchanged, agree with the CPU, and reach assignment 12's thresholds when the grader trains
them with device="cuda".

Imports only torch, numpy, reference, autograder.student (and yaml for the thresholds), and
uses no conftest fixture (run with ``pytest --noconftest`` where the grading extras are missing).
"""

import importlib.util
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from reference import diffusion, gan, vae

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64
DEVICES = ["cpu", "cuda"]
ASSIGNMENT = Path(__file__).resolve().parents[1] / "assignments" / "12_generative"
REFERENCE = SimpleNamespace(**{**vars(vae), **vars(gan), **vars(diffusion)})  # in the student's place


def on_both(model_class, *args, **kwargs):
    """The same model (same weights) on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = model_class(*args, dtype=F64, **kwargs)
    gpu = model_class(*args, dtype=F64, device="cuda", **kwargs)
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(seed))


def test_vae_loss_and_its_gradients_agree_on_gpu_and_cpu():
    models = on_both(vae.VAE, 30, 12, 2)
    x = torch.rand(16, 30, dtype=F64, generator=torch.Generator().manual_seed(0))
    results = {}
    for device, model in models.items():
        inputs = x.to(device)
        mean, logvar = model.encode(inputs)
        loss = vae.negative_elbo(inputs, model.decode(mean), mean, logvar)  # the mean code: no noise
        loss.backward()
        assert loss.device.type == device
        results[device] = (loss.detach().cpu(), [p.grad.cpu() for p in model.parameters()])
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-12)


def test_reparameterize_draws_on_the_device_and_passes_gradients():
    mean = randn(5, 2).cuda().requires_grad_()
    logvar = randn(5, 2, seed=1).cuda().requires_grad_()
    z = vae.reparameterize(mean, logvar)
    z.sum().backward()
    eps = (z - mean) / torch.exp(logvar / 2)
    assert z.device.type == "cuda"
    torch.testing.assert_close(mean.grad, torch.ones_like(mean))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(logvar / 2) * eps)


def test_gan_losses_and_mlp_agree_on_gpu_and_cpu():
    models = on_both(gan.MLP, 2, 16, 1)
    real, fake = randn(20, 2), randn(20, 2, seed=1)
    results = {}
    for device, model in models.items():
        losses = [gan.discriminator_loss(model(real.to(device)), model(fake.to(device))),
                  gan.generator_loss(model(fake.to(device))), gan.generator_loss(model(fake.to(device)), False)]
        results[device] = [loss.detach().cpu() for loss in losses]
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-12)


def test_gan_steps_on_gpu_change_exactly_their_own_network():
    generator, discriminator = gan.MLP(2, 8, 2, device="cuda"), gan.MLP(2, 8, 1, device="cuda")
    g_before = [p.detach().clone() for p in generator.parameters()]
    gan.discriminator_step(generator, discriminator, torch.optim.SGD(discriminator.parameters(), lr=0.1),
                           torch.randn(16, 2, device="cuda"))
    assert all(torch.equal(p, q) for p, q in zip(generator.parameters(), g_before))
    assert all(p.grad is None for p in generator.parameters())
    d_before = [p.detach().clone() for p in discriminator.parameters()]
    gan.generator_step(generator, discriminator, torch.optim.SGD(generator.parameters(), lr=0.1), 16)
    assert all(torch.equal(p, q) for p, q in zip(discriminator.parameters(), d_before))
    assert not any(torch.equal(p, q) for p, q in zip(generator.parameters(), g_before))


def test_diffusion_loss_pieces_and_sampling_agree_on_gpu_and_cpu():
    """q_sample, the network, reverse_step and sample (whose noise is drawn on the CPU with the
    generator given) give the same numbers on both devices."""
    betas = diffusion.linear_beta_schedule(20, 1e-3, 0.3)
    models = on_both(diffusion.NoisePredictor, 20, hidden_features=16)
    x0, noise = randn(12, 2), randn(12, 2, seed=1)
    t = torch.randint(0, 20, (12,), generator=torch.Generator().manual_seed(2))
    results = {}
    for device, model in models.items():
        betas_t, alpha_bar = diffusion.schedule_tensors(betas, next(model.parameters()))
        x_t = diffusion.q_sample(x0.to(device), t.to(device), alpha_bar, noise.to(device))
        step = diffusion.reverse_step(model, x_t, 7, betas_t, alpha_bar, noise.to(device))
        samples = diffusion.sample(model, 12, betas, torch.Generator().manual_seed(3))
        assert samples.device.type == device
        results[device] = [v.detach().cpu() for v in (x_t, model(x_t, t.to(device)), step, samples)]
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-10)


def hidden_tests():
    spec = importlib.util.spec_from_file_location("hidden_12_generative", ASSIGNMENT / "test_hidden.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # the rubric's markers (points, time_limit), unknown outside a grading run
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


def test_thresholds_are_reached_when_the_grader_trains_on_the_gpu():
    yaml = pytest.importorskip("yaml")
    course = yaml.safe_load((ASSIGNMENT.parents[1] / "course.yml").read_text())
    [entry] = [a for a in course["assignments"] if a["id"] == "12_generative"]
    thresholds = entry["thresholds"]
    hidden = hidden_tests()
    torch.manual_seed(0)
    (explained, kl), (covered, near), (reduction, _) = [
        scores(REFERENCE, np.random.default_rng(0), "cuda")
        for scores in (hidden.vae_scores, hidden.gan_scores, hidden.diffusion_scores)]
    reached = {"vae_explained_variance": explained, "vae_kl": kl, "gan_modes_covered": covered,
               "gan_share_near_modes": near, "diffusion_mmd_reduction": reduction}
    assert all(reached[key] >= thresholds[key] for key in reached), reached
