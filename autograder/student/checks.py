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
        got, want = _distinct(actual[index], expected[index])
        raise AssertionError(f"{what} is wrong{where}: got {got}, expected {want} "
                             f"({int((~close).sum())} of {close.size} values differ)")


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
    raised no overflow or invalid-value floating-point error, not even one it silenced with
    np.errstate, np.seterr or a warnings filter."""
    bad = [w for w in grader.warnings if "overflow" in w or "invalid value" in w]
    if bad:
        raise AssertionError(f"{what} is not numerically stable: {bad[0]}")


def assert_unchanged(grader, what: str) -> None:
    """The latest call into the submission (``grader``: the rubric's fixture of that name)
    left its array arguments (and lists and dicts of them) as they were."""
    if grader.modified:
        raise AssertionError(f"{what} changed its argument {', '.join(grader.modified[:3])} in place; "
                             "return new values and leave the inputs as they were")


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


def _distinct(got: float, want: float) -> tuple[str, str]:
    """The two numbers with as many significant digits as it takes to tell them apart."""
    for digits in (6, 10, 17):
        shown = f"{got:.{digits}g}", f"{want:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown


def _index(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def assert_raises(call: Callable[[], object], error: str, what: str) -> str:
    """``call()``, a call into the submission, raises an exception of the type named ``error``
    (e.g. "ValueError"); returns its message. The submission's exception reaches the grader
    as a message "<name> raised ValueError: ..."; any other exception (a stub's
    NotImplementedError included) is passed on with its own message."""
    try:
        call()
    except Exception as raised:  # noqa: BLE001 - the proxy's report of the submission's exception
        message = str(raised)
        if f"raised {error}" in message:
            return message
        if " raised " in message and "not implemented" not in message:
            raise AssertionError(f"{message}; expected a {error}") from None
        raise
    raise AssertionError(f"{what} returned a value; it should raise a {error}")


def checked_state_dict(model, shapes: dict, what: str = "state_dict()") -> dict:
    """``model.state_dict()`` (a model of the submission; or ``model`` itself when it is a
    state dict already), after checking that it is a dict with exactly the names of
    ``shapes`` (name -> shape), in any order, and that every entry has its shape."""
    state = model if isinstance(model, dict) else model.state_dict()
    if not isinstance(state, dict):
        raise AssertionError(f"{what} returned {type(state).__name__}, expected a dict of tensors")
    if sorted(state) != sorted(shapes):
        raise AssertionError(f"{what} has the keys {sorted(state)}, expected {sorted(shapes)}")
    for name, shape in shapes.items():
        assert_shape(state[name], tuple(shape), f"{what}['{name}']")
    return state


def with_params(model, params, what: str = "params"):
    """``model`` (a trusted NumPy model with a ``params`` dict) with every array overwritten,
    in place, by the submission's ``params`` (name -> array of the same shape); returns it."""
    if not isinstance(params, dict):
        raise AssertionError(f"{what} is a {type(params).__name__}, expected a dict of arrays")
    for name, value in model.params.items():
        assert_shape(params.get(name), value.shape, f"{what}['{name}']")
        value[...] = params[name]
    return model
