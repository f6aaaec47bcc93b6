"""Weight initialization, and deep fully connected networks to watch its effect on activations.

Networks are ``reference.modules.Sequential`` classifiers of layer objects.
"""

import numpy as np

from reference.modules import Affine, ReLU, Sequential, Tanh


def initialize(fan_in, fan_out, method, rng=None):
    """A (fan_in, fan_out) weight matrix with entries of mean 0 drawn independently:

    "zeros": all 0; "small": std 0.01; "large": std 1; "xavier": variance 1 / fan_in;
    "he": variance 2 / fan_in. rng: a numpy Generator or a seed.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    if method == "zeros":
        return np.zeros((fan_in, fan_out))
    std = {"small": 0.01, "large": 1.0, "xavier": np.sqrt(1.0 / fan_in), "he": np.sqrt(2.0 / fan_in)}[method]
    return std * rng.standard_normal((fan_in, fan_out))
    ### END SOLUTION




def make_deep_mlp(sizes, activation="relu", init="he", seed=0):
    """Affine layers sizes[0] -> sizes[1] -> ... -> sizes[-1] with an activation layer
    (``ReLU`` for "relu", ``Tanh`` for "tanh") after every affine layer but the last, as a
    ``Sequential`` with ``seed``.

    Affine layer k gets weights ``initialize(sizes[k], sizes[k + 1], init, rng)`` with one
    ``rng = np.random.default_rng(seed)`` for all layers, and zero biases.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        affine = Affine(fan_in, fan_out)
        affine.params["w"] = initialize(fan_in, fan_out, init, rng)
        layers.append(affine)
        if k < len(sizes) - 2:
            layers.append(ReLU() if activation == "relu" else Tanh())
    return Sequential(*layers, seed=seed)
    ### END SOLUTION


def hidden_activations(model, X):
    """The outputs of every activation layer of a ``Sequential`` for input X, in test mode:
    a list of (N, width) arrays, first hidden layer first."""
    ### BEGIN SOLUTION
    outputs = []
    for layer in model.layers:
        X = layer.forward(X, train=False)
        if not layer.params:
            outputs.append(X)
    return outputs
    ### END SOLUTION
