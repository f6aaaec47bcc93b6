"""course.yml is validated on load; every message names the key and what was expected."""

from __future__ import annotations

import pytest
import yaml

from autograder.course import ConfigError, load_course

from conftest import ROOT

VALID = yaml.safe_load((ROOT / "course.yml").read_text())


def write(tmp_path, data) -> str:
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_course_file_loads():
    course = load_course(ROOT)
    assert course.assignments[0].id == "01_regression"
    assert course.assignment("01_regression").thresholds["breast_cancer_accuracy"] > 0.5


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("course"), "course: Field required"),
    (lambda d: d["course"].update(title=3), "course.title: Input should be a valid string"),
    (lambda d: d.update(extra=1), "extra: unknown key"),
    (lambda d: d["limits"].update(time_per_test=-1), "limits.time_per_test: Input should be greater than 0"),
    (lambda d: d["assignments"][0].update(due="soon"), "assignments[01_regression].due"),
    (lambda d: d["assignments"][0].update(due="2026-10-16T23:59:00"), "needs a time zone"),
    (lambda d: d["assignments"][0].update(notebooks=[]), "assignments[01_regression].notebooks"),
    (lambda d: d["assignments"][0]["thresholds"].update(breast_cancer_accuracy=0.999), "above what the reference reaches"),
    (lambda d: d["assignments"].append(dict(d["assignments"][0])), "repeated: 01_regression"),
])
def test_invalid_course_file_names_the_problem(tmp_path, change, message):
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["assignments"] = data["assignments"][:1]
    change(data)
    with pytest.raises(ConfigError, match=None) as error:
        load_course(write(tmp_path, data))
    assert message in str(error.value)


def test_missing_or_unparsable_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_course(tmp_path / "course.yml")
    (tmp_path / "course.yml").write_text("a: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_course(tmp_path)


def test_unknown_assignment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="it has: 01_regression"):
        load_course(ROOT).assignment("99_nothing")


def test_an_assignment_overrides_only_the_limits_it_sets(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["limits"].update(memory_mb=3000, cpu_seconds=600)
    data["assignments"][0]["limits"] = {"time_per_test": 5}
    (tmp_path / "course.yml").write_text(yaml.safe_dump(data))
    course = load_course(tmp_path)
    limits = course.limits_for(course.assignment("01_regression"))
    assert (limits.time_per_test, limits.memory_mb, limits.cpu_seconds) == (5, 3000, 600)
    assert course.limits_for(course.assignment("02_activations_losses")).time_per_test == 60
