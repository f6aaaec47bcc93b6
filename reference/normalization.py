"""Batch normalization and layer normalization in NumPy, forward and backward.

Shapes: ``x`` is (N, D), ``gamma`` and ``beta`` are (D,). Batch norm normalizes each feature
over the batch; layer norm normalizes each sample over its features. The running statistics
of batch norm are explicit state: passed in, and returned updated, never changed in place.
The layer object ``reference.modules.BatchNorm`` keeps them.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
    """Batch normalization: (N, D), (D,), (D,), (D,), (D,) -> (out, cache, running_mean, running_var).

    Training: normalize with the batch mean and biased batch variance, out = gamma x_hat + beta,
    and return running = (1 - momentum) running + momentum batch, where the running variance
    takes the unbiased batch variance (as torch.nn.BatchNorm1d does). Test: normalize with the
    running statistics and return them unchanged. ``cache`` is for ``batchnorm_backward``.
    The arguments are left unchanged: the updated running statistics are new arrays.
    """
    ### BEGIN SOLUTION
    if train:
        n = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std), running_mean, running_var
    ### END SOLUTION


def batchnorm_backward(dout, cache):
    """Backward of training-mode batch normalization: dout (N, D) -> (dx (N, D), dgamma (D,), dbeta (D,)).

    Closed form: dx = gamma / (N sigma) (N dout - sum_n dout - x_hat sum_n (dout x_hat)).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
    ### END SOLUTION


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization over the features of each sample: (N, D), (D,), (D,) -> (out, cache).

    out = gamma (x - mean) / sqrt(var + eps) + beta with the mean and biased variance of each
    row; the same computation in training and at test time. The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)
    ### END SOLUTION


def layernorm_backward(dout, cache):
    """Backward of layer normalization: dout (N, D) -> (dx (N, D), dgamma (D,), dbeta (D,)).

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x_hat, gamma, inv_std = cache
    d = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = inv_std / d * (d * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                        - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True))
    return dx, dgamma, dbeta
    ### END SOLUTION


