"""What grading decides: one result per test, one result per written question, one result
per submission.

Every writer (terminal tables, results.json, grades.csv, the store, exports, feedback
pages) reads these, and nothing else of a grading run. A submission's ``score``,
``raw_score`` and ``max_score`` are the automatic part (the rubric's tests); its written
questions, graded by people, are pending until their scores are imported, and ``total``
and ``total_max`` add them in.
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
class WrittenResult:
    """One written question of a submission (nbgrader's manually graded answer cell)."""

    name: str  # the answer cell's grade_id
    notebook: str
    max_score: float
    answer: str  # SHA-256 of the student's answer text ("" when the cell is missing)
    score: float | None = None  # None while it awaits manual grading
    comment: str = ""  # the grader's comment, imported with the score

    @property
    def pending(self) -> bool:
        return self.score is None


@dataclass
class ManualGrade:
    """A score people gave one written answer: it counts only for the question it was given
    to (same points) and the answer it was given for (same hash)."""

    score: float
    max_score: float
    answer: str
    comment: str = ""


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
    written: list[WrittenResult] = field(default_factory=list)  # questions graded by people

    def __post_init__(self):
        if self.raw_score is None:
            self.raw_score = self.score

    @property
    def manual_score(self) -> float:
        """Points people gave the written answers graded so far (before any late penalty)."""
        return round(sum(w.score for w in self.written if w.score is not None), 6)

    @property
    def pending_points(self) -> float:
        """Points of the written questions that await manual grading."""
        return sum(w.max_score for w in self.written if w.pending)

    @property
    def total(self) -> float:
        """Automatic and manual points, after the late penalty (which applies to both)."""
        return round((self.raw_score + self.manual_score) * (1 - self.penalty_percent / 100), 6)

    @property
    def total_max(self) -> float:
        """The tests' points and the written questions' points."""
        return self.max_score + sum(w.max_score for w in self.written)

    def with_manual(self, grades: dict[tuple[str, str], ManualGrade]) -> "SubmissionResult":
        """This result with the manual scores of ``grades`` ((notebook, question) -> grade):
        a written question takes the grade given to its own answer at its own points, and is
        pending otherwise."""
        written = []
        for question in self.written:
            grade = grades.get((question.notebook, question.name))
            if grade and grade.answer == question.answer and grade.max_score == question.max_score:
                written.append(replace(question, score=grade.score, comment=grade.comment))
            else:
                written.append(replace(question, score=None, comment=""))
        return replace(self, written=written)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        return cls(**{**data, "tests": [TestResult(**t) for t in data["tests"]],
                      "written": [WrittenResult(**w) for w in data.get("written", [])]})
