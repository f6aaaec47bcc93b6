"""Fully connected classifiers in NumPy, and mini-batch SGD to train them.

A *model* here is anything with ``params`` (a dict of name -> NumPy array),
``loss(X, y) -> (loss, grads)`` (grads: a dict with the keys and shapes of ``params``) and
``predict(X) -> (N,)`` integer labels. ``TwoLayerNet`` is one, written out by hand;
``Sequential`` is one, built from layer objects. A *layer object* has ``params`` and
``grads`` dicts, ``forward(x, train=True, rng=None) -> out`` and ``backward(dout) -> dx``;
its forward keeps what its backward needs.
"""

import numpy as np

from reference.activations import relu_backward, relu_forward
from reference.layers import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from reference.losses import softmax_cross_entropy


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


class Affine:
    """Layer object for out = x.reshape(N, D) @ w + b.

    ``params``: "w" (D, M) drawn from N(0, weight_scale^2) with ``np.random.default_rng(seed)``,
    "b" (M,) zeros. ``grads`` starts empty; ``backward`` fills it with the same keys.
    """

    def __init__(self, in_features, out_features, weight_scale=1e-3, seed=0):
        ### BEGIN SOLUTION
        rng = np.random.default_rng(seed)
        self.params = {"w": weight_scale * rng.standard_normal((in_features, out_features)),
                       "b": np.zeros(out_features)}
        self.grads = {}
        self.cache = None
        ### END SOLUTION

    def forward(self, x, train=True, rng=None):
        """(N, d1, ..., dk) -> (N, M)."""
        ### BEGIN SOLUTION
        out, self.cache = affine_forward(x, self.params["w"], self.params["b"])
        return out
        ### END SOLUTION

    def backward(self, dout):
        """(N, M) -> dx of x's shape; stores grads["w"] and grads["b"]."""
        ### BEGIN SOLUTION
        dx, self.grads["w"], self.grads["b"] = affine_backward(dout, self.cache)
        return dx
        ### END SOLUTION


class ReLU:
    """Layer object for max(0, x), elementwise; no parameters."""

    def __init__(self):
        self.params, self.grads, self.cache = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """Any shape -> the same shape."""
        ### BEGIN SOLUTION
        out, self.cache = relu_forward(x)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """dout of the output's shape -> dx of the input's shape."""
        ### BEGIN SOLUTION
        return relu_backward(dout, self.cache)
        ### END SOLUTION


class Sequential:
    """Layer objects applied in order, as a classifier with softmax cross-entropy.

    ``params`` and ``grads`` are flat dicts "i.name" -> the array of layer i (the layers' own
    arrays, so in-place updates reach them). The loss adds 0.5 * reg * sum(w^2) for every
    parameter named "w". ``forward`` passes ``train`` and the container's generator (seeded
    with ``seed``) to every layer.
    """

    def __init__(self, *layers, reg=0.0, seed=0):
        self.layers = list(layers)
        self.reg = reg
        self.rng = np.random.default_rng(seed)

    @property
    def params(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.params.items()}

    @property
    def grads(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.grads.items()}

    def forward(self, x, train=True):
        """Output of the last layer for input x."""
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer.forward(x, train=train, rng=self.rng)
        return x
        ### END SOLUTION

    def backward(self, dout):
        """Gradient with respect to the input; every layer stores its parameter gradients."""
        ### BEGIN SOLUTION
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
        ### END SOLUTION

    def loss(self, X, y):
        """(loss as a float, grads) on a batch, like ``TwoLayerNet.loss``; runs in train mode."""
        ### BEGIN SOLUTION
        data_loss, dscores = softmax_cross_entropy(self.forward(X, train=True), y)
        self.backward(dscores)
        params, grads = self.params, self.grads
        weights = [name for name in params if name.endswith(".w")]
        loss = data_loss + 0.5 * self.reg * sum(np.sum(params[name] ** 2) for name in weights)
        for name in weights:
            grads[name] = grads[name] + self.reg * params[name]
        return float(loss), grads
        ### END SOLUTION

    def predict(self, X):
        """The highest-scoring class of each sample, in evaluation mode: -> (N,) ints."""
        ### BEGIN SOLUTION
        return np.argmax(self.forward(X, train=False), axis=1)
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
