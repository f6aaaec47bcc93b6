"""The instructor's solution notebooks, executed: each source notebook run top to bottom in a
kernel, in ``build/solutions/<id>/``, and written there with its outputs and plots (its last
cell, the self-check, shows the reference earning every public point). A cell that raises
fails the build, naming the notebook, the cell and the error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.building.build import BuildError
from autograder.course import Course

CELL_TIMEOUT = 1800  # seconds; the slowest training cells take a minute on one core


def execute_solutions(course: Course, assignment_ids: list[str] | None = None) -> list[Path]:
    """Execute the built source notebooks of the given assignments (all by default) into
    ``build/solutions/<id>/``; returns the notebooks written."""
    layout, written = course.layout, []
    for assignment_id in assignment_ids or [a.id for a in course.assignments]:
        folder = layout.solutions / assignment_id
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, source in layout.source_notebooks(course.assignment(assignment_id)).items():
            notebook = nbformat.read(source, as_version=4)
            target = folder / source.name
            try:
                NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                               resources={"metadata": {"path": str(folder)}}).execute()
            except CellExecutionError as error:
                raise BuildError(f"{assignment_id}: {source.name} fails in cell "
                                 f"{_failed_cell(notebook)}: {error.ename}: {error.evalue} "
                                 f"(the executed notebook is in {target})") from None
            finally:
                nbformat.write(notebook, target)
            written.append(target)
    return written


def _failed_cell(notebook: nbformat.NotebookNode) -> str:
    for index, cell in enumerate(notebook.cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return f"{index} ({cell.metadata.get('nbgrader', {}).get('grade_id', '')})"
    return "?"
