"""Grading a class on a Dask cluster: the same results as local grading, resumable, clear errors."""

from __future__ import annotations

import re
import socket
import sqlite3
import time

import nbformat
import pytest

from autograder import cli
from autograder.grading import cluster
from autograder.grading.batch import grade_class
from autograder.grading.cluster import ClusterError, pack, unpack
from autograder.publishing.exports import load_results
from autograder.grading.extract import MAX_BYTES, build_program, extra_files
from autograder.grading.rubric import RubricError
from autograder.building.variants import load_variants

from conftest import COURSE, ROOT, rubric_for, source_notebooks
from test_cli import POINTS

distributed = pytest.importorskip("distributed")

A = "01_regression"


@pytest.fixture(scope="module")
def scheduler():
    """The address of a two-process local Dask cluster, one grading thread per process."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def classroom(built, tmp_path):
    """Students: the reference, the untouched release and a buggy variant; the reference
    hands in an extra file beside its notebook."""
    source = source_notebooks(built, A)["regression"]
    bug = load_variants(COURSE.assignment_dir(A))[0][0]
    notebooks = {"reference": source.read_text(),
                 "untouched": (ROOT / "release" / A / "regression.ipynb").read_text(),
                 f"bug_{bug.name}": nbformat.writes(bug.apply(nbformat.read(source, as_version=4)))}
    for student, text in notebooks.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "regression.ipynb").write_text(text)
    (tmp_path / "class" / "reference" / "notes.txt").write_text("handed in\n")
    return tmp_path / "class"


def rubric_with_extra_file():
    rubric = rubric_for(A)
    rubric.files = ["notes.txt"]
    return rubric


def summary(results):
    return [(r.student, r.score, r.max_score, r.problems, r.files,
             [(t.name, t.status, t.score, t.max_score, t.output) for t in r.tests])
            for r in results]


def graded_at(outdir):
    with sqlite3.connect(outdir / "results.sqlite") as db:
        return dict(db.execute("SELECT student, graded_at FROM results"))


def test_a_cluster_grades_a_class_as_local_grading_does(scheduler, classroom, tmp_path):
    local = grade_class(rubric_with_extra_file(), [classroom], tmp_path / "local")
    remote = grade_class(rubric_with_extra_file(), [classroom], tmp_path / "cluster",
                         cluster=scheduler)
    assert summary(remote) == summary(local)
    by_student = {r.student: r for r in remote}
    bug = next(s for s in by_student if s.startswith("bug_"))
    reference = by_student["reference"]
    assert reference.score == reference.max_score > by_student[bug].score > 0
    assert by_student["untouched"].score == 0
    assert "notes.txt" in by_student["untouched"].problems
    assert "notes.txt" not in by_student["reference"].problems


def test_a_shipped_submission_reads_on_the_worker_as_the_original(built, tmp_path):
    notebook = source_notebooks(built, A)["regression"]
    rubric = rubric_for(A)
    rubric.files = ["notes.txt", "data.bin", "results", "empty.txt", "missing.txt"]
    student = tmp_path / "student"
    student.mkdir()
    (student / "regression.ipynb").symlink_to(notebook)
    (student / "notes.txt").symlink_to(notebook)
    with (student / "data.bin").open("wb") as file:  # sparse, over the size limit
        file.truncate(MAX_BYTES + 1)
    (student / "results").mkdir()
    (student / "empty.txt").touch()
    files = {"regression": student / "regression.ipynb"}
    rebuilt = unpack(pack(rubric, files), tmp_path / "worker")
    original = build_program(rubric.instructor, files)
    remade = build_program(rubric.instructor, rebuilt)
    assert "symbolic link" in original.fatal and remade.fatal == original.fatal
    assert extra_files(rubric.files, rebuilt)[1] == extra_files(rubric.files, files)[1]
    assert len(extra_files(rubric.files, files)[1]) == 4


def test_course_grade_cluster_resumes_grading_only_what_changed(scheduler, classroom, tmp_path,
                                                                capsys):
    out = tmp_path / "out"
    command = ["--course", str(ROOT), "grade", "-a", A, str(classroom / "reference"),
               str(classroom / "untouched"), "-o", str(out), "--cluster", scheduler]
    assert cli.main(command) == 0
    first = graded_at(out)
    (classroom / "untouched" / "regression.ipynb").write_bytes(
        (classroom / "reference" / "regression.ipynb").read_bytes())
    assert cli.main(command + ["--resume"]) == 0
    second = graded_at(out)
    assert sorted(first) == sorted(second) == ["reference", "untouched"]
    assert first["reference"] == second["reference"] and first["untouched"] != second["untouched"]
    scores = {r.student: r.score for r in load_results(out, A)}
    assert scores["untouched"] == scores["reference"] == POINTS
    assert "isolation: on the cluster's workers: " in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_quick_clear_error(classroom, tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    code = cli.main(["--course", str(ROOT), "grade", "-a", A, str(classroom),
                     "-o", str(tmp_path / "out"), "--cluster", address])
    assert code == 2
    assert time.monotonic() - started < 20
    assert f"error: cannot reach the Dask scheduler at {address}" in capsys.readouterr().err


def test_a_task_that_fails_on_a_worker_is_that_students_internal_error(scheduler, classroom,
                                                                         tmp_path, monkeypatch):
    real = cluster.content

    def unreadable(path):  # the untouched notebook fails when the worker remakes it
        return ("error", OSError("disk on fire")) if path.parent.name == "untouched" else real(path)

    monkeypatch.setattr(cluster, "content", unreadable)
    results = grade_class(rubric_for(A), [classroom / "reference", classroom / "untouched"],
                          tmp_path / "out", cluster=scheduler)
    assert [(r.student, r.score, r.problems.get("grader")) for r in results] == [
        ("reference", POINTS, None), ("untouched", 0, "internal error: OSError: disk on fire")]


def test_a_broken_rubric_stops_a_cluster_run(scheduler, classroom, tmp_path):
    rubric = rubric_for(A)
    rubric.test_files = [tmp_path / "course" / "assignments" / A / "test_public.py"]
    rubric.test_files[0].parent.mkdir(parents=True)
    rubric.test_files[0].write_text("def test_broken(:\n")
    with pytest.raises(RubricError, match="is broken"):
        grade_class(rubric, [classroom], tmp_path / "out", cluster=scheduler)


def test_a_worker_without_the_course_stops_the_run_saying_so(scheduler, classroom, tmp_path):
    rubric = rubric_for(A)
    rubric.test_files = [tmp_path / "elsewhere" / "assignments" / A / "test_public.py"]
    with pytest.raises(ClusterError, match=re.escape(f"has no course at {tmp_path / 'elsewhere'} (")):
        grade_class(rubric, [classroom], tmp_path / "out", cluster=scheduler)
