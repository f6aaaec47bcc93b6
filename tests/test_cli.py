"""The `course` command as instructors, students and CI use it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder.building.build import BuildError, check_public_file
from autograder.cli import main
from autograder.sandbox import launch

from autograder.grading.extract import written_questions
from conftest import ROOT, rubric_points, source_notebooks

A = "01_regression"


POINTS, TESTS = rubric_points(A)
WRITTEN = len(written_questions(ROOT / "release" / A / "regression.ipynb"))  # results.json lists them as tests
PUBLIC_POINTS, _ = rubric_points(A, public_only=True)


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
    assert "ada" in table and f"{POINTS:g}/{POINTS:g}" in table and f"0/{POINTS:g}" in table
    results = json.loads((tmp_path / "out" / "ada" / "results.json").read_text())
    assert results["score"] == POINTS and len(results["tests"]) == TESTS + WRITTEN
    test = results["tests"][0]
    assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [r["student"] for r in rows] == ["ada", "bo"] and rows[0]["total"] == f"{POINTS:g}" and rows[1]["total"] == "0"
    assert "test_normal_equations_on_diabetes" in rows[0]


def test_check_runs_public_tests_only_and_fails_until_done(built, capsys):
    assert main(["--course", str(ROOT), "check", str(ROOT / "release" / A / "regression.ipynb")]) == 1
    out = capsys.readouterr().out
    assert "is not implemented yet" in out and "test_logistic_regression_reaches_accuracy_threshold" not in out
    assert main(["--course", str(ROOT), "check", str(source_notebooks(built, A)["regression"])]) == 0
    assert f"total: {PUBLIC_POINTS:g}/{PUBLIC_POINTS:g}" in capsys.readouterr().out


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


def test_thresholds_in_a_template_are_filled_from_course_yml():
    from autograder.building.notebook import TemplateError, fill_thresholds

    text = "at least **{{ thresholds.digits_accuracy }}** and {{thresholds.gain}}"
    assert fill_thresholds(text, {"digits_accuracy": 0.93, "gain": 0.04}, "cell 3") == "at least **0.93** and 0.04"
    with pytest.raises(TemplateError, match="cell 3 names .*thresholds.gain.* course.yml does not set"):
        fill_thresholds(text, {"digits_accuracy": 0.93}, "cell 3")


def test_only_hidden_tests_may_use_the_secret(tmp_path):
    from autograder.course import Limits
    from autograder.grading.grade import Rubric, grade_submission
    from autograder.grading.rubric import RubricError

    (tmp_path / "test_public.py").write_text(
        "import pytest\n\n@pytest.mark.points(1)\ndef test_peeks(secret):\n    pass\n")
    (tmp_path / "test_hidden.py").write_text(
        "import pytest\n\n@pytest.mark.points(1)\ndef test_draws(secret):\n"
        "    assert 0 <= secret.random() < 1\n")
    hidden = Rubric("demo", [tmp_path / "test_hidden.py"], {"nb": []}, limits=Limits(time_per_test=5))
    assert grade_submission(hidden, "s", {"nb": None}).tests[0].status == "passed"
    public = Rubric("demo", [tmp_path / "test_public.py"], {"nb": []}, limits=Limits(time_per_test=5))
    with pytest.raises(RubricError, match="only hidden tests may"):
        grade_submission(public, "s", {"nb": None})


def test_each_rubric_runs_its_own_test_files_though_they_share_a_name(tmp_path):
    from autograder.course import Limits
    from autograder.grading.grade import Rubric, grade_submission

    names = []
    for folder, test in [("first", "test_one"), ("second", "test_two"), ("first", "test_one")]:
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "test_public.py").write_text(f"import pytest\n\n@pytest.mark.points(1)\ndef {test}():\n    pass\n")
        rubric = Rubric("demo", [tmp_path / folder / "test_public.py"], {"nb": []}, limits=Limits(time_per_test=5))
        names.append([t.name for t in grade_submission(rubric, "s", {"nb": None}).tests])
        assert not [m for m in sys.modules if m.endswith("test_public")], "a rubric's module outlived its grading"
    assert names == [["test_one"], ["test_two"], ["test_one"]]


def test_a_mixed_layout_is_a_clear_error_before_anything_is_graded(submissions, tmp_path, capsys):
    (submissions / "regression.py").write_text("def add_bias(X):\n    return X\n")
    assert main(["--course", str(ROOT), "grade", "-a", A, str(submissions), "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "holds a submission of its own (regression.py) and folders of other submissions (ada, bo)" in error
    assert not (tmp_path / "out" / "results.sqlite").exists()


def test_a_submission_that_is_not_graded_is_named_and_costs_no_one_else(submissions, tmp_path, capsys):
    (submissions / "ada.ipynb").write_text("{}")
    assert main(["--course", str(ROOT), "grade", "-a", A, str(submissions), "-o", str(tmp_path / "out")]) == 0
    shown = capsys.readouterr()
    assert "1 submission(s) were not graded: ada (2 submissions are named 'ada'" in shown.err
    assert "WARNING: weak isolation" not in shown.err or launch.detect_isolation().tier != "namespaces"
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [(r["student"], r["total"]) for r in rows] == [("ada", "0"), ("bo", "0")]
