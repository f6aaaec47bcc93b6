"""The `course` command as instructors, students and CI use it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder.building.build import BuildError, check_public_file
from autograder.cli import main

from conftest import ROOT, source_notebooks

A = "01_regression"


@pytest.fixture
def submissions(built, tmp_path):
    for student, path in [("ada", source_notebooks(built, A)["regression"]),
                          ("bo", ROOT / "release" / A / "regression.ipynb")]:
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / "regression.ipynb").write_bytes(path.read_bytes())
    return tmp_path / "subs"


def test_grade_writes_gradescope_results_csv_and_a_table(submissions, tmp_path, capsys):
    assert main(["--course", str(ROOT), "grade", "-a", A, str(submissions), "-o", str(tmp_path / "out")]) == 0
    table = capsys.readouterr().out
    assert "ada" in table and "35/35" in table and "0/35" in table
    results = json.loads((tmp_path / "out" / "ada" / "results.json").read_text())
    assert results["score"] == 35
    test = results["tests"][0]
    assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [r["student"] for r in rows] == ["ada", "bo"] and rows[0]["total"] == "35" and rows[1]["total"] == "0"
    assert "test_normal_equations_on_diabetes" in rows[0]


def test_check_runs_public_tests_only_and_fails_until_done(built, capsys):
    assert main(["--course", str(ROOT), "check", str(ROOT / "release" / A / "regression.ipynb")]) == 1
    out = capsys.readouterr().out
    assert "is not implemented yet" in out and "test_logistic_regression_reaches_accuracy_threshold" not in out
    assert main(["--course", str(ROOT), "check", str(source_notebooks(built, A)["regression"])]) == 0
    assert "total: 13/13" in capsys.readouterr().out


def test_verify_passes_for_the_committed_course(capsys):
    assert main(["--course", str(ROOT), "verify", A]) == 0
    assert capsys.readouterr().out.count("PASS") == 3


def test_unknown_assignment_is_a_clear_error(capsys, tmp_path):
    assert main(["--course", str(ROOT), "grade", "-a", "nope", str(tmp_path)]) == 2
    assert "no assignment 'nope'" in capsys.readouterr().err


def test_public_tests_may_not_import_the_reference(tmp_path):
    path = tmp_path / "test_public.py"
    path.write_text("from reference.linear import add_bias\n")
    with pytest.raises(BuildError, match="must not import reference"):
        check_public_file(path)


def test_the_grading_engine_never_needs_the_reference_to_import():
    code = ("import sys; sys.modules['reference'] = None\n"
            "import autograder.cli, autograder.grading.grade, autograder.student.checks, autograder.sandbox.worker, "
            "autograder.building.build, autograder.grading.extract, autograder.publishing.report\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_rubrics_of_different_assignments_do_not_mix(built):
    from conftest import COURSE, grade

    first, second = COURSE.assignments[0].id, COURSE.assignments[1].id
    names = [{t.name for t in grade(a, {n: ROOT / "release" / a / f"{n}.ipynb"
                                        for n in COURSE.assignment(a).notebooks}).tests}
             for a in (first, second, first)]
    assert names[0] == names[2] and not names[0] & names[1]
