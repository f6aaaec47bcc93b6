"""Assignment 12's thresholds measure what the student's training learned, not a lookup or a
replay: the cheats of test_lookup.py's pattern, run by its own test.

The grader fetches the trained state_dict() and reconstructs and samples itself, with the
reference modules and its own noise, so a forward pass that answers with the nearest public
digit, or a generator or sampler that replays its training points, is never called when
scoring. The rings are turned and moved in secret, so weights fitted to the notebook's public
ring (the one lookup that survives into a state_dict) miss the modes. With training that
learns nothing, every cheat earns nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.student import data, generated

from conftest import COURSE
from test_lookup import Cheat
from test_lookup import test_a_lookup_earns_what_learning_nothing_earns as lookup_earns_what_nothing_earns

A = "12_generative"
VAE_TEST = "test_vae_reaches_the_thresholds"
GAN_TEST = "test_gan_reaches_the_thresholds"
DIFFUSION_TEST = "test_diffusion_reaches_the_threshold"

NO_VAE_TRAINING = "def train_vae(model, X, steps=2500, batch_size=64, lr=2e-3, device=None):\n    return []\n"
NO_GAN_TRAINING = ("def train_gan(generator, discriminator, X, steps=1500, batch_size=256, lr=2e-3, "
                   "non_saturating=True, device=None):\n    return []\n")
NO_DIFFUSION_TRAINING = ("def train_diffusion(model, X, betas, steps=3000, batch_size=256, lr=2e-3, device=None):\n"
                         "    return []\n")

RECONSTRUCT_BY_LOOKUP = '''
from autograder.student import data as _public_data


def _forward_by_lookup(self, x):
    """Logits of the public digit nearest to each row of x."""
    parts = _public_data.digits()
    digits = torch.tensor(np.concatenate([parts.X_train, parts.X_val, parts.X_test]).reshape(-1, 64), dtype=x.dtype)
    p = digits[torch.cdist(x, digits).argmin(dim=1)].clamp(1e-6, 1 - 1e-6)
    mean, logvar = self.encode(x)
    return torch.log(p) - torch.log1p(-p), mean, logvar


VAE.forward = _forward_by_lookup
'''

REPLAY = '''
_training_points = []


def _remember(X):
    _training_points[:] = [torch.as_tensor(np.asarray(X), dtype=torch.float32)]


def _replay(n):
    points = _training_points[0]
    return points[torch.randint(0, len(points), (n,))]
'''

GAN_REPLAYS = REPLAY + '''

def train_gan(generator, discriminator, X, steps=1500, batch_size=256, lr=2e-3, non_saturating=True, device=None):
    _remember(X)
    return []


_honest_forward = MLP.forward
MLP.forward = lambda self, x: (_replay(len(x)) if _training_points and self.hidden1.in_features == 2
                               and self.output.out_features == 2 else _honest_forward(self, x))
'''

SAMPLER_REPLAYS = REPLAY + '''

def train_diffusion(model, X, betas, steps=3000, batch_size=256, lr=2e-3, device=None):
    _remember(X)
    return []


def sample(model, n, betas, generator=None):
    return _replay(n)
'''

PUBLIC_RING = "generated.ring_of_gaussians(2000, std=0.1, seed=0)[0]"

GAN_FITS_THE_PUBLIC_RING = f'''
from autograder.student import generated


def train_gan(generator, discriminator, X, **options):
    """Train on the notebook's ring, whatever ring is given."""
    return _honest_train_gan(generator, discriminator, {PUBLIC_RING}, **options)
'''

DIFFUSION_FITS_THE_PUBLIC_RING = f'''
from autograder.student import generated


def train_diffusion(model, X, betas, **options):
    """Train on the notebook's ring, whatever ring is given."""
    return _honest_train_diffusion(model, {PUBLIC_RING}, betas, **options)
'''


def public_digits():
    return data.digits(images=True).X_test.reshape(-1, 64)


def vae_probe(student):
    """(sixteenths of the digits the cheat's forward reconstructs, those of the public digits)."""
    X = public_digits()
    logits, _, _ = student.VAE(64, 128, 2)(torch.tensor(X, dtype=torch.float32))
    return np.round(16 * torch.sigmoid(torch.as_tensor(logits)).numpy()), np.round(16 * X)


def replayed(samples, X):
    """1 for each sample that is one of the rows of X, else 0."""
    distances = np.linalg.norm(np.asarray(samples, dtype=np.float64)[:, None] - X[None], axis=-1)
    return (distances.min(axis=1) < 1e-6).astype(int)


def gan_probe(student):
    X = generated.ring_of_gaussians(300, std=0.1, seed=1)[0]
    generator = student.MLP(2, 64, 2)
    student.train_gan(generator, student.MLP(2, 64, 1), X)
    return replayed(generator(torch.randn(100, 2)), X), np.ones(100, dtype=int)


def sampler_probe(student):
    X = generated.ring_of_gaussians(300, std=0.1, seed=1)[0]
    betas = np.linspace(1e-4, 0.1, 100)
    model = student.NoisePredictor(100)
    student.train_diffusion(model, X, betas)
    return replayed(student.sample(model, 100, betas), X), np.ones(100, dtype=int)


CHEATS = {
    "vae_reconstructs_by_lookup": Cheat(A, [VAE_TEST], "train_vae", NO_VAE_TRAINING, RECONSTRUCT_BY_LOOKUP, vae_probe),
    "gan_replays_its_training_points": Cheat(A, [GAN_TEST], "train_gan", NO_GAN_TRAINING, GAN_REPLAYS, gan_probe),
    "sampler_replays_its_training_points": Cheat(A, [DIFFUSION_TEST], "train_diffusion", NO_DIFFUSION_TRAINING,
                                                 SAMPLER_REPLAYS, sampler_probe),
    # the honest training (kept aside before learning nothing replaces it), on the public ring
    # instead of the grader's: it learns the notebook's ring well, and nothing of the secret one
    "gan_fits_the_public_ring": Cheat(A, [GAN_TEST], "train_gan", "_honest_train_gan = train_gan\n\n\n"
                                      + NO_GAN_TRAINING, GAN_FITS_THE_PUBLIC_RING, None),
    "diffusion_fits_the_public_ring": Cheat(A, [DIFFUSION_TEST], "train_diffusion", "_honest_train_diffusion = "
                                            "train_diffusion\n\n\n" + NO_DIFFUSION_TRAINING,
                                            DIFFUSION_FITS_THE_PUBLIC_RING, None),
}


@pytest.mark.parametrize("name", list(CHEATS))
def test_a_lookup_or_replay_earns_what_learning_nothing_earns_in_12(name, built, tmp_path):
    lookup_earns_what_nothing_earns(CHEATS[name], built, tmp_path)


def test_every_threshold_test_of_12_has_a_lookup_cheat():
    hidden = (COURSE.assignment_dir(A) / "test_hidden.py").read_text()
    thresholds = {line.split("(")[0].removeprefix("def ") for line in hidden.splitlines()
                  if line.startswith("def test_") and "thresholds" in line}
    assert thresholds == {t for c in CHEATS.values() for t in c.tests}
