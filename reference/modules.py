"""Layer objects: stateful wrappers of the forward/backward pairs, and a container of them.

The layer-object protocol (every layer here follows it, and so must any new one):

* ``params``: dict name -> NumPy array of the layer's parameters (empty for none), updated
  in place by an optimizer;
* ``grads``: dict with the keys of ``params``, filled by ``backward`` with arrays of the
  same shapes;
* ``forward(x, train=True, rng=None) -> out``: keeps what ``backward`` needs; ``train``
  switches layers that differ between training and test (dropout, batch norm), and ``rng``
  (a NumPy Generator) is where layers that draw randomness draw it;
* ``backward(dout) -> dx``: the gradient with respect to the latest forward's input, of
  its shape, given the gradient ``dout`` with respect to its output.

``Sequential`` applies layer objects in order and is a classifier: a *model* has ``params``,
``loss(X, y) -> (loss, grads)`` and ``predict(X) -> (N,)`` integer labels (see
``reference.networks`` for another).
"""

import numpy as np

from reference.activations import relu_backward, relu_forward, tanh_backward, tanh_forward
from reference.conv import (avg_pool_backward, avg_pool_forward, conv_backward, conv_forward,
                            max_pool_backward, max_pool_forward)
from reference.layers import affine_backward, affine_forward
from reference.losses import softmax_cross_entropy
from reference.normalization import batchnorm_backward, batchnorm_forward
from reference.regularization import dropout_backward, dropout_forward


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



class Tanh:
    """Layer object for tanh(x), elementwise; no parameters."""

    def __init__(self):
        self.params, self.grads, self.cache = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """Any shape -> the same shape."""
        ### BEGIN SOLUTION
        out, self.cache = tanh_forward(x)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """dout of the output's shape -> dx of the input's shape."""
        ### BEGIN SOLUTION
        return tanh_backward(dout, self.cache)
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



class BatchNorm:
    """Layer object for batch normalization of (N, D) inputs, like torch.nn.BatchNorm1d.

    params: gamma (D,) = 1, beta (D,) = 0. State: running_mean (D,) = 0 and running_var (D,) = 1,
    replaced by the updated statistics after every training-mode forward.
    """

    def __init__(self, num_features, momentum=0.1, eps=1e-5):
        ### BEGIN SOLUTION
        self.params = {"gamma": np.ones(num_features), "beta": np.zeros(num_features)}
        self.grads = {}
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)
        self.momentum, self.eps = momentum, eps
        self.cache = None
        ### END SOLUTION

    def forward(self, x, train=True, rng=None):
        """(N, D) -> (N, D): batch statistics in training, running statistics in test mode."""
        ### BEGIN SOLUTION
        out, self.cache, self.running_mean, self.running_var = batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.running_mean, self.running_var,
            train=train, momentum=self.momentum, eps=self.eps)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """(N, D) -> dx (N, D); stores grads["gamma"] and grads["beta"]."""
        ### BEGIN SOLUTION
        dx, self.grads["gamma"], self.grads["beta"] = batchnorm_backward(dout, self.cache)
        return dx
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
        """Loss and gradients on a batch in train mode: X (N, ...), y (N,) integer labels ->
        (loss as a float, grads with the keys and shapes of ``params``)."""
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



class Conv2d:
    """Layer object for conv_forward (cross-correlation, as torch.nn.Conv2d) with a square
    kernel: (N, in_channels, H, W) -> (N, out_channels, H', W').

    ``params``: "w" (out_channels, in_channels, kernel_size, kernel_size) drawn from
    N(0, weight_scale^2) with ``np.random.default_rng(seed)``, "b" (out_channels,) zeros.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 weight_scale=1e-3, seed=0):
        ### BEGIN SOLUTION
        rng = np.random.default_rng(seed)
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.params = {"w": weight_scale * rng.standard_normal(shape), "b": np.zeros(out_channels)}
        self.stride, self.padding = stride, padding
        self.grads, self.cache = {}, None
        ### END SOLUTION

    def forward(self, x, train=True, rng=None):
        """(N, C, H, W) -> (N, F, H', W')."""
        ### BEGIN SOLUTION
        out, self.cache = conv_forward(x, self.params["w"], self.params["b"], self.stride, self.padding)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """(N, F, H', W') -> dx (N, C, H, W); stores grads["w"] and grads["b"]."""
        ### BEGIN SOLUTION
        dx, self.grads["w"], self.grads["b"] = conv_backward(dout, self.cache)
        return dx
        ### END SOLUTION


class MaxPool2d:
    """Layer object for max_pool_forward, as torch.nn.MaxPool2d(kernel_size, stride) without
    padding; no parameters."""

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size, self.stride = kernel_size, stride
        self.params, self.grads, self.cache = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """(N, C, H, W) -> (N, C, H', W')."""
        ### BEGIN SOLUTION
        out, self.cache = max_pool_forward(x, self.kernel_size, self.stride)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """(N, C, H', W') -> dx (N, C, H, W)."""
        ### BEGIN SOLUTION
        return max_pool_backward(dout, self.cache)
        ### END SOLUTION


class AvgPool2d:
    """Layer object for avg_pool_forward, as torch.nn.AvgPool2d(kernel_size, stride) without
    padding; no parameters."""

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size, self.stride = kernel_size, stride
        self.params, self.grads, self.cache = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """(N, C, H, W) -> (N, C, H', W')."""
        ### BEGIN SOLUTION
        out, self.cache = avg_pool_forward(x, self.kernel_size, self.stride)
        return out
        ### END SOLUTION

    def backward(self, dout):
        """(N, C, H', W') -> dx (N, C, H, W)."""
        ### BEGIN SOLUTION
        return avg_pool_backward(dout, self.cache)
        ### END SOLUTION


class Flatten:
    """Layer object that flattens each sample, as torch.nn.Flatten: (N, d1, ..., dk) ->
    (N, d1 * ... * dk); no parameters."""

    def __init__(self):
        self.params, self.grads, self.shape = {}, {}, None

    def forward(self, x, train=True, rng=None):
        """(N, d1, ..., dk) -> (N, D)."""
        ### BEGIN SOLUTION
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)
        ### END SOLUTION

    def backward(self, dout):
        """(N, D) -> dx (N, d1, ..., dk), the shape of the latest input."""
        ### BEGIN SOLUTION
        return dout.reshape(self.shape)
        ### END SOLUTION
