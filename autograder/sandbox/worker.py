"""The worker: holds one submission and answers calls on it. Runs inside the sandbox.

Started as ``python -m autograder.sandbox.worker``. The protocol runs over the original stdin and
stdout; the student's prints go to stderr, which the grader reads separately. An optional
first message names modules to import before the submission is known (so that a spare
worker is warm); the next loads the cells: the worker applies its limits and confinement
and reports them (the only reply written before any student code runs), then runs the
cells and reports on them; every later message is a call, an attribute read or a release.
Every reply carries the ``id`` of the message it answers.
Only NumPy (and torch, if the submission imports it) is ever loaded here.
"""

from __future__ import annotations

import importlib
import itertools
import os
import random
import resource
import sys
import traceback
import types
import warnings

from autograder.sandbox import confine, watch, wire

CELL_MARK = "\x00course-cell:"  # tells the grader which cell was loading


class Session:
    """The submission's namespace and the handles given out for its objects."""

    def __init__(self):
        self.module = types.ModuleType("submission")
        self.namespace = self.module.__dict__
        self.handles: dict[int, object] = {}
        self.next_handle = itertools.count(1)
        self.floating_point = watch.FloatingPointLog()

    def load(self, cells: list[dict]) -> list[dict]:
        """Execute each cell in order; one failing cell does not stop the next."""
        sys.modules["submission"] = self.module
        report = []
        for cell in cells:
            if "numpy" in sys.modules:  # before any student code can decorate with np.errstate
                self.floating_point.guard(sys.modules["numpy"])
            print(f"{CELL_MARK}{cell['name']}", flush=True)
            before = set(self.namespace)
            try:
                code = compile(cell["source"], f"<cell {cell['name']}>", "exec")
                exec(code, self.namespace)
                error = None
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                error = describe(exc)
            report.append({"name": cell["name"], "error": error,
                           "defined": sorted(set(self.namespace) - before)})
        return report

    def target(self, spec: dict):
        if "handle" in spec:
            try:
                return self.handles[spec["handle"]]
            except KeyError:
                raise LookupError(f"handle {spec['handle']} is unknown") from None
        name = spec["name"]
        if name not in self.namespace or name.startswith("__"):
            raise MissingName(name)
        return self.namespace[name]

    def resolve(self, spec: dict, attrs: list[str]):
        obj = self.target(spec)
        for attr in attrs:
            obj = getattr(obj, attr)
        return obj

    def to_wire(self, value) -> tuple[object, list]:
        buffers: list = []

        def other(obj):
            for plain in (bool, int, float, str, bytes, list, tuple, dict):
                if isinstance(obj, plain):  # a subclass: reduce it to the plain type
                    return wire.encode(plain(obj), buffers, other)
            return self.as_handle(obj)

        return wire.encode(value, buffers, other), buffers

    def as_handle(self, value) -> dict:
        handle = next(self.next_handle)
        self.handles[handle] = value
        try:
            text = repr(value)[:200]
        except BaseException:  # noqa: BLE001
            text = "<unprintable>"
        return {"$": "handle", "id": handle, "type": type(value).__name__, "repr": text}

    def from_wire(self, data, buffers):
        return wire.decode(data, buffers, lambda tag: self.target({"handle": tag.get("id")}))


class MissingName(Exception):
    """The submission defines no such name."""


def describe(exc: BaseException) -> dict:
    """Type, message and the student-code frames of an exception."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell ")]
    where = [f"cell '{f.filename[6:-1]}', line {f.lineno}, in {f.name}" for f in frames[-3:]]
    syntax = isinstance(exc, SyntaxError) and str(exc.filename).startswith("<cell ")
    if syntax:
        where = [f"cell '{exc.filename[6:-1]}', line {exc.lineno}"]
    try:
        message = str(exc.msg if syntax else exc)[:1000]
    except BaseException:  # noqa: BLE001
        message = "<unprintable message>"
    return {"type": type(exc).__name__, "message": message, "where": where}


MAX_POLL_SECONDS = 0.001  # the most a worker polls for its next request before sleeping
CPU_GRACE_SECONDS = 5  # between SIGXCPU at the soft CPU limit and SIGKILL at the hard one
RESOURCE_LIMITS = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
                   "file_bytes": resource.RLIMIT_FSIZE, "open_files": resource.RLIMIT_NOFILE,
                   "processes": resource.RLIMIT_NPROC}


def apply_limits(limits: dict) -> None:
    """Resource limits for everything the submission does from here on, hard values
    included, so that no student code can raise them again."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in RESOURCE_LIMITS.items():
        value = limits.get(key)
        if value:
            _, hard = resource.getrlimit(which)
            grace = CPU_GRACE_SECONDS if which == resource.RLIMIT_CPU else 0
            ceiling = value + grace if hard == resource.RLIM_INFINITY else min(value + grace, hard)
            resource.setrlimit(which, (min(value, ceiling), ceiling))


def enter_sandbox(header: dict) -> dict:
    """Limits, a private folder and confinement, before any student code runs: the report
    the grader reads, the one reply no student code can have written."""
    limits = header.get("limits", {})
    apply_limits(limits)
    folder = os.getcwd()
    if limits.get("tmp_bytes") and limits.get("tmp_files"):
        confine.private_folder(folder, limits["tmp_bytes"], limits["tmp_files"])
    applied = confine.confine(header.get("confine", {}))
    usage = os.statvfs(folder)
    limited = bool(limits.get("tmp_files")) and usage.f_files <= limits["tmp_files"]
    return {"ok": True, "confined": applied, "folder_limited": limited}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        if torch.cuda.is_available():
            torch.manual_seed(seed)  # every device's generator (CUDA's once it starts)
        else:  # the CPU's alone: torch.manual_seed would also queue a seed for every device
            torch.default_generator.manual_seed(seed)  # type not started, at 60 us a call
        torch.set_num_threads(1)


def handle(session: Session, header: dict, buffers: list) -> tuple[dict, list]:
    op = header.get("op")
    if op == "release":
        for handle_id in header.get("ids", []):
            session.handles.pop(handle_id, None)
        return {"ok": True, "value": None}, []
    obj = session.resolve(header["target"], header.get("attrs", []))
    if op == "get":
        value = obj
    elif op == "call":
        args = session.from_wire(header.get("args", []), buffers)
        kwargs = session.from_wire(header.get("kwargs", {"$": "dict", "items": []}), buffers)
        arguments = watch.argument_names(obj, args, kwargs)
        before = [watch.snapshot(value) for _, value in arguments]
        seed_everything(header.get("seed", 0))
        with warnings.catch_warnings(record=True) as caught, session.floating_point.watching():
            warnings.simplefilter("always")
            value = obj(*args, **kwargs)
        raised = session.floating_point.events + [f"{w.category.__name__}: {w.message}"[:300]
                                                  for w in caught[:20]]
        modified = [c for (name, now), then in zip(arguments, before) for c in watch.changes(then, now, name)]
        encoded, out = session.to_wire(value)
        return {"ok": True, "value": encoded, "warnings": raised, "modified": modified}, out
    else:
        raise ValueError(f"unknown operation {op!r}")
    encoded, out = session.to_wire(value)
    return {"ok": True, "value": encoded}, out


def main() -> None:
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)

    def answer(header: dict, reply: dict, buffers: list = ()) -> None:
        wire.send(proto_out, dict(reply, id=header.get("id")), list(buffers))

    reader = wire.Reader(proto_in)
    header, _ = wire.receive(reader)
    if header.get("op") == "preload":  # trusted module names, imported before any student code
        for name in header.get("modules", []):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the setup cells will report it properly
                pass
        answer(header, {"ok": True})
        header, _ = wire.receive(reader)
    try:
        report = enter_sandbox(header)
    except Exception as exc:  # noqa: BLE001 - reported before any student code runs
        answer(header, {"ok": False, "sandbox_error": f"{type(exc).__name__}: {exc}"})
        return
    answer(header, report)
    poll = header.get("poll")
    reader.poll = min(float(poll), MAX_POLL_SECONDS) if type(poll) in (int, float) and poll > 0 else 0.0
    seed_everything(0)
    session = Session()
    cells = session.load(header.get("cells", []))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    answer(header, {"ok": True, "cells": cells})

    while True:
        try:
            header, buffers = wire.receive(reader)
        except wire.PeerGone:
            return
        try:
            reply, out = handle(session, header, buffers)
        except MissingName as exc:
            reply, out = {"ok": False, "missing": str(exc)}, []
        except BaseException as exc:  # noqa: BLE001 - reported, never re-raised
            reply, out = {"ok": False, "error": describe(exc)}, []
        sys.stdout.flush()
        try:
            answer(header, reply, out)
        except (ValueError, TypeError, OverflowError) as exc:
            answer(header, {"ok": False, "error": describe(exc)})


if __name__ == "__main__":
    main()
