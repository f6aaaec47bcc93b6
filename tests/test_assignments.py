"""Every assignment, three ways: the reference earns full marks, the untouched release earns
zero with a clear reason per test, each plausible bug loses points and each correct
alternative keeps full marks. Plus the build's promises: release fresh, nothing leaked."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grading.batch import grade_class
from autograder.building.notebook import BEGIN, solution_lines
from autograder.grading.program import is_answer
from autograder.building.variants import load_variants, write_reference_files
from autograder.building.verify import stale_files

from conftest import ASSIGNMENTS, COURSE, ROOT, failed, grade, rubric_for, source_notebooks

VARIANTS = {a: load_variants(COURSE.assignment_dir(a)) for a in ASSIGNMENTS}
BUGS = [(a, v) for a in ASSIGNMENTS for v in VARIANTS[a][0]]
ALTERNATIVES = [(a, v) for a in ASSIGNMENTS for v in VARIANTS[a][1]]


def _ids(pairs):
    return [f"{a}-{v.name}" for a, v in pairs]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_matches_a_fresh_build(assignment, built):
    stale = stale_files(built / "release" / assignment, ROOT / "release" / assignment)
    assert not stale, f"release/{assignment} is stale ({stale}): run `course build {assignment}`"


def public_lines() -> set[str]:
    """Lines the instructor wrote for students: templates (check cells, prose) and public tests."""
    lines = set()
    for assignment in ASSIGNMENTS:
        for path in COURSE.assignment_dir(assignment).glob("*.py"):
            if path.name not in ("test_hidden.py", "variants.py"):
                lines |= {line.strip() for line in path.read_text().splitlines()}
    return lines


def test_no_line_of_any_solution_appears_under_release():
    """A solution line found in a release that the instructor did not also write in public
    material (a check cell, a public test) means a solution escaped the stubbing."""
    public = public_lines()
    secret = {line: where for line, where in solution_lines(ROOT / "reference").items()
              if len(line) >= 6 and line not in public}
    assert secret, "the reference package has no solution regions"
    for path in sorted((ROOT / "release").rglob("*")):
        if path.is_file():
            text = path.read_text()
            lines = {s.strip() for s in text.splitlines()}
            if path.suffix == ".ipynb":
                lines |= {s.strip() for c in json.loads(text)["cells"] for s in "".join(c["source"]).splitlines()}
            leaked = sorted(line for line in secret if line in lines)
            assert not leaked, f"{path.relative_to(ROOT)} contains solution lines: {leaked[:3]} (from {secret[leaked[0]]})"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_stubs_and_public_tests_only(assignment):
    folder = ROOT / "release" / assignment
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{n}.ipynb" for n in COURSE.assignment(assignment).notebooks] + ["test_public.py"])
    for name in COURSE.assignment(assignment).notebooks:
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        answers = [c for c in nb.cells if is_answer(c)]
        assert answers, "no answer cells"
        for cell in answers:
            assert "raise NotImplementedError()" in cell.source and BEGIN not in cell.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_runs_top_to_bottom(assignment, built, tmp_path):
    for path in source_notebooks(built, assignment).values():
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_earns_full_marks_through_course_grade(assignment, built, tmp_path):
    folder = tmp_path / "submissions" / "reference"
    folder.mkdir(parents=True)
    for name, path in source_notebooks(built, assignment).items():
        (folder / f"{name}.ipynb").write_bytes(path.read_bytes())
    write_reference_files(COURSE.assignment_dir(assignment), folder)
    [result] = grade_class(rubric_for(assignment), [tmp_path / "submissions"], tmp_path / "grades")
    assert not failed(result) and not result.problems
    assert result.score == result.max_score > 0
    written = json.loads((tmp_path / "grades" / "reference" / "results.json").read_text())
    assert written["score"] == result.max_score
    assert (tmp_path / "grades" / "grades.csv").read_text().startswith("student,")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_earns_zero_and_says_why(assignment):
    files = {n: ROOT / "release" / assignment / f"{n}.ipynb" for n in COURSE.assignment(assignment).notebooks}
    result = grade(assignment, files)
    assert result.score == 0
    for test in result.tests:
        assert "is not implemented yet" in test.output, f"{test.name}: {test.output}"


@pytest.mark.parametrize(("assignment", "bug"), BUGS, ids=_ids(BUGS))
def test_plausible_bug_loses_points(assignment, bug, built, tmp_path):
    [(name, source)] = source_notebooks(built, assignment).items()
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(bug.apply(nbformat.read(source, as_version=4)), path)
    write_reference_files(COURSE.assignment_dir(assignment), tmp_path)
    result = grade(assignment, path, time_per_test=30)
    assert result.score < result.max_score, f"{bug.name} ({bug.description}) kept full marks"
    assert all(reason for reason in failed(result).values())


@pytest.mark.parametrize(("assignment", "alternative"), ALTERNATIVES, ids=_ids(ALTERNATIVES))
def test_correct_alternative_keeps_full_marks(assignment, alternative, built, tmp_path):
    [(name, source)] = source_notebooks(built, assignment).items()
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(alternative.apply(nbformat.read(source, as_version=4)), path)
    write_reference_files(COURSE.assignment_dir(assignment), tmp_path)
    result = grade(assignment, path)
    assert not failed(result), f"{alternative.name} lost points: {failed(result)}"
    assert not result.problems


def test_every_assignment_lists_bugs_and_alternatives():
    for assignment in ASSIGNMENTS:
        bugs, alternatives = VARIANTS[assignment]
        assert len(bugs) >= 4 and len(alternatives) >= 1, assignment


def test_grading_the_same_submission_twice_gives_identical_results(built):
    first, second = (grade("01_regression", source_notebooks(built, "01_regression")) for _ in range(2))
    strip = lambda r: [(t.name, t.score, t.status, t.output) for t in r.tests]  # noqa: E731
    assert strip(first) == strip(second) and first.score == second.score
