"""Feedback pages: one self-contained HTML page per student, from a stored grading run.

A page shows the score (raw, late penalty, final), the written questions (points given and
the grader's comment, or pending), every public test with its description, points and the
reason it failed, hidden tests by name and points only, and the student's
own answer cells with the functions that failed a test highlighted. Everything
comes from the stored results and the student's submission: no hidden test source and no
reference code is ever read into a page. All text is HTML-escaped by Jinja2's autoescaping,
and the page's content security policy allows no scripts and no network.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from autograder.grading.extract import Unreadable, read_submission
from autograder.grading.results import SubmissionResult, TestResult

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class CodeLine:
    number: int
    text: str
    failing: bool


@dataclass
class AnswerCell:
    name: str
    lines: list[CodeLine]


def functions_used(test_files: list[Path]) -> dict[str, set[str]]:
    """Test name -> the names each test reads from its ``student`` fixture (``student.X``),
    found by parsing the rubric (never running it)."""
    used: dict[str, set[str]] = {}
    for path in test_files:
        for node in ast.parse(Path(path).read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                used[node.name] = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                                   and isinstance(n.value, ast.Name) and n.value.id == "student"}
    return used


def failing_functions(result: SubmissionResult, used: dict[str, set[str]]) -> set[str]:
    """Names of the student's functions that a failed test called."""
    return {name for t in result.tests if t.status != "passed" for name in used.get(t.name, ())}


def answer_cells(files: dict[str, str], failing: set[str]) -> tuple[list[AnswerCell], str | None]:
    """The student's answer cells, line by line, with the failing functions' lines marked;
    and a note when a file cannot be read."""
    cells, notes = [], []
    for notebook, path in files.items():
        try:
            answers = read_submission(Path(path))
        except Unreadable as error:
            notes.append(str(error))
            continue
        sources = {Path(path).name: answers} if isinstance(answers, str) else {
            f"{notebook}/{grade_id}": "".join(_text(c.get("source", "")) for c in found)
            for grade_id, found in answers.items()}
        for name, source in sources.items():
            marked = _failing_lines(source, failing)
            cells.append(AnswerCell(name, [CodeLine(i, line, i in marked)
                                           for i, line in enumerate(source.splitlines(), start=1)]))
    return cells, "; ".join(notes) or None


def _failing_lines(source: str, failing: set[str]) -> set[int]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {line for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in failing
            for line in range(node.lineno - len(node.decorator_list), (node.end_lineno or node.lineno) + 1)}


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def render_page(result: SubmissionResult, title: str, used: dict[str, set[str]]) -> str:
    """One student's feedback page as HTML."""
    failing = failing_functions(result, used)
    cells, note = answer_cells(result.files, failing)
    if not result.files:
        note = "this result was stored without its submission's files; grade again to show the code"
    tests = [{"name": t.name, "hidden": t.visibility != "visible", "passed": t.status == "passed",
              "description": t.description, "score": t.score, "max_score": t.max_score,
              "reason": t.output} for t in map(TestResult.as_students_see_it, result.tests)]
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                              trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("feedback.html.j2").render(
        result=result, title=title, raw=result.raw_score, tests=tests, cells=cells, note=note,
        failing=sorted(failing))


def write_feedback(results: list[SubmissionResult], test_files: list[Path], dest: Path,
                   title: str) -> list[Path]:
    """``dest/<student>.html`` for every result; the pages written."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    used = functions_used(test_files)
    pages = []
    for result in results:
        page = dest / f"{result.student}.html"
        page.write_text(render_page(result, title, used), encoding="utf-8")
        pages.append(page)
    return pages
