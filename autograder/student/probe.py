"""Linear probes: how much of a task a set of frozen features makes linearly solvable."""

from __future__ import annotations

import numpy as np


def linear_probe_accuracy(features_fit: np.ndarray, labels_fit: np.ndarray, features_score: np.ndarray,
                          labels_score: np.ndarray) -> float:
    """Accuracy on (features_score, labels_score) of scikit-learn's logistic regression fitted
    to (features_fit, labels_fit), features (N, D) standardized with the fitted part's mean
    and standard deviation."""
    from sklearn.linear_model import LogisticRegression

    features_fit, features_score = np.asarray(features_fit, np.float64), np.asarray(features_score, np.float64)
    mean, std = features_fit.mean(axis=0), features_fit.std(axis=0) + 1e-8
    probe = LogisticRegression(max_iter=2000).fit((features_fit - mean) / std, labels_fit)
    return float(probe.score((features_score - mean) / std, labels_score))
