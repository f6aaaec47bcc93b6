"""The trusted side of the worker protocol: start a worker, call into it, proxy its objects.

``Submission`` is what rubric tests receive as the ``student`` fixture:
``student.mse_loss(y_pred, y)`` runs the student's ``mse_loss`` in the worker and returns
plain data; any other result comes back as a ``Remote`` handle that can be called, have
methods called, or be passed back as an argument. Every failure of student code (an
exception, a crash, a timeout, a missing function) surfaces as ``StudentError`` with a
reason a student can act on.
"""

from __future__ import annotations

import ast
import atexit
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field

from autograder import cgroup, sandbox, wire
from autograder.worker import CELL_MARK as MARK

OUTPUT_LIMIT = 256 << 10
PRELOAD_SECONDS = 300  # importing the instructor's modules (trusted) on a loaded machine


class StudentError(Exception):
    """Student code failed; ``str(error)`` is the reason shown to the student."""


class SandboxError(RuntimeError):
    """The grading machine cannot isolate a worker; no submission can be graded fairly."""


@dataclass
class Cell:
    """One cell of the program the worker runs: setup (instructor) or answer (student)."""

    name: str
    source: str
    defines: list[str] = field(default_factory=list)  # names the instructor's version defines
    answer: bool = True


@dataclass
class Program:
    """What a worker loads: cells in order, plus problems found while extracting them."""

    cells: list[Cell]
    problems: dict[str, str] = field(default_factory=dict)  # cell name -> why it is unusable
    fatal: str | None = None  # set when nothing of the submission is usable
    files: dict[str, str] = field(default_factory=dict)  # extra submitted files: name -> path

    def cell_defining(self, name: str) -> str | None:
        return next((c.name for c in self.cells if name in c.defines), None)


@dataclass(frozen=True)
class Limits:
    time_per_test: float = 60.0
    memory_bytes: int = 2 << 30
    cpu_seconds: int = 1200
    file_bytes: int = 64 << 20
    open_files: int = 256
    processes: int = 64
    tmp_bytes: int = 256 << 20
    max_result_bytes: int = 256 << 20
    device: str = "cpu"  # "cuda": memory is limited by a cgroup, not by address space

    def for_worker(self) -> dict:
        memory = None if self.device == "cuda" else self.memory_bytes
        return {"memory_bytes": memory, "cpu_seconds": self.cpu_seconds,
                "file_bytes": self.file_bytes, "open_files": self.open_files,
                "processes": self.processes}


class Sandboxed(subprocess.Popen):
    """A sandbox launcher started in a session of its own, killed with all it started."""

    def kill_tree(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class ForkedChild:
    """A worker forked by a zygote, seen through the pipes the grader made for it, a pidfd
    (to kill it) and a status pipe (on which the zygote writes its exit code)."""

    def __init__(self, stdin: int, stdout: int, stderr: int, status: int, pidfd: int):
        self.stdin, self.stdout = os.fdopen(stdin, "wb", buffering=0), os.fdopen(stdout, "rb", buffering=0)
        self.stderr = os.fdopen(stderr, "rb")
        self.status, self.pidfd = status, pidfd
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self.status], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("worker", timeout)
            text = os.read(self.status, 32).decode(errors="replace")
            self.returncode = int(text) if text.lstrip("-").isdigit() else -signal.SIGKILL
            os.close(self.status)
            os.close(self.pidfd)
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def kill_tree(self) -> None:
        if self.returncode is None:
            try:  # seccomp stops a forked worker from starting processes: it is the whole tree
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Worker:
    """One worker process holding one loaded submission."""

    def __init__(self, process: Sandboxed | ForkedChild, limits: Limits, policy: dict,
                 workdir: str | None = None, memory_cgroup: str | None = None):
        self.process, self.limits, self.policy = process, limits, policy
        self.workdir, self.cgroup = workdir, memory_cgroup
        self.output = bytearray()
        self.dropped = 0
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        self.cell_report: dict[str, dict] = {}
        self.preloading = False

    @classmethod
    def start(cls, files: dict[str, str], limits: Limits, isolation: sandbox.Isolation,
              preload: tuple[str, ...] = ()) -> "Worker":
        """A fresh worker in a fresh sandbox, importing ``preload`` while it waits."""
        launch = sandbox.worker_command(isolation, limits.tmp_bytes, files, limits.device)
        memory = cgroup.create(limits.memory_bytes) if limits.device == "cuda" else None
        argv = cgroup.wrap(memory, launch.argv) if memory else launch.argv
        process = Sandboxed(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=launch.env, cwd=launch.workdir,
                            start_new_session=True)
        worker = cls(process, limits, launch.policy, launch.workdir, memory)
        if preload:
            worker.preloading = True
            wire.send(process.stdin.fileno(), {"op": "preload", "modules": list(preload)}, [])
        return worker

    def load(self, cells: list[Cell], timeout: float) -> None:
        """Run the cells; ``timeout`` counts from when the worker's own imports are done."""
        message = {"op": "load", "limits": self.limits.for_worker(), "confine": self.policy,
                   "cells": [{"name": c.name, "source": c.source} for c in cells]}
        if self.preloading:
            self.request(message, [], time.monotonic() + PRELOAD_SECONDS, "starting the worker")
            header, _ = self.request(None, [], time.monotonic() + timeout, "loading the answer cells")
        else:
            header, _ = self.request(message, [], time.monotonic() + timeout, "loading the answer cells")
        if "sandbox_error" in header:
            self.kill()
            raise SandboxError(f"the worker could not confine itself: {header['sandbox_error']}")
        self.cell_report = {c["name"]: c for c in header.get("cells", []) if type(c) is dict}

    def _drain(self) -> None:
        stream = self.process.stderr
        while chunk := stream.read1(65536):
            room = OUTPUT_LIMIT - len(self.output)
            self.output += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        stream.close()

    def raw_output(self) -> str:
        return self.output.decode("utf-8", "replace")

    def printed(self) -> str:
        """What the submission printed (truncated), without the worker's cell markers."""
        text = "".join(line for line in self.raw_output().splitlines(keepends=True)
                       if not line.startswith(MARK))
        return text + (f"\n[... {self.dropped} more bytes of output dropped]" if self.dropped else "")

    def request(self, header: dict | None, buffers: list, deadline: float, what: str) -> tuple[dict, list]:
        """Send one message (none if ``header`` is None) and wait for the next reply; failures
        kill the worker."""
        try:
            if header is not None:
                wire.send(self.process.stdin.fileno(), header, buffers)
            return wire.receive(self.process.stdout.fileno(), deadline, self.limits.max_result_bytes)
        except wire.Deadline:
            self.kill()
            raise StudentError(f"{what} did not finish within the time limit "
                               f"(an infinite loop, or far too slow?)") from None
        except (wire.PeerGone, BrokenPipeError):
            raise StudentError(f"the submission's process ended during {what} "
                               f"({self._exit_reason()})") from None
        except wire.ProtocolError as error:
            self.kill()
            raise StudentError(f"{what} returned data the grader cannot read: {error}") from None

    def _exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it stopped answering"
        self.kill()
        if code == 0:
            return "exit code 0: does the code call sys.exit() or os._exit()?"
        if code > 128 and code - 128 in signal.Signals._value2member_map_:
            code = 128 - code  # a sandbox launcher reports its child's signal as 128 + n
        if code < 0:
            name = signal.Signals(-code).name
            hint = {"SIGXCPU": "the CPU time limit", "SIGKILL": "killed, perhaps for memory",
                    "SIGSEGV": "a crash", "SIGXFSZ": "the file size limit"}.get(name, "a signal")
            return f"{name}: {hint}"
        return f"exit code {code}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker and everything it started."""
        if self.process.poll() is None:
            self.process.kill_tree()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        cgroup.remove(self.cgroup)


class Submission:
    """The ``student`` fixture: a lazy, restartable proxy for one loaded submission.

    ``student.name`` is the student's top-level ``name``; calling it runs it in the worker.
    A crash or timeout ends the current worker; the next use starts a fresh one.
    """

    def __init__(self, program: Program, limits: Limits, isolation: sandbox.Isolation):
        self._program = program
        self._limits = limits
        self._isolation = isolation
        self._worker: Worker | None = None
        self._generation = 0
        self._skipped: dict[str, str] = {}  # cells left out because loading them broke the worker
        self._cell_errors: dict[str, str] = {}  # cells that raised while the worker loaded them
        self._deadline: float | None = None  # set per test by the rubric plugin
        self._warnings: list[str] = []  # warnings raised during the latest call

    def __getattr__(self, name: str) -> "Remote":
        if name.startswith("_"):
            raise AttributeError(name)
        return Remote(self, {"name": name}, [])

    # -- worker lifetime

    def _ensure_worker(self) -> Worker:
        if self._program.fatal:
            raise StudentError(self._program.fatal)
        if self._worker is not None and self._worker.alive:
            return self._worker
        self._generation += 1
        while True:
            cells = [c for c in self._program.cells if c.name not in self._skipped]
            worker = spares.take(self._program.files, self._limits, self._isolation,
                                 preload_modules(self._program))
            try:
                worker.load(cells, self._limits.time_per_test)
            except StudentError as error:
                worker.kill()
                culprit = self._culprit(cells, worker)
                if culprit is None:
                    raise StudentError(f"could not load the submission: {error}") from None
                self._skipped[culprit] = str(error).replace("loading the answer cells",
                                                            f"running cell '{culprit}'")
                continue
            self._worker = worker
            self._cell_errors = {name: format_error(report["error"])
                                 for name, report in worker.cell_report.items() if report.get("error")}
            return worker

    @staticmethod
    def _culprit(cells: list[Cell], worker: Worker) -> str | None:
        """The answer cell that was running when loading failed (the worker prints markers)."""
        worker.drain.join(timeout=5)
        marks = [line[len(MARK):] for line in worker.raw_output().splitlines()
                 if line.startswith(MARK)]
        started = marks[-1] if marks else None
        answers = [c.name for c in cells if c.answer]
        return started if started in answers else None

    def _close(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    @property
    def _printed(self) -> str:
        return self._worker.printed() if self._worker else ""

    @property
    def _load_errors(self) -> dict[str, str]:
        """Cell name -> error, for answer cells that did not run cleanly."""
        return {**self._program.problems, **self._skipped, **self._cell_errors}

    # -- calls

    def _request(self, header: dict, buffers: list, verb: str, subject: str):
        what = f"{verb} {subject}"
        started = time.monotonic()
        worker = self._ensure_worker()
        if self._deadline is not None:  # starting a worker is the grader's time, not the test's
            self._deadline += time.monotonic() - started
        limit = self._limits.time_per_test
        deadline = self._deadline if self._deadline is not None else time.monotonic() + limit
        reply, out = worker.request(header, buffers, deadline, what)
        raised = reply.get("warnings")
        self._warnings = [str(w) for w in raised] if type(raised) is list else []
        if reply.get("ok") is True:
            try:
                return wire.decode(reply.get("value"), out, self._handle)
            except wire.ProtocolError as error:
                raise StudentError(f"{what} returned data the grader cannot read: {error}") from None
        if "missing" in reply:
            raise StudentError(self._missing_reason(str(reply["missing"])))
        error = reply.get("error") if type(reply.get("error")) is dict else {}
        if error.get("type") == "NotImplementedError":
            where = error.get("where") or []
            cell = f" in {where[-1]}" if where else ""
            raise StudentError(f"{subject} is not implemented yet (it raises "
                               f"NotImplementedError{cell})")
        raise StudentError(f"{subject} raised {format_error(error)}")

    def _missing_reason(self, name: str) -> str:
        cell = self._program.cell_defining(name)
        problem = self._load_errors.get(cell) if cell else None
        if problem:
            return f"`{name}` is not defined because cell '{cell}' failed: {problem}"
        if cell:
            return f"`{name}` is not defined: cell '{cell}' ran but did not define it (renamed?)"
        return f"the submission does not define `{name}`"

    def _handle(self, tag: dict) -> "Remote":
        if tag.get("$") != "handle" or type(tag.get("id")) is not int:
            raise wire.ProtocolError("unexpected reference tag from the worker")
        label = f"{str(tag.get('type'))[:80]} object"
        return Remote(self, {"handle": tag["id"]}, [], label=label)

    def _encode_args(self, args, kwargs) -> tuple[list, dict, list]:
        buffers: list = []

        def other(value):
            if isinstance(value, Remote):
                if value._generation != self._generation:
                    raise StudentError("an object from an earlier, failed run of the submission "
                                       "was passed back")
                if "handle" not in value._spec or value._attrs:
                    raise TypeError("only objects the submission returned can be passed back")
                return {"$": "ref", "id": value._spec["handle"]}
            raise TypeError(f"cannot send a {type(value).__name__} to the submission")

        return (wire.encode(list(args), buffers, other),
                wire.encode(dict(kwargs), buffers, other), buffers)


class Remote:
    """A function, class, object or attribute living in the worker."""

    def __init__(self, submission: Submission, spec: dict, attrs: list[str], label: str | None = None,
                 generation: int | None = None):
        self._submission = submission
        self._spec = spec
        self._attrs = attrs
        self._generation = submission._generation if generation is None else generation
        self._label = label

    @property
    def _name(self) -> str:
        base = f"`{self._spec['name']}`" if "name" in self._spec else (self._label or "object")
        return base if not self._attrs else f"{base}.{'.'.join(self._attrs)}"

    def __getattr__(self, attr: str) -> "Remote":
        if attr.startswith("_"):
            raise AttributeError(attr)
        return Remote(self._submission, self._spec, self._attrs + [attr], self._label, self._generation)

    def _check_generation(self) -> None:
        if "handle" in self._spec and self._generation != self._submission._generation:
            raise StudentError(f"{self._name} belonged to an earlier run of the submission that "
                               "failed; it no longer exists")

    def __call__(self, *args, **kwargs):
        self._check_generation()
        args_enc, kwargs_enc, buffers = self._submission._encode_args(args, kwargs)
        header = {"op": "call", "target": self._spec, "attrs": self._attrs,
                  "args": args_enc, "kwargs": kwargs_enc, "seed": 0}
        return self._submission._request(header, buffers, "calling", self._name)

    def __repr__(self) -> str:
        return f"<submission {self._name}>"


def preload_modules(program: Program) -> tuple[str, ...]:
    """Modules the instructor's setup cells import (parsed, never run), plus what torch loads
    lazily on first use of an optimizer, so that a spare worker can import them early."""
    names = []
    for cell in program.cells:
        if cell.answer:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    if any(n == "torch" or n.startswith("torch.") for n in names):
        names.append("torch._dynamo")
    return tuple(dict.fromkeys(names))


class ZygoteError(RuntimeError):
    """The zygote could not fork a worker; a worker is started the slow way instead."""


class Zygote:
    """A warm process in a sandbox (``autograder.zygote``) that forks a fresh worker per
    request: each submission then pays a fork, not a Python start and a torch import."""

    def __init__(self, isolation: sandbox.Isolation, tmp_bytes: int, preload: tuple[str, ...]):
        self.isolation = isolation
        launch = sandbox.worker_command(isolation, tmp_bytes, module="autograder.zygote")
        self.workdir, self.base = launch.workdir, sandbox.zygote_base(isolation, launch)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = Sandboxed(launch.argv, stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=launch.env, cwd=launch.workdir,
                                 start_new_session=True)
        theirs.close()
        self.names = itertools.count(1)
        self.ready = False
        self._send({"op": "preload", "base": self.base, "modules": list(preload)})

    def _send(self, message: dict, fds: list[int] = ()) -> None:
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
        except OSError as error:
            raise ZygoteError(f"the zygote is gone ({error})") from None

    def _receive(self, timeout: float) -> tuple[dict, list[int]]:
        if not select.select([self.control], [], [], timeout)[0]:
            raise ZygoteError("the zygote did not answer in time")
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 4)
        except OSError:  # the zygote died with a message unread
            data, fds = b"", []
        if not data:
            raise ZygoteError(f"the zygote ended: {self._last_words()}")
        return json.loads(data), fds

    def _last_words(self) -> str:
        """The end of what the (ended) zygote printed."""
        self.process.kill_tree()
        try:
            _, printed = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            printed = b""
        return printed.decode(errors="replace").strip()[-500:] or "no output"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, limits: Limits, files: dict[str, str]) -> Worker:
        """A fresh worker, confined like any worker, with ``files`` copied into its folder."""
        if not self.ready:  # the zygote answers its first message once its imports are done
            self._receive(PRELOAD_SECONDS)
            self.ready = True
        name = f"worker-{next(self.names)}"
        pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, exit status
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        opened = [open(path, "rb") for path in files.values()]
        try:
            self._send({"op": "fork", "name": name, "files": list(files)},
                       theirs + [f.fileno() for f in opened])
        finally:
            for fd in theirs:
                os.close(fd)
            for handle in opened:
                handle.close()
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        try:
            header, fds = self._receive(30)
            if header.get("ok") is not True or len(fds) != 1:
                raise ZygoteError(f"the zygote could not fork: {header.get('error')}")
        except ZygoteError:
            for fd in ours:
                os.close(fd)
            raise
        child = ForkedChild(*ours, pidfd=fds[0])
        policy = sandbox.forked_worker_policy(self.isolation, f"{self.base}/{name}")
        return Worker(child, limits, policy)

    def kill(self) -> None:
        self.control.close()
        self.process.kill_tree()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.process.stderr.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class SpareWorkers:
    """Where a submission's worker comes from: forked from a warm zygote where the sandbox
    lets children be walled off from each other, else a started, warm spare worker.

    Either way the worker is a fresh process, and nothing is shared between students. A
    spare is replaced as soon as it is taken, so that starting Python and importing NumPy
    and PyTorch overlaps with grading the submission before.
    """

    def __init__(self):
        self.waiting: dict[tuple, Worker] = {}
        self.zygotes: dict[tuple, Zygote] = {}
        self.enabled = True  # spares; off where every core is already grading (a pool of graders)
        self.forking = os.environ.get("COURSE_ZYGOTE", "1") != "0"
        self.broken: dict[tuple, str] = {}  # configurations whose zygote failed -> why
        atexit.register(self.close)

    def take(self, files: dict[str, str], limits: Limits, isolation: sandbox.Isolation,
             preload: tuple[str, ...]) -> Worker:
        kind = (limits.tmp_bytes, isolation, preload)
        if self.forking and kind not in self.broken and sandbox.can_fork_workers(isolation, limits.device):
            try:
                return self._zygote(*kind).fork(limits, files)
            except ZygoteError as error:
                warnings.warn(f"starting workers one by one: {error}")
                self.broken[kind] = str(error)
                self._stop_zygotes()
        if files or not self.enabled:  # files are bound at start: no spare can be ready for them
            return Worker.start(files, limits, isolation, preload)
        key = (limits, isolation, preload)
        worker = self.waiting.pop(key, None)
        if worker is None or not worker.alive:
            worker = Worker.start({}, limits, isolation, preload)
        for stale in [k for k in self.waiting if k != key]:
            self.waiting.pop(stale).kill()
        self.waiting[key] = Worker.start({}, limits, isolation, preload)
        return worker

    def _zygote(self, tmp_bytes: int, isolation: sandbox.Isolation, preload: tuple[str, ...]) -> Zygote:
        """The running zygote of this kind; any other is stopped (one is kept at a time)."""
        kind = (tmp_bytes, isolation, preload)
        zygote = self.zygotes.get(kind)
        if zygote is None or not zygote.alive:
            self._stop_zygotes()
            zygote = self.zygotes[kind] = Zygote(isolation, tmp_bytes, preload)
        return zygote

    def _stop_zygotes(self) -> None:
        while self.zygotes:
            self.zygotes.popitem()[1].kill()

    def close(self) -> None:
        while self.waiting:
            self.waiting.popitem()[1].kill()
        self._stop_zygotes()


spares = SpareWorkers()


def fetch(remote: Remote):
    """The value of a remote attribute as plain data, e.g. ``fetch(model.weight)``."""
    remote._check_generation()
    header = {"op": "get", "target": remote._spec, "attrs": remote._attrs}
    return remote._submission._request(header, [], "reading", remote._name)


def format_error(error: dict) -> str:
    text = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip().rstrip(":")
    where = error.get("where") or []
    return text + (f" ({where[-1]})" if where else "")
