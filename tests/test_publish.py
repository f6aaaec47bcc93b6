"""`course publish`: an assignment's reference solutions become importable in later notebooks,
never before its window closes (unless forced), and only in a copy of the course here: the
committed course publishes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.building.build import BuildError, build
from autograder.building.kit import write_kit
from autograder.building.notebook import BEGIN, source_notebook
from autograder.building.publish import (PublishError, carried_names, module_source, publish,
                                         published_names, read_record, stale_modules)
from autograder.course import LatePolicy, load_course
from autograder.grading.grade import Rubric, grade_submission
from autograder.grading.late import Deadline
from autograder.grading.program import Cell, Program, defined_names, is_answer, is_setup
from autograder.sandbox import launch
from autograder.sandbox.launch import detect_isolation
from autograder.sandbox.pool import WorkerPool

from conftest import COURSE, ROOT, loaded, rubric_tests
from test_kit import _lines, secret_lines

A02, A03, A04, A05 = "02_activations_losses", "03_backprop", "04_optimization", "05_regularization"
CARRIED_05 = ("relu_from_02", "softmax_loss_from_02", "affine_from_03", "modular_from_03")


def copy_course(tmp_path: Path, *extra: str) -> Path:
    """course.yml and the templates (plus ``extra`` top-level folders) in a new course root."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(ROOT / "course.yml", root)
    for name in ("assignments", *extra):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def course_cli(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``course ARGS`` run in ``root``, with ``root``'s own copy of the engine."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=root, capture_output=True,
                          text=True, timeout=timeout)


def test_the_window_closes_after_the_latest_extension_the_grace_and_the_capped_penalty():
    assignment = COURSE.assignment(A03)
    extended = assignment.due + dt.timedelta(days=2)
    course = COURSE.model_copy(update={
        "late_policy": LatePolicy(percent_per_day=10, max_percent=30, grace_minutes=15),
        "assignments": [a.model_copy(update={"extensions": {"alice": extended}}) if a.id == A03 else a
                        for a in COURSE.assignments]})
    assert Deadline.for_assignment(course, A03).window_closes() == extended + dt.timedelta(days=3, minutes=15)
    # no per-day penalty and no grace here
    assert Deadline.for_assignment(COURSE, A03).window_closes() == assignment.due


def test_the_committed_course_publishes_only_recorded_assignments_after_their_window():
    record = read_record(COURSE.layout)
    for assignment, publication in record.items():
        published_at = dt.datetime.fromisoformat(publication["published_at"])
        closes = Deadline.for_assignment(COURSE, assignment).window_closes()
        assert publication["forced"] or published_at >= closes, assignment
    modules = {COURSE.layout.published_file(a).name for a in record} | {"__init__.py"}
    assert {p.name for p in COURSE.layout.published_dir.glob("*.py")} == modules
    assert stale_modules(COURSE) == []


def test_publishing_before_the_window_closes_is_refused_with_the_date(tmp_path):
    root = copy_course(tmp_path)
    course = load_course(root)
    closes = Deadline.for_assignment(course, A03).window_closes()
    with pytest.raises(PublishError, match=f"from {closes:%Y-%m-%d %H:%M}.*--force"):
        publish(course, A03, now=closes - dt.timedelta(minutes=1))
    assert not course.layout.published_record.exists() and not course.layout.published_file(A03).exists()
    (root / "course.yml").write_text((root / "course.yml").read_text().replace(
        f"due: {course.assignment(A03).due.isoformat()}", "due: 2099-11-06T23:59:00+00:00"))
    refused = course_cli(root, "publish", A03, timeout=120)
    assert refused.returncode == 2 and "may be published from 2099-11-06 23:59" in refused.stderr
    with pytest.raises(PublishError, match="nothing to publish"):
        publish(course, A05, force=True)  # no later notebook carries code over from 05


def test_force_publishes_early_only_what_later_notebooks_carry_over_and_what_it_needs(tmp_path):
    course = load_course(copy_course(tmp_path))
    early = Deadline.for_assignment(course, A02).window_closes() - dt.timedelta(days=1)
    path = publish(course, A02, force=True, now=early)
    assert path == course.root / "autograder" / "student" / "published" / "a02_activations_losses.py"
    assert read_record(course.layout) == {A02: {"published_at": early.isoformat(timespec="seconds"), "forced": True}}
    # relu_forward shares a cell with leaky_relu_forward, and log_softmax with softmax: only the
    # carried functions (and the NumPy they use) leave the notebook
    assert published_names(course.layout)[A02] == {"__all__", "np", "relu_forward", "relu_backward", "tanh_forward",
                                                    "tanh_backward", "log_softmax", "softmax_cross_entropy",
                                                    "sigmoid"}  # carried by 10
    text = path.read_text()
    assert BEGIN not in text and "NotImplementedError" not in text
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)
    from reference import losses
    scores, y = [[1000.0, 999.0, -1000.0], [-1.0, 2.0, 0.5]], [0, 2]
    import numpy as np
    for got, want in zip(namespace["softmax_cross_entropy"](np.array(scores), np.array(y)),
                         losses.softmax_cross_entropy(np.array(scores), np.array(y))):
        np.testing.assert_allclose(got, want)


def test_03_asks_for_02_s_functions_until_02_is_published_then_imports_them(tmp_path):
    root = copy_course(tmp_path)
    course = load_course(root)
    assert carried_names(course, A02)[A03] == ["relu_forward", "relu_backward", "log_softmax",
                                               "softmax_cross_entropy"]
    publish(course, A02, now=Deadline.for_assignment(course, A02).window_closes())
    build(course, [A03])
    nb = nbformat.read(root / "release" / A03 / "backprop.ipynb", as_version=4)
    cells = {c.metadata.nbgrader.grade_id: c for c in nb.cells}
    for grade_id in ("relu_from_02", "softmax_loss_from_02"):
        assert is_setup(cells[grade_id]) and not is_answer(cells[grade_id])
        assert "from autograder.student.published.a02_activations_losses import" in cells[grade_id].source


def carried_05(root: Path) -> dict[str, nbformat.NotebookNode]:
    nb = nbformat.read(root / "release" / A05 / "regularization.ipynb", as_version=4)
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells}


def test_release_of_05_asks_for_a_paste_before_publication_and_imports_after(tmp_path):
    root = copy_course(tmp_path)
    course = load_course(root)
    build(course, [A05])
    before = carried_05(root)
    for grade_id in CARRIED_05:
        assert is_answer(before[grade_id]) and "raise NotImplementedError()" in before[grade_id].source
    publish(course, A03, now=Deadline.for_assignment(course, A03).window_closes())  # the moment the window closes
    build(course, [A05])
    after = carried_05(root)
    for grade_id, names in (("affine_from_03", "affine_forward, affine_backward"),
                            ("modular_from_03", "Affine, ReLU, Sequential, train")):
        cell = after[grade_id]
        assert is_setup(cell) and not is_answer(cell) and cell.metadata.nbgrader.locked
        assert "03_backprop is published" in cell.source
        assert f"from autograder.student.published.a03_backprop import (\n    {names},\n)" in cell.source
    changed = {k for k in before if before[k].source != after[k].source or before[k].metadata != after[k].metadata}
    assert changed == {"affine_from_03", "modular_from_03"}  # 02 is not published: still pasted


def test_the_build_refuses_a_carried_cell_from_a_later_assignment_or_a_stale_module(tmp_path):
    root = copy_course(tmp_path)
    course = load_course(root)
    publish(course, A03, now=Deadline.for_assignment(course, A03).window_closes())
    module = course.layout.published_file(A03)
    assert stale_modules(course) == []
    module.write_text(module.read_text().replace("def affine_backward(", "def renamed_backward("))
    assert stale_modules(course) == [A03]  # what `course verify` reports
    with pytest.raises(BuildError, match="lack affine_backward: run `course publish 03_backprop` again"):
        build(course, [A05])
    template = root / "assignments" / A05 / "regularization.py"
    template.write_text(template.read_text().replace('carried="03_backprop"', 'carried="06_training_practice"'))
    with pytest.raises(BuildError, match="carried='06_training_practice' names no assignment"):
        build(course, [A05])


def test_the_kit_ships_published_modules_only_and_the_scan_flags_an_unpublished_one(tmp_path):
    root = copy_course(tmp_path, "reference", "release", "autograder")
    course = load_course(root)
    publish(course, A03, now=Deadline.for_assignment(course, A03).window_closes())
    stray = course.layout.published_file(A04)  # in the engine's folder, but 04 is not published
    stray.write_text(module_source(course, A04, ["step_decay", "exponential_decay"]))
    kit = write_kit(course, [A05], tmp_path / "kit")
    shipped = kit / "autograder" / "student" / "published"
    assert sorted(p.name for p in shipped.iterdir()) == ["__init__.py", "a03_backprop.py"]
    secret = set(secret_lines(root, root / "autograder"))
    assert not _lines("a03_backprop.py", (shipped / "a03_backprop.py").read_text()) & secret
    assert _lines(stray.name, stray.read_text()) & secret, "an unpublished assignment's solution passed the scan"
    assert _lines("a03_backprop.py", (shipped / "a03_backprop.py").read_text()) & set(secret_lines(ROOT)), \
        "the scan of the committed course (nothing published) would let 03's solutions pass"


@pytest.mark.parametrize("tier", ["namespaces", "syscalls", "limits"])
def test_the_published_package_is_importable_in_every_isolation_tier(tier):
    isolation = detect_isolation(tier)
    if isolation.tier != tier:
        pytest.skip(f"isolation tier {tier} is not available here")
    program = Program([Cell("setup", "import autograder.student.published as published", answer=False),
                       Cell("answer", "def package():\n    return published.__name__\n", ["package"])])
    with loaded(program, COURSE.limits, isolation) as student:
        assert student.package() == "autograder.student.published"


PROBE = '''
def imported(name):
    import importlib
    try:
        return importlib.import_module(name).__name__
    except Exception as error:
        return type(error).__name__


def read(name):
    import os
    import autograder.student.published as package
    try:
        with open(os.path.join(os.path.dirname(package.__file__), name)) as handle:
            return handle.read()
    except OSError as error:
        return type(error).__name__
'''  # a student's answer cell: what it can import and read of the published folder


def worker_package(tmp_path: Path) -> Path:
    """The worker-visible parts of the engine, with three published modules: a03 imports a02."""
    package = tmp_path / "autograder"
    package.mkdir()
    shutil.copy(launch.PACKAGE_DIR / "__init__.py", package)
    for name in ("student", "sandbox"):
        shutil.copytree(launch.PACKAGE_DIR / name, package / name, ignore=shutil.ignore_patterns("__pycache__"))
    published = package / "student" / "published"
    (published / "a02_x.py").write_text("def two():\n    return 2\n")
    (published / "a03_x.py").write_text("from autograder.student.published.a02_x import two\n\n\n"
                                        "def three():\n    return two() + 1\n")
    (published / "a04_x.py").write_text("def four():\n    return 4\n")
    return package


@pytest.mark.parametrize("tier", ["namespaces", "syscalls", "limits"])
def test_a_worker_imports_only_the_published_modules_its_setup_cells_import(tier, tmp_path, monkeypatch):
    """The instructor's setup cells import a03 (which imports a02): the student's code may use
    those, never a04, which the worker can neither import nor (but in tier C) read."""
    isolation = detect_isolation(tier)
    if isolation.tier != tier:
        pytest.skip(f"isolation tier {tier} is not available here")
    monkeypatch.setattr(launch, "PACKAGE_DIR", worker_package(tmp_path))
    assert launch.visible_published(("autograder.student.published.a03_x",)) == ("a02_x.py", "a03_x.py")
    program = Program([Cell("setup", "from autograder.student.published.a03_x import three", answer=False),
                       Cell("answer", PROBE, ["imported", "read"])])
    pool, published = WorkerPool(spares=False), "autograder.student.published"
    try:
        with loaded(program, COURSE.limits, isolation, pool=pool) as student:
            for name in ("a03_x", "a02_x", "a04_x"):
                expected = ("ModuleNotFoundError", "PermissionError") if name == "a04_x" else (f"{published}.{name}",)
                assert student.imported(f"{published}.{name}") in expected, name
            if tier != "limits":  # tier C reads any file the grader can
                assert student.read("a04_x.py") in ("FileNotFoundError", "PermissionError")
            assert "def three" in student.read("a03_x.py")
        # without setup cells nothing of student/ is imported before the worker confines itself:
        # its folder can still be listed, so the rest of it stays importable, the modules not
        with loaded(Program([Cell("answer", PROBE, ["imported", "read"])]), COURSE.limits, isolation,
                    pool=pool) as student:
            assert student.imported("autograder.student.gradcheck") == "autograder.student.gradcheck"
            assert student.imported(f"{published}.a03_x") in ("ModuleNotFoundError", "PermissionError")
    finally:
        pool.close()


def test_a_notebook_graded_after_its_own_publication_cannot_import_its_published_module(tmp_path, monkeypatch):
    """03 is published: a 03 notebook whose answer cells import 03's published solutions
    instead of holding code earns none of their tests."""
    root = copy_course(tmp_path, "autograder", "reference", "release")
    course = load_course(root)
    publish(course, A03, now=Deadline.for_assignment(course, A03).window_closes())
    monkeypatch.setattr(launch, "PACKAGE_DIR", root / "autograder")
    template = course.layout.template(A03, "backprop")
    nb = source_notebook(template, A03, dict(course.assignment(A03).thresholds))
    replaced = {"affine", "affine_relu", "two_layer_net", "train", "modular"}
    for cell in nb.cells:
        if is_answer(cell) and cell.metadata.nbgrader.grade_id in replaced:
            cell.source = (f"from autograder.student.published.a03_backprop import "
                           f"{', '.join(defined_names(cell.source))}")
    nbformat.write(nb, tmp_path / "backprop.ipynb")
    pool = WorkerPool(spares=False)
    try:
        result = grade_submission(Rubric.for_assignment(course, A03), "copier",
                                  {"backprop": tmp_path / "backprop.ipynb"}, pool=pool)
    finally:
        pool.close()
    assert set(result.problems) == replaced
    assert all("a03_backprop" in problem for problem in result.problems.values()), result.problems
    passed = {t.name for t in result.tests if t.status == "passed"}
    assert passed == {"test_cells_pasted_from_02_hold_where_03_uses_them",
                      "test_cells_from_02_hold_where_03_uses_them"}, passed


def own_functions(course, assignment_id: str) -> set[str]:
    """What the assignment's own answer cells define (not the carried ones)."""
    assignment = course.assignment(assignment_id)
    nb = source_notebook(course.layout.template(assignment_id, assignment.notebooks[0]), assignment_id,
                         dict(assignment.thresholds))
    return {n for c in nb.cells if is_answer(c) and c.metadata.nbgrader.grade_id not in CARRIED_05
            for n in defined_names(c.source)}


def test_after_publication_05_gives_full_marks_to_the_import_and_to_a_correct_paste(tmp_path):
    """In the sandbox, by the course copy's own engine: `course verify` finds the reference (its
    carried cells importing) at full marks and the untouched release earning exactly the tests
    of carried-over code; a notebook with correct pasted cells earns every point."""
    root = copy_course(tmp_path, "autograder", "reference", "release")
    course = load_course(root)
    build(course, [A05])  # before publication: the reference notebook with its cells pasted
    (tmp_path / "submissions" / "pasted").mkdir(parents=True)
    shutil.copy(root / "build" / "source" / A05 / "regularization.ipynb", tmp_path / "submissions" / "pasted")
    publish(course, A02)
    published = course_cli(root, "publish", A03)  # rebuilds 05 and 06
    assert published.returncode == 0, published.stderr
    assert f"built release/{A05}" in published.stdout and set(read_record(course.layout)) == {A02, A03}
    assert all(is_setup(carried_05(root)[g]) for g in CARRIED_05)
    verified = course_cli(root, "verify", A05)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    [untouched] = [line for line in verified.stdout.splitlines() if "untouched release earns zero but for" in line]
    own = re.compile(r"\b(" + "|".join(sorted(own_functions(course, A05))) + r")\b")
    carried_tests = {t for t, (_, source) in rubric_tests(A05).items() if not own.search(source)}
    assert "test_cells_pasted_from_02_and_03_hold" in carried_tests
    assert set(untouched.partition("passed: ")[2].split(", ")) == carried_tests
    graded = course_cli(root, "grade", "-a", A05, str(tmp_path / "submissions"), "-o", str(tmp_path / "grades"))
    assert graded.returncode == 0, graded.stderr
    [row] = csv.DictReader((tmp_path / "grades" / "grades.csv").open())
    assert row["student"] == "pasted"
    assert {t: float(row[t]) for t in rubric_tests(A05)} == {t: p for t, (p, _) in rubric_tests(A05).items()}
