"""Plausible wrong and correct-but-different answers for 12; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    # the VAE
    Variant("sample_without_reparameterization", "z drawn by Normal(mean, std).sample(): no gradient reaches "
            "the encoder",
            Edit("reparameterize", "return mean + std * eps", "return torch.distributions.Normal(mean, std).sample()")),
    Variant("variance_used_as_std", "the standard deviation taken as exp(logvar), the variance",
            Edit("reparameterize", "torch.exp(0.5 * logvar)", "torch.exp(logvar)")),
    Variant("logvar_used_as_std", "the log-variance used as the standard deviation",
            Edit("reparameterize", "std = torch.exp(0.5 * logvar)", "std = logvar")),
    Variant("kl_sign_error", "the KL written as 0.5 * sum(1 + logvar - mean^2 - exp(logvar)), its negative",
            Edit("kl_to_standard_normal", "0.5 * (mean ** 2 + torch.exp(logvar) - 1 - logvar)",
                 "0.5 * (1 + logvar - mean ** 2 - torch.exp(logvar))")),
    Variant("logvar_used_as_variance_in_kl", "the KL treats the log-variance as the variance",
            Edit("kl_to_standard_normal", "torch.exp(logvar) - 1 - logvar", "logvar - 1 - torch.log(logvar)")),
    Variant("reconstruction_averaged_over_pixels", "the cross-entropy averaged over the pixels: the KL "
            "outweighs the reconstruction 64 times and the codes collapse",
            Edit("negative_elbo", 'reduction="none").sum(dim=-1)', 'reduction="none").mean(dim=-1)')),
    Variant("decoder_returns_probabilities", "decode applies the sigmoid, so the loss applies a second one",
            Edit("VAE", "return self.decoder_output(F.relu(self.decoder_hidden(z)))",
                 "return torch.sigmoid(self.decoder_output(F.relu(self.decoder_hidden(z))))")),
    # measuring samples
    Variant("mmd_cross_term_once", "the cross term of the MMD counted once instead of twice",
            Edit("squared_mmd", "- 2 * mean_kernel(X, Y)", "- mean_kernel(X, Y)")),
    Variant("coverage_radius_one_std", "a sample counted near a mode within 1 standard deviation, not 3",
            Edit("mode_coverage", "distances <= 3 * std", "distances <= std")),
    # the GAN
    Variant("discriminator_labels_swapped", "the discriminator rewarded for calling real samples fake",
            Edit("discriminator_loss", "F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()",
                 "F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean()")),
    Variant("losses_through_the_sigmoid", "log(sigmoid(logits)): -inf once the sigmoid rounds to 0 or 1",
            Edit("discriminator_loss", "F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()",
                 "-torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()")),
    Variant("minimax_sign_flipped", "the minimax generator loss maximizes log(1 - D(G(z)))",
            Edit("generator_loss", "return -F.softplus(fake_logits).mean()", "return F.softplus(fake_logits).mean()")),
    Variant("discriminator_step_leaks_into_generator", "the fakes not detached: the discriminator's loss "
            "fills the generator's gradients",
            Edit("discriminator_step", "fake = generator(z).detach()", "fake = generator(z)")),
    Variant("generator_step_detaches_fakes", "the generator's fakes detached: no gradient reaches it",
            Edit("generator_step", "discriminator(generator(z))", "discriminator(generator(z).detach())")),
    # diffusion
    Variant("alpha_bar_as_sum", "alpha_bar computed as 1 - cumulative sum of the betas, not a product",
            Edit("alpha_bars", "np.cumprod(1.0 - np.asarray(betas))", "1.0 - np.cumsum(np.asarray(betas))")),
    Variant("q_sample_without_square_roots", "x_t = alpha_bar x0 + (1 - alpha_bar) noise",
            Edit("q_sample", "a.sqrt() * x0 + (1 - a).sqrt() * noise", "a * x0 + (1 - a) * noise")),
    Variant("step_not_scaled", "the step index appended as it is, not divided by the number of steps",
            Edit("NoisePredictor", "t.to(x.dtype) / self.num_steps", "t.to(x.dtype)")),
    Variant("network_trained_to_predict_x0", "the loss compares the prediction with x0 while the sampler "
            "expects noise",
            Edit("diffusion_loss", "(model(q_sample(x0, t, alpha_bar, noise), t) - noise) ** 2",
                 "(model(q_sample(x0, t, alpha_bar, noise), t) - x0) ** 2")),
    Variant("noise_added_at_the_last_step", "the reverse step adds noise at t = 0 too",
            Edit("reverse_step", "return mean + betas[t].sqrt() * noise if t > 0 else mean",
                 "return mean + betas[t].sqrt() * noise")),
    Variant("reverse_noise_scaled_by_variance", "the reverse step's noise scaled by beta_t, not its square root",
            Edit("reverse_step", "betas[t].sqrt() * noise", "betas[t] * noise")),
    Variant("sampling_runs_forwards", "sample applies the reverse steps from t = 0 up to T - 1",
            Edit("sample", "reversed(range(len(betas)))", "range(len(betas))")),
    Variant("generator_step_always_non_saturating", "generator_step ignores non_saturating",
            Edit("generator_step", "generator_loss(discriminator(generator(z)), non_saturating)",
                 "generator_loss(discriminator(generator(z)))")),
    Variant("noise_predictor_predicts_two_features", "NoisePredictor's network always outputs two columns",
            Edit("NoisePredictor", "MLP(data_features + 1, hidden_features, data_features,",
                 "MLP(data_features + 1, hidden_features, 2,")),
    Variant("sample_draws_two_features", "sample draws two columns, whatever model.data_features",
            Edit("sample", "shape = (n, model.data_features)", "shape = (n, 2)")),
    Variant("sample_draws_in_float32", "sample draws in float32 and converts to the model's dtype",
            Edit("sample", "x = torch.randn(shape, generator=generator, dtype=weight.dtype).to(weight.device)",
                 "x = torch.randn(shape, generator=generator).to(weight.device, weight.dtype)"),
            Edit("sample", "noise = torch.randn(shape, generator=generator, dtype=weight.dtype).to(weight.device)",
                 "noise = torch.randn(shape, generator=generator).to(weight.device, weight.dtype)")),
    Variant("training_with_betas_as_alpha_bar", "train_diffusion passes the betas where alpha_bar belongs",
            Edit("train_diffusion", "_, alpha_bar = schedule_tensors(betas, weight)",
                 "alpha_bar, _ = schedule_tensors(betas, weight)")),
]

ALTERNATIVES = [
    Variant("vae_through_torch_distributions", "the sample by Normal.rsample, the KL by kl_divergence, the "
            "likelihood by logsigmoid, and training by shuffled epochs cut at the step budget",
            Replace("reparameterize", """
def reparameterize(mean, logvar):
    return torch.distributions.Normal(mean, torch.exp(logvar / 2)).rsample()
"""),
            Replace("kl_to_standard_normal", """
def kl_to_standard_normal(mean, logvar):
    posterior = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    prior = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    return torch.distributions.kl_divergence(posterior, prior).sum(-1)
"""),
            Replace("negative_elbo", """
def negative_elbo(x, logits, mean, logvar):
    log_likelihood = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(1)
    return torch.mean(kl_to_standard_normal(mean, logvar) - log_likelihood)
"""),
            Replace("train_vae", """
def train_vae(model, X, steps=2500, batch_size=64, lr=2e-3, device=None):
    if device is not None:
        model.to(device)
    p = next(model.parameters())
    X = torch.tensor(np.asarray(X), dtype=p.dtype, device=p.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    while len(history) < steps:
        for batch in torch.randperm(len(X), device=p.device).split(batch_size):
            if len(history) == steps:
                break
            logits, mean, logvar = model(X[batch])
            loss = negative_elbo(X[batch], logits, mean, logvar)
            model.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(loss))
    return history
""")),
    Variant("gan_with_bce_and_no_grad", "the losses by binary_cross_entropy_with_logits, the fakes made under "
            "no_grad, the discriminator frozen during the generator's step, modules instead of functions",
            Replace("MLP", """
class MLP(nn.Module):
    def __init__(self, in_features, hidden_features, out_features, device=None, dtype=None):
        super().__init__()
        self.hidden1 = nn.Linear(in_features, hidden_features, device=device, dtype=dtype)
        self.hidden2 = nn.Linear(hidden_features, hidden_features, device=device, dtype=dtype)
        self.output = nn.Linear(hidden_features, out_features, device=device, dtype=dtype)
        self.activation = nn.LeakyReLU(0.2)

    def forward(self, x):
        return self.output(self.activation(self.hidden2(self.activation(self.hidden1(x)))))
"""),
            Replace("discriminator_loss", """
def discriminator_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake
"""),
            Replace("generator_loss", """
def generator_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
"""),
            Replace("discriminator_step", """
def discriminator_step(generator, discriminator, optimizer, real):
    with torch.no_grad():
        fake = generator(torch.randn(real.shape[0], generator.hidden1.in_features,
                                     dtype=real.dtype, device=real.device))
    optimizer.zero_grad(set_to_none=True)
    loss = discriminator_loss(discriminator(real), discriminator(fake))
    loss.backward()
    optimizer.step()
    return float(loss)
"""),
            Replace("generator_step", """
def generator_step(generator, discriminator, optimizer, batch_size, non_saturating=True):
    p = next(generator.parameters())
    z = torch.randn(batch_size, generator.hidden1.in_features, dtype=p.dtype, device=p.device)
    discriminator.requires_grad_(False)
    try:
        loss = generator_loss(discriminator(generator(z)), non_saturating=non_saturating)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    finally:
        discriminator.requires_grad_(True)
    return float(loss)
""")),
    Variant("diffusion_with_loops_and_epochs", "the schedule by loops, q_sample by gather, the reverse step "
            "with alpha written out, training by shuffled epochs cut at the step budget",
            Replace("linear_beta_schedule", """
def linear_beta_schedule(num_steps, beta_start=1e-4, beta_end=0.02):
    return np.array([beta_start + (beta_end - beta_start) * i / (num_steps - 1) for i in range(num_steps)])
"""),
            Replace("alpha_bars", """
def alpha_bars(betas):
    out, product = [], 1.0
    for beta in betas:
        product = product * (1 - beta)
        out.append(product)
    return np.array(out)
"""),
            Replace("q_sample", """
def q_sample(x0, t, alpha_bar, noise):
    signal = torch.sqrt(alpha_bar.gather(0, t)).view(-1, 1)
    spread = torch.sqrt(1 - alpha_bar.gather(0, t)).view(-1, 1)
    return signal * x0 + spread * noise
"""),
            Replace("reverse_step", """
def reverse_step(model, x, t, betas, alpha_bar, noise):
    alpha = 1 - betas[t]
    eps = model(x, torch.full((x.shape[0],), t, device=x.device))
    x_previous = (x - (1 - alpha) / torch.sqrt(1 - alpha_bar[t]) * eps) / torch.sqrt(alpha)
    if t == 0:
        return x_previous
    return x_previous + torch.sqrt(1 - alpha) * noise
"""),
            Replace("train_diffusion", """
def train_diffusion(model, X, betas, steps=3000, batch_size=256, lr=2e-3, device=None):
    if device is not None:
        model.to(device)
    p = next(model.parameters())
    X = torch.tensor(np.asarray(X), dtype=p.dtype, device=p.device)
    alpha_bar = torch.tensor(alpha_bars(betas), dtype=p.dtype, device=p.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    while len(history) < steps:
        for batch in torch.randperm(len(X), device=p.device).split(batch_size):
            if len(history) == steps:
                break
            loss = diffusion_loss(model, X[batch], alpha_bar)
            model.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(loss))
    return history
""")),
    Variant("metrics_by_expansion_and_loops", "the MMD from |x|^2 + |y|^2 - 2 x.y, the coverage by a loop "
            "over the modes",
            Replace("squared_mmd", """
def squared_mmd(X, Y, bandwidth):
    def k(A, B):
        d2 = (A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T
        return np.exp(-np.maximum(d2, 0) / (2 * bandwidth * bandwidth))
    return k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean()
"""),
            Replace("mode_coverage", """
def mode_coverage(samples, means, std, min_share=0.01):
    near_any = np.zeros(len(samples), dtype=bool)
    covered = 0
    for mean in means:
        near = np.sqrt(((samples - mean) ** 2).sum(axis=1)) <= 3 * std
        near_any |= near
        covered += int(near.sum() >= min_share * len(samples))
    return covered, near_any.mean()
""")),
]
