"""Reference-free comparisons with PyTorch, shared by notebooks, rubric tests and the project's
own tests: the same computation done by a hand-written function and by torch.

An *update rule* is a pure function ``rule(w, dw, state, **hyper) -> (new_w, state)`` with
``state=None`` on the first step (``reference.optim``'s contract).
"""

from __future__ import annotations

import numpy as np
import torch

from autograder.student.checks import as_array, assert_close, checked_state_dict


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


def recurrent_weights(layer: torch.nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Wx (D, G), Wh (H, G), b (G,)) of a one-layer torch RNN or LSTM, or of its cell,
    for a step written as ``x @ Wx + h @ Wh + b``: torch's weight_ih (G, D) and weight_hh
    (G, H) transposed, its two biases bias_ih and bias_hh summed. G is H for an RNN, 4H for
    an LSTM (gate blocks in torch's order i, f, g, o)."""
    suffix = "_l0" if hasattr(layer, "weight_ih_l0") else ""

    def weight(name):
        return getattr(layer, name + suffix).detach().cpu().numpy()

    return weight("weight_ih").T, weight("weight_hh").T, weight("bias_ih") + weight("bias_hh")


def vjp_first_argument(function, x, grad_output, *args, **kwargs):
    """(function(x, *args, **kwargs), the vector-Jacobian product of ``grad_output`` with the
    output's derivative with respect to ``x``): torch.autograd.functional.vjp with only the
    first argument differentiable, for functions that also take integer tensors or numbers
    (an ``edge_index``, a number of nodes). A list of tensors returned is taken as a tuple."""
    def first_argument_only(v):
        out = function(v, *args, **kwargs)
        return tuple(out) if isinstance(out, list) else out

    return torch.autograd.functional.vjp(first_argument_only, x, grad_output)


def nt_xent_by_the_formula(z1: np.ndarray, z2: np.ndarray, temperature: float) -> float:
    """The NT-Xent (SimCLR) loss of projections z1, z2 (N, D) of two views, written out anchor
    by anchor in NumPy: the mean over the 2N rows u_i of cat([z1, z2]) scaled to unit length
    of -log(exp(u_i . u_p / T) / sum_{k != i} exp(u_i . u_k / T)), p the other view of i."""
    u = np.concatenate([z1, z2]).astype(np.float64)
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    n = len(z1)
    losses = []
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        denominator = sum(np.exp(u[i] @ u[k] / temperature) for k in range(2 * n) if k != i)
        losses.append(-np.log(np.exp(u[i] @ u[positive] / temperature) / denominator))
    return float(np.mean(losses))


def with_state_of(module: torch.nn.Module, trained, what: str = "state_dict()") -> torch.nn.Module:
    """The trusted ``module`` holding the weights of the submission's ``trained`` module (or
    of its state dict): the same names and shapes are required, values are converted to the
    module's own dtypes. Returns ``module``."""
    expected = module.state_dict()
    state = checked_state_dict(trained, {name: tuple(value.shape) for name, value in expected.items()}, what)
    module.load_state_dict({name: torch.as_tensor(as_array(value, f"{what}['{name}']")).to(expected[name].dtype)
                            for name, value in state.items()})
    return module


def assert_two_layer_sequential_matches_torch(model, params: dict, X: np.ndarray, y: np.ndarray,
                                              dout: np.ndarray, reg: float) -> torch.Tensor:
    """Checks ``model``, a Sequential(Affine, ReLU, Affine, reg=reg) holding ``params``
    ("0.w", "0.b", "2.w", "2.b"), against torch: ``model.loss(X, y)`` (cross-entropy plus
    0.5 * reg * sum(w^2)) and its gradients, then ``model.backward(dout)`` after
    ``model.forward(X)``. X (N, D), y (N,), dout (N, C). Returns torch's scores (N, C)."""
    keys = ("0.w", "0.b", "2.w", "2.b")
    missing = sorted(set(keys) - set(params))
    if missing:
        raise AssertionError(f"the Sequential's params have no {missing}")
    tensors = {key: torch.tensor(params[key], requires_grad=True) for key in keys}
    X_t = torch.tensor(X, requires_grad=True)
    scores = torch.relu(X_t @ tensors["0.w"] + tensors["0.b"]) @ tensors["2.w"] + tensors["2.b"]
    expected = torch.nn.functional.cross_entropy(scores, torch.tensor(y)) + 0.5 * reg * sum(
        (tensors[key] ** 2).sum() for key in ("0.w", "2.w"))
    (dx,) = torch.autograd.grad(scores, X_t, torch.tensor(dout), retain_graph=True)
    expected.backward()
    what = f"Sequential(..., reg={reg:g})"
    loss, grads = model.loss(X, y)
    assert_close(loss, expected.item(), f"{what}.loss(X, y): cross-entropy + 0.5 * reg * sum(w^2)")
    for key, tensor in tensors.items():
        assert_close(grads.get(key), tensor.grad, f"{what}.loss(X, y)'s grads['{key}']")
    model.forward(X)
    assert_close(model.backward(dout), dx, "Sequential.backward(dout), the input gradient")
    return scores.detach()
