"""What a grading run writes as results come: ``<student>/results.json`` in Gradescope's
format, and ``grades.csv`` for the class; and the names of the run's own files, which no
student's results may take."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from autograder.grading.results import SubmissionResult, TestResult
from autograder.grading.text import spreadsheet_cell

GRADES_CSV, RESULTS_DB = "grades.csv", "results.sqlite"
EXPORTS, FEEDBACK = "exports", "feedback"  # where `course export` and `course feedback` write
RUN_FILES = (GRADES_CSV, RESULTS_DB, EXPORTS, FEEDBACK)


def is_run_file(name: str) -> bool:
    """Whether ``name`` is (or, like SQLite's journal, belongs to) one of the run's own files
    in its output folder, so that no student's results folder may take it."""
    name = name.casefold()
    return name in RUN_FILES or name.startswith(RESULTS_DB + "-")


def gradescope_results(result: SubmissionResult) -> dict:
    """Gradescope's results.json, with the course's own details under extra_data."""
    output = "\n".join(f"{cell}: {message}" for cell, message in result.problems.items())
    if result.penalty_percent:
        output = (f"Submitted {result.days_late} day(s) late: {result.penalty_percent:g}% off "
                  f"{result.raw_score:g} points.\n" + output).strip()
    return {
        "score": result.score,
        "output": output,
        "execution_time": result.duration,
        "tests": [{"name": t.description, "number": t.name, "score": t.score,
                   "max_score": t.max_score, "status": t.status, "output": t.output,
                   "visibility": t.visibility} for t in map(TestResult.as_students_see_it, result.tests)],
        "extra_data": {"assignment": result.assignment, "student": result.student,
                       "max_score": result.max_score, "isolation": result.isolation,
                       "device": result.device, "raw_score": result.raw_score,
                       "submitted_at": result.submitted_at, "days_late": result.days_late,
                       "penalty_percent": result.penalty_percent, "problems": result.problems,
                       "durations": {t.name: t.duration for t in result.tests}},
    }


def write_results(result: SubmissionResult, outdir: Path) -> Path | None:
    """``outdir/<student>/results.json`` in Gradescope's format, written atomically; nothing
    for a student named like one of the run's own files (``is_run_file``)."""
    if is_run_file(result.student):
        return None
    folder = Path(outdir) / result.student
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(gradescope_results(result), indent=2) + "\n")
    os.replace(temporary, path)
    return path


def write_grades_csv(results: list[SubmissionResult], path: Path) -> Path:
    """One row per student: a column per test (points earned), then total and maximum."""
    tests = list(dict.fromkeys(t.name for r in results for t in r.tests))
    rows = []
    for result in sorted(results, key=lambda r: r.student):
        earned = {t.name: t.score for t in result.tests}
        rows.append([result.student, *(_number(earned.get(n, 0)) for n in tests),
                     _number(result.score), _number(result.max_score)])
    return write_csv(path, ["student", *tests, "total", "max_score"], rows)


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CSV file whose every cell a spreadsheet shows as text, never runs as a formula."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in [header, *rows]:
            writer.writerow([spreadsheet_cell(cell) for cell in row])
    return path


def _number(value: float) -> str:
    return f"{value:g}"
