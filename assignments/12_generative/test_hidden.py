"""Hidden tests for assignment 12: never released. Expected values come from the reference.

Student models start from the reference model's weights (sent as a state dict), so that
steps can be compared in float64. The worker seeds torch with 0 before every call; the
reference side does the same before the matching call.

The thresholds are measured on data the worker has never seen: a secret view of the digits
and rings of Gaussians turned and moved in secret. The grader fetches the trained weights and
computes reconstructions and samples itself, with the reference modules and its own noise.
"""

import numpy as np
import pytest
import torch

from autograder.student import data, generated, heldout
from autograder.student.checks import as_number, assert_at_least, assert_close, checked_state_dict
from reference import diffusion, gan, sample_quality, vae

F64 = torch.float64
RING = {"modes": 8, "radius": 2.0, "std": 0.1}
NUM_STEPS, BETA_START, BETA_END = 100, 1e-4, 0.1


def tensor(rng, *shape):
    return torch.from_numpy(rng.normal(size=shape))


def twin(student_class, reference_class, *args, **kwargs):
    """(student model, reference model) of the same form with the same weights."""
    torch.manual_seed(1)
    reference = reference_class(*args, **kwargs)
    model = student_class(*args, **kwargs)
    model.load_state_dict(dict(reference.state_dict()))
    return model, reference


def loaded(reference_model, model):
    """``reference_model`` with the weights of the student's trained ``model``, in float32 on
    the CPU: what the grader samples and reconstructs with."""
    shapes = {name: tuple(value.shape) for name, value in reference_model.state_dict().items()}
    state = checked_state_dict(model, shapes)
    reference_model.load_state_dict({name: torch.as_tensor(value).float() for name, value in state.items()})
    return reference_model.eval()


def assert_same_weights(model, reference, what):
    state = model.state_dict()
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{name} {what}")


def secret_ring(secret, n):
    """n points of a ring turned by a secret angle and moved by a secret shift, and its means."""
    seed = int(secret.integers(2 ** 32))
    shift = secret.uniform(-1, 1, size=2)
    X, _ = generated.ring_of_gaussians(n, seed=seed, **RING)
    return X + shift, generated.ring_means(RING["modes"], RING["radius"], seed=seed) + shift


def secret_generator(secret):
    return torch.Generator().manual_seed(int(secret.integers(2 ** 62)))


# ---------------------------------------------------------------- VAE

@pytest.mark.points(2)
def test_vae_forward_matches_reference(student, rng):
    """Another size of VAE, in float64: logits, mean and log-variance."""
    model, reference = twin(student.VAE, vae.VAE, 20, 7, 3, dtype=F64)
    x = torch.from_numpy(rng.uniform(size=(6, 20)))
    logits, mean, logvar = model(x)
    torch.manual_seed(0)
    expected = reference(x)
    for value, reference_value, name in zip((logits, mean, logvar), expected, ("logits", "mean", "logvar")):
        assert_close(value, reference_value.detach(), f"the {name} of forward(x)")


@pytest.mark.points(1)
def test_reparameterize_matches_reference_in_float32(student, rng):
    mean, logvar = tensor(rng, 9, 4).float(), tensor(rng, 9, 4).float()
    torch.manual_seed(0)
    assert_close(student.reparameterize(mean, logvar), vae.reparameterize(mean, logvar),
                 "reparameterize(mean, logvar) in float32", rtol=1e-5, atol=1e-6)


@pytest.mark.points(2)
def test_kl_and_negative_elbo_match_reference(student, rng):
    mean, logvar = tensor(rng, 7, 5), 3 * tensor(rng, 7, 5)
    x, logits = torch.from_numpy(rng.uniform(size=(7, 30))), 4 * tensor(rng, 7, 30)
    assert_close(student.kl_to_standard_normal(mean, logvar), vae.kl_to_standard_normal(mean, logvar),
                 "kl_to_standard_normal(mean, logvar)")
    assert_close(student.negative_elbo(x, logits, mean, logvar), vae.negative_elbo(x, logits, mean, logvar),
                 "negative_elbo(x, logits, mean, logvar)")


def vae_scores(student, secret, device="cpu"):
    """(share of the test pixels' variance explained by the reconstructions, average KL of the
    test codes) of VAE(64, 128, 2) trained with train_vae's defaults on a secret view of the
    digits; the reconstructions computed by the grader from the trained weights."""
    view = heldout.shifted_images(data.digits(images=True), secret)
    view = view.map_inputs(lambda X: np.clip(X, 0, 1).reshape(len(X), -1))
    model = student.VAE(64, 128, 2)
    student.train_vae(model, view.X_train, device=device)
    trained = loaded(vae.VAE(64, 128, 2), model)
    X = torch.tensor(view.X_test, dtype=torch.float32)
    with torch.no_grad():
        mean, logvar = trained.encode(X)
        reconstructions = torch.sigmoid(trained.decode(mean))
    explained = 1 - float(((X - reconstructions) ** 2).sum() / ((X - X.mean(dim=0)) ** 2).sum())
    return explained, float(vae.kl_to_standard_normal(mean, logvar).mean())


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_vae_reaches_the_thresholds(student, secret, thresholds, device):
    """VAE(64, 128, 2) trained with train_vae's defaults on a secret view of the digits, scored by the grader."""
    explained, kl = vae_scores(student, secret, device)
    assert_at_least(explained, thresholds["vae_explained_variance"],
                    "the share of the test pixels' variance explained by the reconstructions")
    assert_at_least(kl, thresholds["vae_kl"], "the average KL divergence of the test codes (nats)")


# ---------------------------------------------------------------- measuring samples

@pytest.mark.points(1)
def test_squared_mmd_matches_reference(student, rng):
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3)) * 1.5
    for bandwidth in (0.3, 2.0):
        assert_close(as_number(student.squared_mmd(X, Y, bandwidth), "squared_mmd"),
                     sample_quality.squared_mmd(X, Y, bandwidth), f"squared_mmd(X, Y, {bandwidth})")


@pytest.mark.points(1)
def test_mode_coverage_matches_reference(student, rng):
    means = rng.normal(size=(5, 2)) * 4
    samples = means[rng.integers(0, 3, 400)] + rng.normal(size=(400, 2)) * 0.4
    for std, min_share in ((0.2, 0.02), (0.3, 0.3)):
        covered, near = student.mode_coverage(samples, means, std, min_share=min_share)
        expected = sample_quality.mode_coverage(samples, means, std, min_share=min_share)
        what = f"mode_coverage(samples, means, {std}, min_share={min_share})"
        assert_close(as_number(covered, what), expected[0], f"the modes covered of {what}")
        assert_close(as_number(near, what), expected[1], f"the share of near samples of {what}")


# ---------------------------------------------------------------- GAN

@pytest.mark.points(1)
def test_gan_losses_match_reference(student, rng):
    real, fake = 5 * tensor(rng, 9, 1), 5 * tensor(rng, 3, 1)
    assert_close(student.discriminator_loss(real, fake), gan.discriminator_loss(real, fake),
                 "discriminator_loss(real_logits, fake_logits)")
    for form in (True, False):
        assert_close(student.generator_loss(fake, non_saturating=form), gan.generator_loss(fake, form),
                     f"generator_loss(fake_logits, non_saturating={form})")


@pytest.mark.points(2)
def test_discriminator_step_with_adam_matches_reference(student, rng):
    generator, reference_generator = twin(student.MLP, gan.MLP, 4, 6, 3, dtype=F64)
    discriminator, reference_discriminator = twin(student.MLP, gan.MLP, 3, 5, 1, dtype=F64)
    real = tensor(rng, 12, 3)
    loss = student.discriminator_step(generator, discriminator,
                                      student.torch.optim.Adam(discriminator.parameters(), lr=0.01), real)
    torch.manual_seed(0)
    expected = gan.discriminator_step(reference_generator, reference_discriminator,
                                      torch.optim.Adam(reference_discriminator.parameters(), lr=0.01), real)
    assert_close(as_number(loss, "discriminator_step"), expected, "the loss returned by discriminator_step")
    assert_same_weights(discriminator, reference_discriminator, "of the discriminator after the step")
    assert_same_weights(generator, reference_generator, "of the generator (which should not change)")


@pytest.mark.points(2)
def test_minimax_generator_step_with_adam_matches_reference(student):
    generator, reference_generator = twin(student.MLP, gan.MLP, 4, 6, 3, dtype=F64)
    discriminator, reference_discriminator = twin(student.MLP, gan.MLP, 3, 5, 1, dtype=F64)
    loss = student.generator_step(generator, discriminator, student.torch.optim.Adam(generator.parameters(), lr=0.01),
                                  10, non_saturating=False)
    torch.manual_seed(0)
    expected = gan.generator_step(reference_generator, reference_discriminator,
                                  torch.optim.Adam(reference_generator.parameters(), lr=0.01), 10, False)
    assert_close(as_number(loss, "generator_step"), expected, "the loss returned by generator_step")
    assert_same_weights(generator, reference_generator, "of the generator after the step")
    assert_same_weights(discriminator, reference_discriminator, "of the discriminator (which should not change)")


def gan_scores(student, secret, device="cpu"):
    """(modes covered, share of the samples near a mode) of 2000 samples that the grader draws
    with its own noise from MLP(2, 64, 2), trained against MLP(2, 64, 1) with train_gan's
    defaults on 2000 points of a secret ring."""
    X, means = secret_ring(secret, 2000)
    generator, discriminator = student.MLP(2, 64, 2), student.MLP(2, 64, 1)
    student.train_gan(generator, discriminator, X, device=device)
    trained = loaded(gan.MLP(2, 64, 2), generator)
    with torch.no_grad():
        samples = trained(torch.randn(2000, 2, generator=secret_generator(secret))).double().numpy()
    return sample_quality.mode_coverage(samples, means, RING["std"])


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_gan_reaches_the_thresholds(student, secret, thresholds, device):
    """MLP(2, 64, 2) against MLP(2, 64, 1), trained with train_gan's defaults on a secretly turned
    and moved ring; 2000 samples drawn by the grader."""
    covered, near = gan_scores(student, secret, device)
    assert_at_least(covered, thresholds["gan_modes_covered"], "the number of modes the GAN's samples cover")
    assert_at_least(near, thresholds["gan_share_near_modes"], "the share of the GAN's samples near a mode")


# ---------------------------------------------------------------- diffusion

@pytest.mark.points(1)
def test_schedule_matches_reference(student, rng):
    assert_close(student.linear_beta_schedule(37, 0.002, 0.05), diffusion.linear_beta_schedule(37, 0.002, 0.05),
                 "linear_beta_schedule(37, 0.002, 0.05)")
    assert_close(student.linear_beta_schedule(1000), diffusion.linear_beta_schedule(1000),
                 "linear_beta_schedule(1000) with the default betas")
    betas = rng.uniform(0.0, 0.5, size=30)
    assert_close(student.alpha_bars(betas), diffusion.alpha_bars(betas), "alpha_bars(betas)")


@pytest.mark.points(1)
def test_q_sample_matches_reference(student, rng):
    alpha_bar = torch.from_numpy(diffusion.alpha_bars(rng.uniform(0.01, 0.2, size=15)))
    x0, noise, t = tensor(rng, 8, 3), tensor(rng, 8, 3), torch.from_numpy(rng.integers(0, 15, 8))
    assert_close(student.q_sample(x0, t, alpha_bar, noise), diffusion.q_sample(x0, t, alpha_bar, noise),
                 "q_sample(x0, t, alpha_bar, noise) for 3-D data")


@pytest.mark.points(2)
def test_diffusion_loss_matches_reference(student, rng):
    model, reference = twin(student.NoisePredictor, diffusion.NoisePredictor, 25, data_features=3,
                            hidden_features=6, dtype=F64)
    alpha_bar = torch.from_numpy(diffusion.alpha_bars(diffusion.linear_beta_schedule(25, 0.01, 0.3)))
    x0 = tensor(rng, 9, 3)
    loss = student.diffusion_loss(model, x0, alpha_bar)
    torch.manual_seed(0)
    assert_close(loss, diffusion.diffusion_loss(reference, x0, alpha_bar).detach(),
                 "diffusion_loss(model, x0, alpha_bar) for 3-D data")


@pytest.mark.points(1)
def test_reverse_step_matches_reference(student, rng):
    model, reference = twin(student.NoisePredictor, diffusion.NoisePredictor, 25, data_features=3,
                            hidden_features=6, dtype=F64)
    schedule = diffusion.linear_beta_schedule(25, 0.01, 0.3)
    betas, alpha_bar = diffusion.schedule_tensors(schedule, torch.zeros(1, dtype=F64))
    x, noise = tensor(rng, 7, 3), tensor(rng, 7, 3)
    for t in (24, 1, 0):
        with torch.no_grad():
            expected = diffusion.reverse_step(reference, x, t, betas, alpha_bar, noise)
        assert_close(student.reverse_step(model, x, t, betas, alpha_bar, noise), expected,
                     f"reverse_step(model, x, {t}, betas, alpha_bar, noise)")


@pytest.mark.points(2)
def test_sample_matches_reference(student):
    model, reference = twin(student.NoisePredictor, diffusion.NoisePredictor, 15, data_features=3,
                            hidden_features=6, dtype=F64)
    betas = diffusion.linear_beta_schedule(15, 0.01, 0.4)
    samples = student.sample(model, 30, betas, student.torch.Generator().manual_seed(11))
    expected = diffusion.sample(reference, 30, betas, torch.Generator().manual_seed(11))
    assert_close(samples, expected, "sample(model, 30, betas, generator) for 3-D data")


def diffusion_scores(student, secret, device="cpu"):
    """(share of the noise's squared MMD to the ring that sampling removes, squared MMD of the
    samples) for 2000 samples that the grader draws with its own noise from NoisePredictor(100),
    trained with train_diffusion's defaults on 2000 points of a secret ring."""
    X, _ = secret_ring(secret, 4000)
    betas = diffusion.linear_beta_schedule(NUM_STEPS, BETA_START, BETA_END)
    model = student.NoisePredictor(NUM_STEPS)
    student.train_diffusion(model, X[:2000], betas, device=device)
    trained = loaded(diffusion.NoisePredictor(NUM_STEPS), model)
    samples = diffusion.sample(trained, 2000, betas, secret_generator(secret)).double().numpy()
    distance = sample_quality.squared_mmd(samples, X[2000:], 0.2)
    noise = secret.standard_normal((2000, 2))
    return 1 - distance / sample_quality.squared_mmd(noise, X[2000:], 0.2), distance


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_diffusion_reaches_the_threshold(student, secret, thresholds, device):
    """NoisePredictor(100) trained with train_diffusion's defaults on a secretly turned and moved
    ring; 2000 samples drawn by the grader with its own noise."""
    reduction, distance = diffusion_scores(student, secret, device)
    assert_at_least(reduction, thresholds["diffusion_mmd_reduction"],
                    f"the share of the noise's squared MMD to the ring that sampling removes (MMD^2 {distance:.4f})")
