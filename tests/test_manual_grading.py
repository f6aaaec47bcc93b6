"""Written questions end to end: graded by the automatic run as pending, exported into
nbgrader's gradebook with each student's notebook, scored there through nbgrader's own API
(as its formgrader does), imported back, and counted by every export afterwards."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace

import nbformat
import pytest

from autograder.cli import main
from autograder.grading.extract import answer_hash, written_questions
from autograder.grading.output import gradescope_results
from autograder.grading.results import ManualGrade, SubmissionResult, WrittenResult
from autograder.grading.store import ResultStore
from autograder.publishing import exports
from autograder.publishing.nbgrader import autograded_notebook, import_manual
from conftest import ROOT, rubric_tests, source_notebooks
from test_cli import POINTS

A, NB, Q = "01_regression", "regression", "gd_convergence"
WRITTEN = written_questions(ROOT / "release" / A / f"{NB}.ipynb")[Q]
ALICE_ANSWER = "The loss is a convex quadratic; a step above 2/lambda_max diverges."


def _with_answer(notebook, text: str):
    nb = nbformat.read(notebook, as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == Q]
    cell.source = text
    return nb


@pytest.fixture(scope="module")
def run(built, tmp_path_factory):
    """alice: the reference with her own written answer; bob: the untouched release. Graded
    with `course grade`; returns (folder, the terminal output)."""
    folder = tmp_path_factory.mktemp("manual")
    for student, notebook, text in [("alice", source_notebooks(built, A)[NB], ALICE_ANSWER),
                                    ("bob", ROOT / "release" / A / f"{NB}.ipynb", None)]:
        (folder / "class" / student).mkdir(parents=True)
        target = folder / "class" / student / f"{NB}.ipynb"
        nbformat.write(_with_answer(notebook, text) if text else nbformat.read(notebook, as_version=4), target)
    return folder


def _grade(folder, capsys) -> str:
    assert main(["--course", str(ROOT), "grade", "-a", A, str(folder / "class"), "-o", str(folder / "out"),
                 "-j", "1"]) == 0
    return capsys.readouterr().out


def _results_json(folder, student) -> dict:
    return json.loads((folder / "out" / student / "results.json").read_text())


def _grades_csv(folder) -> dict[str, dict]:
    return {r["student"]: r for r in csv.DictReader((folder / "out" / "grades.csv").open())}


def test_the_release_asks_the_written_question_and_the_reference_answers_it(built):
    release = nbformat.read(ROOT / "release" / A / f"{NB}.ipynb", as_version=4)
    source = nbformat.read(source_notebooks(built, A)[NB], as_version=4)
    [asked] = [c for c in release.cells if c.metadata["nbgrader"].get("grade_id") == Q]
    [model] = [c for c in source.cells if c.metadata["nbgrader"].get("grade_id") == Q]
    assert asked.source == "YOUR ANSWER HERE" and asked.metadata["nbgrader"]["points"] == WRITTEN
    assert "Marking guide" in model.source and "Marking guide" not in nbformat.writes(release)


def test_the_whole_flow_through_nbgraders_gradebook(run, capsys):
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades

    out = _grade(run, capsys)
    assert f"{2 * WRITTEN:g} points await manual grading" in out and "2 pending" in out
    alice = _results_json(run, "alice")
    assert alice["score"] == POINTS and alice["extra_data"]["pending_points"] == WRITTEN
    assert alice["extra_data"]["automatic_score"] == POINTS and alice["extra_data"]["max_score"] == POINTS + WRITTEN
    [pending] = [t for t in alice["tests"] if t["number"] == Q]
    assert "status" not in pending and pending["score"] == 0 and "awaiting manual grading" in pending["output"]
    rows = _grades_csv(run)
    assert (rows["alice"][f"written:{Q}"], rows["alice"]["pending"], rows["alice"]["total"]) == ("", f"{WRITTEN:g}", f"{POINTS:g}")
    assert rows["alice"]["max_score"] == f"{POINTS + WRITTEN:g}"

    # export: a markdown grade cell awaiting manual grading, and the notebook the formgrader renders
    nbcourse = run / "nbgrader"
    gradebook_path = nbcourse / "gradebook.db"
    assert main(["--course", str(ROOT), "export", "-a", A, "-o", str(run / "out"), "--to", "nbgrader",
                 "--dest", str(gradebook_path)]) == 0
    coursedir = CourseDirectory(root=str(nbcourse))
    for student in ("alice", "bob"):
        shown = nbcourse / coursedir.format_path(coursedir.autograded_directory, student, A) / f"{NB}.ipynb"
        assert shown == autograded_notebook(gradebook_path, student, A, NB) and shown.is_file()
        text = shown.read_text()
        assert "Marking guide" not in text  # the model answer never leaves the instructor
        nb = nbformat.read(shown, as_version=4)
        resources = {"nbgrader": {"notebook": NB, "assignment": A, "student": student,
                                  "db_url": f"sqlite:///{gradebook_path}"}}
        with exports._scripts_on_path():
            GetGrades().preprocess(nb, resources)  # what the formgrader runs to render a submission
        [cell] = [c for c in nb.cells if c.metadata["nbgrader"].get("grade_id") == Q]
        assert cell.metadata["nbgrader"]["score"] == 0 and cell.metadata["nbgrader"]["points"] == WRITTEN
    assert ALICE_ANSWER in autograded_notebook(gradebook_path, "alice", A, NB).read_text()
    with exports._scripts_on_path():  # the formgrader's list of submissions, graded and ready
        api = NbGraderAPI(coursedir=coursedir)
        assert api.get_submitted_students(A) == api.get_autograded_students(A) == {"alice", "bob"}

    # a grader scores alice's answer in the gradebook (as the formgrader does); bob's waits
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        for student in ("alice", "bob"):
            assert gradebook.find_grade(Q, NB, A, student).needs_manual_grade
            assert not gradebook.find_grade(next(iter(rubric_tests(A))), NB, A, student).needs_manual_grade
        grade = gradebook.find_grade(Q, NB, A, "alice")
        grade.manual_score = 1.5
        gradebook.find_comment(Q, NB, A, "alice").manual_comment = "Name the bound on the step."
        gradebook.db.commit()
    assert main(["--course", str(ROOT), "import-manual", "-a", A, str(gradebook_path), "-o", str(run / "out")]) == 0
    out = capsys.readouterr().out
    assert "imported 1 manual score(s)" in out and "still to grade: bob: gd_convergence" in out
    assert f"{WRITTEN:g} points await manual grading" in out

    alice = _results_json(run, "alice")
    assert alice["score"] == POINTS + 1.5 and alice["extra_data"]["manual_score"] == 1.5
    [graded] = [t for t in alice["tests"] if t["number"] == Q]
    assert graded["score"] == 1.5 and graded["status"] == "failed" and "Name the bound" in graded["output"]
    rows = _grades_csv(run)
    assert (rows["alice"][f"written:{Q}"], rows["alice"]["manual"], rows["alice"]["pending"],
            rows["alice"]["total"]) == ("1.5", "1.5", "0", f"{POINTS + 1.5:g}")
    assert (rows["bob"][f"written:{Q}"], rows["bob"]["pending"]) == ("", f"{WRITTEN:g}")

    # every export afterwards counts it
    for fmt in ("csv", "github-classroom", "prairielearn", "gradescope"):
        assert main(["--course", str(ROOT), "export", "-a", A, "-o", str(run / "out"), "--to", fmt]) == 0
    lms = {r["student"]: r for r in csv.DictReader((run / "out" / "exports" / "lms.csv").open())}
    assert (lms["alice"]["final_score"], lms["alice"]["max_score"], lms["bob"]["pending_points"]) == (
        f"{POINTS + 1.5:g}", f"{POINTS + WRITTEN:g}", f"{WRITTEN:g}")
    classroom = json.loads((run / "out" / "exports" / "github-classroom" / "alice.json").read_text())
    assert sum(t["score"] for t in classroom["tests"]) == POINTS + 1.5 and classroom["max_score"] == POINTS + WRITTEN
    prairie = json.loads((run / "out" / "exports" / "prairielearn" / "alice" / "results.json").read_text())
    assert prairie["score"] == pytest.approx((POINTS + 1.5) / (POINTS + WRITTEN))
    assert json.loads((run / "out" / "exports" / "gradescope" / "alice" / "results.json").read_text()) == alice
    assert main(["--course", str(ROOT), "feedback", "-a", A, "-o", str(run / "out")]) == 0
    page = (run / "out" / "feedback" / "alice.html").read_text()
    assert "Name the bound on the step." in page and f"{POINTS + 1.5:g} / {POINTS + WRITTEN:g}" in page

    # exporting again keeps the grader's score; a regrade of the automatic part keeps the import
    assert main(["--course", str(ROOT), "export", "-a", A, "-o", str(run / "out"), "--to", "nbgrader",
                 "--dest", str(gradebook_path)]) == 0
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        assert gradebook.find_grade(Q, NB, A, "alice").manual_score == 1.5
    _grade(run, capsys)
    assert _results_json(run, "alice")["score"] == POINTS + 1.5

    # a score cleared in the gradebook is pending again, and an export does not bring it back
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        gradebook.find_grade(Q, NB, A, "alice").manual_score = None
        gradebook.db.commit()
    assert main(["--course", str(ROOT), "import-manual", "-a", A, str(gradebook_path), "-o", str(run / "out")]) == 0
    assert "score removed in the gradebook, pending again: alice: gd_convergence" in capsys.readouterr().out
    assert _results_json(run, "alice")["extra_data"]["pending_points"] == WRITTEN
    assert main(["--course", str(ROOT), "export", "-a", A, "-o", str(run / "out"), "--to", "nbgrader",
                 "--dest", str(gradebook_path)]) == 0
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        assert gradebook.find_grade(Q, NB, A, "alice").manual_score is None

    # a changed answer is graded afresh: pending again, and reset in the gradebook on export
    nbformat.write(_with_answer(run / "class" / "alice" / f"{NB}.ipynb", "A new answer."),
                   run / "class" / "alice" / f"{NB}.ipynb")
    _grade(run, capsys)
    assert _results_json(run, "alice")["extra_data"]["pending_points"] == WRITTEN
    assert main(["--course", str(ROOT), "export", "-a", A, "-o", str(run / "out"), "--to", "nbgrader",
                 "--dest", str(gradebook_path)]) == 0
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        grade = gradebook.find_grade(Q, NB, A, "alice")
        assert grade.manual_score is None and grade.needs_manual_grade


def _result(student: str, answer: str = "h1", points: float = 2, tests_score: float = 3) -> SubmissionResult:
    return SubmissionResult(A, student, tests_score, 4, [], {}, "limits", 0.0,
                            written=[WrittenResult(Q, NB, points, answer)])


def test_a_manual_grade_counts_only_for_the_question_and_answer_it_was_given_for():
    grades = {(NB, Q): ManualGrade(1.0, 2, "h1", "ok")}
    assert _result("a").with_manual(grades).written[0].score == 1.0
    assert _result("a", answer="h2").with_manual(grades).written[0].pending  # the student changed it
    assert _result("a", points=3).with_manual(grades).written[0].pending  # the question changed
    graded = _result("a").with_manual(grades)
    assert (graded.total, graded.total_max, graded.manual_score, graded.pending_points) == (4, 6, 1, 0)
    late = replace(graded, penalty_percent=50, score=1.5)
    assert late.total == 2.0 and gradescope_results(late)["score"] == 2.0


def test_stored_manual_grades_survive_a_regrade_of_the_result(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    store.put(A, "a", "s", "r", _result("a").to_dict())
    store.put_manual(A, "a", NB, Q, ManualGrade(2.0, 2, "h1"))
    store.put(A, "a", "s2", "r2", _result("a", tests_score=4).to_dict())  # regraded
    [result] = [SubmissionResult.from_dict(r).with_manual(store.manual(A).get(s, {}))
                for s, r in store.results(A).items()]
    store.close()
    assert (result.score, result.written[0].score, result.total) == (4, 2.0, 6)


def test_results_stored_before_written_questions_load_with_none():
    data = _result("a").to_dict()
    del data["written"]
    assert SubmissionResult.from_dict(data).written == []


def test_import_leaves_pending_what_the_gradebook_does_not_grade(tmp_path):
    """Missing students, ungraded cells, scores out of range, and answers changed since the
    gradebook's notebook was written are not imported."""
    from nbgrader.api import Gradebook

    release = tmp_path / "release.ipynb"
    shutil.copy(ROOT / "release" / A / f"{NB}.ipynb", release)
    answer = "An answer."
    results = [replace(_result(s, answer=answer_hash(answer)), files={NB: str(tmp_path / f"{s}.ipynb")})
               for s in ("ann", "ben", "cid", "dee")]
    for result in results:
        nbformat.write(_with_answer(release, answer), tmp_path / f"{result.student}.ipynb")
    path = tmp_path / "course" / "gradebook.db"
    exports.to_nbgrader(results[:3], path, NB, {NB: release})  # dee was never exported
    with exports._scripts_on_path(), Gradebook(f"sqlite:///{path}") as gradebook:
        gradebook.find_grade(Q, NB, A, "ann").manual_score = 2
        gradebook.find_grade(Q, NB, A, "cid").manual_score = 5  # over the question's 2 points
        gradebook.db.commit()
    nbformat.write(_with_answer(release, "Edited after export."), autograded_notebook(path, "ann", A, NB))
    taken = []
    found = import_manual(results, path, lambda *grade: taken.append(grade))
    assert taken == [] and found.scores == 0
    assert found.missing == ["dee"] and found.pending == ["ben: gd_convergence"]
    assert [r.split(" (")[0] for r in found.refused] == ["ann: gd_convergence", "cid: gd_convergence"]
    assert "changed since" in found.refused[0] and "outside 0..2" in found.refused[1]


@pytest.mark.parametrize("name", ["none.db", "results.sqlite", "notes.txt"])
def test_import_needs_an_nbgrader_gradebook_and_changes_nothing_else(name, tmp_path, capsys):
    ResultStore(tmp_path / "results.sqlite").close()
    (tmp_path / "notes.txt").write_text("not a database")
    files = ("results.sqlite", "notes.txt")  # (SQLite may add its -shm and -wal files beside the store)
    before = {f: (tmp_path / f).read_bytes() for f in files}
    assert main(["--course", str(ROOT), "import-manual", "-a", A, str(tmp_path / name),
                 "-o", str(tmp_path)]) == 2
    assert "is not an nbgrader gradebook" in capsys.readouterr().err
    assert {f: (tmp_path / f).read_bytes() for f in files} == before
