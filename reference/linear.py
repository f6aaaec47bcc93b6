"""Linear and logistic regression in NumPy.

Shapes: ``X`` is (N, D) features, ``y`` is (N,) targets or 0/1 labels, ``w`` is (D + 1,)
weights with the bias first. The losses live in ``reference.losses``, the sigmoid in
``reference.activations``.
"""

import numpy as np

from reference.activations import sigmoid
from reference.losses import bce_with_logits, mse_loss


def add_bias(X):
    """Prepend a column of ones to X: (N, D) -> (N, D + 1)."""
    ### BEGIN SOLUTION
    ones = np.ones((X.shape[0], 1), dtype=X.dtype)
    return np.hstack([ones, X])
    ### END SOLUTION


def predict_linear(X, w):
    """Linear predictions y_hat = [1, X] w: (N, D), (D + 1,) -> (N,)."""
    ### BEGIN SOLUTION
    return add_bias(X) @ w
    ### END SOLUTION


def fit_normal_equations(X, y):
    """Least-squares weights from the normal equations (X_b^T X_b) w = X_b^T y.

    X: (N, D), y: (N,) -> w: (D + 1,). Solves the linear system instead of inverting.
    """
    ### BEGIN SOLUTION
    Xb = add_bias(X)
    return np.linalg.solve(Xb.T @ Xb, Xb.T @ y)
    ### END SOLUTION


def fit_linear_gd(X, y, lr=0.1, epochs=500):
    """Linear regression by full-batch gradient descent on the MSE, starting at w = 0.

    X: (N, D), y: (N,) -> (w of shape (D + 1,), history: list of the loss before each step).
    """
    ### BEGIN SOLUTION
    Xb = add_bias(X)
    w = np.zeros(Xb.shape[1])
    history = []
    for _ in range(epochs):
        loss, dy_pred = mse_loss(Xb @ w, y)
        history.append(float(loss))
        w = w - lr * (Xb.T @ dy_pred)
    return w, history
    ### END SOLUTION


def fit_logistic(X, y, lr=0.5, epochs=300):
    """Logistic regression by full-batch gradient descent on the BCE, starting at w = 0.

    X: (N, D), y: (N,) 0/1 -> (w of shape (D + 1,), history: list of the loss before each step).
    """
    ### BEGIN SOLUTION
    Xb = add_bias(X)
    w = np.zeros(Xb.shape[1])
    history = []
    for _ in range(epochs):
        loss, dlogits = bce_with_logits(Xb @ w, y)
        history.append(float(loss))
        w = w - lr * (Xb.T @ dlogits)
    return w, history
    ### END SOLUTION


def predict_proba(X, w):
    """Probability of class 1 for each row: (N, D), (D + 1,) -> (N,)."""
    ### BEGIN SOLUTION
    return sigmoid(add_bias(X) @ w)
    ### END SOLUTION


def predict(X, w):
    """Predicted 0/1 labels, class 1 where its probability is at least 0.5: -> (N,) ints."""
    ### BEGIN SOLUTION
    return (predict_proba(X, w) >= 0.5).astype(np.int64)
    ### END SOLUTION
