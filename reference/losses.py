"""Losses as ``loss(scores, y) -> (loss, dscores)``, averaged over the batch.

``dscores`` is the gradient of the loss with respect to ``scores`` and has its shape.
"""

import numpy as np

from reference.activations import log_softmax, sigmoid


def mse_loss(y_pred, y):
    """Mean squared error and its gradient: (N,), (N,) -> (loss, dy_pred of shape (N,)).

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    diff = y_pred - y
    loss = np.mean(diff ** 2)
    dy_pred = 2.0 * diff / diff.size
    return loss, dy_pred
    ### END SOLUTION


def bce_with_logits(logits, y):
    """Binary cross-entropy of sigmoid(logits) against 0/1 labels, and its gradient.

    (N,), (N,) -> (loss, dlogits of shape (N,)). Computed from the logits directly:
    loss_i = max(z, 0) - z y + log(1 + exp(-|z|)): no intermediate result overflows, for
    any z. The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=np.float64)
    losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    dlogits = (sigmoid(z) - y) / z.size
    return np.mean(losses), dlogits
    ### END SOLUTION


def l1_loss(y_pred, y):
    """Mean absolute error and its gradient: (N, ...), same shape -> (loss, dy_pred).

    The gradient is sign(y_pred - y) / size, taking sign(0) = 0. The arguments are left
    unchanged.
    """
    ### BEGIN SOLUTION
    diff = y_pred - y
    loss = np.mean(np.abs(diff))
    dy_pred = np.sign(diff) / diff.size
    return loss, dy_pred
    ### END SOLUTION


def softmax_cross_entropy(scores, y):
    """Cross-entropy of softmax(scores) against integer labels, and its gradient.

    scores: (N, C), y: (N,) ints in [0, C) -> (loss, dscores of shape (N, C)).
    loss = mean_i -log softmax(scores_i)[y_i]; dscores = (softmax(scores) - onehot(y)) / N.
    No intermediate result overflows, for any scores; the arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    n = scores.shape[0]
    log_probs = log_softmax(scores)
    loss = -np.mean(log_probs[np.arange(n), y])
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    return loss, dscores / n
    ### END SOLUTION


def multiclass_hinge_loss(scores, y):
    """Multi-class hinge (SVM) loss with margin 1, and its gradient.

    scores: (N, C), y: (N,) ints in [0, C) -> (loss, dscores of shape (N, C)).
    loss = mean_i sum_{j != y_i} max(0, scores_ij - scores_iy_i + 1). The arguments are
    left unchanged.
    """
    ### BEGIN SOLUTION
    n = scores.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = np.sum(margins) / n
    active = (margins > 0).astype(np.float64)
    active[rows, y] = -np.sum(active, axis=1)
    return loss, active / n
    ### END SOLUTION
