"""What a grading run writes as results come: ``<student>/results.json`` in Gradescope's
format, and ``grades.csv`` for the class."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from autograder.grading.results import SubmissionResult


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
                   "visibility": t.visibility} for t in result.tests],
        "extra_data": {"assignment": result.assignment, "student": result.student,
                       "max_score": result.max_score, "isolation": result.isolation,
                       "device": result.device, "raw_score": result.raw_score,
                       "submitted_at": result.submitted_at, "days_late": result.days_late,
                       "penalty_percent": result.penalty_percent, "problems": result.problems,
                       "durations": {t.name: t.duration for t in result.tests}},
    }


def write_results(result: SubmissionResult, outdir: Path) -> Path:
    """``outdir/<student>/results.json`` in Gradescope's format, written atomically."""
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
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *tests, "total", "max_score"])
        for result in sorted(results, key=lambda r: r.student):
            earned = {t.name: t.score for t in result.tests}
            writer.writerow([result.student, *(_number(earned.get(n, 0)) for n in tests),
                             _number(result.score), _number(result.max_score)])
    return path


def _number(value: float) -> str:
    return f"{value:g}"
