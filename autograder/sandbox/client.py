"""The grader's end of the pipe protocol: one worker process holding one loaded submission.

Runs in the grader. ``Worker.start`` launches a fresh worker in a fresh sandbox (a zygote
forks one instead: ``autograder.sandbox.pool``); ``load`` sends it the cells, ``request``
sends one message and waits for the reply under a deadline. Every failure of student code
(a timeout, a crash, an unreadable reply) becomes a ``StudentError`` with a reason a
student can act on, and kills the worker.

Student code can write into the reply pipe, so only the worker's first reply to the load
message, written before any student code runs, is trusted (it reports the confinement);
every later message is the student's own data. Each message carries an ``id``, and a reply
to an earlier one (the real reply that a forged one preceded) is skipped, so a forged
message can change that submission's own answers and nothing else.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import threading
import time

from autograder.course import Limits
from autograder.sandbox import cgroup, launch, wire
from autograder.sandbox.processes import ForkedChild, Sandboxed
from autograder.sandbox.worker import CELL_MARK

OUTPUT_LIMIT = 256 << 10
PRELOAD_SECONDS = 300  # importing the instructor's modules (trusted) on a loaded machine
FOLDER_CHECK_SECONDS = 0.1  # how often a folder without limits of its own is measured


class StudentError(Exception):
    """Student code failed; ``str(error)`` is the reason shown to the student."""


class TimedOut(StudentError):
    """Student code ran past its deadline; the worker was killed."""


class SandboxError(RuntimeError):
    """The worker could not confine itself (it says so before running any student code): the
    submission cannot be graded fairly on this machine, though others may be."""


class Worker:
    """One worker process holding one loaded submission."""

    def __init__(self, process: Sandboxed | ForkedChild, limits: Limits, policy: dict,
                 device: str = "cpu", workdir: str | None = None, memory_cgroup=None,
                 folder: str | None = None):
        """``workdir``: a folder to remove when the worker ends; ``folder``: where the worker
        writes, as this process sees it (None where it cannot)."""
        self.process, self.limits, self.policy, self.device = process, limits, policy, device
        self.workdir, self.cgroup, self.folder = workdir, memory_cgroup, folder
        self.replies = wire.Reader(process.stdout.fileno())
        self.output = bytearray()
        self.dropped = 0
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        self.cell_report: dict[str, dict] = {}
        self.preloading: int | None = None  # the id of the preload message, until it is answered
        self.loading: tuple[int, list[dict]] | None = None  # the load message sent ahead: id, cells
        self.ids = itertools.count(1)
        self.ended = threading.Event()  # set once the worker is killed
        self.killed_for: str | None = None  # why the grader killed it, if it did

    @classmethod
    def start(cls, files: dict[str, str], limits: Limits, isolation: launch.Isolation,
              device: str = "cpu", preload: tuple[str, ...] = ()) -> "Worker":
        """A fresh worker in a fresh sandbox, importing ``preload`` while it waits (and seeing,
        of the published modules, those ``preload`` names and what they import)."""
        command = launch.worker_command(isolation, limits.tmp_bytes, files, device,
                                        published=launch.visible_published(preload))
        memory = cgroup.create(limits.memory_bytes) if device == "cuda" else None
        argv = cgroup.wrap(memory, command.argv) if memory else command.argv
        process = Sandboxed(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=command.env, cwd=command.workdir,
                            start_new_session=True)
        for pipe in (process.stdin, process.stdout):
            wire.widen(pipe.fileno())
        worker = cls(process, limits, command.policy, device, command.workdir, memory, command.workdir)
        if preload:
            worker.preloading = worker._send({"op": "preload", "modules": list(preload)}, [])
        return worker

    def load(self, cells: list[dict], timeout: float) -> None:
        """Run the cells (``{"name", "source"}``); ``timeout`` counts from when the worker's
        own imports are done. ``SandboxError`` when the worker reports that it could not
        confine itself (before it ran any student code)."""
        if self.loading is None:
            self.send_load(cells)
        load, sent = self.loading
        if sent != cells:
            self.kill()
            raise ValueError("this worker was sent other cells ahead")
        if self.preloading is not None:
            self._reply(self.preloading, time.monotonic() + PRELOAD_SECONDS, "starting the worker")
        confined, _ = self._reply(load, time.monotonic() + PRELOAD_SECONDS, "starting the worker")
        if "confined" not in confined:
            self.kill()
            raise SandboxError(f"the worker could not confine itself: {confined.get('sandbox_error')}")
        if not confined.get("folder_limited") and self.folder:
            threading.Thread(target=self._guard_folder, daemon=True).start()
        header, _ = self._reply(load, time.monotonic() + timeout, "loading the answer cells")
        cell_report = header.get("cells")
        self.cell_report = {c["name"]: c for c in cell_report if type(c) is dict
                            and type(c.get("name")) is str} if type(cell_report) is list else {}

    def send_load(self, cells: list[dict]) -> None:
        """Send the cells ahead (the worker confines itself and runs them while the grader
        does other work); ``load`` with the same cells then waits for its replies."""
        self.loading = (self._send({"op": "load", "limits": self.limits.for_worker(self.device),
                                    "confine": self.policy, "cells": cells, "poll": self.replies.poll}, []),
                        cells)

    def poll_for_messages(self, seconds: float) -> None:
        """Poll ``seconds`` for each reply before sleeping, and have the worker poll as long for
        each request (it is told with the cells: set before they are sent)."""
        self.replies.poll = seconds

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
                       if not line.startswith(CELL_MARK))
        return text + (f"\n[... {self.dropped} more bytes of output dropped]" if self.dropped else "")

    def cell_marks(self) -> list[str]:
        """The cells the worker started loading, in order (it prints a mark before each)."""
        self.drain.join(timeout=5)
        return [line[len(CELL_MARK):] for line in self.raw_output().splitlines()
                if line.startswith(CELL_MARK)]

    def request(self, header: dict, buffers: list, deadline: float, what: str) -> tuple[dict, list]:
        """Send one message and wait for its reply until ``deadline``; failures kill the worker."""
        return self._reply(self._send(header, buffers), deadline, what)

    def _send(self, header: dict, buffers: list) -> int:
        """Send one message; its id."""
        number = next(self.ids)
        try:
            wire.send(self.process.stdin.fileno(), dict(header, id=number), buffers)
        except BrokenPipeError:
            pass  # the worker is gone: waiting for the reply says why
        return number

    def _reply(self, number: int, deadline: float, what: str) -> tuple[dict, list]:
        """The next reply to message ``number``, skipping replies to earlier ones."""
        try:
            while True:
                reply, buffers = wire.receive(self.replies, deadline, self.limits.result_bytes)
                if reply.get("id") == number:
                    return reply, buffers
        except wire.TimedOut:
            self.kill()
            raise TimedOut(f"{what} did not finish within the time limit "
                           f"(an infinite loop, or far too slow?)") from None
        except (wire.PeerGone, BrokenPipeError):
            raise StudentError(f"the submission's process ended during {what} "
                               f"({self._exit_reason()})") from None
        except wire.ProtocolError as error:
            self.kill()
            raise StudentError(f"{what} returned data the grader cannot read: {error}") from None

    def _guard_folder(self) -> None:
        """For a worker whose folder has no limits of its own (it could not mount one): kill
        it once the folder holds more files or bytes than its limits allow."""
        most_files, most_bytes = self.limits.tmp_files, self.limits.tmp_bytes
        while not self.ended.wait(FOLDER_CHECK_SECONDS):
            files, size = folder_usage(self.folder, most_files)
            if files > most_files or size > most_bytes:
                self.killed_for = (f"its folder held more than {most_files} files or "
                                   f"{most_bytes >> 20} MB, its limits")
                try:
                    self.process.kill_tree()
                except OSError:
                    pass  # it ended meanwhile
                return

    def _exit_reason(self) -> str:
        if self.killed_for:
            self.kill()
            return f"killed: {self.killed_for}"
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
        self.ended.set()
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


def folder_usage(folder: str, most_files: int) -> tuple[int, int]:
    """(files and folders, bytes) beneath ``folder``, counting no further than ``most_files``."""
    files = size = 0
    pending = [folder]
    while pending and files <= most_files:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            files += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    size += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return files, size
