"""A generative adversarial network in PyTorch: the two losses, one alternating training step
and training on 2-D data.

Nothing here names a device: tensors are created on the device of the tensors they work
with, and training runs wherever ``device=`` says.
"""

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm


class MLP(nn.Module):
    """Two hidden layers with leaky ReLU (negative slope 0.2).

    Layers, created in this order with PyTorch's default initialization:
    hidden1 = nn.Linear(in_features, hidden_features),
    hidden2 = nn.Linear(hidden_features, hidden_features),
    output = nn.Linear(hidden_features, out_features).
    forward: (N, in_features) -> (N, out_features), no activation after ``output``.
    """

    def __init__(self, in_features, hidden_features, out_features, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        factory = {"device": device, "dtype": dtype}
        self.hidden1 = nn.Linear(in_features, hidden_features, **factory)
        self.hidden2 = nn.Linear(hidden_features, hidden_features, **factory)
        self.output = nn.Linear(hidden_features, out_features, **factory)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.leaky_relu(self.hidden1(x), 0.2)
        x = F.leaky_relu(self.hidden2(x), 0.2)
        return self.output(x)
        ### END SOLUTION


def discriminator_loss(real_logits, fake_logits):
    """-mean log D(x) - mean log(1 - D(G(z))) with D = sigmoid(logits), computed from the
    logits without overflow. real_logits (N, 1), fake_logits (M, 1) -> a scalar tensor."""
    ### BEGIN SOLUTION
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    ### END SOLUTION


def generator_loss(fake_logits, non_saturating=True):
    """The generator's loss from the discriminator's logits on generated samples, computed
    without overflow: -mean log D(G(z)) if ``non_saturating``, else the minimax form
    mean log(1 - D(G(z))). fake_logits (M, 1) -> a scalar tensor."""
    ### BEGIN SOLUTION
    if non_saturating:
        return F.softplus(-fake_logits).mean()
    return -F.softplus(fake_logits).mean()
    ### END SOLUTION


def discriminator_step(generator, discriminator, optimizer, real):
    """One update of the discriminator (``optimizer`` holds its parameters) on the batch
    ``real`` (N, D) and N generated samples G(z), z = torch.randn(N, generator.hidden1.in_features)
    with the dtype and device of ``real`` (the only random draw). The generator's
    parameters and their .grad stay as they were: no gradient flows into the generator.
    Returns discriminator_loss as a float."""
    ### BEGIN SOLUTION
    z = torch.randn(len(real), generator.hidden1.in_features, dtype=real.dtype, device=real.device)
    fake = generator(z).detach()
    loss = discriminator_loss(discriminator(real), discriminator(fake))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


def generator_step(generator, discriminator, optimizer, batch_size, non_saturating=True):
    """One update of the generator (``optimizer`` holds its parameters) on generator_loss of
    the discriminator's logits for G(z), in the form ``non_saturating`` chooses,
    z = torch.randn(batch_size, generator.hidden1.in_features)
    with the dtype and device of the generator's parameters (the only random draw). The
    discriminator's parameters stay as they were. Returns generator_loss as a float."""
    ### BEGIN SOLUTION
    weight = generator.hidden1.weight
    z = torch.randn(batch_size, weight.shape[1], dtype=weight.dtype, device=weight.device)
    loss = generator_loss(discriminator(generator(z)), non_saturating)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


def train_gan(generator, discriminator, X, steps=1500, batch_size=256, lr=2e-3, non_saturating=True,
              device=None):
    """Alternating discriminator_step and generator_step, ``steps`` times, each with its own
    Adam (``lr``, betas (0.5, 0.999)); every discriminator step sees ``batch_size`` rows of
    X (N, D) (an array or a tensor) drawn at random with replacement, and every generator
    step ``batch_size`` samples. Both models are moved to ``device`` (if given). Returns a
    list of ``steps`` pairs (discriminator loss, generator loss)."""
    ### BEGIN SOLUTION
    if device is not None:
        generator, discriminator = generator.to(device), discriminator.to(device)
    weight = generator.hidden1.weight
    X = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    history = []
    for _ in tqdm(range(steps), disable=None):
        real = X[torch.randint(0, len(X), (batch_size,), device=X.device)]
        d_loss = discriminator_step(generator, discriminator, d_optimizer, real)
        g_loss = generator_step(generator, discriminator, g_optimizer, batch_size, non_saturating)
        history.append((d_loss, g_loss))
    return history
    ### END SOLUTION
