"""Shared fixtures: the course, a fresh build in a temporary folder, quick rubrics."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.building.build import build
from autograder.course import Layout, Limits, load_course
from autograder.grading.proxy import Controls
from autograder.grading.grade import Rubric, declared_tests, grade_submission
from autograder.building.variants import write_reference_files

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT)
ASSIGNMENTS = [a.id for a in COURSE.assignments]

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Self-checks fork their workers from a check server (autograder.sandbox.warm): this process's
# servers live in a folder of its own (short: it holds sockets), removed at the end, which stops them.
CHECK_SERVERS = tempfile.mkdtemp(prefix="xdg-", dir="/tmp" if os.path.isdir("/tmp") else None)
os.environ["XDG_RUNTIME_DIR"] = CHECK_SERVERS
os.environ.setdefault("COURSE_WARM_SECONDS", "120")


def pytest_unconfigure(config):
    shutil.rmtree(CHECK_SERVERS, ignore_errors=True)


@pytest.fixture(scope="session")
def course():
    return COURSE


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """A fresh build of every assignment: ``built/source/<id>`` (with the extra files a
    reference submission hands in) and ``built/release/<id>``."""
    out = tmp_path_factory.mktemp("build")
    build(COURSE, None, layout=Layout(ROOT, release=out / "release", source=out / "source"))
    for assignment in ASSIGNMENTS:
        write_reference_files(COURSE.assignment_dir(assignment), out / "source" / assignment)
    return out


@contextlib.contextmanager
def loaded(program, limits: Limits, isolation, device: str = "cpu", pool=None):
    """The ``student`` proxy of ``program`` loaded in a worker; the worker is killed after."""
    controls = Controls(program, limits, isolation, device, pool)
    try:
        yield controls.student
    finally:
        controls.close()


def rubric_for(assignment_id: str, time_per_test: float | None = None, public_only: bool = False) -> Rubric:
    rubric = Rubric.for_assignment(COURSE, assignment_id, public_only=public_only)
    if time_per_test:
        rubric.limits = rubric.limits.model_copy(update={"time_per_test": time_per_test})
    return rubric


def source_notebooks(built: Path, assignment_id: str) -> dict[str, Path]:
    return {n: built / "source" / assignment_id / f"{n}.ipynb"
            for n in COURSE.assignment(assignment_id).notebooks}


def grade(assignment_id: str, files: dict[str, Path] | Path, time_per_test: float | None = None,
          isolation=None):
    rubric = rubric_for(assignment_id, time_per_test)
    if isinstance(files, Path):
        files = {rubric.notebooks[0]: files}
    return grade_submission(rubric, "student", files, isolation)


def failed(result) -> dict[str, str]:
    return {t.name: t.output for t in result.tests if t.status != "passed"}


def rubric_tests(assignment: str, public_only: bool = False) -> dict[str, tuple[float, str]]:
    """Test name -> (points, source) of an assignment's rubric, read from its test files, so
    that no test hard-codes a total or a list of tests the rubric may change."""
    return declared_tests(COURSE.layout.test_files(assignment, public_only))


def rubric_points(assignment: str, public_only: bool = False) -> tuple[float, int]:
    """(points, number of tests) of an assignment's rubric."""
    tests = rubric_tests(assignment, public_only)
    return sum(points for points, _ in tests.values()), len(tests)
