"""course build: reference + templates -> nbgrader source notebooks -> release/ via nbgrader.

For each assignment the build writes ``build/source/<id>/<nb>.ipynb`` (solutions filled in,
nbgrader metadata on every cell), copies ``test_public.py`` beside it, and runs nbgrader's
own ``generate_assignment`` converter (no database) to produce ``release/<id>/``. Hidden
tests and rubric variants never enter the source folder, so they cannot reach a release.
"""

from __future__ import annotations

import ast
import logging
import shutil
import tempfile
import textwrap
from pathlib import Path

import nbformat

from autograder.course import PUBLIC_TESTS, Course, Layout, Limits
from autograder.building.notebook import TemplateError, carried_cells, nbgrader_metadata, source_notebook
from autograder.grading.proxy import stated_limits

PUBLIC_FILES = [PUBLIC_TESTS]


class BuildError(Exception):
    """The build cannot produce a safe release."""


def build(course: Course, assignment_ids: list[str] | None = None,
          layout: Layout | None = None) -> list[Path]:
    """Build the given assignments (all by default) into ``layout`` (default: the course's
    own); returns the release folders written."""
    from autograder.building.publish import published_names

    layout = layout or course.layout
    ids = assignment_ids or [a.id for a in course.assignments]
    published = published_names(layout)
    written = []
    with tempfile.TemporaryDirectory(prefix="course-build-") as staging:
        staging = Path(staging)
        for assignment_id in ids:
            assignment = course.assignment(assignment_id)
            folder = layout.assignment_dir(assignment_id)
            stage = staging / "source" / assignment_id
            stage.mkdir(parents=True)
            for name in assignment.notebooks:
                template = layout.template(assignment_id, name)
                if not template.is_file():
                    raise BuildError(f"{assignment_id}: notebook template {template} is missing")
                try:
                    check_carried(course, assignment_id, template)
                    nb = source_notebook(template, assignment_id, dict(assignment.thresholds), published)
                except TemplateError as error:
                    raise BuildError(f"{assignment_id}: {error}") from None
                nb.cells.append(self_check_cell(assignment_id, name, course.limits_for(assignment)))
                nbformat.write(nb, stage / f"{name}.ipynb")
            for name in PUBLIC_FILES:
                if (folder / name).is_file():
                    check_public_file(folder / name)
                    shutil.copy(folder / name, stage / name)
            generate_release(staging, assignment_id)
            _replace(stage, layout.source_dir(assignment_id))
            _replace(staging / "release" / assignment_id, layout.release_dir(assignment_id))
            written.append(layout.release_dir(assignment_id))
    return written


def check_carried(course: Course, assignment_id: str, template: Path) -> None:
    """A cell may be carried over only from an assignment course.yml lists before this one."""
    ids = [a.id for a in course.assignments]
    earlier = ids[:ids.index(assignment_id)]
    for source, _ in carried_cells(template):
        if source not in earlier:
            raise BuildError(f"{template.name}: carried={source!r} names no assignment course.yml "
                             "lists before this one")


SELF_CHECK = """\
# Check your work: the public tests, graded as the grader grades them, on the answers this
# kernel last ran (run your answer cells first; nothing needs saving).
{limits}
from autograder.selfcheck import self_check

self_check({assignment!r}, {notebook!r})"""


def self_check_cell(assignment_id: str, notebook: str, limits: Limits) -> nbformat.NotebookNode:
    """The locked last cell of every notebook: the public tests on the kernel's answers, and
    the limits they run under (the grader's)."""
    stated = "\n".join(f"# {line}" for line in textwrap.wrap(stated_limits(limits), 88))
    cell = nbformat.v4.new_code_cell(SELF_CHECK.format(assignment=assignment_id, notebook=notebook, limits=stated))
    cell.metadata["nbgrader"] = nbgrader_metadata("self_check", solution=False)
    cell.id = "self_check"
    return cell


def check_public_file(path: Path) -> None:
    """Public tests go to students: they must not import the reference solutions."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        if any(m == "reference" or m.startswith("reference.") for m in modules):
            raise BuildError(f"{path}: public tests are given to students and must not import "
                             "reference (compare against NumPy, torch or properties instead)")


def generate_release(root: Path, assignment_id: str) -> None:
    """Run nbgrader's generate_assignment on ``root/source/<id>`` into ``root/release/<id>``."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.assignment_id = assignment_id
    config.GenerateAssignment.no_database = True
    config.GenerateAssignment.force = True
    config.SaveCells.enabled = False
    log = logging.getLogger("course.nbgrader")
    log.setLevel(logging.WARNING)
    coursedir = CourseDirectory(config=config)
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    converter.start()


def _replace(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target)
