"""course verify: the instructor's self-test of an assignment.

The committed release is what a fresh build produces; the reference solution earns full
marks through the same grading path as a student; the untouched release notebook earns
zero, every test saying what is not implemented (except tests that use only the solutions its
carried cells import from a published assignment: those pass).
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.building.build import build
from autograder.building.notebook import carried_cells
from autograder.building.publish import read_record, stale_modules
from autograder.course import Course, Layout
from autograder.grading.grade import Rubric, grade_submission
from autograder.building.variants import write_reference_files


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def stale_files(fresh: Path, committed: Path) -> list[str]:
    """Files that differ between two release folders, or exist in only one."""
    if not committed.is_dir():
        return [f"{committed} (missing)"]
    comparison = filecmp.dircmp(fresh, committed)
    problems = comparison.left_only + comparison.right_only + comparison.diff_files
    for name in comparison.common_files:
        if (fresh / name).read_bytes() != (committed / name).read_bytes():
            problems.append(name)
    return sorted(set(problems))


def imports_published(course: Course, assignment_id: str) -> bool:
    """Whether a carried cell of the assignment imports a published assignment's solutions."""
    published = read_record(course.layout)
    return any(source in published for notebook in course.assignment(assignment_id).notebooks
               for source, _ in carried_cells(course.layout.template(assignment_id, notebook)))


def verify_assignment(course: Course, assignment_id: str) -> list[Check]:
    assignment = course.assignment(assignment_id)
    with tempfile.TemporaryDirectory(prefix="course-verify-") as temporary:
        fresh = Layout(course.root, release=Path(temporary) / "release", source=Path(temporary) / "source")
        build(course, [assignment_id], layout=fresh)
        stale = stale_files(fresh.release_dir(assignment_id), course.layout.release_dir(assignment_id))
        checks = [Check("release is up to date", not stale,
                        "matches a fresh build" if not stale else
                        f"differs in {', '.join(stale)}: run `course build {assignment_id}`")]
        if imports_published(course, assignment_id):
            stale = stale_modules(course)
            checks.append(Check("published solutions are up to date", not stale,
                                "match the reference" if not stale else
                                f"differ for {', '.join(stale)}: run `course publish` for each"))
        rubric = Rubric.for_assignment(course, assignment_id)
        write_reference_files(course.assignment_dir(assignment_id), fresh.source_dir(assignment_id))
        result = grade_submission(rubric, "reference", fresh.source_notebooks(assignment))
        failed = [f"{t.name}: {t.output}" for t in result.tests if t.status != "passed"]
        checks.append(Check("reference earns full marks", not failed and not result.problems,
                            f"{result.score:g}/{result.max_score:g}" + (f"; {failed[0]}" if failed else "")))
        result = grade_submission(rubric, "untouched", course.layout.release_notebooks(assignment))
        unclear = [t.name for t in result.tests if t.status != "passed" and "not implemented" not in t.output]
        free = [t.name for t in result.tests if t.status == "passed"]
        imports = imports_published(course, assignment_id)  # their tests pass untouched
        checks.append(Check("untouched release earns zero" + (" but for the published solutions it imports"
                                                              if imports else ""),
                            (not free or imports) and not unclear,
                            f"{result.score:g}/{result.max_score:g}" +
                            (f"; passed: {', '.join(free)}" if free else "") +
                            (f"; without a 'not implemented' reason: {', '.join(unclear)}" if unclear else "")))
    return checks
