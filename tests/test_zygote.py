"""Workers forked from a warm zygote: fresh per submission and walled off from each other."""

from __future__ import annotations

import os

import pytest

from autograder.sandbox import launch
from autograder.course import Limits
from autograder.grading.program import Cell, Program
from autograder.sandbox.client import StudentError
from autograder.sandbox.pool import WorkerPool, Zygote, ZygoteError

from conftest import grade, loaded, source_notebooks

POOL = WorkerPool.shared()  # the pool grading uses in this process

FORKING = [t for t in ("namespaces", "syscalls")
           if launch.detect_isolation(t).tier == t and launch.can_fork_workers(launch.detect_isolation(t), "cpu")]
forking_tiers = pytest.mark.parametrize("tier", FORKING or [pytest.param("none", marks=pytest.mark.skip(
    reason="no tier here can wall forked workers off from each other (needs seccomp and Landlock)"))])

PROBES = '''
import ctypes, glob, os, signal
libc = ctypes.CDLL(None, use_errno=True)
state = {"calls": 0}

def count():
    state["calls"] += 1
    return state["calls"]

def folder():
    return os.getcwd()

def leave_notes():
    """Everywhere a submission might leave something for the next one."""
    left = []
    for path in ["note.txt", "/tmp/note.txt", "/dev/shm/note.txt", "../note.txt"]:
        try:
            with open(path, "w") as handle:
                handle.write("answers")
            left.append(path)
        except OSError:
            pass
    if libc.shmget(0x5EED, 4096, 0o1666) >= 0:
        left.append("System V shared memory")
    return left

def find_notes(other_folder):
    found = []
    for path in ["/tmp/note.txt", "/dev/shm/note.txt", "../note.txt", other_folder + "/note.txt",
                 *glob.glob("/tmp/*/note.txt")]:
        try:
            with open(path) as handle:
                handle.read()
            found.append(path)
        except OSError:
            pass
    if libc.shmget(0x5EED, 0, 0) >= 0:
        found.append("System V shared memory")
    return found

def list_siblings():
    return os.listdir("..")

def attack_parent():
    """Try every way to signal the zygote that forked this worker."""
    outcomes = {}
    parent = os.getppid()
    try:
        os.kill(parent, signal.SIGKILL)
        outcomes["kill"] = "sent"
    except OSError as error:
        outcomes["kill"] = error.strerror
    outcomes["tkill"] = "sent" if libc.syscall(200, parent, signal.SIGKILL) == 0 else "refused"
    outcomes["pidfd_open"] = "opened" if libc.syscall(434, parent, 0) >= 0 else "refused"
    return outcomes
'''


def probes(tier: str, program: Program | None = None):
    return loaded(program or Program([Cell("probes", PROBES)]), Limits(time_per_test=10),
                  launch.detect_isolation(tier))


@pytest.fixture(autouse=True)
def fresh_zygotes():
    POOL.close()
    yield
    POOL.close()


@forking_tiers
def test_each_submission_gets_a_fresh_worker_from_one_zygote(tier):
    with probes(tier) as first, probes(tier) as second:
        assert first.count() == 1 and first.count() == 2
        assert second.count() == 1, "a forked worker must not inherit another submission's state"
        assert first.folder() != second.folder()
        assert len(POOL.zygotes) == 1


@forking_tiers
def test_forked_workers_cannot_leave_notes_for_each_other(tier):
    for leftover in ["/dev/shm/note.txt", "/tmp/note.txt"]:  # on this machine, not in a sandbox
        if os.path.exists(leftover):
            os.remove(leftover)
    with probes(tier) as writer, probes(tier) as reader:
        assert writer.leave_notes() == ["note.txt"], "only its own folder may be writable"
        assert reader.find_notes(writer.folder()) == []
        with pytest.raises(StudentError, match="PermissionError"):
            reader.list_siblings()


@forking_tiers
def test_forked_worker_cannot_signal_its_zygote(tier):
    with probes(tier) as student:
        assert student.attack_parent() == {"kill": "Operation not permitted", "tkill": "refused",
                                           "pidfd_open": "refused"}
    zygote = next(iter(POOL.zygotes.values()))
    assert zygote.alive
    with probes(tier) as after:
        assert after.count() == 1
        assert next(iter(POOL.zygotes.values())) is zygote


@forking_tiers
def test_a_killed_worker_is_reaped_and_its_folder_removed(tier):
    program = Program([Cell("probes", PROBES + "\ndef hang():\n    while True:\n        pass\n")])
    with loaded(program, Limits(time_per_test=2), launch.detect_isolation(tier)) as student:
        student.leave_notes()
        with pytest.raises(StudentError, match="time limit"):
            student.hang()
        assert student.count() == 1, "the next call gets a fresh worker"
    zygote = next(iter(POOL.zygotes.values()))
    if zygote.workdir:  # tier B: the zygote's folder is visible from here
        import time

        deadline = time.monotonic() + 10
        while set(os.listdir(zygote.workdir)) != {"autograder"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(os.listdir(zygote.workdir)) == {"autograder"}


def test_a_broken_zygote_falls_back_to_starting_workers(built, monkeypatch):
    isolation = launch.detect_isolation()
    if not launch.can_fork_workers(isolation, "cpu"):
        pytest.skip(f"workers are never forked here: {isolation.detail}")
    monkeypatch.setattr(POOL, "broken", {})
    monkeypatch.setattr(launch, "zygote_base", lambda isolation, command: "/nonexistent")
    result = grade("01_regression", source_notebooks(built, "01_regression")["regression"])
    assert result.score == result.max_score
    assert "could not fork" in " ".join(POOL.broken.values()) and not POOL.zygotes


def test_forked_and_started_workers_grade_alike(built, monkeypatch):
    notebook = source_notebooks(built, "01_regression")["regression"]
    forked = grade("01_regression", notebook)
    monkeypatch.setattr(POOL, "forking", False)
    started = grade("01_regression", notebook)
    assert [(t.name, t.status, t.score) for t in forked.tests] == \
           [(t.name, t.status, t.score) for t in started.tests]
    assert forked.score == forked.max_score


@forking_tiers
def test_a_zygote_that_died_is_reported_not_crashed_on(tier):
    zygote = Zygote(launch.detect_isolation(tier), 16 << 20, ())
    zygote.process.kill_tree()
    try:
        with pytest.raises(ZygoteError, match="the zygote ended"):
            zygote.fork(Limits(), {})
    finally:
        zygote.kill()
