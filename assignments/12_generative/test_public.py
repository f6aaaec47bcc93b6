"""Public tests for assignment 12: students have this file and can run it with `course check`.

Expected values come from torch's own distributions and losses, and from the weights of the
student's own models put through the formulas of the notebook; the hidden tests compare
against the reference solution on other inputs. The worker seeds torch with 0 before every
call, so a test replays the random draws that the notebook names.
"""

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.nn import functional as F

from autograder.grading.proxy import fetch
from autograder.student import data
from autograder.student.checks import (as_number, assert_close, assert_no_overflow, assert_shape,
                                       checked_state_dict)

F64 = torch.float64
MLP_LAYERS = ("hidden1", "hidden2", "output")


def tensor(rng, *shape):
    return torch.from_numpy(rng.normal(size=shape))


def mlp_shapes(in_features, hidden, out_features, prefix=""):
    sizes = {"hidden1": (hidden, in_features), "hidden2": (hidden, hidden), "output": (out_features, hidden)}
    shapes = {}
    for layer, (rows, cols) in sizes.items():
        shapes[f"{prefix}{layer}.weight"], shapes[f"{prefix}{layer}.bias"] = (rows, cols), (rows,)
    return shapes


def mlp_forward(state, x, prefix=""):
    """The notebook's MLP from its weights: two hidden layers with leaky ReLU (0.2)."""
    for layer in MLP_LAYERS:
        x = F.linear(x, state[f"{prefix}{layer}.weight"], state[f"{prefix}{layer}.bias"])
        x = F.leaky_relu(x, 0.2) if layer != "output" else x
    return x


def replayed_randn(*shape):
    """What torch.randn(*shape) gives as the first draw of a call (the worker seeds 0)."""
    torch.manual_seed(0)
    return torch.randn(*shape, dtype=F64)


# ---------------------------------------------------------------- VAE

VAE_LAYERS = {"encoder_hidden": (16, 64), "encoder_mean": (2, 16), "encoder_logvar": (2, 16),
              "decoder_hidden": (16, 2), "decoder_output": (64, 16)}
VAE_SHAPES = {f"{layer}.{kind}": shape if kind == "weight" else shape[:1]
              for layer, shape in VAE_LAYERS.items() for kind in ("weight", "bias")}


def linear(state, layer, x):
    return F.linear(x, state[f"{layer}.weight"], state[f"{layer}.bias"])


def vae_encode(state, x):
    hidden = F.relu(linear(state, "encoder_hidden", x))
    return linear(state, "encoder_mean", hidden), linear(state, "encoder_logvar", hidden)


def vae_decode(state, z):
    return linear(state, "decoder_output", F.relu(linear(state, "decoder_hidden", z)))


@pytest.mark.points(1)
def test_vae_has_the_named_layers(student):
    checked_state_dict(student.VAE(64, 16, 2), VAE_SHAPES)


@pytest.mark.points(1)
def test_vae_encodes_and_decodes_with_its_layers(student, rng):
    model = student.VAE(64, 16, 2, dtype=F64)
    state = checked_state_dict(model, VAE_SHAPES)
    x, z = torch.from_numpy(rng.uniform(size=(5, 64))), tensor(rng, 5, 2)
    mean, logvar = model.encode(x)
    expected_mean, expected_logvar = vae_encode(state, x)
    assert_close(mean, expected_mean, "the mean of encode(x)")
    assert_close(logvar, expected_logvar, "the log-variance of encode(x)")
    assert_close(model.decode(z), vae_decode(state, z), "decode(z)")


@pytest.mark.points(1)
def test_vae_forward_decodes_a_reparameterized_code(student, rng):
    """forward(x) returns (logits, mean, logvar), the logits decoded from mean + exp(logvar / 2) * eps."""
    model = student.VAE(64, 16, 2, dtype=F64)
    state = checked_state_dict(model, VAE_SHAPES)
    x = torch.from_numpy(rng.uniform(size=(5, 64)))
    logits, mean, logvar = model(x)
    expected_mean, expected_logvar = vae_encode(state, x)
    z = expected_mean + torch.exp(expected_logvar / 2) * replayed_randn(5, 2)
    assert_close(mean, expected_mean, "the mean returned by forward(x)")
    assert_close(logvar, expected_logvar, "the log-variance returned by forward(x)")
    assert_close(logits, vae_decode(state, z), "the logits returned by forward(x)")


@pytest.mark.points(2)
def test_reparameterize_lets_gradients_reach_mean_and_logvar(student, rng):
    """z = mean + exp(logvar / 2) * eps with eps = torch.randn_like(mean), differentiable in both."""
    mean, logvar, weights = tensor(rng, 4, 3), tensor(rng, 4, 3), tensor(rng, 4, 3)
    z, (grad_mean, grad_logvar) = student.torch.autograd.functional.vjp(
        fetch(student.reparameterize), (mean, logvar), weights)
    eps = replayed_randn(4, 3)
    assert_close(z, mean + torch.exp(logvar / 2) * eps, "reparameterize(mean, logvar)")
    assert_close(grad_mean, weights, "the gradient that reaches mean")
    assert_close(grad_logvar, weights * 0.5 * torch.exp(logvar / 2) * eps, "the gradient that reaches logvar")


@pytest.mark.points(2)
def test_kl_matches_torch_distributions(student, rng):
    mean, logvar = tensor(rng, 6, 3), 2 * tensor(rng, 6, 3)
    expected = kl_divergence(Normal(mean, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(dim=1)
    assert_close(student.kl_to_standard_normal(mean, logvar), expected, "kl_to_standard_normal(mean, logvar)")
    zeros = torch.zeros(2, 3, dtype=F64)
    assert_close(student.kl_to_standard_normal(zeros, zeros), torch.zeros(2), "the KL of N(0, I) to itself")


@pytest.mark.points(2)
def test_negative_elbo_is_the_bernoulli_likelihood_plus_kl(student, rng):
    x = torch.from_numpy(rng.uniform(size=(5, 64)))
    logits, mean, logvar = tensor(rng, 5, 64), tensor(rng, 5, 2), tensor(rng, 5, 2)
    kl = kl_divergence(Normal(mean, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(dim=1)
    expected = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 5 + kl.mean()
    assert_close(student.negative_elbo(x, logits, mean, logvar), expected, "negative_elbo(x, logits, mean, logvar)")
    binary = (x > 0.5).to(F64)
    expected = (kl - Bernoulli(logits=logits).log_prob(binary).sum(dim=1)).mean()
    assert_close(student.negative_elbo(binary, logits, mean, logvar), expected, "negative_elbo of binary images")


@pytest.mark.points(1)
def test_train_vae_returns_one_loss_per_step_and_learns(student):
    X = data.digits(images=True).X_train[:300].reshape(-1, 64)
    history = student.train_vae(student.VAE(64, 32, 2), X, steps=150, batch_size=32)
    assert_shape(history, (150,), "the history of train_vae(..., steps=150)")
    if not np.mean(history[-30:]) < np.mean(history[:30]):
        raise AssertionError("the negative ELBO did not decrease over 150 steps")


# ---------------------------------------------------------------- measuring samples

@pytest.mark.points(2)
def test_squared_mmd_matches_a_double_loop(student, rng):
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2)) + 1

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * 0.7 ** 2))

    expected = (np.mean([k(a, b) for a in X for b in X]) + np.mean([k(a, b) for a in Y for b in Y])
                - 2 * np.mean([k(a, b) for a in X for b in Y]))
    assert_close(as_number(student.squared_mmd(X, Y, 0.7), "squared_mmd"), expected, "squared_mmd(X, Y, 0.7)")
    assert_close(as_number(student.squared_mmd(X, X, 0.7), "squared_mmd"), 0.0, "squared_mmd(X, X, 0.7)",
                 atol=1e-12)


@pytest.mark.points(1)
def test_mode_coverage_counts_modes_and_near_samples(student):
    means = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    samples = np.array([[0.1, 0.0], [0.0, -0.2], [5.2, 0.1], [2.5, 2.5], [0.0, 5.31]])
    for std, min_share, expected in [(0.1, 0.02, (2, 0.6)), (0.1, 0.3, (1, 0.6)), (0.2, 0.02, (3, 0.8))]:
        covered, near = student.mode_coverage(samples, means, std, min_share=min_share)
        what = f"mode_coverage(samples, means, {std}, min_share={min_share})"
        assert_close(as_number(covered, what), expected[0], f"the modes covered of {what}")
        assert_close(as_number(near, what), expected[1], f"the share of near samples of {what}")


# ---------------------------------------------------------------- GAN

@pytest.mark.points(1)
def test_mlp_has_the_named_layers_and_leaky_relu(student, rng):
    model = student.MLP(3, 8, 2, dtype=F64)
    state = checked_state_dict(model, mlp_shapes(3, 8, 2))
    x = tensor(rng, 5, 3)
    assert_close(model(x), mlp_forward(state, x), "MLP(3, 8, 2)(x)")


@pytest.mark.points(2)
def test_gan_losses_are_binary_cross_entropies(student, rng):
    real, fake = tensor(rng, 6, 1), tensor(rng, 4, 1)
    bce = F.binary_cross_entropy_with_logits
    assert_close(student.discriminator_loss(real, fake),
                 bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)),
                 "discriminator_loss(real_logits, fake_logits)")
    assert_close(student.generator_loss(fake), bce(fake, torch.ones_like(fake)),
                 "generator_loss(fake_logits), the non-saturating form")
    assert_close(student.generator_loss(fake, non_saturating=False), torch.log(1 - torch.sigmoid(fake)).mean(),
                 "generator_loss(fake_logits, non_saturating=False), the minimax form")


@pytest.mark.points(1)
def test_gan_losses_stay_finite_for_confident_discriminators(student, grader):
    """Logits of +-1000 (D(x) rounds to 0 or 1) give finite losses without overflow."""
    logits = torch.tensor([[-1000.0], [1000.0]], dtype=F64)
    for call, value in [("discriminator_loss", lambda: student.discriminator_loss(logits, logits)),
                        ("generator_loss", lambda: student.generator_loss(logits)),
                        ("generator_loss(..., non_saturating=False)",
                         lambda: student.generator_loss(logits, non_saturating=False))]:
        loss = as_number(value(), call)
        assert_no_overflow(grader, call)
        if not np.isfinite(loss):
            raise AssertionError(f"{call} of logits -1000 and 1000 is {loss}: compute it from the logits")


def gradients_of(model) -> list:
    return [fetch(getattr(getattr(model, layer), kind).grad) for layer in MLP_LAYERS for kind in ("weight", "bias")]


def sgd_step(state: dict, loss_of, lr: float) -> dict:
    """The weights after one step of plain SGD on loss_of(weights)."""
    weights = {name: value.clone().requires_grad_() for name, value in state.items()}
    grads = torch.autograd.grad(loss_of(weights), list(weights.values()))
    return {name: value.detach() - lr * g for (name, value), g in zip(weights.items(), grads)}


def assert_unchanged_weights(state, before, what):
    for name, value in state.items():
        assert_close(value, before[name], f"{what}'s {name}", rtol=0, atol=0)


def assert_updated_weights(state, expected, what):
    for name, value in expected.items():
        assert_close(state[name], value, f"{what}'s {name} after the step")


@pytest.mark.points(2)
def test_discriminator_step_updates_the_discriminator_only(student, rng):
    """One SGD step on the discriminator's loss of a real batch and G(z); the generator and its
    gradients untouched."""
    generator, discriminator = student.MLP(2, 8, 2, dtype=F64), student.MLP(2, 8, 1, dtype=F64)
    g_before = checked_state_dict(generator, mlp_shapes(2, 8, 2))
    d_before = checked_state_dict(discriminator, mlp_shapes(2, 8, 1))
    real = tensor(rng, 16, 2)
    optimizer = student.torch.optim.SGD(discriminator.parameters(), lr=0.1)
    loss = student.discriminator_step(generator, discriminator, optimizer, real)
    fake = mlp_forward(g_before, replayed_randn(16, 2))

    def loss_of(d):
        real_logits, fake_logits = mlp_forward(d, real), mlp_forward(d, fake)
        return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()

    assert_close(as_number(loss, "discriminator_step"), loss_of(d_before).item(),
                 "the loss returned by discriminator_step")
    assert_updated_weights(checked_state_dict(discriminator, mlp_shapes(2, 8, 1)), sgd_step(d_before, loss_of, 0.1),
                           "the discriminator")
    assert_unchanged_weights(checked_state_dict(generator, mlp_shapes(2, 8, 2)), g_before, "the generator")
    if any(grad is not None for grad in gradients_of(generator)):
        raise AssertionError("discriminator_step filled the generator's .grad: detach the generated samples")


@pytest.mark.points(2)
@pytest.mark.parametrize("non_saturating", [True, False])
def test_generator_step_updates_the_generator_only(student, non_saturating):
    """One SGD step on the chosen form of the loss of D(G(z)); the discriminator's weights untouched."""
    generator, discriminator = student.MLP(3, 8, 2, dtype=F64), student.MLP(2, 8, 1, dtype=F64)
    g_before = checked_state_dict(generator, mlp_shapes(3, 8, 2))
    d_before = checked_state_dict(discriminator, mlp_shapes(2, 8, 1))
    optimizer = student.torch.optim.SGD(generator.parameters(), lr=0.1)
    loss = student.generator_step(generator, discriminator, optimizer, 16, non_saturating=non_saturating)
    z = replayed_randn(16, 3)

    def loss_of(g):
        logits = mlp_forward(d_before, mlp_forward(g, z))
        return F.softplus(-logits).mean() if non_saturating else -F.softplus(logits).mean()

    assert_close(as_number(loss, "generator_step"), loss_of(g_before).item(), "the loss returned by generator_step")
    assert_updated_weights(checked_state_dict(generator, mlp_shapes(3, 8, 2)), sgd_step(g_before, loss_of, 0.1),
                           "the generator")
    assert_unchanged_weights(checked_state_dict(discriminator, mlp_shapes(2, 8, 1)), d_before, "the discriminator")


@pytest.mark.points(1)
def test_train_gan_returns_a_pair_of_losses_per_step(student, rng):
    X = rng.normal(size=(200, 2))
    history = student.train_gan(student.MLP(2, 16, 2), student.MLP(2, 16, 1), X, steps=40, batch_size=32)
    assert_shape(history, (40, 2), "the history of train_gan(..., steps=40)")


# ---------------------------------------------------------------- diffusion

@pytest.mark.points(2)
def test_linear_beta_schedule_and_alpha_bars(student, rng):
    betas = student.linear_beta_schedule(50, 1e-3, 0.2)
    assert_close(betas, np.linspace(1e-3, 0.2, 50), "linear_beta_schedule(50, 1e-3, 0.2)")
    random_betas = rng.uniform(0.01, 0.3, size=20)
    expected = [np.prod(1 - random_betas[:t + 1]) for t in range(20)]
    assert_close(student.alpha_bars(random_betas), expected, "alpha_bars(betas)")


@pytest.mark.points(1)
def test_q_sample_is_the_closed_form(student, rng):
    alpha_bar = torch.tensor([0.9, 0.5, 0.1], dtype=F64)
    x0, noise, t = tensor(rng, 4, 2), tensor(rng, 4, 2), torch.tensor([0, 2, 1, 2])
    expected = alpha_bar[t, None].sqrt() * x0 + (1 - alpha_bar[t, None]).sqrt() * noise
    assert_close(student.q_sample(x0, t, alpha_bar, noise), expected, "q_sample(x0, t, alpha_bar, noise)")


NOISE_PREDICTOR_SHAPES = mlp_shapes(3, 8, 2, prefix="net.")
NOISE_PREDICTOR_3D_SHAPES = mlp_shapes(4, 8, 3, prefix="net.")


def predicted_noise(state, x, t, num_steps):
    return mlp_forward(state, torch.cat([x, t[:, None].to(F64) / num_steps], dim=1), prefix="net.")


@pytest.mark.points(1)
def test_noise_predictor_appends_the_scaled_step(student, rng):
    model = student.NoisePredictor(50, hidden_features=8, dtype=F64)
    state = checked_state_dict(model, NOISE_PREDICTOR_SHAPES)
    x, t = tensor(rng, 4, 2), torch.tensor([0, 10, 25, 49])
    assert_close(model(x, t), predicted_noise(state, x, t, 50), "NoisePredictor(50, hidden_features=8)(x, t)")
    model = student.NoisePredictor(50, data_features=3, hidden_features=8, dtype=F64)
    state = checked_state_dict(model, NOISE_PREDICTOR_3D_SHAPES)
    x = tensor(rng, 4, 3)
    assert_close(model(x, t), predicted_noise(state, x, t, 50),
                 "NoisePredictor(50, data_features=3, hidden_features=8)(x, t)")


@pytest.mark.points(2)
def test_diffusion_loss_draws_steps_then_noise(student, rng):
    """The noise-prediction MSE with t = torch.randint(0, T, (N,)) drawn first, then noise = torch.randn_like(x0)."""
    model = student.NoisePredictor(10, hidden_features=8, dtype=F64)
    state = checked_state_dict(model, NOISE_PREDICTOR_SHAPES)
    alpha_bar = torch.from_numpy(np.cumprod(1 - np.linspace(0.01, 0.2, 10)))
    x0 = tensor(rng, 6, 2)
    loss = student.diffusion_loss(model, x0, alpha_bar)
    torch.manual_seed(0)
    t = torch.randint(0, 10, (6,))
    noise = torch.randn(x0.shape, dtype=F64)
    x_t = alpha_bar[t, None].sqrt() * x0 + (1 - alpha_bar[t, None]).sqrt() * noise
    expected = ((predicted_noise(state, x_t, t, 10) - noise) ** 2).mean()
    assert_close(loss, expected, "diffusion_loss(model, x0, alpha_bar)")


def reverse(state, x, t, betas, alpha_bar, noise, num_steps):
    eps = predicted_noise(state, x, torch.full((len(x),), t), num_steps)
    mean = (x - betas[t] / (1 - alpha_bar[t]).sqrt() * eps) / (1 - betas[t]).sqrt()
    return mean if t == 0 else mean + torch.sqrt(betas[t]) * noise


@pytest.mark.points(2)
def test_reverse_step_follows_the_formula(student, rng):
    """One reverse step with the given noise; no noise at step 0."""
    model = student.NoisePredictor(10, hidden_features=8, dtype=F64)
    state = checked_state_dict(model, NOISE_PREDICTOR_SHAPES)
    betas = torch.linspace(0.01, 0.2, 10, dtype=F64)
    alpha_bar = torch.cumprod(1 - betas, dim=0)
    x, noise = tensor(rng, 5, 2), tensor(rng, 5, 2)
    for t in (9, 4, 0):
        assert_close(student.reverse_step(model, x, t, betas, alpha_bar, noise),
                     reverse(state, x, t, betas, alpha_bar, noise, 10), f"reverse_step(model, x, {t}, ...)")


@pytest.mark.points(1)
@pytest.mark.parametrize("data_features", [2, 3])
def test_sample_runs_the_reverse_process_with_the_generator(student, data_features):
    """x_T and each step's noise drawn with the generator given, in the model's dtype (float64
    here), with model.data_features columns, from step T-1 down to 0."""
    model = student.NoisePredictor(10, data_features=data_features, hidden_features=8, dtype=F64)
    state = checked_state_dict(model, mlp_shapes(data_features + 1, 8, data_features, prefix="net."))
    betas = np.linspace(0.01, 0.2, 10)
    samples = student.sample(model, 20, betas, student.torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    betas_t = torch.from_numpy(betas)
    alpha_bar = torch.cumprod(1 - betas_t, dim=0)
    shape = (20, data_features)
    x = torch.randn(shape, generator=generator, dtype=F64)
    for t in reversed(range(10)):
        x = reverse(state, x, t, betas_t, alpha_bar, torch.randn(shape, generator=generator, dtype=F64), 10)
    assert_close(samples, x, f"sample(model, 20, betas, generator) with data_features={data_features}")


@pytest.mark.points(1)
def test_train_diffusion_returns_one_loss_per_step_and_learns(student, rng):
    X = rng.normal(size=(300, 2)) * 0.1 + 1
    history = student.train_diffusion(student.NoisePredictor(20, hidden_features=16), X,
                                      np.linspace(1e-3, 0.3, 20), steps=200, batch_size=64)
    assert_shape(history, (200,), "the history of train_diffusion(..., steps=200)")
    if not np.mean(history[-40:]) < np.mean(history[:40]):
        raise AssertionError("the noise-prediction loss did not decrease over 200 steps")
