"""nbgrader's gradebook, both ways: a grading run's scores into it (with each student's
notebook, so that the formgrader shows the written answers to grade), and the scores people
gave the written answers back into the run.

The gradebook is an SQLite file written and read only through ``nbgrader.api.Gradebook``.
Beside it, ``submitted/`` and ``autograded/<student>/<assignment>/<notebook>.ipynb`` are
where the formgrader lists and renders a submission: the instructor's release notebook
with the student's answer cells put in by grade id (nothing else of the student's file, so
no changed metadata or extra cell reaches the gradebook), never executed. Manual scores already in the gradebook are never
overwritten by an export, unless the answer they were given for has changed since.
"""

from __future__ import annotations

import contextlib
import os
import sysconfig
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grading.extract import Unreadable, answer_hash, read_submission
from autograder.grading.program import is_written
from autograder.grading.results import ManualGrade, SubmissionResult, WrittenResult

AUTOGRADED = "autograded"  # nbgrader's folder of graded notebooks, which its formgrader renders
SUBMITTED = "submitted"  # nbgrader's folder of submissions, which its formgrader lists


def submission_folder(gradebook: Path, student: str, assignment: str, folder: str = AUTOGRADED) -> Path:
    """A student's folder of an assignment in the nbgrader course whose gradebook is
    ``gradebook`` (nbgrader's default ``{folder}/{student_id}/{assignment_id}``)."""
    return Path(gradebook).parent / folder / student / assignment


def autograded_notebook(gradebook: Path, student: str, assignment: str, notebook: str) -> Path:
    """Where the formgrader reads a student's notebook to render it."""
    return submission_folder(gradebook, student, assignment) / f"{notebook}.ipynb"


def submitted_notebook(release: Path, submitted: str | None) -> nbformat.NotebookNode:
    """The release notebook with the student's answers (code and written) in its answer
    cells, matched by grade id and cell type; a code cell the student lost keeps its stub, a
    written one is left empty (no answer)."""
    nb = nbformat.read(release, as_version=4)
    try:
        answers = read_submission(Path(submitted)) if submitted else {}
    except Unreadable:
        answers = {}
    if isinstance(answers, str):  # a plain module: no cells to match
        answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        found = answers.get(meta.get("grade_id"), []) if meta.get("solution") else []
        if len(found) == 1 and found[0].get("cell_type") == cell.cell_type:
            source = found[0].get("source", "")
            cell.source = "".join(source) if isinstance(source, list) else str(source)
        elif meta.get("solution") and cell.cell_type == "markdown":
            cell.source = ""
    return nb


def written_hashes(path: Path) -> dict[str, str]:
    """grade id -> answer hash of each markdown answer cell of the notebook at ``path``."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return {}
    return {c.metadata["nbgrader"]["grade_id"]: answer_hash(c.source) for c in nb.cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}


def to_gradebook(results: list[SubmissionResult], dest: Path, notebook: str,
                 release: dict[str, Path] | None = None) -> list[Path]:
    """Scores in nbgrader's gradebook ``dest`` (an SQLite file), through nbgrader's own API;
    the paths written.

    Every rubric test is a code grade cell of ``notebook`` with the test's points and each
    student's ``auto_score``; the late penalty (in points) is the notebook's
    ``late_submission_penalty``. Every written question is a markdown grade cell that
    needs manual grading, holding the score imported for it if any. With ``release``
    (notebook name -> release notebook), every answer cell is a solution cell and each
    student's notebook is written where the formgrader reads it.
    """
    from nbgrader.api import Gradebook

    assignment = results[0].assignment
    dest.parent.mkdir(parents=True, exist_ok=True)
    with scripts_on_path(), Gradebook(f"sqlite:///{dest.resolve()}") as gradebook:
        gradebook.update_or_create_assignment(assignment)
        for name in dict.fromkeys([notebook, *(release or {})]):
            gradebook.update_or_create_notebook(name, assignment)
        tests = {t.name: t.max_score for r in results for t in r.tests}
        for name, points in tests.items():
            gradebook.update_or_create_grade_cell(name, notebook, assignment, max_score=points, cell_type="code")
        for question in {(w.notebook, w.name): w for r in results for w in r.written}.values():
            gradebook.update_or_create_grade_cell(question.name, question.notebook, assignment,
                                                  max_score=question.max_score, cell_type="markdown")
            gradebook.update_or_create_solution_cell(question.name, question.notebook, assignment)
        for name, grade_id, points in _answer_cells(release or {}):
            gradebook.update_or_create_solution_cell(grade_id, name, assignment)
            if points is not None:  # a written question no graded result holds yet
                gradebook.update_or_create_grade_cell(grade_id, name, assignment, max_score=points,
                                                      cell_type="markdown")
        for result in results:
            gradebook.update_or_create_student(result.student)
            stamp = {"timestamp": result.submitted_at} if result.submitted_at else {}
            submission = gradebook.update_or_create_submission(assignment, result.student, **stamp)
            _complete(gradebook, submission)
            earned = {t.name: t.score for t in result.tests}
            for name in tests:
                grade = gradebook.find_grade(name, notebook, assignment, result.student)
                grade.auto_score, grade.needs_manual_grade = earned.get(name, 0.0), False
            changed = _write_notebooks(result, dest, release or {})
            for question in result.written:
                _put_written(gradebook, assignment, result.student, question,
                             (question.notebook, question.name) in changed)
            penalty = round(result.raw_score + result.manual_score - result.total, 6) or None
            submitted = gradebook.find_submission_notebook(notebook, assignment, result.student)
            submitted.late_submission_penalty = penalty
            gradebook.db.commit()
    return [dest]


def _write_notebooks(result: SubmissionResult, gradebook: Path, release: dict[str, Path]) -> set[tuple[str, str]]:
    """Write the student's notebooks where the formgrader finds (``submitted/``, with
    nbgrader's ``timestamp.txt`` matching the gradebook) and renders (``autograded/``) them;
    the (notebook, question) of each written answer that differs from the one written there
    before."""
    changed = set()
    for name, path in release.items():
        target = autograded_notebook(gradebook, result.student, result.assignment, name)
        before = written_hashes(target) if target.is_file() else {}
        changed |= {(name, w.name) for w in result.written
                    if w.notebook == name and w.name in before and before[w.name] != w.answer}
        notebook = submitted_notebook(path, result.files.get(name))
        for folder in (SUBMITTED, AUTOGRADED):
            where = submission_folder(gradebook, result.student, result.assignment, folder)
            where.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, where / f"{name}.ipynb")
    stamp = submission_folder(gradebook, result.student, result.assignment, SUBMITTED) / "timestamp.txt"
    if result.submitted_at and release:
        stamp.write_text(result.submitted_at + "\n")
    else:
        stamp.unlink(missing_ok=True)
    return changed


def _answer_cells(release: dict[str, Path]) -> list[tuple[str, str, float | None]]:
    """(notebook, grade id, points of a written question or None) of every answer cell of
    the release notebooks."""
    cells = []
    for name, path in release.items():
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cells.append((name, meta["grade_id"], meta.get("points") if is_written(cell) else None))
    return cells


def _complete(gradebook, submission) -> None:
    """Give an existing submission a grade and a comment for every cell added to the
    gradebook since it was made (nbgrader makes them only when the submission is new)."""
    from nbgrader.api import Comment, Grade

    for nb in submission.notebooks:
        graded, commented = {g.cell_id for g in nb.grades}, {c.cell_id for c in nb.comments}
        for cell in nb.notebook.grade_cells:
            if cell.id not in graded:
                gradebook.db.add(Grade(cell_id=cell.id, notebook=nb))
        for cell in nb.notebook.solution_cells:
            if cell.id not in commented:
                gradebook.db.add(Comment(cell_id=cell.id, notebook=nb))
    gradebook.db.commit()


def _put_written(gradebook, assignment: str, student: str, question: WrittenResult, changed: bool) -> None:
    """One written answer's grade: reset when the answer changed since the last export; the
    imported score where the gradebook has none; flagged for manual grading while it has none."""
    grade = gradebook.find_grade(question.name, question.notebook, assignment, student)
    comment = gradebook.find_comment(question.name, question.notebook, assignment, student)
    if changed:
        grade.manual_score = grade.extra_credit = comment.manual_comment = None
    if grade.manual_score is None and not question.pending:
        grade.manual_score = min(question.score, question.max_score)
        grade.extra_credit = round(question.score - question.max_score, 6) if question.score > question.max_score else None
        comment.manual_comment = question.comment or None
    grade.needs_manual_grade = grade.manual_score is None


@dataclass
class Imported:
    """What ``import_manual`` found: scores taken, and why the others stay pending."""

    scores: int = 0
    pending: list[str] = field(default_factory=list)  # "student: question" still to grade
    cleared: list[str] = field(default_factory=list)  # "student: question" whose score a grader removed
    missing: list[str] = field(default_factory=list)  # students the gradebook does not hold
    refused: list[str] = field(default_factory=list)  # "student: question (why)"


def import_manual(results: list[SubmissionResult], gradebook_path: Path,
                  put: Callable[[str, str, str, ManualGrade | None], None]) -> Imported:
    """Read the manual scores of every written question of ``results`` from nbgrader's
    gradebook at ``gradebook_path`` and hand each to ``put(student, notebook, question,
    ManualGrade)``. A student missing from the gradebook, a cell nobody graded yet, a score
    out of range, or an answer that changed since the gradebook's notebook was written,
    stays pending. A score a grader removed from the gradebook is removed from the run too
    (``put(..., None)``): the gradebook is where people grade."""
    from nbgrader.api import Gradebook, MissingEntry

    found = Imported()
    with scripts_on_path(), Gradebook(f"sqlite:///{Path(gradebook_path).resolve()}") as gradebook:
        for result in results:
            if not result.written:
                continue
            try:
                gradebook.find_submission(result.assignment, result.student)
            except MissingEntry:
                found.missing.append(result.student)
                continue
            for question in result.written:
                label = f"{result.student}: {question.name}"
                try:
                    grade = gradebook.find_grade(question.name, question.notebook, result.assignment, result.student)
                    comment = gradebook.find_comment(question.name, question.notebook, result.assignment,
                                                     result.student).comment or ""
                except MissingEntry:
                    found.pending.append(label)
                    continue
                score = _score(grade)
                if score is None:
                    if not question.pending:  # imported before, cleared in the gradebook since
                        put(result.student, question.notebook, question.name, None)
                        found.cleared.append(label)
                    found.pending.append(label)
                    continue
                if grade.manual_score is not None and not 0 <= grade.manual_score <= question.max_score:
                    found.refused.append(f"{label} ({grade.manual_score:g} is outside 0..{question.max_score:g})")
                    continue
                shown = autograded_notebook(gradebook_path, result.student, result.assignment, question.notebook)
                if shown.is_file() and written_hashes(shown).get(question.name) != question.answer:
                    found.refused.append(f"{label} (the answer changed since it was graded: export again)")
                    continue
                put(result.student, question.notebook, question.name,
                    ManualGrade(score, question.max_score, question.answer, comment))
                found.scores += 1
    return found


def _score(grade) -> float | None:
    """The points people gave a grade cell (with extra credit), or None while it awaits them."""
    if grade.manual_score is not None:
        return round(grade.manual_score + (grade.extra_credit or 0.0), 6)
    if grade.auto_score is not None and not grade.needs_manual_grade:  # nbgrader's own: e.g. left blank
        return round(grade.auto_score + (grade.extra_credit or 0.0), 6)
    return None


@contextlib.contextmanager
def scripts_on_path():
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
