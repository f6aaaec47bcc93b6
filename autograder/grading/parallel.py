"""Grading many submissions at once: a pool of grading processes, each grading one submission
at a time on one core, and the one function every such process (local or on a cluster) runs."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.util
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

import threadpoolctl

from autograder.grading.grade import Rubric, grade_submission
from autograder.grading.program import is_setup
from autograder.grading.results import SubmissionResult
from autograder.grading.rubric import RubricError
from autograder.sandbox import launch
from autograder.sandbox.pool import WorkerPool
from autograder.sandbox.warm import SOCKET_PATH_BYTES

ENGINE_MODULES = ["numpy", "pytest", "autograder.grading.grade", "autograder.student.checks"]
HEAVY_MODULES = ["torch"]  # warmed only for a rubric that imports them
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
_grading = threading.Lock()  # pytest.main and the rubric modules are one per process


def grade_safely(rubric: Rubric, student: str, files: dict, isolation: launch.Isolation | None,
                 pool: WorkerPool | None = None) -> SubmissionResult:
    """``grade_submission``, with a failure of the grader itself recorded as the result."""
    try:
        return grade_submission(rubric, student, files, isolation, pool)
    except RubricError:
        raise
    except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
        return internal_error(rubric, student, error)


def internal_error(rubric: Rubric, student: str, error: BaseException) -> SubmissionResult:
    """The result of a student whose grading failed in the grader itself: no points, the error
    (as the problem ``grader``, which ``--resume`` grades again)."""
    return not_graded(rubric, student, f"internal error: {type(error).__name__}: {error}", "grader")


def not_graded(rubric: Rubric, student: str, reason: str, problem: str = "submission") -> SubmissionResult:
    """The result of a student who was not graded: no points, and why."""
    return SubmissionResult(rubric.assignment, student, 0.0, 0.0, [], {problem: reason}, "unknown", 0.0)


def grade_in_process(rubric: Rubric, student: str, files: dict,
                     isolation: launch.Isolation | None) -> dict:
    """What a grading process runs per task: ``grade_safely`` on one core, as plain data."""
    _one_thread()
    with _grading:
        return grade_safely(rubric, student, files, isolation, _process_pool()).to_dict()


@functools.cache
def _process_pool() -> WorkerPool:
    """Every core is grading already: a spare worker, or polling for a worker's replies, would
    only compete."""
    return WorkerPool(spares=False, polls=False)


@functools.cache  # once per grading process: it inspects every loaded library
def _one_thread() -> None:
    """Keep this process's numerical libraries to one thread, those loaded already and later."""
    os.environ.update(ONE_THREAD)
    threadpoolctl.threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def warm_modules(rubric: Rubric) -> list[str]:
    """What each grading process imports before its first submission: the engine, and a heavy
    library (torch) only where the rubric's tests, the reference modules they import or the
    notebooks' setup cells import it (parsed, never run)."""
    sources = [path.read_text() for path in [*rubric.test_files, *rubric.reference_modules()]]
    sources += ["".join(cell.get("source", "")) for cells in rubric.instructor.values()
                for cell in cells if is_setup(cell)]
    imported = {name.split(".")[0] for source in sources for name in launch.imported_modules(source)}
    return ENGINE_MODULES + [name for name in HEAVY_MODULES if name in imported]


@contextlib.contextmanager
def local_pool(workers: int, preload: list[str] = ENGINE_MODULES) -> Iterator[Executor]:
    """``workers`` processes forked from one that has already imported ``preload`` (the
    engine, and the heavy libraries a rubric needs: ``warm_modules``), so that no submission
    pays their start-up again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    _short_socket_folder()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


def _short_socket_folder() -> None:
    """multiprocessing's forkserver listens on a socket in this process's multiprocessing
    folder (made in TMPDIR once): where TMPDIR is too long a path for a socket's, make that
    folder in /tmp instead."""
    if len(os.fsencode(tempfile.gettempdir())) + 40 > SOCKET_PATH_BYTES and os.path.isdir("/tmp"):
        saved, tempfile.tempdir = tempfile.tempdir, "/tmp"
        try:
            multiprocessing.util.get_temp_dir()
        finally:
            tempfile.tempdir = saved
