"""The zygote: a warm process in the sandbox that forks one fresh worker per submission.

Started as ``python -m autograder.sandbox.zygote`` under the same isolation as a worker, with one
end of a Unix ``SOCK_SEQPACKET`` socket as its stdin. Its first message names modules to
import (NumPy, torch, what the setup cells import); it imports them once, never running
student code. Each later message asks for a worker and carries the worker's pipes (and
any submitted files) as file descriptors; the zygote makes the worker a folder of its own
beneath its base folder and forks. The child becomes an ordinary worker
(``autograder.sandbox.worker.main``) on those pipes, and like every worker confines itself
(limits, a private tmpfs for its folder, no capabilities, Landlock, seccomp) before it runs
any student code. The reply carries a pidfd
with which the grader kills the child; when the child ends, the zygote writes its exit
code to the child's status pipe and removes its folder.

As a check server (``--serve CONFIG``, for a student's self-checks: ``autograder.sandbox.warm``)
it outlives the command that started it: its stdin is a listening socket, each connection
(from the same user only) is greeted once the imports are done and then asks for workers as
above, and it ends, removing its folder, once it has been idle for the configured time or its
socket's path no longer leads to it.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import time

PR_SET_PDEATHSIG = 1
MAX_FDS = 64


def receive(control: socket.socket) -> tuple[dict | None, list[int]]:
    """One request and the descriptors sent with it; ``None`` when the grader is gone."""
    data, fds, _, _ = socket.recv_fds(control, 1 << 16, MAX_FDS)
    if not data:
        return None, fds
    return json.loads(data), fds


def reply(control: socket.socket, message: dict, fds: list[int] = ()) -> None:
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))


def copy_files(folder: str, names: list[str], fds: list[int]) -> None:
    """The submitted files, written read-only into the worker's folder."""
    for name, fd in zip(names, fds):
        path = os.path.join(folder, os.path.basename(name))
        with os.fdopen(fd, "rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target)
        os.chmod(path, 0o444)


def become_worker(folder: str, pipes: list[int]) -> None:
    """In the forked child: take the worker's pipes as stdin/stdout/stderr, drop every
    other descriptor the zygote holds, move into its folder, and serve the submission."""
    code = 1
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for target, fd in enumerate(pipes[:3]):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir(folder)
        os.environ.update(HOME=folder, TMPDIR=folder, MPLCONFIGDIR=folder)
        from autograder.sandbox import worker

        worker.main()
        code = 0
    except BaseException:  # noqa: BLE001 - reported on the worker's stderr
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def fork_worker(base: str, request: dict, fds: list[int]) -> tuple[int, int, int, str]:
    """Fork a worker for ``request``; returns (pid, pidfd, status fd, folder)."""
    pipes, status, files = fds[:3], fds[3], fds[4:]
    folder = os.path.join(base, os.path.basename(str(request["name"])))
    os.mkdir(folder, 0o700)
    copy_files(folder, request.get("files", []), files)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        become_worker(folder, pipes)
    for fd in pipes:
        os.close(fd)
    return pid, os.pidfd_open(pid), status, folder


def reap(pid: int, status: int, folder: str) -> None:
    """Report a finished child's exit code and remove its folder."""
    _, wait_status = os.waitpid(pid, 0)
    try:
        os.write(status, str(os.waitstatus_to_exitcode(wait_status)).encode())
    except OSError:
        pass  # the grader has stopped listening
    os.close(status)
    shutil.rmtree(folder, ignore_errors=True)


def warm_up() -> None:
    """Run each loaded library's common paths once (trusted code, fixed inputs), so that no
    child pays for their first use. Nothing here starts a thread."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        x = numpy.linspace(-1.0, 1.0, 64).reshape(8, 8)
        numpy.linalg.lstsq(x, x[:, 0], rcond=None)
        numpy.exp(x).sum(axis=1, keepdims=True).max()
    torch = sys.modules.get("torch")
    if torch is not None:
        import io

        torch.set_num_threads(1)
        model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                    torch.nn.Linear(4, 2))
        data = torch.utils.data.TensorDataset(torch.ones(4, 8), torch.zeros(4, dtype=torch.long))
        for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                          torch.optim.Adam(model.parameters())):
            for inputs, labels in torch.utils.data.DataLoader(data, batch_size=2, shuffle=True):
                loss = torch.nn.functional.cross_entropy(model(inputs), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            torch.softmax(model(torch.ones(1, 8)), dim=1).argmax(dim=1)
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        model.load_state_dict(torch.load(buffer, weights_only=True))


def preload(modules: list[str], warm: bool = True) -> None:
    """Import the worker's modules and ``modules`` (trusted: the setup cells' imports), warm
    them up (with ``warm``), and freeze the heap so that children share it."""
    for name in ["autograder.sandbox.worker", "autograder.sandbox.confine", *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the setup cells will report it properly
            pass
    from autograder.sandbox import confine

    if confine.seccomp_available():
        import pyseccomp  # noqa: F401 - found now, before any child is confined
    if warm:
        warm_up()
    gc.freeze()  # a child's collections then skip, and so do not copy, the zygote's objects


def same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end of ``connection`` runs as this one's user."""
    _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return uid == os.getuid()


def serve(base: str, controls: list[socket.socket], listener: socket.socket | None = None,
          idle: float = 0, path: str = "") -> None:
    """Fork a worker for each request on ``controls`` until none is left open; with a
    ``listener``, greet and serve each new connection too, warm up once first idle (so that
    the check that started it need not wait for that), and return once idle for ``idle``
    seconds (no connection, no child) or once ``path`` leads to another socket or none."""
    cold = listener is not None
    children: dict[int, tuple[int, int, str, socket.socket]] = {}  # pidfd -> pid, status fd, folder, asker
    inode = os.stat(path).st_ino if listener else None
    since = time.monotonic()
    while controls or children or listener:
        ready, _, _ = select.select([*controls, *children, *([listener] if listener else [])], [], [],
                                   1.0 if listener else None)
        for item in ready:
            if item is listener:
                connection, _ = listener.accept()
                if same_user(connection):
                    reply(connection, {"ok": True, "base": base})
                    controls.append(connection)
                else:
                    connection.close()
            elif item in children:
                os.close(item)
                pid, status, folder, _ = children.pop(item)
                reap(pid, status, folder)
            else:
                answer(base, item, controls, children)
        if listener and not controls and not children:
            if cold:
                warm_up()
                gc.freeze()
                cold, since = False, time.monotonic()
            if time.monotonic() - since > idle or not _leads_to(path, inode):
                return
        elif listener:
            since = time.monotonic()


def _leads_to(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def answer(base: str, control: socket.socket, controls: list[socket.socket], children: dict) -> None:
    """Serve one request on ``control``: fork a worker, or, when the asker is gone, kill and
    reap the workers forked for it."""
    request, fds = receive(control)
    if request is None:  # the grader is gone: so are its workers
        controls.remove(control)
        control.close()
        for pidfd in [fd for fd, child in children.items() if child[3] is control]:
            pid, status, folder, _ = children.pop(pidfd)
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.close(pidfd)
            reap(pid, status, folder)
        return
    try:
        pid, pidfd, status, folder = fork_worker(base, request, fds)
    except Exception as exc:  # noqa: BLE001 - the grader starts a worker another way
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        reply(control, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    children[pidfd] = (pid, status, folder, control)
    reply(control, {"ok": True}, [pidfd])


def stdin_socket() -> socket.socket:
    """The socket this process was given as stdin; stdin and stdout then read and write nothing."""
    given = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    return given


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        return main_server(json.loads(sys.argv[2]))
    control = stdin_socket()
    request, _ = receive(control)
    if request is None:
        return
    preload(request.get("modules", []))
    reply(control, {"ok": True})
    serve(request["base"], [control])


def main_server(config: dict) -> None:
    """A check server: detach from the starting command (which waits for this), import, serve."""
    if os.fork():
        os._exit(0)
    os.setsid()
    listener = stdin_socket()
    try:
        preload(config.get("modules", []), warm=False)
        serve(config["base"], [], listener, float(config["idle"]), config["path"])
    finally:  # a socket file left behind refuses connections: the next check starts a server
        shutil.rmtree(config["base"], ignore_errors=True)


if __name__ == "__main__":
    main()
