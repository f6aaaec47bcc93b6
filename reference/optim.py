"""First-order update rules as pure functions ``rule(w, dw, state=None, **hyper) -> (new_w, state)``.

``w`` and ``dw`` are arrays of any one shape (a parameter and its gradient); ``state`` is
what the rule carried over from its previous step (``None`` before the first step) and is
never modified in place. Argument names and defaults are those of ``torch.optim``, except
that ``momentum`` defaults to 0.9 where torch's 0 would switch it off.
"""

import numpy as np

from reference.networks import TwoLayerNet


def sgd(w, dw, state=None, lr=1e-3):
    """Plain gradient descent, w <- w - lr dw. Returns (new_w, None): SGD keeps no state.

    w and dw are left unchanged: new_w is a new array.
    """
    ### BEGIN SOLUTION
    return w - lr * dw, None
    ### END SOLUTION


def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):
    """Momentum: v <- momentum v - lr dw; w <- w + v, with v = 0 before the first step.

    Returns (new_w, {"velocity": v}), v of w's shape.
    w, dw and state are left unchanged: the new state is a new dict of new arrays.
    """
    ### BEGIN SOLUTION
    v = np.zeros_like(w) if state is None else state["velocity"]
    v = momentum * v - lr * dw
    return w + v, {"velocity": v}
    ### END SOLUTION


def sgd_nesterov(w, dw, state=None, lr=1e-3, momentum=0.9):
    """Nesterov momentum, stored at the look-ahead point w = theta + momentum v.

    dw is the gradient at that point; v <- momentum v - lr dw; w <- w + momentum v - lr dw
    (with the new v). Returns (new_w, {"velocity": v}).
    w, dw and state are left unchanged: the new state is a new dict of new arrays.
    """
    ### BEGIN SOLUTION
    v = np.zeros_like(w) if state is None else state["velocity"]
    v = momentum * v - lr * dw
    return w + momentum * v - lr * dw, {"velocity": v}
    ### END SOLUTION


def rmsprop(w, dw, state=None, lr=1e-2, alpha=0.99, eps=1e-8):
    """RMSProp: s <- alpha s + (1 - alpha) dw^2; w <- w - lr dw / (sqrt(s) + eps), s = 0 at first.

    eps is added to the root, outside it, as torch.optim.RMSprop does.
    Returns (new_w, {"square_avg": s}).
    w, dw and state are left unchanged: the new state is a new dict of new arrays.
    """
    ### BEGIN SOLUTION
    s = np.zeros_like(w) if state is None else state["square_avg"]
    s = alpha * s + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {"square_avg": s}
    ### END SOLUTION


def adam(w, dw, state=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Adam with bias correction, step t counted from 1:

    m <- b1 m + (1 - b1) dw;  v <- b2 v + (1 - b2) dw^2;
    w <- w - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t):
    eps is added to the root of the corrected v_hat, as torch.optim.Adam does.
    Returns (new_w, {"step": t, "exp_avg": m, "exp_avg_sq": v}).
    w, dw and state are left unchanged: the new state is a new dict of new arrays.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if state is None:
        t, m, v = 0, np.zeros_like(w), np.zeros_like(w)
    else:
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
    t += 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
    ### END SOLUTION


def train_with(update, X, y, steps=200, batch_size=64, hidden_dim=50, weight_scale=1e-2, seed=0,
               **hyper):
    """Train a ``TwoLayerNet`` on (X, y) with ``update(w, dw, state, **hyper) -> (new_w, state)``
    applied to every parameter, one state per parameter.

    X: (N, D), y: (N,) integer labels. Each step draws ``batch_size`` samples without
    replacement (``np.random.default_rng(seed)``). Returns (the loss on all of (X, y) after
    ``steps`` steps, the list of batch losses of every step).
    """
    net = TwoLayerNet(X.shape[1], hidden_dim, int(np.max(y)) + 1, weight_scale=weight_scale, seed=seed)
    rng = np.random.default_rng(seed)
    states = {name: None for name in net.params}
    history = []
    for _ in range(steps):
        batch = rng.choice(len(X), batch_size, replace=False)
        loss, grads = net.loss(X[batch], y[batch])
        history.append(loss)
        for name, w in net.params.items():
            new_w, states[name] = update(w, grads[name], states[name], **hyper)
            net.params[name] = np.asarray(new_w, dtype=np.float64)
            if net.params[name].shape != w.shape:
                raise AssertionError(f"the update rule turned a parameter of shape {w.shape} into "
                                     f"one of shape {net.params[name].shape}")
    return net.loss(X, y)[0], history
