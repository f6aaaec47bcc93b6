"""reference.vae, reference.gan, reference.diffusion and reference.sample_quality: each formula
against torch's own distributions and losses or a direct computation, each training step
against a step written out by hand."""

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.nn import functional as F

from autograder.student import data, generated
from reference import diffusion, gan, sample_quality, vae

F64 = torch.float64


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def randn(generator, *shape):
    return torch.randn(*shape, dtype=F64, generator=generator)


# ---------------------------------------------------------------- VAE

def test_vae_layers_and_formula(generator):
    torch.manual_seed(0)
    model = vae.VAE(6, 5, 3, dtype=F64)
    assert [(n, tuple(p.shape)) for n, p in model.named_parameters()][::2] == [
        ("encoder_hidden.weight", (5, 6)), ("encoder_mean.weight", (3, 5)), ("encoder_logvar.weight", (3, 5)),
        ("decoder_hidden.weight", (5, 3)), ("decoder_output.weight", (6, 5))]
    x, z = randn(generator, 4, 6), randn(generator, 4, 3)
    hidden = F.relu(F.linear(x, model.encoder_hidden.weight, model.encoder_hidden.bias))
    mean, logvar = model.encode(x)
    torch.testing.assert_close(mean, F.linear(hidden, model.encoder_mean.weight, model.encoder_mean.bias))
    torch.testing.assert_close(logvar, F.linear(hidden, model.encoder_logvar.weight, model.encoder_logvar.bias))
    hidden = F.relu(model.decoder_hidden(z))
    torch.testing.assert_close(model.decode(z), model.decoder_output(hidden))
    torch.manual_seed(1)
    logits, mean_again, _ = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(logits, model.decode(vae.reparameterize(mean, logvar)))
    torch.testing.assert_close(mean_again, mean)


def test_reparameterize_draws_randn_like_and_scales_it(generator):
    mean, logvar = randn(generator, 5, 3), randn(generator, 5, 3)
    torch.manual_seed(3)
    z = vae.reparameterize(mean, logvar)
    torch.manual_seed(3)
    torch.testing.assert_close(z, mean + torch.exp(logvar / 2) * torch.randn_like(mean))


def test_reparameterize_lets_gradients_reach_mean_and_logvar(generator):
    mean = randn(generator, 4, 2).requires_grad_()
    logvar = randn(generator, 4, 2).requires_grad_()
    weights = randn(generator, 4, 2)
    z = vae.reparameterize(mean, logvar)
    (z * weights).sum().backward()
    eps = (z - mean) / torch.exp(logvar / 2)
    torch.testing.assert_close(mean.grad, weights)
    torch.testing.assert_close(logvar.grad, weights * 0.5 * torch.exp(logvar / 2) * eps)


def test_reparameterized_samples_have_the_posterior_moments():
    torch.manual_seed(0)
    mean, logvar = torch.tensor([[1.0, -2.0]], dtype=F64), torch.tensor([[0.5, -1.0]], dtype=F64)
    z = vae.reparameterize(mean.expand(200_000, 2), logvar.expand(200_000, 2))
    torch.testing.assert_close(z.mean(0), mean[0], atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), logvar[0].exp(), atol=0.02, rtol=0.01)


def test_kl_matches_torch_distributions(generator):
    mean, logvar = randn(generator, 6, 4), 2 * randn(generator, 6, 4)
    expected = kl_divergence(Normal(mean, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(vae.kl_to_standard_normal(mean, logvar), expected)
    assert torch.all(vae.kl_to_standard_normal(torch.zeros(3, 2), torch.zeros(3, 2)) == 0)


def test_kl_passes_gradcheck(generator):
    inputs = (randn(generator, 3, 2).requires_grad_(), randn(generator, 3, 2).requires_grad_())
    assert torch.autograd.gradcheck(vae.kl_to_standard_normal, inputs)


def test_negative_elbo_is_bernoulli_likelihood_plus_kl(generator):
    x = (torch.rand(5, 7, dtype=F64, generator=generator) > 0.5).to(F64)
    logits, mean, logvar = randn(generator, 5, 7), randn(generator, 5, 2), randn(generator, 5, 2)
    log_likelihood = Bernoulli(logits=logits).log_prob(x).sum(-1)
    kl = kl_divergence(Normal(mean, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(vae.negative_elbo(x, logits, mean, logvar), (kl - log_likelihood).mean())
    grey = torch.rand(5, 7, dtype=F64, generator=generator)
    expected = F.binary_cross_entropy_with_logits(logits, grey, reduction="sum") / 5 + kl.mean()
    torch.testing.assert_close(vae.negative_elbo(grey, logits, mean, logvar), expected)


def test_train_vae_learns_digits_without_posterior_collapse():
    split = data.digits(images=True)
    X_train, X_val = split.X_train.reshape(-1, 64), split.X_val.reshape(-1, 64)
    torch.manual_seed(0)
    model = vae.VAE()
    history = vae.train_vae(model, X_train, steps=600)
    assert len(history) == 600 and np.mean(history[-50:]) < np.mean(history[:50]) - 5
    with torch.no_grad():
        mean, logvar = model.encode(torch.tensor(X_val, dtype=torch.float32))
        error = ((torch.sigmoid(model.decode(mean)) - torch.tensor(X_val)) ** 2).mean()
        kl = vae.kl_to_standard_normal(mean, logvar).mean()
    assert error < 0.8 * X_val.var(axis=0).mean() and kl > 1.0


# ---------------------------------------------------------------- GAN

def test_mlp_layers_and_formula(generator):
    torch.manual_seed(0)
    model = gan.MLP(3, 8, 2, dtype=F64)
    assert list(model.state_dict()) == ["hidden1.weight", "hidden1.bias", "hidden2.weight", "hidden2.bias",
                                        "output.weight", "output.bias"]
    x = randn(generator, 5, 3)
    hidden = F.leaky_relu(model.hidden2(F.leaky_relu(model.hidden1(x), 0.2)), 0.2)
    torch.testing.assert_close(model(x), model.output(hidden))


def test_gan_losses_are_binary_cross_entropies(generator):
    real, fake = randn(generator, 6, 1), randn(generator, 4, 1)
    bce = F.binary_cross_entropy_with_logits
    torch.testing.assert_close(gan.discriminator_loss(real, fake),
                               bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    torch.testing.assert_close(gan.generator_loss(fake), bce(fake, torch.ones_like(fake)))
    torch.testing.assert_close(gan.generator_loss(fake, non_saturating=False),
                               torch.log(1 - torch.sigmoid(fake)).mean())


def test_gan_losses_are_finite_for_confident_discriminators():
    logits = torch.tensor([[-1000.0], [1000.0]], dtype=F64)
    for loss in (gan.discriminator_loss(logits, logits), gan.generator_loss(logits),
                 gan.generator_loss(logits, non_saturating=False)):
        assert torch.isfinite(loss)


def test_minimax_loss_saturates_where_the_non_saturating_one_does_not():
    """When D rejects the fakes confidently (logit -8), log(1 - D) gives the generator almost
    no gradient; -log D still does: the reason for the non-saturating loss."""
    gradients = {}
    for form in (True, False):
        logits = torch.full((1, 1), -8.0, dtype=F64, requires_grad=True)
        gan.generator_loss(logits, non_saturating=form).backward()
        gradients[form] = abs(logits.grad.item())
    assert gradients[False] < 1e-3 < 0.99 < gradients[True]


def twins(*sizes):
    """Two MLPs with the same weights."""
    model, copy = gan.MLP(*sizes, dtype=F64), gan.MLP(*sizes, dtype=F64)
    copy.load_state_dict(model.state_dict())
    return model, copy


def sgd_step(model, loss, lr):
    grads = torch.autograd.grad(loss, list(model.parameters()))
    with torch.no_grad():
        for p, g in zip(model.parameters(), grads):
            p -= lr * g


def test_discriminator_step_updates_the_discriminator_only(generator):
    G = gan.MLP(2, 8, 2, dtype=F64)
    D, D_copy = twins(2, 8, 1)
    G_before = {k: v.clone() for k, v in G.state_dict().items()}
    real = randn(generator, 16, 2)
    torch.manual_seed(5)
    loss = gan.discriminator_step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), real)
    torch.manual_seed(5)
    fake = G(torch.randn(16, 2, dtype=F64)).detach()
    expected = gan.discriminator_loss(D_copy(real), D_copy(fake))
    sgd_step(D_copy, expected, 0.1)
    assert loss == pytest.approx(expected.item())
    for p, q in zip(D.parameters(), D_copy.parameters()):
        torch.testing.assert_close(p, q)
    assert all(torch.equal(v, G_before[k]) for k, v in G.state_dict().items())
    assert all(p.grad is None for p in G.parameters())


@pytest.mark.parametrize("non_saturating", [True, False])
def test_generator_step_updates_the_generator_only(non_saturating):
    G, G_copy = twins(3, 8, 2)
    D = gan.MLP(2, 8, 1, dtype=F64)
    D_before = {k: v.clone() for k, v in D.state_dict().items()}
    torch.manual_seed(5)
    loss = gan.generator_step(G, D, torch.optim.SGD(G.parameters(), lr=0.1), 16, non_saturating)
    torch.manual_seed(5)
    expected = gan.generator_loss(D(G_copy(torch.randn(16, 3, dtype=F64))), non_saturating)
    sgd_step(G_copy, expected, 0.1)
    assert loss == pytest.approx(expected.item())
    for p, q in zip(G.parameters(), G_copy.parameters()):
        torch.testing.assert_close(p, q)
    assert all(torch.equal(v, D_before[k]) for k, v in D.state_dict().items())


def test_train_gan_covers_the_modes_of_a_ring():
    X, _ = generated.ring_of_gaussians(1000, std=0.1, seed=3)
    torch.manual_seed(0)
    G, D = gan.MLP(2, 64, 2), gan.MLP(2, 64, 1)
    history = gan.train_gan(G, D, X, steps=800)
    assert np.shape(history) == (800, 2)
    with torch.no_grad():
        samples = G(torch.randn(2000, 2)).numpy()
    covered, near = sample_quality.mode_coverage(samples, generated.ring_means(seed=3), 0.1)
    assert covered >= 7 and near > 0.4


# ---------------------------------------------------------------- diffusion

def test_linear_schedule_and_alpha_bars():
    betas = diffusion.linear_beta_schedule(5, 0.1, 0.5)
    np.testing.assert_allclose(betas, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert diffusion.linear_beta_schedule(1000).shape == (1000,)
    np.testing.assert_allclose(diffusion.alpha_bars(betas), [0.9, 0.72, 0.504, 0.3024, 0.1512])


def test_q_sample_equals_the_forward_process_run_step_by_step():
    """Noising x0 one step at a time, x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) e_t, gives
    the mean sqrt(alpha_bar_t) x0 and variance 1 - alpha_bar_t that q_sample uses."""
    betas = diffusion.linear_beta_schedule(20, 0.01, 0.3)
    alpha_bar = torch.from_numpy(diffusion.alpha_bars(betas))
    x0 = torch.full((100_000, 2), 1.5, dtype=F64)
    torch.manual_seed(0)
    x = x0
    for beta in betas:
        x = np.sqrt(1 - beta) * x + np.sqrt(beta) * torch.randn_like(x)
    closed = diffusion.q_sample(x0, torch.full((100_000,), 19), alpha_bar, torch.randn_like(x0))
    for samples in (x, closed):
        torch.testing.assert_close(samples.mean(0), 1.5 * alpha_bar[19].sqrt().expand(2), atol=0.01, rtol=0)
        torch.testing.assert_close(samples.var(0), (1 - alpha_bar[19]).expand(2), atol=0.01, rtol=0)


def test_q_sample_formula(generator):
    alpha_bar = torch.tensor([0.9, 0.5, 0.1], dtype=F64)
    x0, noise, t = randn(generator, 4, 2), randn(generator, 4, 2), torch.tensor([0, 2, 1, 2])
    expected = alpha_bar[t, None].sqrt() * x0 + (1 - alpha_bar[t, None]).sqrt() * noise
    torch.testing.assert_close(diffusion.q_sample(x0, t, alpha_bar, noise), expected)


def test_noise_predictor_appends_the_scaled_step(generator):
    torch.manual_seed(0)
    model = diffusion.NoisePredictor(50, data_features=3, hidden_features=8, dtype=F64)
    x, t = randn(generator, 4, 3), torch.tensor([0, 10, 25, 49])
    torch.testing.assert_close(model(x, t), model.net(torch.cat([x, t[:, None] / 50.0], dim=1)))
    assert list(model.state_dict())[:2] == ["net.hidden1.weight", "net.hidden1.bias"]


def test_diffusion_loss_draws_steps_then_noise(generator):
    torch.manual_seed(0)
    model = diffusion.NoisePredictor(10, hidden_features=8, dtype=F64)
    alpha_bar = torch.from_numpy(diffusion.alpha_bars(diffusion.linear_beta_schedule(10, 0.01, 0.2)))
    x0 = randn(generator, 6, 2)
    torch.manual_seed(4)
    loss = diffusion.diffusion_loss(model, x0, alpha_bar)
    torch.manual_seed(4)
    t = torch.randint(0, 10, (6,))
    noise = torch.randn_like(x0)
    expected = ((model(diffusion.q_sample(x0, t, alpha_bar, noise), t) - noise) ** 2).mean()
    torch.testing.assert_close(loss, expected)


class PointMassOracle(torch.nn.Module):
    """The exact noise predictor for data that are all the point c: eps = (x_t - sqrt(ab_t) c) / sqrt(1 - ab_t)."""

    def __init__(self, c, alpha_bar):
        super().__init__()
        self.c, self.alpha_bar = c, alpha_bar
        self.data_features = len(c)
        self.unused = torch.nn.Parameter(torch.zeros(1, dtype=F64))

    def forward(self, x, t):
        a = self.alpha_bar[t, None]
        return (x - a.sqrt() * self.c) / (1 - a).sqrt()


def test_sampling_with_the_exact_noise_predictor_recovers_the_data():
    betas = diffusion.linear_beta_schedule(30, 1e-3, 0.3)
    c = torch.tensor([0.7, -1.2], dtype=F64)
    oracle = PointMassOracle(c, torch.from_numpy(diffusion.alpha_bars(betas)))
    samples = diffusion.sample(oracle, 50, betas, torch.Generator().manual_seed(0))
    torch.testing.assert_close(samples, c.expand(50, 2), rtol=0, atol=1e-10)


def test_reverse_step_formula_and_no_noise_at_step_zero(generator):
    schedule = diffusion.linear_beta_schedule(8, 0.01, 0.2)
    betas, alpha_bar = diffusion.schedule_tensors(schedule, torch.zeros(1, dtype=F64))
    torch.manual_seed(0)
    model = diffusion.NoisePredictor(8, hidden_features=8, dtype=F64)
    x, noise = randn(generator, 5, 2), randn(generator, 5, 2)
    for t in (0, 3, 7):
        eps = model(x, torch.full((5,), t))
        mean = (x - betas[t] / (1 - alpha_bar[t]).sqrt() * eps) / (1 - betas[t]).sqrt()
        expected = mean + (betas[t].sqrt() * noise if t > 0 else 0)
        torch.testing.assert_close(diffusion.reverse_step(model, x, t, betas, alpha_bar, noise), expected)


def test_schedule_tensors_follow_the_given_tensor():
    betas, alpha_bar = diffusion.schedule_tensors(np.array([0.1, 0.2]), torch.zeros(3, dtype=torch.float32))
    assert betas.dtype == alpha_bar.dtype == torch.float32
    torch.testing.assert_close(alpha_bar, torch.tensor([0.9, 0.72]))


def test_train_diffusion_lowers_the_loss_and_samples_near_the_ring():
    X, _ = generated.ring_of_gaussians(2000, std=0.1, seed=4)
    betas = diffusion.linear_beta_schedule(100, 1e-4, 0.1)
    torch.manual_seed(0)
    model = diffusion.NoisePredictor(100)
    history = diffusion.train_diffusion(model, X[:1000], betas, steps=1000)
    assert len(history) == 1000 and np.mean(history[-100:]) < 0.7 * np.mean(history[:100])
    samples = diffusion.sample(model, 1000, betas, torch.Generator().manual_seed(0)).numpy()
    assert sample_quality.squared_mmd(samples.astype(np.float64), X[1000:], 0.2) < 0.04


# ---------------------------------------------------------------- sample quality

def test_squared_mmd_matches_a_double_loop():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2)) + 1

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * 0.7 ** 2))

    expected = (np.mean([k(a, b) for a in X for b in X]) + np.mean([k(a, b) for a in Y for b in Y])
                - 2 * np.mean([k(a, b) for a in X for b in Y]))
    assert sample_quality.squared_mmd(X, Y, 0.7) == pytest.approx(expected)
    assert sample_quality.squared_mmd(X, X, 0.7) == pytest.approx(0.0, abs=1e-12)


def test_squared_mmd_separates_the_ring_from_a_turned_ring():
    X, _ = generated.ring_of_gaussians(2000, std=0.1, seed=0)
    turned = X[1000:] @ np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
    fresh, other = sample_quality.squared_mmd(X[:1000], X[1000:], 0.2), sample_quality.squared_mmd(X[:1000], turned, 0.2)
    assert fresh < 0.01 < other


def test_mode_coverage_counts_modes_and_near_samples():
    means = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    samples = np.array([[0.1, 0.0], [0.0, -0.2], [5.2, 0.1], [2.5, 2.5], [0.0, 5.31]])
    assert sample_quality.mode_coverage(samples, means, 0.1) == (2, 0.6)
    assert sample_quality.mode_coverage(samples, means, 0.1, min_share=0.3) == (1, 0.6)
    assert sample_quality.mode_coverage(samples, means, 0.2) == (3, 0.8)
