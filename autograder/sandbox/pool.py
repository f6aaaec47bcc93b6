"""Where a submission's worker comes from: forked from a warm zygote, or started (with a warm
spare waiting for the next submission).

``prepare`` begins making a submission's worker as soon as the grader knows the submission
(starting the zygote, or the worker, or forking one from a zygote that is ready), so that the
worker's start-up overlaps with the grader's own (importing and collecting the rubric's tests);
``take`` then returns that worker.

Runs in the grader. Either way every submission gets a fresh process, and nothing is
shared between students. Each grading process has one ``WorkerPool``: ``WorkerPool.shared()``
for a process that grades one submission at a time with cores to spare; a pool of graders
makes its own with ``spares=False``, since every core is grading already.
"""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing.util
import os
import select
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

from autograder.course import Limits
from autograder.sandbox import launch, warm, wire
from autograder.sandbox.client import PRELOAD_SECONDS, Worker
from autograder.sandbox.processes import ForkedChild, Sandboxed


POLL_SECONDS = 200e-6  # how long each end of a call polls for the other's message before sleeping


def polling_seconds() -> float:
    """``POLL_SECONDS`` where this process may use two cores or more (a grader and its worker
    take turns, so the one polling leaves the other a core), else 0: on one core polling would
    only hold up the worker it waits for. At most that CPU time is spent per message where the
    other's answer is slow."""
    return POLL_SECONDS if len(os.sched_getaffinity(0)) >= 2 else 0.0


class ZygoteError(RuntimeError):
    """The zygote could not fork a worker; a worker is started the slow way instead."""


class Zygote:
    """A warm process in a sandbox (``autograder.sandbox.zygote``) that forks a fresh worker per
    request: each submission then pays a fork, not a Python start and a torch import. Started
    for this grader, or a student's check server that outlives it."""

    def __init__(self, isolation: launch.Isolation, tmp_bytes: int, preload: tuple[str, ...],
                 server: Path | None = None):
        """A zygote of this grader's own; with ``server``, a connection to this user's check
        server at that path (``autograder.sandbox.warm``), started if none runs there: its
        folder and process are the server's, and closing leaves both."""
        self.isolation, self.server, self.ready = isolation, server, False
        self.published = launch.visible_published(preload)
        if server is not None:
            self.workdir = self.base = None  # told by the server's greeting
            self.process: Sandboxed | None = None
            self.names = (f"worker-{os.getpid()}-{n}" for n in itertools.count(1))  # its folder is shared
            try:
                self.control = warm.connect(server, isolation, tmp_bytes, preload)
            except OSError as error:
                raise ZygoteError(f"no check server: {error}") from None
            return
        command = launch.worker_command(isolation, tmp_bytes, module="autograder.sandbox.zygote",
                                        published=self.published)
        self.workdir, self.base = command.workdir, launch.zygote_base(isolation, command)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = Sandboxed(
            command.argv, stdin=theirs.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=command.env, cwd=command.workdir, start_new_session=True)
        theirs.close()
        self.names = (f"worker-{n}" for n in itertools.count(1))
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
        if self.process is None:
            return f"see {self.server.with_suffix('.log')}"
        self.process.kill_tree()
        try:
            _, printed = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            printed = b""
        return printed.decode(errors="replace").strip()[-500:] or "no output"

    @property
    def alive(self) -> bool:
        return self.process is None or self.process.poll() is None

    def poll_ready(self) -> bool:
        """Whether the zygote has done its imports (reads its answer if it is waiting)."""
        if not self.ready and select.select([self.control], [], [], 0)[0]:
            self._greeted(0)
        return self.ready

    def _greeted(self, timeout: float) -> None:
        """Read the answer to the first message (a server's greeting names its folder)."""
        greeting, _ = self._receive(timeout)
        if self.process is None:
            self.workdir = self.base = str(greeting["base"])
        self.ready = True

    def fork(self, limits: Limits, files: dict[str, str]) -> Worker:
        """A fresh worker, confined like any worker, with ``files`` copied into its folder."""
        if not self.ready:  # the zygote answers its first message once its imports are done
            self._greeted(PRELOAD_SECONDS)
        name = next(self.names)
        pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, exit status
        for _, write in pipes[:2]:
            wire.widen(write)
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
        policy = launch.forked_worker_policy(self.isolation, f"{self.base}/{name}", self.published)
        return Worker(child, limits, policy, folder=f"{self.workdir}/{name}" if self.workdir else None)

    def kill(self) -> None:
        self.control.close()
        if self.process is None:  # a check server: it kills this connection's workers, if any
            return
        self.process.kill_tree()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.process.stderr.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _key(files: dict[str, str], limits: Limits, isolation: launch.Isolation, device: str,
         preload: tuple[str, ...], cells: list[dict] | None) -> tuple:
    """What a prepared worker is for: every argument it was started or loaded with."""
    loaded = None if cells is None else json.dumps(cells, sort_keys=True)
    return tuple(files.items()), limits, isolation, device, preload, loaded


class WorkerPool:
    """Fresh workers for one grading process: forked from a warm zygote where the sandbox lets
    children be walled off from each other, else started, with a warm spare waiting (unless
    ``spares`` is off) so that starting Python and importing NumPy and PyTorch overlaps with
    grading the submission before."""

    def __init__(self, spares: bool = True, served: bool = False, polls: bool = True):
        """``served``: a student's self-check pool, whose plain (tier C) CPU workers come from
        the student's check server (``autograder.sandbox.warm``); ``polls``: whether a worker
        and this process poll for each other's messages where a core is free (``polling_seconds``)."""
        self.spares, self.served, self.polls = spares, served, polls
        self.servers: dict[tuple, Path | None] = {}  # kind -> its check server's socket, once found
        self.waiting: dict[tuple, Worker] = {}  # spares
        self.early: dict[tuple, Worker] = {}  # prepared for one submission: at most one
        self.zygotes: dict[tuple, Zygote] = {}
        self.forking = os.environ.get("COURSE_ZYGOTE", "1") != "0"
        self.broken: dict[tuple, str] = {}  # configurations whose zygote failed -> why
        # at exit, in a grading process of a pool too (where atexit handlers never run)
        multiprocessing.util.Finalize(self, self.close, exitpriority=0)

    @staticmethod
    @functools.cache
    def shared() -> "WorkerPool":
        """This process's pool for grading one submission at a time."""
        return WorkerPool()

    def prepare(self, files: dict[str, str], limits: Limits, isolation: launch.Isolation,
                device: str = "cpu", preload: tuple[str, ...] = (), cells: list[dict] | None = None) -> None:
        """Begin making the worker that ``take`` with the same arguments returns: start the
        zygote (or fork from it now, if it is ready, and send it ``cells`` to load), else start
        the worker (and send it ``cells``), waiting for none of it. A prepared worker that is
        not taken is killed by ``discard``."""
        kind = (limits.tmp_bytes, isolation, preload)
        key = _key(files, limits, isolation, device, preload, cells)
        if key in self.early:
            return
        self.discard()
        worker = None
        if self._forks(kind, device):
            try:
                zygote = self._zygote(*kind)
                if zygote.poll_ready():
                    worker = zygote.fork(limits, files)
            except ZygoteError as error:
                self._zygote_failed(kind, error)
        if worker is not None:
            self._polling(worker)
        elif not self._forks(kind, device):
            worker = self._started(files, limits, isolation, device, preload)
        if worker is not None:
            if cells is not None:
                worker.send_load(cells)
            self.early[key] = worker

    def discard(self) -> None:
        """Kill a prepared worker that was not taken."""
        while self.early:
            self.early.popitem()[1].kill()

    def take(self, files: dict[str, str], limits: Limits, isolation: launch.Isolation,
             device: str = "cpu", preload: tuple[str, ...] = (), cells: list[dict] | None = None) -> Worker:
        """A fresh worker for one submission, with ``files`` in its working folder; the one
        ``prepare`` began with the same arguments (``cells`` sent ahead), if it is alive."""
        kind = (limits.tmp_bytes, isolation, preload)
        prepared = self.early.pop(_key(files, limits, isolation, device, preload, cells), None)
        self.discard()
        if prepared is not None and prepared.alive:
            return prepared
        if prepared is not None:
            prepared.kill()
        if self._forks(kind, device):
            try:
                return self._polling(self._zygote(*kind).fork(limits, files))
            except ZygoteError as error:
                self._zygote_failed(kind, error)
        return self._started(files, limits, isolation, device, preload)

    def _polling(self, worker: Worker, beside_spare: bool = False) -> Worker:
        """``worker``, it and this process polling for each other's messages if they may: not
        beside a spare that is starting (it takes the core polling needs)."""
        worker.poll_for_messages(polling_seconds() if self.polls and not beside_spare else 0.0)
        return worker

    def _started(self, files: dict[str, str], limits: Limits, isolation: launch.Isolation,
                 device: str, preload: tuple[str, ...]) -> Worker:
        """A worker started afresh: the warm spare if one waits (and a new spare behind it)."""
        if files or not self.spares:  # files are bound at start: no spare can be ready for them
            return self._polling(Worker.start(files, limits, isolation, device, preload))
        key = (limits, isolation, device, preload)
        worker = self.waiting.pop(key, None)
        if worker is None or not worker.alive:
            worker = Worker.start({}, limits, isolation, device, preload)
        for stale in [k for k in self.waiting if k != key]:
            self.waiting.pop(stale).kill()
        self.waiting[key] = Worker.start({}, limits, isolation, device, preload)
        return self._polling(worker, beside_spare=True)

    def _forks(self, kind: tuple, device: str) -> bool:
        """Whether workers of ``kind`` come from a zygote."""
        return self.forking and kind not in self.broken and (
            launch.can_fork_workers(kind[1], device) or self._server(kind, device) is not None)

    def _server(self, kind: tuple, device: str) -> Path | None:
        """The socket of the check server whose forks are a self-check's workers of ``kind``
        (even in tier C: the code is the student's own), if they may come from one."""
        tmp_bytes, isolation, preload = kind
        if not (self.served and isolation.tier == "limits" and device == "cpu"):
            return None
        if kind not in self.servers:  # it reads the engine's files: once per kind
            self.servers[kind] = warm.address(isolation, tmp_bytes, preload)
        return self.servers[kind]

    def _zygote_failed(self, kind: tuple, error: ZygoteError) -> None:
        warnings.warn(f"starting workers one by one: {error}")
        self.broken[kind] = str(error)
        self._stop_zygotes()

    def _zygote(self, tmp_bytes: int, isolation: launch.Isolation, preload: tuple[str, ...]) -> Zygote:
        """The running zygote of this kind; any other is stopped (one is kept at a time)."""
        kind = (tmp_bytes, isolation, preload)
        zygote = self.zygotes.get(kind)
        if zygote is None or not zygote.alive:
            self._stop_zygotes()
            server = self._server(kind, "cpu")
            zygote = self.zygotes[kind] = Zygote(isolation, tmp_bytes, preload, server)
        return zygote

    def _stop_zygotes(self) -> None:
        while self.zygotes:
            self.zygotes.popitem()[1].kill()

    def close(self) -> None:
        self.discard()
        while self.waiting:
            self.waiting.popitem()[1].kill()
        self._stop_zygotes()
