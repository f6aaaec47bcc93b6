# %% [markdown]
# # Assignment 12: Generative models
#
# A classifier learns $p(y \mid x)$. A **generative model** learns the distribution of the
# data itself, $p(x)$, well enough to draw new samples from it. This assignment builds the
# three families that the lecture compares, each in PyTorch and each small enough to train
# in seconds on a CPU:
#
# 1. a **variational autoencoder** (VAE) on handwritten digits: an encoder that maps an
#    image to a distribution over a 2-D latent code, a decoder that maps a code back to an
#    image, trained by maximizing a lower bound on $\log p(x)$;
# 2. a **generative adversarial network** (GAN) on a ring of eight Gaussians: a generator
#    that turns noise into samples and a discriminator that tries to tell them from real
#    data, trained against each other;
# 3. a **denoising diffusion model** (DDPM) on the same ring: data destroyed by adding noise
#    step by step, and a network trained to undo one step at a time.
#
# Before the GAN, section 2 writes two ways to *measure* how close samples are to the data,
# because "the samples look right" is not a number.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check generative.ipynb` for the public tests. Hidden tests use other inputs, so
# make your code correct, not only passing.
#
# **How the models are graded.** Each model's form is fixed below (layer sizes and names).
# The grader trains your model with your training function (with its default arguments)
# on data it makes itself, then fetches the trained weights (`model.state_dict()`) and
# draws the samples and reconstructions *itself*, with its own noise. So what counts is
# what your training learned.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

# %%
import matplotlib.pyplot as plt
from torch.distributions import Normal, kl_divergence

from autograder.student import data, generated

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"training on {device}")

# %% [markdown]
# ## 1. A variational autoencoder
#
# A VAE explains each image $x$ by a latent code $z \in \mathbb R^{L}$: first
# $z \sim p(z) = \mathcal N(0, I)$, then $x \sim p_\theta(x \mid z)$, a decoder network. The
# likelihood $\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz$ has no closed
# form, so an **encoder** network proposes, for each $x$, a Gaussian
# $q_\phi(z \mid x) = \mathcal N\big(\mu(x), \operatorname{diag} \sigma^2(x)\big)$ over the codes
# that could have produced it, and training maximizes the **evidence lower bound**
#
# $$ \log p_\theta(x) \;\ge\; \mathrm{ELBO}(x) = \mathbb E_{z \sim q_\phi(z \mid x)}\big[\log p_\theta(x \mid z)\big]
#    - \mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big) . $$
#
# The first term rewards codes that let the decoder rebuild $x$ (reconstruction); the
# second keeps the codes of all images close to the prior, so that codes drawn from
# $\mathcal N(0, I)$ decode to plausible images (regularization).
#
# **The model.** The digits are $8 \times 8$ images with pixels in $[0, 1]$, flattened to 64
# numbers. The decoder outputs one **logit** per pixel: $p_\theta(x \mid z)$ is a product of
# Bernoulli distributions with probabilities $\operatorname{sigmoid}(\text{logits})$, and
# $-\log p_\theta(x \mid z)$ is the binary cross-entropy summed over the pixels. The encoder
# outputs the mean and the **log-variance** $\log \sigma^2$, which may be any real number
# (a variance must be positive; its logarithm need not be):
#
# $$ h = \operatorname{relu}(\text{encoder\_hidden}(x)), \quad \mu = \text{encoder\_mean}(h), \quad
#    \log\sigma^2 = \text{encoder\_logvar}(h), $$
# $$ \text{logits} = \text{decoder\_output}\big(\operatorname{relu}(\text{decoder\_hidden}(z))\big) . $$
#
# Create the five `nn.Linear` layers in the order the docstring lists, with these names.
# `forward` draws $z$ with `reparameterize` (next cell) and returns
# `(logits, mean, logvar)`.

# %% solution="reference.vae:VAE" grade_id="vae_model"
# filled in by the build

# %%
torch.manual_seed(0)
model = VAE(64, 16, 2)
assert [name for name, _ in model.named_parameters()][::2] == [
    "encoder_hidden.weight", "encoder_mean.weight", "encoder_logvar.weight",
    "decoder_hidden.weight", "decoder_output.weight"], "the layers should have the names of the docstring"
x = torch.rand(5, 64)
mean, logvar = model.encode(x)
assert mean.shape == logvar.shape == (5, 2) and model.decode(mean).shape == (5, 64)
print("VAE: layers and shapes OK")

# %% [markdown]
# ### The reparameterization trick
#
# The ELBO's first term is an expectation over $z \sim q_\phi(z \mid x)$, estimated with one
# sample per image. A sample drawn by `torch.normal(mean, std)` is a dead end for the
# gradient: the encoder could never learn. Instead write the sample as a deterministic,
# differentiable function of $\mu$ and $\sigma$ and of noise that does not depend on them:
#
# $$ z = \mu + \sigma \odot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, I), \qquad
#    \sigma = \exp\big(\tfrac12 \log\sigma^2\big) , $$
#
# so that $\partial z / \partial \mu = 1$ and $\partial z / \partial \log\sigma^2 = \tfrac12 \sigma \varepsilon$.
# Draw $\varepsilon$ with `torch.randn_like(mean)`, the only random draw: the tests replay it.

# %% solution="reference.vae:reparameterize" grade_id="reparameterize"
# filled in by the build

# %%
mean = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
logvar = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
z = reparameterize(mean, logvar)
weights = torch.randn(4, 2, dtype=torch.float64)
(z * weights).sum().backward()
assert mean.grad is not None and logvar.grad is not None, "no gradient reached mean or logvar"
eps = (z - mean) / torch.exp(logvar / 2)
assert torch.allclose(mean.grad, weights), "dz/dmean should be 1"
assert torch.allclose(logvar.grad, weights * 0.5 * torch.exp(logvar / 2) * eps), "dz/dlogvar should be sigma * eps / 2"
many = reparameterize(torch.full((100_000, 1), 3.0), torch.full((100_000, 1), np.log(4.0)))
print(f"samples of N(3, 4): mean {many.mean():.3f}, variance {many.var():.3f}")
assert abs(many.mean() - 3) < 0.05 and abs(many.var() - 4) < 0.1

# %% [markdown]
# ### The KL divergence in closed form
#
# For a diagonal Gaussian against the standard normal, the KL divergence needs no sampling:
#
# $$ \mathrm{KL}\big(\mathcal N(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal N(0, I)\big)
#    = \frac12 \sum_{j=1}^{L} \big(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big) \;\ge\; 0 , $$
#
# zero exactly when $\mu = 0$ and $\sigma = 1$. Return one value per row. Then the loss:
# the **negative** ELBO of each image, the binary cross-entropy of
# $\operatorname{sigmoid}(\text{logits})$ against $x$ *summed over the 64 pixels* plus the KL,
# averaged over the batch. Compute the cross-entropy from the logits
# (`F.binary_cross_entropy_with_logits`), which is stable where a sigmoid would round to 0
# or 1. (Averaging over the pixels instead would weigh the reconstruction 64 times less
# than the KL: the encoder would give up on the image and the codes would collapse to the
# prior.)

# %% solution="reference.vae:kl_to_standard_normal,negative_elbo" grade_id="elbo"
# filled in by the build

# %%
mean, logvar = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
expected = kl_divergence(Normal(mean, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(dim=1)
assert torch.allclose(kl_to_standard_normal(mean, logvar), expected), "the KL disagrees with torch.distributions"
x, logits = torch.rand(6, 64, dtype=torch.float64), torch.randn(6, 64, dtype=torch.float64)
bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 6
assert torch.allclose(negative_elbo(x, logits, mean, logvar), bce + expected.mean())
print("KL and negative ELBO: OK")

# %% [markdown]
# ### Training on the digits
#
# `train_vae` runs Adam on the negative ELBO for a number of *steps*, each on a mini-batch
# drawn at random (with replacement) from the training images, and returns the loss of
# every step. The grader trains `VAE(64, 128, 2)` with `train_vae`'s defaults on a view of
# the digits you have not seen (each image turned or mirrored, moved by up to a pixel, with
# a little noise, and clipped to $[0, 1]$) and scores the test part of the same view with
# your trained weights. Two numbers must pass: the reconstructions
# $\hat x = \operatorname{sigmoid}(\text{decode}(\mu(x)))$ must explain at least
# {{ thresholds.vae_explained_variance }} of the pixels' variance,
# $1 - \sum (x - \hat x)^2 / \sum (x - \bar x)^2$ with $\bar x$ the average test image, and
# the average KL divergence of the codes must be at
# least {{ thresholds.vae_kl }} nats: a VAE whose codes have collapsed to the prior (KL near
# 0) reconstructs every image as the average digit.

# %% solution="reference.vae:train_vae" grade_id="train_vae"
# filled in by the build

# %%
digits = data.digits(images=True)
X_train, X_val = digits.X_train.reshape(-1, 64), digits.X_val.reshape(-1, 64)
torch.manual_seed(0)
vae = VAE(64, 128, 2)
history = train_vae(vae, X_train, device=device)
vae = vae.cpu()
with torch.no_grad():
    mean, logvar = vae.encode(torch.tensor(X_val, dtype=torch.float32))
    reconstructions = torch.sigmoid(vae.decode(mean)).numpy()
    kl = kl_to_standard_normal(mean, logvar).mean().item()
explained = 1 - np.sum((X_val - reconstructions) ** 2) / np.sum((X_val - X_val.mean(axis=0)) ** 2)
print(f"validation: the reconstructions explain {explained:.2f} of the pixel variance; KL {kl:.2f} nats")

plt.plot(history, alpha=0.5)
plt.xlabel("step")
plt.ylabel("negative ELBO (nats per image)")
plt.title("VAE training loss")
plt.show()

# %% [markdown]
# Reconstructions (top: validation digits; below: decoded from their mean code) and new
# digits decoded from codes drawn from the prior $\mathcal N(0, I)$, next to real ones.

# %%
def show_digits(rows, titles):
    figure, axes = plt.subplots(len(rows), len(rows[0]), figsize=(len(rows[0]), 1.1 * len(rows)))
    for row, title, axes_row in zip(rows, titles, axes):
        for image, ax in zip(row, axes_row):
            ax.imshow(np.reshape(image, (8, 8)), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes_row[0].set_ylabel(title, rotation=0, ha="right", va="center")
    plt.show()


with torch.no_grad():
    samples = torch.sigmoid(vae.decode(torch.randn(12, 2))).numpy()
show_digits([X_val[:12], reconstructions[:12], X_train[:12], samples],
            ["validation", "reconstructed", "real", "sampled"])
assert explained > 0.2 and kl > 1, "the VAE should reconstruct better than the average digit"

# %% [markdown]
# **The latent map.** With $L = 2$ the codes can be drawn. Left: the mean code of every
# validation image, coloured by its digit (the labels were never used in training). Right:
# the decoder applied to a grid of codes between $-2.5$ and $2.5$: the VAE has laid the
# digits out on a smooth map, and codes between two classes decode to something between
# the two shapes.

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5.5))
points = left.scatter(mean[:, 0], mean[:, 1], c=digits.y_val, cmap="tab10", s=8)
left.legend(*points.legend_elements(), title="digit", fontsize=7, loc="upper right")
left.set_xlabel("$z_1$")
left.set_ylabel("$z_2$")
left.set_title("mean codes of the validation digits")
grid = np.linspace(-2.5, 2.5, 15)
codes = torch.tensor([[z1, z2] for z2 in grid[::-1] for z1 in grid], dtype=torch.float32)
with torch.no_grad():
    tiles = torch.sigmoid(vae.decode(codes)).numpy().reshape(15, 15, 8, 8)
tiles = np.pad(tiles, ((0, 0), (0, 0), (1, 1), (1, 1)))  # a white frame around each digit
right.imshow(tiles.transpose(0, 2, 1, 3).reshape(150, 150), cmap="gray_r", extent=(-2.5, 2.5, -2.5, 2.5))
right.set_xlabel("$z_1$")
right.set_title("decoded grid of codes")
plt.show()

# %% [markdown]
# ## 2. Measuring samples
#
# The GAN and the diffusion model below learn a 2-D distribution: a ring of eight
# Gaussians of standard deviation 0.1 whose centres sit evenly on a circle of radius 2,
# turned by an angle. (The grader turns it by an angle of its own and moves its centre by
# up to 1 along each axis.) Two numbers say how well samples $Y$ match data $X$:
#
# **Maximum mean discrepancy.** With a kernel $k$, the squared MMD compares the average
# similarity within each set with the similarity across them:
#
# $$ \mathrm{MMD}^2(X, Y) = \frac{1}{N^2}\sum_{i, j} k(x_i, x_j) + \frac{1}{M^2}\sum_{i, j} k(y_i, y_j)
#    - \frac{2}{NM}\sum_{i, j} k(x_i, y_j), \qquad k(x, y) = \exp\Big(-\frac{\lVert x - y\rVert^2}{2h^2}\Big) . $$
#
# With the Gaussian kernel it is zero (up to sampling noise) only when both sets come
# from the same distribution. Sum over every pair, $i = j$ included, and use broadcasting:
# an $(N, M, D)$ array of differences, no Python loop.
#
# **Mode coverage.** A sample is *near* a mode when it lies within 3 standard deviations of
# the mode's centre; a mode is *covered* when at least `min_share` of all samples are near
# it (1 % by default; a fair share of one mode in eight is 12.5 %). A GAN that has collapsed
# onto a few modes scores a high share of near samples but covers few modes; one that
# smears its samples around the circle covers every mode but has few samples near any.

# %% solution="reference.sample_quality:squared_mmd,mode_coverage" grade_id="sample_quality"
# filled in by the build

# %%
ring, _ = generated.ring_of_gaussians(2000, std=0.1, seed=0)
means = generated.ring_means(seed=0)
turned = ring[1000:] @ np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
same, other = squared_mmd(ring[:1000], ring[1000:], 0.2), squared_mmd(ring[:1000], turned, 0.2)
print(f"MMD^2 to fresh samples {same:.4f}, to the ring turned by 0.4 rad {other:.4f}")
assert same < 0.01 < other
print("coverage of the data:", mode_coverage(ring, means, 0.1))
one_mode = ring[np.linalg.norm(ring - means[0], axis=1) < 1]
print("coverage of the samples of one mode:", mode_coverage(one_mode, means, 0.1))
assert mode_coverage(ring, means, 0.1)[0] == 8

plt.figure(figsize=(4, 4))
plt.scatter(*ring.T, s=2)
plt.scatter(*means.T, marker="x", c="k")
plt.axis("equal")
plt.title("the data: a ring of 8 Gaussians")
plt.show()

# %% [markdown]
# ## 3. A generative adversarial network
#
# A generator $G$ maps noise $z \sim \mathcal N(0, I)$ to samples $G(z)$; a discriminator $D$
# outputs the probability $D(x) = \operatorname{sigmoid}(\text{logit})$ that $x$ is real. They
# play the minimax game
#
# $$ \min_G \max_D \; \mathbb E_{x \sim p_\text{data}}\big[\log D(x)\big] + \mathbb E_{z}\big[\log\big(1 - D(G(z))\big)\big] . $$
#
# Both are small fully connected networks of one form, `MLP`: two hidden layers with
# leaky ReLU (slope 0.2), named `hidden1`, `hidden2`, `output`. The generator is
# `MLP(2, 64, 2)` (2-D noise to 2-D points), the discriminator `MLP(2, 64, 1)` (a point to
# one logit).

# %% solution="reference.gan:MLP" grade_id="mlp"
# filled in by the build

# %%
torch.manual_seed(0)
net = MLP(2, 8, 3)
assert [name for name, _ in net.named_parameters()] == [
    "hidden1.weight", "hidden1.bias", "hidden2.weight", "hidden2.bias", "output.weight", "output.bias"]
x = torch.randn(5, 2)
hidden = F.leaky_relu(net.hidden2(F.leaky_relu(net.hidden1(x), 0.2)), 0.2)
assert torch.allclose(net(x), net.output(hidden)), "forward should be hidden1, leaky ReLU, hidden2, leaky ReLU, output"
print("MLP: OK")

# %% [markdown]
# ### The two losses
#
# The discriminator minimizes the binary cross-entropy of telling real from fake,
#
# $$ L_D = -\mathbb E_x \log D(x) - \mathbb E_z \log\big(1 - D(G(z))\big) , $$
#
# and the generator, in the minimax form, minimizes $\mathbb E_z \log(1 - D(G(z)))$. Early in
# training $D$ rejects the fakes easily, $D(G(z)) \approx 0$, where $\log(1 - D)$ is flat: the
# generator gets almost no gradient. The **non-saturating** loss
# $-\mathbb E_z \log D(G(z))$ has the same goal and a steep slope exactly there.
#
# Work from the logits $\ell$, never through a sigmoid that can round to 0 or 1:
# $\log D = \log\operatorname{sigmoid}(\ell) = -\operatorname{softplus}(-\ell)$ and
# $\log(1 - D) = -\operatorname{softplus}(\ell)$, with `F.softplus`, which never overflows.
# Each expectation is a mean over its batch.

# %% solution="reference.gan:discriminator_loss,generator_loss" grade_id="gan_losses"
# filled in by the build

# %%
real, fake = torch.randn(8, 1), torch.randn(5, 1)
bce = F.binary_cross_entropy_with_logits
expected = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
assert torch.allclose(discriminator_loss(real, fake), expected)
assert torch.allclose(generator_loss(fake), bce(fake, torch.ones_like(fake)))
assert torch.allclose(generator_loss(fake, non_saturating=False), -bce(fake, torch.zeros_like(fake)))
assert torch.isfinite(discriminator_loss(torch.tensor([[-1e4]]), torch.tensor([[1e4]]))), "overflow for large logits"

logits = torch.linspace(-8, 8, 200, requires_grad=True)
slopes = {}
for form in (True, False):
    (grad,) = torch.autograd.grad(generator_loss(logits[:, None], non_saturating=form) * len(logits), logits)
    slopes[form] = grad.abs()
plt.semilogy(torch.sigmoid(logits).detach(), slopes[False], label="minimax: log(1 - D(G(z)))")
plt.semilogy(torch.sigmoid(logits).detach(), slopes[True], label="non-saturating: -log D(G(z))")
plt.xlabel("D(G(z))")
plt.ylabel("|gradient| with respect to the logit")
plt.legend()
plt.title("Where the discriminator wins, the minimax loss saturates")
plt.show()

# %% [markdown]
# ### One training step, two updates
#
# Each step first improves the discriminator, then the generator, and each update must
# change only its own network:
#
# * `discriminator_step`: draw $z$, make fakes $G(z)$, and take one optimizer step on
#   $L_D$ of the real batch and the fakes. The fakes must be **detached**
#   (`generator(z).detach()`): otherwise `backward` sends the discriminator's loss on into
#   the generator, filling its `.grad` with gradients of the wrong objective.
# * `generator_step`: draw fresh $z$ and take one optimizer step on the generator's loss of
#   $D(G(z))$, in the form its `non_saturating` argument chooses. The gradient flows *through* the discriminator into the generator, but only
#   the generator's optimizer steps, so the discriminator's weights stay as they were.
#
# The noise has the generator's input size (`generator.hidden1.in_features`), and each
# step's `torch.randn` is its only random draw: the tests replay it.

# %% solution="reference.gan:discriminator_step,generator_step" grade_id="gan_step"
# filled in by the build

# %%
torch.manual_seed(0)
generator_net, discriminator_net = MLP(2, 8, 2), MLP(2, 8, 1)
def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


g_before, d_before = snapshot(generator_net), snapshot(discriminator_net)
discriminator_step(generator_net, discriminator_net, torch.optim.SGD(discriminator_net.parameters(), lr=0.1),
                   torch.randn(16, 2))
assert all(torch.equal(p, q) for p, q in zip(generator_net.parameters(), g_before)), "the generator changed"
assert all(p.grad is None for p in generator_net.parameters()), "gradients leaked into the generator"
assert all(not torch.equal(p, q) for p, q in zip(discriminator_net.parameters(), d_before))
d_after = snapshot(discriminator_net)
generator_step(generator_net, discriminator_net, torch.optim.SGD(generator_net.parameters(), lr=0.1), 16)
assert all(torch.equal(p, q) for p, q in zip(discriminator_net.parameters(), d_after)), "the discriminator changed"
assert all(not torch.equal(p, q) for p, q in zip(generator_net.parameters(), g_before))
print("each step changed its own network only")

# %% [markdown]
# ### Training on the ring
#
# `train_gan` alternates the two steps with one Adam optimizer per network
# ($\beta_1 = 0.5$, common for GANs: less momentum to chase a moving target) and returns
# one pair (discriminator loss, generator loss) per step. The grader trains
# `MLP(2, 64, 2)` against `MLP(2, 64, 1)` with `train_gan`'s defaults on 2000 points of a
# ring turned and moved in secret, draws 2000 samples from your trained generator with
# its own noise, and requires at least {{ thresholds.gan_modes_covered }} of the 8 modes
# covered and at least {{ thresholds.gan_share_near_modes }} of the samples near a mode.
#
# A discriminator loss near $2 \log 2 \approx 1.39$ is the balance point: $D$ outputs
# $\tfrac12$ everywhere because it can no longer tell the two apart.

# %% solution="reference.gan:train_gan" grade_id="train_gan"
# filled in by the build

# %%
torch.manual_seed(0)
generator_net, discriminator_net = MLP(2, 64, 2), MLP(2, 64, 1)
gan_history = np.array(train_gan(generator_net, discriminator_net, ring[:1000], device=device))
with torch.no_grad():
    gan_samples = generator_net.cpu()(torch.randn(2000, 2)).numpy()
covered, near = mode_coverage(gan_samples, means, 0.1)
print(f"GAN: {covered} of 8 modes covered, {near:.2f} of the samples near a mode, "
      f"MMD^2 {squared_mmd(gan_samples, ring[1000:], 0.2):.4f}")

figure, (curves, scatter) = plt.subplots(1, 2, figsize=(12, 4.5))
curves.plot(gan_history[:, 0], alpha=0.6, label="discriminator")
curves.plot(gan_history[:, 1], alpha=0.6, label="generator (non-saturating)")
curves.axhline(2 * np.log(2), color="k", linestyle=":", label="2 log 2")
curves.set_xlabel("step")
curves.legend()
curves.set_title("GAN losses")
scatter.scatter(*ring.T, s=2, alpha=0.3, label="data")
scatter.scatter(*gan_samples.T, s=2, alpha=0.3, label="GAN samples")
scatter.axis("equal")
scatter.legend()
plt.show()

# %% [markdown]
# **Written question (2 points).** Read the loss curves and the scatter plot. Do the losses
# tell you how good the samples are? Would a discriminator loss of exactly $2 \log 2$ show
# that the generator has learned the data distribution? Why are the mode coverage and the
# MMD better evidence than the losses?

# %% [markdown] written=2 grade_id="reading_gan_losses"
# Model answer: no. The curves do not fall like a training loss: after the first steps
# the discriminator's loss stays around 1.2 to 1.3, below $2 \log 2 \approx 1.39$ (it can
# still tell the samples apart a little), and drifts down while the generator's rises from
# about 0.75 to 1.0, both noisy from step to step. Each loss is measured against an
# opponent that keeps changing, so neither is a fixed objective that falls as the samples
# get better. Even $2 \log 2$ would prove nothing: it is the discriminator's loss when it
# outputs $\tfrac12$ everywhere, its optimum when the two distributions are equal, but the
# same value appears whenever the current discriminator cannot separate them, e.g.
# because it is weak or lags behind the generator; a generator collapsed onto a few modes
# can fool it there. The scatter plot shows what the losses hide: all eight modes receive
# samples, but about a fifth of the samples (0.78 near a mode) lie away from the modes,
# strung along the ring between them. Mode coverage (how many modes receive samples, and
# what share lies near a mode) and the MMD against held-out data (here 0.027, against 0.002
# between two samples of the data) measure the samples themselves against the data, so
# they reveal missing modes and stray samples.
#
# Marking guide: 1 point for why the losses, and $2 \log 2$ in particular, are no proof of
# success (a moving two-player game; the value only reflects the current discriminator's
# confusion); 1 point for the sample-based measures revealing what the losses hide (mode
# collapse, or here the samples between the modes).

# %% [markdown]
# ## 4. A denoising diffusion model
#
# The **forward process** destroys data in $T$ small steps, step $t$ adding Gaussian noise of
# variance $\beta_t$ while shrinking the signal so that the total variance stays put:
#
# $$ q(x_t \mid x_{t-1}) = \mathcal N\big(\sqrt{1 - \beta_t}\, x_{t-1},\ \beta_t I\big) . $$
#
# A **linear schedule** raises $\beta_t$ evenly from $\beta_\text{start}$ to $\beta_\text{end}$.
# Because Gaussians compose, the noisy sample after steps $0, \dots, t$ has a closed form:
# with $\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)$, a *product* (the signal is shrunk by
# $\sqrt{1-\beta_s}$ at every step),
#
# $$ q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
#    x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon . $$
#
# Here the steps are numbered $t = 0, \dots, T - 1$ as in the code, and $x_0$ is the data.
# With $T = 100$ and $\beta$ from $10^{-4}$ to $0.1$, $\bar\alpha_{T-1} \approx 0.006$: what is
# left is almost pure noise $\mathcal N(0, I)$. Write the schedule in NumPy.

# %% solution="reference.diffusion:linear_beta_schedule,alpha_bars" grade_id="schedule"
# filled in by the build

# %%
NUM_STEPS = 100
betas = linear_beta_schedule(NUM_STEPS, 1e-4, 0.1)
alpha_bar = alpha_bars(betas)
assert betas.shape == alpha_bar.shape == (NUM_STEPS,)
assert np.allclose(betas[[0, -1]], [1e-4, 0.1]) and np.allclose(np.diff(betas), np.diff(betas)[0])
product = 1.0
for t in range(NUM_STEPS):
    product *= 1 - betas[t]
    assert np.isclose(alpha_bar[t], product), f"alpha_bar[{t}] is not the product of (1 - beta) up to {t}"
plt.plot(np.sqrt(alpha_bar), label=r"$\sqrt{\bar\alpha_t}$: signal")
plt.plot(np.sqrt(1 - alpha_bar), label=r"$\sqrt{1 - \bar\alpha_t}$: noise")
plt.xlabel("step t")
plt.legend()
plt.title("The linear schedule")
plt.show()

# %% [markdown]
# `q_sample` noises a batch in one go, each row at its own step: `t` is a vector of step
# indices, so `alpha_bar[t]` picks one $\bar\alpha$ per row (shape $(N,)$), to be broadcast
# against the $(N, D)$ data.

# %% solution="reference.diffusion:q_sample" grade_id="q_sample"
# filled in by the build

# %%
alpha_bar_tensor = torch.tensor(alpha_bar)
x0 = torch.tensor(ring[:1000])
figure, axes = plt.subplots(1, 5, figsize=(16, 3.4))
for ax, t in zip(axes, [0, 10, 30, 60, 99]):
    noisy = q_sample(x0, torch.full((1000,), t), alpha_bar_tensor, torch.randn_like(x0))
    ax.scatter(*noisy.T, s=1)
    ax.set_title(f"t = {t}")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
plt.suptitle("The forward process: the ring dissolves into noise")
plt.show()
assert abs(noisy.var(0) - 1).max() < 0.15, "at the last step x_t should be close to N(0, I)"

# %% [markdown]
# ### Learning to remove the noise
#
# The network $\varepsilon_\theta(x_t, t)$ predicts the noise $\varepsilon$ that `q_sample`
# mixed into $x_t$. It is the `MLP` of section 3 with the step appended as one more input
# column, scaled to $[0, 1)$: `net = MLP(data_features + 1, hidden_features, data_features)`
# applied to $[x_t,\ t / T]$. Its loss is the mean squared error of the predicted noise,
# over a random step for each example:
#
# $$ L(\theta) = \mathbb E_{x_0,\, t,\, \varepsilon}\,\big\lVert \varepsilon - \varepsilon_\theta\big(\sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon,\ t\big)\big\rVert^2 . $$
#
# The target is the *noise*, not $x_0$: the two carry the same information, but the sampler
# below divides by exactly the quantities that make a predicted noise the right input.
# Draw the steps first (`torch.randint`), then the noise (`torch.randn_like`): the tests
# replay them in this order.

# %% solution="reference.diffusion:NoisePredictor,diffusion_loss" grade_id="noise_prediction"
# filled in by the build

# %%
torch.manual_seed(0)
denoiser = NoisePredictor(NUM_STEPS, hidden_features=16)
assert list(denoiser.state_dict())[:2] == ["net.hidden1.weight", "net.hidden1.bias"]
x, t = torch.randn(4, 2), torch.tensor([0, 10, 50, 99])
assert torch.allclose(denoiser(x, t), denoiser.net(torch.cat([x, t[:, None] / NUM_STEPS], dim=1)))
loss = diffusion_loss(denoiser, torch.tensor(ring[:64], dtype=torch.float32), alpha_bar_tensor.float())
print(f"loss of an untrained network: {loss.item():.3f} (predicting zero noise gives 1)")
assert loss.ndim == 0 and 0.5 < loss.item() < 2

# %% [markdown]
# ### Sampling: running the process backwards
#
# Start from pure noise $x_{T-1} \sim \mathcal N(0, I)$ and undo one step at a time, from
# $t = T-1$ down to $0$. With the noise predicted by the network,
#
# $$ x_{t-1} = \frac{1}{\sqrt{1 - \beta_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,
#    \varepsilon_\theta(x_t, t)\Big) + \sqrt{\beta_t}\, z, \qquad z \sim \mathcal N(0, I) , $$
#
# except at the last step $t = 0$, which adds no noise and returns the sample. The noise
# $z$ is an argument of `reverse_step`, so that the grader can give its own. `sample`
# draws $x_{T-1}$ and every step's $z$ ($D$ = `model.data_features` columns) on the CPU, in
# the model's dtype, with the `torch.Generator` it is given, and moves them to the model's
# device; `schedule_tensors` turns the NumPy schedule into
# tensors of the model's dtype and device. (`@torch.no_grad()` spares memory: nobody
# differentiates a sample.)

# %% solution="reference.diffusion:schedule_tensors,reverse_step,sample" grade_id="sampling"
# filled in by the build

# %% [markdown]
# If the network knew the noise exactly, sampling would return the data exactly. For data
# that are all one point $c$, the exact prediction is
# $\varepsilon = (x_t - \sqrt{\bar\alpha_t}\, c) / \sqrt{1 - \bar\alpha_t}$:

# %%
class PointMassDenoiser(nn.Module):
    """The exact noise predictor for data that all equal the point c."""

    def __init__(self, c):
        super().__init__()
        self.c, self.data_features = c, len(c)
        self.alpha_bar = torch.tensor(alpha_bar)
        self.unused = nn.Parameter(torch.zeros(1, dtype=torch.float64))  # gives sample() a dtype and device

    def forward(self, x, t):
        a = self.alpha_bar[t, None]
        return (x - a.sqrt() * self.c) / (1 - a).sqrt()


c = torch.tensor([0.5, -1.0], dtype=torch.float64)
recovered = sample(PointMassDenoiser(c), 10, betas, torch.Generator().manual_seed(0))
assert torch.allclose(recovered, c.expand(10, 2)), "with the exact noise, sampling should return the point"
print("the exact noise predictor brings pure noise back to the data: reverse_step is right")

# %% [markdown]
# ### Training on the ring
#
# `train_diffusion` runs Adam on `diffusion_loss` with random mini-batches and returns the
# loss of every step. The grader trains `NoisePredictor(100)` (128 hidden units) with
# `train_diffusion`'s defaults and the schedule above on 2000 points of a ring turned and
# moved in secret, and draws 2000 samples with your trained weights and its own noise.
# Sampling starts from $\mathcal N(0, I)$, far from the ring; the samples must remove at
# least {{ thresholds.diffusion_mmd_reduction }} of the noise's squared MMD to the ring,
# $1 - \mathrm{MMD}^2(\text{samples}, \text{ring}) / \mathrm{MMD}^2(\text{noise}, \text{ring})$,
# with bandwidth 0.2, 2000 fresh points of the ring and 2000 points of $\mathcal N(0, I)$.

# %% solution="reference.diffusion:train_diffusion" grade_id="train_diffusion"
# filled in by the build

# %%
torch.manual_seed(0)
denoiser = NoisePredictor(NUM_STEPS)
diffusion_history = train_diffusion(denoiser, ring[:1000], betas, device=device)
diffusion_samples = sample(denoiser, 2000, betas, torch.Generator().manual_seed(1)).cpu().numpy()
diffusion_mmd = squared_mmd(diffusion_samples.astype(np.float64), ring[1000:], 0.2)
reduction = 1 - diffusion_mmd / squared_mmd(np.random.default_rng(0).standard_normal((2000, 2)), ring[1000:], 0.2)
covered, near = mode_coverage(diffusion_samples, means, 0.1)
print(f"diffusion: MMD^2 {diffusion_mmd:.4f}, {reduction:.0%} of the noise's MMD^2 removed; "
      f"{covered} of 8 modes covered, {near:.2f} of the samples near a mode")

steps_per_point = 50
smoothed = np.reshape(diffusion_history, (-1, steps_per_point)).mean(axis=1)
plt.plot(diffusion_history, alpha=0.3, label="each step")
plt.plot(np.arange(len(smoothed)) * steps_per_point, smoothed, label=f"mean of {steps_per_point} steps")
plt.xlabel("step")
plt.ylabel("noise-prediction MSE")
plt.legend()
plt.title("Diffusion training loss")
plt.show()

# %% [markdown]
# ## 5. Three models, one ring
#
# The data, the GAN's samples and the diffusion model's samples side by side, and the
# reverse process in motion: from pure noise (left) to the ring (right).

# %%
figure, axes = plt.subplots(1, 3, figsize=(15, 5), sharex=True, sharey=True)
for ax, (title, points) in zip(axes, [("data", ring[1000:]), ("GAN", gan_samples), ("diffusion", diffusion_samples)]):
    ax.scatter(*points.T, s=2, alpha=0.4)
    ax.scatter(*means.T, marker="x", c="k")
    covered, near = mode_coverage(points, means, 0.1)
    distance = squared_mmd(points.astype(np.float64), ring[:1000], 0.2)
    ax.set_title(f"{title}: {covered} modes, {near:.0%} near, MMD$^2$ {distance:.4f}")
    ax.set_aspect("equal")
plt.show()

denoiser = denoiser.cpu()
betas_tensor, alpha_bar_tensor = schedule_tensors(betas, next(denoiser.parameters()))
x = torch.randn(1000, 2)
figure, axes = plt.subplots(1, 5, figsize=(16, 3.4))
with torch.no_grad():
    for t in reversed(range(NUM_STEPS)):
        x = reverse_step(denoiser, x, t, betas_tensor, alpha_bar_tensor, torch.randn_like(x))
        if t in (99, 60, 30, 10, 0):
            ax = axes[[99, 60, 30, 10, 0].index(t)]
            ax.scatter(*x.T, s=1)
            ax.set_title(f"after reverse step {t}")
            ax.set_xlim(-3.5, 3.5)
            ax.set_ylim(-3.5, 3.5)
plt.show()
assert reduction > 0.5, "the diffusion samples are far from the ring"
