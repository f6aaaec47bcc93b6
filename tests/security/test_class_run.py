"""A submission attacks the run, not only its own score: every cheat of the red-team suite,
graded inside a class between two honest students, in every isolation tier. The run must
finish, both honest students must get full marks, and grades.csv, results.sqlite and every
results.json must hold every student."""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import grade_class
from autograder.grading.store import ResultStore
from autograder.publishing.report import class_table
from autograder.sandbox import launch
from autograder.sandbox.pool import WorkerPool

from conftest import ROOT, rubric_for
from test_red_team import A, CHEATS, TRAP, cheat_notebook, descendants
from test_red_team import reference, secret_beside_the_grader  # noqa: F401 - fixtures

# What tier C (resource limits only) says it cannot stop, and so is not run there: a run in
# tier C is only as safe as the submissions it grades.
NOT_STOPPED_BY_LIMITS = {
    "signals_the_grader": "kills the grading process itself",
    "fork_bomb_with_setsid": "no seccomp, and RLIMIT_NPROC does not bind root",
    "forged_results_file": "writes outside its folder",
    "writes_another_students_submission": "writes outside its folder",
    "daemon_thread_outlives_call": "writes outside its folder",
    "disk_bomb": "writes outside its folder",
    "inode_bomb": "writes outside its folder",
    "edits_the_autograder": "writes outside its folder (into the grader's own source)",
}
# (tier, grading processes): one process shows that no student stops those after it; two,
# that no student breaks the pool
TIERS = [("namespaces", 1), ("syscalls", 2), ("limits", 1)]
# Every cheat attacks when its cells load and when mse_loss is called: a few quick tests that
# call it (and one that does not) under a short limit grade the class in seconds per student.
TESTS = ["test_add_bias_prepends_ones", "test_mse_matches_torch", "test_mse_gradient_matches_reference"]
SECONDS_PER_TEST = 4


def small_rubric():
    rubric = rubric_for(A, time_per_test=SECONDS_PER_TEST)
    rubric.only = TESTS
    return rubric


def fingerprint(folder: Path) -> str:
    """A hash of every source file beneath ``folder``: what no submission may change."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "workers"), TIERS, ids=[t for t, _ in TIERS])
def test_no_submission_stops_or_spoils_a_class_run(tier, workers, reference, tmp_path, capsys):
    isolation = launch.detect_isolation(tier)
    if isolation.tier != tier:
        pytest.skip(f"tier {tier} is unavailable here: {isolation.detail}")
    cheats = sorted(set(CHEATS) - (set(NOT_STOPPED_BY_LIMITS) if tier == "limits" else set()))
    honest = nbformat.writes(reference)
    students = {"aaa_honest": honest, "zzz_honest": honest,
                **{f"cheat_{name}": cheat_notebook(reference, CHEATS[name]) for name in cheats}}
    for student, notebook in students.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "regression.ipynb").write_text(notebook)
    if os.path.exists(TRAP):
        os.remove(TRAP)
    WorkerPool.shared().close()
    before = descendants(os.getpid())
    out = tmp_path / "out"
    grader = fingerprint(ROOT / "autograder")

    results = grade_class(small_rubric(), [tmp_path / "class"], out, isolation=isolation, workers=workers)

    assert fingerprint(ROOT / "autograder") == grader, "a submission changed the grader's source"

    scores = {r.student: (r.score, r.max_score) for r in results}
    assert sorted(scores) == sorted(students)
    for student in ("aaa_honest", "zzz_honest"):
        score, most = scores[student]
        assert score == most > 0, f"{student} lost points in a class with cheats: {scores}"
    assert all(len(r.tests) == len(TESTS) for r in results), [r.problems for r in results if not r.tests]
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["student"] for row in rows) == sorted(students)
    assert {row["student"]: float(row["total"]) for row in rows} == {s: v[0] for s, v in scores.items()}
    store = ResultStore(out / "results.sqlite")
    assert sorted(store.results(A)) == sorted(students)
    store.close()
    for student in students:
        assert json.loads((out / student / "results.json").read_text())["score"] == scores[student][0]
    shown = capsys.readouterr()
    table = class_table(results)
    for text in (shown.out, shown.err, table):
        assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert not any(line.startswith("bob: 35/35") for line in (shown.out + table).splitlines())
    assert not os.path.exists(TRAP) and not glob.glob("/tmp/empty-*")
    WorkerPool.shared().close()
    left = [pid for pid in descendants(os.getpid()) - before if "multiprocessing" not in command_line(pid)]
    assert not left, [command_line(pid) for pid in left]  # a pool's forkserver may stay


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
