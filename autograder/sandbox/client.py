"""The grader's end of the pipe protocol: one worker process holding one loaded submission.

Runs in the grader. ``Worker.start`` launches a fresh worker in a fresh sandbox (a zygote
forks one instead: ``autograder.sandbox.pool``); ``load`` sends it the cells, ``request``
sends one message and waits for the reply under a deadline. Every failure of student code
(a timeout, a crash, an unreadable reply) becomes a ``StudentError`` with a reason a
student can act on, and kills the worker.
"""

from __future__ import annotations

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


class StudentError(Exception):
    """Student code failed; ``str(error)`` is the reason shown to the student."""


class SandboxError(RuntimeError):
    """The grading machine cannot isolate a worker; no submission can be graded fairly."""


class Worker:
    """One worker process holding one loaded submission."""

    def __init__(self, process: Sandboxed | ForkedChild, limits: Limits, policy: dict,
                 device: str = "cpu", workdir: str | None = None, memory_cgroup=None):
        self.process, self.limits, self.policy, self.device = process, limits, policy, device
        self.workdir, self.cgroup = workdir, memory_cgroup
        self.output = bytearray()
        self.dropped = 0
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        self.cell_report: dict[str, dict] = {}
        self.preloading = False

    @classmethod
    def start(cls, files: dict[str, str], limits: Limits, isolation: launch.Isolation,
              device: str = "cpu", preload: tuple[str, ...] = ()) -> "Worker":
        """A fresh worker in a fresh sandbox, importing ``preload`` while it waits."""
        command = launch.worker_command(isolation, limits.tmp_bytes, files, device)
        memory = cgroup.create(limits.memory_bytes) if device == "cuda" else None
        argv = cgroup.wrap(memory, command.argv) if memory else command.argv
        process = Sandboxed(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=command.env, cwd=command.workdir,
                            start_new_session=True)
        worker = cls(process, limits, command.policy, device, command.workdir, memory)
        if preload:
            worker.preloading = True
            wire.send(process.stdin.fileno(), {"op": "preload", "modules": list(preload)}, [])
        return worker

    def load(self, cells: list[dict], timeout: float) -> None:
        """Run the cells (``{"name", "source"}``); ``timeout`` counts from when the worker's
        own imports are done."""
        message = {"op": "load", "limits": self.limits.for_worker(self.device),
                   "confine": self.policy, "cells": cells}
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
                       if not line.startswith(CELL_MARK))
        return text + (f"\n[... {self.dropped} more bytes of output dropped]" if self.dropped else "")

    def cell_marks(self) -> list[str]:
        """The cells the worker started loading, in order (it prints a mark before each)."""
        self.drain.join(timeout=5)
        return [line[len(CELL_MARK):] for line in self.raw_output().splitlines()
                if line.startswith(CELL_MARK)]

    def request(self, header: dict | None, buffers: list, deadline: float, what: str) -> tuple[dict, list]:
        """Send one message (none if ``header`` is None) and wait for the next reply; failures
        kill the worker."""
        try:
            if header is not None:
                wire.send(self.process.stdin.fileno(), header, buffers)
            return wire.receive(self.process.stdout.fileno(), deadline, self.limits.result_bytes)
        except wire.TimedOut:
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
