"""Grading on a Dask cluster: the executor, and each student's files shipped with the task.

Cluster workers are trusted graders (Dask pickles tasks and results between them); student
code still runs only inside each worker's sandbox. Every worker needs the course at the
client's path (a shared filesystem or an identical checkout); the submissions travel with
the tasks, so workers need not see the client's files.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from autograder.sandbox import launch
from autograder.grading.extract import MAX_BYTES
from autograder.grading.grade import Rubric
from autograder.grading.parallel import grade_in_process

CONNECT_SECONDS = 5  # to reach a cluster's scheduler
WORKERS_SECONDS = 60  # for a reachable scheduler to have at least one worker


class ClusterError(Exception):
    """The cluster cannot grade at all (unreachable, not installed, a worker without the
    course); the message says what to fix."""


@contextlib.contextmanager
def executor(address: str) -> Iterator[tuple[Executor, Callable[[], int]]]:
    """An executor on the Dask cluster whose scheduler is at ``address``, and a function
    telling how many tasks the cluster's workers run at once (it may grow or shrink)."""
    try:
        from distributed import Client
        from distributed.comm import resolve_address
    except ImportError:
        raise ClusterError("grading on a cluster needs Dask's distributed package: "
                           "pip install -e '.[cluster]'") from None
    try:
        resolve_address(address)  # a malformed address or unknown host fails here, at once
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_SECONDS)
        except (OSError, TimeoutError):
            raise ClusterError(f"the Dask scheduler at {address} has had no workers for "
                               f"{WORKERS_SECONDS} s: start them with `dask worker {address}`"
                               ) from None
        with client.get_executor(pure=False) as pool:
            yield pool, lambda: max(sum(client.nthreads().values()), 1)
    finally:
        client.close()


def grade_shipped(rubric: Rubric, fingerprint: str, student: str, package: dict,
                  tier: str | None) -> dict:
    """Grade one student on a cluster worker, from the files shipped with the task
    (see ``pack``), under ``tier`` or the strongest isolation this worker has."""
    check_course(rubric, fingerprint)
    with tempfile.TemporaryDirectory(prefix="course-submission-") as folder:
        files = unpack(package, Path(folder))
        return grade_in_process(rubric, student, files, launch.detect_isolation(tier))


def check_course(rubric: Rubric, fingerprint: str) -> None:
    """Stop the run unless this machine has the client's course at the client's path."""
    missing = [f for f in rubric.test_files if not Path(f).is_file()]
    if missing:
        raise ClusterError(
            f"cluster worker {socket.gethostname()} has no course at {missing[0].parents[2]} "
            f"({missing[0]} is missing): every worker needs the course at the same path as the "
            "client, on a shared filesystem or in an identical checkout")
    if rubric.fingerprint() != fingerprint:
        raise ClusterError(
            f"cluster worker {socket.gethostname()} has another version of the course at "
            f"{rubric.test_files[0].parents[2]} (its rubric or reference/ differs from the "
            "client's): update its checkout")


def pack(rubric: Rubric, files: dict[str, Path | None]) -> dict:
    """One student's files, as a cluster task carries them: ``notebooks`` (notebook name ->
    path relative to the package, or None) and ``contents`` (relative path -> ``content``),
    with the extra files ``rubric.files`` names beside each notebook."""
    folders: dict[Path, str] = {}
    notebooks, contents = {}, {}
    for name, path in files.items():
        if path is not None:
            path = Path(path)
            relative = f"{folders.setdefault(path.parent, str(len(folders)))}/{path.name}"
            contents[relative] = content(path)
            path = relative
        notebooks[name] = path
    for folder, key in folders.items():
        contents.update({f"{key}/{name}": content(folder / name) for name in rubric.files})
    return {"notebooks": notebooks, "contents": contents}


def content(path: Path) -> tuple | None:
    """``(kind, value)`` that remakes ``path`` elsewhere as grading will see it: its bytes;
    or, for what grading refuses unread, just enough to refuse it alike (a link, a folder, an
    oversized file's size); or the error reading it raised; None where nothing is."""
    try:
        if path.is_symlink():
            return "link", os.readlink(path)
        if path.is_dir():
            return "folder", None
        if not path.is_file():
            return None
        size = path.stat().st_size
        return ("size", size) if size > MAX_BYTES else ("bytes", path.read_bytes())
    except OSError as error:
        return "error", error


def unpack(package: dict, folder: Path) -> dict[str, Path | None]:
    """Remake a ``pack``ed submission in ``folder``; its notebook name -> file."""
    for relative, content in package["contents"].items():
        if content is None:
            continue
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        kind, value = content
        if kind == "bytes":
            path.write_bytes(value)
        elif kind == "link":
            path.symlink_to(value)
        elif kind == "folder":
            path.mkdir()
        elif kind == "size":  # sparse: as large as the original, without shipping it
            with path.open("wb") as file:
                file.truncate(value)
        else:
            raise value  # what reading it on the client raised, as grading it there would
    return {name: None if relative is None else folder / relative
            for name, relative in package["notebooks"].items()}
