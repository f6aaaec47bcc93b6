"""A variational autoencoder in PyTorch: encoder to a Gaussian posterior, the reparameterization
trick, the closed-form KL divergence to N(0, I), the negative ELBO and training.

Nothing here names a device: tensors are created on the device of the tensors they work
with, and training runs wherever ``device=`` says.
"""

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm


class VAE(nn.Module):
    """A fully connected VAE with a Bernoulli decoder.

    Layers, created in this order with PyTorch's default initialization:
    encoder_hidden = nn.Linear(in_features, hidden_features),
    encoder_mean = nn.Linear(hidden_features, latent_features),
    encoder_logvar = nn.Linear(hidden_features, latent_features),
    decoder_hidden = nn.Linear(latent_features, hidden_features),
    decoder_output = nn.Linear(hidden_features, in_features); ReLU after each hidden layer.

    encode(x): x (N, in_features) -> (mean, logvar), each (N, latent_features).
    decode(z): z (N, latent_features) -> logits (N, in_features) of the pixel probabilities.
    forward(x) -> (logits, mean, logvar), with z drawn by ``reparameterize(mean, logvar)``.
    """

    def __init__(self, in_features=64, hidden_features=128, latent_features=2, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        factory = {"device": device, "dtype": dtype}
        self.encoder_hidden = nn.Linear(in_features, hidden_features, **factory)
        self.encoder_mean = nn.Linear(hidden_features, latent_features, **factory)
        self.encoder_logvar = nn.Linear(hidden_features, latent_features, **factory)
        self.decoder_hidden = nn.Linear(latent_features, hidden_features, **factory)
        self.decoder_output = nn.Linear(hidden_features, in_features, **factory)
        ### END SOLUTION

    def encode(self, x):
        ### BEGIN SOLUTION
        hidden = F.relu(self.encoder_hidden(x))
        return self.encoder_mean(hidden), self.encoder_logvar(hidden)
        ### END SOLUTION

    def decode(self, z):
        ### BEGIN SOLUTION
        return self.decoder_output(F.relu(self.decoder_hidden(z)))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        mean, logvar = self.encode(x)
        return self.decode(reparameterize(mean, logvar)), mean, logvar
        ### END SOLUTION


def reparameterize(mean, logvar):
    """A sample z = mean + exp(logvar / 2) * eps of N(mean, diag(exp(logvar))), with eps drawn
    by ``torch.randn_like(mean)`` (the only random draw), so that z is a differentiable
    function of mean and logvar. mean, logvar (N, L) -> z (N, L)."""
    ### BEGIN SOLUTION
    std = torch.exp(0.5 * logvar)
    eps = torch.randn_like(mean)
    return mean + std * eps
    ### END SOLUTION


def kl_to_standard_normal(mean, logvar):
    """KL( N(mean, diag(exp(logvar))) || N(0, I) ) of each row, in closed form:
    0.5 * sum_j (mean_j^2 + exp(logvar_j) - 1 - logvar_j). mean, logvar (N, L) -> (N,)."""
    ### BEGIN SOLUTION
    return 0.5 * (mean ** 2 + torch.exp(logvar) - 1 - logvar).sum(dim=-1)
    ### END SOLUTION


def negative_elbo(x, logits, mean, logvar):
    """The negative evidence lower bound, averaged over the batch: for each row, the binary
    cross-entropy of the pixel probabilities sigmoid(logits) against x, summed over the
    pixels, plus kl_to_standard_normal(mean, logvar). x, logits (N, D) with x in [0, 1];
    mean, logvar (N, L) -> a scalar tensor."""
    ### BEGIN SOLUTION
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    return (reconstruction + kl_to_standard_normal(mean, logvar)).mean()
    ### END SOLUTION


def train_vae(model, X, steps=2500, batch_size=64, lr=2e-3, device=None):
    """Adam on negative_elbo for ``steps`` mini-batches of ``batch_size`` rows of X (N, D) in
    [0, 1] (an array or a tensor), each drawn at random with replacement. The model is moved
    to ``device`` (if given). Returns the loss of every step: a list of ``steps`` floats."""
    ### BEGIN SOLUTION
    model = model.to(device) if device is not None else model
    parameter = next(model.parameters())
    X = torch.as_tensor(X, dtype=parameter.dtype).to(parameter.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in tqdm(range(steps), disable=None):
        x = X[torch.randint(0, len(X), (batch_size,), device=X.device)]
        loss = negative_elbo(x, *model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
    ### END SOLUTION
