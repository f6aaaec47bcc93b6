"""The worker protocol: plain data across a pipe, never pickle.

A message is an 8-byte big-endian header length, a JSON header, then the raw bytes of
every array the header names. Values are encoded as JSON with tagged objects:

    {"$": "tuple", "items": [...]}          {"$": "dict", "items": [[key, value], ...]}
    {"$": "array", "dtype": "<f8", "shape": [2, 3], "buf": 0}   (NumPy, numeric dtypes only)
    {"$": "tensor", ...same as array...}    {"$": "scalar", ...0-d array...}
    {"$": "bytes", "buf": 1}                {"$": "handle", "id": 7, "type": "Net", "repr": "..."}
    {"$": "ref", "id": 7}                   (a handle sent back to the worker)
    {"$": "dtype", "lib": "torch", "name": "float64"}     {"$": "device", "name": "cuda:0"}

Lists, strings, numbers, booleans and None are JSON themselves. Decoding builds only
exact built-in types and base-class ``np.ndarray``s, so nothing a student writes can
reach the trusted process as code; and every string of a received header (messages,
warnings, type names, dictionary keys, returned strings) is valid Unicode, a lone
surrogate replaced by U+FFFD, so that every writer can encode it.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import select
import struct
import time
from typing import Any, Callable

import numpy as np

MAX_HEADER_BYTES = 16 << 20
SURROGATE = re.compile("[\ud800-\udfff]")
ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # how JSON writes one
MAX_DEPTH = 64
ALLOWED_KINDS = set("biufc")  # bool, int, uint, float, complex


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class PeerGone(ProtocolError):
    """The other side closed the pipe."""


class TimedOut(Exception):
    """No complete message arrived before the deadline."""


# ---------------------------------------------------------------- encoding


def encode(value: Any, buffers: list, other: Callable[[Any], dict], depth: int = 0) -> Any:
    """Encode ``value`` as JSON-able data; raw array bytes are appended to ``buffers``.

    ``other(value)`` encodes anything that is not plain data (the worker turns it into a
    handle; the trusted side raises).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value
    if type(value) is list:
        return [encode(v, buffers, other, depth + 1) for v in value]
    if type(value) is tuple:
        return {"$": "tuple", "items": [encode(v, buffers, other, depth + 1) for v in value]}
    if type(value) is dict:
        return {"$": "dict", "items": [[encode(k, buffers, other, depth + 1),
                                        encode(v, buffers, other, depth + 1)]
                                       for k, v in value.items()]}
    if type(value) is bytes:
        buffers.append(value)
        return {"$": "bytes", "buf": len(buffers) - 1}
    if isinstance(value, np.ndarray) and value.dtype.kind in ALLOWED_KINDS:
        return _encode_array("array", np.asarray(value), buffers)
    if isinstance(value, np.generic) and value.dtype.kind in ALLOWED_KINDS:
        return _encode_array("scalar", np.asarray(value), buffers)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        dtype = np.dtype(value)
        if dtype.kind in ALLOWED_KINDS:
            return {"$": "dtype", "lib": "numpy", "name": dtype.name}
    torch = _torch_if_loaded()
    if torch is not None and isinstance(value, torch.dtype):
        return {"$": "dtype", "lib": "torch", "name": str(value).removeprefix("torch.")}
    if torch is not None and isinstance(value, torch.device):
        return {"$": "device", "name": str(value)}
    if _is_tensor(value):
        array = value.detach().cpu()
        if array.dtype.is_floating_point and array.element_size() < 4:
            array = array.float()
        array = array.numpy()
        if array.dtype.kind in ALLOWED_KINDS:
            return _encode_array("tensor", array, buffers)
    return other(value)


def _encode_array(tag: str, array: np.ndarray, buffers: list) -> dict:
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    buffers.append(memoryview(array).cast("B") if array.size else b"")
    return {"$": tag, "dtype": array.dtype.str, "shape": list(array.shape), "buf": len(buffers) - 1}


def _is_tensor(value: Any) -> bool:
    torch = _torch_if_loaded()
    return torch is not None and isinstance(value, torch.Tensor)


def _torch_if_loaded():
    import sys

    return sys.modules.get("torch")


# ---------------------------------------------------------------- decoding


def decode(data: Any, buffers: list, tagged: Callable[[dict], Any], depth: int = 0) -> Any:
    """Inverse of ``encode``; ``tagged(obj)`` decodes handle and ref tags."""
    if depth > MAX_DEPTH:
        raise ProtocolError("data nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, buffers, tagged, depth + 1) for v in data]
    if type(data) is not dict:
        raise ProtocolError(f"unexpected JSON value of type {type(data).__name__}")
    tag = data.get("$")
    if tag == "tuple":
        return tuple(decode(v, buffers, tagged, depth + 1) for v in _items(data))
    if tag == "dict":
        pairs = [(decode(k, buffers, tagged, depth + 1), decode(v, buffers, tagged, depth + 1))
                 for k, v in (_pair(p) for p in _items(data))]
        try:
            return dict(pairs)
        except TypeError as error:
            raise ProtocolError(f"unhashable dictionary key: {error}") from None
    if tag == "bytes":
        return bytes(_buffer(data, buffers))
    if tag in ("array", "scalar", "tensor"):
        array = _decode_array(data, buffers)
        if tag == "scalar":
            return array[()]
        if tag == "tensor":
            torch = _import_torch()
            return torch.from_numpy(array) if torch is not None else array
        return array
    if tag == "dtype":
        return _decode_dtype(data)
    if tag == "device":
        name = data.get("name")
        torch = _import_torch()
        if type(name) is not str or not re.fullmatch(r"(cpu|cuda|mps)(:\d+)?", name) or torch is None:
            raise ProtocolError(f"invalid device {name!r}")
        return torch.device(name)
    if tag in ("handle", "ref"):
        return tagged(data)
    raise ProtocolError(f"unknown tag {tag!r}")


def _items(data: dict) -> list:
    items = data.get("items")
    if type(items) is not list:
        raise ProtocolError("tagged container without an item list")
    return items


def _pair(item: Any) -> tuple:
    if type(item) is not list or len(item) != 2:
        raise ProtocolError("dictionary item is not a [key, value] pair")
    return item[0], item[1]


def _buffer(data: dict, buffers: list) -> bytes:
    index = data.get("buf")
    if type(index) is not int or not 0 <= index < len(buffers):
        raise ProtocolError("reference to a missing buffer")
    return buffers[index]


def _decode_array(data: dict, buffers: list) -> np.ndarray:
    try:
        dtype = np.dtype(data["dtype"])
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"invalid dtype: {error}") from None
    shape = data.get("shape")
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"dtype {dtype} is not a plain numeric dtype")
    if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError(f"invalid array shape {shape!r}")
    raw = _buffer(data, buffers)
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise ProtocolError(f"array of shape {tuple(shape)} and dtype {dtype} does not match "
                            f"its {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode_dtype(data: dict):
    name, lib = data.get("name"), data.get("lib")
    if type(name) is not str or not re.fullmatch(r"[a-z]+[0-9]*", name):
        raise ProtocolError(f"invalid dtype name {name!r}")
    if lib == "numpy":
        try:
            dtype = np.dtype(name)
        except TypeError:
            raise ProtocolError(f"unknown NumPy dtype {name!r}") from None
        if dtype.kind in ALLOWED_KINDS:
            return dtype
    torch = _import_torch() if lib == "torch" else None
    if torch is not None and isinstance(getattr(torch, name, None), torch.dtype):
        return getattr(torch, name)
    raise ProtocolError(f"unknown {lib} dtype {name!r}")


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ---------------------------------------------------------------- framing


IOV_MAX = 1024


def send(fd: int, header: dict, buffers: list) -> None:
    """Write one message (header plus raw buffers) to the file descriptor ``fd``."""
    header = dict(header, buffers=[len(memoryview(b).cast("B")) for b in buffers])
    text = json.dumps(header, allow_nan=True).encode()
    _write_all(fd, [struct.pack(">Q", len(text)) + text, *buffers])


def _write_all(fd: int, parts: list) -> None:
    """Write ``parts`` in as few system calls as the pipe allows: each wakes the reader."""
    views = [v for v in (memoryview(p).cast("B") for p in parts) if len(v)]
    while views:
        written = os.writev(fd, views[:IOV_MAX])
        while written:
            if written >= len(views[0]):
                written -= len(views.pop(0))
            else:
                views[0], written = views[0][written:], 0


def widen(fd: int) -> None:
    """Let the pipe of ``fd`` hold 1 MiB (the most an unprivileged process may ask for by
    default) instead of 64 KiB, so that a message of arrays is written in one go rather
    than a 64 KiB part per wake-up of its reader; left as it is where that is refused."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (OSError, AttributeError):
        pass


class Reader:
    """The messages on one file descriptor, read in chunks of up to 1 MiB: a small message
    costs one system call (and one wait), and bytes of the next wait for it here.

    ``poll``: seconds to poll for data before each wait that sleeps. Where the other side
    answers within microseconds and has a core of its own, polling saves a sleep and a
    wake-up per message (a call's round trip 0.16 -> 0.07 ms); elsewhere it costs at most
    that CPU time per wait."""

    CHUNK = 1 << 16

    def __init__(self, fd: int, poll: float = 0.0):
        self.fd, self.poll = fd, poll
        self.pending = bytearray()

    def exact(self, n: int, deadline: float | None) -> bytes:
        """The next ``n`` bytes; ``TimedOut`` once ``time.monotonic()`` passes ``deadline``."""
        while len(self.pending) < n:
            if self.poll:
                self._poll(deadline)
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
                    raise TimedOut()
            chunk = os.read(self.fd, min(max(n - len(self.pending), self.CHUNK), 1 << 20))
            if not chunk:
                raise PeerGone()
            self.pending += chunk
        with memoryview(self.pending) as view:  # one copy (a slice, then bytes, made two)
            data = view[:n].tobytes()
        del self.pending[:n]
        return data

    def _poll(self, deadline: float | None) -> None:
        """Return once data (or the end) is readable, ``poll`` seconds have passed, or the deadline."""
        until = time.monotonic() + self.poll
        until = until if deadline is None else min(until, deadline)
        while not select.select([self.fd], [], [], 0)[0] and time.monotonic() < until:
            pass


def receive(reader: Reader, deadline: float | None = None, max_bytes: int = 1 << 40) -> tuple[dict, list]:
    """Read one message; raise ``TimedOut`` once ``time.monotonic()`` passes ``deadline``."""
    (length,) = struct.unpack(">Q", reader.exact(8, deadline))
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header of {length} bytes is too large")
    try:
        header = loads(reader.exact(length, deadline).decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ProtocolError(f"message header is not JSON: {type(error).__name__}: {error}") from None
    sizes = header.get("buffers") if type(header) is dict else None
    if type(sizes) is not list or not all(type(n) is int and n >= 0 for n in sizes):
        raise ProtocolError("message header lists no valid buffer sizes")
    if sum(sizes) > max_bytes:
        raise ProtocolError(f"message of {sum(sizes)} bytes exceeds the limit of {max_bytes} bytes")
    return header, [reader.exact(n, deadline) for n in sizes]


def loads(text: str) -> Any:
    """JSON ``text`` decoded, with every lone surrogate in its strings and keys replaced by
    U+FFFD (JSON may escape one; no writer can encode it)."""
    data = json.loads(text)
    return valid_unicode(data) if ESCAPED_SURROGATE.search(text) else data


def valid_unicode(data: Any) -> Any:
    """Decoded JSON ``data`` with every lone surrogate in its strings and keys replaced."""
    if type(data) is str:
        return SURROGATE.sub("\ufffd", data)
    if type(data) is list:
        return [valid_unicode(v) for v in data]
    if type(data) is dict:
        return {valid_unicode(k): valid_unicode(v) for k, v in data.items()}
    return data
