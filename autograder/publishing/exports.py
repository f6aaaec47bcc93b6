"""Exports of one grading run, read from its result store, never graded again.

Each exporter turns the stored results of one assignment into the format another system
reads: nbgrader's gradebook, Gradescope's and PrairieLearn's results.json, GitHub
Classroom's autograding results, and a CSV for a learning-management system. Every format
a student reads shows a hidden test by its name and points only
(``TestResult.as_students_see_it``). The Gradescope bundle carries one assignment's rubric
and only the reference modules that rubric imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sysconfig
import warnings
import zipfile
from pathlib import Path

from autograder.course import Course
from autograder.grading.grade import Rubric
from autograder.grading.output import EXPORTS, RESULTS_DB, write_csv, write_results
from autograder.grading.results import SubmissionResult, TestResult
from autograder.grading.store import ResultStore

FORMATS = ("nbgrader", "gradescope", "github-classroom", "prairielearn", "csv")


class ExportError(Exception):
    """Nothing to export, or the destination cannot take it; the message says which."""


def load_results(outdir: Path, assignment: str) -> list[SubmissionResult]:
    """The stored results of ``assignment`` in the grading run ``outdir``, by student."""
    database = Path(outdir) / RESULTS_DB
    if not database.is_file():
        raise ExportError(f"{outdir} holds no {RESULTS_DB}: run `course grade -a {assignment} "
                          f"... -o {outdir}` first")
    store = ResultStore(database)
    try:
        stored = store.results(assignment)
    finally:
        store.close()
    if not stored:
        raise ExportError(f"{database} holds no results for {assignment}")
    return [SubmissionResult.from_dict(r) for r in stored.values()]


def to_gradescope(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>/results.json`` in Gradescope's format."""
    return [path for r in results if (path := write_results(r, dest))]


def github_classroom(result: SubmissionResult) -> dict:
    """The results the GitHub Classroom autograding reporter reads (base64 of this JSON in
    ``<RUNNER>_RESULTS``): it adds up the tests' ``score`` and the runner's ``max_score``, so a
    late penalty is one more test with negative points."""
    tests = [{"name": t.name, "status": "pass" if t.status == "passed" else "fail",
              "message": t.output, "test_code": t.description, "filename": "", "line_no": 0,
              "execution_time": f"{t.duration:g}s", "score": t.score}
             for t in map(TestResult.as_students_see_it, result.tests)]
    if result.penalty_percent:
        tests.append({"name": "late penalty", "status": "fail",
                      "message": f"{result.days_late} day(s) late: {result.penalty_percent:g}% off",
                      "test_code": "", "filename": "", "line_no": 0, "execution_time": "0s",
                      "score": round(result.score - result.raw_score, 6)})
    for cell, message in result.problems.items():
        tests.append({"name": f"problem in {cell}", "status": "error", "message": message,
                      "test_code": "", "filename": "", "line_no": 0, "execution_time": "0s",
                      "score": 0})
    if result.problems and not result.tests:
        status = "error"
    else:
        status = "pass" if result.score >= result.max_score > 0 else "fail"
    return {"version": 1, "status": status, "max_score": result.max_score, "tests": tests}


def to_github_classroom(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>.json``: GitHub Classroom's autograding results, one file per student."""
    return [_write_json(dest / f"{r.student}.json", github_classroom(r)) for r in results]


def prairielearn(result: SubmissionResult) -> dict:
    """PrairieLearn's external-grader results.json: score in 0..1, points per test."""
    message = "; ".join(f"{cell}: {text}" for cell, text in result.problems.items())
    if result.penalty_percent:
        message = (f"{result.days_late} day(s) late: {result.penalty_percent:g}% off. " + message).strip()
    return {
        "gradable": True,
        "score": round(result.score / result.max_score, 6) if result.max_score else 0.0,
        "message": message,
        "output": "",
        "tests": [{"name": t.name, "description": t.description, "points": t.score,
                   "max_points": t.max_score, "output": t.output,
                   "message": "" if t.status == "passed" else t.output}
                  for t in map(TestResult.as_students_see_it, result.tests)],
    }


def to_prairielearn(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>/results.json`` in PrairieLearn's external-grader format."""
    return [_write_json(dest / r.student / "results.json", prairielearn(r)) for r in results]


def to_csv(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """One row per student for an LMS import: raw score, penalty, final score, maximum."""
    rows = [[r.student, r.submitted_at or "", r.days_late, f"{r.raw_score:g}", f"{r.penalty_percent:g}",
             f"{r.score:g}", f"{r.max_score:g}"] for r in results]
    return [write_csv(dest, ["student", "submitted_at", "days_late", "raw_score", "penalty_percent",
                             "final_score", "max_score"], rows)]


def to_nbgrader(results: list[SubmissionResult], dest: Path, notebook: str) -> list[Path]:
    """Scores in nbgrader's gradebook ``dest`` (an SQLite file), through nbgrader's own API.

    Every rubric test is a grade cell of ``notebook`` with the test's points; each student's
    ``auto_score`` per cell is the points they earned, and the late penalty (in points) is
    the notebook's ``late_submission_penalty``.
    """
    from nbgrader.api import Gradebook

    assignment = results[0].assignment
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _scripts_on_path(), Gradebook(f"sqlite:///{dest.resolve()}") as gradebook:
        gradebook.update_or_create_assignment(assignment)
        gradebook.update_or_create_notebook(notebook, assignment)
        cells = {t.name: t.max_score for r in results for t in r.tests}
        for name, points in cells.items():
            gradebook.update_or_create_grade_cell(name, notebook, assignment, max_score=points,
                                                  cell_type="code")
        for result in results:
            gradebook.update_or_create_student(result.student)
            stamp = {"timestamp": result.submitted_at} if result.submitted_at else {}
            gradebook.update_or_create_submission(assignment, result.student, **stamp)
            earned = {t.name: t.score for t in result.tests}
            for name in cells:
                grade = gradebook.find_grade(name, notebook, assignment, result.student)
                grade.auto_score = earned.get(name, 0.0)
            submitted = gradebook.find_submission_notebook(notebook, assignment, result.student)
            submitted.late_submission_penalty = round(result.raw_score - result.score, 6) or None
            gradebook.db.commit()
    return [dest]


@contextlib.contextmanager
def _scripts_on_path():
    """nbgrader runs ``alembic`` from PATH: make it this environment's, even when the venv
    is not activated; and quiet the warnings nbgrader's own gradebook code raises."""
    before = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), before])
    try:
        with warnings.catch_warnings():  # nbgrader's own session use warns on every submission
            warnings.filterwarnings("ignore", message="Object of type .* not in session")
            yield
    finally:
        os.environ["PATH"] = before


def export(results: list[SubmissionResult], fmt: str, dest: Path, notebook: str = "") -> list[Path]:
    """Write ``results`` to ``dest`` in format ``fmt`` (one of ``FORMATS``); the paths written."""
    dest = Path(dest)
    if fmt == "nbgrader":
        return to_nbgrader(results, dest, notebook)
    writers = {"gradescope": to_gradescope, "github-classroom": to_github_classroom,
               "prairielearn": to_prairielearn, "csv": to_csv}
    if fmt not in writers:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    return writers[fmt](results, dest)


def default_dest(outdir: Path, fmt: str) -> Path:
    names = {"nbgrader": "gradebook.db", "csv": "lms.csv", "gradescope-bundle": "gradescope-bundle.zip"}
    return Path(outdir) / EXPORTS / names.get(fmt, fmt)


BUNDLE_TEMPLATES = Path(__file__).with_name("gradescope_bundle")
PACKAGE = Path(__file__).resolve().parents[1]
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}


def gradescope_bundle(course: Course, assignment: str, dest: Path) -> list[Path]:
    """A Gradescope autograder zip: ``setup.sh`` and ``run_autograder`` at its root, and beside
    them the engine, this assignment's release notebooks and rubric (its tests, a
    ``conftest.py`` and data files, never its template or variants) and, of ``reference/``,
    only the modules its tests import (``Rubric.reference_modules``): no other assignment's
    solutions, released or not."""
    course.assignment(assignment)  # a clear error for an unknown id
    root = course.root
    release = course.layout.release_dir(assignment)
    if not release.is_dir():
        raise ExportError(f"{release} does not exist: run `course build {assignment}` first")
    rubric = Rubric.for_assignment(course, assignment)
    folder = course.assignment_dir(assignment)
    rubric_files = rubric.test_files + [p for p in folder.rglob("*")
                                        if p.suffix != ".py" or p.name == "conftest.py"]
    files = [*PACKAGE.rglob("*"), *release.rglob("*"), *rubric_files, *rubric.reference_modules()]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in ("setup.sh", "run_autograder"):
            text = (BUNDLE_TEMPLATES / name).read_text().replace("{{ assignment }}", assignment)
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            bundle.writestr(info, text)
        for name in ("course.yml", "pyproject.toml", "README.md"):
            bundle.write(root / name, name)
        for path in sorted(set(files)):
            if path.is_file() and not SKIPPED & set(path.parts) and path.suffix != ".pyc":
                bundle.write(path, path.relative_to(root).as_posix())
    return [dest]


def _write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
