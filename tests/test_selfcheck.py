"""The self-check cell every notebook ends with, and the executed solution notebooks of
`course build`."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.building.build import BuildError
from autograder.building.notebook import source_notebook
from autograder.building.solutions import execute_solutions
from autograder.grading.program import is_answer
from autograder.selfcheck import public_rubric, write_answers

from conftest import ASSIGNMENTS, COURSE, ROOT

A = "01_regression"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_release_notebook_ends_with_a_locked_self_check(assignment):
    for name in COURSE.assignment(assignment).notebooks:
        last = nbformat.read(ROOT / "release" / assignment / f"{name}.ipynb", as_version=4).cells[-1]
        assert last.cell_type == "code" and f"self_check({assignment!r}, {name!r})" in last.source
        assert last.metadata["nbgrader"]["locked"] and not is_answer(last)


def test_the_kernels_latest_run_of_each_answer_cell_is_what_gets_checked(tmp_path):
    instructor = public_rubric(A).instructor["regression"]
    template = source_notebook(COURSE.layout.template(A, "regression"), A, dict(COURSE.assignment(A).thresholds))
    reference = [c.source for c in template.cells if is_answer(c)]
    mse = next(s for s in reference if "def mse_loss" in s)
    history = ["", "import numpy as np", mse.replace("np.mean", "np.sum"), "print(1)", mse, "x = mse_loss"]
    not_run = write_answers(instructor, history, tmp_path / "regression.ipynb")
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in json.loads(
        (tmp_path / "regression.ipynb").read_text())["cells"]}
    assert cells["mse"] == mse  # the latest run, not the earlier one
    assert "mse" not in not_run and "linear_fit" in not_run
    assert "raise NotImplementedError()" in "".join(cells["linear_fit"])  # never run: still its stub


def test_a_cell_defining_only_part_of_an_answer_does_not_replace_it(tmp_path):
    instructor = public_rubric(A).instructor["regression"]
    not_run = write_answers(instructor, ["def add_bias(X):\n    return X\n"], tmp_path / "regression.ipynb")
    assert "linear_fit" in not_run  # the answer cell also defines predict_linear and fit_normal_equations


def _course_in(tmp_path, cells: list[str]):
    """A copy of the course whose built source notebook of 01 holds ``cells``."""
    course = COURSE.model_copy(update={"root": tmp_path})
    folder = course.layout.source_dir(A)
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "regression.ipynb")
    return course


def test_solution_notebooks_are_executed_with_their_outputs_and_plots(tmp_path):
    course = _course_in(tmp_path, ["print('trained')", "import matplotlib.pyplot as plt\nplt.plot([1, 2])"])
    [written] = execute_solutions(course, [A])
    assert written == tmp_path / "build" / "solutions" / A / "regression.ipynb"
    outputs = [o for c in nbformat.read(written, as_version=4).cells for o in c.outputs]
    assert any("trained" in o.get("text", "") for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_a_solution_cell_that_raises_fails_the_build_naming_it(tmp_path):
    course = _course_in(tmp_path, ["x = 1", "raise ValueError('the reference is broken')"])
    with pytest.raises(BuildError, match=r"regression.ipynb fails in cell 2.*ValueError: the reference is broken"):
        execute_solutions(course, [A])
    executed = nbformat.read(tmp_path / "build" / "solutions" / A / "regression.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].output_type == "error"  # kept, to look at
