"""A student's check server (``autograder.sandbox.warm``): the first self-check starts it, the
next ones fork their plain worker from it, with the same scores as a worker of their own; it
serves only its own configuration and user, and ends when idle or when its socket is gone."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import Limits
from autograder.sandbox import launch, warm
from autograder.sandbox.pool import WorkerPool
from autograder.sandbox.processes import ForkedChild
from autograder.selfcheck import PLAIN, check_file

from conftest import ROOT, source_notebooks

A = "01_regression"
pytestmark = pytest.mark.skipif(not warm.available(), reason="no check servers on this system")


@pytest.fixture
def servers(monkeypatch) -> Path:
    """This test's own folder of servers (short, as a socket's path must be); removing it at the
    end stops the servers started in it."""
    runtime = Path(tempfile.mkdtemp(prefix="xdg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("COURSE_WARM_SECONDS", "60")
    yield runtime / f"course-check-{os.getuid()}"
    shutil.rmtree(runtime, ignore_errors=True)


def running(servers: Path) -> dict[int, dict]:
    """pid -> configuration of each check server whose socket lies in ``servers`` (not the
    workers it forked, which keep its command line until they are reaped)."""
    found, parents = {}, {}
    for entry in os.listdir("/proc"):
        try:
            argv = Path("/proc", entry, "cmdline").read_bytes().split(b"\0")
            stat = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"--serve" in argv and str(servers).encode() in argv[-2] and stat[0] != "Z":
            found[int(entry)], parents[int(entry)] = json.loads(argv[-2]), int(stat[1])
    return {pid: config for pid, config in found.items() if parents[pid] not in found}


def gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
            return True
        time.sleep(0.1)
    return False


def scores(report) -> list[tuple]:
    return [(t.name, t.status, t.score) for t in report.result.tests]


def with_answer(built: Path, folder: Path, old: str, new: str) -> Path:
    """01's reference notebook with ``old`` replaced by ``new`` in its answer cells, in ``folder``."""
    folder.mkdir()
    notebook = nbformat.read(source_notebooks(built, A)["regression"], as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, folder / "regression.ipynb")
    return folder / "regression.ipynb"


def test_the_first_check_starts_a_server_and_the_next_forks_from_it(built, servers):
    notebook = source_notebooks(built, A)["regression"]
    first = check_file(notebook, A, course=ROOT)
    (pid, config), = running(servers).items()
    second = check_file(notebook, A, course=ROOT)
    assert running(servers) == {pid: config}, "the same server served the second check"
    assert first.result.score == first.result.max_score and scores(first) == scores(second)
    assert "without a sandbox" in repr(second)
    pool = WorkerPool(spares=False, served=True)
    try:
        worker = pool.take({}, Limits(), PLAIN)  # other limits: a server of its own
        assert isinstance(worker.process, ForkedChild)
        assert any(worker.folder.startswith(c["base"] + "/") for c in running(servers).values())
        worker.kill()
    finally:
        pool.close()
    assert pid in running(servers) and len(running(servers)) == 2, "closing a check leaves its server"
    deadline = time.monotonic() + 10  # the server reaps a killed worker and removes its folder
    while any(n.startswith("worker-") for n in os.listdir(config["base"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(n.startswith("worker-") for n in os.listdir(config["base"])), "the workers' folders are removed"


def test_a_served_check_scores_wrong_and_looping_answers_as_an_unserved_one(built, servers, tmp_path, monkeypatch):
    buggy = with_answer(built, tmp_path / "buggy", "np.mean", "np.sum")
    looping = with_answer(built, tmp_path / "looping", "def mse_loss(", "def mse_loss(*args):\n    while True:\n        pass\n\n\ndef unused(")
    served = {name: check_file(path, A, course=ROOT) for name, path in [("buggy", buggy), ("looping", looping)]}
    pid, = running(servers)
    monkeypatch.setenv("COURSE_WARM_SECONDS", "0")
    for name, path in [("buggy", buggy), ("looping", looping)]:
        alone = check_file(path, A, course=ROOT)
        assert scores(served[name]) == scores(alone), name
        assert 0 < served[name].result.score < served[name].result.max_score, name
    looped = [t.output for t in served["looping"].result.tests if "mse" in t.name and t.status != "passed"]
    assert looped and all("time limit" in o or "not called" in o for o in looped), looped
    assert list(running(servers)) == [pid], "a looping answer's worker died, not its server"


def test_a_server_ends_once_idle_or_once_its_socket_is_gone(built, servers, monkeypatch):
    notebook = source_notebooks(built, A)["regression"]
    monkeypatch.setenv("COURSE_WARM_SECONDS", "1")
    check_file(notebook, A, course=ROOT)
    (pid, config), = running(servers).items()
    assert gone(pid, 30), "idle past its time"
    assert not os.path.exists(config["base"]), "its folder is removed"
    monkeypatch.setenv("COURSE_WARM_SECONDS", "60")
    assert check_file(notebook, A, course=ROOT).result.score > 0, "a socket left behind is replaced"
    (pid, config), = running(servers).items()
    shutil.rmtree(servers)
    assert gone(pid, 30), "its socket removed"


def test_no_server_in_a_folder_others_may_enter(built, servers):
    servers.mkdir(mode=0o700)
    servers.chmod(0o755)
    assert warm.folder() is None and warm.address(PLAIN, 1 << 20, ()) is None
    notebook = source_notebooks(built, A)["regression"]
    report = check_file(notebook, A, course=ROOT)
    assert report.result.score == report.result.max_score and not running(servers)


def test_another_engine_or_other_imports_is_another_server(tmp_path, servers):
    package = tmp_path / "autograder"
    shutil.copytree(launch.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = warm.fingerprint(package)
    changed = package / "sandbox" / "worker.py"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    assert warm.fingerprint(package) != before
    assert warm.address(PLAIN, 1 << 20, ("numpy",)) != warm.address(PLAIN, 1 << 20, ("numpy", "torch"))
    assert warm.address(PLAIN, 1 << 20, ()) == warm.address(PLAIN, 1 << 20, ())


def test_a_server_that_cannot_start_leaves_the_check_to_a_worker_of_its_own(built, servers, monkeypatch):
    started, folders = launch.worker_command, []

    def failing(*args, **kwargs):
        command = started(*args, **kwargs)
        if kwargs.get("module") != "autograder.sandbox.zygote":
            return command
        folders.append(command.workdir)
        return dataclasses.replace(command, argv=[sys.executable, "-c", "raise SystemExit(3)"])

    monkeypatch.setattr(launch, "worker_command", failing)
    with pytest.warns(UserWarning, match="the check server did not start"):
        report = check_file(source_notebooks(built, A)["regression"], A, course=ROOT)
    assert report.result.score == report.result.max_score and not running(servers)
    assert folders and not any(os.path.exists(f) for f in folders), "the server's folder is removed"
