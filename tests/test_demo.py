"""`course demo`: the example submissions graded in parallel, the looping and memory-hungry
ones under short limits, and where to look next."""

from __future__ import annotations

import json

import pytest

from autograder import cli
from autograder.course import Course, Layout

from conftest import ROOT

A = "01_regression"


@pytest.mark.slow
def test_demo_grades_the_examples_and_says_where_to_look_next(tmp_path, monkeypatch, capsys):
    # build into a temporary folder, not into the course's own release/
    monkeypatch.setattr(Course, "layout", property(
        lambda self: Layout(self.root, release=tmp_path / "release", source=tmp_path / "source")))
    assert cli.main(["--course", str(ROOT), "demo", A, "-o", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    grades = tmp_path / "demo" / "grades"
    reference = json.loads((grades / A / "reference" / "results.json").read_text())
    automatic = [t for t in reference["tests"] if "status" in t]  # written questions await people
    assert reference["score"] == sum(t["max_score"] for t in automatic) > 0
    for name in cli.DEMO_HOSTILE:
        result = json.loads((grades / f"{A}-hostile" / name / "results.json").read_text())
        assert result["score"] < reference["score"], name
        assert (tmp_path / "demo" / "hostile" / A / name).is_dir()
        assert not (tmp_path / "demo" / "submissions" / A / name).exists()
    assert "broken_infinite_loop" in out and "untouched" in out
    assert "Where to look next" in out and f"course feedback -a {A}" in out and f"docs/assignments/{A}.md" in out
