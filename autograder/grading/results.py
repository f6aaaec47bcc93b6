"""What grading decides: one result per test, one result per submission.

Every writer (terminal tables, results.json, grades.csv, the store, exports, feedback
pages) reads these, and nothing else of a grading run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

HIDDEN_FAILED = "hidden test failed"


@dataclass
class TestResult:
    name: str
    description: str
    score: float
    max_score: float
    status: str  # "passed" or "failed"
    output: str  # the reason, for a failed test
    visibility: str  # "visible" or "after_published"
    duration: float

    def as_students_see_it(self) -> "TestResult":
        """This test as every page and export a student reads shows it: a hidden test by
        its name and points only (no docstring, no output)."""
        if self.visibility == "visible":
            return self
        return replace(self, description=self.name,
                       output="" if self.status == "passed" else HIDDEN_FAILED)


@dataclass
class SubmissionResult:
    assignment: str
    student: str
    score: float  # after any late penalty
    max_score: float
    tests: list[TestResult]
    problems: dict[str, str]
    isolation: str
    duration: float
    device: str = "cpu"
    raw_score: float | None = None  # the rubric's sum, before any late penalty (default: score)
    submitted_at: str | None = None  # ISO-8601, from the manifest or the files' mtime
    days_late: int = 0
    penalty_percent: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # notebook -> the graded file

    def __post_init__(self):
        if self.raw_score is None:
            self.raw_score = self.score

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        return cls(**{**data, "tests": [TestResult(**t) for t in data["tests"]]})
