"""Losses as ``loss(scores, y) -> (loss, dscores)``, averaged over the batch.

``dscores`` is the gradient of the loss with respect to ``scores`` and has its shape.
"""

import numpy as np

from reference.activations import sigmoid


def mse_loss(y_pred, y):
    """Mean squared error and its gradient: (N,), (N,) -> (loss, dy_pred of shape (N,))."""
    ### BEGIN SOLUTION
    diff = y_pred - y
    loss = np.mean(diff ** 2)
    dy_pred = 2.0 * diff / diff.size
    return loss, dy_pred
    ### END SOLUTION


def bce_with_logits(logits, y):
    """Binary cross-entropy of sigmoid(logits) against 0/1 labels, and its gradient.

    (N,), (N,) -> (loss, dlogits of shape (N,)). Computed from the logits directly:
    loss_i = max(z, 0) - z y + log(1 + exp(-|z|)), stable for any z.
    """
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=np.float64)
    losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    dlogits = (sigmoid(z) - y) / z.size
    return np.mean(losses), dlogits
    ### END SOLUTION
