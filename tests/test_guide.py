"""The instructor's guide pages in docs/assignments/: fresh, like release/, and complete."""

from __future__ import annotations

import json

import jupytext
import pytest

from autograder.building import guide
from autograder.building.guide_page import render, yaml_comments
from autograder.building.variants import load_variants

from conftest import ASSIGNMENTS, COURSE, ROOT

A = "01_regression"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_guide_is_fresh(assignment):
    """The page is rendered from its measurements, and they cover the rubric's tests with
    their points and visibility and every bug of variants.py. (Grading every bug of every
    assignment takes over an hour on two cores, so a change that keeps the tests and the
    bugs, such as a reworded message, needs no regrade; `course guide ID --regrade` does it.)"""
    measured = guide.load_measurements(COURSE, assignment)
    rerun = f"run `course guide {assignment}`"
    reason = guide.outdated(COURSE, assignment, measured)
    assert reason is None, f"the guide of {assignment} is outdated ({reason}): {rerun}"
    page = (ROOT / guide.GUIDES / f"{assignment}.md").read_text()
    assert page == render(COURSE, assignment, measured), f"docs/assignments/{assignment}.md is stale: {rerun}"


def test_guide_lists_every_test_threshold_and_mistake():
    measured = guide.load_measurements(COURSE, A)
    page = render(COURSE, A, measured)
    for name, test in measured["reference"]["tests"].items():
        assert f"| `{name}` |" in page
    for key, value in COURSE.assignment(A).thresholds.items():
        reached = COURSE.assignment(A).reference_scores[key]
        assert f"| `{key}` | {value:g} | {reached:g} (" in page
    for bug in load_variants(COURSE.assignment_dir(A))[0]:
        assert f"| `{bug.name}`: {bug.description} |" in page
    assert "| 1. Linear regression | `linear`, `losses` |" in page  # a goal, mapped to the lecture's topics


def test_guide_quotes_each_written_question_s_model_answer_and_marking_guide_whole():
    for assignment in ASSIGNMENTS:
        page = (ROOT / guide.GUIDES / f"{assignment}.md").read_text()
        for name in COURSE.assignment(assignment).notebooks:
            for cell in jupytext.read(COURSE.layout.template(assignment, name)).cells:
                if "written" in cell.metadata:
                    quoted = "\n".join(f"> {line}".rstrip() for line in cell.source.strip().splitlines())
                    assert f"\n\n{quoted}\n" in page, f"{assignment}: {cell.metadata['grade_id']}"
                    assert "\n> Marking guide:" in quoted


def test_guide_grades_again_only_when_the_tests_or_the_bugs_changed(tmp_path, monkeypatch):
    stored = guide.load_measurements(COURSE, A)
    monkeypatch.setattr(guide, "GUIDES", tmp_path)
    monkeypatch.setattr(guide, "MEASUREMENTS", tmp_path / "measurements")
    (tmp_path / "measurements").mkdir()
    (tmp_path / "measurements" / f"{A}.json").write_text(json.dumps(stored))
    graded = []
    monkeypatch.setattr(guide, "measure", lambda course, assignment: graded.append(assignment) or stored)
    [page] = guide.write_guides(COURSE, [A])
    assert not graded and page.read_text() == (ROOT / "docs" / "assignments" / f"{A}.md").read_text()
    (tmp_path / "measurements" / f"{A}.json").write_text(json.dumps({**stored, "bugs": {}}))
    guide.write_guides(COURSE, [A])
    assert graded == [A]


def test_course_yml_comments_describe_thresholds_and_reference_scores():
    text = """\
assignments:
  - id: other
    thresholds:
      accuracy: 0.5   # not this one
  - id: mine
    thresholds:   # on a secret view,
                  # of the digits
      accuracy: 0.9   # the network's test accuracy
    reference_scores:
      accuracy: 0.95  # in 1 s of CPU
    due: 2026-01-01T00:00:00+00:00
"""
    assert yaml_comments(text, "mine") == {
        "thresholds": {"": "on a secret view, of the digits", "accuracy": "the network's test accuracy"},
        "reference_scores": {"": "", "accuracy": "in 1 s of CPU"}}
