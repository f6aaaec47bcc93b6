"""Turn a submitted notebook or module into the program a worker loads, without running it.

From a notebook only the answer cells are taken, matched by nbgrader ``grade_id``; the
setup cells come from the instructor's copy, never from the student's. Every problem
(unreadable file, missing or duplicated answer cell) is named, and costs only the answer
cells it affects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autograder.grading.program import defined_names, is_answer, is_setup, is_written
from autograder.grading.program import Cell, Program
from autograder.grading.results import WrittenResult
from autograder.sandbox import wire

MAX_BYTES = 20 << 20


class Unreadable(Exception):
    """The whole file cannot be used; the message says why."""


def instructor_cells(release_notebook: Path) -> list[dict]:
    """Setup and answer cells of the instructor's notebook, in order."""
    nb = json.loads(release_notebook.read_text())
    return [c for c in nb["cells"] if is_setup(c) or is_answer(c)]


def written_questions(release_notebook: Path) -> dict[str, float]:
    """grade id -> points of the written questions in the instructor's notebook."""
    nb = json.loads(Path(release_notebook).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
            for c in nb["cells"] if is_written(c)}


def written_answers(questions: dict[str, dict[str, float]],
                    files: dict[str, Path | None]) -> list[WrittenResult]:
    """Each written question (notebook -> grade id -> points) of one submission, pending,
    with a hash of the student's answer (markdown, read here and never sent to a worker); an
    answer that is missing or unreadable hashes as ""."""
    written = []
    for notebook, asked in questions.items():
        try:
            found = read_submission(files[notebook]) if files.get(notebook) else {}
        except Unreadable:
            found = {}
        for grade_id, points in asked.items():
            cells = found.get(grade_id, []) if isinstance(found, dict) else []
            markdown = len(cells) == 1 and cells[0].get("cell_type") == "markdown"
            text = _text(cells[0].get("source", "")) if markdown else None
            written.append(WrittenResult(grade_id, notebook, points, answer_hash(text)))
    return written


def answer_hash(text: str | None) -> str:
    """SHA-256 of a written answer's text (surrounding blank space aside), "" for no answer
    (a missing or blank cell)."""
    if text is None or not text.strip():
        return ""
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()


def build_program(instructor: dict[str, list[dict]], files: dict[str, Path | None]) -> Program:
    """The program for one submission; both arguments map notebook name -> cells / file."""
    cells, problems, unreadable = [], {}, []
    for notebook, template in instructor.items():
        path, error = files.get(notebook), None
        try:
            if path is None:
                raise Unreadable(f"{notebook}.ipynb is missing from the submission")
            student = read_submission(path)
        except Unreadable as unusable:
            error = str(unusable)
            unreadable.append(error)
            student = {}
        for cell in template:
            grade_id = cell["metadata"]["nbgrader"]["grade_id"]
            name = f"{notebook}/{grade_id}" if len(instructor) > 1 else grade_id
            source = _text(cell["source"])
            if not is_answer(cell):
                cells.append(Cell(name, source, answer=False))
            elif not isinstance(student, str):
                problem, answer = _answer_cell(student.get(grade_id, []), grade_id, path)
                if problem:
                    problems[name] = error or problem
                cells.append(Cell(name, answer, defined_names(source)))
        if isinstance(student, str):  # a plain module answers every cell at once
            expected = [n for c in template if is_answer(c) for n in defined_names(_text(c["source"]))]
            cells.append(Cell(path.name, student, expected))
    fatal = "; ".join(unreadable) if len(unreadable) == len(instructor) else None
    return Program(cells, problems, fatal)


def _answer_cell(found: list[dict], grade_id: str, path: Path | None) -> tuple[str | None, str]:
    """(problem or None, source) for the student's cells carrying ``grade_id``."""
    label = path.name if path is not None else "the submission"
    if not found:
        return (f"answer cell '{grade_id}' is missing from {label} (was it deleted, or its "
                "metadata changed?)"), ""
    if len(found) > 1:
        return f"answer cell '{grade_id}' appears {len(found)} times in {label}; keep exactly one", ""
    if found[0].get("cell_type") != "code":
        return f"answer cell '{grade_id}' in {label} is no longer a code cell", ""
    return None, _text(found[0].get("source", ""))


def extra_files(names: list[str], notebooks: dict[str, Path | None]) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> path, problems) for the extra files an assignment asks for, found beside the
    student's notebooks. Symbolic links, folders and oversized files are refused."""
    folders = [Path(p).parent for p in notebooks.values() if p is not None]
    found, problems = {}, {}
    for name in names:
        path = next((f / name for f in folders if (f / name).exists() or (f / name).is_symlink()), None)
        if path is None:
            problems[name] = f"{name} is missing from the submission (it belongs beside the notebook)"
        elif path.is_symlink() or not path.is_file():
            problems[name] = f"{name} must be a regular file, not a link or a folder"
        elif path.stat().st_size > MAX_BYTES:
            problems[name] = f"{name} is over the {MAX_BYTES >> 20} MB limit"
        else:
            found[name] = str(path.resolve())
    return found, problems


def read_submission(path: Path) -> dict[str, list[dict]] | str:
    """Answer cells of a notebook by grade_id, or the text of a plain ``.py`` module."""
    path = Path(path)
    if path.is_symlink():
        raise Unreadable(f"{path.name} is a symbolic link; submit the file itself")
    if path.is_dir():
        raise Unreadable(f"{path.name} is a folder, not a notebook")
    if not path.is_file():
        raise Unreadable(f"{path.name} does not exist")
    if path.stat().st_size > MAX_BYTES:
        raise Unreadable(f"{path.name} is {path.stat().st_size >> 20} MB, over the "
                         f"{MAX_BYTES >> 20} MB limit; clear large outputs and resubmit")
    if path.stat().st_size == 0:
        raise Unreadable(f"{path.name} is empty")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"{path.name} is not UTF-8 text (byte {error.start}): is it the right file?") from None
    if path.suffix == ".py":
        if "nbgrader=" not in text:
            return text
        import jupytext  # imported only here: with nbformat it costs ~1.5 s a command

        nb = jupytext.reads(text, fmt="py:percent")
    else:
        nb = _parse_notebook(path.name, text)
    answers: dict[str, list[dict]] = {}
    for cell in nb.get("cells", []):
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        grader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        grade_id = grader.get("grade_id") if isinstance(grader, dict) else None
        if isinstance(grade_id, str) and grader.get("solution"):
            answers.setdefault(grade_id, []).append(cell)
    return answers


def _parse_notebook(label: str, text: str) -> dict:
    try:
        data = wire.loads(text)  # a lone surrogate escaped in the JSON becomes U+FFFD
    except RecursionError:
        raise Unreadable(f"{label} is nested too deeply to be a notebook") from None
    except json.JSONDecodeError as error:
        raise Unreadable(f"{label} is not valid notebook JSON (line {error.lineno}, column "
                         f"{error.colno}: {error.msg}); open it in Jupyter to repair it") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Unreadable(f"{label} is JSON but not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        import nbformat  # only for old formats: its JSON-schema checks cost ~1.5 s to import

        try:
            data = nbformat.convert(nbformat.from_dict(data), 4)
        except Exception as error:  # noqa: BLE001 - any conversion failure is the file's fault
            raise Unreadable(f"{label} uses notebook format {data.get('nbformat')!r}, which "
                             f"cannot be converted to version 4: {error}") from None
    return data


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""
