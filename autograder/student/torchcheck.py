"""Reference-free comparisons with PyTorch, shared by notebooks, rubric tests and the project's
own tests: the same computation done by a hand-written function and by torch.

An *update rule* is a pure function ``rule(w, dw, state, **hyper) -> (new_w, state)`` with
``state=None`` on the first step (``reference.optim``'s contract).
"""

from __future__ import annotations

import numpy as np
import torch


def rule_trajectory(rule, w0: np.ndarray, gradients: list[np.ndarray], **hyper) -> tuple[np.ndarray, object]:
    """The iterates of ``rule`` fed ``gradients`` from ``w0``: (array (steps, *w0.shape), final
    state). A result that is not a pair of a ``w0``-shaped array and a state fails with a
    message naming the rule."""
    name = getattr(rule, "__name__", None) or repr(rule)
    w, state, iterates = w0, None, []
    for g in gradients:
        result = rule(w, g, state, **hyper)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise AssertionError(f"{name} should return a pair (new_w, state)")
        w, state = result
        if np.shape(w) != np.shape(w0):
            raise AssertionError(f"the new w returned by {name} has shape {np.shape(w)}, "
                                 f"expected {np.shape(w0)}")
        iterates.append(np.asarray(w, dtype=np.float64))
    return np.array(iterates), state


def torch_trajectory(optimizer_class, w0: np.ndarray, gradients: list[np.ndarray],
                     **hyper) -> tuple[np.ndarray, dict]:
    """The iterates of a ``torch.optim`` optimizer fed the same gradients, and its state."""
    p = torch.nn.Parameter(torch.tensor(w0))
    optimizer = optimizer_class([p], **hyper)
    iterates = []
    for g in gradients:
        p.grad = torch.tensor(g)
        optimizer.step()
        iterates.append(p.detach().numpy().copy())
    return np.array(iterates), optimizer.state[p]


def two_layer_sgd(params: dict, X: np.ndarray, y: np.ndarray, lr: float, epochs: int,
                  batch_size: int, seed: int, scheduler=None) -> tuple[dict, list[float]]:
    """Mini-batch SGD on an affine - ReLU - affine classifier (``params``: W1, b1, W2, b2)
    with mean cross-entropy, in torch: each epoch visits ``rng.permutation(N)`` in batches
    (``rng = np.random.default_rng(seed)``); ``scheduler(optimizer)`` (e.g. a
    ``torch.optim.lr_scheduler`` class with its arguments bound) steps after every epoch.

    Returns (the trained parameters as arrays, the learning rate of every epoch)."""
    tensors = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
               for k, v in params.items()}
    optimizer = torch.optim.SGD(list(tensors.values()), lr=lr)
    schedule = scheduler(optimizer) if scheduler else None
    order_rng, rates = np.random.default_rng(seed), []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        order = order_rng.permutation(len(X))
        for begin in range(0, len(X), batch_size):
            batch = order[begin:begin + batch_size]
            hidden = torch.relu(torch.tensor(X[batch]) @ tensors["W1"] + tensors["b1"])
            loss = torch.nn.functional.cross_entropy(hidden @ tensors["W2"] + tensors["b2"],
                                                     torch.tensor(y[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if schedule:
            schedule.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}, rates
