"""Every assignment, three ways: the reference earns full marks, the untouched release earns
zero with a clear reason per test, each plausible bug loses points and each correct
alternative keeps full marks. Plus the build's promises: release fresh, nothing leaked."""

from __future__ import annotations

import dataclasses
import json
import re

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grading.batch import grade_class
from autograder.grading.grade import grade_submission
from autograder.building.notebook import BEGIN, solution_lines
from autograder.grading.program import is_answer
from autograder.building.variants import load_variants, write_reference_files
from autograder.building.verify import stale_files

from conftest import ASSIGNMENTS, COURSE, ROOT, failed, grade, rubric_for, rubric_tests, source_notebooks

VARIANTS = {a: load_variants(COURSE.assignment_dir(a)) for a in ASSIGNMENTS}
BUGS = [(a, v) for a in ASSIGNMENTS for v in VARIANTS[a][0]]


def _ids(pairs):
    return [f"{a}-{v.name}" for a, v in pairs]


def naming_tests(assignment: str, names: set[str]) -> list[str]:
    """The rubric's tests (public and hidden) whose code names one of ``names``: where a
    change to those functions or classes shows first."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    return [test for test, (_, source) in rubric_tests(assignment).items() if pattern.search(source)]


def disjoint_groups(variants: list) -> list[list]:
    """``variants`` in groups whose members change different functions, so that each group
    applies to one notebook at once."""
    groups: list[tuple[set, list]] = []
    for variant in variants:
        functions = {change.function for change in variant.changes}
        group = next((g for g in groups if not g[0] & functions), None)
        if group is None:
            groups.append((set(), []))
            group = groups[-1]
        group[0].update(functions)
        group[1].append(variant)
    return [members for _, members in groups]


ALTERNATIVE_GROUPS = [(a, group) for a in ASSIGNMENTS for group in disjoint_groups(VARIANTS[a][1])]


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


# The three calls of every PyTorch training step: many solutions write them and a notebook may
# show them in its own cells; on their own they give no solution away.
FRAMEWORK_BOILERPLATE = {"optimizer.zero_grad()", "loss.backward()", "optimizer.step()"}


def test_no_line_of_any_solution_appears_under_release():
    """A solution line found in a release that the instructor did not also write in public
    material (a check cell, a public test) means a solution escaped the stubbing."""
    public = public_lines() | FRAMEWORK_BOILERPLATE
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
    rubric = dataclasses.replace(rubric_for(assignment, time_per_test=30), until_first_failure=True)
    # The first lost point is enough: the tests that name the changed functions first, then all.
    first = naming_tests(assignment, {c.function for c in bug.changes})
    for only in ([first] if first else []) + [[]]:
        result = grade_submission(dataclasses.replace(rubric, only=only), "student", {name: path})
        if result.score < result.max_score:
            break
    assert result.score < result.max_score, f"{bug.name} ({bug.description}) kept full marks"
    assert all(reason for reason in failed(result).values())


@pytest.mark.parametrize(("assignment", "alternatives"), ALTERNATIVE_GROUPS,
                         ids=[f"{a}-{'+'.join(v.name for v in group)}" for a, group in ALTERNATIVE_GROUPS])
def test_correct_alternatives_keep_full_marks(assignment, alternatives, built, tmp_path):
    """Alternatives that change different functions are graded together, in one notebook:
    a correct answer stays correct beside other correct answers."""
    [(name, source)] = source_notebooks(built, assignment).items()
    notebook = nbformat.read(source, as_version=4)
    for alternative in alternatives:
        notebook = alternative.apply(notebook)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    write_reference_files(COURSE.assignment_dir(assignment), tmp_path)
    result = grade(assignment, path)
    names = ", ".join(a.name for a in alternatives)
    assert not failed(result), f"{names} lost points: {failed(result)}"
    assert not result.problems


def test_every_assignment_lists_bugs_and_alternatives():
    for assignment in ASSIGNMENTS:
        bugs, alternatives = VARIANTS[assignment]
        assert len(bugs) >= 4 and len(alternatives) >= 1, assignment


def test_grading_the_same_submission_twice_gives_identical_results(built):
    first, second = (grade("01_regression", source_notebooks(built, "01_regression")) for _ in range(2))
    strip = lambda r: [(t.name, t.score, t.status, t.output) for t in r.tests]  # noqa: E731
    assert strip(first) == strip(second) and first.score == second.score


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_threshold_a_hidden_test_demands_is_stated_in_the_notebook(assignment):
    """A hidden test may not demand a number the student was never told: each threshold it
    reads is written into the notebook from course.yml at build time."""
    folder = COURSE.assignment_dir(assignment)
    hidden = (folder / "test_hidden.py").read_text()
    demanded = {key for key in COURSE.assignment(assignment).thresholds if f'"{key}"' in hidden}
    stated = {key for notebook in COURSE.assignment(assignment).notebooks
              for key in re.findall(r"\{\{\s*thresholds\.(\w+)\s*\}\}", (folder / f"{notebook}.py").read_text())}
    assert demanded <= stated, f"the notebook does not state {sorted(demanded - stated)}"
    assert demanded == set(COURSE.assignment(assignment).thresholds), "course.yml sets thresholds no test uses"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_visible_text_never_points_into_the_reference(assignment):
    for path in (ROOT / "release" / assignment).iterdir():
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "".join("".join(c["source"]) for c in json.loads(text)["cells"])
        assert not re.search(r"\breference\.", text), f"{path.name} mentions the reference package"
