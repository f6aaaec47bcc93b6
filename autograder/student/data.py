"""Data sets that need no download, split and standardized the same way everywhere.

Every loader is deterministic for a given ``seed`` and returns
``(X_train, y_train, X_test, y_test)`` as float64 features and labels.
"""

from __future__ import annotations

import numpy as np


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0):
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the rows."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def standardize(X_train: np.ndarray, X_test: np.ndarray):
    """Scale features to zero mean and unit variance using training statistics only."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std


def _split(X, y, seed):
    X_train, y_train, X_test, y_test = train_test_split(np.asarray(X, np.float64), np.asarray(y), seed=seed)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, y_train, X_test, y_test


def diabetes(seed: int = 0):
    """scikit-learn's diabetes regression set: 442 x 10 features, targets 25-346."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    return _split(data.data, data.target.astype(np.float64), seed)


def breast_cancer(seed: int = 0):
    """scikit-learn's breast-cancer set: 569 x 30 features, labels 0 (malignant) / 1 (benign)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return _split(data.data, data.target.astype(np.float64), seed)


def digits(seed: int = 0):
    """scikit-learn's digits: 1797 images of 8x8 flattened to 64 features, labels 0-9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X_train, y_train, X_test, y_test = train_test_split(data.data / 16.0, data.target, seed=seed)
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)
