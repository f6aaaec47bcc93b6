"""Notebook templates: jupytext percent files whose answer cells name reference functions.

A template cell is one of

* markdown (``# %% [markdown]``): prose, locked;
* setup (``# %% tags=["setup"]``): imports and constants the answers need, locked; the
  grader runs the instructor's copy of these cells before the student's answers;
* answer (``# %% solution="reference.linear:mse_loss,mse_grad" grade_id="mse"``): the build
  copies the named functions' source in (groups from several modules are separated by
  spaces); nbgrader stubs their solution regions;
* any other code cell: checks and plots for the student, locked, never graded.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from pathlib import Path

import jupytext
import nbformat

from autograder.grading.program import SETUP_TAG

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


def answer_source(spec: str) -> str:
    """The source of an answer cell from its spec: ``module:name,name``, or several such
    groups separated by spaces (``reference.modules:Affine reference.networks:train``)."""
    sources = []
    for group in spec.split():
        module_name, _, names = group.partition(":")
        if not module_name or not names:
            raise TemplateError(f"solution={spec!r}: expected 'module:function[,function...]' "
                                "groups separated by spaces")
        sources += [function_source(f"{module_name}:{n.strip()}") for n in names.split(",")]
    return "\n\n".join(sources)


def source_notebook(template: Path, assignment_id: str) -> nbformat.NotebookNode:
    """The instructor's notebook: solutions filled in, nbgrader metadata on every cell."""
    nb = jupytext.read(template)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells, start=1):
        spec = cell.metadata.pop("solution", None)
        grade_id = cell.metadata.pop("grade_id", None)
        if spec is not None:
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
