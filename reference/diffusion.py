"""A denoising diffusion probabilistic model (DDPM): the noise schedule in NumPy, and in
PyTorch the forward noising in closed form, a noise-predicting network, its loss, the
reverse sampling step and training.

Nothing here names a device: tensors are created on the device of the tensors they work
with, and training runs wherever ``device=`` says.
"""

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from reference.gan import MLP


def linear_beta_schedule(num_steps, beta_start=1e-4, beta_end=0.02):
    """The noise variances beta_0, ..., beta_{T-1} of the T = ``num_steps`` forward steps,
    rising linearly from ``beta_start`` to ``beta_end``: a float64 array (T,)."""
    ### BEGIN SOLUTION
    return np.linspace(beta_start, beta_end, num_steps)
    ### END SOLUTION


def alpha_bars(betas):
    """alpha_bar_t = prod_{s <= t} (1 - beta_s), the share of the signal's variance left
    after steps 0..t: betas (T,) -> (T,)."""
    ### BEGIN SOLUTION
    return np.cumprod(1.0 - np.asarray(betas))
    ### END SOLUTION


def q_sample(x0, t, alpha_bar, noise):
    """A sample of q(x_t | x_0) in closed form: sqrt(alpha_bar[t]) x0 + sqrt(1 - alpha_bar[t]) noise.
    x0, noise (N, D); t (N,) int64 step indices; alpha_bar (T,) tensor -> x_t (N, D)."""
    ### BEGIN SOLUTION
    a = alpha_bar[t].unsqueeze(-1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
    ### END SOLUTION


class NoisePredictor(nn.Module):
    """eps_theta(x_t, t): the noise in x_t predicted by an MLP of the data and the step.

    net = MLP(data_features + 1, hidden_features, data_features), applied to x_t with the
    column t / num_steps appended; ``num_steps`` and ``data_features`` are kept as attributes.
    forward(x, t): x (N, data_features), t (N,) int64 step indices -> (N, data_features).
    """

    def __init__(self, num_steps, data_features=2, hidden_features=128, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.num_steps, self.data_features = num_steps, data_features
        self.net = MLP(data_features + 1, hidden_features, data_features, device=device, dtype=dtype)
        ### END SOLUTION

    def forward(self, x, t):
        ### BEGIN SOLUTION
        time = (t.to(x.dtype) / self.num_steps).unsqueeze(-1)
        return self.net(torch.cat([x, time], dim=-1))
        ### END SOLUTION


def diffusion_loss(model, x0, alpha_bar):
    """The noise-prediction loss of a batch x0 (N, D): steps t = torch.randint(0, T, (N,)) and
    then noise = torch.randn_like(x0) (in this order, the only random draws, on x0's
    device), x_t = q_sample(x0, t, alpha_bar, noise), and the mean over all entries of
    (model(x_t, t) - noise)^2. alpha_bar (T,) tensor -> a scalar tensor."""
    ### BEGIN SOLUTION
    t = torch.randint(0, len(alpha_bar), (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    return ((model(q_sample(x0, t, alpha_bar, noise), t) - noise) ** 2).mean()
    ### END SOLUTION


def reverse_step(model, x, t, betas, alpha_bar, noise):
    """One step of the reverse process from x = x_t (N, D) at step ``t`` (an int):
    x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) * model(x_t, t)) / sqrt(1 - beta_t)
    + sqrt(beta_t) * noise, where the noise term is left out at t = 0. betas, alpha_bar (T,)
    tensors; noise (N, D) -> x_{t-1} (N, D)."""
    ### BEGIN SOLUTION
    steps = torch.full((len(x),), t, dtype=torch.int64, device=x.device)
    predicted = model(x, steps)
    mean = (x - betas[t] / (1 - alpha_bar[t]).sqrt() * predicted) / (1 - betas[t]).sqrt()
    return mean + betas[t].sqrt() * noise if t > 0 else mean
    ### END SOLUTION


def schedule_tensors(betas, like):
    """The schedule as tensors with the dtype and device of the tensor ``like``: betas (T,)
    array -> (betas, alpha_bars(betas)), two (T,) tensors."""
    ### BEGIN SOLUTION
    both = np.stack([betas, alpha_bars(betas)])
    return tuple(torch.as_tensor(both, dtype=like.dtype).to(like.device))
    ### END SOLUTION


@torch.no_grad()
def sample(model, n, betas, generator=None):
    """n samples (n, D), D = model.data_features, of the reverse process: x = torch.randn(n, D),
    then x = reverse_step(model, x, t, ...) for t = T-1, ..., 0 with noise = torch.randn(n, D)
    drawn for each step. Every draw is made on the CPU in the model's dtype with
    ``generator`` (torch's global generator if None) and moved to the model's device; betas
    (T,) an array."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    betas, alpha_bar = schedule_tensors(betas, weight)
    shape = (n, model.data_features)
    x = torch.randn(shape, generator=generator, dtype=weight.dtype).to(weight.device)
    for t in reversed(range(len(betas))):
        noise = torch.randn(shape, generator=generator, dtype=weight.dtype).to(weight.device)
        x = reverse_step(model, x, t, betas, alpha_bar, noise)
    return x
    ### END SOLUTION


def train_diffusion(model, X, betas, steps=3000, batch_size=256, lr=2e-3, device=None):
    """Adam on diffusion_loss for ``steps`` mini-batches of ``batch_size`` rows of X (N, D)
    (an array or a tensor), each drawn at random with replacement; betas (T,) an array. The
    model is moved to ``device`` (if given). Returns the loss of every step: a list of
    ``steps`` floats."""
    ### BEGIN SOLUTION
    model = model.to(device) if device is not None else model
    weight = next(model.parameters())
    X = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
    _, alpha_bar = schedule_tensors(betas, weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in tqdm(range(steps), disable=None):
        loss = diffusion_loss(model, X[torch.randint(0, len(X), (batch_size,), device=X.device)], alpha_bar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
    ### END SOLUTION
