"""What a grading run writes as results come: ``<student>/results.json`` in Gradescope's
format, and ``grades.csv`` for the class; and the names of the run's own files, which no
student's results may take."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from autograder.grading.results import SubmissionResult, TestResult, WrittenResult
from autograder.grading.text import spreadsheet_cell

GRADES_CSV, RESULTS_DB = "grades.csv", "results.sqlite"
EXPORTS, FEEDBACK = "exports", "feedback"  # where `course export` and `course feedback` write
RUN_FILES = (GRADES_CSV, RESULTS_DB, EXPORTS, FEEDBACK)


def is_run_file(name: str) -> bool:
    """Whether ``name`` is (or, like SQLite's journal, belongs to) one of the run's own files
    in its output folder, so that no student's results folder may take it."""
    name = name.casefold()
    return name in RUN_FILES or name.startswith(RESULTS_DB + "-")


PENDING = "awaiting manual grading"


def pending_note(result: SubmissionResult) -> str:
    """One line on the written questions still to be graded by people, or ""."""
    pending = [w for w in result.written if w.pending]
    if not pending:
        return ""
    return (f"{result.pending_points:g} point(s) of written questions await manual grading "
            f"({', '.join(w.name for w in pending)}); the score counts them once graded.")


def written_outcome(question: WrittenResult) -> tuple[float, str, str | None]:
    """(points, text, status) of one written question as a student reads it: ``None`` status
    while it is pending."""
    if question.pending:
        return 0.0, f"Written question, {PENDING} ({question.max_score:g} points).", None
    status = "passed" if question.score >= question.max_score else "failed"
    return question.score, "Graded by people." + (f" {question.comment}" if question.comment else ""), status


def gradescope_results(result: SubmissionResult) -> dict:
    """Gradescope's results.json, with the course's own details under extra_data. The score
    is the tests' points plus the written questions graded so far (after any late penalty);
    a pending written question is a test without a status, and extra_data holds the
    automatic score and the pending points apart."""
    lines = [f"{cell}: {message}" for cell, message in result.problems.items()]
    if result.penalty_percent:
        lines.insert(0, f"Submitted {result.days_late} day(s) late: {result.penalty_percent:g}% off "
                        f"{result.raw_score + result.manual_score:g} points.")
    if pending_note(result):
        lines.append(pending_note(result))
    tests = [{"name": t.description, "number": t.name, "score": t.score,
              "max_score": t.max_score, "status": t.status, "output": t.output,
              "visibility": t.visibility} for t in map(TestResult.as_students_see_it, result.tests)]
    for question in result.written:
        points, text, status = written_outcome(question)
        tests.append({"name": f"Written question {question.name}", "number": question.name,
                      "score": points, "max_score": question.max_score, "output": text,
                      "visibility": "visible", **({"status": status} if status else {})})
    return {
        "score": result.total,
        "output": "\n".join(lines),
        "execution_time": result.duration,
        "tests": tests,
        "extra_data": {"assignment": result.assignment, "student": result.student,
                       "max_score": result.total_max, "automatic_score": result.score,
                       "automatic_max_score": result.max_score, "manual_score": result.manual_score,
                       "pending_points": result.pending_points, "isolation": result.isolation,
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
    """One row per student: a column per test (points earned), then total and maximum. With
    written questions, a column per question (blank while pending), then the automatic
    score, the manual points and the pending points apart; total and maximum count both."""
    tests = list(dict.fromkeys(t.name for r in results for t in r.tests))
    written = list(dict.fromkeys(w.name for r in results for w in r.written))
    rows = []
    for result in sorted(results, key=lambda r: r.student):
        earned = {t.name: t.score for t in result.tests}
        row = [result.student, *(_number(earned.get(n, 0)) for n in tests)]
        if written:
            given = {w.name: w for w in result.written}
            row += ["" if n not in given or given[n].pending else _number(given[n].score) for n in written]
            row += [_number(result.score), _number(result.manual_score), _number(result.pending_points)]
        rows.append(row + [_number(result.total), _number(result.total_max)])
    extra = [*(f"written:{n}" for n in written), "automatic", "manual", "pending"] if written else []
    return write_csv(path, ["student", *tests, *extra, "total", "max_score"], rows)


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
