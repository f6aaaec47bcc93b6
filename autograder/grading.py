"""Grade submissions: extract the answers, load them in a worker, run the rubric with pytest.

The trusted process runs the rubric and decides every score; the submission runs only in
the worker behind the ``student`` proxy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.config import Course
from autograder.extract import build_program, extra_files, instructor_cells
from autograder.remote import Limits, Submission
from autograder.rubric import GradingPlugin, RubricError, TestResult

NOTEBOOK_SUFFIXES = (".ipynb", ".py")
RUBRIC_INI = Path(__file__).with_name("rubric.ini")


@dataclass
class Rubric:
    """Everything needed to grade one assignment, all of it trusted."""

    assignment: str
    test_files: list[Path]
    instructor: dict[str, list[dict]]  # notebook name -> setup and answer cells
    thresholds: dict[str, float] = field(default_factory=dict)
    limits: Limits = Limits()
    files: list[str] = field(default_factory=list)  # extra files each submission brings

    @classmethod
    def for_assignment(cls, course: Course, assignment_id: str, public_only: bool = False) -> "Rubric":
        assignment = course.assignment(assignment_id)
        folder = course.assignment_dir(assignment_id)
        names = ["test_public.py"] + ([] if public_only else ["test_hidden.py"])
        instructor = {}
        for notebook in assignment.notebooks:
            path = course.root / "release" / assignment_id / f"{notebook}.ipynb"
            if not path.is_file():
                raise RubricError(f"{path} does not exist: run `course build {assignment_id}` first")
            instructor[notebook] = instructor_cells(path)
        configured = course.limits_for(assignment)
        limits = Limits(time_per_test=configured.time_per_test,
                        memory_bytes=configured.memory_mb << 20, cpu_seconds=configured.cpu_seconds)
        return cls(assignment_id, [folder / n for n in names if (folder / n).is_file()], instructor,
                   dict(assignment.thresholds), limits, list(assignment.files))

    @property
    def notebooks(self) -> list[str]:
        return list(self.instructor)

    def fingerprint(self) -> str:
        """Changes whenever anything that decides a score changes: tests, reference code,
        notebooks, thresholds, limits."""
        from autograder.store import hash_files

        reference = Path(__file__).resolve().parents[1] / "reference"
        code = hash_files(list(self.test_files) + sorted(reference.rglob("*.py")))
        settings = json.dumps([self.instructor, self.thresholds, dataclasses.asdict(self.limits),
                               self.files], sort_keys=True, default=str)
        return hashlib.sha256((code + settings).encode()).hexdigest()


@dataclass
class SubmissionResult:
    assignment: str
    student: str
    score: float
    max_score: float
    tests: list[TestResult]
    problems: dict[str, str]
    isolation: str
    duration: float
    device: str = "cpu"
    # score is after any late penalty; raw_score is the rubric's sum (None: never penalized)
    raw_score: float | None = None
    submitted_at: str | None = None  # ISO-8601, from the manifest or the files' mtime
    days_late: int = 0
    penalty_percent: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # notebook -> the graded file

    def gradescope(self) -> dict:
        """Gradescope's results.json, with the course's own details under extra_data."""
        output = "\n".join(f"{cell}: {message}" for cell, message in self.problems.items())
        if self.penalty_percent:
            raw = self.score if self.raw_score is None else self.raw_score
            output = (f"Submitted {self.days_late} day(s) late: {self.penalty_percent:g}% off "
                      f"{raw:g} points.\n" + output).strip()
        return {
            "score": self.score,
            "output": output,
            "execution_time": self.duration,
            "tests": [{"name": t.description, "number": t.name, "score": t.score,
                       "max_score": t.max_score, "status": t.status, "output": t.output,
                       "visibility": t.visibility} for t in self.tests],
            "extra_data": {"assignment": self.assignment, "student": self.student,
                           "max_score": self.max_score, "isolation": self.isolation,
                           "device": self.device,
                           "raw_score": self.score if self.raw_score is None else self.raw_score,
                           "submitted_at": self.submitted_at, "days_late": self.days_late,
                           "penalty_percent": self.penalty_percent,
                           "problems": self.problems,
                           "durations": {t.name: t.duration for t in self.tests}},
        }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        return cls(**{**data, "tests": [TestResult(**t) for t in data["tests"]]})


def grade_submission(rubric: Rubric, student: str, files: dict[str, Path | None],
                     isolation: sandbox.Isolation | None = None) -> SubmissionResult:
    """Grade one student's files (notebook name -> path) against ``rubric``."""
    started = time.monotonic()
    isolation = isolation or sandbox.detect_isolation()
    program = build_program(rubric.instructor, files)
    program.files, missing = extra_files(rubric.files, files)
    program.problems.update(missing)
    submission = Submission(program, rubric.limits, isolation)
    plugin = GradingPlugin(submission, rubric.thresholds, rubric.limits.time_per_test,
                           rubric.limits.device)
    try:
        _forget_modules(rubric.test_files)
        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main(pytest_args(rubric), plugins=[plugin])
    finally:
        _forget_modules(rubric.test_files)
        submission._close()
    if plugin.errors:
        raise RubricError(f"the rubric for {rubric.assignment} is broken: " + "; ".join(plugin.errors))
    if not plugin.results:
        raise RubricError(f"the rubric for {rubric.assignment} ran no tests (pytest exit code {code})")
    tests = list(plugin.results.values())
    problems = dict(submission._load_errors)
    if program.fatal:
        problems["submission"] = program.fatal
    return SubmissionResult(
        assignment=rubric.assignment, student=student,
        score=round(sum(t.score for t in tests), 6), max_score=sum(t.max_score for t in tests),
        tests=tests, problems=problems, isolation=isolation.tier,
        duration=round(time.monotonic() - started, 3), device=rubric.limits.device)


def pytest_args(rubric: Rubric) -> list[str]:
    """How pytest runs a rubric inside the grader: quiet, no cache, no plugins it does not
    need (the unraisable-exception plugin's repeated ``gc.collect()`` alone cost 0.25 s a
    submission once torch is imported)."""
    return [str(f) for f in rubric.test_files] + [
        "-c", str(RUBRIC_INI), "--rootdir", str(rubric.test_files[0].parent),
        "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:xdist",
        "-p", "no:unraisableexception", "--import-mode=importlib"]


def choose_device(requested: str) -> tuple[str, str | None]:
    """(device to grade on, a warning or None) for "cpu", "cuda" or "auto"."""
    if requested == "cpu":
        return "cpu", None
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if cuda:
        return "cuda", None
    if requested == "cuda":
        return "cpu", "CUDA was requested but no GPU is available here: grading on the CPU"
    return "cpu", None


def _forget_modules(files: list[Path]) -> None:
    """Drop imported rubric modules, so that the next rubric's test_public.py is its own."""
    paths = {str(Path(f).resolve()) for f in files}
    basenames = {Path(f).name for f in files}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and os.path.basename(file) in basenames and str(Path(file).resolve()) in paths:
            del sys.modules[name]


def locate_submissions(notebooks: list[str], paths: list[Path]) -> dict[str, dict[str, Path | None]]:
    """Student name -> {notebook name -> file} from files and folders given on the command line.

    A file is one student (named after the file, or after its folder when the file carries
    the notebook's own name). A folder holding the notebooks is one student; any other
    folder holds one student per entry.
    """
    students: dict[str, dict[str, Path | None]] = {}

    def add(name: str, files: dict[str, Path | None]) -> None:
        if name in students:
            raise ValueError(f"two submissions are both named '{name}'")
        students[name] = files

    for path in map(Path, paths):
        if path.is_dir() and not _notebooks_in(path, notebooks):
            children = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
            for child in children:
                if child.is_dir() or child.suffix in NOTEBOOK_SUFFIXES:
                    add(*_one_student(child, notebooks))
        else:
            add(*_one_student(path, notebooks))
    return students


def _notebooks_in(folder: Path, notebooks: list[str]) -> dict[str, Path]:
    found = {}
    for name in notebooks:
        for suffix in NOTEBOOK_SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.exists() or candidate.is_symlink():
                found.setdefault(name, candidate)
    return found


def _one_student(path: Path, notebooks: list[str]) -> tuple[str, dict[str, Path | None]]:
    if path.is_dir():
        found = _notebooks_in(path, notebooks)
        return path.name, {n: found.get(n) for n in notebooks}
    name = path.parent.name if path.stem in notebooks else path.stem
    if len(notebooks) == 1:
        return name, {notebooks[0]: path}
    return name, {n: (path if path.stem == n else None) for n in notebooks}

