"""Grading a whole class: in parallel (local processes or a Dask cluster), resumable, with
progress and results as they come."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import datetime as dt
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor,
                                ProcessPoolExecutor, wait)
from pathlib import Path

import threadpoolctl
from tqdm import tqdm

from autograder import cluster as dask_cluster
from autograder import sandbox
from autograder.grading import Rubric, SubmissionResult, grade_submission, locate_submissions
from autograder.late import Deadline, apply_lateness, newest_mtime
from autograder.remote import spares
from autograder.report import write_grades_csv, write_results
from autograder.rubric import RubricError
from autograder.store import ResultStore, hash_files

WARM_MODULES = ["numpy", "torch", "pytest", "autograder.grading", "autograder.checks"]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
_grading = threading.Lock()  # pytest.main and the rubric modules are one per process


def grade_class(rubric: Rubric, paths: list[Path], outdir: Path,
                isolation: sandbox.Isolation | None = None, workers: int = 1,
                resume: bool = False, deadline: Deadline | None = None,
                submitted_at: dict[str, dt.datetime] | None = None,
                cluster: str | None = None) -> list[SubmissionResult]:
    """Grade every student found in ``paths`` with ``workers`` grading processes, or on the
    Dask cluster whose scheduler is at ``cluster`` (e.g. ``tcp://host:8786``).

    Each result is stored (``outdir/results.sqlite``) and written (``outdir/<student>/
    results.json``) as soon as it is known; with ``resume``, a student whose submission and
    rubric are unchanged since their stored result is not graded again. A submission that
    breaks the grader itself is recorded with the error and the run goes on; a broken
    rubric stops the run, since it would fail every student.

    Each result records its files, its submission time (from ``submitted_at``, else the
    files' newest mtime) and, against ``deadline``, its days late and late penalty.
    """
    students = locate_submissions(rubric.notebooks, paths)
    outdir = Path(outdir)
    store = ResultStore(outdir / "results.sqlite")
    rubric_hash = rubric.fingerprint()
    hashes = {s: hash_files(list(f.values()) + _extra_paths(rubric, f)) for s, f in students.items()}
    stored = store.results(rubric.assignment)
    todo = {s: f for s, f in students.items() if not (
        resume and s in stored and store.is_current(rubric.assignment, s, hashes[s], rubric_hash))}
    results = {}

    def stamp(student: str, result: SubmissionResult) -> SubmissionResult:
        files = students[student]
        when = (submitted_at or {}).get(student) or newest_mtime(
            list(files.values()) + _extra_paths(rubric, files))
        result = dataclasses.replace(result, files={n: str(Path(p).resolve()) for n, p in files.items()
                                                   if p is not None})
        return apply_lateness(result, deadline, when)

    for student in students:
        if student not in todo:
            kept = SubmissionResult.from_dict(stored[student])
            results[student] = stamp(student, kept)
            if results[student] != kept:  # the manifest or the late policy changed
                store.put(rubric.assignment, student, hashes[student], rubric_hash,
                          results[student].to_dict())
                write_results(results[student], outdir)
    bar = tqdm(total=len(students), initial=len(results), desc=f"grading {rubric.assignment}",
               unit="submission", disable=None, leave=False)

    def record(student: str, result: SubmissionResult) -> None:
        result = stamp(student, result)
        store.put(rubric.assignment, student, hashes[student], rubric_hash, result.to_dict())
        write_results(result, outdir)
        results[student] = result
        if result.problems or result.score < result.max_score:
            reason = next(iter(result.problems.values()), None) or next(
                (t.output for t in result.tests if t.status != "passed"), "")
            bar.write(f"{student}: {result.score:g}/{result.max_score:g}  {reason[:100]}")
        bar.update()

    try:
        if cluster and todo:
            tier = isolation.tier if isolation else None  # else each worker detects its own
            tasks = ((s, (dask_cluster.grade_shipped, rubric, rubric_hash, s,
                          dask_cluster.pack(rubric, f), tier))
                     for s, f in todo.items())  # files are read as the tasks are submitted
            with dask_cluster.executor(cluster) as (executor, slots):
                _grade_on(executor, tasks, rubric, record, lambda: 2 * slots())
        elif workers <= 1 or len(todo) <= 1:
            for student, files in todo.items():
                record(student, grade_safely(rubric, student, files, isolation))
        else:
            isolation = isolation or sandbox.detect_isolation()
            tasks = ((s, (_grade_to_dict, rubric, s, f, isolation)) for s, f in todo.items())
            with _local_pool(workers) as pool:
                _grade_on(pool, tasks, rubric, record, lambda: 2 * workers)
    finally:
        bar.close()
        store.close()
    ordered = [results[s] for s in sorted(results)]
    write_grades_csv(ordered, outdir / "grades.csv")
    return ordered


def grade_safely(rubric: Rubric, student: str, files: dict, isolation) -> SubmissionResult:
    """``grade_submission``, with a failure of the grader itself recorded as the result."""
    try:
        return grade_submission(rubric, student, files, isolation)
    except RubricError:
        raise
    except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
        return _internal_error(rubric, student, error)


def _internal_error(rubric: Rubric, student: str, error: BaseException) -> SubmissionResult:
    """The result of a student whose grading failed in the grader itself: no points, the error."""
    return SubmissionResult(rubric.assignment, student, 0.0, 0.0, [],
                            {"grader": f"internal error: {type(error).__name__}: {error}"},
                            "unknown", 0.0)


def _grade_on(executor: Executor, tasks: Iterable[tuple[str, tuple]], rubric: Rubric,
              record, in_flight: Callable[[], int]) -> None:
    """Run each student's task, ``(function, *arguments)``, on ``executor`` and ``record``
    each result as it completes. At most ``in_flight()`` tasks (asked again as they finish:
    a cluster may grow) are submitted at a time, so that a large class's files are read and
    held only shortly before they are graded. On an error or an interrupt, cancel what has
    not started."""
    tasks = iter(tasks)
    pending: dict = {}
    try:
        while True:
            room = max(in_flight(), 1) - len(pending)
            for student, (function, *arguments) in itertools.islice(tasks, max(room, 0)):
                pending[executor.submit(function, *arguments)] = student
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                student = pending.pop(future)
                record(student, _outcome(future, rubric, student))
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def _outcome(future, rubric: Rubric, student: str) -> SubmissionResult:
    """A finished task's result; a task that failed is that student's internal error, unless
    its failure stops every student (a broken rubric or cluster, a cancelled run)."""
    try:
        return SubmissionResult.from_dict(future.result())
    except (RubricError, dask_cluster.ClusterError, CancelledError, BrokenExecutor):
        raise
    except Exception as error:  # noqa: BLE001 - e.g. a worker that died while grading
        return _internal_error(rubric, student, error)


def _grade_to_dict(rubric: Rubric, student: str, files: dict, isolation) -> dict:
    """``grade_safely`` in a grading process: one submission at a time, on one core."""
    spares.enabled = False  # every core is grading already: a spare would only compete
    _one_thread()
    with _grading:
        return grade_safely(rubric, student, files, isolation).to_dict()


@functools.cache  # once per grading process: it inspects every loaded library
def _one_thread() -> None:
    """Keep this process's numerical libraries to one thread, those loaded already and later."""
    os.environ.update(ONE_THREAD)
    threadpoolctl.threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@contextlib.contextmanager
def _local_pool(workers: int) -> Iterator[Executor]:
    """``workers`` processes forked from one that has already imported the heavy libraries,
    so that no submission pays their start-up again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WARM_MODULES)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


def _extra_paths(rubric: Rubric, files: dict[str, Path | None]) -> list[Path]:
    folders = {Path(p).parent for p in files.values() if p is not None}
    return [folder / name for folder in folders for name in rubric.files]
