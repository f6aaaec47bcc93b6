"""Grading a whole class: same results for any worker count, resumable, loss-free."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from autograder.grading.batch import grade_class
from autograder.sandbox import launch
from autograder.sandbox.pool import WorkerPool

from conftest import ROOT, rubric_for, source_notebooks
from test_cli import POINTS

A = "01_regression"


@pytest.fixture
def classroom(built, tmp_path):
    reference = source_notebooks(built, A)["regression"].read_bytes()
    untouched = (ROOT / "release" / A / "regression.ipynb").read_bytes()
    for i, content in enumerate([reference, untouched, reference, untouched]):
        (tmp_path / "class" / f"s{i}").mkdir(parents=True)
        (tmp_path / "class" / f"s{i}" / "regression.ipynb").write_bytes(content)
    return tmp_path / "class"


def summary(results):
    return [(r.student, r.score, [(t.name, t.status, t.output) for t in r.tests]) for r in results]


def test_results_do_not_depend_on_the_number_of_workers(classroom, tmp_path):
    one = grade_class(rubric_for(A), [classroom], tmp_path / "one", workers=1)
    two = grade_class(rubric_for(A), [classroom], tmp_path / "two", workers=2)
    assert summary(one) == summary(two)
    assert [r.score for r in one] == [POINTS, 0, POINTS, 0]


def stored(outdir):
    with sqlite3.connect(outdir / "results.sqlite") as db:
        return dict(db.execute("SELECT student, graded_at FROM results"))


def test_resume_grades_only_what_is_missing_or_changed(classroom, tmp_path):
    out = tmp_path / "out"
    grade_class(rubric_for(A), [classroom], out)
    first = stored(out)
    (classroom / "s1" / "regression.ipynb").write_bytes((classroom / "s0" / "regression.ipynb").read_bytes())
    results = grade_class(rubric_for(A), [classroom], out, resume=True)
    second = stored(out)
    assert [r.score for r in results] == [POINTS, POINTS, POINTS, 0]
    assert {s for s in first if first[s] != second[s]} == {"s1"}
    assert len(second) == 4


def test_a_run_killed_mid_class_resumes_without_losing_or_duplicating(classroom, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "--course", str(ROOT), "grade", "-a", A,
               str(classroom), "-o", str(out), "-j", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "s0" / "results.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = stored(out)
    assert 1 <= len(before) < 4
    subprocess.run(command + ["--resume"], check=True, capture_output=True)
    after = stored(out)
    assert sorted(after) == ["s0", "s1", "s2", "s3"]
    assert all(after[s] == before[s] for s in before)
    assert (out / "grades.csv").read_text().count("\n") == 5


def test_at_most_in_flight_tasks_are_submitted_and_every_result_is_recorded():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from autograder.grading.batch import _grade_on
    from autograder.grading.results import SubmissionResult

    lock, state = threading.Lock(), {"read": 0, "running": 0, "most": 0}
    rubric = rubric_for("01_regression")

    def task(student):
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        time.sleep(0.01)
        with lock:
            state["running"] -= 1
        return SubmissionResult("01_regression", student, 1.0, 1.0, [], {}, "limits", 0.0).to_dict()

    def tasks():  # each student's files are read only when the task is submitted
        for i in range(40):
            state["read"] += 1
            yield f"s{i}", (task, f"s{i}")

    recorded, unfinished = [], []

    def record(student, result):
        recorded.append((student, result.score))
        unfinished.append(state["read"] - len(recorded))

    with ThreadPoolExecutor(max_workers=8) as pool:
        _grade_on(pool, tasks(), rubric, record, lambda: 3)
    assert sorted(recorded) == sorted((f"s{i}", 1.0) for i in range(40))
    assert state["most"] <= 3 and max(unfinished) <= 3


@pytest.mark.parametrize("tier", ["syscalls", "limits"])
def test_a_class_run_leaves_nothing_behind(tier, classroom, tmp_path):
    """Not a worker's folder, not a zygote's, even from the grading processes of a pool."""
    if launch.detect_isolation(tier).tier != tier:
        pytest.skip(f"tier {tier} is unavailable here")
    # a long path: multiprocessing's forkserver listens on a socket in a folder it makes in
    # TMPDIR, where a socket's path (at most 107 bytes) would not fit: it goes to /tmp instead
    scratch = tmp_path / ("long-" * 16)
    scratch.mkdir()
    environment = {**os.environ, "TMPDIR": str(scratch), "COURSE_ISOLATION": tier}
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(ROOT), "grade", "-a", A,
                          str(classroom), "-o", str(tmp_path / "out"), "-j", "2"],
                         env=environment, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(os.listdir(scratch)) == []
    scratch.rmdir()
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 5


def test_a_worker_that_cannot_confine_itself_costs_its_submission_not_the_run(classroom, tmp_path, monkeypatch):
    """Reported before any student code runs, a confinement failure is the machine's: that
    submission is an internal error, the run goes on, and --resume grades it again."""
    broken = {"seccomp": False, "landlock": {"read": 5, "write": []}}  # confine() raises on it
    started = launch.worker_command
    monkeypatch.setattr(launch, "forked_worker_policy", lambda isolation, folder, published=(): broken)
    monkeypatch.setattr(launch, "worker_command", lambda *a, **k: launch.Launch(
        **{**started(*a, **k).__dict__, "policy": broken}) if k.get("module") is None else started(*a, **k))
    results = grade_class(rubric_for(A), [classroom], tmp_path / "out")
    assert [r.student for r in results] == ["s0", "s1", "s2", "s3"]
    assert all("could not confine itself: TypeError" in r.problems["grader"] for r in results)
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 5
    monkeypatch.undo()
    WorkerPool.shared().close()  # a spare worker waiting since then has the broken policy
    again = grade_class(rubric_for(A), [classroom], tmp_path / "out", resume=True)
    assert [r.score == r.max_score > 0 for r in again] == [True, False, True, False]
