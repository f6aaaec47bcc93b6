"""Layers as pairs of functions: ``X_forward(x, *params) -> (out, cache)`` and
``X_backward(dout, cache) -> (dx, *dparams)``.

``cache`` holds what the backward pass needs from the forward pass; ``dout`` is the
gradient of the loss with respect to ``out`` and has its shape; every returned gradient has
the shape of the input or parameter it belongs to. The ReLU lives in ``reference.activations``.
"""

import numpy as np

from reference.activations import relu_backward, relu_forward


def affine_forward(x, w, b):
    """Affine map of each sample, flattened: out = x.reshape(N, D) @ w + b.

    x: (N, d1, ..., dk) with D = d1 * ... * dk, w: (D, M), b: (M,) -> out: (N, M);
    cache: (x, w). The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)
    ### END SOLUTION


def affine_backward(dout, cache):
    """Gradients of the affine map: dout (N, M) -> (dx (N, d1, ..., dk), dw (D, M), db (M,)).

    dx = dout @ w^T reshaped to x's shape, dw = x_flat^T @ dout, db = sum of dout over samples.
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x, w = cache
    x_flat = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


def affine_relu_forward(x, w, b):
    """An affine map followed by a ReLU: (N, d1, ..., dk), (D, M), (M,) -> out (N, M), cache.

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    a, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (affine_cache, relu_cache)
    ### END SOLUTION


def affine_relu_backward(dout, cache):
    """Gradients of affine_relu_forward: dout (N, M) -> (dx of x's shape, dw (D, M), db (M,)).

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    affine_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, affine_cache)
    ### END SOLUTION
