"""A runaway costs one time limit, not one per test: a function one call of which ran past
more than half of a test's limit without finishing is not run again in that submission,
while a slow answer that finishes keeps every second of every limit."""

from __future__ import annotations

import time

import nbformat
import pytest

from autograder.building.variants import Edit, Variant
from autograder.course import Limits
from autograder.grading.batch import grade_class
from autograder.grading.program import Cell, Program
from autograder.grading.proxy import Controls
from autograder.sandbox import launch
from autograder.sandbox.client import StudentError

from conftest import rubric_for, rubric_tests, source_notebooks

A = "01_regression"
SPIN = "def spin(x):\n    while True:\n        pass\n"
SLOW = "import time\n\ndef slow(x, seconds):\n    end = time.monotonic() + seconds\n    while time.monotonic() < end:\n        pass\n    return x\n"


@pytest.fixture
def controls():
    controls = Controls(Program([Cell("code", SPIN + SLOW)]), Limits(time_per_test=2), launch.detect_isolation())
    controls.start()  # loading is the grader's time: keep it out of the timings below
    yield controls
    controls.close()


def timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except StudentError as error:
        return error, time.monotonic() - started


def test_a_function_that_ran_past_a_limit_is_not_run_again(controls):
    student = controls.student
    controls.start_test(2)
    error, seconds = timed(lambda: student.spin(0))
    assert "did not finish within the time limit (2 s" in str(error) and seconds >= 1.9
    for _ in range(2):  # later tests
        controls.start_test(2)
        error, seconds = timed(lambda: student.spin(1))
        assert "`spin` was not called: it ran past the 2 s limit in an earlier test" in str(error), error
        assert seconds < 0.5, "a known runaway fails at once"
    controls.start_test(2)
    assert student.slow(8, 1.5) == 8, "another function still has the whole limit"


def test_a_slow_call_that_finishes_keeps_the_whole_limit_every_time(controls):
    for value in range(3):
        controls.start_test(2)
        assert timed(lambda: controls.student.slow(value, 1.6))[0] == value


def test_a_call_cut_short_by_what_ran_before_it_in_the_test_is_no_runaway(controls):
    student = controls.student
    controls.start_test(2)
    assert student.slow(1, 1.5) == 1
    error, seconds = timed(lambda: student.spin(0))
    assert "did not finish within the time limit (2 s" in str(error) and seconds < 1.0
    controls.start_test(2)
    error, seconds = timed(lambda: student.spin(0))
    assert "did not finish within the time limit (2 s" in str(error) and seconds >= 1.9, \
        "it had only the test's last half second: it gets the next test's whole limit"


def test_a_time_limit_marker_sets_the_limit_a_runaway_is_named_with(controls):
    controls.start_test(1)
    error, _ = timed(lambda: controls.student.spin(0))
    assert "(1 s: an infinite loop" in str(error)
    controls.start_test(2)
    assert "ran past the 1 s limit" in str(timed(lambda: controls.student.spin(0))[0])


@pytest.fixture
def small_class(built, tmp_path):
    """Two honest students, one whose ``train_gd`` loops forever, one whose ``train_gd`` is
    correct but spends 1.5 s in a loop first (far beyond the reference's time)."""
    reference = nbformat.read(source_notebooks(built, A)["regression"], as_version=4)
    looping = Variant("looping", "", Edit("train_gd", "    history = []\n",
                                          "    history = []\n    while True:\n        pass\n"))
    slow = Variant("slow", "", Edit("train_gd", "    history = []\n",
                                    "    history = []\n    import time\n    end = time.monotonic() + 1.5\n"
                                    "    while time.monotonic() < end:\n        pass\n"))
    notebooks = {"honest_a": reference, "honest_b": reference,
                 "looping": looping.apply(reference), "slow_correct": slow.apply(reference)}
    for student, notebook in notebooks.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(notebook, tmp_path / "class" / student / "regression.ipynb")
    return tmp_path / "class"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_class_run_pays_a_runaway_once_and_passes_a_slow_correct_answer(workers, small_class, tmp_path):
    limit = 5.0
    rubric = rubric_for(A, time_per_test=limit)
    rubric.only = [name for name, (_, source) in rubric_tests(A).items() if "train_gd" in source]
    assert len(rubric.only) >= 3
    results = {r.student: r for r in grade_class(rubric, [small_class], tmp_path / "out", workers=workers)}
    assert all(results[s].score == results[s].max_score for s in ("honest_a", "honest_b"))
    assert results["slow_correct"].score == results["slow_correct"].max_score, results["slow_correct"].tests

    looping = results["looping"]
    assert looping.score == 0
    outputs = sorted(t.output for t in looping.tests)
    assert sum(f"({limit:g} s: an infinite loop" in o for o in outputs) == 1, outputs
    assert sum(f"ran past the {limit:g} s limit in an earlier test" in o for o in outputs) == len(rubric.only) - 1
    assert looping.duration < 1.5 * limit, "one limit for the runaway, not one per test"
