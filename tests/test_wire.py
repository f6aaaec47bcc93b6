"""The worker protocol carries plain data only, and rejects anything malformed."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch

from autograder.sandbox import wire


def roundtrip(value):
    buffers: list = []
    data = wire.encode(value, buffers, lambda v: (_ for _ in ()).throw(TypeError(type(v))))
    read, write = os.pipe()
    wire.send(write, {"value": data}, buffers)
    header, raw = wire.receive(wire.Reader(read), deadline=None)
    os.close(read), os.close(write)
    return wire.decode(header["value"], raw, lambda tag: tag)


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 1.5, float("inf"), "text", b"\x00bytes", [1, [2, "x"]], (1, (2.0,)),
    {"a": 1, 2: (3,), (1, 2): None},
])
def test_plain_values_roundtrip_exactly(value):
    assert roundtrip(value) == value and type(roundtrip(value)) is type(value)


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4), np.arange(6, dtype=np.int32)[::2], np.zeros((0, 3)),
    np.array(True), np.array([1 + 2j]), np.asfortranarray(np.ones((2, 3), np.float32)),
])
def test_arrays_roundtrip_with_dtype_and_shape(array):
    back = roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and np.array_equal(back, array)
    assert back.flags.writeable


def test_numpy_scalars_and_tensors_keep_their_kind():
    assert type(roundtrip(np.float32(1.5))) is np.float32
    tensor = roundtrip(torch.arange(4, dtype=torch.float64))
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64


def test_dtypes_and_devices_cross_as_names():
    assert roundtrip(np.float32) == np.dtype("float32") and roundtrip(np.dtype("int64")) == np.int64
    assert roundtrip(torch.float64) is torch.float64
    assert roundtrip(torch.device("cpu")) == torch.device("cpu")
    for bad in [{"$": "dtype", "lib": "torch", "name": "nn"}, {"$": "dtype", "lib": "numpy", "name": "object"},
                {"$": "device", "name": "cuda; rm"}]:
        with pytest.raises(wire.ProtocolError):
            wire.decode(bad, [], lambda tag: tag)


def test_other_objects_go_to_the_fallback():
    with pytest.raises(TypeError):
        roundtrip(object())
    with pytest.raises(TypeError):
        roundtrip(np.array([object()]))


@pytest.mark.parametrize("data", [
    {"$": "array", "dtype": "|O", "shape": [1], "buf": 0},
    {"$": "array", "dtype": "<f8", "shape": [3], "buf": 0},
    {"$": "array", "dtype": "<f8", "shape": [-1], "buf": 0},
    {"$": "array", "dtype": [("a", "<f8")], "shape": [1], "buf": 0},
    {"$": "array", "dtype": "<f8", "shape": [1], "buf": 5},
    {"$": "pickle", "data": "gASV"},
    {"$": "dict", "items": [[[1], 2]]},
    {"$": "tuple"},
])
def test_malformed_data_is_rejected(data):
    with pytest.raises(wire.ProtocolError):
        wire.decode(data, [b"\x00" * 8], lambda tag: tag)


def test_deep_nesting_is_rejected():
    value = []
    for _ in range(wire.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ValueError):
        wire.encode(value, [], lambda v: v)


def test_receive_honours_the_deadline_and_size_limit():
    import time

    read, write = os.pipe()
    with pytest.raises(wire.TimedOut):
        wire.receive(wire.Reader(read), deadline=time.monotonic() + 0.05)
    wire.send(write, {"x": 1}, [b"a" * 100])
    with pytest.raises(wire.ProtocolError):
        wire.receive(wire.Reader(read), deadline=time.monotonic() + 1, max_bytes=10)
    os.close(read), os.close(write)
    read, write = os.pipe()
    os.close(write)
    with pytest.raises(wire.PeerGone):
        wire.receive(wire.Reader(read), deadline=time.monotonic() + 1)
    os.close(read)


def test_a_reader_keeps_the_bytes_of_the_next_messages_for_them():
    """Messages sent back to back arrive whole and in order, however the reads split them:
    small ones in one read, an array larger than a read's chunk across many."""
    read, write = os.pipe()
    big = np.arange(300_000, dtype=np.float64)  # 2.4 MB: written while the reader reads
    messages = [({"n": 1}, []), ({"n": 2}, [b"xy"]), ({"n": 3}, [memoryview(big).cast("B")]), ({"n": 4}, [])]
    writer = threading.Thread(target=lambda: [wire.send(write, h, b) for h, b in messages])
    writer.start()
    reader = wire.Reader(read)
    received = [wire.receive(reader, deadline=None) for _ in messages]
    writer.join()
    assert [h["n"] for h, _ in received] == [1, 2, 3, 4] and received[1][1] == [b"xy"]
    assert np.array_equal(np.frombuffer(received[2][1][0], dtype=np.float64), big)
    assert not reader.pending
    os.close(read), os.close(write)


def test_a_polling_reader_reads_alike_and_still_honours_deadline_and_end():
    """Polling only changes how a reader waits: a message that arrives during the poll or after
    it is read whole, no message still times out at the deadline, a closed pipe still ends it."""
    import time

    read, write = os.pipe()
    reader = wire.Reader(read, poll=0.05)
    for delay in (0.01, 0.1):  # within the poll, then after it (a sleeping wait)
        timer = threading.Timer(delay, lambda: wire.send(write, {"after": delay}, [b"z" * 10]))
        timer.start()
        header, buffers = wire.receive(reader, deadline=time.monotonic() + 5)
        timer.join()
        assert header["after"] == delay and buffers == [b"z" * 10]
    started = time.monotonic()
    with pytest.raises(wire.TimedOut):
        wire.receive(reader, deadline=started + 0.02)  # a deadline before the poll ends
    assert time.monotonic() - started < 0.5
    os.close(write)
    with pytest.raises(wire.PeerGone):
        wire.receive(reader, deadline=None)
    os.close(read)
