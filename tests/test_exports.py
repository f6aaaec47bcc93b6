"""Exports read one stored grading run and write what other systems read, without regrading."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.grading.output import gradescope_results
from autograder import cli
from autograder.publishing import exports
from autograder.grading.batch import grade_class
from autograder.course import LatePolicy
from autograder.grading.late import Deadline

from autograder.grading.extract import written_questions
from conftest import ROOT, rubric_for, source_notebooks
from test_cli import POINTS, TESTS, WRITTEN

MAX = POINTS + sum(written_questions(ROOT / "release" / "01_regression" / "regression.ipynb").values())

A = "01_regression"
DUE = dt.datetime(2026, 10, 16, 23, 59, tzinfo=dt.timezone.utc)
VENV_BIN = Path(sys.executable).parent  # where `course` is installed


@pytest.fixture(scope="module")
def graded(built, tmp_path_factory):
    """alice: reference, on time; bob: untouched release; carol: reference, 2 days late."""
    folder = tmp_path_factory.mktemp("exports")
    reference = source_notebooks(built, A)["regression"]
    untouched = ROOT / "release" / A / "regression.ipynb"
    for student, notebook in [("alice", reference), ("bob", untouched), ("carol", reference)]:
        (folder / "class" / student).mkdir(parents=True)
        (folder / "class" / student / "regression.ipynb").write_bytes(notebook.read_bytes())
    times = {"alice": DUE, "bob": DUE, "carol": DUE + dt.timedelta(days=1, hours=2)}
    grade_class(rubric_for(A), [folder / "class"], folder / "out",
                deadline=Deadline(DUE, LatePolicy(percent_per_day=10)), submitted_at=times)
    return folder


@pytest.fixture(scope="module")
def results(graded):
    return {r.student: r for r in exports.load_results(graded / "out", A)}


def test_the_stored_run_is_what_gets_exported(results):
    assert {s: (r.raw_score, r.score) for s, r in results.items()} == {
        "alice": (POINTS, POINTS), "bob": (0, 0), "carol": (POINTS, pytest.approx(0.8 * POINTS))}


def test_nbgrader_gradebook_holds_every_test_and_score(results, tmp_path):
    from nbgrader.api import Gradebook

    path = tmp_path / "gradebook.db"
    for _ in range(2):  # exporting again updates, never duplicates
        exports.export(list(results.values()), "nbgrader", path, notebook="regression")
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{path}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob", "carol"]
        assert gradebook.find_assignment(A).max_score == results["alice"].total_max  # tests and written questions
        for student, result in results.items():
            for test in result.tests:
                grade = gradebook.find_grade(test.name, "regression", A, student)
                assert (grade.auto_score, grade.max_score) == (test.score, test.max_score)
            submission = gradebook.find_submission(A, student)
            assert submission.score == result.raw_score
            assert (submission.late_submission_penalty or 0) == pytest.approx(result.raw_score - result.score)
        carol = gradebook.find_submission(A, "carol")
        assert carol.timestamp == dt.datetime(2026, 10, 18, 1, 59)


def test_gradescope_export_is_each_students_results_json(results, tmp_path):
    exports.export(list(results.values()), "gradescope", tmp_path)
    for student, result in results.items():
        assert json.loads((tmp_path / student / "results.json").read_text()) == gradescope_results(result)
    assert json.loads((tmp_path / "carol" / "results.json").read_text())["score"] == pytest.approx(0.8 * POINTS)


def test_github_classroom_points_add_up_to_the_final_score(results, tmp_path):
    exports.export(list(results.values()), "github-classroom", tmp_path)
    for student, result in results.items():
        report = json.loads((tmp_path / f"{student}.json").read_text())
        assert report["version"] == 1 and report["max_score"] == POINTS
        assert sum(t["score"] for t in report["tests"]) == pytest.approx(result.score)
        assert {t["status"] for t in report["tests"]} <= {"pass", "fail", "error"}
    assert json.loads((tmp_path / "alice.json").read_text())["status"] == "pass"
    bob = json.loads((tmp_path / "bob.json").read_text())
    assert bob["status"] == "fail"
    hidden = {t.name for t in results["bob"].tests if t.visibility != "visible"}
    assert {t["message"] for t in bob["tests"] if t["name"] in hidden} == {"hidden test failed"}
    carol = json.loads((tmp_path / "carol.json").read_text())
    assert carol["tests"][-1]["name"] == "late penalty" and carol["tests"][-1]["score"] == pytest.approx(-0.2 * POINTS)


def test_prairielearn_results_score_in_zero_to_one_with_points_per_test(results, tmp_path):
    exports.export(list(results.values()), "prairielearn", tmp_path)
    carol = json.loads((tmp_path / "carol" / "results.json").read_text())
    assert carol["gradable"] is True and carol["score"] == pytest.approx(0.8 * POINTS / results["carol"].total_max)
    assert carol["message"].startswith("2 day(s) late: 20% off")
    bob = json.loads((tmp_path / "bob" / "results.json").read_text())
    assert bob["score"] == 0
    for test in bob["tests"]:
        assert set(test) >= {"name", "points", "max_points", "output", "message"}
        assert test["points"] == 0 and test["message"]


def exported_tests(fmt: str, folder: Path, student: str) -> dict[str, dict]:
    """Test name -> what the exported file of ``fmt`` says about that test."""
    if fmt == "github-classroom":
        tests = json.loads((folder / f"{student}.json").read_text())["tests"]
        return {t["name"]: t for t in tests if not t["name"].startswith(("late penalty", "problem in"))}
    tests = json.loads((folder / student / "results.json").read_text())["tests"]
    return {t.get("number", t["name"]): t for t in tests}


@pytest.mark.parametrize("fmt", ["gradescope", "github-classroom", "prairielearn"])
def test_every_format_shows_hidden_tests_by_name_and_points_only(fmt, results, tmp_path):
    exports.export(list(results.values()), fmt, tmp_path)
    hidden_docs = {t.name: t.description for t in results["bob"].tests if t.visibility != "visible"}
    assert hidden_docs
    for student, result in results.items():
        shown = exported_tests(fmt, tmp_path, student)
        written = {w.name for w in result.written}  # shown as awaiting manual grading
        assert set(shown) - written == {t.name for t in result.tests}
        for test in result.tests:
            text = {str(v) for v in shown[test.name].values()}
            if test.visibility == "visible":
                continue
            assert test.description not in text or test.description == test.name
            assert test.status == "passed" or test.output not in text
            assert text <= {test.name, "hidden test failed", "", f"{test.score}", f"{test.max_score}",
                            f"{test.score:g}", f"{test.max_score:g}", "0", "passed", "failed", "pass", "fail",
                            "after_published", "", f"{test.duration:g}s", "0s"}, (fmt, text)


def test_csv_has_one_row_per_student_with_raw_penalty_and_final(results, tmp_path):
    exports.export(list(results.values()), "csv", tmp_path / "lms.csv")
    rows = list(csv.DictReader((tmp_path / "lms.csv").open()))
    assert [(r["student"], r["raw_score"], r["penalty_percent"], r["final_score"], r["max_score"])
            for r in rows] == [("alice", f"{POINTS:g}", "0", f"{POINTS:g}", f"{MAX:g}"),
                               ("bob", "0", "0", "0", f"{MAX:g}"),
                               ("carol", f"{POINTS:g}", "20", f"{0.8 * POINTS:g}", f"{MAX:g}")]
    assert rows[2]["days_late"] == "2" and rows[2]["submitted_at"].startswith("2026-10-18T01:59")


def test_the_command_exports_from_the_grading_folder(graded, capsys):
    out = graded / "out"
    assert cli.main(["--course", str(ROOT), "export", "-a", A, "-o", str(out), "--to", "csv"]) == 0
    assert (out / "exports" / "lms.csv").read_text().count("\n") == 4
    assert cli.EXPORT_FORMATS == exports.FORMATS


def test_exporting_a_run_that_never_happened_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["--course", str(ROOT), "export", "-a", A, "-o", str(tmp_path), "--to", "csv"]) == 2
    assert "run `course grade -a 01_regression" in capsys.readouterr().err


def test_gradescope_bundle_grades_a_submission_laid_out_as_gradescope_does(built, tmp_path):
    bundle = tmp_path / "bundle.zip"
    assert cli.main(["--course", str(ROOT), "export", "-a", A, "--to", "gradescope-bundle",
                     "--dest", str(bundle)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "course.yml", f"assignments/{A}/test_hidden.py",
            f"release/{A}/regression.ipynb", "autograder/grading/grade.py"} <= set(names)
    assert not [n for n in names if n.startswith(("assignments/02", "release/02")) or "__pycache__" in n]
    needed = {p.relative_to(ROOT).as_posix() for p in rubric_for(A).reference_modules()}
    assert {"reference/__init__.py", "reference/linear.py"} <= needed
    assert {n for n in names if n.startswith("reference/")} == needed  # no other assignment's solutions
    assert not {f"assignments/{A}/variants.py", f"assignments/{A}/regression.py"} & set(names)
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
        subprocess.run(["bash", "-n", root / "source" / script], check=True)
    (root / "submission").mkdir()
    (root / "submission" / "regression.ipynb").write_bytes(
        source_notebooks(built, A)["regression"].read_bytes())
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_COMMAND": f"{VENV_BIN}/course"}
    subprocess.run([root / "source" / "run_autograder"], env=environment, check=True,
                   capture_output=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == POINTS and len(results["tests"]) == TESTS + WRITTEN


def test_the_reference_modules_a_rubric_needs_follow_its_imports(tmp_path):
    from autograder.grading.grade import Rubric

    package = tmp_path / "reference"
    (package / "sub").mkdir(parents=True)
    files = {"__init__.py": "", "a.py": "from .b import f\n", "b.py": "import math\n",
             "c.py": "from reference.sub import d\n", "unused.py": "from . import a\n",
             "sub/__init__.py": "from . import e\n", "sub/d.py": "", "sub/e.py": "", "sub/f.py": ""}
    for name, text in files.items():
        (package / name).write_text(text)
    test = tmp_path / "test_hidden.py"
    test.write_text("from reference import a\ndef test_x():\n    import reference.c\n")
    found = Rubric("x", [test], {}, reference=package).reference_modules()
    assert sorted(p.relative_to(package).as_posix() for p in found) == [
        "__init__.py", "a.py", "b.py", "c.py", "sub/__init__.py", "sub/d.py", "sub/e.py"]
