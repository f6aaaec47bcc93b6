"""Grade submissions: extract the answers, load them in a worker, run the rubric with pytest.

The trusted process runs the rubric and decides every score; the submission runs only in
the worker behind the ``student`` proxy.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.course import Course, Limits
from autograder.grading.extract import build_program, extra_files, instructor_cells, written_questions
from autograder.grading.proxy import Controls
from autograder.grading.results import SubmissionResult
from autograder.grading.rubric import GradingPlugin, RubricError
from autograder.sandbox import launch
from autograder.sandbox.client import SandboxError
from autograder.sandbox.pool import WorkerPool

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
    device: str = "cpu"  # where the submission's training runs ("cuda" on a GPU)
    reference: Path | None = None  # the reference package the hidden tests compare against
    only: list[str] = field(default_factory=list)  # run only these tests (all when empty)
    until_first_failure: bool = False  # stop at the first failed test (enough to show a loss)
    written: dict[str, dict[str, float]] = field(default_factory=dict)  # notebook -> question -> points

    @classmethod
    def for_assignment(cls, course: Course, assignment_id: str, public_only: bool = False) -> "Rubric":
        assignment = course.assignment(assignment_id)
        instructor, written = {}, {}
        for notebook, path in course.layout.release_notebooks(assignment).items():
            if not path.is_file():
                raise RubricError(f"{path} does not exist: run `course build {assignment_id}` first")
            instructor[notebook] = instructor_cells(path)
            written[notebook] = written_questions(path)
        return cls(assignment_id, course.layout.test_files(assignment_id, public_only), instructor,
                   dict(assignment.thresholds), course.limits_for(assignment), list(assignment.files),
                   reference=course.root / "reference", written=written)

    @property
    def notebooks(self) -> list[str]:
        return list(self.instructor)

    def fingerprint(self) -> str:
        """Changes whenever anything that decides a score changes: tests, reference code,
        notebooks, thresholds, limits."""
        from autograder.grading.store import hash_files

        code = hash_files(list(self.test_files) + self.reference_modules())
        settings = json.dumps([self.instructor, self.thresholds, self.limits.model_dump(),
                               self.files, self.device], sort_keys=True, default=str)
        return hashlib.sha256((code + settings).encode()).hexdigest()

    def reference_modules(self) -> list[Path]:
        """The modules of the reference package that the rubric's tests import, directly or
        through each other (with the package's ``__init__`` files), found by parsing them:
        all of ``reference/`` that grading this assignment needs."""
        if self.reference is None:
            return []
        found: set[Path] = set()
        pending, seen = list(self.test_files), set()
        while pending:
            path = Path(pending.pop())
            if path in seen:
                continue
            seen.add(path)
            for module in _modules_imported(path, self.reference):
                found.add(module)
                pending.append(module)
        return sorted(found)


def _modules_imported(path: Path, package: Path) -> list[Path]:
    """The files of ``package`` (a folder) that the module at ``path`` imports."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    inside = path.is_relative_to(package.parent)
    here = list(path.relative_to(package.parent).with_suffix("").parts) if inside else []
    if here[-1:] == ["__init__"]:
        here[-1] = ""  # a package's __init__ imports relative to the package itself
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (here[:len(here) - node.level] if node.level else []) + (node.module or "").split(".")
            base = [part for part in base if part]
            names += [base] + [base + [alias.name] for alias in node.names]
    files = []
    for parts in names:
        if parts[:1] != [package.name]:
            continue
        for depth in range(1, len(parts) + 1):
            folder = package.parent.joinpath(*parts[:depth])
            module = folder.with_suffix(".py")
            files += [f for f in (folder / "__init__.py", module) if f.is_file()]
            if not folder.is_dir():
                break
    return files


def grade_submission(rubric: Rubric, student: str, files: dict[str, Path | None],
                     isolation: launch.Isolation | None = None,
                     pool: WorkerPool | None = None) -> SubmissionResult:
    """Grade one student's files (notebook name -> path) against ``rubric``, with workers
    from ``pool`` (default: this process's shared pool)."""
    started = time.monotonic()
    isolation = isolation or launch.detect_isolation()
    program = build_program(rubric.instructor, files)
    program.files, missing = extra_files(rubric.files, files)
    program.problems.update(missing)
    controls = Controls(program, rubric.limits, isolation, rubric.device, pool)
    plugin = GradingPlugin(controls, rubric.thresholds, rubric.device)
    try:
        _forget_modules(rubric.test_files)
        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main(pytest_args(rubric), plugins=[plugin])
    finally:
        _forget_modules(rubric.test_files)
        controls.close()
    if controls.sandbox_failure:  # the machine's fault: this submission is not graded
        raise SandboxError(controls.sandbox_failure)
    if plugin.errors:
        raise RubricError(f"the rubric for {rubric.assignment} is broken: " + "; ".join(plugin.errors))
    if not plugin.results:
        raise RubricError(f"the rubric for {rubric.assignment} ran no tests (pytest exit code {code})")
    tests = list(plugin.results.values())
    problems = dict(controls.load_errors)
    if program.fatal:
        problems["submission"] = program.fatal
    return SubmissionResult(
        assignment=rubric.assignment, student=student,
        score=round(sum(t.score for t in tests), 6), max_score=sum(t.max_score for t in tests),
        tests=tests, problems=problems, isolation=isolation.tier,
        duration=round(time.monotonic() - started, 3), device=rubric.device)


def pytest_args(rubric: Rubric) -> list[str]:
    """How pytest runs a rubric inside the grader: quiet, no cache, no installed plugins
    (anyio's, xdist's: ~0.05 s of imports) and none of its own it does not need (the unraisable-exception plugin's repeated ``gc.collect()`` alone cost 0.25 s a
    submission once torch is imported; capturing log records, ~0.02 s)."""
    return [str(f) for f in rubric.test_files] + [
        "-c", str(RUBRIC_INI), "--rootdir", str(rubric.test_files[0].parent),
        "--disable-plugin-autoload", "-p", "no:cacheprovider", "-p", "no:terminal",
        "-p", "no:unraisableexception", "-p", "no:logging", "--import-mode=importlib"] + (
        ["-k", " or ".join(rubric.only)] if rubric.only else []) + (
        ["-x"] if rubric.until_first_failure else [])


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
    """Drop imported rubric modules, so that the next rubric's test_public.py is its own.
    pytest names a test module after its file (``test_public``, or a dotted path ending so):
    only those names are looked at, not the thousands of modules torch brings."""
    paths = {str(Path(f).resolve()) for f in files}
    stems = {Path(f).stem for f in files}
    endings = tuple(stems)  # str.endswith first: the cheap test over thousands of names
    for name in [n for n in sys.modules if n.endswith(endings) and n.rpartition(".")[2] in stems]:
        file = getattr(sys.modules[name], "__dict__", {}).get("__file__")  # no lazy module's __getattr__
        if isinstance(file, str) and str(Path(file).resolve()) in paths:
            del sys.modules[name]


def declared_tests(test_files: list[Path]) -> dict[str, tuple[float, str]]:
    """Test name -> (points, source) of every test function in ``test_files``, read without
    running them (a parametrized test counts once)."""
    tests = {}
    for path in test_files:
        text = path.read_text()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                points = sum(d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call)
                             and ast.unparse(d.func) == "pytest.mark.points")
                tests[node.name] = (points, ast.get_source_segment(text, node))
    return tests
