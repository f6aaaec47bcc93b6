"""A student's check server: a zygote that outlives the ``course check`` (or self-check cell)
that started it, so that the next check forks a worker from it instead of starting Python and
importing torch again (about 1.5 s).

Only for a student's self-check in a plain child process (tier C, ``limits``): the code that
runs is the student's own, on the student's own machine, as the student's user. One server per
configuration (Python, engine files, limits, the modules the setup cells import) listens on
a Unix socket in a folder only this user may enter (``$XDG_RUNTIME_DIR``, else the temporary
folder), answers only this user's processes, and ends once idle for ``COURSE_WARM_SECONDS``
(default 600; 0 starts none). A check that finds no server starts one and waits for it, as
it would have waited for its own worker; one that finds a server of other engine files (an
update) starts its own beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from autograder.sandbox import launch

IDLE_SECONDS = 600
SOCKET_PATH_BYTES = 107  # the most a Unix socket's path may hold


def idle_seconds() -> float:
    """How long a server waits for the next check; 0: no servers."""
    try:
        return max(float(os.environ.get("COURSE_WARM_SECONDS", IDLE_SECONDS)), 0.0)
    except ValueError:
        return IDLE_SECONDS


def available() -> bool:
    """Whether checks here may use a server."""
    return idle_seconds() > 0 and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


def folder() -> Path | None:
    """This user's folder of servers, made if missing; None unless it is a folder of this user's
    that no one else may enter."""
    path = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"course-check-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(path)
    except OSError:
        return None
    mine = stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & 0o077
    return path if mine else None


def fingerprint(package: Path = launch.PACKAGE_DIR) -> list:
    """What the server's code is: each worker-visible file of the engine (path, size, time of
    change) and when the installed libraries last changed."""
    files = []
    for name in launch.WORKER_VISIBLE:
        top = package / name
        paths = sorted(top.rglob("*.py")) if top.is_dir() else [top]
        for path in paths:
            with contextlib.suppress(OSError):
                found = path.stat()
                files.append([str(path.relative_to(package)), found.st_size, found.st_mtime_ns])
    libraries = {sysconfig.get_paths()[kind] for kind in ("purelib", "platlib")}
    return files + [[lib, os.stat(lib).st_mtime_ns] for lib in sorted(libraries) if os.path.isdir(lib)]


def address(isolation: launch.Isolation, tmp_bytes: int, preload: tuple[str, ...]) -> Path | None:
    """The socket of the server for this configuration; None where there may be none."""
    if not available() or (where := folder()) is None:
        return None
    key = json.dumps([sys.executable, sys.version, isolation.tier, tmp_bytes, list(preload),
                      launch.worker_environment(), fingerprint()])
    path = where / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.sock"
    return path if len(os.fsencode(path)) <= SOCKET_PATH_BYTES else None


def connect(path: Path, isolation: launch.Isolation, tmp_bytes: int, preload: tuple[str, ...]) -> socket.socket:
    """A connection to the server at ``path``, started first if none answers there (one
    check at a time starts it). Its first message, once its imports are done, is a greeting
    with its folder. ``OSError`` when none can be reached."""
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
            return _connected(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a server's socket left behind
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
            listener.bind(str(path))
            listener.listen(16)
            _start(listener, path, isolation, tmp_bytes, preload)
        return _connected(path)


def _connected(path: Path) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        raise
    return connection


def _start(listener: socket.socket, path: Path, isolation: launch.Isolation, tmp_bytes: int,
           preload: tuple[str, ...]) -> None:
    """Start the server on ``listener``; it detaches at once (this waits for that) and then
    imports, greeting connections once it is done. It prints into ``path`` with ``.log``."""
    command = launch.worker_command(isolation, tmp_bytes, module="autograder.sandbox.zygote",
                                    published=launch.visible_published(preload))
    config = {"base": command.workdir, "modules": list(preload), "idle": idle_seconds(), "path": str(path)}
    try:
        with open(path.with_suffix(".log"), "wb") as log:
            started = subprocess.run([*command.argv, "--serve", json.dumps(config)], stdin=listener.fileno(),
                                     stdout=subprocess.DEVNULL, stderr=log, env=command.env,
                                     cwd=command.workdir, timeout=60, check=False)
        if started.returncode != 0:
            raise OSError(f"the check server did not start (exit code {started.returncode})")
    except (OSError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(command.workdir, ignore_errors=True)  # the server's folder, had it started
        raise OSError(f"the check server did not start: {error}") from None
