"""Numerical gradient checks by central differences, shared by notebooks and rubrics.

Run checks in float64: with ``h = 1e-5`` a correct gradient agrees to a relative error of
about 1e-8 or better, while a wrong one is usually off by 1e-2 or more.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of the scalar function ``f`` at ``x`` (any shape) by central differences.

    ``x`` is perturbed in place and restored; the result has the shape of ``x``.
    """
    x = np.asarray(x)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = float(f(x))
        x[index] = old - h
        minus = float(f(x))
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def numerical_vjp(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                  h: float = 1e-5) -> np.ndarray:
    """Vector-Jacobian product ``dout . df/dx`` by central differences, shape of ``x``.

    This is what a layer's backward pass returns for upstream gradient ``dout``.
    """
    return numerical_gradient(lambda v: np.sum(np.asarray(f(v)) * dout), x, h)


def rel_error(a, b, floor: float = 1e-8) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, floor)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def numerical_vjps(f: Callable[..., np.ndarray], inputs: list[np.ndarray], dout: np.ndarray,
                   h: float = 1e-5) -> list[np.ndarray]:
    """``numerical_vjp`` for every argument of a layer with several inputs: ``f(*inputs)``
    returns one array of the shape of ``dout``; the k-th result, of the shape of
    ``inputs[k]``, is ``dout . df/d inputs[k]`` (what a backward pass returns for it)."""
    def varying(k):
        return lambda v: f(*inputs[:k], v, *inputs[k + 1:])

    return [numerical_vjp(varying(k), np.array(x, dtype=np.float64), dout, h) for k, x in enumerate(inputs)]
