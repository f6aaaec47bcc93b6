"""Fully connected classifiers in NumPy, mini-batch SGD to train them, and ensembles of them.

A *model* here is anything with ``params`` (a dict of name -> NumPy array),
``loss(X, y) -> (loss, grads)`` (grads: a dict with the keys and shapes of ``params``) and
``predict(X) -> (N,)`` integer labels. ``TwoLayerNet`` is one, written out by hand;
``reference.modules.Sequential`` is one, built from layer objects (``make_mlp`` builds one).
"""

import numpy as np

from reference.activations import log_softmax
from reference.layers import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from reference.losses import softmax_cross_entropy
from reference.modules import Affine, BatchNorm, Dropout, ReLU, Sequential


class TwoLayerNet:
    """affine - ReLU - affine, trained with softmax cross-entropy and an L2 penalty.

    Inputs (N, d1, ..., dk) are flattened to D = d1 * ... * dk features. ``params``:
    W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); the weights are drawn from
    N(0, weight_scale^2) with ``np.random.default_rng(seed)`` (W1 first), the biases are zero.
    The loss is the mean cross-entropy plus 0.5 * reg * (sum(W1^2) + sum(W2^2)).
    """

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0, seed=0):
        self.reg = reg
        ### BEGIN SOLUTION
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }
        ### END SOLUTION

    def scores(self, X):
        """Class scores (logits): (N, d1, ..., dk) -> (N, C)."""
        ### BEGIN SOLUTION
        hidden, _ = affine_relu_forward(X, self.params["W1"], self.params["b1"])
        scores, _ = affine_forward(hidden, self.params["W2"], self.params["b2"])
        return scores
        ### END SOLUTION

    def loss(self, X, y):
        """Loss and gradients on a batch: X (N, d1, ..., dk), y (N,) integer labels.

        Returns (loss as a float, grads) where grads has the keys and shapes of ``params``.
        """
        ### BEGIN SOLUTION
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)
        data_loss, dscores = softmax_cross_entropy(scores, y)
        loss = data_loss + 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dhidden, dW2, db2 = affine_backward(dscores, scores_cache)
        _, dW1, db1 = affine_relu_backward(dhidden, hidden_cache)
        grads = {"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + self.reg * W2, "b2": db2}
        return float(loss), grads
        ### END SOLUTION

    def predict(self, X):
        """The highest-scoring class of each sample: (N, d1, ..., dk) -> (N,) ints."""
        ### BEGIN SOLUTION
        return np.argmax(self.scores(X), axis=1)
        ### END SOLUTION








def train(model, X, y, lr=0.1, epochs=10, batch_size=100, seed=0, X_val=None, y_val=None):
    """Mini-batch SGD: each epoch visits the samples in the order ``rng.permutation(N)``
    (``rng = np.random.default_rng(seed)``, one permutation per epoch) in batches of
    ``batch_size`` (the last one may be smaller) and updates every array of
    ``model.params`` in place: p -= lr * grad.

    Returns a history dict: "loss" (the batch loss of every step), "train_acc" and
    "val_acc" (accuracy on (X, y) and on (X_val, y_val) after every epoch; "val_acc" stays
    empty without validation data).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            params = model.params
            for name, grad in grads.items():
                params[name] -= lr * grad
            history["loss"].append(float(loss))
        history["train_acc"].append(float(np.mean(model.predict(X) == y)))
        if X_val is not None:
            history["val_acc"].append(float(np.mean(model.predict(X_val) == y_val)))
    return history
    ### END SOLUTION


def make_mlp(input_dim, hidden_dim, num_classes, batchnorm=False, dropout=0.0, reg=0.0, seed=0):
    """Affine - [BatchNorm] - ReLU - [Dropout] - Affine as a ``Sequential`` classifier.

    BatchNorm is included when ``batchnorm`` is true, Dropout(dropout) when dropout > 0. The
    affine layers get He initialization, weight_scale = sqrt(2 / fan_in), and the seeds
    ``seed`` and ``seed + 1``; the Sequential gets ``reg`` and ``seed``.
    """
    ### BEGIN SOLUTION
    layers = [Affine(input_dim, hidden_dim, weight_scale=np.sqrt(2.0 / input_dim), seed=seed)]
    if batchnorm:
        layers.append(BatchNorm(hidden_dim))
    layers.append(ReLU())
    if dropout > 0:
        layers.append(Dropout(dropout))
    layers.append(Affine(hidden_dim, num_classes, weight_scale=np.sqrt(2.0 / hidden_dim), seed=seed + 1))
    return Sequential(*layers, reg=reg, seed=seed)
    ### END SOLUTION



def bagging_fit(X, y, n_models=5, hidden_dim=100, batchnorm=False, dropout=0.0, seed=0, **train_args):
    """Bagging: ``n_models`` networks from ``make_mlp``, each trained on its own bootstrap sample.

    X: (N, D), y: (N,) ints in [0, C) with C = max(y) + 1. Model k is
    make_mlp(D, hidden_dim, C, batchnorm, dropout, seed=seed + 1 + k), trained by ``train``
    (with ``train_args`` and seed=seed + 1 + k) on N rows drawn uniformly with replacement by
    ``np.random.default_rng(seed).integers``. Returns the list of trained models.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    num_classes = int(np.max(y)) + 1
    models = []
    for k in range(n_models):
        sample = rng.integers(0, len(X), size=len(X))
        model = make_mlp(X.shape[1], hidden_dim, num_classes, batchnorm=batchnorm, dropout=dropout,
                         seed=seed + 1 + k)
        train(model, X[sample], y[sample], seed=seed + 1 + k, **train_args)
        models.append(model)
    return models
    ### END SOLUTION



def bagging_predict(models, X):
    """Ensemble prediction: the most probable class of the models' averaged softmax
    probabilities (test mode): (N, D) -> (N,) ints."""
    ### BEGIN SOLUTION
    proba = np.mean([np.exp(log_softmax(model.forward(X, train=False))) for model in models], axis=0)
    return np.argmax(proba, axis=1)
    ### END SOLUTION
