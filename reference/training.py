"""Training practice: learning-rate decay in the training loop, data splits, cross-validation,
grid and random search over hyperparameters, and the "overfit one batch first" check.

Models are ``reference.networks.TwoLayerNet``-like: ``params``, ``loss(X, y) -> (loss, grads)``
and ``predict(X)``. Schedules are those of ``reference.schedules``, named by a string. A
*configuration* is a dict of keyword arguments of ``fit_model``; a *space* maps each
searched name to a list of choices or to a tuple ("log", low, high) / ("uniform", low, high).
"""

import itertools

import numpy as np

from reference.networks import TwoLayerNet
from reference.schedules import exponential_decay, inverse_sqrt_decay, inverse_time_decay, step_decay


def learning_rate(epoch, lr, schedule=None, **schedule_args):
    """The learning rate during ``epoch`` (from 0), starting at ``lr``, under a named schedule.

    schedule: None (constant lr), "inverse_time", "step", "exponential" or "inverse_sqrt";
    ``schedule_args`` are the schedule's own arguments (decay_rate, step_size and gamma, gamma).
    """
    ### BEGIN SOLUTION
    if schedule is None:
        return lr
    decay = {"inverse_time": inverse_time_decay, "step": step_decay,
             "exponential": exponential_decay, "inverse_sqrt": inverse_sqrt_decay}[schedule]
    return float(decay(epoch, lr, **schedule_args))
    ### END SOLUTION


def train_with_schedule(model, X, y, lr=0.1, epochs=10, batch_size=100, schedule=None, seed=0,
                        X_val=None, y_val=None, **schedule_args):
    """Mini-batch SGD with a learning rate that decays by epoch.

    Each epoch visits the samples in the order ``rng.permutation(N)`` (one permutation per
    epoch from ``rng = np.random.default_rng(seed)``) in batches of ``batch_size`` (the last
    may be smaller) and updates every array of ``model.params`` in place, p -= rate * grad,
    where during epoch e the rate is ``learning_rate(e, lr, schedule, **schedule_args)``.
    Returns a history dict: "loss" (every step), "lr" (every epoch), "train_acc" and
    "val_acc" (after every epoch; "val_acc" stays empty without validation data).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    history = {"loss": [], "lr": [], "train_acc": [], "val_acc": []}
    for epoch in range(epochs):
        rate = learning_rate(epoch, lr, schedule, **schedule_args)
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            params = model.params
            for name, grad in grads.items():
                params[name] -= rate * grad
            history["loss"].append(float(loss))
        history["lr"].append(float(rate))
        history["train_acc"].append(float(np.mean(model.predict(X) == y)))
        if X_val is not None:
            history["val_acc"].append(float(np.mean(model.predict(X_val) == y_val)))
    return history
    ### END SOLUTION


def overfit_one_batch(model, X, y, lr=0.5, steps=200):
    """Full-batch gradient descent on one small batch X (N, D), y (N,): ``steps`` updates
    p -= lr * grad of every array of ``model.params``, in place.

    Returns the list of the ``steps`` losses, each computed before its update.
    """
    ### BEGIN SOLUTION
    losses = []
    for _ in range(steps):
        loss, grads = model.loss(X, y)
        params = model.params
        for name, grad in grads.items():
            params[name] -= lr * grad
        losses.append(float(loss))
    return losses
    ### END SOLUTION


def stratified_split(y, fractions=(0.8, 0.2), seed=0):
    """Split the indices 0..N-1 of the labels y (N,) into len(fractions) disjoint parts.

    Every class is split on its own: its indices, shuffled by
    ``np.random.default_rng(seed).permutation`` (one call per class, in increasing order of
    class), are cut at round(cumsum(fractions) / sum(fractions) * n_class). Returns a tuple of
    sorted index arrays, one per fraction, which together hold every index once.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(fractions) / np.sum(fractions)
    parts = [[] for _ in fractions]
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        members = members[rng.permutation(len(members))]
        bounds = np.round(cuts * len(members)).astype(int)
        for part, chunk in zip(parts, np.split(members, bounds[:-1])):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(part)) for part in parts)
    ### END SOLUTION


def k_fold_indices(n, k=5, seed=0):
    """k-fold cross-validation of n samples: a list of k pairs (train_idx, val_idx).

    The shuffled indices ``np.random.default_rng(seed).permutation(n)`` are cut into k folds
    of sizes differing by at most one (``np.array_split``); pair i validates on fold i (sorted)
    and trains on all other indices (sorted).
    """
    ### BEGIN SOLUTION
    folds = np.array_split(np.random.default_rng(seed).permutation(n), k)
    pairs = []
    for i, fold in enumerate(folds):
        rest = np.concatenate([f for j, f in enumerate(folds) if j != i])
        pairs.append((np.sort(rest), np.sort(fold)))
    return pairs
    ### END SOLUTION


def fit_model(X, y, hidden_dim=100, weight_scale=1e-3, reg=0.0, lr=0.1, epochs=20, batch_size=50,
              schedule=None, seed=0, **schedule_args):
    """A ``TwoLayerNet(D, hidden_dim, C, weight_scale, reg, seed)`` (C = max(y) + 1) trained on
    X (N, D), y (N,) by ``train_with_schedule(model, X, y, lr, epochs, batch_size, schedule,
    seed, **schedule_args)``: the same seed draws the initial weights and orders the batches.
    Returns the model."""
    ### BEGIN SOLUTION
    model = TwoLayerNet(X.shape[1], hidden_dim, int(np.max(y)) + 1, weight_scale=weight_scale,
                        reg=reg, seed=seed)
    train_with_schedule(model, X, y, lr=lr, epochs=epochs, batch_size=batch_size, schedule=schedule,
                        seed=seed, **schedule_args)
    return model
    ### END SOLUTION


def evaluate(X_train, y_train, X_val, y_val, **config):
    """Validation accuracy (a float) of ``fit_model(X_train, y_train, **config)`` on (X_val, y_val)."""
    ### BEGIN SOLUTION
    model = fit_model(X_train, y_train, **config)
    return float(np.mean(model.predict(X_val) == y_val))
    ### END SOLUTION


def cross_validate(X, y, k=5, seed=0, **config):
    """k-fold cross-validation of a configuration: the list of the k validation accuracies of
    ``evaluate`` on the pairs of ``k_fold_indices(N, k, seed)``, in fold order."""
    ### BEGIN SOLUTION
    return [evaluate(X[train], y[train], X[val], y[val], **config)
            for train, val in k_fold_indices(len(X), k, seed)]
    ### END SOLUTION


def sample_config(space, rng=None):
    """One configuration drawn from ``space``: a dict with the keys of ``space``, in order.

    A list of choices gives one of them, uniformly; ("uniform", low, high) a float uniform in
    [low, high); ("log", low, high) a float whose logarithm is uniform in [log low, log high).
    rng: a numpy Generator or a seed.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    config = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            config[name] = spec[int(rng.integers(len(spec)))]
        elif spec[0] == "log":
            config[name] = float(np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]))))
        else:
            config[name] = float(rng.uniform(spec[1], spec[2]))
    return config
    ### END SOLUTION


def grid_search(X_train, y_train, X_val, y_val, grid, **fixed):
    """Every combination of the value lists of ``grid`` (a dict name -> list), evaluated by
    ``evaluate(..., **config, **fixed)``.

    Returns (best, results): results lists one dict per combination, in the order of
    ``itertools.product`` over the grid's keys, holding the configuration and its "score";
    best is the configuration (without "score") of the first highest score.
    """
    ### BEGIN SOLUTION
    names = list(grid)
    results = []
    for values in itertools.product(*(grid[name] for name in names)):
        config = dict(zip(names, values))
        results.append({**config, "score": evaluate(X_train, y_train, X_val, y_val, **config, **fixed)})
    best = results[int(np.argmax([row["score"] for row in results]))]
    return {name: best[name] for name in names}, results
    ### END SOLUTION


def random_search(X_train, y_train, X_val, y_val, space, n_trials=10, seed=0, **fixed):
    """``n_trials`` configurations drawn by ``sample_config(space, rng)`` with one
    ``rng = np.random.default_rng(seed)``, each evaluated by ``evaluate(..., **config, **fixed)``.

    Returns (best, results) like ``grid_search``, results in the order of the trials.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(n_trials):
        config = sample_config(space, rng)
        results.append({**config, "score": evaluate(X_train, y_train, X_val, y_val, **config, **fixed)})
    best = results[int(np.argmax([row["score"] for row in results]))]
    return {name: best[name] for name in space}, results
    ### END SOLUTION
