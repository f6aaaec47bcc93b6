"""Grading a whole class: in parallel (local processes or a Dask cluster), resumable, with
progress and results as they come."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.grading import cluster as dask_cluster
from autograder.grading.extract import written_answers
from autograder.grading.grade import Rubric
from autograder.grading.late import Deadline, apply_lateness, newest_mtime
from autograder.grading.locate import locate_submissions
from autograder.grading.output import GRADES_CSV, RESULTS_DB, write_grades_csv, write_results
from autograder.grading.parallel import (grade_in_process, grade_safely, internal_error, local_pool, not_graded,
                                         warm_modules)
from autograder.grading.results import SubmissionResult
from autograder.grading.rubric import RubricError
from autograder.grading.store import ResultStore, hash_files
from autograder.grading.text import terminal_line
from autograder.sandbox import launch


def grade_class(rubric: Rubric, paths: list[Path], outdir: Path,
                isolation: launch.Isolation | None = None, workers: int = 1,
                resume: bool = False, deadline: Deadline | None = None,
                submitted_at: dict[str, dt.datetime] | None = None,
                cluster: str | None = None, file_times: bool = False) -> list[SubmissionResult]:
    """Grade every student found in ``paths`` with ``workers`` grading processes, or on the
    Dask cluster whose scheduler is at ``cluster`` (e.g. ``tcp://host:8786``).

    Each result is stored (``outdir/results.sqlite``) and written (``outdir/<student>/
    results.json``) as soon as it is known; with ``resume``, a student whose submission and
    rubric are unchanged since their stored result is not graded again (unless the grader
    failed on it). A submission that breaks the grader itself, or that cannot be graded under
    its name (two submissions with one name), is recorded with the reason and the run goes
    on; a broken rubric stops the run, since it would fail every student.

    Each result records its files, its submission time (from ``submitted_at``; from the
    files' newest mtime only with ``file_times``, since a student can set those) and,
    against ``deadline``, its days late and late penalty.
    """
    located = locate_submissions(rubric.notebooks, paths)
    run = ClassRun(rubric, Path(outdir), located.students, deadline, submitted_at or {}, file_times)
    try:
        todo = run.plan(resume)
        with run.progress(len(located.refused)):
            for student, reason in located.refused.items():
                run.record(student, not_graded(rubric, student, reason))
            if cluster and todo:
                _grade_on_cluster(run, todo, cluster, isolation)
            elif workers <= 1 or len(todo) <= 1:
                for student, files in todo.items():
                    run.record(student, grade_safely(rubric, student, files, isolation))
            else:
                isolation = isolation or launch.detect_isolation()
                tasks = ((s, (grade_in_process, rubric, s, f, isolation)) for s, f in todo.items())
                with local_pool(workers, warm_modules(rubric)) as pool:
                    _grade_on(pool, tasks, rubric, run.record, lambda: 2 * workers)
    finally:
        run.store.close()
    ordered = [run.results[s] for s in sorted(run.results)]
    write_grades_csv(ordered, run.outdir / GRADES_CSV)
    return ordered


@dataclass
class ClassRun:
    """One class's grading run: who is graded, what is kept from before, and where each
    result goes as soon as it is known."""

    rubric: Rubric
    outdir: Path
    students: dict[str, dict[str, Path | None]]  # student -> notebook name -> file
    deadline: Deadline | None
    submitted_at: dict[str, dt.datetime]
    file_times: bool = False  # whether a student missing from submitted_at counts by file times
    results: dict[str, SubmissionResult] = field(default_factory=dict)

    def __post_init__(self):
        self.store = ResultStore(self.outdir / RESULTS_DB)
        self.rubric_hash = self.rubric.fingerprint()
        self.hashes = {s: hash_files(self._paths(s)) for s in self.students}
        self.bar = None

    def _paths(self, student: str) -> list[Path]:
        """The student's notebooks and the extra files the rubric asks for beside them."""
        files = [p for p in self.students.get(student, {}).values() if p is not None]
        folders = {Path(p).parent for p in files}
        return files + [folder / name for folder in folders for name in self.rubric.files]

    def plan(self, resume: bool) -> dict[str, dict[str, Path | None]]:
        """The students to grade now; with ``resume``, the others' stored results are kept
        (re-stamped, should the manifest or the late policy have changed)."""
        stored = self.store.results(self.rubric.assignment)
        todo = {}
        for student, files in self.students.items():
            current = resume and student in stored and self.store.is_current(
                self.rubric.assignment, student, self.hashes[student], self.rubric_hash)
            if not current or "grader" in stored[student].get("problems", {}):  # the grader failed
                todo[student] = files
                continue
            kept = SubmissionResult.from_dict(stored[student])
            self.results[student] = self._stamp(student, kept)
            if self.results[student] != kept:
                self._save(student, self.results[student])
        return todo

    def progress(self, refused: int = 0) -> tqdm:
        """The progress bar (a context manager) over the students and ``refused`` submissions
        that are not graded; ``record`` advances it."""
        self.bar = tqdm(total=len(self.students) + refused, initial=len(self.results), unit="submission",
                        desc=f"grading {self.rubric.assignment}", disable=None, leave=False)
        return self.bar

    def record(self, student: str, result: SubmissionResult) -> None:
        """Stamp, store and write one student's result, and show it if anything failed."""
        result = self._stamp(student, result)
        self._save(student, result)
        self.results[student] = result
        if self.bar is not None:
            if result.problems or result.score < result.max_score:
                reason = next(iter(result.problems.values()), None) or next(
                    (t.output for t in result.tests if t.status != "passed"), "")
                score = f"{result.score:g}/{result.max_score:g}"
                self.bar.write(terminal_line(f"{student}: {score}  {reason}", 140))
            self.bar.update()

    def _stamp(self, student: str, result: SubmissionResult) -> SubmissionResult:
        """``result`` with its files, submission time, late penalty and written questions
        (with the manual scores recorded for unchanged questions and answers)."""
        files = self.students.get(student, {})
        when = self.submitted_at.get(student)
        if when is None and self.file_times:
            when = newest_mtime(self._paths(student))
        written = written_answers(self.rubric.written, files) if result.tests else []
        result = dataclasses.replace(result, files={n: str(Path(p).resolve()) for n, p in files.items()
                                                   if p is not None}, written=written)
        result = result.with_manual(self.store.manual(self.rubric.assignment, student).get(student, {}))
        return apply_lateness(result, self.deadline, when)

    def _save(self, student: str, result: SubmissionResult) -> None:
        self.store.put(self.rubric.assignment, student, self.hashes.get(student, "not graded"),
                       self.rubric_hash, result.to_dict())
        write_results(result, self.outdir)


def _grade_on_cluster(run: ClassRun, todo: dict, address: str,
                      isolation: launch.Isolation | None) -> None:
    tier = isolation.tier if isolation else None  # else each worker detects its own
    tasks = ((s, (dask_cluster.grade_shipped, run.rubric, run.rubric_hash, s,
                  dask_cluster.pack(run.rubric, f), tier))
             for s, f in todo.items())  # files are read as the tasks are submitted
    with dask_cluster.executor(address) as (executor, slots):
        _grade_on(executor, tasks, run.rubric, run.record, lambda: 2 * slots())


def _grade_on(executor: Executor, tasks: Iterable[tuple[str, tuple]], rubric: Rubric,
              record: Callable[[str, SubmissionResult], None], in_flight: Callable[[], int]) -> None:
    """Run each student's task, ``(function, *arguments)``, on ``executor`` and record each
    result as it completes. At most ``in_flight()`` tasks (asked again as they finish: a
    cluster may grow) are submitted at a time, so that a large class's files are read and
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
        return internal_error(rubric, student, error)
