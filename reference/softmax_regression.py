"""Softmax regression: a linear layer scored by the softmax cross-entropy, in NumPy.

Shapes: ``X`` is (N, D) features, ``y`` is (N,) integer labels in [0, C), ``W`` is (D, C)
and ``b`` is (C,).
"""

import numpy as np

from reference.losses import softmax_cross_entropy


def fit_softmax_regression(X, y, lr=1.0, epochs=300):
    """Softmax regression by full-batch gradient descent, starting at W = 0, b = 0.

    X: (N, D), y: (N,) ints; the number of classes is C = max(y) + 1.
    Returns (W (D, C), b (C,), history: list of the loss before each step).
    """
    ### BEGIN SOLUTION
    n_classes = int(np.max(y)) + 1
    W = np.zeros((X.shape[1], n_classes))
    b = np.zeros(n_classes)
    history = []
    for _ in range(epochs):
        loss, dscores = softmax_cross_entropy(X @ W + b, y)
        history.append(float(loss))
        W = W - lr * (X.T @ dscores)
        b = b - lr * dscores.sum(axis=0)
    return W, b, history
    ### END SOLUTION


def predict_classes(X, W, b):
    """The class with the largest score for each row: (N, D), (D, C), (C,) -> (N,) ints."""
    ### BEGIN SOLUTION
    return np.argmax(X @ W + b, axis=1)
    ### END SOLUTION
