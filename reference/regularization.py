"""Regularization in NumPy: weight penalties, inverted dropout, and bagging of small networks.

Networks are ``reference.networks.Sequential`` classifiers of layer objects (``params``,
``grads``, ``forward(x, train=True, rng=None) -> out``, ``backward(dout) -> dx``) trained
with ``reference.networks.train``; ``Dropout`` here and ``reference.normalization.BatchNorm``
are two more layer objects.
"""

import numpy as np

from reference.activations import log_softmax
from reference.networks import Affine, ReLU, Sequential, train
from reference.normalization import BatchNorm


def l1_penalty(w, lam):
    """L1 penalty lam * sum |w| and its subgradient lam * sign(w) (0 at w = 0): -> (penalty, dw)."""
    ### BEGIN SOLUTION
    return lam * np.abs(w).sum(), lam * np.sign(w)
    ### END SOLUTION


def l2_penalty(w, lam):
    """L2 penalty lam / 2 * sum w^2 and its gradient lam * w: -> (penalty, dw).

    The gradient is what ``weight_decay=lam`` adds in ``torch.optim.SGD``.
    """
    ### BEGIN SOLUTION
    return 0.5 * lam * np.sum(w * w), lam * w
    ### END SOLUTION


def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout: zero each entry with probability p, scale survivors by 1 / (1 - p).

    x: any shape, 0 <= p < 1; rng: a numpy Generator (or a seed) that draws the mask.
    Training -> (out, cache) with E[out] = x; test (train=False) -> out = x.
    """
    ### BEGIN SOLUTION
    if not train:
        return x.copy(), np.ones_like(x)
    rng = np.random.default_rng(rng)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Backward of dropout: dout (any shape) -> dx of the same shape."""
    ### BEGIN SOLUTION
    mask = cache
    return dout * mask
    ### END SOLUTION



class Dropout:
    """Layer object for inverted dropout with drop probability ``p``; no parameters.

    forward draws the mask from the ``rng`` it is given; in test mode it is the identity.
    """

    def __init__(self, p=0.5):
        self.p = p
        self.params, self.grads, self.cache = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """Any shape -> the same shape."""
        ### BEGIN SOLUTION
        out, self.cache = dropout_forward(x, self.p, train=train, rng=rng)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """dout of the output's shape -> dx of the input's shape."""
        ### BEGIN SOLUTION
        return dropout_backward(dout, self.cache)
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
