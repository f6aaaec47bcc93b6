"""Handles on a worker's process, as the grader holds them: one it started, or one a zygote forked.

Both expose the ``subprocess.Popen`` subset the grader uses (``stdin``, ``stdout``,
``stderr``, ``poll``, ``wait``) and ``kill_tree``, which ends the worker with everything it
started.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess


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
        self.killed = False  # SIGKILL sent

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            ready = select.select([self.status], [], [], 0 if self.killed else timeout)[0]
            if not ready and not self.killed:
                raise subprocess.TimeoutExpired("worker", timeout)
            text = os.read(self.status, 32).decode(errors="replace") if ready else ""
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
        """Send SIGKILL; ``wait`` then returns at once, as nothing of the worker runs any more
        (the zygote reaps it and removes its folder while the grader goes on)."""
        if self.returncode is None:
            try:  # seccomp stops a forked worker from starting processes: it is the whole tree
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.killed = True
