"""The pytest plugin that turns rubric tests into scores.

Rubric tests are plain pytest functions in ``assignments/<id>/test_public.py`` (copied to
students) and ``test_hidden.py`` (never released). They use:

* ``@pytest.mark.points(n)``: required on every test; passed tests earn ``n``;
* ``@pytest.mark.time_limit(seconds)``: optional, overrides the course's per-test limit (a
  function one call of which ran past most of a limit without finishing is not run again);
* the ``student`` fixture: the submission, e.g. ``student.mse_loss(y_pred, y)``;
* the ``grader`` fixture: the grader's controls over it (``grader.warnings``: what the
  latest call warned; ``grader.printed``: what the submission printed);
* the ``rng`` fixture: a NumPy generator seeded from the test's name;
* the ``secret`` fixture (hidden tests only): a NumPy generator seeded from the hidden test
  file's own bytes, which no worker and no student sees; it draws the held-out views of
  ``autograder.student.heldout`` and the data a generator makes for a threshold;
* the ``thresholds`` fixture: this assignment's ``thresholds`` from ``course.yml``;
* the ``device`` fixture: "cuda" when grading on a GPU (``course grade --device cuda``),
  else "cpu"; pass it to the student's training code.

A test in ``test_hidden.py`` (or marked ``@pytest.mark.hidden``) is hidden from students
until grades are published.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import pytest

from autograder.course import HIDDEN_TESTS
from autograder.grading.proxy import Controls, Submission
from autograder.grading.results import TestResult
from autograder.sandbox.client import StudentError

MARKERS = [
    "points(n): points a passing test earns (required)",
    "time_limit(seconds): wall-clock limit for the student's code in this test",
    "hidden: hide this test from students until grades are published",
]


class Thresholds(dict):
    def __missing__(self, key):
        raise KeyError(f"course.yml sets no threshold '{key}' for this assignment")


class RubricError(Exception):
    """The rubric itself is broken (not the student's fault)."""


class GradingPlugin:
    """Registered with ``pytest.main(plugins=[...])`` for one submission."""

    def __init__(self, controls: Controls, thresholds: dict, device: str = "cpu"):
        self.controls = controls
        self._device = device
        self._thresholds = Thresholds(thresholds)
        self.results: dict[str, TestResult] = {}
        self.errors: list[str] = []

    # -- fixtures

    @pytest.fixture(scope="session")
    def student(self) -> Submission:
        return self.controls.student

    @pytest.fixture(scope="session")
    def grader(self) -> Controls:
        return self.controls

    @pytest.fixture
    def rng(self, request) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(request.node.name.encode()))

    @pytest.fixture
    def secret(self, request) -> np.random.Generator:
        path = Path(str(request.node.fspath))
        if path.name != HIDDEN_TESTS:
            message = f"{request.node.nodeid} uses the secret fixture, but only hidden tests may"
            self.errors.append(message)
            raise RubricError(message)
        digest = hashlib.sha256(path.read_bytes() + request.node.name.encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    @pytest.fixture(scope="session")
    def thresholds(self) -> dict:
        return self._thresholds

    @pytest.fixture(scope="session")
    def device(self) -> str:
        return self._device

    # -- hooks

    def pytest_configure(self, config):
        for line in MARKERS:
            config.addinivalue_line("markers", line)

    def pytest_collection_modifyitems(self, items):
        names = set()
        for item in items:
            if item.get_closest_marker("points") is None:
                self.errors.append(f"{item.nodeid} has no @pytest.mark.points(n)")
            if item.name in names:
                self.errors.append(f"two rubric tests are named {item.name}")
            names.add(item.name)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(f"cannot collect {report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        """The test's deadline starts with its body: the grader's own fixtures (loading a data
        set, importing a library for the first time) never take the student's time."""
        marker = item.get_closest_marker("time_limit")
        self.controls.start_test(marker.args[0] if marker else self.controls.limits.time_per_test)

    def pytest_runtest_teardown(self, item):
        self.controls.end_test()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, report, call)

    def _record(self, item, report, call) -> None:
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker and marker.args else 0.0
        hidden = Path(str(item.fspath)).name == HIDDEN_TESTS or item.get_closest_marker("hidden")
        doc = (item.obj.__doc__ or "").strip().splitlines() if hasattr(item, "obj") else []
        passed = report.passed
        self.results[item.name] = TestResult(
            name=item.name,
            description=doc[0] if doc else item.name.replace("_", " "),
            score=points if passed else 0.0,
            max_score=points,
            status="passed" if passed else "failed",
            output="" if passed else failure_reason(call, report),
            visibility="after_published" if hidden else "visible",
            duration=round(report.duration, 3),
        )


def failure_reason(call, report) -> str:
    """A short reason a student can act on."""
    if report.skipped:
        return f"skipped: {report.longrepr[2] if isinstance(report.longrepr, tuple) else ''}"
    excinfo = call.excinfo
    if excinfo is None:
        return "failed"
    error = excinfo.value
    if isinstance(error, StudentError):
        return str(error)
    if isinstance(error, AssertionError):
        text = str(error).split("\nassert ")[0].strip()
        return text or "a check failed"
    return (f"the rubric could not use the result: {type(error).__name__}: {error}")[:1000]
