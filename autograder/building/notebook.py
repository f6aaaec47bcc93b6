"""Notebook templates: jupytext percent files whose answer cells name reference functions.

A template cell is one of

* markdown (``# %% [markdown]``): prose, locked;
* setup (``# %% tags=["setup"]``): imports and constants the answers need, locked; the
  grader runs the instructor's copy of these cells before the student's answers;
* answer (``# %% solution="reference.linear:mse_loss,mse_grad" grade_id="mse"``): the build
  copies the named functions' source in (groups from several modules are separated by
  spaces); nbgrader stubs their solution regions;
* carried (an answer cell with ``carried="03_backprop"``): code a student wrote in an earlier
  assignment and pastes again; once that assignment is published (``course publish``), the
  cell imports the named functions from ``autograder.student.published`` instead, as a setup
  cell the student does not edit;
* written (``# %% [markdown] written=2 grade_id="why_bias"``): a question graded by people,
  worth the given points; the template's text is the model answer for the graders, and the
  release shows nbgrader's "YOUR ANSWER HERE" in its place (put the question in the markdown
  cell before it);
* any other code cell: checks and plots for the student, locked, never graded.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from collections.abc import Collection, Mapping
from pathlib import Path

import jupytext
import nbformat

from autograder.course import PUBLISHED_PACKAGE, published_module
from autograder.grading.program import SETUP_TAG, is_written

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


class TemplateError(Exception):
    """A template or the reference code it names is malformed."""


def function_source(qualified: str) -> str:
    """Source of ``module:name`` from the reference package, checked for a solution region."""
    module_name, _, name = qualified.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise TemplateError(f"cannot find {qualified}: {error}") from None
    source = textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n"
    if BEGIN not in source:
        raise TemplateError(f"{qualified} has no '{BEGIN}' region to stub")
    return source


def answer_functions(spec: str) -> list[str]:
    """``module:name`` of every function or class an answer cell's spec names:
    ``module:name,name``, or several such groups separated by spaces
    (``reference.modules:Affine reference.networks:train``)."""
    qualified = []
    for group in spec.split():
        module_name, _, names = group.partition(":")
        if not module_name or not names:
            raise TemplateError(f"solution={spec!r}: expected 'module:function[,function...]' "
                                "groups separated by spaces")
        qualified += [f"{module_name}:{n.strip()}" for n in names.split(",")]
    return qualified


def answer_source(spec: str) -> str:
    """The source of an answer cell from its spec (see ``answer_functions``)."""
    return "\n\n".join(function_source(q) for q in answer_functions(spec))


def carried_cells(template: Path) -> list[tuple[str, list[str]]]:
    """(assignment id, names) of each carried cell of ``template``, in order."""
    return [(cell.metadata["carried"], [q.partition(":")[2] for q in answer_functions(cell.metadata["solution"])])
            for cell in jupytext.read(template).cells
            if isinstance(cell.metadata.get("carried"), str) and isinstance(cell.metadata.get("solution"), str)]


def published_import(assignment_id: str, names: list[str]) -> str:
    """A carried cell once ``assignment_id`` is published: the import of ``names``."""
    imported = textwrap.fill(", ".join(names), 92, initial_indent="    ", subsequent_indent="    ")
    return (f"# Assignment {assignment_id} is published: this cell imports its reference solutions,\n"
            f"# so there is nothing to paste here.\n"
            f"from {PUBLISHED_PACKAGE}.{published_module(assignment_id)} import (\n{imported},\n)")


THRESHOLD = re.compile(r"\{\{\s*thresholds\.([A-Za-z0-9_]+)\s*\}\}")


def fill_thresholds(text: str, thresholds: dict[str, float], where: str) -> str:
    """``text`` with every ``{{ thresholds.KEY }}`` replaced by course.yml's value of KEY."""
    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in thresholds:
            raise TemplateError(f"{where} names {{{{ thresholds.{key} }}}}, which course.yml does "
                                "not set for this assignment")
        return f"{thresholds[key]:g}"

    return THRESHOLD.sub(value, text)


def source_notebook(template: Path, assignment_id: str,
                    thresholds: dict[str, float] | None = None,
                    published: Mapping[str, Collection[str]] | None = None) -> nbformat.NotebookNode:
    """The instructor's notebook: solutions filled in, nbgrader metadata on every cell, and
    ``{{ thresholds.KEY }}`` in any other cell replaced by the assignment's threshold, so that
    what a hidden test demands is what the notebook says. ``published`` maps each published
    assignment to the names its module defines: a cell carried from one imports them."""
    nb = jupytext.read(template)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells, start=1):
        if cell.metadata.get("solution") is None:
            cell.source = fill_thresholds(cell.source, thresholds or {}, f"{template.name}, cell {index}")
        spec = cell.metadata.pop("solution", None)
        grade_id = cell.metadata.pop("grade_id", None)
        points = cell.metadata.pop("written", None)
        carried = cell.metadata.pop("carried", None)
        if carried is not None and (spec is None or not isinstance(carried, str)):
            raise TemplateError(f"{template.name}, cell {index}: carried=\"ASSIGNMENT\" marks an "
                                "answer cell (with solution=...) as pasted from that assignment")
        if carried is not None and carried in (published or {}):
            if cell.cell_type != "code" or not grade_id:
                raise TemplateError(f"{template.name}, cell {index}: an answer cell must be code "
                                    "with a grade_id")
            names = [q.partition(":")[2] for q in answer_functions(spec)]
            missing = [n for n in names if n not in published[carried]]
            if missing:
                raise TemplateError(f"{template.name}, cell {index}: the published solutions of "
                                    f"{carried} lack {', '.join(missing)}: run `course publish "
                                    f"{carried}` again")
            cell.source = published_import(carried, names)
            cell.metadata["tags"] = sorted({*cell.metadata.get("tags", []), SETUP_TAG})
            cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=False)
        elif points is not None:
            if cell.cell_type != "markdown" or not grade_id or spec is not None \
                    or isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                raise TemplateError(f"{template.name}, cell {index}: a written question must be markdown "
                                    "with a grade_id and written=POINTS (a positive number)")
            cell.metadata["nbgrader"] = written_metadata(grade_id, points)
        elif spec is not None:
            if cell.cell_type != "code" or not grade_id:
                raise TemplateError(f"{template.name}, cell {index}: an answer cell must be code "
                                    "with a grade_id")
            cell.source = answer_source(spec)
            cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=True)
        else:
            kind = "setup" if SETUP_TAG in cell.metadata.get("tags", []) else cell.cell_type
            grade_id = grade_id or f"{kind}_{index:02d}"
            cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=False)
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", grade_id) or grade_id in seen:
            raise TemplateError(f"{template.name}, cell {index}: grade_id {grade_id!r} is invalid "
                                "or used twice")
        seen.add(grade_id)
        cell.id = grade_id
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "course": {"assignment": assignment_id, "notebook": template.stem},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def nbgrader_metadata(grade_id: str, solution: bool) -> dict:
    return {"schema_version": 3, "grade": False, "solution": solution,
            "locked": not solution, "grade_id": grade_id}


def written_metadata(grade_id: str, points: float) -> dict:
    """nbgrader's manually graded answer: a solution cell that is also a grade cell."""
    return {"schema_version": 3, "grade": True, "solution": True, "locked": False,
            "points": points, "grade_id": grade_id}


def written_questions(notebook) -> dict[str, float]:
    """grade id -> points of every written question in ``notebook`` (a dict or NotebookNode)."""
    return {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
            for c in notebook["cells"] if is_written(c)}


def solution_lines(package_dir: Path) -> dict[str, str]:
    """Every line inside a solution region of the reference package -> where it comes from."""
    lines = {}
    for path in sorted(package_dir.rglob("*.py")):
        inside = False
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            stripped = line.strip()
            if stripped == BEGIN:
                inside = True
            elif stripped == END:
                inside = False
            elif inside and stripped:
                lines.setdefault(stripped, f"{path.name}:{number}")
    return lines
