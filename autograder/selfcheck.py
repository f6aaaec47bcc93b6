"""The student's self-check: the public tests on a notebook's answers, graded by the engine
that grades (extract, worker, rubric), shown as a table of tests, points and reasons.

``course check NOTEBOOK`` (the course's command, or the kit's) reads the saved file. The
cell the build puts at the end of every notebook calls ``self_check``, which reads the
answers this kernel ran (IPython's input history), so nothing needs saving first.

The rubric's public part comes from the installed kit (``autograder/public``, written by
``course kit``), else from the course checkout around the notebook or around this engine.

A self-check runs the student's own code on the student's own machine, so by default it needs
no sandbox against the student: the answers load in a plain child process under the course's
resource limits (``PLAIN``), forked from the student's check server (``sandbox/warm``, which the
first check starts and which keeps the imports warm for the next) while the grader collects
the tests, and the report says so. ``sandbox=True`` (``course check --sandbox``) grades in the strongest isolation here
instead, for a notebook someone else wrote. Either way the worker, the tests and the scores
are those of ``course grade``.
"""

from __future__ import annotations

import argparse
import atexit
import html
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from autograder.course import ConfigError, Limits, find_course_root, load_course
from autograder.grading.grade import Rubric, grade_submission
from autograder.grading.program import defined_names, is_answer
from autograder.grading.proxy import stated_limits
from autograder.grading.results import SubmissionResult
from autograder.grading.rubric import RubricError
from autograder.publishing.report import submission_table
from autograder.sandbox import launch
from autograder.sandbox.client import SandboxError
from autograder.sandbox.pool import WorkerPool

KIT_COURSE = Path(__file__).resolve().with_name("public")  # the kit's public course, if installed
PLAIN = launch.Isolation("limits", "self-check: your code ran in a plain child process under "
                                   "resource limits, without a sandbox (it is your own code, on "
                                   "your own machine)")
UNSANDBOXED = ("Ran without a sandbox: your code ran in a plain child process under resource "
               "limits. To check a notebook you did not write, use --sandbox.")


def public_rubric(assignment_id: str, near: Path | None = None, course: Path | None = None) -> Rubric:
    """The public tests of ``assignment_id``, from ``course`` (a folder holding course.yml),
    the installed kit, the course around ``near``, or the course around this engine."""
    root = (course or (KIT_COURSE if (KIT_COURSE / "course.yml").is_file() else None)
            or find_course_root(near or Path.cwd()) or find_course_root(Path(__file__).parent))
    if root is None:
        raise ConfigError("no course found: install your course kit (pip install ./KIT) or run "
                          "this inside the course's folder")
    return Rubric.for_assignment(load_course(root), assignment_id, public_only=True)


@dataclass
class Report:
    """A self-check's result and where its answers came from; shown as a table."""

    result: SubmissionResult
    answers: str  # where the answers were read from, in words
    written: dict[str, float] = field(default_factory=dict)  # written questions: grade id -> points
    sandboxed: bool = False  # whether the answers ran in a sandbox (else in a plain child process)
    limits: Limits | None = None  # the assignment's limits, the same in grading

    def __repr__(self) -> str:
        return f"Public tests of {self.result.assignment}; answers {self.answers}.\n\n" + \
            submission_table(self.result) + "\nHidden tests use other inputs (and the thresholds " \
            "the notebook states)." + (f"\n{self._limits()}" if self.limits else "") + \
            (f"\n{self._written()}" if self.written else "") + \
            ("" if self.sandboxed else f"\n{UNSANDBOXED}")

    def _limits(self) -> str:
        return stated_limits(self.limits)

    def _written(self) -> str:
        return ("Written questions, graded by people (not here): "
                + ", ".join(f"{name} ({points:g} points)" for name, points in self.written.items()) + ".")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td>{t.score:g}/{t.max_score:g}</td>"
            f"<td style='text-align:left'>{'ok' if t.status == 'passed' else html.escape(t.output)}</td></tr>"
            for t in self.result.tests)
        problems = "".join(f"<li>{html.escape(cell)}: {html.escape(message)}</li>"
                           for cell, message in self.result.problems.items())
        return (f"<p><b>Public tests: {self.result.score:g}/{self.result.max_score:g} points</b> "
                f"(answers {html.escape(self.answers)})</p>"
                + (f"<ul>{problems}</ul>" if problems else "")
                + "<table class='self-check'><thead><tr><th>test</th><th>points</th>"
                  f"<th style='text-align:left'>why it failed</th></tr></thead><tbody>{rows}</tbody></table>"
                + "<p>Hidden tests use other inputs (and the thresholds the notebook states).</p>"
                + (f"<p>{html.escape(self._limits())}</p>" if self.limits else "")
                + (f"<p>{html.escape(self._written())}</p>" if self.written else "")
                + ("" if self.sandboxed else f"<p>{html.escape(UNSANDBOXED)}</p>"))


def check_file(notebook: Path, assignment_id: str | None = None, course: Path | None = None,
               sandbox: bool = False) -> Report:
    """The public tests on a saved notebook (or ``.py`` module); in the strongest sandbox here
    with ``sandbox``, else in a plain child process under resource limits."""
    notebook = Path(notebook)
    rubric = public_rubric(assignment_id or assignment_of(notebook), notebook.parent, course)
    name = notebook.stem if notebook.stem in rubric.notebooks else rubric.notebooks[0]
    return Report(_grade(rubric, notebook.parent, {name: notebook}, sandbox), f"from {notebook.name} as saved",
                  written_questions(notebook), sandbox, rubric.limits)


def self_check(assignment_id: str, notebook: str) -> Report:
    """The public tests on the answers this kernel last ran: each answer cell's source is the
    latest cell run that defines all of the cell's functions and classes; a cell never run
    counts as its stub. Outside IPython, the saved notebook in the working folder is read."""
    try:
        history = get_ipython().history_manager.input_hist_raw  # noqa: F821 - IPython's builtin
    except NameError:
        return check_file(Path.cwd() / f"{notebook}.ipynb", assignment_id)
    rubric = public_rubric(assignment_id)
    with tempfile.TemporaryDirectory(prefix="self-check-") as folder:
        path = Path(folder) / f"{notebook}.ipynb"
        not_run = write_answers(rubric.instructor[notebook], history, path)
        for name in rubric.files:  # extra files a submission brings, from beside the notebook
            if (Path.cwd() / name).is_file():
                shutil.copy(Path.cwd() / name, Path(folder) / name)
        result = _grade(rubric, Path.cwd(), {notebook: path})
    answers = "from the cells this kernel ran"
    if not_run:
        answers += f"; not run yet, so still stubs: {', '.join(not_run)}"
    return Report(result, answers, written_questions(Path.cwd() / f"{notebook}.ipynb"), limits=rubric.limits)


def written_questions(notebook: Path) -> dict[str, float]:
    """grade id -> points of the written questions (nbgrader's manually graded answer cells)
    in a notebook file; none when it cannot be read."""
    try:
        cells = json.loads(Path(notebook).read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    found = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if cell.get("cell_type") == "markdown" and meta.get("solution") and meta.get("grade"):
            found[str(meta.get("grade_id", "?"))] = float(meta.get("points", 0))
    return found


def _grade(rubric: Rubric, folder: Path, given: dict[str, Path], sandbox: bool = False) -> SubmissionResult:
    """Grade the ``given`` notebooks, with the assignment's other notebooks from ``folder``: in
    the strongest sandbox here with ``sandbox``, else in a plain child process (``PLAIN``) with
    no spare started beside it."""
    files = {name: given.get(name, folder / f"{name}.ipynb") for name in rubric.notebooks}
    files = {n: p if p.exists() else None for n, p in files.items()}
    if sandbox:
        return grade_submission(rubric, next(iter(given)), files)
    pool = WorkerPool(spares=False, served=True)
    try:
        return grade_submission(rubric, next(iter(given)), files, PLAIN, pool)
    finally:
        pool.close()


def write_answers(instructor: list[dict], history: list[str], path: Path) -> list[str]:
    """Write a notebook of the answer cells in ``instructor`` with the sources the kernel ran
    (``history``, oldest first) to ``path``; return the grade ids of the cells never run."""
    cells, not_run = [], []
    for cell in filter(is_answer, instructor):
        names = set(defined_names("".join(cell["source"])))
        ran = next((source for source in reversed(history)
                    if names and names <= set(defined_names(source))), None)
        if ran is None:
            not_run.append(cell["metadata"]["nbgrader"]["grade_id"])
        cells.append({**cell, "source": cell["source"] if ran is None else ran})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return not_run


def assignment_of(notebook: Path) -> str:
    """The assignment a notebook belongs to, from the metadata the build wrote into it."""
    try:
        return json.loads(Path(notebook).read_text())["metadata"]["course"]["assignment"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"cannot tell which assignment {notebook} belongs to: pass -a ID") from None


def main(argv: list[str] | None = None) -> int:
    """The kit's ``course`` command: ``course check NOTEBOOK`` runs the public tests on a saved
    notebook and exits 0 when all pass (the course repository's ``course`` does more)."""
    parser = argparse.ArgumentParser(prog="course", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run the public tests on your notebook")
    check.add_argument("notebook", type=Path)
    check.add_argument("-a", "--assignment", help="assignment id (default: from the notebook)")
    check.add_argument("--sandbox", action="store_true",
                       help="run the notebook's code in a sandbox (for a notebook you did not write)")
    args = parser.parse_args(argv)
    try:
        report = check_file(args.notebook, args.assignment, sandbox=args.sandbox)
    except (ConfigError, RubricError, SandboxError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.result.score == report.result.max_score else 1


def exit_fast(code: int) -> NoReturn:
    """End a command's process with ``code``: run the exit handlers (pools stop their workers,
    finalizers remove temporary folders), flush the streams, and skip the teardown of every
    imported module, which costs torch's users about 0.3 s for nothing."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # closed, or a reader that went away
    os._exit(code)


def run() -> NoReturn:
    """The kit's ``course`` command line (``main`` is its in-process form)."""
    exit_fast(main())


if __name__ == "__main__":
    run()
