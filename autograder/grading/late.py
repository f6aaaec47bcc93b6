"""Lateness: when a submission was handed in, how many days late it is, and what that costs.

A submission's time comes from a manifest (a CSV with columns ``student,submitted_at``,
ISO-8601 times with a zone). File times are not evidence (``touch`` or an archive sets
them), so a student the manifest does not list has no submission time and no penalty,
unless the instructor opts in to the newest modification time of the submission's files
(``course grade --late-from-file-times``). A submission is late by
``ceil((submitted_at - due - grace) / 1 day)`` days (0 when not after the grace period), and
loses ``min(max_percent, percent_per_day * days_late)`` percent of its raw score. A student's
extension replaces the assignment's due date for that student. The late window closes once the
penalty reaches its cap (``window_end``): after it, handing in later costs nothing more.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import ConfigError, Course, LatePolicy

DAY = dt.timedelta(days=1)


def window_end(due: dt.datetime, policy: LatePolicy) -> dt.datetime:
    """When the late window after ``due`` closes: the grace period, plus, under a per-day
    penalty, the days until the penalty reaches its cap (the grace period alone without one)."""
    days = math.ceil(policy.max_percent / policy.percent_per_day) if policy.percent_per_day > 0 else 0
    return due + dt.timedelta(minutes=policy.grace_minutes) + days * DAY


@dataclass(frozen=True)
class Deadline:
    """An assignment's due date, its late policy, and the students' extensions."""

    due: dt.datetime
    policy: LatePolicy = LatePolicy()
    extensions: dict[str, dt.datetime] = field(default_factory=dict)

    @classmethod
    def for_assignment(cls, course: Course, assignment_id: str) -> "Deadline":
        assignment = course.assignment(assignment_id)
        return cls(assignment.due, course.late_policy_for(assignment), dict(assignment.extensions))

    def due_for(self, student: str) -> dt.datetime:
        return self.extensions.get(student, self.due)

    def window_closes(self) -> dt.datetime:
        """When every student's late window has closed: the end of the window after the
        latest due date, extensions included."""
        return window_end(max([self.due, *self.extensions.values()]), self.policy)

    def lateness(self, student: str, submitted_at: dt.datetime) -> tuple[int, float]:
        """(days late, percent of the score lost) for ``student`` handing in at ``submitted_at``."""
        late_by = submitted_at - self.due_for(student) - dt.timedelta(minutes=self.policy.grace_minutes)
        days = max(0, math.ceil(late_by / DAY))
        return days, min(self.policy.max_percent, self.policy.percent_per_day * days)


def read_manifest(path: Path) -> dict[str, dt.datetime]:
    """Student -> submission time from a CSV with columns ``student,submitted_at``."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the submission-time manifest: {error}") from None
    times = {}
    for line, row in enumerate(rows, start=2):
        student, stamp = (row.get("student") or "").strip(), (row.get("submitted_at") or "").strip()
        if not student or not stamp:
            raise ConfigError(f"{path}, line {line}: expected columns student,submitted_at")
        try:
            when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{path}, line {line}: submitted_at {stamp!r} is not an ISO-8601 "
                              "time (e.g. 2026-10-15T23:59:00+00:00)") from None
        if when.tzinfo is None:
            raise ConfigError(f"{path}, line {line}: submitted_at {stamp!r} needs a time zone")
        times[student] = when
    return times


def newest_mtime(paths) -> dt.datetime | None:
    """The newest modification time (UTC) of the existing files among ``paths``."""
    times = [Path(p).stat().st_mtime for p in paths if p is not None and Path(p).is_file()]
    return dt.datetime.fromtimestamp(max(times), dt.timezone.utc) if times else None


def apply_lateness(result, deadline: Deadline | None, submitted_at: dt.datetime | None):
    """``result`` with its submission time, days late, penalty and score after the penalty.

    The penalty always applies to the raw score, so applying it twice changes nothing.
    """
    raw = result.raw_score
    days, percent = (0, 0.0)
    if deadline is not None and submitted_at is not None:
        days, percent = deadline.lateness(result.student, submitted_at)
    return dataclasses.replace(
        result, raw_score=raw, score=round(raw * (1 - percent / 100), 6), days_late=days,
        penalty_percent=percent,
        submitted_at=submitted_at.isoformat() if submitted_at is not None else None)
