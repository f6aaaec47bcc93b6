"""Written questions, graded by people: a template's ``written=POINTS`` markdown cell becomes
nbgrader's manually graded answer cell, and the release holds no model answer."""

from __future__ import annotations

import nbformat
import pytest

from autograder.building.build import generate_release
from autograder.building.notebook import TemplateError, is_written, source_notebook, written_questions
from autograder.grading.program import is_answer

TEMPLATE = '''\
# %% [markdown]
# ## 1. Plots
# Why does the training loss fall faster with momentum? Answer in two sentences.

# %% [markdown] written=2 grade_id="why_momentum"
# Model answer: velocity accumulates along the consistent direction of the gradient
# and cancels across the oscillating one. Full marks name both effects.

# %%
print("a check for the student")
'''


def _template(tmp_path, text: str = TEMPLATE):
    path = tmp_path / "nb.py"
    path.write_text(text)
    return path


def test_a_written_cell_becomes_a_manually_graded_answer_with_points(tmp_path):
    notebook = source_notebook(_template(tmp_path), "00_demo")
    [cell] = [c for c in notebook.cells if is_written(c)]
    assert cell.metadata["nbgrader"] == {"schema_version": 3, "grade": True, "solution": True,
                                         "locked": False, "points": 2, "grade_id": "why_momentum"}
    assert "Model answer" in cell.source and not is_answer(cell)  # never sent to a grading worker
    assert written_questions(notebook) == {"why_momentum": 2}


def test_the_release_asks_for_the_answer_and_holds_no_model_answer(tmp_path):
    folder = tmp_path / "course" / "source" / "00_demo"
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(_template(tmp_path), "00_demo"), folder / "nb.ipynb")
    generate_release(tmp_path / "course", "00_demo")
    release = nbformat.read(tmp_path / "course" / "release" / "00_demo" / "nb.ipynb", as_version=4)
    [cell] = [c for c in release.cells if is_written(c)]
    assert cell.source == "YOUR ANSWER HERE" and cell.metadata["nbgrader"]["points"] == 2
    assert "Model answer" not in nbformat.writes(release)
    assert written_questions(release) == {"why_momentum": 2}


@pytest.mark.parametrize("marker", ['# %% written=2 grade_id="q"', '# %% [markdown] written=2',
                                    '# %% [markdown] written=0 grade_id="q"'])
def test_a_malformed_written_cell_is_refused(tmp_path, marker):
    with pytest.raises(TemplateError, match="written question"):
        source_notebook(_template(tmp_path, f"{marker}\n# text\n"), "00_demo")


def test_the_self_check_names_the_written_questions_it_does_not_grade(tmp_path):
    from autograder.grading.results import SubmissionResult
    from autograder.selfcheck import Report, written_questions

    folder = tmp_path / "course" / "source" / "00_demo"
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(_template(tmp_path), "00_demo"), folder / "nb.ipynb")
    assert written_questions(folder / "nb.ipynb") == {"why_momentum": 2}
    assert written_questions(tmp_path / "missing.ipynb") == {}
    result = SubmissionResult("00_demo", "s", 0, 0, [], {}, "limits", 0.0)
    report = Report(result, "from nb.ipynb as saved",
                    written_questions(folder / "nb.ipynb"))
    assert "Written questions, graded by people (not here): why_momentum (2 points)." in repr(report)
    assert "why_momentum (2 points)" in report._repr_html_()


def test_every_assignment_asks_a_written_question_whose_model_answer_stays_with_the_graders():
    """Each template has a written question with a marking guide; no line of a model answer
    reaches the release notebooks (which the kit copies)."""
    import jupytext

    from conftest import ASSIGNMENTS, COURSE, ROOT

    released = "\n".join(c.source for p in (ROOT / "release").rglob("*.ipynb")
                         for c in nbformat.read(p, as_version=4).cells)
    ids = set()
    for assignment in ASSIGNMENTS:
        written = [c for name in COURSE.assignment(assignment).notebooks
                   for c in jupytext.read(COURSE.layout.template(assignment, name)).cells if "written" in c.metadata]
        assert written, f"{assignment} has no written question"
        for cell in written:
            assert 1 <= cell.metadata["written"] <= 3 and "Marking guide" in cell.source, assignment
            ids.add(cell.metadata["grade_id"])
            for line in cell.source.splitlines():
                line = line.lstrip("# ").strip()
                assert len(line) < 25 or line not in released, f"{assignment}: {line!r} is in release/"
    assert len(ids) == len(ASSIGNMENTS)
