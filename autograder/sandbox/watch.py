"""What the worker watches while a call into student code runs. Runs inside the sandbox.

* Floating-point errors (overflow, invalid value, division by zero) reach a log through
  NumPy's error callback, not through Python's warnings, and the submission cannot switch
  them off: ``np.errstate``, ``np.seterr`` and ``np.seterrcall`` are replaced by versions
  that turn "ignore" (or "warn", "print", "log") into "call" and keep the log. What a
  stability test grades is therefore what the computation did, not what was silenced.
* Arguments changed in place: plain-data arguments (arrays, tensors, and lists, tuples and
  dicts of them) are copied before the call and compared after it.
"""

from __future__ import annotations

import inspect
import sys
import types
import weakref

SILENCING = ("ignore", "warn", "print", "log")
WATCHED = ("divide", "over", "invalid")
MAX_COPY_BYTES = 64 << 20  # larger arguments are not compared


class FloatingPointLog:
    """NumPy's floating-point errors during a call, whatever the submission asks NumPy to do."""

    def __init__(self):
        self.events: list[str] = []
        self.guarded = None  # the numpy module whose error handling is guarded
        self.errstate = None  # NumPy's own errstate

    def guard(self, numpy) -> None:
        """Route NumPy's floating-point errors to this log, for good (idempotent)."""
        if self.guarded is numpy:
            return
        self.guarded = numpy
        numpy.seterrcall(self._record)
        original_seterr = numpy.seterr
        original_errstate = self.errstate = numpy.errstate

        def seterr(all=None, **modes):  # noqa: A002 - NumPy's own argument name
            return original_seterr(**_unsilenced(all, modes))

        class errstate(original_errstate):  # noqa: N801 - replaces NumPy's class of that name
            def __init__(self, *, call=None, all=None, **modes):  # noqa: A002
                super().__init__(**_unsilenced(all, modes))

        numpy.seterr, numpy.errstate = seterr, errstate
        numpy.seterrcall = lambda function: self._record

    def _record(self, kind: str, flag: int) -> None:
        if len(self.events) < 20:
            self.events.append(f"RuntimeWarning: {kind} encountered")

    def watching(self):
        """A context in which every watched error of NumPy's reaches this log."""
        self.events.clear()
        numpy = sys.modules.get("numpy")
        if numpy is None:
            return _Nothing()
        self.guard(numpy)
        return self.errstate(divide="call", over="call", invalid="call", under="ignore")


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _unsilenced(all_mode: str | None, modes: dict) -> dict:
    """NumPy error modes with every silencing mode of a watched error turned into "call"."""
    result = {key: modes.get(key, all_mode) for key in (*WATCHED, "under")}
    for key in WATCHED:
        if result[key] in SILENCING:
            result[key] = "call"
    return {key: mode for key, mode in result.items() if mode is not None}


def snapshot(value):
    """A copy of the plain data in ``value`` (None where there is nothing to compare)."""
    numpy, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return value.copy() if value.nbytes <= MAX_COPY_BYTES else None
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().clone() if value.nelement() * value.element_size() <= MAX_COPY_BYTES else None
    if type(value) in (list, tuple):
        return type(value)(snapshot(v) for v in value)
    if type(value) is dict:
        return {k: snapshot(v) for k, v in value.items()}
    return None


def changes(before, after, where: str) -> list[str]:
    """Where ``after`` differs from its ``snapshot`` ``before`` (``where`` names the root)."""
    if before is None:
        return []
    numpy, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    if numpy is not None and isinstance(before, numpy.ndarray):
        same = (isinstance(after, numpy.ndarray) and after.shape == before.shape
                and (numpy.array_equal(after, before)  # 5x faster than with NaNs: tried first
                     or before.dtype.kind in "fc" and numpy.array_equal(after, before, equal_nan=True)))
        return [] if same else [where]
    if torch is not None and isinstance(before, torch.Tensor):
        same = (isinstance(after, torch.Tensor) and after.shape == before.shape
                and bool(torch.equal(after.detach(), before) or torch.allclose(
                    after.detach(), before, rtol=0, atol=0, equal_nan=True)))
        return [] if same else [where]
    if type(before) in (list, tuple):
        if type(after) is not type(before) or len(after) != len(before):
            return [where]
        return [c for i, (b, a) in enumerate(zip(before, after)) for c in changes(b, a, f"{where}[{i}]")]
    if type(before) is dict:
        if type(after) is not dict or set(after) != set(before):
            return [where]
        return [c for k in before for c in changes(before[k], after[k], f"{where}[{k!r}]")]
    return []


def argument_names(function, args: list, kwargs: dict) -> list[tuple[str, object]]:
    """(name, value) of every argument of a call, named as the function names them."""
    try:
        bound = _signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
    named = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            named += list(value.items())
        else:
            named.append((name, value))
    return named


_SIGNATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> its signature


def _signature(function) -> inspect.Signature:
    """``inspect.signature(function)``, kept for plain functions (hashed by identity, so no
    student code runs to look one up): finding it takes most of the worker's time per call."""
    if type(function) is not types.FunctionType:
        return inspect.signature(function)
    found = _SIGNATURES.get(function)
    if found is None:
        found = _SIGNATURES[function] = inspect.signature(function)
    return found
