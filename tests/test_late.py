"""Deadlines: late days after the grace period, a capped penalty, extensions, manifests."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest
import yaml

from autograder import cli
from autograder.grading.output import gradescope_results
from autograder.grading import batch
from autograder.grading.batch import grade_class
from autograder.course import ConfigError, LatePolicy, load_course
from autograder.grading.results import SubmissionResult
from autograder.grading.late import Deadline, apply_lateness, newest_mtime, read_manifest, window_end
from autograder.grading.store import ResultStore

from conftest import ROOT, rubric_for, source_notebooks
from test_cli import POINTS

A = "01_regression"
DUE = dt.datetime(2026, 10, 16, 23, 59, tzinfo=dt.timezone.utc)
POLICY = LatePolicy(percent_per_day=10, max_percent=30, grace_minutes=15)


def after(**delta) -> dt.datetime:
    return DUE + dt.timedelta(**delta)


@pytest.mark.parametrize(("submitted", "days", "percent"), [
    (after(hours=-1), 0, 0),
    (after(minutes=15), 0, 0),             # inside the grace period
    (after(minutes=16), 1, 10),
    (after(days=1, minutes=15), 1, 10),    # grace is subtracted before counting days
    (after(days=1, minutes=16), 2, 20),
    (after(days=9), 9, 30),                # capped at max_percent
])
def test_days_late_are_started_days_after_the_grace_period(submitted, days, percent):
    assert Deadline(DUE, POLICY).lateness("alice", submitted) == (days, percent)


def test_an_extension_replaces_the_due_date_for_that_student_only():
    deadline = Deadline(DUE, POLICY, {"bob": after(days=3)})
    assert deadline.lateness("bob", after(days=2)) == (0, 0)
    assert deadline.lateness("alice", after(days=2)) == (2, 20)


def test_without_a_late_policy_lateness_is_recorded_but_costs_nothing():
    assert Deadline(DUE).lateness("alice", after(days=4)) == (4, 0)


@pytest.mark.parametrize(("policy", "closes"), [
    (POLICY, after(days=3, minutes=15)),                             # 10 % a day: 30 % on day 3
    (LatePolicy(percent_per_day=7, max_percent=30), after(days=5)),  # 35 % capped at 30 on day 5
    (LatePolicy(grace_minutes=30), after(minutes=30)),               # no per-day penalty: grace alone
    (LatePolicy(), DUE),
])
def test_the_late_window_ends_when_the_penalty_reaches_its_cap(policy, closes):
    assert window_end(DUE, policy) == closes
    if policy.percent_per_day:
        deadline = Deadline(DUE, policy)
        assert deadline.lateness("alice", closes)[1] == policy.max_percent
        assert deadline.lateness("alice", closes - dt.timedelta(days=1))[1] < policy.max_percent


def test_the_window_closes_for_everyone_after_the_latest_extension():
    deadline = Deadline(DUE, POLICY, {"bob": after(days=2), "carol": after(days=-1)})
    assert deadline.window_closes() == window_end(after(days=2), POLICY)
    assert Deadline(DUE, POLICY).window_closes() == window_end(DUE, POLICY)


def result(score=30.0, **fields) -> SubmissionResult:
    return SubmissionResult(A, "alice", score, 35.0, [], {}, "limits", 1.0, **fields)


def test_the_penalty_applies_to_the_raw_score_and_applying_it_twice_changes_nothing():
    once = apply_lateness(result(), Deadline(DUE, POLICY), after(days=1, hours=1))
    assert (once.raw_score, once.days_late, once.penalty_percent, once.score) == (30, 2, 20, 24)
    assert once.submitted_at == "2026-10-18T00:59:00+00:00"
    assert apply_lateness(once, Deadline(DUE, POLICY), after(days=1, hours=1)) == once
    forgiven = apply_lateness(once, Deadline(DUE, POLICY, {"alice": after(days=5)}), after(days=1))
    assert (forgiven.score, forgiven.penalty_percent) == (30, 0)


def test_results_stored_before_lateness_existed_still_load():
    old = {k: v for k, v in result().to_dict().items()
           if k not in ("raw_score", "submitted_at", "days_late", "penalty_percent", "files")}
    loaded = SubmissionResult.from_dict(old)
    assert (loaded.score, loaded.raw_score, loaded.days_late, loaded.files) == (30, 30, 0, {})
    assert gradescope_results(loaded)["extra_data"]["raw_score"] == 30


def test_the_manifest_reads_zoned_iso_times(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("student,submitted_at\nalice,2026-10-17T02:00:00+02:00\nbob,2026-10-16T22:00:00Z\n")
    assert read_manifest(path) == {"alice": after(minutes=1), "bob": after(hours=-1, minutes=-59)}


@pytest.mark.parametrize(("text", "message"), [
    ("student,submitted_at\nalice,2026-10-17T01:00:00\n", "line 2: submitted_at '2026-10-17T01:00:00' needs a time zone"),
    ("student,submitted_at\nalice,yesterday\n", "line 2: submitted_at 'yesterday' is not an ISO-8601 time"),
    ("name,time\nalice,2026-10-17T01:00:00Z\n", "line 2: expected columns student,submitted_at"),
])
def test_a_bad_manifest_names_the_line_and_the_problem(tmp_path, text, message):
    path = tmp_path / "manifest.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match="manifest.csv, " + message.replace("(", r"\(")):
        read_manifest(path)


def test_without_a_manifest_the_newest_file_counts(tmp_path):
    old, new = tmp_path / "a.ipynb", tmp_path / "b.pt"
    old.write_text("1"), new.write_text("2")
    os.utime(old, (0, after(days=-3).timestamp()))
    os.utime(new, (0, after(days=2).timestamp()))
    assert newest_mtime([old, new, tmp_path / "missing", None]) == after(days=2)


def course_file(tmp_path, change) -> str:
    data = yaml.safe_load((ROOT / "course.yml").read_text())
    data["assignments"] = data["assignments"][:1]
    change(data)
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_course_policy_applies_unless_an_assignment_overrides_it(tmp_path):
    def change(data):
        data["late_policy"] = {"percent_per_day": 10, "max_percent": 50}
        data["assignments"][0]["extensions"] = {"alice": "2026-10-20T12:00:00+00:00"}
    course = load_course(course_file(tmp_path, change))
    deadline = Deadline.for_assignment(course, A)
    assert (deadline.policy.percent_per_day, deadline.policy.grace_minutes) == (10, 0)
    assert deadline.due_for("alice") == dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    course = load_course(course_file(tmp_path, lambda d: (
        change(d), d["assignments"][0].update(late_policy={"percent_per_day": 5}))))
    assert Deadline.for_assignment(course, A).policy.percent_per_day == 5


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(late_policy={"percent_per_day": -1}),
     "late_policy.percent_per_day: Input should be greater than or equal to 0"),
    (lambda d: d.update(late_policy={"max_percent": 150}),
     "late_policy.max_percent: Input should be less than or equal to 100"),
    (lambda d: d.update(late_policy={"per_day": 10}), "late_policy.per_day: unknown key"),
    (lambda d: d["assignments"][0].update(late_policy={"grace_minutes": -5}),
     "assignments[01_regression].late_policy.grace_minutes"),
    (lambda d: d["assignments"][0].update(extensions={"alice": "2026-10-20T12:00:00"}),
     "assignments[01_regression].extensions.alice: needs a time zone"),
])
def test_an_invalid_late_setting_names_its_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as error:
        load_course(course_file(tmp_path, change))
    assert message in str(error.value)


@pytest.fixture(scope="module")
def late_class(built, tmp_path_factory):
    """alice (manifest: 2 days late), bob (file time: on time), both with the reference."""
    folder = tmp_path_factory.mktemp("late")
    reference = source_notebooks(built, A)["regression"].read_bytes()
    for student in ("alice", "bob"):
        (folder / "class" / student).mkdir(parents=True)
        (folder / "class" / student / "regression.ipynb").write_bytes(reference)
    os.utime(folder / "class" / "bob" / "regression.ipynb", (0, after(hours=-2).timestamp()))
    deadline = Deadline(DUE, POLICY)
    results = grade_class(rubric_for(A), [folder / "class"], folder / "out", deadline=deadline,
                          submitted_at={"alice": after(days=1, hours=3)}, file_times=True)
    return folder, {r.student: r for r in results}


def test_file_times_are_not_evidence_unless_the_instructor_opts_in(late_class, tmp_path, capsys):
    """A student can set their files' times (touch, an archive): a submission no manifest
    lists has no time and no penalty, the run says so, and file times count only on request."""
    folder, _ = late_class
    shutil.copytree(folder / "class", tmp_path / "class")
    os.utime(tmp_path / "class" / "bob" / "regression.ipynb", (0, after(days=20).timestamp()))
    manifest = {"alice": after(days=1, hours=3)}
    plain = {r.student: r for r in grade_class(rubric_for(A), [tmp_path / "class"], tmp_path / "plain",
                                               deadline=Deadline(DUE, POLICY), submitted_at=manifest)}
    assert (plain["bob"].submitted_at, plain["bob"].penalty_percent) == (None, 0)
    assert plain["bob"].score == plain["bob"].max_score
    assert plain["alice"].penalty_percent == 20
    cli._warn_lateness(list(plain.values()), manifest, penalized=True, file_times=False)
    assert "no late penalty was applied to bob" in capsys.readouterr().err
    opted = {r.student: r for r in grade_class(rubric_for(A), [tmp_path / "class"], tmp_path / "opted",
                                               deadline=Deadline(DUE, POLICY), submitted_at=manifest,
                                               file_times=True)}
    assert (opted["bob"].days_late, opted["bob"].penalty_percent) == (20, 30)


def test_each_result_records_its_time_days_late_penalty_and_raw_score(late_class):
    folder, results = late_class
    alice, bob = results["alice"], results["bob"]
    assert (alice.raw_score, alice.days_late, alice.penalty_percent, alice.score) == pytest.approx((POINTS, 2, 20, 0.8 * POINTS))
    assert alice.submitted_at == after(days=1, hours=3).isoformat()
    assert (bob.raw_score, bob.days_late, bob.penalty_percent, bob.score) == (POINTS, 0, 0, POINTS)
    assert bob.submitted_at == after(hours=-2).isoformat()
    assert alice.files == {"regression": str((folder / "class" / "alice" / "regression.ipynb").resolve())}
    stored = ResultStore(folder / "out" / "results.sqlite").results(A)
    assert SubmissionResult.from_dict(stored["alice"]) == alice
    assert "2 day(s) late" in gradescope_results(alice)["output"]


def test_resuming_with_a_new_policy_reprices_without_regrading(late_class, monkeypatch):
    folder, _ = late_class
    monkeypatch.setattr(batch, "grade_safely", lambda *a: pytest.fail("regraded"))
    kinder = Deadline(DUE, LatePolicy(percent_per_day=5), {"bob": after(days=1)})
    results = {r.student: r for r in grade_class(
        rubric_for(A), [folder / "class"], folder / "out", resume=True, deadline=kinder,
        submitted_at={"alice": after(days=1, hours=3)}, file_times=True)}
    assert (results["alice"].score, results["alice"].penalty_percent) == pytest.approx((0.9 * POINTS, 10))
    stored = ResultStore(folder / "out" / "results.sqlite").results(A)
    assert stored["alice"]["score"] == pytest.approx(0.9 * POINTS)
