"""Exports of one grading run, read from its result store, never graded again.

Each exporter turns the stored results of one assignment into the format another system
reads: nbgrader's gradebook, Gradescope's and PrairieLearn's results.json, GitHub
Classroom's autograding results, and a CSV for a learning-management system. Every format
a student reads shows a hidden test by its name and points only
(``TestResult.as_students_see_it``). Written questions count with the scores people gave
them (``course import-manual``); until then each format shows them as awaiting manual
grading, with no points earned. The Gradescope bundle carries one assignment's rubric
and only the reference modules that rubric imports.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import zipfile
from pathlib import Path

from autograder.course import Course
from autograder.grading.grade import Rubric
from autograder.grading.output import (EXPORTS, GRADES_CSV, RESULTS_DB, write_csv, write_grades_csv,
                                       write_results, written_outcome)
from autograder.grading.results import SubmissionResult, TestResult
from autograder.grading.store import ResultStore
from autograder.publishing.nbgrader import scripts_on_path as _scripts_on_path  # noqa: F401 - also used by tests
from autograder.publishing.nbgrader import Imported, import_manual, to_gradebook

FORMATS = ("nbgrader", "gradescope", "github-classroom", "prairielearn", "csv")


class ExportError(Exception):
    """Nothing to export, or the destination cannot take it; the message says which."""


def load_results(outdir: Path, assignment: str) -> list[SubmissionResult]:
    """The stored results of ``assignment`` in the grading run ``outdir``, by student, with
    the manual scores recorded for their written questions."""
    database = Path(outdir) / RESULTS_DB
    if not database.is_file():
        raise ExportError(f"{outdir} holds no {RESULTS_DB}: run `course grade -a {assignment} "
                          f"... -o {outdir}` first")
    store = ResultStore(database)
    try:
        stored, manual = store.results(assignment), store.manual(assignment)
    finally:
        store.close()
    if not stored:
        raise ExportError(f"{database} holds no results for {assignment}")
    return [SubmissionResult.from_dict(r).with_manual(manual.get(s, {})) for s, r in stored.items()]


def import_into_run(outdir: Path, assignment: str, gradebook: Path) -> tuple[Imported, list[SubmissionResult]]:
    """Record in the grading run ``outdir`` the scores people gave the written questions in
    nbgrader's ``gradebook``, and write the run's results.json files and grades.csv again
    with them; what was imported, and the results as they now stand."""
    if not _is_gradebook(Path(gradebook)):
        raise ExportError(f"{gradebook} is not an nbgrader gradebook: give its gradebook.db (the "
                          f"formgrader's database, or the one `course export -a {assignment} --to "
                          "nbgrader` wrote)")
    results = load_results(outdir, assignment)
    store = ResultStore(Path(outdir) / RESULTS_DB)
    try:
        imported = import_manual(results, Path(gradebook),
                                 lambda *key_and_grade: store.put_manual(assignment, *key_and_grade))
    finally:
        store.close()
    results = load_results(outdir, assignment)
    for result in results:
        write_results(result, Path(outdir))
    write_grades_csv(results, Path(outdir) / GRADES_CSV)
    return imported, results


def _is_gradebook(path: Path) -> bool:
    """Whether ``path`` is an SQLite file with nbgrader's tables (read-only check: opening
    anything else with nbgrader's API would create or migrate tables in it)."""
    if not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return False
    return {"grade", "comment", "submitted_notebook"} <= tables


def to_gradescope(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>/results.json`` in Gradescope's format."""
    return [path for r in results if (path := write_results(r, dest))]


def github_classroom(result: SubmissionResult) -> dict:
    """The results the GitHub Classroom autograding reporter reads (base64 of this JSON in
    ``<RUNNER>_RESULTS``): it adds up the tests' ``score`` and the runner's ``max_score``, so a
    late penalty is one more test with negative points. A written question counts, as one
    more test, once people have graded it; until then it is neither a test nor in the
    maximum, so the status says whether anything graded so far lost points."""
    tests = [{"name": t.name, "status": "pass" if t.status == "passed" else "fail",
              "message": t.output, "test_code": t.description, "filename": "", "line_no": 0,
              "execution_time": f"{t.duration:g}s", "score": t.score}
             for t in map(TestResult.as_students_see_it, result.tests)]
    graded = [w for w in result.written if not w.pending]
    for question in graded:
        points, text, status = written_outcome(question)
        tests.append({"name": f"written question {question.name}", "status": "pass" if status == "passed" else "fail",
                      "message": text, "test_code": "", "filename": "", "line_no": 0,
                      "execution_time": "0s", "score": points})
    if result.penalty_percent:
        tests.append({"name": "late penalty", "status": "fail",
                      "message": f"{result.days_late} day(s) late: {result.penalty_percent:g}% off",
                      "test_code": "", "filename": "", "line_no": 0, "execution_time": "0s",
                      "score": round(result.total - result.raw_score - result.manual_score, 6)})
    for cell, message in result.problems.items():
        tests.append({"name": f"problem in {cell}", "status": "error", "message": message,
                      "test_code": "", "filename": "", "line_no": 0, "execution_time": "0s",
                      "score": 0})
    if result.problems and not result.tests:
        status = "error"
    else:
        maximum = result.max_score + sum(w.max_score for w in graded)
        status = "pass" if result.total >= maximum > 0 else "fail"
    return {"version": 1, "status": status, "max_score": result.max_score + sum(w.max_score for w in graded),
            "tests": tests}


def to_github_classroom(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>.json``: GitHub Classroom's autograding results, one file per student."""
    return [_write_json(dest / f"{r.student}.json", github_classroom(r)) for r in results]


def prairielearn(result: SubmissionResult) -> dict:
    """PrairieLearn's external-grader results.json: score in 0..1 (of the tests' and the
    written questions' points), points per test and per written question."""
    message = "; ".join(f"{cell}: {text}" for cell, text in result.problems.items())
    if result.penalty_percent:
        message = (f"{result.days_late} day(s) late: {result.penalty_percent:g}% off. " + message).strip()
    if result.pending_points:
        message = (message + f" {result.pending_points:g} point(s) await manual grading.").strip()
    tests = [{"name": t.name, "description": t.description, "points": t.score,
              "max_points": t.max_score, "output": t.output,
              "message": "" if t.status == "passed" else t.output}
             for t in map(TestResult.as_students_see_it, result.tests)]
    for question in result.written:
        points, text, _ = written_outcome(question)
        tests.append({"name": question.name, "description": "written question", "points": points,
                      "max_points": question.max_score, "output": text, "message": text})
    return {
        "gradable": True,
        "score": round(result.total / result.total_max, 6) if result.total_max else 0.0,
        "message": message,
        "output": "",
        "tests": tests,
    }


def to_prairielearn(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """``dest/<student>/results.json`` in PrairieLearn's external-grader format."""
    return [_write_json(dest / r.student / "results.json", prairielearn(r)) for r in results]


def to_csv(results: list[SubmissionResult], dest: Path) -> list[Path]:
    """One row per student for an LMS import: raw score (tests and graded written answers),
    penalty, final score, maximum; and the manual and pending points apart."""
    rows = [[r.student, r.submitted_at or "", r.days_late, f"{r.raw_score + r.manual_score:g}",
             f"{r.penalty_percent:g}", f"{r.total:g}", f"{r.total_max:g}", f"{r.manual_score:g}",
             f"{r.pending_points:g}"] for r in results]
    return [write_csv(dest, ["student", "submitted_at", "days_late", "raw_score", "penalty_percent",
                             "final_score", "max_score", "manual_score", "pending_points"], rows)]


def to_nbgrader(results: list[SubmissionResult], dest: Path, notebook: str,
                release: dict[str, Path] | None = None) -> list[Path]:
    """Scores in nbgrader's gradebook ``dest``: see ``autograder.publishing.nbgrader``."""
    return to_gradebook(results, dest, notebook or next(iter(release or {}), ""), release)


def export(results: list[SubmissionResult], fmt: str, dest: Path, notebook: str = "",
           release: dict[str, Path] | None = None) -> list[Path]:
    """Write ``results`` to ``dest`` in format ``fmt`` (one of ``FORMATS``); the paths written.
    For nbgrader, ``notebook`` takes the rubric's tests and ``release`` (notebook name ->
    release notebook) gives the formgrader each student's notebook."""
    dest = Path(dest)
    if fmt == "nbgrader":
        return to_nbgrader(results, dest, notebook, release)
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
