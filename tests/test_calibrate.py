"""Per-test deadlines calibrated from the reference: a runaway is stopped after its first
full limit, a slow but correct answer keeps every second of the configured limit."""

from __future__ import annotations

import time
from functools import partial

import nbformat
import pytest

from autograder.building.variants import Edit, Variant, write_reference_files
from autograder.course import Limits
from autograder.grading import calibrate
from autograder.grading.batch import grade_class
from autograder.grading.program import Cell, Program
from autograder.grading.proxy import Controls
from autograder.sandbox import launch
from autograder.sandbox.client import StudentError

from conftest import COURSE, rubric_for, rubric_tests, source_notebooks

A = "01_regression"
SPIN = "def spin(x):\n    while True:\n        pass\n"
SLOW = "import time\n\ndef slow(x, seconds):\n    end = time.monotonic() + seconds\n    while time.monotonic() < end:\n        pass\n    return x\n"


def test_a_first_deadline_has_a_floor_a_factor_and_grows_on_a_slower_machine():
    seconds = {"quick": 0.001, "slow": 0.2}
    assert calibrate.deadlines(seconds) == {"quick": calibrate.FLOOR_SECONDS, "slow": calibrate.FACTOR * 0.2}
    assert calibrate.deadlines(seconds, slower=2.0)["slow"] == 2 * calibrate.FACTOR * 0.2
    assert calibrate.deadlines(seconds, slower=0.5) == calibrate.deadlines(seconds), "never shorter"


def test_a_function_runs_to_the_full_limit_until_it_has_run_past_it_once():
    controls = Controls(Program([Cell("code", SPIN + SLOW)]), Limits(time_per_test=3), launch.detect_isolation())
    student = controls.student
    try:
        started = time.monotonic()
        controls.start_test(3, 0.5)
        assert student.slow(7, 1.2) == 7, "a slow call goes on past its first deadline"
        with pytest.raises(StudentError, match=r"did not finish within the time limit \(3 s"):
            student.spin(0)
        assert time.monotonic() - started >= 2.9, "the first runaway has the test's full limit"
        controls.start_test(3, 0.5)
        started = time.monotonic()
        with pytest.raises(StudentError, match=r"\(0.5 s here, since `spin` had run past the full 3 s in an earlier test"):
            student.spin(0)
        assert time.monotonic() - started < 2.0, "a known runaway stops at its first deadline"
        controls.start_test(3, 0.5)
        assert student.slow(8, 1.2) == 8, "another function still gets the full limit"
    finally:
        controls.close()


@pytest.fixture
def small_class(built, tmp_path):
    """Three honest students, one whose ``train_gd`` loops forever, one whose ``train_gd`` is
    correct but spends 2.5 s in a loop first (far beyond the reference's time)."""
    reference = nbformat.read(source_notebooks(built, A)["regression"], as_version=4)
    looping = Variant("looping", "", Edit("train_gd", "    history = []\n",
                                          "    history = []\n    while True:\n        pass\n"))
    slow = Variant("slow", "", Edit("train_gd", "    history = []\n",
                                    "    history = []\n    import time\n    end = time.monotonic() + 2.5\n"
                                    "    while time.monotonic() < end:\n        pass\n"))
    notebooks = {"honest_a": reference, "honest_b": reference, "honest_c": reference,
                 "looping": looping.apply(reference), "slow_correct": slow.apply(reference)}
    for student, notebook in notebooks.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(notebook, tmp_path / "class" / student / "regression.ipynb")
    return tmp_path / "class"


@pytest.mark.parametrize("workers", [1, 2])  # calibrated in this process, or by every grading process
def test_a_calibrated_class_run_stops_a_runaway_soon_and_passes_a_slow_correct_answer(workers, built, small_class,
                                                                                       tmp_path):
    ceiling = 10.0
    rubric = rubric_for(A, time_per_test=ceiling)
    rubric.only = [name for name, (_, source) in rubric_tests(A).items() if "train_gd" in source]
    assert len(rubric.only) >= 3
    reference = calibrate.Reference(source_notebooks(built, A), tmp_path / "calibration.json",
                                    partial(write_reference_files, COURSE.assignment_dir(A)))
    assert len(list(small_class.iterdir())) >= calibrate.CALIBRATE_FROM
    results = {r.student: r for r in grade_class(rubric, [small_class], tmp_path / "out", workers=workers,
                                                 reference=reference)}

    kept = calibrate.from_store(rubric, reference, calibrate.speed_probe())
    firsts = [kept.deadlines[name] for name in rubric.only]
    assert max(firsts) < 2.5, f"first deadlines {firsts} leave no room to show the slow answer passing"
    assert all(results[s].score == results[s].max_score for s in ("honest_a", "honest_b", "honest_c"))
    assert results["slow_correct"].score == results["slow_correct"].max_score, results["slow_correct"].tests

    looping = results["looping"]
    assert looping.score == 0
    outputs = sorted(t.output for t in looping.tests)
    assert sum(f"({ceiling:g} s: an infinite loop" in o for o in outputs) == 1, outputs
    assert sum(f"had run past the full {ceiling:g} s" in o for o in outputs) == len(rubric.only) - 1, outputs
    assert looping.duration < 2.5 * ceiling, "without calibration every test would wait the ceiling"


def test_a_stored_calibration_is_kept_per_machine_and_rubric(built, tmp_path):
    rubric = rubric_for(A)
    reference = calibrate.Reference(source_notebooks(built, A), tmp_path / "calibration.json",
                                    partial(write_reference_files, COURSE.assignment_dir(A)))
    assert calibrate.calibrated(rubric, reference, measure=False).deadlines == {}, "nothing stored, nothing measured"
    measured = calibrate.calibrated(rubric, reference)
    assert set(measured.deadlines) == set(rubric_tests(A)), "every test the reference passes"
    assert all(calibrate.FLOOR_SECONDS <= s for s in measured.deadlines.values())

    def kept(rubric):  # as measured, or longer if the machine runs slower now than then
        deadlines = calibrate.calibrated(rubric, reference, measure=False).deadlines
        return deadlines.keys() == measured.deadlines.keys() and all(
            deadlines[name] >= seconds for name, seconds in measured.deadlines.items())

    assert kept(rubric)
    assert kept(rubric_for(A, time_per_test=rubric.limits.time_per_test + 5)), "a time limit changes no test's time"
    other = rubric_for(A)
    other.thresholds = {**other.thresholds, "breast_cancer_accuracy": 0.5}
    assert calibrate.calibrated(other, reference, measure=False).deadlines == {}, "another rubric measures again"
