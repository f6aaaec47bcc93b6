"""Regularization in NumPy: weight penalties and inverted dropout.

The layer object ``reference.modules.Dropout`` wraps dropout; networks with it, and bagged
ensembles of them, are in ``reference.networks``.
"""

import numpy as np


def l1_penalty(w, lam):
    """L1 penalty lam * sum |w| and its subgradient lam * sign(w) (0 at w = 0): -> (penalty, dw).

    w is left unchanged.
    """
    ### BEGIN SOLUTION
    return lam * np.abs(w).sum(), lam * np.sign(w)
    ### END SOLUTION


def l2_penalty(w, lam):
    """L2 penalty lam / 2 * sum w^2 and its gradient lam * w: -> (penalty, dw).

    The gradient is what ``weight_decay=lam`` adds in ``torch.optim.SGD``. w is left unchanged.
    """
    ### BEGIN SOLUTION
    return 0.5 * lam * np.sum(w * w), lam * w
    ### END SOLUTION


def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout: zero each entry with probability p, scale survivors by 1 / (1 - p).

    x: any shape, 0 <= p < 1; rng: a numpy Generator (or a seed) that draws the mask.
    Returns (out, cache): in training E[out] = x; at test time (train=False) out is a copy
    of x and nothing is dropped. x is left unchanged.
    """
    ### BEGIN SOLUTION
    if not train:
        return x.copy(), np.ones_like(x)
    rng = np.random.default_rng(rng)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Backward of dropout: dout (any shape) -> dx of the same shape.

    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    mask = cache
    return dout * mask
    ### END SOLUTION








