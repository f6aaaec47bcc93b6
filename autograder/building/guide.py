"""course guide: the instructor's page per assignment, ``docs/assignments/<id>.md``.

A page holds the learning goals (the notebook's sections, each with the lecture topics its
answers draw on, i.e. the ``reference/`` modules, and the tests that check it), every test
with its points and visibility, the thresholds with what the reference reaches, how long the
reference takes to grade, and the common mistakes of ``variants.py``, each with the tests
that catch it and the message a student sees.

Grading the reference and every mistake is slow, so its results are kept beside the pages
(``docs/assignments/measurements/<id>.json``) with the fingerprint of all that decides them;
``course guide`` grades again when the rubric's tests (names, points, visibility) or the bugs
changed (or with ``--regrade``; the fingerprint of all that decides the results is kept to
tell), and renders the page from them and the sources. So a test can check, quickly, that
both are fresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import nbformat

from autograder.building.guide_page import render
from autograder.building.notebook import source_notebook
from autograder.building.build import BuildError
from autograder.building.variants import VariantError, load_variants, write_reference_files
from autograder.course import VARIANTS, Course
from autograder.grading.batch import grade_class
from autograder.grading.grade import Rubric, declared_tests, grade_submission
from autograder.grading.program import is_answer

GUIDES = Path("docs", "assignments")
MEASUREMENTS = GUIDES / "measurements"


def write_guides(course: Course, assignment_ids: list[str] | None = None, regrade: bool = False) -> list[Path]:
    """Write the page of each assignment (all by default), grading again where needed."""
    pages = []
    for assignment_id in assignment_ids or [a.id for a in course.assignments]:
        measured = load_measurements(course, assignment_id)
        if regrade or outdated(course, assignment_id, measured):
            measured = measure(course, assignment_id)
            path = course.root / MEASUREMENTS / f"{assignment_id}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(measured, indent=1) + "\n")
        page = course.root / GUIDES / f"{assignment_id}.md"
        page.write_text(render(course, assignment_id, measured))
        pages.append(page)
    return pages


def load_measurements(course: Course, assignment_id: str) -> dict | None:
    path = course.root / MEASUREMENTS / f"{assignment_id}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def outdated(course: Course, assignment_id: str, measured: dict | None) -> str | None:
    """Why ``measured`` no longer covers the assignment (no measurements; other tests, points
    or visibility; other bugs), or None. Other wording of a test or a bug needs no regrade."""
    if measured is None:
        return "it was never graded"
    public = declared_tests(course.layout.test_files(assignment_id, public_only=True))
    tests = {name: (points, name not in public)
             for name, (points, _) in declared_tests(course.layout.test_files(assignment_id)).items()}
    graded = {name.split("[")[0]: (test["points"], test["hidden"]) for name, test in measured["reference"]["tests"].items()}
    if graded != tests:
        return "its tests, their points or their visibility changed"
    if set(measured["bugs"]) != {bug.name for bug in load_variants(course.assignment_dir(assignment_id))[0]}:
        return "the bugs of variants.py changed"
    return None


def fingerprint(course: Course, assignment_id: str) -> str:
    """Changes whenever the rubric, the reference's answers or variants.py change."""
    answers = [c.source for nb in _source_notebooks(course, assignment_id).values() for c in nb.cells if is_answer(c)]
    variants = course.assignment_dir(assignment_id) / VARIANTS
    parts = [Rubric.for_assignment(course, assignment_id).fingerprint(), *answers,
             variants.read_text() if variants.is_file() else ""]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def measure(course: Course, assignment_id: str) -> dict:
    """Grade the reference (alone, for its time) and every bug of variants.py (as a class)."""
    rubric = Rubric.for_assignment(course, assignment_id)
    notebooks = _source_notebooks(course, assignment_id)
    folder = course.assignment_dir(assignment_id)
    first = course.assignment(assignment_id).notebooks[0]
    bugs = load_variants(folder)[0]
    with tempfile.TemporaryDirectory(prefix="course-guide-") as temporary:
        def write(student: Path, changed: dict) -> dict[str, Path]:
            student.mkdir(parents=True)
            write_reference_files(folder, student)
            for name, notebook in {**notebooks, **changed}.items():
                nbformat.write(notebook, student / f"{name}.ipynb")
            return {name: student / f"{name}.ipynb" for name in notebooks}

        files = write(Path(temporary) / "reference", {})
        grade_submission(rubric, "reference", files)  # warms the worker pool up
        reference = grade_submission(rubric, "reference", files)
        for bug in bugs:
            try:
                write(Path(temporary) / "class" / bug.name, {first: bug.apply(notebooks[first])})
            except VariantError as error:
                raise BuildError(f"{assignment_id}: variants.py: {error}") from None
        # bugs get time to spare, so that a busy machine never passes off a timeout as their fault
        slack = rubric.limits.model_copy(update={"time_per_test": max(30.0, 3 * rubric.limits.time_per_test)})
        results = grade_class(replace(rubric, limits=slack), [Path(temporary) / "class"], Path(temporary) / "grades",
                              workers=os.cpu_count() or 1) if bugs else []
    caught = {r.student: {"tests": {t.name: t.output for t in r.tests if t.status != "passed"},
                          "problems": r.problems} for r in results}
    return {"fingerprint": fingerprint(course, assignment_id), "cores": os.cpu_count(),
            "reference": {"duration": reference.duration, "score": reference.score,
                          "tests": {t.name: {"points": t.max_score, "hidden": t.visibility != "visible",
                                             "description": t.description, "duration": t.duration}
                                    for t in reference.tests}},
            "bugs": {bug.name: caught.get(bug.name, {"tests": {}, "problems": {}}) for bug in bugs}}


def _source_notebooks(course: Course, assignment_id: str) -> dict[str, nbformat.NotebookNode]:
    assignment = course.assignment(assignment_id)
    return {name: source_notebook(course.layout.template(assignment_id, name), assignment_id,
                                  dict(assignment.thresholds)) for name in assignment.notebooks}
