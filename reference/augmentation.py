"""Data augmentation of image batches, as pure functions of the images and a random generator.

Images are (N, H, W) or (N, C, H, W) arrays with values in [low, high]; every function returns
a new array of the same shape, with values still in [low, high], and draws what it needs from
``rng`` (a numpy Generator or a seed), independently for every image.
"""

import numpy as np


def adjust_brightness(images, max_delta, rng=None, low=0.0, high=1.0):
    """Add to each image one offset drawn uniformly from [-max_delta, max_delta], then clip
    to [low, high]. Returns a new array; images is left unchanged."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    delta = rng.uniform(-max_delta, max_delta, size=(len(images),) + (1,) * (images.ndim - 1))
    return np.clip(images + delta, low, high)
    ### END SOLUTION


def adjust_contrast(images, lower, upper, rng=None, low=0.0, high=1.0):
    """Scale each image's deviations from its mean: mean + f * (x - mean), with one factor f
    per image drawn uniformly from [lower, upper] and the mean over the last two (H, W) axes;
    then clip to [low, high]. Returns a new array; images is left unchanged."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    factor = rng.uniform(lower, upper, size=(len(images),) + (1,) * (images.ndim - 1))
    mean = images.mean(axis=(-2, -1), keepdims=True)
    return np.clip(mean + factor * (images - mean), low, high)
    ### END SOLUTION


def random_crop(images, padding, rng=None):
    """Pad the last two axes with ``padding`` zeros on every side, then cut an H x W window
    from each padded image at a top-left corner (i, j) with i and j drawn uniformly from
    {0, 1, ..., 2 * padding}: every shift by up to ``padding`` pixels is equally likely.
    Returns a new array; images is left unchanged."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    h, w = images.shape[-2:]
    pad = [(0, 0)] * (images.ndim - 2) + [(padding, padding), (padding, padding)]
    padded = np.pad(images, pad)
    corners = rng.integers(0, 2 * padding + 1, size=(len(images), 2))
    return np.stack([image[..., i:i + h, j:j + w] for image, (i, j) in zip(padded, corners)])
    ### END SOLUTION


def horizontal_flip(images, p=0.5, rng=None):
    """Mirror each image left-right (reverse its last axis) with probability p.

    Returns a new array; images is left unchanged.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    flip = rng.random(len(images)) < p
    out = images.copy()
    out[flip] = images[flip][..., ::-1]
    return out
    ### END SOLUTION


def augment(images, labels, rng=None, max_delta=0.0, contrast=(1.0, 1.0), padding=0, flip=0.0,
            low=0.0, high=1.0):
    """A random variant of a labelled batch: brightness (``max_delta``), contrast (factors in
    ``contrast = (lower, upper)``), random crop (``padding``) and horizontal flip (probability
    ``flip``), in that order, all with one generator ``np.random.default_rng(rng)``.

    Returns (augmented images, labels): image n of the result is a variant of image n, so
    the labels come back unchanged. The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    out = adjust_brightness(images, max_delta, rng, low, high)
    out = adjust_contrast(out, contrast[0], contrast[1], rng, low, high)
    out = random_crop(out, padding, rng)
    out = horizontal_flip(out, flip, rng)
    return out, labels.copy()
    ### END SOLUTION
