"""Held-out views of public data: one secret, label-preserving transformation applied alike to
the training, validation and test inputs, so that a model is trained and scored on inputs
that no lookup of the public data set can match.

Public data sets are public: a submission can carry scikit-learn's digits (or load them) and
look a test row's label up. A threshold test therefore trains the student's code on a *view*
of the data drawn from ``secret`` (the rubric fixture of that name: a generator seeded from
the hidden tests, which the worker never sees) and scores the trained model on the same view
of the test part. A model that learns does as well on a view as on the original data; a
lookup finds nothing to match.
"""

from __future__ import annotations

import numpy as np

from autograder.student.data import Split


def random_rotation(dim: int, secret: np.random.Generator) -> np.ndarray:
    """A (dim, dim) orthogonal matrix drawn uniformly (Haar) from ``secret``."""
    q, r = np.linalg.qr(secret.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def rotated(parts: Split, secret: np.random.Generator, noise: float = 0.05) -> Split:
    """Features along the last axis (N, D), or (N, T, D) for sequences: every feature vector
    x becomes x @ Q + e, with one random rotation Q (D, D) for all parts and fresh Gaussian e
    of ``noise`` times the training features' standard deviation. Rotations keep distances
    and linear separability: linear models, fully connected and recurrent networks learn the
    view as well as the original."""
    rotation = random_rotation(parts.X_train.shape[-1], secret)
    scale = noise * float(parts.X_train.std())
    return parts.map_inputs(lambda X: X @ rotation + scale * secret.standard_normal(X.shape))


def shifted_images(parts: Split, secret: np.random.Generator, shift: int = 1,
                   noise: float = 0.05) -> Split:
    """Images (N, C, H, W): one secret symmetry of the square (a rotation by a multiple of 90
    degrees, perhaps mirrored; for square images) for all parts, each image moved by up to
    ``shift`` pixels in each direction (zero-filled), and Gaussian noise of ``noise`` times
    the training images' standard deviation. Convolutions learn the view as well as the
    original."""
    square = parts.X_train.shape[-1] == parts.X_train.shape[-2]
    turns, mirror = (int(secret.integers(4)), bool(secret.integers(2))) if square else (0, False)
    scale = noise * float(parts.X_train.std())

    def view(images: np.ndarray) -> np.ndarray:
        images = np.rot90(images, turns, axes=(-2, -1))
        images = images[..., ::-1] if mirror else images
        return translated(images, secret, shift) + scale * secret.standard_normal(images.shape)

    return parts.map_inputs(view)


def translated(images: np.ndarray, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Each image (N, C, H, W) moved by a random offset in [-shift, shift] along each axis,
    zero-filled."""
    n, _, height, width = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    rows, cols = rng.integers(0, 2 * shift + 1, (2, n))
    return np.stack([padded[i, :, r:r + height, c:c + width] for i, (r, c) in enumerate(zip(rows, cols))])


def relabeled(parts: Split, secret: np.random.Generator) -> Split:
    """Class labels 0..C-1 renamed by one secret permutation, in all parts alike."""
    classes = int(max(parts.y_train.max(), parts.y_val.max(), parts.y_test.max())) + 1
    names = secret.permutation(classes)
    return parts._replace(y_train=names[parts.y_train], y_val=names[parts.y_val],
                          y_test=names[parts.y_test])
