"""Workers forked from a warm zygote: fresh per submission and walled off from each other."""

from __future__ import annotations

import os

import pytest

from autograder import sandbox
from autograder.remote import Cell, Limits, Program, StudentError, Submission, Zygote, ZygoteError, spares

from conftest import grade, source_notebooks

FORKING = [t for t in ("namespaces", "syscalls")
           if sandbox.detect_isolation(t).tier == t and sandbox.can_fork_workers(sandbox.detect_isolation(t), "cpu")]
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


def probes(tier: str) -> Submission:
    return Submission(Program([Cell("probes", PROBES)]), Limits(time_per_test=10),
                      sandbox.detect_isolation(tier))


@pytest.fixture(autouse=True)
def fresh_zygotes():
    spares.close()
    yield
    spares.close()


@forking_tiers
def test_each_submission_gets_a_fresh_worker_from_one_zygote(tier):
    first, second = probes(tier), probes(tier)
    try:
        assert first.count() == 1 and first.count() == 2
        assert second.count() == 1, "a forked worker must not inherit another submission's state"
        assert first.folder() != second.folder()
        assert len(spares.zygotes) == 1
    finally:
        first._close()
        second._close()


@forking_tiers
def test_forked_workers_cannot_leave_notes_for_each_other(tier):
    for leftover in ["/dev/shm/note.txt", "/tmp/note.txt"]:  # on this machine, not in a sandbox
        if os.path.exists(leftover):
            os.remove(leftover)
    writer, reader = probes(tier), probes(tier)
    try:
        assert writer.leave_notes() == ["note.txt"], "only its own folder may be writable"
        assert reader.find_notes(writer.folder()) == []
        with pytest.raises(StudentError, match="PermissionError"):
            reader.list_siblings()
    finally:
        writer._close()
        reader._close()


@forking_tiers
def test_forked_worker_cannot_signal_its_zygote(tier):
    student = probes(tier)
    try:
        assert student.attack_parent() == {"kill": "Operation not permitted", "tkill": "refused",
                                           "pidfd_open": "refused"}
    finally:
        student._close()
    zygote = next(iter(spares.zygotes.values()))
    assert zygote.alive
    after = probes(tier)
    try:
        assert after.count() == 1
        assert next(iter(spares.zygotes.values())) is zygote
    finally:
        after._close()


@forking_tiers
def test_a_killed_worker_is_reaped_and_its_folder_removed(tier):
    program = Program([Cell("probes", PROBES + "\ndef hang():\n    while True:\n        pass\n")])
    student = Submission(program, Limits(time_per_test=2), sandbox.detect_isolation(tier))
    try:
        student.leave_notes()
        with pytest.raises(StudentError, match="time limit"):
            student.hang()
        assert student.count() == 1, "the next call gets a fresh worker"
    finally:
        student._close()
    zygote = next(iter(spares.zygotes.values()))
    if zygote.workdir:  # tier B: the zygote's folder is visible from here
        import time

        deadline = time.monotonic() + 10
        while set(os.listdir(zygote.workdir)) != {"autograder"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(os.listdir(zygote.workdir)) == {"autograder"}


def test_a_broken_zygote_falls_back_to_starting_workers(built, monkeypatch):
    isolation = sandbox.detect_isolation()
    if not sandbox.can_fork_workers(isolation, "cpu"):
        pytest.skip(f"workers are never forked here: {isolation.detail}")
    monkeypatch.setattr(spares, "broken", {})
    monkeypatch.setattr(sandbox, "zygote_base", lambda isolation, launch: "/nonexistent")
    result = grade("01_regression", source_notebooks(built, "01_regression")["regression"])
    assert result.score == result.max_score
    assert "could not fork" in " ".join(spares.broken.values()) and not spares.zygotes


def test_forked_and_started_workers_grade_alike(built, monkeypatch):
    notebook = source_notebooks(built, "01_regression")["regression"]
    forked = grade("01_regression", notebook)
    monkeypatch.setattr(spares, "forking", False)
    started = grade("01_regression", notebook)
    assert [(t.name, t.status, t.score) for t in forked.tests] == \
           [(t.name, t.status, t.score) for t in started.tests]
    assert forked.score == forked.max_score


@forking_tiers
def test_a_zygote_that_died_is_reported_not_crashed_on(tier):
    zygote = Zygote(sandbox.detect_isolation(tier), 16 << 20, ())
    zygote.process.kill_tree()
    try:
        with pytest.raises(ZygoteError, match="the zygote ended"):
            zygote.fork(Limits(), {})
    finally:
        zygote.kill()
