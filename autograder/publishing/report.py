"""Terminal tables of grading results: one submission's tests, or a class. Every cell is one
printable line: no text a student wrote can move the cursor, clear the screen or fake a row."""

from __future__ import annotations

from autograder.grading.results import SubmissionResult
from autograder.grading.text import terminal_line


def class_table(results: list[SubmissionResult]) -> str:
    """Student, score (of the tests), written questions (points given, or pending) and what
    went wrong, one line each."""
    written = any(r.written for r in results)
    rows = [("student", "score", "%", *(["written"] if written else []), "failed tests / problems")]
    for result in sorted(results, key=lambda r: r.student):
        failed = [t.name.removeprefix("test_") for t in result.tests if t.status != "passed"]
        notes = (f"{len(failed)} failed: " + ", ".join(failed)) if failed else "all passed"
        if result.problems:
            notes = f"{next(iter(result.problems.values()))}; {notes}"
        percent = 100 * result.score / result.max_score if result.max_score else 0
        rows.append((result.student, f"{_number(result.score)}/{_number(result.max_score)}",
                     f"{percent:.0f}", *([written_cell(result)] if written else []), notes))
    return _format(rows)


def written_cell(result: SubmissionResult) -> str:
    """The written questions of one result: points given of their points, and what is pending."""
    if not result.written:
        return "-"
    graded = sum(w.max_score for w in result.written if not w.pending)
    text = f"{_number(result.manual_score)}/{_number(graded)}" if graded else ""
    if result.pending_points:
        text = (text + " + " if text else "") + f"{_number(result.pending_points)} pending"
    return text


def submission_table(result: SubmissionResult) -> str:
    """Every test of one submission with its points and, if failed, the reason."""
    rows = [("test", "points", "result")]
    for test in result.tests:
        mark = "ok" if test.status == "passed" else test.output
        rows.append((test.name, f"{_number(test.score)}/{_number(test.max_score)}", mark))
    lines = [_format(rows), f"\ntotal: {_number(result.score)}/{_number(result.max_score)}"]
    for cell, message in result.problems.items():
        lines.append(terminal_line(f"problem in {cell}: {message}"))
    return "\n".join(lines)


def _format(rows: list[tuple]) -> str:
    rows = [tuple(terminal_line(str(c), 110) for c in row) for row in rows]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [str(c).ljust(w) for c, w in zip(row, widths)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(str(row[-1])))
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:g}"
