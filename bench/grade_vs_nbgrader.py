"""Grade the same completed 01 notebook with `course grade` and with `nbgrader autograde`.

nbgrader gets test cells equivalent to the public tests: each public test function is
appended as a graded cell that calls it with the notebook's own namespace as `student`.
Both tools grade the same class of N identical submissions in one run, through their
command lines (ours with one and with two grading processes); the script prints the
times per submission and the ratios.

    .venv/bin/python bench/grade_vs_nbgrader.py [--students 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from nbgrader_tests import public_test_cells

from autograder.course import load_course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, NOTEBOOK = "01_regression", "regression"
BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", OMP_NUM_THREADS="1")
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=4)
    args = parser.parse_args()
    run([str(BIN / "course"), "build", ASSIGNMENT], ROOT)
    course = load_course(ROOT)
    source = course.layout.source_notebooks(course.assignment(ASSIGNMENT))[NOTEBOOK]
    completed = nbformat.read(source, as_version=4)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        ours = tmp / "ours"
        for i in range(args.students):
            (ours / f"student{i}").mkdir(parents=True)
            nbformat.write(completed, ours / f"student{i}" / f"{NOTEBOOK}.ipynb")
        course_times = {j: run([str(BIN / "course"), "--course", str(ROOT), "grade", "-a", ASSIGNMENT,
                                str(ours), "-o", str(tmp / f"grades-{j}"), "-j", str(j)], ROOT)
                        for j in (1, 2)}

        theirs = tmp / "nbgrader"
        source = theirs / "source" / ASSIGNMENT
        source.mkdir(parents=True)
        with_tests = nbformat.from_dict(completed)
        with_tests.cells += public_test_cells(ROOT / "assignments" / ASSIGNMENT)
        nbformat.write(with_tests, source / f"{NOTEBOOK}.ipynb")
        run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], theirs)
        for i in range(args.students):
            folder = theirs / "submitted" / f"student{i}" / ASSIGNMENT
            folder.mkdir(parents=True)
            shutil.copy(source / f"{NOTEBOOK}.ipynb", folder / f"{NOTEBOOK}.ipynb")
        nbgrader_time = run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"], theirs)
        graded = list((theirs / "autograded").rglob("*.ipynb"))
        assert len(graded) == args.students, "nbgrader did not grade every submission"

    per_theirs = nbgrader_time / args.students
    print(f"submissions: {args.students} identical completed {ASSIGNMENT} notebooks")
    print(f"nbgrader autograde (public tests as cells):   {nbgrader_time:6.2f} s total, {per_theirs:5.2f} s per submission")
    for j, seconds in course_times.items():
        per_ours = seconds / args.students
        print(f"course grade -j {j} (public + hidden, sandboxed): {seconds:6.2f} s total, {per_ours:5.2f} s per "
              f"submission, {per_theirs / per_ours:.2f}x nbgrader's rate")

if __name__ == "__main__":
    main()
