"""Grading a whole class: parallel, resumable, with progress and results as they come."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from autograder import sandbox
from autograder.grading import Rubric, SubmissionResult, grade_submission, locate_submissions
from autograder.late import Deadline, apply_lateness, newest_mtime
from autograder.remote import spares
from autograder.report import write_grades_csv, write_results
from autograder.rubric import RubricError
from autograder.store import ResultStore, hash_files

WARM_MODULES = ["numpy", "torch", "pytest", "autograder.grading", "autograder.checks"]


def grade_class(rubric: Rubric, paths: list[Path], outdir: Path,
                isolation: sandbox.Isolation | None = None, workers: int = 1,
                resume: bool = False, deadline: Deadline | None = None,
                submitted_at: dict[str, dt.datetime] | None = None) -> list[SubmissionResult]:
    """Grade every student found in ``paths`` with ``workers`` grading processes.

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
        if workers <= 1 or len(todo) <= 1:
            for student, files in todo.items():
                record(student, grade_safely(rubric, student, files, isolation))
        else:
            _grade_in_pool(rubric, todo, isolation or sandbox.detect_isolation(), workers, record)
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
        return SubmissionResult(rubric.assignment, student, 0.0, 0.0, [],
                                {"grader": f"internal error: {type(error).__name__}: {error}"},
                                "unknown", 0.0)


def _grade_to_dict(rubric: Rubric, student: str, files: dict, isolation) -> dict:
    spares.enabled = False  # every core is grading already: a spare would only compete
    return grade_safely(rubric, student, files, isolation).to_dict()


def _grade_in_pool(rubric: Rubric, todo: dict, isolation, workers: int, record) -> None:
    """Grade in ``workers`` processes forked from one that has already imported the heavy
    libraries, so that no submission pays their start-up again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WARM_MODULES)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_grade_to_dict, rubric, s, f, isolation): s for s, f in todo.items()}
        try:
            for future in as_completed(futures):
                record(futures[future], SubmissionResult.from_dict(future.result()))
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _extra_paths(rubric: Rubric, files: dict[str, Path | None]) -> list[Path]:
    folders = {Path(p).parent for p in files.values() if p is not None}
    return [folder / name for folder in folders for name in rubric.files]
