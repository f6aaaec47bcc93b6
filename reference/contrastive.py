"""Contrastive representation learning (SimCLR) in PyTorch: two random views of every image,
an encoder with a projection head, and the NT-Xent loss, which pulls the two views of an
image together and pushes the views of the other images away. No label is used; a linear
classifier on the frozen encoder's features (a linear probe) measures what it learned.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from reference.transfer import digit_features


def augment(images, generator, max_angle=15.0, max_scale=0.1, max_shift=1.0, noise=0.05):
    """A random view of every image: (N, C, H, W) -> (N, C, H, W), same dtype and device.

    Each image is turned by an angle uniform in [-max_angle, max_angle] degrees, zoomed by a
    factor uniform in [1 - max_scale, 1 + max_scale] and moved by up to ``max_shift`` pixels
    along each axis, sampled bilinearly (F.affine_grid and F.grid_sample, align_corners=False,
    zeros outside the image); then Gaussian noise of std ``noise`` is added. Every random
    number is drawn from ``generator`` (a CPU torch.Generator) and then moved to the images'
    device, so the same generator state gives the same views on any device.
    """
    ### BEGIN SOLUTION
    n, _, height, width = images.shape

    def uniform(*shape):  # in [-1, 1], drawn on the generator's device, then moved
        return (2 * torch.rand(*shape, generator=generator, dtype=images.dtype) - 1).to(images.device)

    angle = uniform(n) * math.radians(max_angle)
    zoom = 1 + uniform(n) * max_scale
    pixel = 2 / torch.tensor([width, height], dtype=images.dtype, device=images.device)  # in grid units
    shift = uniform(n, 2) * max_shift * pixel
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom  # output -> input coordinates
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], dim=1),
                         torch.stack([sin, cos, shift[:, 1]], dim=1)], dim=1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    views = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gaussian = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return views + noise * gaussian
    ### END SOLUTION


def nt_xent_loss(z1, z2, temperature=0.5):
    """The NT-Xent loss of two views: z1, z2 (N, D) projections of views of the same N images
    (row i of each from image i) -> a scalar tensor.

    With the 2N rows u = cat([z1, z2]) scaled to unit length, s_ij = u_i . u_j (cosine
    similarity) and p(i) the row of i's other view (i + N or i - N):
        loss = mean over the 2N rows i of  -log( exp(s_i,p(i) / T) / sum_{k != i} exp(s_ik / T) ),
    T = ``temperature``. The sum in the denominator holds the positive p(i) once and the 2N - 2
    other rows, never i itself. Computed stably (a log-sum-exp), so that it stays finite in
    float32 for temperatures down to 0.001.
    """
    ### BEGIN SOLUTION
    n = z1.shape[0]
    u = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = u @ u.T
    itself = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    logits = (similarity / temperature).masked_fill(itself, float("-inf"))
    positives = torch.cat([similarity.diagonal(n), similarity.diagonal(-n)]) / temperature
    return (torch.logsumexp(logits, dim=1) - positives).mean()
    ### END SOLUTION


class ContrastiveNet(nn.Module):
    """An encoder with a projection head: (N, 1, 8, 8) -> projections (N, 32).

    encoder = digit_features() gives the representation (N, 128) that is kept; projector =
    nn.Sequential(Linear(128, 64), ReLU(), Linear(64, 32)) maps it to the space where the
    loss compares views. Created in this order.
    """

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.encoder = digit_features()
        self.projector = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.projector(self.encoder(x))
        ### END SOLUTION


def train_contrastive(model, X, epochs=30, lr=3e-3, batch_size=128, temperature=0.2, seed=0, device=None):
    """SimCLR training without labels; returns the loss of every step (a list of floats).

    X: (N, 1, 8, 8) images (array or tensor). The model is moved to ``device`` (None: it
    stays where it is); torch.optim.Adam(model.parameters(), lr) minimizes, for every batch x
    of a DataLoader(TensorDataset(X), batch_size, shuffle=True, generator=g),
    nt_xent_loss(model(augment(x, g)), model(augment(x, g)), temperature): two independent
    views of each image. g = torch.Generator().manual_seed(seed) draws the order and the
    views. A progress bar shows the epochs.
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(torch.as_tensor(X, dtype=weight.dtype)), batch_size=batch_size,
                        shuffle=True, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        for (images,) in loader:
            images = images.to(weight.device)
            z1, z2 = model(augment(images, generator)), model(augment(images, generator))
            loss = nt_xent_loss(z1, z2, temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        progress.set_postfix(loss=history[-1])
    return history
    ### END SOLUTION


def encode(model, X):
    """The representation of X (N, 1, 8, 8), an array or tensor: model.encoder's output as a
    (N, 128) CPU tensor, computed in evaluation mode without recording gradients, on the
    model's device and dtype."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        return model.encoder(torch.as_tensor(X, dtype=weight.dtype).to(weight.device)).cpu()
    ### END SOLUTION
