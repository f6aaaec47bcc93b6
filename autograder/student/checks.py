"""Assertions for rubric tests, with failure messages a student can act on.

Each takes ``what``, the expression being checked as the student would write it
(``"mse_loss's gradient"``), and names it in the message.
"""

from __future__ import annotations

import abc
from typing import Callable

import numpy as np

from autograder.student.gradcheck import numerical_gradient


class Opaque(abc.ABC):
    """An object that lives in the student's worker (a handle the grader holds), not data."""


def as_array(value, what: str) -> np.ndarray:
    """``value`` (array, tensor, number or nested list of numbers) as a float or int array."""
    if isinstance(value, Opaque):
        raise AssertionError(f"{what} returned {value!r}, not an array or a number")
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, (str, bytes, dict)):
        raise AssertionError(f"{what} returned {type(value).__name__}, not an array or a number")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise AssertionError(f"{what} returned something that is not an array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise AssertionError(f"{what} returned values of type {array.dtype}, not numbers")
    return array


def as_number(value, what: str) -> float:
    """``value`` as a float; a NumPy scalar crosses from the submission as a 1-element array."""
    array = as_array(value, what)
    if array.size != 1:
        raise AssertionError(f"{what} returned {array.size} numbers, expected one")
    return float(array.reshape(-1)[0])


def assert_shape(value, shape: tuple, what: str) -> None:
    array = as_array(value, what)
    if array.shape != tuple(shape):
        raise AssertionError(f"{what} has shape {array.shape}, expected {tuple(shape)}")


def assert_close(actual, expected, what: str, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Equal shapes, finite where expected is finite, and ``|a - e| <= atol + rtol |e|``."""
    actual = as_array(actual, what).astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        if actual.size == 1 and expected.size == 1:
            actual = actual.reshape(expected.shape)
        else:
            raise AssertionError(f"{what} has shape {actual.shape}, expected {expected.shape}")
    bad_nonfinite = ~np.isfinite(actual) & np.isfinite(expected)
    if bad_nonfinite.any():
        index = _index(np.argmax(bad_nonfinite), actual.shape)
        raise AssertionError(f"{what} contains {actual[index]} at index {list(index)} where "
                             f"{expected[index]:.6g} was expected (overflow?)")
    close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        index = _index(np.argmax(~close), actual.shape)
        where = f" at index {list(index)}" if actual.ndim else ""
        raise AssertionError(f"{what} is wrong{where}: got {actual[index]:.6g}, expected "
                             f"{expected[index]:.6g} ({int((~close).sum())} of {close.size} "
                             "values differ)")


def assert_gradient(gradient, forward: Callable[[np.ndarray], float], x: np.ndarray, what: str,
                    tol: float = 1e-6) -> None:
    """``gradient`` matches central differences of the scalar ``forward`` at ``x`` (float64).

    The error is measured against the largest gradient entry, so that entries near zero,
    where central differences carry relative noise, do not fail a correct gradient.
    """
    gradient = as_array(gradient, what).astype(np.float64)
    x = np.array(x, dtype=np.float64)
    numeric = numerical_gradient(lambda v: float(as_array(forward(v.copy()), what).reshape(())), x)
    if gradient.shape != numeric.shape:
        raise AssertionError(f"{what} has shape {gradient.shape}, expected {numeric.shape}")
    scale = max(float(np.max(np.abs(numeric), initial=0)), float(np.max(np.abs(gradient), initial=0)), 1e-12)
    error = float(np.max(np.abs(gradient - numeric), initial=0)) / scale
    if not error < tol:
        raise AssertionError(f"{what} disagrees with central differences: relative error "
                             f"{error:.2e} (a correct gradient gives below {tol:.0e})")


def assert_no_overflow(grader, what: str) -> None:
    """The latest call into the submission (``grader``: the rubric's fixture of that name)
    raised no overflow or invalid-value warning."""
    bad = [w for w in grader.warnings if "overflow" in w or "invalid value" in w]
    if bad:
        raise AssertionError(f"{what} is not numerically stable: {bad[0]}")


def assert_at_least(value: float, threshold: float, what: str) -> None:
    if not float(value) >= threshold:
        raise AssertionError(f"{what} is {float(value):.4f}, below the required {threshold:.4f}")


def accuracy(predicted, labels, what: str = "the predictions") -> float:
    """Fraction of ``predicted`` equal to ``labels``, after checking the shape."""
    predicted = as_array(predicted, what)
    labels = np.asarray(labels)
    if predicted.shape != labels.shape:
        raise AssertionError(f"{what} have shape {predicted.shape}, expected {labels.shape}")
    return float(np.mean(predicted == labels))


def _index(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
