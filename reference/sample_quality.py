"""How close generated samples are to the data, in NumPy: the maximum mean discrepancy with a
Gaussian kernel, and the modes of a mixture that the samples cover."""

import numpy as np


def squared_mmd(X, Y, bandwidth):
    """The squared maximum mean discrepancy between the samples X (N, D) and Y (M, D) with
    the Gaussian kernel k(x, y) = exp(-|x - y|^2 / (2 bandwidth^2)), biased estimate:
    mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y), every pair (i, j) counted, i = j too.
    Returns a float."""
    ### BEGIN SOLUTION
    def mean_kernel(A, B):
        squared_distances = ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1)
        return np.exp(-squared_distances / (2 * bandwidth ** 2)).mean()

    return float(mean_kernel(X, X) + mean_kernel(Y, Y) - 2 * mean_kernel(X, Y))
    ### END SOLUTION


def mode_coverage(samples, means, std, min_share=0.01):
    """How well samples (N, D) cover a mixture of Gaussians with the given means (K, D) and
    standard deviation ``std``. A sample is near a mode when it lies within 3 * std of that
    mode's mean (Euclidean distance); a mode is covered when at least ``min_share`` of all
    samples are near it. Returns (number of modes covered as an int, share of the samples
    near some mode as a float)."""
    ### BEGIN SOLUTION
    distances = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=-1)
    near = distances <= 3 * std
    covered = int((near.mean(axis=0) >= min_share).sum())
    return covered, float(near.any(axis=1).mean())
    ### END SOLUTION
