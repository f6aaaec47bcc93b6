"""Activation and output functions, and activations as layers.

Layers follow ``X_forward(x, *params) -> (out, cache)`` and ``X_backward(dout, cache)``;
the backward returns ``dx`` alone for a layer without parameters and ``(dx, *dparams)``
otherwise. ``dout`` has the shape of ``out``; every gradient has the shape of what it belongs to.
"""

import numpy as np


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), elementwise: no intermediate result overflows,
    for any z. The argument is left unchanged."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def sigmoid_forward(x):
    """Sigmoid layer: x (any shape) -> (out = sigmoid(x), cache = out).

    No intermediate result overflows, for any x; x is left unchanged.
    """
    ### BEGIN SOLUTION
    out = sigmoid(x)
    return out, out
    ### END SOLUTION


def sigmoid_backward(dout, cache):
    """Gradient of the sigmoid layer: dx = dout * s (1 - s) with s = sigmoid(x).

    No intermediate result overflows, for any x; the arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    out = cache
    return dout * out * (1.0 - out)
    ### END SOLUTION


def tanh_forward(x):
    """Hyperbolic tangent layer: x (any shape) -> (out = tanh(x), cache = out).

    x is left unchanged.
    """
    ### BEGIN SOLUTION
    out = np.tanh(x)
    return out, out
    ### END SOLUTION


def tanh_backward(dout, cache):
    """Gradient of the tanh layer: dx = dout * (1 - tanh(x)^2). The arguments are left unchanged."""
    ### BEGIN SOLUTION
    out = cache
    return dout * (1.0 - out ** 2)
    ### END SOLUTION


def relu_forward(x):
    """Rectified linear unit: x (any shape) -> (out = max(x, 0), cache = x).

    x is left unchanged: out is a new array.
    """
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    return out, x
    ### END SOLUTION


def relu_backward(dout, cache):
    """Gradient of the ReLU: dx = dout where x > 0, and 0 where x <= 0.

    The arguments are left unchanged: dx is a new array.
    """
    ### BEGIN SOLUTION
    x = cache
    return np.where(x > 0, dout, 0.0)
    ### END SOLUTION


def leaky_relu_forward(x, negative_slope=0.01):
    """Leaky ReLU: out = x where x > 0, negative_slope * x elsewhere; cache = (x, negative_slope).

    x is left unchanged.
    """
    ### BEGIN SOLUTION
    out = np.where(x > 0, x, negative_slope * x)
    return out, (x, negative_slope)
    ### END SOLUTION


def leaky_relu_backward(dout, cache):
    """Gradient of the leaky ReLU: dx = dout where x > 0, negative_slope * dout elsewhere.

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x, negative_slope = cache
    return np.where(x > 0, dout, negative_slope * dout)
    ### END SOLUTION


def prelu_forward(x, alpha):
    """Parametric ReLU with one learnable slope per channel: out = x if x > 0 else alpha_c x.

    x: (N, C) or (N, C, d1, ...), alpha: (C,) -> out of x's shape; cache = (x, alpha).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    a = alpha.reshape((1, -1) + (1,) * (x.ndim - 2))
    out = np.where(x > 0, x, a * x)
    return out, (x, alpha)
    ### END SOLUTION


def prelu_backward(dout, cache):
    """Gradients of the PReLU: -> (dx of x's shape, dalpha (C,)).

    dalpha_c sums dout * x over every position of channel c where x <= 0, across the
    whole batch (and any trailing dimensions). The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x, alpha = cache
    a = alpha.reshape((1, -1) + (1,) * (x.ndim - 2))
    dx = np.where(x > 0, dout, a * dout)
    axes = (0,) + tuple(range(2, x.ndim))
    dalpha = np.sum(np.where(x > 0, 0.0, dout * x), axis=axes)
    return dx, dalpha
    ### END SOLUTION


def maxout_forward(x, w, b):
    """Maxout over k affine pieces: out = max_j (x @ w[j] + b[j]), elementwise over pieces.

    x: (N, D), w: (k, D, M), b: (k, M) -> out: (N, M); cache = (x, w, winner) where
    winner (N, M) holds the index of the largest piece. The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    z = x @ w + b[:, None, :]  # (k, N, M)
    winner = np.argmax(z, axis=0)
    out = np.take_along_axis(z, winner[None], axis=0)[0]
    return out, (x, w, winner)
    ### END SOLUTION


def maxout_backward(dout, cache):
    """Gradients of maxout: dout (N, M) -> (dx (N, D), dw (k, D, M), db (k, M)).

    Each output's gradient flows only into the piece that won it in the forward pass.
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x, w, winner = cache
    pieces = np.arange(w.shape[0])[:, None, None]
    dz = (pieces == winner) * dout  # (k, N, M), zero for the pieces that lost
    dx = np.sum(dz @ w.transpose(0, 2, 1), axis=0)
    dw = x.T @ dz
    db = dz.sum(axis=1)
    return dx, dw, db
    ### END SOLUTION


def softmax(scores):
    """Softmax along the last axis: (..., C) -> probabilities (..., C).

    No intermediate result overflows, for any scores; scores is left unchanged.
    """
    ### BEGIN SOLUTION
    shifted = scores - np.max(scores, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION


def log_softmax(scores):
    """Logarithm of the softmax along the last axis, stable: (..., C) -> (..., C).

    log softmax(s)_c = s_c - m - log sum_j exp(s_j - m) with m = max_j s_j: no intermediate
    result overflows, for any scores; scores is left unchanged.
    """
    ### BEGIN SOLUTION
    shifted = scores - np.max(scores, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    ### END SOLUTION
