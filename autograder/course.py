"""course.yml, the one file an instructor edits per term (validated on load), and the layout of a
course's folders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError,
                      model_validator)

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MIB = 1 << 20


class Limits(Strict):
    """What a submission's worker may use; course.yml sets them, an assignment may override any.

    Sizes are in MiB (as course.yml states them); the ``*_bytes`` properties convert.
    """

    time_per_test: float = Field(60.0, gt=0, description="wall-clock seconds per test")
    memory_mb: int = Field(2048, ge=256, description="address space of a worker (torch needs ~720 MB)")
    cpu_seconds: int = Field(1200, gt=0, description="CPU seconds for one submission's worker")
    file_mb: int = Field(64, gt=0, description="the largest file a worker may write")
    open_files: int = Field(256, gt=16, description="file descriptors a worker may hold")
    processes: int = Field(64, gt=0, description="processes and threads of the sandbox's user")
    tmp_mb: int = Field(256, gt=0, description="the worker's private temporary folder")
    tmp_files: int = Field(10000, gt=16, description="files and folders in that folder (each "
                                                     "costs kernel memory no other limit counts)")
    result_mb: int = Field(256, gt=0, description="the largest reply a worker may send")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB

    @property
    def file_bytes(self) -> int:
        return self.file_mb * MIB

    @property
    def tmp_bytes(self) -> int:
        return self.tmp_mb * MIB

    @property
    def result_bytes(self) -> int:
        return self.result_mb * MIB

    def for_worker(self, device: str = "cpu") -> dict:
        """The limits the worker applies to itself (``autograder.sandbox.worker``); on a GPU
        memory is limited by a cgroup instead of the address space."""
        return {"memory_bytes": None if device == "cuda" else self.memory_bytes,
                "cpu_seconds": self.cpu_seconds, "file_bytes": self.file_bytes,
                "open_files": self.open_files, "processes": self.processes,
                "tmp_bytes": self.tmp_bytes, "tmp_files": self.tmp_files}


class LatePolicy(Strict):
    """Points lost per started day after the deadline (and its grace period), capped."""

    percent_per_day: float = Field(0.0, ge=0, le=100, description="percent of the score lost per late day")
    max_percent: float = Field(100.0, ge=0, le=100, description="the most a late submission loses")
    grace_minutes: float = Field(0.0, ge=0, description="lateness forgiven before days are counted")


def _require_zone(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-10-15T23:59:00+00:00")
    return value


ZonedTime = Annotated[dt.datetime, AfterValidator(_require_zone)]


class Assignment(Strict):
    id: Identifier
    title: str
    notebooks: list[Identifier] = Field(min_length=1)
    files: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")]] = []
    due: ZonedTime
    late_policy: LatePolicy | None = None  # overrides the course's late_policy
    extensions: dict[str, ZonedTime] = {}  # student -> their own due date
    limits: Limits | None = None
    thresholds: dict[str, float] = {}
    reference_scores: dict[str, float] = {}

    @model_validator(mode="after")
    def _thresholds_below_reference(self):
        for key, threshold in self.thresholds.items():
            reached = self.reference_scores.get(key)
            if reached is not None and threshold > reached:
                raise ValueError(f"threshold {key}={threshold} is above what the reference "
                                 f"reaches ({reached})")
        return self


class CourseInfo(Strict):
    id: Identifier  # also the name of the student kit's package
    title: str
    version: str = Field("0.1.0", pattern=r"^\d+(\.\d+)*$", description="the student kit's version")


class Course(Strict):
    course: CourseInfo
    limits: Limits = Limits()
    late_policy: LatePolicy = LatePolicy()
    assignments: list[Assignment] = Field(min_length=1)
    datasets: dict[Identifier, str] = {}  # data set -> local path (e.g. mnist: /data/mnist), never downloaded
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [a.id for a in self.assignments]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"assignment ids must be unique, repeated: {', '.join(duplicates)}")
        return self

    def assignment(self, assignment_id: str) -> Assignment:
        for assignment in self.assignments:
            if assignment.id == assignment_id:
                return assignment
        known = ", ".join(a.id for a in self.assignments)
        raise ConfigError(f"course.yml has no assignment '{assignment_id}' (it has: {known})")

    def limits_for(self, assignment: Assignment) -> Limits:
        """The course's limits with what the assignment sets in place of them."""
        if assignment.limits is None:
            return self.limits
        return self.limits.model_copy(update=assignment.limits.model_dump(exclude_unset=True))

    def late_policy_for(self, assignment: Assignment) -> LatePolicy:
        return assignment.late_policy or self.late_policy

    @property
    def layout(self) -> "Layout":
        return Layout(self.root)

    def assignment_dir(self, assignment_id: str) -> Path:
        return self.layout.assignment_dir(assignment_id)


PUBLIC_TESTS, HIDDEN_TESTS, VARIANTS = "test_public.py", "test_hidden.py", "variants.py"
PUBLISHED_PACKAGE = "autograder.student.published"


def published_module(assignment_id: str) -> str:
    """The module name of an assignment's published solutions: ``03_backprop`` -> ``a03_backprop``."""
    return "a" + assignment_id.replace("-", "_")


@dataclass(frozen=True)
class Layout:
    """Where a course's files live; the one place that knows the folder and file names.

    ``assignments/<id>/`` holds a template ``<notebook>.py`` per notebook, ``test_public.py``,
    ``test_hidden.py`` and ``variants.py``; the build writes ``build/source/<id>/<notebook>.ipynb``
    (solutions filled in) and ``release/<id>/<notebook>.ipynb`` (stubs). ``release`` and
    ``source`` may point elsewhere, e.g. to a temporary build.
    """

    root: Path
    release: Path | None = None
    source: Path | None = None

    def __post_init__(self):
        object.__setattr__(self, "release", Path(self.release or self.root / "release"))
        object.__setattr__(self, "source", Path(self.source or self.root / "build" / "source"))

    @property
    def solutions(self) -> Path:
        return self.root / "build" / "solutions"

    def assignment_dir(self, assignment_id: str) -> Path:
        return self.root / "assignments" / assignment_id

    def template(self, assignment_id: str, notebook: str) -> Path:
        return self.assignment_dir(assignment_id) / f"{notebook}.py"

    def release_dir(self, assignment_id: str) -> Path:
        return self.release / assignment_id

    def source_dir(self, assignment_id: str) -> Path:
        return self.source / assignment_id

    def release_notebooks(self, assignment: Assignment) -> dict[str, Path]:
        """Notebook name -> the student's stubbed notebook."""
        return {n: self.release_dir(assignment.id) / f"{n}.ipynb" for n in assignment.notebooks}

    def source_notebooks(self, assignment: Assignment) -> dict[str, Path]:
        """Notebook name -> the instructor's notebook, solutions filled in."""
        return {n: self.source_dir(assignment.id) / f"{n}.ipynb" for n in assignment.notebooks}

    @property
    def published_record(self) -> Path:
        """Which assignments' solutions are published (written by ``course publish``)."""
        return self.root / "published.yml"

    @property
    def published_dir(self) -> Path:
        """The student-safe package of published solutions, ``autograder.student.published``."""
        return self.root / "autograder" / "student" / "published"

    def published_file(self, assignment_id: str) -> Path:
        return self.published_dir / f"{published_module(assignment_id)}.py"

    def test_files(self, assignment_id: str, public_only: bool = False) -> list[Path]:
        """The rubric's test files that exist, public first."""
        names = [PUBLIC_TESTS] + ([] if public_only else [HIDDEN_TESTS])
        folder = self.assignment_dir(assignment_id)
        return [folder / n for n in names if (folder / n).is_file()]


class ConfigError(Exception):
    """course.yml is missing or invalid; the message names the key and what was expected."""


def load_course(path: Path | str = "course.yml") -> Course:
    path = Path(path)
    if path.is_dir():
        path = path / "course.yml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the course's root, or pass --course)") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with keys course, limits, assignments")
    try:
        return Course.model_validate({**data, "root": path.parent.resolve()})
    except ValidationError as error:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e, data) for e in error.errors())) from None


def _describe(error: dict, data: dict) -> str:
    location, node = [], data
    for part in error["loc"]:
        if isinstance(part, int):
            name = node[part].get("id") if isinstance(node, list) and isinstance(node[part], dict) else None
            location[-1:] = [f"{location[-1] if location else ''}[{name or part}]"]
        else:
            location.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    message = error["msg"].replace("Value error, ", "")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{'.'.join(location) or 'top level'}: {message}"


def find_course_root(start: Path | str = ".") -> Path | None:
    """The nearest directory at or above ``start`` that holds a course.yml."""
    start = Path(start).resolve()
    for folder in [start, *start.parents]:
        if (folder / "course.yml").is_file():
            return folder
    return None
